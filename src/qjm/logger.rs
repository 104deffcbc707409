//! `Logger`: the writer's view of one JournalNode (Hadoop's `IPCLoggerChannel`). It owns the
//! request fields the JournalNode checks — the epoch, an ipc serial that increases with every
//! writer request, the committed txid — and keeps writer requests in order: a batch of edits
//! goes out once the one before it on this JournalNode is answered (as Hadoop's logger does: a
//! Hadoop JournalNode's handler threads may run the calls of one connection in any order, so
//! pipelined batches would arrive with gaps), while later batches wait their turn without
//! holding up the other JournalNodes; every other writer request waits until no batch is in
//! flight and goes alone.
//!
//! A logger whose `journal` fails is out of sync: further edits to it fail at once (it still
//! heartbeats at most once a second, so the JournalNode learns the committed txid), until the
//! next segment starts on it. Edits queued for a JournalNode are capped
//! (`dfs.qjournal.queued-edits.limit.mb`); past that the JournalNode counts as failed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify, oneshot};

use super::channel::{ChannelResult, JournalChannel, WriterInfo};
use super::error::LoggerError;
use crate::journal::{PrepareRecoveryResponse, SegmentState};

/// How often an out-of-sync logger still heartbeats.
const OUT_OF_SYNC_HEARTBEAT: Duration = Duration::from_secs(1);
/// Hadoop's threshold for logging a slow batch.
const WARN_JOURNAL_MILLIS: u128 = 1000;

/// A batch sent to a JournalNode, to be awaited for its answer.
pub type JournalTicket = Pin<Box<dyn Future<Output = ChannelResult<()>> + Send>>;

#[derive(Debug, Default)]
struct WriterState {
    epoch: u64,
    /// The next ipc serial to send (Hadoop starts each epoch at 0).
    next_serial: u64,
    last_heartbeat: Option<Instant>,
}

pub struct Logger<C: JournalChannel> {
    channel: C,
    /// Taken to send any writer request: requests leave in serial order.
    lane: Mutex<WriterState>,
    /// Batches sent and not yet answered; other requests wait for zero.
    in_flight: AtomicUsize,
    /// Closed when the newest batch handed in is answered; the next one waits for it.
    last_batch: std::sync::Mutex<Option<oneshot::Receiver<()>>>,
    drained: Notify,
    /// The txid known to be on a majority (0 = none yet).
    committed_txid: AtomicU64,
    queued_bytes: AtomicUsize,
    queue_limit: usize,
    /// Batches of edits this JournalNode acknowledged (for metrics and benchmarks).
    batches_sent: AtomicU64,
    /// The highest txid this JournalNode acknowledged.
    acked_txid: AtomicU64,
    /// Set when a batch fails, cleared when the next segment starts on this JournalNode. Set
    /// by the failed batch itself before it counts as answered, so the batch behind it, a
    /// request waiting for the batches to drain, and the next segment all see it.
    out_of_sync: std::sync::atomic::AtomicBool,
}

