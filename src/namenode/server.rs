//! `NameNode`: one NameNode at run time — its HA state, its namespace, the edit-log writer
//! while active, the tailer while standby, checkpoints — and the operations the RPC and HTTP
//! services call.
//!
//! Invariants kept here:
//! - only an active NameNode changes the namespace, and every change is an edit op with a txid,
//!   applied in txid order;
//! - no answer reveals a change before it is durable on a majority of JournalNodes: a
//!   mutation answers once its own edits are durable, a read once every change it could see is;
//! - when a journal write fails (a newer writer fenced this one, or no quorum), the NameNode
//!   stops serving at once, acknowledges nothing more, and exits with Hadoop's FATAL message;
//! - becoming active fences the previous writer (a new epoch), recovers the newest segment and
//!   replays everything before the first new edit.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::conf::{LAYOUT_VERSION, NameNodeConf};
use super::namespace::{FileStatus, Namespace, NamespaceError};
use super::ops::{Attributes, CallId, EditOp, LoggedOp, OpError};
use super::retry_cache::{Begin, CachedAnswer, RetryCache};
use super::storage::{FsImage, NameNodeStorage, NamespaceIdentity};
use crate::conf::HostPort;
use crate::journal::edits::EditRecord;
use crate::journal::{NamespaceInfo, StorageError};
use crate::qjm::{EditLogWriter, IpcChannel, QjmError, QuorumJournalManager};

/// Hadoop's message when the NameNode must stop at once.
const SHUTDOWN_NOW: &str = "Error encountered requiring NN shutdown. Shutting down immediately.";

/// Most edits read per tailing round.
const TAIL_BATCH: usize = 5000;

/// A NameNode's HA state (`HAServiceState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaState {
    Initializing,
    Standby,
    Active,
    Stopping,
}

impl HaState {
    /// Hadoop's lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            HaState::Initializing => "initializing",
            HaState::Standby => "standby",
            HaState::Active => "active",
            HaState::Stopping => "stopping",
        }
    }
}

/// Who asked for an HA transition (`HARequestSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSource {
    User,
    UserForced,
    Zkfc,
}

/// The operation categories a standby refuses (`OperationCategory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Read,
    Write,
    /// The edit log's own calls (`rollEditLog`).
    Journal,
}

/// Why a NameNode refused a request; `class` is the Hadoop exception a client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NnError {
    pub class: String,
    pub message: String,
}

impl NnError {
    pub fn new(class: &str, message: impl Into<String>) -> Self {
        NnError {
            class: class.to_string(),
            message: message.into(),
        }
    }

    fn standby(category: Category, state: HaState) -> Self {
        let category = match category {
            Category::Read => "READ",
            Category::Write => "WRITE",
            Category::Journal => "JOURNAL",
        };
        NnError::new(
            "StandbyException",
            format!(
                "Operation category {category} is not supported in state {}. Visit https://s.apache.org/sbnn-error",
                state.name()
            ),
        )
    }
}

impl From<NamespaceError> for NnError {
    fn from(e: NamespaceError) -> Self {
        NnError::new(e.class, e.message)
    }
}

/// Why a NameNode cannot start, take or leave the writer role, roll, replay edits or
/// checkpoint. Each ends the NameNode (or, for a checkpoint, is logged): the texts are what an
/// operator reads after Hadoop's FATAL prefix, and what `namenode` exits with.
#[derive(Debug, thiserror::Error)]
pub enum NameNodeError {
    /// The name directories could not be read or written.
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("NameNode is not formatted.")]
    NotFormatted,
    /// `dirs` as the storage lists them, comma separated.
    #[error("No valid fsimage found in {dirs}")]
    NoValidImage { dirs: String },
    /// The newest fsimage is not a namespace.
    #[error(transparent)]
    Image(#[from] NamespaceError),
    /// The shared edits refused or no quorum answered.
    #[error(transparent)]
    Journal(#[from] QjmError),
    /// Replayed edits skip a txid.
    #[error(
        "There appears to be a gap in the edit log.  We expected txid {expected}, but got txid {got}."
    )]
    Gap { expected: u64, got: u64 },
    #[error("Error replaying edit log at txid {txid}: {source}")]
    UndecodableEdit { txid: u64, source: OpError },
    /// Hadoop's `openForWrite` safety check: a new writer never starts a segment over
    /// txids that can be read.
    #[error(
        "Cannot start writing at txid {next} when there is a stream available for read: the recovered segment ends at txid {recovered}"
    )]
    StreamAvailable { next: u64, recovered: u64 },
    #[error("Error replaying edit log at txid {txid}: {source}")]
    Replay { txid: u64, source: NamespaceError },
    /// The blocking task that saves a checkpoint panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    /// `node::run`: the address does not resolve.
    #[error("Problem binding to [{address}] {source}")]
    Resolve {
        address: HostPort,
        source: std::io::Error,
    },
    /// `node::run`: the port is taken (Java's exception name is part of Hadoop's text).
    #[error("Problem binding to [{address}] java.net.BindException: {source}")]
    Bind {
        address: HostPort,
        source: std::io::Error,
    },
    /// `node::run`: a bound listener has no local address.
    #[error(transparent)]
    Listener(std::io::Error),
    /// The NameNode stopped itself; the message was logged when it did.
    #[error("{0}")]
    Fatal(String),
}

