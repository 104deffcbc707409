//! The quorum journal client inside the NameNode (Hadoop's QuorumJournalManager): epochs,
//! recovery of the newest segment, batched quorum writes, and reads for tailing.
//!
//! - [`channel`]: one JournalNode as requests (`JournalChannel`), over Hadoop IPC ([`IpcChannel`]) or in process;
//! - [`Logger`]: a writer's ordered, epoch-stamped requests to one JournalNode;
//! - [`call`]: waiting for a majority (or all), with Hadoop's timeouts and messages;
//! - [`recovery`]: the recovery decision, as pure functions;
//! - [`QuorumJournalManager`] and [`EditLogWriter`]: what the NameNode uses.

mod call;
pub mod channel;
mod error;
mod ipc_channel;
mod local;
mod logger;
mod manager;
pub mod recovery;
mod writer;

pub use call::{Needed, QuorumOutcome, quorum_call};
pub use channel::{JournalChannel, WriterInfo};
pub use error::{LoggerError, QjmError};
pub use ipc_channel::IpcChannel;
pub use local::{FaultPlan, FaultPoint, LocalChannel, LocalCluster, SharedMemJournal};
pub use logger::Logger;
pub use manager::{QjmConf, QuorumJournalManager};
pub use writer::{AckedBatch, EditLogWriter, Mirror};

#[cfg(test)]
mod tests;
