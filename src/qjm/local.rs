//! `LocalChannel`: a journal in this process behind the `JournalChannel` interface, with
//! injectable faults — for tests that run many writers against simulated JournalNodes
//! (Hadoop's `TestQJMWithFaults`). A fault makes a request fail before the journal sees it
//! (the JournalNode never received it) or after (the reply was lost).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::channel::{ChannelResult, JournalChannel, WriterInfo};
use super::error::LoggerError;
use crate::journal::{
    EditLogManifest, Journal, JournalError, MemStorage, NamespaceInfo, PrepareRecoveryResponse,
    RequestInfo, SegmentSink, SegmentState,
};

pub type SharedMemJournal = Arc<Mutex<Journal<MemStorage>>>;

/// The in-process JournalNodes, by url, so that acceptRecovery can fetch from a peer.
#[derive(Clone, Default)]
pub struct LocalCluster {
    nodes: Arc<Mutex<HashMap<String, SharedMemJournal>>>,
}

impl LocalCluster {
    pub fn add(&self, url: &str, journal: SharedMemJournal) {
        self.nodes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_string(), journal);
    }

    fn get(&self, url: &str) -> Option<SharedMemJournal> {
        self.nodes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
    }
}

/// Where an injected fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// The request never reaches the journal.
    BeforeCall,
    /// The journal handles the request; its reply is lost.
    AfterCall,
}

/// Decides, per request, whether to inject a fault. Called with the request's name and the
/// channel's request count (1-based).
pub type FaultPlan = Arc<dyn Fn(&str, u64) -> Option<FaultPoint> + Send + Sync>;

pub struct LocalChannel {
    name: String,
    journal: SharedMemJournal,
    cluster: LocalCluster,
    calls: AtomicU64,
    plan: Mutex<Option<FaultPlan>>,
    hadoop_cache: AtomicBool,
}

impl LocalChannel {
    /// A channel to `journal`, registered in `cluster` under `name`.
    pub fn new(name: &str, journal: SharedMemJournal, cluster: &LocalCluster) -> LocalChannel {
        cluster.add(&Self::url_of(name), journal.clone());
        LocalChannel {
            name: name.to_string(),
            journal,
            cluster: cluster.clone(),
            calls: AtomicU64::new(0),
            plan: Mutex::new(None),
            hadoop_cache: AtomicBool::new(false),
        }
    }

    fn url(&self) -> String {
        Self::url_of(&self.name)
    }

    fn url_of(name: &str) -> String {
        format!("local://{name}")
    }

    pub fn set_fault_plan(&self, plan: Option<FaultPlan>) {
        *self.plan.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    }

    /// Answers an RPC read past the end of the journal's cache as Hadoop's
    /// `JournaledEditsCache` does — no edits — instead of with a cache miss.
    pub fn answer_like_hadoops_cache(&self, on: bool) {
        self.hadoop_cache.store(on, Ordering::SeqCst);
    }

    /// Requests sent through this channel so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn run<T>(
        &self,
        op: &str,
        f: impl FnOnce(&mut Journal<MemStorage>, &LocalCluster) -> Result<T, JournalError>,
    ) -> ChannelResult<T> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let plan = self.plan.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let fault = plan.and_then(|plan| plan(op, n));
        let injected =
            || LoggerError::Unreachable(format!("Injected fault: {op} #{n} to {}", self.name));
        if fault == Some(FaultPoint::BeforeCall) {
            return Err(injected());
        }
        let result = {
            let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut journal, &self.cluster)
        };
        if fault == Some(FaultPoint::AfterCall) {
            return Err(injected());
        }
        result.map_err(|e| LoggerError::Remote {
            class: e.exception_class().to_string(),
            message: e.to_string(),
        })
    }

    fn req(w: WriterInfo) -> RequestInfo {
        RequestInfo {
            epoch: w.epoch,
            ipc_serial: w.ipc_serial,
            committed_txid: w.committed_txid,
            client: "local".to_string(),
        }
    }
}

impl JournalChannel for LocalChannel {
    fn address(&self) -> String {
        self.name.clone()
    }

    async fn segment_url(&self, _segment_txid: u64) -> ChannelResult<String> {
        Ok(self.url())
    }

    async fn is_formatted(&self) -> ChannelResult<bool> {
        self.run("isFormatted", |j, _| Ok(j.is_formatted()))
    }

    async fn get_journal_state(&self) -> ChannelResult<u64> {
        self.run("getJournalState", |j, _| j.last_promised_epoch())
    }