impl<C: JournalChannel> Logger<C> {
    pub fn new(channel: C, queue_limit: usize) -> Self {
        Logger {
            channel,
            lane: Mutex::new(WriterState::default()),
            in_flight: AtomicUsize::new(0),
            last_batch: std::sync::Mutex::new(None),
            drained: Notify::new(),
            committed_txid: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            queue_limit,
            batches_sent: AtomicU64::new(0),
            acked_txid: AtomicU64::new(0),
            out_of_sync: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Hadoop's per-JournalNode report: `Written txid N`, how far behind it is, and whether it
    /// waits for the next segment.
    pub fn report(&self) -> String {
        let acked = self.acked_txid.load(Ordering::Relaxed);
        let committed = self.committed_txid.load(Ordering::Relaxed);
        let mut text = format!("Written txid {acked}");
        if committed > acked {
            text.push_str(&format!(" ({} txns behind)", committed - acked));
        }
        if self.out_of_sync.load(Ordering::SeqCst) {
            text.push_str(" (will try to re-sync on next segment)");
        }
        text
    }

    /// Transactions this JournalNode is behind the committed txid.
    pub fn lag_txns(&self) -> u64 {
        self.committed_txid
            .load(Ordering::Relaxed)
            .saturating_sub(self.acked_txid.load(Ordering::Relaxed))
    }

    pub fn channel(&self) -> &C {
        &self.channel
    }

    pub fn address(&self) -> String {
        self.channel.address()
    }

    /// Adopts a new writer epoch: serials restart at 0.
    pub async fn set_epoch(&self, epoch: u64) {
        let mut state = self.lane.lock().await;
        state.epoch = epoch;
        state.next_serial = 0;
    }

    /// Records the txid known to be on a majority; sent with the next request.
    pub fn set_committed_txid(&self, txid: u64) {
        self.committed_txid.fetch_max(txid, Ordering::Relaxed);
    }

    pub async fn is_out_of_sync(&self) -> bool {
        self.out_of_sync.load(Ordering::SeqCst)
    }

    /// Batches of edits this JournalNode acknowledged.
    pub fn batches_sent(&self) -> u64 {
        self.batches_sent.load(Ordering::Relaxed)
    }

    /// Edits waiting for this JournalNode, in bytes.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Relaxed)
    }

    fn info(&self, state: &mut WriterState) -> WriterInfo {
        let committed = self.committed_txid.load(Ordering::Relaxed);
        let info = WriterInfo {
            epoch: state.epoch,
            ipc_serial: state.next_serial,
            committed_txid: (committed > 0).then_some(committed),
        };
        state.next_serial += 1;
        info
    }

    /// Waits until every batch sent is answered.
    async fn wait_drained(&self) {
        loop {
            let drained = self.drained.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            drained.await;
        }
    }

    /// Sends a non-batch writer request alone: waits for every batch in flight to be answered.
    async fn alone<'a, T, Fut>(
        &'a self,
        call: impl FnOnce(&'a C, WriterInfo) -> Fut,
    ) -> ChannelResult<T>
    where
        Fut: Future<Output = ChannelResult<T>>,
    {
        let mut state = self.lane.lock().await;
        self.wait_drained().await;
        let info = self.info(&mut state);
        call(&self.channel, info).await
    }

    pub async fn start_log_segment(&self, txid: u64, layout_version: i32) -> ChannelResult<()> {
        let mut state = self.lane.lock().await;
        self.wait_drained().await;
        let info = self.info(&mut state);
        self.channel
            .start_log_segment(info, txid, layout_version)
            .await?;
        if self.out_of_sync.swap(false, Ordering::SeqCst) {
            tracing::info!(
                "Restarting previously-stopped writes to {} in segment starting at txid {txid}",
                self.address()
            );
        }
        Ok(())
    }

    /// Queues a batch of edits (or, with `num_txns == 0`, only the committed txid) behind every
    /// batch queued before it, and returns the ticket that sends it once they are answered and
    /// then awaits its own answer. Batches of one writer must be queued in txid order, one
    /// `send_journal` completing before the next starts, and every ticket must be polled to
    /// completion (the writer spawns them).
    pub async fn send_journal(
        self: &Arc<Self>,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> JournalTicket {
        let size = records.len();
        let mut state = self.lane.lock().await;
        if self.out_of_sync.load(Ordering::SeqCst) {
            // Let the JournalNode learn the committed txid, at most once a second.
            if num_txns > 0
                && state
                    .last_heartbeat
                    .is_none_or(|t| t.elapsed() >= OUT_OF_SYNC_HEARTBEAT)
                && self.in_flight.load(Ordering::SeqCst) == 0
            {
                state.last_heartbeat = Some(Instant::now());
                let info = self.info(&mut state);
                let _ = self.channel.heartbeat(info).await;
            }
            return Box::pin(std::future::ready(Err(LoggerError::Disabled)));
        }
        let queued = self.queued_bytes.load(Ordering::Relaxed) + size;
        if size > 0 && queued > self.queue_limit {
            let err = LoggerError::TooFarBehind {
                queued_bytes: queued,
                limit: self.queue_limit,
            };
            self.mark_out_of_sync(first_txid, num_txns, &err);
            return Box::pin(std::future::ready(Err(err)));
        }
        let info = self.info(&mut state);
        self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let (answered, next_waits) = oneshot::channel::<()>();
        let previous = self
            .last_batch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(next_waits);
        drop(state);
        let logger = self.clone();
        Box::pin(async move {
            if let Some(previous) = previous {
                // Answered or abandoned, either way its turn is over.
                let _ = previous.await;
            }
            let sent = Instant::now();
            let result = if logger.out_of_sync.load(Ordering::SeqCst) {
                // The batch before it failed: this one would leave a gap.
                Err(LoggerError::Disabled)
            } else {
                logger
                    .channel
                    .journal(info, segment_txid, first_txid, num_txns, records)
                    .await
            };
            if num_txns > 0
                && let Err(err) = &result
                && !matches!(err, LoggerError::Disabled)
            {
                logger.mark_out_of_sync(first_txid, num_txns, err);
            }
            drop(answered);
            logger.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            logger.in_flight.fetch_sub(1, Ordering::SeqCst);
            logger.drained.notify_waiters();
            let elapsed = sent.elapsed().as_millis();
            if elapsed > WARN_JOURNAL_MILLIS && num_txns > 0 {
                tracing::warn!(
                    "Took {elapsed}ms to send a batch of {num_txns} edits ({size} bytes) to remote journal {}",
                    logger.address()
                );
            }
            if num_txns > 0 && result.is_ok() {
                logger.batches_sent.fetch_add(1, Ordering::Relaxed);
                logger
                    .acked_txid
                    .fetch_max(first_txid + u64::from(num_txns) - 1, Ordering::Relaxed);
            }
            result
        })
    }

    fn mark_out_of_sync(&self, first: u64, count: u32, err: &LoggerError) {
        if !self.out_of_sync.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "Remote journal {} failed to write txns {first}-{}. Will try to write to this JN again after the next log roll. {err}",
                self.address(),
                first + u64::from(count).max(1) - 1
            );
        }
    }

    pub async fn heartbeat(&self) -> ChannelResult<()> {
        self.alone(|c, info| c.heartbeat(info)).await
    }

    pub async fn finalize_log_segment(&self, start: u64, end: u64) -> ChannelResult<()> {
        self.alone(|c, info| c.finalize_log_segment(info, start, end))
            .await
    }

    pub async fn purge_logs(&self, min_txid: u64) -> ChannelResult<()> {
        self.alone(|c, info| c.purge_logs(info, min_txid)).await
    }

    pub async fn prepare_recovery(
        &self,
        segment_txid: u64,
    ) -> ChannelResult<PrepareRecoveryResponse> {
        self.alone(|c, info| c.prepare_recovery(info, segment_txid))
            .await
    }

    pub async fn accept_recovery(
        &self,
        segment: SegmentState,
        from_url: String,
    ) -> ChannelResult<()> {
        self.alone(|c, info| c.accept_recovery(info, segment, from_url))
            .await
    }
}
