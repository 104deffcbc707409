//! `Logger`: the writer's view of one JournalNode (Hadoop's `IPCLoggerChannel`). It owns the
//! request fields the JournalNode checks — the epoch, an ipc serial that increases with every
//! writer request, the committed txid — and sends writer requests one at a time, in order.
//!
//! A logger whose `journal` fails is out of sync: further edits to it fail at once (it still
//! heartbeats at most once a second, so the JournalNode learns the committed txid), until the
//! next segment starts on it. Edits queued for a JournalNode are capped
//! (`dfs.qjournal.queued-edits.limit.mb`); past that the JournalNode counts as failed.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::channel::{ChannelResult, JournalChannel, WriterInfo};
use super::error::LoggerError;
use crate::journal::{PrepareRecoveryResponse, SegmentState};

/// How often an out-of-sync logger still heartbeats.
const OUT_OF_SYNC_HEARTBEAT: Duration = Duration::from_secs(1);
/// Hadoop's threshold for logging a slow batch.
const WARN_JOURNAL_MILLIS: u128 = 1000;

#[derive(Debug, Default)]
struct WriterState {
    epoch: u64,
    /// The next ipc serial to send (Hadoop starts each epoch at 0).
    next_serial: u64,
    out_of_sync: bool,
    last_heartbeat: Option<Instant>,
}

pub struct Logger<C: JournalChannel> {
    channel: C,
    /// Held across each writer request: requests go out one at a time, in serial order.
    state: Mutex<WriterState>,
    /// The txid known to be on a majority (0 = none yet); outside the request lock so that
    /// a slow JournalNode never delays the writer's bookkeeping.
    committed_txid: AtomicU64,
    queued_bytes: AtomicUsize,
    queue_limit: usize,
    /// Batches of edits this JournalNode acknowledged (for metrics and benchmarks).
    batches_sent: AtomicU64,
}

impl<C: JournalChannel> Logger<C> {
    pub fn new(channel: C, queue_limit: usize) -> Self {
        Logger {
            channel,
            state: Mutex::new(WriterState::default()),
            committed_txid: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            queue_limit,
            batches_sent: AtomicU64::new(0),
        }
    }

    pub fn channel(&self) -> &C {
        &self.channel
    }

    pub fn address(&self) -> String {
        self.channel.address()
    }

    /// Adopts a new writer epoch: serials restart at 0.
    pub async fn set_epoch(&self, epoch: u64) {
        let mut state = self.state.lock().await;
        state.epoch = epoch;
        state.next_serial = 0;
    }

    /// Records the txid known to be on a majority; sent with the next request.
    pub fn set_committed_txid(&self, txid: u64) {
        self.committed_txid.fetch_max(txid, Ordering::Relaxed);
    }

    pub async fn is_out_of_sync(&self) -> bool {
        self.state.lock().await.out_of_sync
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

    pub async fn start_log_segment(&self, txid: u64, layout_version: i32) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel
            .start_log_segment(info, txid, layout_version)
            .await?;
        if state.out_of_sync {
            tracing::info!(
                "Restarting previously-stopped writes to {} in segment starting at txid {txid}",
                self.address()
            );
            state.out_of_sync = false;
        }
        Ok(())
    }

    /// Sends a batch of edits (or, with `num_txns == 0`, only the committed txid).
    pub async fn journal(
        &self,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> ChannelResult<()> {
        let size = records.len();
        let queued = self.queued_bytes.fetch_add(size, Ordering::Relaxed) + size;
        let result = if queued > self.queue_limit && size > 0 {
            Err(LoggerError::TooFarBehind {
                queued_bytes: queued,
                limit: self.queue_limit,
            })
        } else {
            self.send_edits(segment_txid, first_txid, num_txns, records)
                .await
        };
        self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
        if let Err(err) = &result
            && num_txns > 0
            && !matches!(err, LoggerError::Disabled)
        {
            let mut state = self.state.lock().await;
            if !state.out_of_sync {
                tracing::warn!(
                    "Remote journal {} failed to write txns {first_txid}-{}. Will try to write to this JN again after the next log roll. {err}",
                    self.address(),
                    first_txid + u64::from(num_txns) - 1
                );
                state.out_of_sync = true;
            }
        }
        result
    }

    async fn send_edits(
        &self,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        if state.out_of_sync {
            // Let the JournalNode learn the committed txid, at most once a second.
            if state
                .last_heartbeat
                .is_none_or(|t| t.elapsed() >= OUT_OF_SYNC_HEARTBEAT)
            {
                state.last_heartbeat = Some(Instant::now());
                let info = self.info(&mut state);
                let _ = self.channel.heartbeat(info).await;
            }
            return Err(LoggerError::Disabled);
        }
        let info = self.info(&mut state);
        let bytes = records.len();
        let started = Instant::now();
        let result = self
            .channel
            .journal(info, segment_txid, first_txid, num_txns, records)
            .await;
        let elapsed = started.elapsed().as_millis();
        if result.is_ok() && num_txns > 0 {
            self.batches_sent.fetch_add(1, Ordering::Relaxed);
        }
        if elapsed > WARN_JOURNAL_MILLIS && num_txns > 0 {
            tracing::warn!(
                "Took {elapsed}ms to send a batch of {num_txns} edits ({bytes} bytes) to remote journal {}",
                self.address()
            );
        }
        result
    }

    pub async fn heartbeat(&self) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel.heartbeat(info).await
    }

    pub async fn finalize_log_segment(&self, start: u64, end: u64) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel.finalize_log_segment(info, start, end).await
    }

    pub async fn purge_logs(&self, min_txid: u64) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel.purge_logs(info, min_txid).await
    }

    pub async fn prepare_recovery(
        &self,
        segment_txid: u64,
    ) -> ChannelResult<PrepareRecoveryResponse> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel.prepare_recovery(info, segment_txid).await
    }

    pub async fn accept_recovery(
        &self,
        segment: SegmentState,
        from_url: String,
    ) -> ChannelResult<()> {
        let mut state = self.state.lock().await;
        let info = self.info(&mut state);
        self.channel.accept_recovery(info, segment, from_url).await
    }
}
