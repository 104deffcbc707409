//! `JournalError`: why a journal refused a request. The texts are Hadoop's (`Journal.java`),
//! because operators and scripts know them; `exception_class` names the Hadoop exception each
//! one corresponds to, which is what crosses the wire to the writer.

use super::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("Journal Storage Directory {dir} not formatted ; journal id: {jid}")]
    NotFormatted { dir: String, jid: String },

    /// The fence: a writer from an older epoch.
    #[error(
        "IPC's epoch {epoch} is less than the last promised epoch {promised} ; journal id: {jid}"
    )]
    EpochTooLow {
        epoch: u64,
        promised: u64,
        jid: String,
    },

    #[error("Proposed epoch {epoch} <= last promise {promised} ; journal id: {jid}")]
    EpochNotNewer {
        epoch: u64,
        promised: u64,
        jid: String,
    },

    #[error("IPC's epoch {epoch} is not the current writer epoch  {writer} ; journal id: {jid}")]
    NotWriterEpoch {
        epoch: u64,
        writer: u64,
        jid: String,
    },

    /// Hadoop's `JournalOutOfSyncException`: the writer and this journal disagree about where
    /// the log is; the writer stops sending to this journal until its next segment.
    #[error("{0}")]
    OutOfSync(String),

    /// Hadoop's `IllegalStateException` texts (a segment that must not be overwritten).
    #[error("{0}")]
    IllegalState(String),

    /// Hadoop's `IllegalArgumentException` texts (a request that makes no sense).
    #[error("{0}")]
    IllegalArgument(String),

    /// A broken protocol invariant (Hadoop's `AssertionError`): never expected, always fatal
    /// for the request.
    #[error("{0}")]
    Assertion(String),

    #[error("{0}")]
    IncompatibleNamespace(String),

    #[error(
        "Directory {dir} is in an inconsistent state: Can't format the storage directory because the current directory is not empty."
    )]
    NotEmpty { dir: String },

    #[error("can't format with uninitialized namespace info: {0}")]
    UninitializedNamespace(String),

    /// A `journal` batch whose bytes do not hold the records it claims.
    #[error("{0}")]
    BadBatch(String),

    #[error(
        "The journal edits cache is not enabled, which is a requirement to fetch journaled edits via RPC. Please enable it via dfs.ha.tail-edits.in-progress"
    )]
    CacheDisabled,

    #[error(
        "Highest txn ID available in the journal is {highest}, but requested txns starting at {requested}."
    )]
    NewerTxnId { highest: u64, requested: u64 },

    /// The edits asked for are older than the cache holds; the reader falls back to segments.
    #[error(
        "Oldest txn ID available in the cache is {oldest}, but requested txns starting at {requested}. The cache size (dfs.journalnode.edit-cache-size.bytes) may need to be increased to hold more transactions (currently {capacity} bytes)"
    )]
    CacheMiss {
        oldest: u64,
        requested: u64,
        capacity: usize,
    },

    /// Fetching a segment from another JournalNode during recovery failed.
    #[error("{0}")]
    Download(String),

    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl JournalError {
    /// The Hadoop exception class this error is, as the writer sees it.
    pub fn exception_class(&self) -> &'static str {
        match self {
            JournalError::NotFormatted { .. } => "JournalNotFormattedException",
            JournalError::OutOfSync(_) => "JournalOutOfSyncException",
            JournalError::IllegalState(_) => "IllegalStateException",
            JournalError::IllegalArgument(_) => "IllegalArgumentException",
            JournalError::Assertion(_) => "AssertionError",
            JournalError::NewerTxnId { .. } => "NewerTxnIdException",
            JournalError::CacheMiss { .. } => "CacheMissException",
            _ => "IOException",
        }
    }

    /// The fully qualified Java class of the exception, as Hadoop IPC carries it (so that a
    /// Java client unwraps it into the same exception).
    pub fn java_class(&self) -> &'static str {
        match self.exception_class() {
            "JournalNotFormattedException" => {
                "org.apache.hadoop.hdfs.qjournal.protocol.JournalNotFormattedException"
            }
            "JournalOutOfSyncException" => {
                "org.apache.hadoop.hdfs.qjournal.protocol.JournalOutOfSyncException"
            }
            "IllegalStateException" => "java.lang.IllegalStateException",
            "IllegalArgumentException" => "java.lang.IllegalArgumentException",
            "AssertionError" => "java.lang.AssertionError",
            // Hadoop 3.4's class; a 3.3 client, which has none, sees a RemoteException.
            "NewerTxnIdException" => "org.apache.hadoop.hdfs.qjournal.server.NewerTxnIdException",
            "CacheMissException" => {
                "org.apache.hadoop.hdfs.qjournal.server.JournaledEditsCache$CacheMissException"
            }
            _ => "java.io.IOException",
        }
    }
}