/// The writer of the active NameNode.
struct ActiveWriter {
    qjm: Arc<QuorumJournalManager<IpcChannel>>,
    writer: Arc<EditLogWriter<IpcChannel>>,
}

struct Inner {
    state: HaState,
    /// The active is closing one segment and opening the next: mutations wait.
    rolling: bool,
    namespace: Namespace,
    /// The last txid applied to `namespace`.
    last_applied: u64,
    retry_cache: RetryCache,
    active: Option<ActiveWriter>,
    /// The txid of the newest fsimage this NameNode saved or received.
    last_checkpoint_txid: u64,
    /// The txids of the fsimages kept (`dfs.namenode.num.checkpoints.retained`), oldest first.
    retained_images: std::collections::VecDeque<u64>,
    last_checkpoint_at: Instant,
    last_transition: SystemTime,
}

impl Inner {
    fn record_image(&mut self, txid: u64, retain: usize) {
        if !self.retained_images.contains(&txid) {
            self.retained_images.push_back(txid);
        }
        while self.retained_images.len() > retain.max(1) {
            self.retained_images.pop_front();
        }
    }
}

/// One JournalNode in `NameJournalStatus`: its address, Hadoop's report text, its lag in txns.
pub type JournalNodeReport = (String, String, u64);

/// What the critical section of a mutation decided.
enum Step {
    /// Answer now, once everything up to the txid is durable.
    Answer(Result<CachedAnswer, NnError>, u64),
    /// The NameNode cannot go on.
    Fatal(String),
    /// A segment roll is under way: try again when it ends.
    Rolling,
    /// The ops are on their way: answer when `durable` completes.
    Submitted {
        reply: CachedAnswer,
        durable: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), QjmError>> + Send>>,
        last: u64,
    },
}

/// The standby's tailer, while it runs.
struct Tailer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub struct NameNode {
    conf: NameNodeConf,
    identity: NamespaceIdentity,
    inner: Mutex<Inner>,
    storage: Mutex<NameNodeStorage>,
    /// The highest txid known durable (active) — what reads wait for.
    durable: watch::Sender<u64>,
    /// Serializes HA transitions and segment rolls.
    transitions: tokio::sync::Mutex<Option<Tailer>>,
    /// Woken when a segment roll ends.
    rolled: tokio::sync::Notify,
    /// The active's local copy of its edits.
    local_edits: super::local_edits::LocalEdits,
    /// Cancelled when the NameNode must stop (a fatal error or shutdown).
    fatal: CancellationToken,
    fatal_message: Mutex<Option<String>>,
}

