//! The NameNode: a namespace of directories and files (no blocks) with the real HA machinery.
//!
//! - [`ops`]: edit ops and their encoding;
//! - [`namespace`]: the tree, planning changes and applying ops;
//! - [`client`]: the client side of ClientNamenodeProtocol, with HA failover.

pub mod client;
pub mod namespace;
pub mod ops;
