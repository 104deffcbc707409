//! The quorum shell: drives the sans-IO [`ZabPeer`] and the request [`Processor`] (in quorum
//! mode) with real sockets, clocks and disks. `run(conf, quorum, listeners, shutdown)` is the
//! daemon of a `zkserver` whose zoo.cfg lists several servers.
//!
//! Threads and tasks: one core thread owns the processor and the peer; the durability
//! pipeline (`durability`, shared with the standalone server) owns the store: its syncer
//! performs the peer's store ops in order, fsyncs, and reports them persisted, and its
//! snapshot thread writes the fuzzy snapshots the core walks; a leader builds the SNAP for a
//! learner the same way, a chunk per turn (`learner_snaps`), queued on the learner's
//! connection ahead of the txns that follow it; tokio tasks ([`net`]) own the
//! sockets — the client port (shared with the standalone server), one election
//! link per other server, and one quorum-port connection per learner (on a leader) or to the
//! leader (on a learner). Every frame on the election and quorum ports is a 4-byte
//! big-endian length and a jute record ([`wire`]).
//!
//! Invariants: a store op the peer asks for is performed — and the log fsynced — before
//! [`Input::Persisted`] reports it, and nothing the peer holds back for it leaves before
//! that; committed txns are applied through the processor in zxid order, and a client reply
//! leaves only after the txn it answers was applied (so it is committed, i.e. durable on a
//! majority); on the election port only the server with the larger id dials; bytes from the
//! network that do not decode close their connection and never panic the server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client_port::{
    self, CoreMsg, Registry, ServerConf, ServerError, Shared, clock, deliver,
};
use super::durability::{self, PendingOps, Pipeline, PipelineOutlets};
use super::four_letter::{self, EnsembleInfo, QuorumFigures, ServerInfo, Telemetry};
use super::processor::{Input as CoreInput, Now, Processor, QuorumRole};
use super::store::{self, Database, EpochFile, FileStore, StoreError, ZabStore};
use super::txn::TxnRecord;
use super::zab::{self, Action, Input, ServerState, Serving, Sid, StoreOp, ZabConfig, ZabPeer};
use crate::conf::{ConfError, LearnerType, ZooCfg};

mod learner_snaps;
mod net;

use learner_snaps::LearnerSnaps;
use net::Net;

/// Where one server of the ensemble listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddrs {
    /// `host:quorumPort`: learners connect to the leader here.
    pub quorum: String,
    /// `host:electionPort`.
    pub election: String,
}

/// The ensemble, read once from zoo.cfg.
#[derive(Debug, Clone)]
pub struct QuorumConf {
    pub zab: ZabConfig,
    /// Every server of the ensemble, this one included.
    pub servers: BTreeMap<Sid, PeerAddrs>,
    /// The server lines as `conf` prints them.
    pub membership: Vec<String>,
}

impl QuorumConf {
    pub fn from_zoo_cfg(cfg: &ZooCfg) -> Result<QuorumConf, ConfError> {
        let fail = |reason: String| ConfError::ZooCfg {
            path: cfg.path.clone(),
            reason,
        };
        let my_id = cfg
            .myid
            .ok_or_else(|| fail("quorum mode needs myid".into()))?;
        let mut voters = BTreeSet::new();
        let mut observers = BTreeSet::new();
        let mut servers = BTreeMap::new();
        let mut membership = Vec::new();
        for (id, s) in &cfg.servers {
            let mut line = format!(
                "server.{id}={}:{}:{}:{}",
                s.host, s.quorum_port, s.election_port, s.learner_type
            );
            if let Some((host, port)) = &s.client_address {
                line.push_str(&format!(";{host}:{port}"));
            }
            membership.push(line);
            match s.learner_type {
                LearnerType::Participant => voters.insert(*id),
                LearnerType::Observer => observers.insert(*id),
            };
            servers.insert(
                *id,
                PeerAddrs {
                    quorum: format!("{}:{}", s.host, s.quorum_port),
                    election: format!("{}:{}", s.host, s.election_port),
                },
            );
        }
        let tick_ms = u64::from(cfg.tick_time_ms.max(1));
        Ok(QuorumConf {
            zab: ZabConfig {
                my_id,
                voters,
                observers,
                tick_ms,
                init_limit: u64::from(cfg.init_limit),
                sync_limit: u64::from(cfg.sync_limit),
                // FastLeaderElection's finalizeWait, and a cap on its doubling resend interval
                // well below ZooKeeper's 60 s: a lost vote costs at most this much.
                finalize_wait_ms: 200,
                max_notification_interval_ms: 2_000,
                commit_log_count: cfg.commit_log_count()?,
            },
            servers,
            membership,
        })
    }

