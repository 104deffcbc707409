//! The NameNode: a namespace of directories and files (no blocks) with the real HA machinery.
//!
//! - [`ops`]: edit ops and their encoding;
//! - [`namespace`]: the tree, planning changes and applying ops; [`permission`]: Hadoop's
//!   permission checks over it;
//! - [`storage`]: the local storage directories (VERSION, fsimages, seen_txid); [`fsimage`]:
//!   Hadoop's fsimage format;
//! - [`conf`]: the NameNode's typed configuration;
//! - [`server`]: HA states, the active writer, the tailing standby, checkpoints;
//! - [`rpc`] and `http`: the services on the RPC and HTTP ports; [`protocol`]:
//!   ClientNamenodeProtocol over IPC (method table, server dispatch, typed client);
//!   [`ha_ipc`]: Hadoop's HAServiceProtocol over IPC, for a real `hdfs haadmin` or ZKFC;
//!   [`node`]: the daemon;
//! - [`retry_cache`]: answers to retried calls; [`local_edits`]: the active's local copy of
//!   its edits;
//! - [`client`]: the client side of ClientNamenodeProtocol, with HA failover.

pub mod client;
pub mod conf;
pub mod fsimage;
pub mod ha_ipc;
mod http;
pub mod local_edits;
pub mod namespace;
pub mod node;
pub mod ops;
pub mod peer;
pub mod permission;
pub mod protocol;
pub mod retry_cache;
pub mod rpc;
pub mod server;
pub mod storage;