impl NameNode {
    /// Loads the newest fsimage from `storage`; the NameNode starts in standby.
    pub fn load(
        conf: NameNodeConf,
        storage: NameNodeStorage,
    ) -> Result<Arc<NameNode>, NameNodeError> {
        let identity = storage.identity()?.ok_or(NameNodeError::NotFormatted)?;
        let txid = storage
            .latest_image_txid()?
            .ok_or_else(|| NameNodeError::NoValidImage {
                dirs: storage
                    .dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let image = storage.load_image(txid)?;
        let mut namespace = Namespace::from_entries(&image.entries, image.ids)?;
        namespace.set_limits(conf.limits);
        tracing::info!(
            "Loaded image for txid {txid} from {}",
            storage.dirs()[0].display()
        );
        let expiry = conf.retry_cache_expiry;
        let local_edits = super::local_edits::LocalEdits::start(&conf.edits_dirs, LAYOUT_VERSION);
        let (durable, _) = watch::channel(txid);
        Ok(Arc::new(NameNode {
            conf,
            identity,
            inner: Mutex::new(Inner {
                state: HaState::Standby,
                rolling: false,
                namespace,
                last_applied: txid,
                retry_cache: RetryCache::new(expiry),
                active: None,
                last_checkpoint_txid: txid,
                retained_images: std::collections::VecDeque::from([txid]),
                last_checkpoint_at: Instant::now(),
                last_transition: SystemTime::now(),
            }),
            storage: Mutex::new(storage),
            durable,
            transitions: tokio::sync::Mutex::new(None),
            rolled: tokio::sync::Notify::new(),
            local_edits,
            fatal: CancellationToken::new(),
            fatal_message: Mutex::new(None),
        }))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn conf(&self) -> &NameNodeConf {
        &self.conf
    }

    pub fn identity(&self) -> &NamespaceIdentity {
        &self.identity
    }

    pub fn state(&self) -> HaState {
        self.inner().state
    }

    pub fn last_applied_txid(&self) -> u64 {
        self.inner().last_applied
    }

    /// The last txid written (active) or applied (standby), and the newest checkpoint's.
    pub fn transaction_ids(&self) -> (u64, u64) {
        let inner = self.inner();
        (inner.last_applied, inner.last_checkpoint_txid)
    }

    pub fn last_transition(&self) -> SystemTime {
        self.inner().last_transition
    }

    /// The token cancelled when the NameNode must stop, and why.
    pub fn fatal_token(&self) -> CancellationToken {
        self.fatal.clone()
    }

    pub fn fatal_message(&self) -> Option<String> {
        self.fatal_message
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops serving at once: nothing is acknowledged after this.
    fn die(&self, message: String) {
        tracing::error!("{message}");
        self.inner().state = HaState::Stopping;
        self.fatal_message
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(message);
        self.fatal.cancel();
    }

    fn namespace_info(&self) -> NamespaceInfo {
        NamespaceInfo {
            namespace_id: self.identity.namespace_id,
            cluster_id: self.identity.cluster_id.clone(),
            block_pool_id: self.identity.block_pool_id.clone(),
            layout_version: self.identity.layout_version,
            ctime: self.identity.ctime,
        }
    }

    fn qjm(&self) -> Result<QuorumJournalManager<IpcChannel>, QjmError> {
        QuorumJournalManager::connect(
            self.conf.qjm.clone(),
            &self.conf.shared_edits,
            Some(self.namespace_info()),
            Some(self.conf.nameservice_id.clone()),
        )
    }

    /// Refuses `category` unless this NameNode is active (`checkOperation`).
    pub fn check(&self, category: Category) -> Result<(), NnError> {
        let state = self.inner().state;
        if state != HaState::Active {
            return Err(NnError::standby(category, state));
        }
        Ok(())
    }

    /// Waits until every change up to `txid` is durable, or the NameNode dies.
    async fn wait_durable(&self, txid: u64) -> Result<(), NnError> {
        let mut durable = self.durable.subscribe();
        tokio::select! {
            r = durable.wait_for(|d| *d >= txid) => r.map(|_| ()).map_err(|_| stopped()),
            _ = self.fatal.cancelled() => Err(stopped()),
        }
    }

    /// Reads the namespace (active only), answering once every change `read` could see is
    /// durable.
    pub async fn read<T>(
        &self,
        read: impl FnOnce(&Namespace) -> Result<T, NamespaceError>,
    ) -> Result<T, NnError> {
        self.check(Category::Read)?;
        let (result, observed) = {
            let inner = self.inner();
            if inner.state != HaState::Active {
                return Err(NnError::standby(Category::Read, inner.state));
            }
            (read(&inner.namespace), inner.last_applied)
        };
        self.wait_durable(observed).await?;
        Ok(result?)
    }

    /// Changes the namespace (active only): `plan` turns the request into edit ops against the
    /// current tree, they are applied and logged in one step, and `answer` is what the caller
    /// gets once they are durable. A call seen before (same client id and call id) gets the
    /// answer it got then.
    pub async fn mutate(
        self: &Arc<Self>,
        call: Option<CallId>,
        plan: impl Fn(&Namespace) -> Result<Vec<EditOp>, NamespaceError>,
        answer: impl Fn(&Namespace, &[EditOp]) -> CachedAnswer,
    ) -> Result<CachedAnswer, NnError> {
        self.check(Category::Write)?;
        if let Some(id) = &call {
            loop {
                let step = {
                    let mut inner = self.inner();
                    let observed = inner.last_applied;
                    match inner.retry_cache.begin(id, Instant::now()) {
                        Begin::Run => None,
                        Begin::Answered(answer) => Some(Ok((answer, observed))),
                        Begin::Wait(notify) => Some(Err(notify)),
                    }
                };
                match step {
                    None => break,
                    Some(Ok((answer, observed))) => {
                        self.wait_durable(observed).await?;
                        return Ok(answer);
                    }
                    Some(Err(notify)) => {
                        let _ = tokio::time::timeout(Duration::from_millis(100), notify.notified())
                            .await;
                    }
                }
            }
        }
        let step = loop {
            let rolled = self.rolled.notified();
            match self.apply_and_submit(&call, &plan, &answer) {
                Step::Rolling => {
                    let _ = tokio::time::timeout(Duration::from_millis(50), rolled).await;
                }
                step => break step,
            }
        };
        match step {
            Step::Answer(result, observed) => {
                self.wait_durable(observed).await?;
                result
            }
            Step::Fatal(message) => {
                self.die(message);
                Err(stopped())
            }
            Step::Rolling => unreachable!("rolls are waited for above"),
            Step::Submitted {
                reply,
                durable,
                last,
            } => match durable.await {
                Ok(()) => {
                    self.durable.send_if_modified(|d| {
                        let moved = *d < last;
                        *d = (*d).max(last);
                        moved
                    });
                    self.maybe_roll(last);
                    if let Some(id) = &call {
                        self.inner()
                            .retry_cache
                            .complete(id, Some(reply.clone()), Instant::now());
                    }
                    Ok(reply)
                }
                Err(err) => {
                    self.die(self.flush_failed_message(&err));
                    Err(stopped())
                }
            },
        }
    }

    /// The critical section of a mutation: plan, apply and hand the ops to the writer, all
    /// under the namespace lock, so that txid order is apply order.
    fn apply_and_submit(
        &self,
        call: &Option<CallId>,
        plan: &impl Fn(&Namespace) -> Result<Vec<EditOp>, NamespaceError>,
        answer: &impl Fn(&Namespace, &[EditOp]) -> CachedAnswer,
    ) -> Step {
        let mut inner = self.inner();
        let now = Instant::now();
        if inner.state != HaState::Active {
            let err = NnError::standby(Category::Write, inner.state);
            if let Some(id) = call {
                inner.retry_cache.complete(id, None, now);
            }
            return Step::Answer(Err(err), 0);
        }
        if inner.rolling {
            // The writer is being replaced: the caller waits for the roll and comes back.
            return Step::Rolling;
        }
        let observed = inner.last_applied;
        let ops = match plan(&inner.namespace) {
            Ok(ops) => ops,
            Err(err) => {
                if let Some(id) = call {
                    inner.retry_cache.complete(id, None, now);
                }
                return Step::Answer(Err(err.into()), observed);
            }
        };
        for op in &ops {
            if let Err(err) = inner.namespace.apply(op) {
                return Step::Fatal(format!("{SHUTDOWN_NOW} {err}"));
            }
        }
        let reply = answer(&inner.namespace, &ops);
        if ops.is_empty() {
            if let Some(id) = call {
                inner.retry_cache.complete(id, Some(reply.clone()), now);
            }
            return Step::Answer(Ok(reply), observed);
        }
        // The call id goes with the last op that logs one (OP_ADD of a create, not the
        // OP_CLOSE after it); mkdirs logs none, as Hadoop's does not.
        let answering = ops.iter().rposition(EditOp::logs_call);
        let payloads: Vec<Vec<u8>> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                LoggedOp {
                    op: op.clone(),
                    call: call.clone().filter(|_| Some(i) == answering),
                }
                .encode()
            })
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let Some(writer) = inner.active.as_ref().map(|a| a.writer.clone()) else {
            return Step::Fatal(format!("{SHUTDOWN_NOW} No edit log writer while active"));
        };
        match writer.submit(&refs) {
            Ok((first, durable)) => {
                let last = first + ops.len() as u64 - 1;
                inner.last_applied = last;
                Step::Submitted {
                    reply,
                    durable: Box::pin(durable),
                    last,
                }
            }
            Err(err) => {
                drop(inner);
                Step::Fatal(self.flush_failed_message(&err))
            }
        }
    }

    fn flush_failed_message(&self, err: &QjmError) -> String {
        let segment = self
            .inner()
            .active
            .as_ref()
            .map(|a| a.writer.segment_start())
            .unwrap_or_default();
        format!(
            "Error: flush failed for required journal (JournalAndStream(mgr={}, stream=QuorumOutputStream starting at txid {segment})): {err}",
            self.conf.shared_edits.qjm_name()
        )
    }

    /// The HA-state change gates of `NameNode.checkHaStateChange`.
    fn check_source(&self, source: RequestSource, caller: &str) -> Result<(), NnError> {
        match source {
            RequestSource::User if self.conf.automatic_failover => Err(NnError::new(
                "AccessControlException",
                "Manual HA control for this NameNode is disallowed, because automatic HA is enabled.",
            )),
            RequestSource::Zkfc if !self.conf.automatic_failover => Err(NnError::new(
                "AccessControlException",
                format!(
                    "Request from ZK failover controller at {caller} denied since automatic HA is not enabled"
                ),
            )),
            RequestSource::UserForced if self.conf.automatic_failover => {
                tracing::warn!(
                    "Allowing manual HA control from {caller} even though automatic HA is enabled, because the user specified the force flag"
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `getServiceStatus`: the state, and whether this NameNode could become active now.
    pub fn service_status(&self) -> (HaState, bool, Option<String>) {
        let state = self.state();
        match state {
            HaState::Standby | HaState::Active => (state, true, None),
            other => (other, false, Some(format!("State is {}", other.name()))),
        }
    }

    /// `monitorHealth`: healthy unless stopping, or a storage directory is out of space.
    pub fn monitor_health(&self) -> Result<(), NnError> {
        if self.state() == HaState::Stopping || self.fatal.is_cancelled() {
            return Err(NnError::new(
                "HealthCheckFailedException",
                "The NameNode is stopping",
            ));
        }
        Ok(())
    }

    /// Starts standby duties (tailing, checkpoints). Called once at startup.
    pub async fn start_standby(self: &Arc<Self>) {
        let mut tailer = self.transitions.lock().await;
        if tailer.is_none() {
            *tailer = Some(self.spawn_tailer());
        }
    }

    /// `transitionToActive`.
    pub async fn transition_to_active(
        self: &Arc<Self>,
        source: RequestSource,
        caller: &str,
    ) -> Result<(), NnError> {
        self.check_source(source, caller)?;
        let mut tailer = self.transitions.lock().await;
        match self.state() {
            HaState::Active => return Ok(()),
            HaState::Stopping => return Err(stopped()),
            _ => {}
        }
        tracing::info!("Stopping services started for standby state");
        if let Some(t) = tailer.take() {
            t.stop.cancel();
            let _ = t.task.await;
        }
        tracing::info!("Starting services required for active state");
        self.become_active()
            .await
            .map_err(|cause| self.immediate_shutdown(cause))
    }

    /// Hadoop's `doImmediateShutdown`: a failure while starting or stopping HA services
    /// leaves no half-active NameNode running.
    fn immediate_shutdown(&self, cause: NameNodeError) -> NnError {
        self.die(format!("{SHUTDOWN_NOW} {cause}"));
        NnError::new("ServiceFailedException", cause.to_string())
    }

    async fn become_active(&self) -> Result<(), NameNodeError> {
        let qjm = Arc::new(self.qjm()?);
        let recovered = qjm.recover_unfinalized_segments().await?;
        tracing::info!(
            "Catching up to latest edits from old active before taking over writer role in edits logs (recovered segment ends at {recovered:?})"
        );
        // From the segments, not the JournalNodes' caches: a Hadoop JournalNode that the
        // recovery synchronized holds the recovered txns on disk but answers an RPC read
        // beyond what it cached with nothing, which would end the catch-up early.
        loop {
            let from = self.last_applied_txid() + 1;
            let records = qjm.read_segments(from, TAIL_BATCH).await?;
            if records.is_empty() {
                break;
            }
            self.apply_records(&records)?;
        }
        let next = self.last_applied_txid() + 1;
        if let Some(recovered) = recovered
            && next <= recovered
        {
            return Err(NameNodeError::StreamAvailable { next, recovered });
        }
        tracing::info!("Will take over writing edit logs at txnid {next}");
        let writer = self.open_segment(&qjm, next).await?;
        {
            let mut inner = self.inner();
            inner.last_applied = next;
            inner.active = Some(ActiveWriter { qjm, writer });
            inner.state = HaState::Active;
            inner.last_transition = SystemTime::now();
        }
        self.durable.send_replace(next);
        tracing::info!("NameNode is now active; writing edits from txid {next}");
        Ok(())
    }

    /// `transitionToStandby`.
    pub async fn transition_to_standby(
        self: &Arc<Self>,
        source: RequestSource,
        caller: &str,
    ) -> Result<(), NnError> {
        self.check_source(source, caller)?;
        let mut tailer = self.transitions.lock().await;
        match self.state() {
            HaState::Standby => return Ok(()),
            HaState::Stopping => return Err(stopped()),
            _ => {}
        }
        tracing::info!("Stopping services started for active state");
        let active = {
            let mut inner = self.inner();
            inner.state = HaState::Standby;
            inner.last_transition = SystemTime::now();
            inner.active.take()
        };
        if let Some(active) = active
            && let Err(cause) = self.close_segment(&active).await
        {
            return Err(self.immediate_shutdown(cause));
        }
        tracing::info!("Starting services required for standby state");
        *tailer = Some(self.spawn_tailer());
        Ok(())
    }

    /// Ends the active segment cleanly: its last edit marks the end, then it is finalized.
    /// Returns the segment's last txid.
    async fn close_segment(&self, active: &ActiveWriter) -> Result<u64, NameNodeError> {
        let end = LoggedOp {
            op: EditOp::EndLogSegment,
            call: None,
        }
        .encode();
        let end_txid = active.writer.write(&[end.as_slice()]).await?;
        active.writer.flush().await?;
        let start = active.writer.segment_start();
        active.qjm.finalize_log_segment(start, end_txid).await?;
        self.local_edits.finalize(start, end_txid);
        self.inner().last_applied = end_txid;
        Ok(end_txid)
    }

    /// Opens the segment starting at `start`; its first edit marks the start.
    async fn open_segment(
        &self,
        qjm: &Arc<QuorumJournalManager<IpcChannel>>,
        start: u64,
    ) -> Result<Arc<EditLogWriter<IpcChannel>>, NameNodeError> {
        let writer = Arc::new(qjm.start_log_segment(start, LAYOUT_VERSION).await?);
        writer.mirror_to(self.local_edits.mirror());
        let op = LoggedOp {
            op: EditOp::StartLogSegment,
            call: None,
        }
        .encode();
        writer.write(&[op.as_slice()]).await?;
        Ok(writer)
    }

    /// Starts a segment roll when the active segment has grown past
    /// `dfs.namenode.edit.log.autoroll.multiplier.threshold` × checkpoint txns.
    fn maybe_roll(self: &Arc<Self>, last: u64) {
        let due = {
            let inner = self.inner();
            inner.state == HaState::Active
                && !inner.rolling
                && inner
                    .active
                    .as_ref()
                    .is_some_and(|a| last + 1 - a.writer.segment_start() >= self.conf.autoroll_txns)
        };
        if due {
            let nn = self.clone();
            tokio::spawn(async move { nn.roll_edit_log().await });
        }
    }

    /// `rollEditLog`: finalizes the active segment and opens the next one. Mutations wait
    /// meanwhile; a failure stops the NameNode (the log cannot be left half rolled).
    pub async fn roll_edit_log(self: &Arc<Self>) {
        let _transitions = self.transitions.lock().await;
        let active = {
            let mut inner = self.inner();
            if inner.state != HaState::Active || inner.rolling {
                return;
            }
            let Some(active) = inner.active.take() else {
                return;
            };
            inner.rolling = true;
            active
        };
        let rolled = async {
            let end = self.close_segment(&active).await?;
            tracing::info!(
                "Rolling edit logs: finalized segment {}-{end}",
                active.writer.segment_start()
            );
            let writer = self.open_segment(&active.qjm, end + 1).await?;
            Ok::<_, NameNodeError>((end + 1, writer))
        };
        match rolled.await {
            Ok((start, writer)) => {
                {
                    let mut inner = self.inner();
                    inner.last_applied = start;
                    inner.active = Some(ActiveWriter {
                        qjm: active.qjm,
                        writer,
                    });
                    inner.rolling = false;
                }
                self.durable.send_replace(start);
                tracing::info!("Starting log segment at {start}");
            }
            Err(cause) => {
                self.immediate_shutdown(cause);
            }
        }
        self.rolled.notify_waiters();
    }

    /// Applies tailed or caught-up edits in order.
    fn apply_records(&self, records: &[EditRecord]) -> Result<(), NameNodeError> {
        let mut inner = self.inner();
        for record in records {
            if record.txid <= inner.last_applied {
                continue;
            }
            if record.txid != inner.last_applied + 1 {
                return Err(NameNodeError::Gap {
                    expected: inner.last_applied + 1,
                    got: record.txid,
                });
            }
            let txid = record.txid;
            let logged = LoggedOp::decode(&record.payload)
                .map_err(|source| NameNodeError::UndecodableEdit { txid, source })?;
            inner
                .namespace
                .apply(&logged.op)
                .map_err(|source| NameNodeError::Replay { txid, source })?;
            if let Some(call) = logged.call {
                let answer = match &logged.op {
                    EditOp::Add { .. } | EditOp::Append { .. } => CachedAnswer::File(None),
                    _ => CachedAnswer::Bool(true),
                };
                inner.retry_cache.record(call, answer, Instant::now());
            }
            inner.last_applied = record.txid;
        }
        Ok(())
    }

    fn spawn_tailer(self: &Arc<Self>) -> Tailer {
        let stop = CancellationToken::new();
        let nn = self.clone();
        let token = stop.clone();
        let task = tokio::spawn(async move { nn.tail(token).await });
        Tailer { stop, task }
    }

    /// The standby's loop: tail durable edits, checkpoint now and then.
    async fn tail(self: Arc<Self>, stop: CancellationToken) {
        let reader = match QuorumJournalManager::connect(
            self.conf.qjm.clone(),
            &self.conf.shared_edits,
            None,
            Some(self.conf.nameservice_id.clone()),
        ) {
            Ok(r) => r,
            Err(err) => {
                self.die(format!(
                    "Unknown error encountered while tailing edits. Shutting down standby NN. {err}"
                ));
                return;
            }
        };
        let mut idle_rounds: u32 = 0;
        loop {
            if stop.is_cancelled() {
                return;
            }
            let from = self.last_applied_txid() + 1;
            let tailed = tokio::select! {
                r = reader.read_edits(from, TAIL_BATCH, true) => r,
                _ = stop.cancelled() => return,
            };
            let count = match tailed {
                Ok(records) => match self.apply_records(&records) {
                    Ok(()) => records.len(),
                    Err(message) => {
                        self.die(format!("Unknown error encountered while tailing edits. Shutting down standby NN. {message}"));
                        return;
                    }
                },
                Err(err) => {
                    tracing::warn!("Edit log tailer failed to read edits from txid {from}: {err}");
                    0
                }
            };
            self.maybe_checkpoint().await;
            let sleep = if count > 0 {
                idle_rounds = 0;
                Duration::ZERO
            } else {
                idle_rounds = idle_rounds.saturating_add(1);
                self.tail_sleep(idle_rounds)
            };
            if !sleep.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    }

    /// The pause after `idle_rounds` rounds without new edits: the tail period, growing
    /// towards `dfs.ha.tail-edits.period.backoff-max` when that is set.
    fn tail_sleep(&self, idle_rounds: u32) -> Duration {
        let period = self.conf.tail_period;
        if self.conf.tail_backoff_max.is_zero() {
            return period;
        }
        let base = period.max(Duration::from_millis(1));
        base.saturating_mul(1u32 << idle_rounds.min(16))
            .min(self.conf.tail_backoff_max)
    }

    /// Saves an fsimage when enough edits or time have passed, and sends it to the active.
    async fn maybe_checkpoint(self: &Arc<Self>) {
        if !self.conf.standby_checkpoints {
            return;
        }
        let (due, txid) = {
            let inner = self.inner();
            let since = inner
                .last_applied
                .saturating_sub(inner.last_checkpoint_txid);
            let due = since > 0
                && (since >= self.conf.checkpoint_txns
                    || inner.last_checkpoint_at.elapsed() >= self.conf.checkpoint_period);
            (due, inner.last_applied)
        };
        if !due {
            return;
        }
        if let Err(err) = self.checkpoint().await {
            tracing::warn!("Exception in doCheckpoint: {err}");
            self.inner().last_checkpoint_at = Instant::now();
            return;
        }
        tracing::info!("Checkpoint done: fsimage_{txid:019}");
    }

    /// Saves the namespace as an fsimage and uploads it to the active NameNode.
    pub async fn checkpoint(self: &Arc<Self>) -> Result<u64, NameNodeError> {
        let image = {
            let inner = self.inner();
            FsImage {
                txid: inner.last_applied,
                namespace_id: self.identity.namespace_id,
                layout_version: self.identity.layout_version,
                ids: inner.namespace.ids(),
                entries: inner.namespace.entries(),
            }
        };
        let txid = image.txid;
        let nn = self.clone();
        let retain = self.conf.checkpoints_retained;
        let bytes = tokio::task::spawn_blocking(move || {
            let mut storage = nn.storage.lock().unwrap_or_else(|p| p.into_inner());
            let bytes = storage.save_image(&image, retain)?;
            storage.write_seen_txid(image.txid)?;
            Ok::<_, StorageError>(bytes)
        })
        .await??;
        {
            let mut inner = self.inner();
            inner.last_checkpoint_txid = txid;
            inner.last_checkpoint_at = Instant::now();
            inner.record_image(txid, retain);
        }
        super::rpc::upload_image_to_active(&self.conf, &self.identity, txid, bytes).await;
        Ok(txid)
    }

    /// Keeps a checkpoint uploaded by the standby; the active then purges edits no image
    /// needs any more.
    pub async fn accept_image(self: &Arc<Self>, txid: u64, bytes: Vec<u8>) -> Result<(), NnError> {
        let nn = self.clone();
        let retain = self.conf.checkpoints_retained;
        tokio::task::spawn_blocking(move || {
            let mut storage = nn.storage.lock().unwrap_or_else(|p| p.into_inner());
            storage.save_image_bytes(txid, &bytes, retain)
        })
        .await
        .map_err(|e| NnError::new("IOException", e.to_string()))?
        .map_err(|e| NnError::new("IOException", e.to_string()))?;
        let (oldest_image, segment_start, qjm) = {
            let mut inner = self.inner();
            inner.last_checkpoint_txid = inner.last_checkpoint_txid.max(txid);
            inner.record_image(txid, self.conf.checkpoints_retained);
            (
                inner.retained_images.front().copied().unwrap_or(txid),
                inner.active.as_ref().map(|a| a.writer.segment_start()),
                inner.active.as_ref().map(|a| a.qjm.clone()),
            )
        };
        // Hadoop's NNStorageRetentionManager: edits after the oldest retained image are
        // needed, and `dfs.namenode.num.extra.edits.retained` more before it; never the
        // segment being written.
        let keep_from = (oldest_image + 1)
            .saturating_sub(self.conf.extra_edits_retained)
            .min(segment_start.unwrap_or(u64::MAX));
        if let Some(qjm) = qjm
            && keep_from > 1
        {
            qjm.purge_logs_older_than(keep_from);
            self.local_edits.purge(keep_from);
        }
        tracing::info!("Accepted checkpoint fsimage_{txid:019} from the standby");
        Ok(())
    }

    /// The stored bytes of `fsimage_<txid>`, or of the newest fsimage when `txid` is `None`.
    pub fn image_bytes(&self, txid: Option<u64>) -> Result<(u64, Vec<u8>), NnError> {
        let storage = self.storage.lock().unwrap_or_else(|p| p.into_inner());
        let io = |e: crate::journal::StorageError| NnError::new("IOException", e.to_string());
        let txid = match txid {
            Some(txid) => txid,
            None => storage
                .latest_image_txid()
                .map_err(io)?
                .ok_or_else(|| NnError::new("IOException", "no fsimage"))?,
        };
        Ok((txid, storage.image_bytes(txid).map_err(io)?))
    }

    /// Hadoop's `NameJournalStatus` for the shared edits: the segment being written and each
    /// JournalNode's progress (active only).
    pub fn journal_report(&self) -> Option<(u64, Vec<JournalNodeReport>)> {
        let inner = self.inner();
        let active = inner.active.as_ref()?;
        let loggers = active
            .qjm
            .loggers()
            .iter()
            .map(|l| (l.address(), l.report(), l.lag_txns()))
            .collect();
        Some((active.writer.segment_start(), loggers))
    }

    /// Stops cleanly: an active NameNode ends and finalizes its segment first.
    pub async fn stop(self: &Arc<Self>) {
        let mut tailer = self.transitions.lock().await;
        if let Some(t) = tailer.take() {
            t.stop.cancel();
            let _ = t.task.await;
        }
        let active = {
            let mut inner = self.inner();
            inner.state = HaState::Stopping;
            inner.active.take()
        };
        if let Some(active) = active
            && let Err(err) = self.close_segment(&active).await
        {
            tracing::warn!("Could not close the edit log segment cleanly: {err}");
        }
    }

    /// For `/jmx` and status pages.
    pub fn snapshot(&self) -> (HaState, u64, u64, u64) {
        let inner = self.inner();
        (
            inner.state,
            inner.last_applied,
            *self.durable.borrow(),
            inner.last_checkpoint_txid,
        )
    }

    /// The file a create or append answered, looked up after the op.
    pub fn file_after(ns: &Namespace, ops: &[EditOp]) -> CachedAnswer {
        let path = ops.iter().rev().find_map(|op| match op {
            EditOp::Add { path, .. } | EditOp::Append { path, .. } => Some(path.as_str()),
            _ => None,
        });
        CachedAnswer::File(path.and_then(|p| ns.get_file_info(p).ok().flatten()))
    }

    /// The attributes a new inode gets from `user`.
    pub fn attributes(&self, user: &str, permission: u16) -> Attributes {
        Attributes {
            permission,
            owner: user.to_string(),
            group: self.conf.supergroup.clone(),
            mtime: now_millis(),
        }
    }

    /// A file's status for a cached answer that carried none.
    pub async fn status_of(&self, path: &str) -> Result<Option<FileStatus>, NnError> {
        self.read(|ns| ns.get_file_info(path)).await
    }
}

fn stopped() -> NnError {
    NnError::new("IOException", "The NameNode is stopping")
}

/// Milliseconds since the epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namenode_errors_keep_their_texts() {
        let address = HostPort {
            host: "nn1".into(),
            port: 8020,
        };
        let in_use = || std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let cases = [
            (NameNodeError::NotFormatted, "NameNode is not formatted."),
            (
                NameNodeError::NoValidImage {
                    dirs: "/a, /b".into(),
                },
                "No valid fsimage found in /a, /b",
            ),
            (
                NameNodeError::Gap {
                    expected: 11,
                    got: 14,
                },
                "There appears to be a gap in the edit log.  We expected txid 11, but got txid 14.",
            ),
            (
                NameNodeError::UndecodableEdit {
                    txid: 7,
                    source: OpError::Empty,
                },
                "Error replaying edit log at txid 7: empty edit op",
            ),
            (
                NameNodeError::Bind {
                    address: address.clone(),
                    source: in_use(),
                },
                &format!(
                    "Problem binding to [nn1:8020] java.net.BindException: {}",
                    in_use()
                ),
            ),
            (
                NameNodeError::Resolve {
                    address,
                    source: in_use(),
                },
                &format!("Problem binding to [nn1:8020] {}", in_use()),
            ),
            (
                NameNodeError::Journal(QjmError::Timeout { millis: 20 }),
                "Timed out waiting 20ms for a quorum of nodes to respond.",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text, "{err:?}");
        }
    }
}
