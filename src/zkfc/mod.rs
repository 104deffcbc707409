//! The ZK failover controller (ZKFC): one per NameNode, it watches its NameNode's health and
//! takes part, through ZooKeeper, in electing which NameNode is active; the winner fences the
//! previous active before making its own NameNode active. Never two actives: a NameNode becomes
//! active only through the holder of the ephemeral lock, after the breadcrumb's holder has been
//! fenced (and QJM epochs refuse an old active's writes in any case).
//!
//! The protocol logic is in three state machines with no I/O:
//! - [`elector`]: `ActiveStandbyElector` — the lock, the breadcrumb, sessions;
//! - [`health`]: `HealthMonitor` — the health state of the local NameNode;
//! - [`controller`]: `ZKFailoverController`'s decisions (electability, cede, state checks),
//!   owning the elector.
//!
//! Around them:
//! - [`target`]: a NameNode as a failover target (`NNHAServiceTarget`) and its
//!   `ActiveNodeInfo` record;
//! - [`conf`]: the ZKFC's configuration and ZooKeeper ACL/auth syntax;
//! - [`rpc`]: HAServiceProtocol and ZKFCProtocol clients;
//! - [`fence`]: `NodeFencer`, `shell(...)`, `sshfence`;
//! - [`failover`]: `FailoverController` (graceful fence, manual failover);
//! - [`zk`]: ZooKeeper sessions and parent-znode chores;
//! - [`daemon`]: the `zkfc` daemon that drives the cores.
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
