//! `Journals`: every journal of one JournalNode by journal id, opened on the first request
//! that names it, each serialized behind its own lock and run on blocking threads (journal
//! operations fsync).
//!
//! Invariant: `journal` batches of one journal are applied in the order they were submitted
//! ([`Journals::submit_journal`] queues a batch before returning), so a writer may pipeline
//! them on one connection; batches already waiting are applied under one sync.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::JournalError;
use super::journal::{Journal, JournalBatch, RequestInfo};
use super::storage::{JournalStorage, StorageError};
use crate::conf::check_journal_id;

/// Most queued batches applied under one sync.
const MAX_GROUP_BATCHES: usize = 64;

/// Opens the storage of a journal by id (a directory under `dfs.journalnode.edits.dir` for
/// the daemon; memory in tests).
pub trait JournalStorageFactory: Send + Sync + 'static {
    type Storage: JournalStorage + 'static;
    fn open(&self, jid: &str) -> Result<Self::Storage, StorageError>;
}

pub type SharedJournal<S> = Arc<Mutex<Journal<S>>>;

/// A `journal` call's batch, owned, waiting for its turn.
pub struct QueuedBatch {
    pub req: RequestInfo,
    pub segment_txid: u64,
    pub first_txid: u64,
    pub num_txns: u32,
    pub records: Vec<u8>,
}

type Lane = mpsc::UnboundedSender<(QueuedBatch, oneshot::Sender<Result<(), JournalError>>)>;

/// Every journal of one JournalNode.
pub struct Journals<F: JournalStorageFactory> {
    factory: F,
    journals: Mutex<HashMap<String, SharedJournal<F::Storage>>>,
    /// The queue of `journal` batches of each journal, served in order by one task.
    lanes: Mutex<HashMap<String, Lane>>,
    /// Edits cache capacity per journal, when in-progress tailing is enabled.
    cache_capacity: Option<usize>,
}

impl<F: JournalStorageFactory> Journals<F> {
    pub fn new(factory: F, cache_capacity: Option<usize>) -> Self {
        Journals {
            factory,
            journals: Mutex::new(HashMap::new()),
            lanes: Mutex::new(HashMap::new()),
            cache_capacity,
        }
    }

    /// The journal `jid`, opened (and its newest segment scanned) on first use.
    pub fn journal(&self, jid: &str) -> Result<SharedJournal<F::Storage>, JournalError> {
        check_journal_id(jid).map_err(JournalError::IllegalArgument)?;
        let mut journals = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(journal) = journals.get(jid) {
            return Ok(journal.clone());
        }
        let storage = self.factory.open(jid)?;
        let journal = Journal::open(jid, storage, self.cache_capacity)?;
        let shared = Arc::new(Mutex::new(journal));
        journals.insert(jid.to_string(), shared.clone());
        Ok(shared)
    }

    /// Runs `op` on journal `jid` on a blocking thread (journal operations fsync).
    pub async fn run<T: Send + 'static>(
        &self,
        jid: &str,
        op: impl FnOnce(&mut Journal<F::Storage>) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal(jid)?;
        tokio::task::spawn_blocking(move || {
            let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
            op(&mut journal)
        })
        .await
        .map_err(|e| JournalError::Assertion(format!("journal task failed: {e}")))?
    }

    /// Queues `batch` behind every batch submitted before it to journal `jid` and returns
    /// the wait for its outcome. Must be called within a Tokio runtime.
    pub fn submit_journal(
        &self,
        jid: &str,
        batch: QueuedBatch,
    ) -> impl Future<Output = Result<(), JournalError>> + Send + 'static + use<F> {
        let (reply, outcome) = oneshot::channel();
        let queued = self.lane(jid).and_then(|lane| {
            lane.send((batch, reply))
                .map_err(|_| JournalError::Assertion("the journal's lane has stopped".into()))
        });
        async move {
            queued?;
            outcome
                .await
                .map_err(|_| JournalError::Assertion("the journal's lane dropped a batch".into()))?
        }
    }

    fn lane(&self, jid: &str) -> Result<Lane, JournalError> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lane) = lanes.get(jid) {
            return Ok(lane.clone());
        }
        let journal = self.journal(jid)?;
        let (lane, queue) = mpsc::unbounded_channel();
        tokio::spawn(serve_lane(journal, queue));
        lanes.insert(jid.to_string(), lane.clone());
        Ok(lane)
    }

    /// The journals opened so far, by id.
    pub fn all(&self) -> Vec<(String, SharedJournal<F::Storage>)> {
        let journals = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = journals
            .iter()
            .map(|(jid, j)| (jid.clone(), j.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Applies the batches of one journal in queue order, those already waiting under one sync.
async fn serve_lane<S: JournalStorage + 'static>(
    journal: SharedJournal<S>,
    mut queue: mpsc::UnboundedReceiver<(QueuedBatch, oneshot::Sender<Result<(), JournalError>>)>,
) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP_BATCHES {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (batches, replies): (Vec<QueuedBatch>, Vec<_>) = group.into_iter().unzip();
        let journal = journal.clone();
        let applied = tokio::task::spawn_blocking(move || {
            let views: Vec<JournalBatch<'_>> = batches
                .iter()
                .map(|b| JournalBatch {
                    req: b.req.clone(),
                    segment_txid: b.segment_txid,
                    first_txid: b.first_txid,
                    num_txns: b.num_txns,
                    records: &b.records,
                })
                .collect();
            journal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .journal_group(&views)
        })
        .await;
        match applied {
            Ok(results) => {
                let mut results = results.into_iter();
                for reply in replies {
                    let _ = reply.send(results.next().unwrap_or(Ok(())));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(JournalError::Assertion(format!(
                        "journal task failed: {e}"
                    ))));
                }
            }
        }
    }
}
