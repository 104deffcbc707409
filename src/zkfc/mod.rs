//! The ZK failover controller (ZKFC): one per NameNode, it watches its NameNode's health and
//! takes part, through ZooKeeper, in electing which NameNode is active; the winner fences the
//! previous active before making its own NameNode active.
//!
//! - [`elector`]: `ActiveStandbyElector` as a state machine (no I/O).
pub mod elector;
