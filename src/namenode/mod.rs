//! The NameNode: a namespace of directories and files (no blocks) with the real HA machinery.
//!
//! - [`ops`]: edit ops and their encoding;
//! - [`namespace`]: the tree, planning changes and applying ops;
//! - [`storage`]: the local storage directories (VERSION, fsimages, seen_txid).

pub mod conf;
mod http;
pub mod namespace;
pub mod node;
pub mod ops;
pub mod retry_cache;
pub mod rpc;
pub mod server;
pub mod storage;