    fn my_addrs(&self) -> Option<&PeerAddrs> {
        self.servers.get(&self.zab.my_id)
    }
}

/// The sockets a quorum member serves, bound by the caller.
pub struct QuorumListeners {
    pub client: std::net::TcpListener,
    pub metrics: Option<std::net::TcpListener>,
    /// `host:quorumPort` of this server's line.
    pub quorum: std::net::TcpListener,
    /// `host:electionPort` of this server's line.
    pub election: std::net::TcpListener,
}

/// Binds the quorum and election ports of this server's `server.N` line.
pub fn bind_peer_ports(
    quorum: &QuorumConf,
) -> std::io::Result<(std::net::TcpListener, std::net::TcpListener)> {
    let me = quorum.my_addrs().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("server.{} is not in the ensemble", quorum.zab.my_id),
        )
    })?;
    Ok((
        std::net::TcpListener::bind(&me.quorum)?,
        std::net::TcpListener::bind(&me.election)?,
    ))
}

/// This server's (quorum, election) ports, from its server line.
fn my_ports(quorum: &QuorumConf) -> (u16, u16) {
    let port = |addr: &str| {
        addr.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    quorum
        .my_addrs()
        .map_or((0, 0), |a| (port(&a.quorum), port(&a.election)))
}

/// How long an election or learner handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Election notifications are small; ZooKeeper caps them at 512 KiB.
const MAX_ELECTION_FRAME: usize = 512 * 1024;
/// How often the core steps the peer's clock (election timers want finer than tickTime/2).
const ZAB_TICK: Duration = Duration::from_millis(50);

/// Runs a quorum member until `shutdown` completes or the disk fails.
pub async fn run(
    conf: ServerConf,
    quorum: QuorumConf,
    listeners: QuorumListeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let start = Instant::now();
    let my_id = quorum.zab.my_id;
    let zab_conf = quorum.zab.clone();
    let core_conf = conf.core.clone();
    let mut files = FileStore::new(conf.store.clone());
    let (files, booted) = tokio::task::spawn_blocking(move || {
        let booted = boot(&mut files, &zab_conf, &core_conf, start);
        (files, booted)
    })
    .await
    .map_err(|e| ServerError::Log(e.to_string()))?;
    let booted = booted?;

    let client = tokio::net::TcpListener::from_std({
        listeners.client.set_nonblocking(true)?;
        listeners.client
    })?;
    let client_port = client.local_addr()?.port();
    tracing::info!(sid = my_id, "binding to port {}", client.local_addr()?);
    let telemetry = Arc::new(Telemetry::default());
    let registry: Registry = Arc::new(Mutex::new(HashMap::new()));
    let info = ServerInfo {
        observer: quorum.zab.observers.contains(&my_id),
        quorum: Some(QuorumFigures::default()),
        ensemble: {
            let (quorum_port, election_port) = my_ports(&quorum);
            Some(EnsembleInfo {
                init_limit: quorum.zab.init_limit,
                sync_limit: quorum.zab.sync_limit,
                election_port,
                quorum_port,
                membership: quorum.membership.clone(),
            })
        },
        ..client_port::standalone_info(&conf, client_port, start)
    };
    let (core_tx, core_rx) = mpsc::channel::<CoreMsg>(1000);
    let token = CancellationToken::new();
    let fatal = CancellationToken::new();
    let fatal_reason: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));

    let max_frame = conf.core.max_buffer.saturating_mul(64).max(64 << 20);
    let net = Net::start(
        &quorum,
        core_tx.clone(),
        token.clone(),
        max_frame,
        listeners.quorum,
        listeners.election,
    )?;

    let (pipeline, pipeline_threads) = durability::start(
        &conf,
        files,
        booted.processor.last_zxid(),
        PipelineOutlets {
            registry: registry.clone(),
            telemetry: telemetry.clone(),
            max_queued: conf
                .core
                .max_buffer
                .saturating_mul(client_port::MAX_QUEUED_FRAMES),
            fatal: fatal.clone(),
            fatal_reason: fatal_reason.clone(),
            wake: {
                let core_tx = core_tx.clone();
                // A full channel will wake the core anyway, and it reads the mark each turn.
                Box::new(move || {
                    let _ = core_tx.try_send(CoreMsg::Persisted);
                })
            },
        },
    )?;
    let core = {
        let mut core = QuorumCore {
            p: booted.processor,
            peer: booted.peer,
            pipeline,
            learner_snaps: LearnerSnaps::default(),
            pending: PendingOps::new(),
            reported_seq: 0,
            zab: quorum.zab.clone(),
            net: net.clone(),
            registry: registry.clone(),
            telemetry: telemetry.clone(),
            info,
            start,
            max_queued: conf
                .core
                .max_buffer
                .saturating_mul(client_port::MAX_QUEUED_FRAMES),
            next_touch_report: 0,
            touch_interval_ms: i64::from(conf.tick_time_ms.max(2) / 2),
        };
        let fatal = fatal.clone();
        let fatal_reason = fatal_reason.clone();
        std::thread::Builder::new()
            .name("QuorumCore".into())
            .spawn(move || {
                if let Err(e) = core.run(core_rx) {
                    tracing::error!("Severe unrecoverable error, from thread : QuorumCore: {e}");
                    *fatal_reason.lock().expect("fatal lock") = Some(e.to_string());
                    fatal.cancel();
                }
            })?
    };

    let shared = Shared::new(
        core_tx.clone(),
        registry.clone(),
        telemetry.clone(),
        &conf,
        token.clone(),
    );
    let ticker = client_port::spawn_ticker(core_tx.clone(), token.clone(), ZAB_TICK);
    let metrics = match listeners.metrics {
        Some(l) => Some(client_port::serve_metrics(
            l,
            core_tx.clone(),
            token.clone(),
        )?),
        None => None,
    };

    client_port::serve_clients(client, &shared, shutdown, &fatal).await;
    token.cancel();
    ticker.abort();
    let _ = core_tx.send(CoreMsg::Stop).await;
    drop(core_tx);
    drop(shared);
    drop(net);
    let _ = tokio::task::spawn_blocking(move || {
        let _ = core.join();
        pipeline_threads.join();
    })
    .await;
    if let Some(m) = metrics {
        let _ = m.await;
    }
    let reason = fatal_reason.lock().expect("fatal lock").clone();
    match reason {
        Some(r) => Err(ServerError::Log(r)),
        None => Ok(()),
    }
}

