//! The NameNode: a namespace of directories and files (no blocks) with the real HA machinery.
//!
//! - [`ops`]: edit ops and their encoding;
//! - [`namespace`]: the tree, planning changes and applying ops;
//! - [`storage`]: the local storage directories (VERSION, fsimages, seen_txid).

pub mod namespace;
pub mod ops;
pub mod storage;
