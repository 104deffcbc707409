//! `EditLogWriter`: writes one segment through the quorum, batching concurrent callers.
//!
//! Callers hand in edit payloads and get their txids back once the edits are on a majority of
//! JournalNodes. Edits handed in while batches are on their way gather into the next batch,
//! which goes out as one `journal` request once the one before it is on a majority, and they
//! are acknowledged strictly in txid order. A
//! batch that fails to reach a majority fails the writer: every waiting caller gets the error,
//! nothing after it is ever acknowledged (this is how a fenced active stops).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use super::call::{Needed, quorum_call};
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
    closed: bool,
}

/// Receives each acknowledged batch, in txid order, before the batch's callers are answered.
pub type Mirror = Box<dyn Fn(AckedBatch) + Send + Sync>;

/// A batch a majority acknowledged, as mirrored to a local copy of the log.
#[derive(Debug, Clone)]
pub struct AckedBatch {
    pub segment_start: u64,
    pub first_txid: u64,
    pub last_txid: u64,
    /// The encoded records.
    pub records: Arc<Vec<u8>>,
}

struct Shared<C: JournalChannel> {
    core: Arc<Core<C>>,
    segment_start: u64,
    /// Where acknowledged batches are copied, in txid order (the NameNode's local edits).
    mirror: Mutex<Option<Mirror>>,
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
                closed: false,
            }),
            work: Notify::new(),
            progress: Notify::new(),
            mirror: Mutex::new(None),
        });
        tokio::spawn(flusher(shared.clone()));
        EditLogWriter { shared }
    }

    pub fn segment_start(&self) -> u64 {
        self.shared.segment_start
    }

    /// Hands every batch a majority acknowledges from now on to `mirror`, in txid order,
    /// before the batch's callers are answered.
    pub fn mirror_to(&self, mirror: Mirror) {
        *self.shared.mirror.lock().unwrap_or_else(|p| p.into_inner()) = Some(mirror);
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
        let (first, durable) = self.submit(payloads)?;
        durable.await?;
        Ok(first)
    }

    /// Hands `payloads` to the writer now: their txids are assigned in the order of `submit`
    /// calls, before this returns. Returns the first txid, and a future that completes when all
    /// of them are on a majority of JournalNodes (or the writer failed).
    pub fn submit(
        &self,
        payloads: &[&[u8]],
    ) -> Result<
        (
            u64,
            impl std::future::Future<Output = Result<(), QjmError>> + Send + 'static,
        ),
        QjmError,
    > {
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
        Ok((first, async move {
            match rx.await {
                Ok(result) => result,
                Err(_) => Err(QjmError::WriterFailed("the writer stopped".to_string())),
            }
        }))
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

/// A batch on its way: its range, its callers, and the quorum wait for it.
struct InFlight {
    first: u64,
    last: u64,
    records: Arc<Vec<u8>>,
    waiters: Vec<oneshot::Sender<Result<(), QjmError>>>,
    quorum: tokio::task::JoinHandle<Result<(), QjmError>>,
}

/// Most batches in flight at once. A JournalNode takes a writer's batches one at a time (see
/// the logger), so a second batch would only wait there, fixed in size; edits gathered while
/// one batch is out go together in the next (as Hadoop's double-buffered edit log does), which
/// measured 4× the edits/s of a window of 8 at 64 writers (BENCHMARKS.md).
const MAX_IN_FLIGHT: usize = 1;

/// Sends what callers gathered as batches, up to [`MAX_IN_FLIGHT`] at once, and acknowledges
/// them strictly in txid order.
async fn flusher<C: JournalChannel>(shared: Arc<Shared<C>>) {
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    loop {
        let notified = shared.work.notified();
        // Send everything gathered, while the window has room.
        while in_flight.len() < MAX_IN_FLIGHT {
            let Some(batch) = take_batch(&shared) else {
                break;
            };
            in_flight.push_back(send_batch(&shared, batch).await);
        }
        let room = in_flight.len() < MAX_IN_FLIGHT;
        let Some(front) = in_flight.front_mut() else {
            if shared
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .closed
            {
                return;
            }
            notified.await;
            continue;
        };
        tokio::select! {
            done = &mut front.quorum => {
                let batch = in_flight.pop_front().expect("front exists");
                let result = done.unwrap_or_else(|e| Err(QjmError::WriterFailed(e.to_string())));
                if !complete(&shared, batch, result, &mut in_flight) {
                    return;
                }
            }
            _ = notified, if room => {}
        }
    }
}

/// The batch gathered so far, if any (and the writer has not failed).
fn take_batch<C: JournalChannel>(shared: &Shared<C>) -> Option<(u64, u32, Vec<u8>, Waiters)> {
    let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
    if p.batch_count == 0 || p.failed.is_some() {
        return None;
    }
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

type Waiters = Vec<oneshot::Sender<Result<(), QjmError>>>;

/// Sends a batch to every JournalNode, in order behind earlier batches, and starts waiting
/// for a majority.
async fn send_batch<C: JournalChannel>(
    shared: &Shared<C>,
    (first, count, records, waiters): (u64, u32, Vec<u8>, Waiters),
) -> InFlight {
    let last = first + u64::from(count) - 1;
    let mut tickets = Vec::with_capacity(shared.core.loggers.len());
    for logger in &shared.core.loggers {
        tickets.push(
            logger
                .send_journal(shared.segment_start, first, count, records.clone())
                .await,
        );
    }
    let records = Arc::new(records);
    let names = shared.core.names.clone();
    let timeout = shared.core.conf.write_txns_timeout;
    let quorum = tokio::spawn(async move {
        quorum_call(
            &format!("sendEdits({first}-{last})"),
            &names,
            tickets,
            Needed::Majority,
            timeout,
        )
        .await
        .map(|_| ())
    });
    InFlight {
        first,
        last,
        records,
        waiters,
        quorum,
    }
}

/// Acknowledges (or fails) the oldest batch in flight. Returns false once the writer failed
/// and there is nothing left to do.
fn complete<C: JournalChannel>(
    shared: &Arc<Shared<C>>,
    batch: InFlight,
    result: Result<(), QjmError>,
    in_flight: &mut VecDeque<InFlight>,
) -> bool {
    let InFlight {
        first,
        last,
        records,
        waiters,
        ..
    } = batch;
    match result {
        Ok(()) => {
            if let Some(mirror) = shared
                .mirror
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                mirror(AckedBatch {
                    segment_start: shared.segment_start,
                    first_txid: first,
                    last_txid: last,
                    records,
                });
            }
            let idle = {
                let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
                p.committed_txid = last;
                p.batch_count == 0 && in_flight.is_empty()
            };
            for logger in &shared.core.loggers {
                logger.set_committed_txid(last);
            }
            for waiter in waiters {
                let _ = waiter.send(Ok(()));
            }
            if idle && shared.core.conf.in_progress_tailing {
                // Nothing else to send: tell the JournalNodes the new committed txid, so that
                // readers tailing in-progress edits see it without waiting for a batch.
                let shared = shared.clone();
                tokio::spawn(async move {
                    for logger in &shared.core.loggers {
                        let ticket = logger
                            .send_journal(shared.segment_start, last + 1, 0, Vec::new())
                            .await;
                        tokio::spawn(ticket);
                    }
                });
            }
            shared.progress.notify_waiters();
            true
        }
        Err(err) => {
            tracing::error!(
                "Error: flush failed for required journal (txids {first}-{last}): {err}"
            );
            let later: Vec<_> = {
                let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
                p.failed = Some(err.clone());
                std::mem::take(&mut p.waiters)
            };
            let queued = in_flight.drain(..).flat_map(|b| {
                b.quorum.abort();
                b.waiters
            });
            for waiter in waiters.into_iter().chain(queued).chain(later) {
                let _ = waiter.send(Err(err.clone()));
            }
            shared.progress.notify_waiters();
            false
        }
    }
}