/// The state rebuilt from disk: at startup, and when the peer must start over.
struct Booted {
    processor: Processor,
    peer: ZabPeer,
}

/// Loads the database and the epoch files and builds the processor and the peer on them.
fn boot(
    files: &mut FileStore,
    zab_conf: &ZabConfig,
    core_conf: &super::processor::CoreConfig,
    start: Instant,
) -> Result<Booted, ServerError> {
    let recovered = files.load::<Database>(None, zab_conf.commit_log_count)?;
    let last_epoch = zab::zxid_epoch(recovered.last_zxid);
    // Missing epoch files start from the epoch of the last logged txn, as in ZooKeeper.
    let accepted_epoch = files.read_epoch(EpochFile::Accepted)?.unwrap_or(last_epoch);
    let current_epoch = files.read_epoch(EpochFile::Current)?.unwrap_or(last_epoch);
    let zab_recovered = zab::Recovered {
        accepted_epoch,
        current_epoch,
        last_zxid: recovered.last_zxid,
        tail: recovered.tail,
        snapshot_zxid: recovered.snapshot_zxid,
    };
    tracing::info!(
        sid = zab_conf.my_id,
        "acceptedEpoch {accepted_epoch}, currentEpoch {current_epoch}, last zxid 0x{:x}, snapshot 0x{:x}",
        recovered.last_zxid,
        zab_recovered.snapshot_zxid
    );
    let now = clock(start);
    let (tree, sessions) = recovered.db.into_parts();
    let mut processor =
        Processor::restore(core_conf.clone(), tree, &sessions, recovered.last_zxid, now);
    processor.enable_quorum();
    let peer = ZabPeer::new(zab_conf.clone(), zab_recovered, zab_ms(start))
        .map_err(|e| ServerError::Log(format!("cannot start the ZAB peer: {e}")))?;
    Ok(Booted { processor, peer })
}