    async fn format(&self, ns: &NamespaceInfo, force: bool) -> ChannelResult<()> {
        self.run("format", |j, _| j.format(ns, force))
    }

    async fn new_epoch(&self, ns: &NamespaceInfo, epoch: u64) -> ChannelResult<Option<u64>> {
        self.run("newEpoch", |j, _| j.new_epoch(ns, epoch, "local"))
    }

    async fn start_log_segment(
        &self,
        w: WriterInfo,
        txid: u64,
        layout_version: i32,
    ) -> ChannelResult<()> {
        self.run("startLogSegment", |j, _| {
            j.start_log_segment(&Self::req(w), txid, layout_version)
        })
    }

    fn journal(
        &self,
        w: WriterInfo,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> impl std::future::Future<Output = ChannelResult<()>> + Send + 'static {
        // Handled now, so that batches are handled in the order they are sent.
        std::future::ready(self.run("journal", |j, _| {
            j.journal(&Self::req(w), segment_txid, first_txid, num_txns, &records)
        }))
    }

    async fn heartbeat(&self, w: WriterInfo) -> ChannelResult<()> {
        self.run("heartbeat", |j, _| j.heartbeat(&Self::req(w)))
    }

    async fn finalize_log_segment(&self, w: WriterInfo, start: u64, end: u64) -> ChannelResult<()> {
        self.run("finalizeLogSegment", |j, _| {
            j.finalize_log_segment(&Self::req(w), start, end)
        })
    }

    async fn purge_logs(&self, w: WriterInfo, min_txid: u64) -> ChannelResult<()> {
        self.run("purgeLogs", |j, _| {
            j.purge_logs_older_than(&Self::req(w), min_txid)
        })
    }

    async fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> ChannelResult<EditLogManifest> {
        self.run("getEditLogManifest", |j, _| {
            j.get_edit_log_manifest(since_txid, in_progress_ok)
        })
    }

    async fn get_journaled_edits(
        &self,
        since_txid: u64,
        max_txns: u32,
    ) -> ChannelResult<(u32, Vec<u8>)> {
        let hadoop_cache = self.hadoop_cache.load(Ordering::SeqCst);
        self.run("getJournaledEdits", |j, _| {
            match j.get_journaled_edits(since_txid, max_txns as usize) {
                Err(JournalError::CacheMiss {
                    oldest, requested, ..
                }) if hadoop_cache && oldest > 0 && requested > oldest => Ok((0, Vec::new())),
                other => other.map(|(n, bytes)| (n as u32, bytes)),
            }
        })
    }

    async fn prepare_recovery(
        &self,
        w: WriterInfo,
        segment_txid: u64,
    ) -> ChannelResult<PrepareRecoveryResponse> {
        self.run("prepareRecovery", |j, _| {
            j.prepare_recovery(&Self::req(w), segment_txid)
        })
    }

    async fn accept_recovery(
        &self,
        w: WriterInfo,
        state: SegmentState,
        from_url: String,
    ) -> ChannelResult<()> {
        let me = self.url();
        self.run("acceptRecovery", |j, cluster| {
            let mut fetch = |sink: &mut dyn SegmentSink| -> Result<(), JournalError> {
                if from_url == me {
                    // Only reached when this journal's copy differs from its own answer,
                    // which would be a bug in the journal.
                    return Err(JournalError::Download(format!(
                        "{me} asked to fetch from itself"
                    )));
                }
                let source = cluster.get(&from_url).ok_or_else(|| {
                    JournalError::Download(format!("no JournalNode at {from_url}"))
                })?;
                let (layout, bytes) = source
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .read_segment(state.start_txid, 0, usize::MAX)?
                    .ok_or_else(|| {
                        JournalError::Download(format!(
                            "{from_url} has no segment {}",
                            state.start_txid
                        ))
                    })?;
                sink.begin(layout)?;
                sink.write(&bytes)
            };
            j.accept_recovery(&Self::req(w), state, &mut fetch)
        })
    }

    async fn get_segment(&self, start: u64, since_txid: u64) -> ChannelResult<(i32, Vec<u8>)> {
        self.run("getSegment", |j, _| {
            let (layout, bytes) = j.read_segment(start, 0, usize::MAX)?.ok_or_else(|| {
                JournalError::Download(format!("No segment starting at txid {start}"))
            })?;
            let records = crate::journal::edits::split_records(&bytes)
                .map_err(|p| JournalError::BadBatch(p.to_string()))?;
            let mut out = Vec::new();
            for (txid, record) in records {
                if txid >= since_txid {
                    out.extend_from_slice(record);
                }
            }
            Ok((layout, out))
        })
    }
}
