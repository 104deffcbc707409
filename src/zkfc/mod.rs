//! The ZK failover controller (ZKFC): one per NameNode, it watches its NameNode's health and
//! takes part, through ZooKeeper, in electing which NameNode is active; the winner fences the
//! previous active before making its own NameNode active.
//!
//! - [`elector`]: `ActiveStandbyElector` as a state machine (no I/O);
//! - [`health`]: `HealthMonitor` as a state machine (no I/O);
//! - [`controller`]: `ZKFailoverController`'s decisions (electability, cede, state checks),
//!   owning the elector (no I/O).
pub mod conf;
pub mod controller;
pub mod daemon;
pub mod elector;
pub mod failover;
pub mod fence;
pub mod health;
pub mod rpc;
#[cfg(test)]
mod sim;
pub mod target;
pub mod zk;
