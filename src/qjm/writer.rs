//! `EditLogWriter`: writes one segment through the quorum, batching concurrent callers.
//!
//! Callers hand in edit payloads and get their txids back once the edits are on a majority of
//! JournalNodes. While one batch is in flight, the next accumulates; it goes out as a single
//! `journal` request as soon as the previous one is acknowledged (Hadoop's double buffer). A
//! batch that fails to reach a majority fails the writer: every waiting caller gets the error,
//! nothing after it is ever acknowledged (this is how a fenced active stops).

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use super::call::Needed;
use super::channel::JournalChannel;
use super::error::QjmError;
use super::manager::Core;
use crate::journal::edits::encode_record;

struct Pending {
    /// Next txid to hand out.
    next_txid: u64,
    /// Encoded records of the batch being gathered, starting at `batch_first`.
    records: Vec<u8>,
    batch_first: u64,
    batch_count: u32,
    waiters: Vec<oneshot::Sender<Result<(), QjmError>>>,
    /// Set once a batch failed: the error every later call gets.
    failed: Option<QjmError>,
    /// Highest txid known to be on a majority.
    committed_txid: u64,
    /// Whether a batch is on its way to the JournalNodes.
    in_flight: bool,
    closed: bool,
}

struct Shared<C: JournalChannel> {
    core: Arc<Core<C>>,
    segment_start: u64,
    pending: Mutex<Pending>,
    /// Wakes the flusher when a batch is ready or the writer closes.
    work: Notify,
    /// Wakes `flush` when a batch completes.
    progress: Notify,
}

pub struct EditLogWriter<C: JournalChannel> {
    shared: Arc<Shared<C>>,
}

impl<C: JournalChannel> EditLogWriter<C> {
    pub(crate) fn new(core: Arc<Core<C>>, segment_start: u64) -> Self {
        let shared = Arc::new(Shared {
            core,
            segment_start,
            pending: Mutex::new(Pending {
                next_txid: segment_start,
                records: Vec::new(),
                batch_first: segment_start,
                batch_count: 0,
                waiters: Vec::new(),
                failed: None,
                committed_txid: segment_start - 1,
                in_flight: false,
                closed: false,
            }),
            work: Notify::new(),
            progress: Notify::new(),
        });
        tokio::spawn(flusher(shared.clone()));
        EditLogWriter { shared }
    }

    pub fn segment_start(&self) -> u64 {
        self.shared.segment_start
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The last txid handed out.
    pub fn last_written_txid(&self) -> u64 {
        self.pending().next_txid - 1
    }

    /// The highest txid acknowledged by a majority.
    pub fn committed_txid(&self) -> u64 {
        self.pending().committed_txid
    }

    /// Writes `payloads` as consecutive edits; returns the txid of the first once all are on a
    /// majority of JournalNodes.
    pub async fn write(&self, payloads: &[&[u8]]) -> Result<u64, QjmError> {
        let (first, rx) = {
            let mut p = self.pending();
            if let Some(err) = &p.failed {
                return Err(QjmError::WriterFailed(err.to_string()));
            }
            if p.closed {
                return Err(QjmError::IllegalState(
                    "the segment writer is closed".to_string(),
                ));
            }
            let first = p.next_txid;
            if p.batch_count == 0 {
                p.batch_first = first;
            }
            for payload in payloads {
                let txid = p.next_txid;
                encode_record(txid, payload, &mut p.records);
                p.next_txid += 1;
                p.batch_count += 1;
            }
            let (tx, rx) = oneshot::channel();
            p.waiters.push(tx);
            (first, rx)
        };
        self.shared.work.notify_one();
        match rx.await {
            Ok(Ok(())) => Ok(first),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(QjmError::WriterFailed("the writer stopped".to_string())),
        }
    }

    /// Waits until every edit handed out so far is on a majority (or the writer failed).
    pub async fn flush(&self) -> Result<u64, QjmError> {
        loop {
            let notified = self.shared.progress.notified();
            {
                let p = self.pending();
                if let Some(err) = &p.failed {
                    return Err(QjmError::WriterFailed(err.to_string()));
                }
                if p.committed_txid + 1 == p.next_txid {
                    return Ok(p.committed_txid);
                }
            }
            notified.await;
        }
    }

    /// Flushes, stops the writer, and returns the last txid of the segment (no finalize: the
    /// manager finalizes).
    pub async fn close(self) -> Result<u64, QjmError> {
        let last = self.flush().await;
        self.pending().closed = true;
        self.shared.work.notify_one();
        last
    }
}

impl<C: JournalChannel> Drop for EditLogWriter<C> {
    fn drop(&mut self) {
        self.pending().closed = true;
        self.shared.work.notify_one();
    }
}

/// Sends one batch at a time; everything gathered meanwhile forms the next batch.
async fn flusher<C: JournalChannel>(shared: Arc<Shared<C>>) {
    loop {
        let notified = shared.work.notified();
        let batch = {
            let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            if p.batch_count == 0 || p.failed.is_some() {
                if p.closed {
                    return;
                }
                None
            } else {
                p.in_flight = true;
                let first = p.batch_first;
                let count = p.batch_count;
                p.batch_count = 0;
                p.batch_first = p.next_txid;
                Some((
                    first,
                    count,
                    std::mem::take(&mut p.records),
                    std::mem::take(&mut p.waiters),
                ))
            }
        };
        let Some((first, count, records, waiters)) = batch else {
            notified.await;
            continue;
        };
        let last = first + u64::from(count) - 1;
        let segment = shared.segment_start;
        let records = Arc::new(records);
        let result = shared
            .core
            .call(
                &format!("sendEdits({first}-{last})"),
                Needed::Majority,
                shared.core.conf.write_txns_timeout,
                |l| {
                    let records = records.clone();
                    async move { l.journal(segment, first, count, records.to_vec()).await }
                },
            )
            .await;
        let outcome = {
            let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.in_flight = false;
            match result {
                Ok(_) => {
                    p.committed_txid = last;
                    for logger in &shared.core.loggers {
                        logger.set_committed_txid(last);
                    }
                    Ok(p.batch_count == 0)
                }
                Err(err) => {
                    tracing::error!(
                        "Error: flush failed for required journal (txids {first}-{last}): {err}"
                    );
                    p.failed = Some(err.clone());
                    let later: Vec<_> = std::mem::take(&mut p.waiters);
                    Err((err, later))
                }
            }
        };
        match outcome {
            Ok(idle) => {
                for waiter in waiters {
                    let _ = waiter.send(Ok(()));
                }
                if idle && shared.core.conf.in_progress_tailing {
                    // Nothing else to send: tell the JournalNodes the new committed txid, so
                    // readers tailing in-progress edits see it without waiting for a batch.
                    for logger in &shared.core.loggers {
                        let logger = logger.clone();
                        tokio::spawn(async move {
                            let _ = logger.journal(segment, last + 1, 0, Vec::new()).await;
                        });
                    }
                }
            }
            Err((err, later)) => {
                for waiter in waiters.into_iter().chain(later) {
                    let _ = waiter.send(Err(err.clone()));
                }
            }
        }
        shared.progress.notify_waiters();
    }
}