/// A store op as the server log tells it.
fn describe(op: &StoreOp) -> String {
    match op {
        StoreOp::AcceptedEpoch(epoch) => format!("acceptedEpoch = {epoch}"),
        StoreOp::CurrentEpoch(epoch) => format!("currentEpoch = {epoch}"),
        StoreOp::Append(entry) => format!("logging 0x{:x}", entry.zxid),
        StoreOp::Truncate(zxid) => format!("truncating the log after 0x{zxid:x}"),
        StoreOp::Snapshot { zxid, .. } => format!("installing the leader's snapshot at 0x{zxid:x}"),
    }
}

fn zab_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// Errors of the core that stop the server: the disk failed, or the state is inconsistent.
#[derive(Debug, thiserror::Error)]
enum CoreError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Server(#[from] ServerError),
    #[error("{0}")]
    Inconsistent(String),
    #[error("the txn log's syncer has stopped")]
    SyncerGone,
}

/// The core thread's state.
struct QuorumCore {
    p: Processor,
    peer: ZabPeer,
    /// The syncer (which owns the store) and the snapshots.
    pipeline: Pipeline,
    /// Leader: the SNAPs being built for learners.
    learner_snaps: LearnerSnaps,
    /// The peer's store ops not yet handed to the syncer.
    pending: PendingOps,
    /// The last store op reported persisted to the peer.
    reported_seq: u64,
    zab: ZabConfig,
    net: Arc<Net>,
    registry: Registry,
    telemetry: Arc<Telemetry>,
    info: ServerInfo,
    start: Instant,
    max_queued: usize,
    /// Learner: when the next report of touched sessions goes to the leader (mono ms).
    next_touch_report: i64,
    touch_interval_ms: i64,
}

