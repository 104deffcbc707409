//! The JournalNode side of the shared edit log (Hadoop's QJournalProtocol): one JournalNode
//! hosts many journals by journal id; each journal keeps epoch-fenced segments of edits.
//!
//! - [`edits`] owns the byte format of records and segment files;
//! - [`storage`] is what a journal keeps on disk, as a trait, with [`FileStorage`] (Hadoop's
//!   on-disk layout) and [`MemStorage`] (in memory, with simulated crashes and faults);
//! - [`Journal`] enforces the rules (promised epochs, writer epoch, ipc serials, committed
//!   txid, segment recovery) over any storage, without sockets or threads;
//! - the edits cache serves in-progress tailing;
//! - [`ipc`] serves the journals over Hadoop IPC with Hadoop's own messages (a real
//!   NameNode or JournalNode, and ours);
//! - [`sync`] fetches the finalized segments a journal missed from the other JournalNodes.

mod cache;
pub mod edits;
mod error;
mod file_storage;
mod http;
pub mod ipc;
#[allow(clippy::module_inception)]
mod journal;
pub mod journals;
mod mem_storage;
mod metrics;
pub mod node;
pub mod storage;
pub mod sync;

pub use error::JournalError;
pub use file_storage::FileStorage;
pub use journal::{
    EditLogManifest, Journal, JournalBatch, JournalStatus, NamespaceInfo, PrepareRecoveryResponse,
    RemoteEditLog, RequestInfo, SegmentSink,
};
pub use mem_storage::{MemStorage, PaxosFault};
pub use metrics::JournalMetrics;
pub use storage::{
    EditFile, EditFileScan, JournalStorage, PaxosData, PersistedLong, SegmentState, StorageError,
    StorageInfo,
};

#[cfg(test)]
mod tests;
