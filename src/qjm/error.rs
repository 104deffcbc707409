//! `QjmError`: why a quorum journal operation failed, with Hadoop's texts
//! (`QuorumException`, `QuorumCall`, `QuorumJournalManager`).

use std::fmt;

use crate::ipc::exception::{CallFailure, Unreachable};

/// One JournalNode's failure, as the writer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggerError {
    /// The JournalNode answered with an error: the Hadoop exception class and message.
    Remote { class: String, message: String },
    /// The JournalNode could not be reached or the connection broke.
    Unreachable(String),
    /// This channel stopped sending after a failed write, until the next segment
    /// (Hadoop's `Journal disabled until next roll`).
    Disabled,
    /// Too many edits are queued for this JournalNode (Hadoop's `LoggerTooFarBehindException`).
    TooFarBehind { queued_bytes: usize, limit: usize },
    /// No answer within the deadline of a single call.
    Timeout,
}

impl From<Unreachable> for LoggerError {
    fn from(err: Unreachable) -> LoggerError {
        LoggerError::Unreachable(err.message)
    }
}

impl From<CallFailure> for LoggerError {
    /// A Hadoop exception keeps its simple class name (`JournalOutOfSyncException`).
    fn from(failure: CallFailure) -> LoggerError {
        match failure {
            CallFailure::Remote(e) => LoggerError::Remote {
                class: e.simple_class().to_string(),
                message: e.message,
            },
            CallFailure::Unreachable(e) => e.into(),
        }
    }
}

impl LoggerError {
    /// The Hadoop exception class of a remote error.
    pub fn class(&self) -> Option<&str> {
        match self {
            LoggerError::Remote { class, .. } => Some(class),
            _ => None,
        }
    }
}

impl fmt::Display for LoggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoggerError::Remote { message, .. } => f.write_str(message),
            LoggerError::Unreachable(msg) => f.write_str(msg),
            LoggerError::Disabled => f.write_str("Journal disabled until next roll"),
            LoggerError::TooFarBehind {
                queued_bytes,
                limit,
            } => write!(
                f,
                "LoggerTooFarBehindException: {queued_bytes} bytes of edits are queued for this JournalNode, over the limit of {limit} (dfs.qjournal.queued-edits.limit.mb)"
            ),
            LoggerError::Timeout => f.write_str("timed out"),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum QjmError {
    /// Not enough JournalNodes succeeded (Hadoop's `QuorumException` text).
    #[error("{0}")]
    Quorum(String),

    #[error("Timed out waiting {millis}ms for a quorum of nodes to respond.")]
    Timeout { millis: u128 },

    /// An operation that needs every JournalNode failed on some.
    #[error("{0}")]
    AllRequired(String),

    /// A broken protocol invariant (Hadoop's `AssertionError`).
    #[error("{0}")]
    Assertion(String),

    /// A request that is wrong in this state (`must recover segments before starting a new one`).
    #[error("{0}")]
    IllegalState(String),

    /// The writer failed earlier; it accepts nothing more.
    #[error("The edit log writer has failed and accepts no more edits: {0}")]
    WriterFailed(String),

    /// The edits read do not follow each other.
    #[error(
        "There appears to be a gap in the edit log.  We expected txid {expected}, but got txid {got}."
    )]
    Gap { expected: u64, got: u64 },

    #[error("{0}")]
    Read(String),
}

/// Formats Hadoop's `QuorumException` message.
pub fn quorum_exception<S: fmt::Display>(
    simple: &str,
    successes: &[(String, S)],
    exceptions: &[(String, LoggerError)],
) -> QjmError {
    let mut msg = format!("{simple}. ");
    if !successes.is_empty() {
        msg.push_str(&format!("{} successful responses:\n", successes.len()));
        let lines: Vec<String> = successes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        msg.push_str(&lines.join("\n"));
        msg.push('\n');
    }
    msg.push_str(&format!("{} exceptions thrown:\n", exceptions.len()));
    let lines: Vec<String> = exceptions
        .iter()
        .map(|(k, e)| format!("{k}: {e}"))
        .collect();
    msg.push_str(&lines.join("\n"));
    QjmError::Quorum(msg)
}