impl QuorumCore {
    fn run(&mut self, mut rx: mpsc::Receiver<CoreMsg>) -> Result<(), CoreError> {
        const MAX_BATCH: usize = 1000;
        self.drive()?;
        loop {
            // While a snapshot is being walked, never block: walk between batches.
            let first = if self.pipeline.snapshots.walking() || self.learner_snaps.building() {
                match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Ok(()),
                }
            } else {
                match rx.blocking_recv() {
                    Some(m) => Some(m),
                    None => return Ok(()),
                }
            };
            let mut stop = false;
            if let Some(first) = first {
                stop = self.handle(first);
                for _ in 0..MAX_BATCH {
                    match rx.try_recv() {
                        Ok(msg) => stop |= self.handle(msg),
                        Err(_) => break,
                    }
                }
            }
            let seq = self.pipeline.durable.persisted_seq();
            if seq != 0 && seq != self.reported_seq {
                self.reported_seq = seq;
                self.peer.step(zab_ms(self.start), Input::Persisted { seq });
            }
            self.drive()?;
            // Applied txns are committed, so never truncated: a snapshot of them stays valid
            // whatever the peer does with the log after it.
            let roll = self.pipeline.snapshots.maybe_begin(&mut self.p);
            self.flush(roll)?;
            self.pipeline.snapshots.step(&self.p);
            self.learner_snaps.step(self.p.tree());
            if stop {
                return Ok(());
            }
        }
    }

    /// Hands the pending store ops to the syncer (then rolls the log, when `roll`).
    fn flush(&mut self, roll: bool) -> Result<(), CoreError> {
        if self.pending.flush(&self.pipeline.sync_tx, roll) {
            Ok(())
        } else {
            Err(CoreError::SyncerGone)
        }
    }

    fn now(&self) -> Now {
        clock(self.start)
    }

    /// One message; true for Stop.
    fn handle(&mut self, msg: CoreMsg) -> bool {
        match msg {
            CoreMsg::Input(CoreInput::Tick) => {
                let now = self.now();
                self.p.step(CoreInput::Tick, now);
                self.peer.step(zab_ms(self.start), Input::Tick);
                if self.p.quorum_role() == Some(QuorumRole::Learner)
                    && now.mono_ms >= self.next_touch_report
                {
                    self.next_touch_report = now.mono_ms + self.touch_interval_ms;
                    let touched = self.p.take_touched();
                    if !touched.is_empty() {
                        let report = Processor::touch_report(touched);
                        self.peer
                            .step(zab_ms(self.start), Input::Forward(Bytes::from(report)));
                    }
                }
            }
            CoreMsg::Input(input) => {
                if matches!(input, CoreInput::Request { .. }) {
                    self.telemetry.outstanding.fetch_sub(1, Ordering::Relaxed);
                }
                let now = self.now();
                self.p.step(input, now);
            }
            // A connection reports its end only while it is current, but a newer one with
            // the same server may have been opened before the core reads the report: then
            // the report is about a connection the peer has already replaced.
            CoreMsg::Zab(Input::Disconnected { peer }) if self.net.has_link(peer) => {
                tracing::debug!(
                    sid = self.zab.my_id,
                    peer,
                    "ignoring the end of a replaced connection"
                );
            }
            CoreMsg::Zab(input) => self.peer.step(zab_ms(self.start), input),
            CoreMsg::FourLetter {
                word,
                conn,
                addr,
                mask,
                reply,
            } => {
                self.refresh_figures();
                self.p.four_letter_begin(conn, addr, self.now());
                let text =
                    four_letter::render(&word, mask, &mut self.p, &self.info, &self.telemetry);
                self.p.four_letter_end(conn);
                let _ = reply.send(text);
            }
            CoreMsg::Metrics { reply } => {
                self.refresh_figures();
                let _ = reply.send(four_letter::prometheus(
                    &self.p,
                    &self.info,
                    &self.telemetry,
                ));
            }
            // Read by the loop after each batch.
            CoreMsg::Persisted => {}
            CoreMsg::Stop => return true,
        }
        false
    }

    /// Moves outputs between the processor and the peer, performs the peer's actions, and
    /// reports durable stores, until neither has anything more to say.
    fn drive(&mut self) -> Result<(), CoreError> {
        loop {
            let out = self.p.take_output();
            if !out.actions.is_empty() {
                let registry = self.registry.lock().expect("registry lock");
                for action in out.actions {
                    deliver(&registry, action, self.max_queued);
                }
            }
            for rec in out.proposals {
                let data = Bytes::from(rec.encode());
                match self.peer.propose(data) {
                    Ok(zxid) if zxid == rec.zxid => {}
                    Ok(zxid) => {
                        // The processor and the peer count zxids separately; they must agree.
                        tracing::error!(
                            sid = self.zab.my_id,
                            "the peer proposed 0x{zxid:x} for the processor's 0x{:x}: starting over",
                            rec.zxid
                        );
                        return self.reboot();
                    }
                    // Not (or no longer) the leader: the role change drops the client.
                    Err(_) => {}
                }
            }
            let ms = zab_ms(self.start);
            for f in out.forwards {
                self.peer.step(ms, Input::Forward(Bytes::from(f)));
            }
            for token in out.syncs {
                self.peer.step(ms, Input::Sync { token });
            }
            let actions = self.peer.take_actions();
            if actions.is_empty() {
                return Ok(());
            }
            for action in actions {
                match action {
                    Action::Store { seq, op } => {
                        if !self.acceptable(&op) {
                            return self.reboot();
                        }
                        self.pending.push(seq, op);
                    }
                    Action::Send { to, msg } => self.net.send(to, &msg),
                    Action::SendSnapshot { to, zxid } => {
                        if self.p.last_zxid() != zxid {
                            return Err(CoreError::Inconsistent(format!(
                                "asked for a snapshot at 0x{zxid:x}, applied 0x{:x}",
                                self.p.last_zxid()
                            )));
                        }
                        if let Some(out) = self.net.send_later(to) {
                            let sessions = self.p.sessions().all();
                            self.learner_snaps.begin(to, zxid, &sessions, out);
                        }
                    }
                    Action::Elect { to, note } => self.net.elect(to, &note),
                    Action::ConnectLeader { leader } => self.net.connect_leader(leader),
                    Action::Disconnect { peer } => self.net.disconnect(peer),
                    Action::Apply(entry) => {
                        let rec = match TxnRecord::decode(&entry.data) {
                            Ok(rec) if rec.zxid == entry.zxid => rec,
                            Ok(rec) => {
                                return Err(CoreError::Inconsistent(format!(
                                    "committed entry 0x{:x} holds txn 0x{:x}",
                                    entry.zxid, rec.zxid
                                )));
                            }
                            Err(e) => {
                                return Err(CoreError::Inconsistent(format!(
                                    "committed entry 0x{:x} does not decode: {e}",
                                    entry.zxid
                                )));
                            }
                        };
                        let now = self.now();
                        self.p.apply_committed(rec, now);
                    }
                    Action::ResetState { zxid } => {
                        // What the disk holds once the store ops before this are done.
                        self.flush(false)?;
                        let r = durability::on_syncer(&self.pipeline.sync_tx, move |store| {
                            store.load::<Database>(Some(zxid), 0)
                        })
                        .ok_or(CoreError::SyncerGone)??;
                        if r.last_zxid != zxid {
                            return Err(CoreError::Inconsistent(format!(
                                "reset to 0x{zxid:x} but the disk holds up to 0x{:x}",
                                r.last_zxid
                            )));
                        }
                        tracing::info!(sid = self.zab.my_id, "state reset to 0x{zxid:x}");
                        let now = self.now();
                        let (tree, sessions) = r.db.into_parts();
                        self.pipeline.snapshots.abandon();
                        self.learner_snaps.abandon();
                        self.p.reset_state(tree, &sessions, r.last_zxid, now);
                    }
                    Action::Serving(serving) => {
                        let role = match serving {
                            Some(Serving::Leader { epoch }) => QuorumRole::Leader { epoch },
                            Some(Serving::Follower { .. } | Serving::Observer { .. }) => {
                                QuorumRole::Learner
                            }
                            None => QuorumRole::NotServing,
                        };
                        tracing::info!(
                            sid = self.zab.my_id,
                            "serving: {:?} -> {role:?} ({})",
                            self.p.quorum_role(),
                            self.peer.state().name()
                        );
                        let now = self.now();
                        self.p.set_quorum_role(role, now);
                    }
                    Action::Request { data, .. } => {
                        let now = self.now();
                        self.p.forwarded(&data, now);
                    }
                    Action::SyncDone { token } => {
                        let now = self.now();
                        self.p.sync_done(token, now);
                    }
                }
            }
            self.flush(false)?;
        }
    }

    /// Whether a store op carries data that can be ours; a leader's bad txn or snapshot
    /// makes the peer start over instead.
    fn acceptable(&self, op: &StoreOp) -> bool {
        match op {
            StoreOp::Append(entry) => {
                let ok =
                    matches!(TxnRecord::decode(&entry.data), Ok(rec) if rec.zxid == entry.zxid);
                if !ok {
                    tracing::warn!(
                        sid = self.zab.my_id,
                        "refusing to log a txn 0x{:x} that does not decode as one",
                        entry.zxid
                    );
                }
                ok
            }
            StoreOp::Snapshot { zxid, data } => match store::deserialize_snapshot(data) {
                Ok(s) if s.zxid == *zxid => true,
                other => {
                    let why = match other {
                        Ok(s) => format!("it holds 0x{:x}", s.zxid),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!(
                        sid = self.zab.my_id,
                        "refusing a snapshot at 0x{zxid:x}: {why}"
                    );
                    false
                }
            },
            other => {
                tracing::info!(sid = self.zab.my_id, "{}", describe(other));
                true
            }
        }
    }

    /// The peer's figures for the four-letter words.
    fn refresh_figures(&mut self) {
        let state = self.peer.state();
        let peer_state = match state {
            ServerState::Looking => state.name().to_string(),
            _ => format!("{} - {}", state.name(), self.peer.phase().name()),
        };
        self.info.quorum = Some(QuorumFigures {
            peer_state,
            quorum_size: self.zab.voters.len(),
            leader: (state == ServerState::Leading).then(|| self.peer.status()),
        });
    }

    /// Starts the peer over from what is durable: after a leader sent something this server
    /// must not take, or the processor and the peer disagree.
    fn reboot(&mut self) -> Result<(), CoreError> {
        self.flush(false)?;
        self.net.disconnect_all();
        let now = self.now();
        // Every client goes (their closes are delivered) before the state is replaced.
        self.p.set_quorum_role(QuorumRole::NotServing, now);
        let out = self.p.take_output();
        {
            let registry = self.registry.lock().expect("registry lock");
            for action in out.actions {
                deliver(&registry, action, self.max_queued);
            }
        }
        self.pipeline.snapshots.abandon();
        self.learner_snaps.abandon();
        let (zab, core, start) = (self.zab.clone(), self.p.config().clone(), self.start);
        let booted = durability::on_syncer(&self.pipeline.sync_tx, move |store| {
            // Everything the old peer logged is synced; the new one logs into a new file.
            store.roll()?;
            boot(store, &zab, &core, start)
        })
        .ok_or(CoreError::SyncerGone)??;
        self.p = booted.processor;
        self.peer = booted.peer;
        // The syncer is idle (it answered after the old peer's last op), and the new peer
        // numbers its store ops from the start.
        self.pipeline.durable.reset_persisted_seq();
        self.reported_seq = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::net::{frame_of, read_frame};
    use super::*;

    #[test]
    fn server_lines_become_voters_observers_and_peer_addresses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("myid"), "4\n").unwrap();
        let text = format!(
            "tickTime=500\ninitLimit=7\nsyncLimit=3\ndataDir={}\nclientPort=2181\n\
             commitLogCount=42\n\
             server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888;2182\n\
             server.3=127.0.0.3:2888:3888:participant\nserver.4=127.0.0.4:2889:3889:observer\n",
            dir.path().display()
        );
        let cfg = ZooCfg::parse(&dir.path().join("zoo.cfg"), &text).unwrap();
        let q = QuorumConf::from_zoo_cfg(&cfg).unwrap();
        assert_eq!(q.zab.my_id, 4);
        assert_eq!(q.zab.voters, BTreeSet::from([1, 2, 3]));
        assert_eq!(q.zab.observers, BTreeSet::from([4]));
        assert_eq!(
            (q.zab.tick_ms, q.zab.init_limit, q.zab.sync_limit),
            (500, 7, 3)
        );
        assert_eq!(q.zab.commit_log_count, 42);
        assert_eq!(
            q.servers[&4],
            PeerAddrs {
                quorum: "127.0.0.4:2889".into(),
                election: "127.0.0.4:3889".into(),
            }
        );
        assert_eq!(q.servers[&2].quorum, "127.0.0.2:2888");
        assert_eq!(
            q.membership,
            [
                "server.1=127.0.0.1:2888:3888:participant",
                "server.2=127.0.0.2:2888:3888:participant;0.0.0.0:2182",
                "server.3=127.0.0.3:2888:3888:participant",
                "server.4=127.0.0.4:2889:3889:observer",
            ]
        );
        assert_eq!(my_ports(&q), (2889, 3889));
    }

    #[tokio::test]
    async fn frames_over_the_limit_or_cut_short_are_errors_not_allocations() {
        let mut big: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
        let err = read_frame(&mut big, 1024).await.unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
        let mut short: &[u8] = &[0, 0, 0, 9, 1, 2];
        assert!(read_frame(&mut short, 1024).await.is_err());
        let framed = frame_of(|out| out.extend_from_slice(b"abc"));
        let mut ok: &[u8] = &framed;
        assert_eq!(read_frame(&mut ok, 1024).await.unwrap(), b"abc");
    }
}
