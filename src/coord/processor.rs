//! The request pipeline core (ZooKeeper's Prep + Final request processors in one sans-IO
//! state machine): connection events and request frames go in with the current time; txns to
//! log and frames to send come out, in the order they must take effect.
//!
//! Invariants: requests are handled one at a time in arrival order, so each connection's
//! replies keep its request order; every write (failed ones too, as ZooKeeper does) takes the
//! next zxid; a multi is validated against the tentative state of its earlier sub-ops and
//! either applies whole or not at all; the watch notifications a change causes are emitted
//! before the reply to the write and before anything emitted later. The driver must not
//! release an output batch before the txns of that batch (and of every earlier batch) are
//! durable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::Code;
use super::jute::{
    self, Acl, ConnectRequest, ConnectResponse, Create2Response, CreateMode, CreateResponse,
    GetAclResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse, Id, JuteError,
    MultiResult, PathRequest, Request, RequestHeader, Response, WatcherEvent, WhoAmIResponse,
};
use super::session::SessionTable;
use super::tree::{
    self, AuthInfo, Change, DataTree, EventType, MAX_TTL, Owner, StatPersisted, perms,
};
use super::txn::{Txn, TxnRecord};
use super::watch::{WatchManager, WatcherType};

/// A connection, numbered by the driver.
pub type ConnId = u64;

/// The settings the core needs, read once from zoo.cfg.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub server_id: u8,
    pub tick_ms: u32,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    /// `jute.maxbuffer`.
    pub max_buffer: usize,
    /// `superDigest`'s `super:<base64>` id, if configured.
    pub super_digest: Option<String>,
    /// `extendedTypesEnabled`: TTL nodes.
    pub extended_types: bool,
    pub reconfig_enabled: bool,
    /// How often containers and TTL nodes are checked (`znode.container.checkIntervalMs`).
    pub container_check_interval_ms: i64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            server_id: 0,
            tick_ms: 2000,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            max_buffer: jute::DEFAULT_MAX_BUFFER,
            super_digest: None,
            extended_types: false,
            reconfig_enabled: false,
            container_check_interval_ms: 60_000,
        }
    }
}

/// The driver's clocks: monotonic ms for timeouts, wall-clock ms for ctime/mtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Now {
    pub mono_ms: i64,
    pub wall_ms: i64,
}

/// Something that happened that the core must react to.
#[derive(Debug, Clone)]
pub enum Input {
    /// A socket was accepted.
    Open { conn: ConnId, addr: SocketAddr },
    /// The first frame of a connection.
    Connect {
        conn: ConnId,
        request: ConnectRequest,
    },
    /// A request frame after the handshake: its header and the bytes after it.
    Request {
        conn: ConnId,
        header: RequestHeader,
        body: Vec<u8>,
    },
    /// The socket is gone (the session lives on until it expires).
    Closed { conn: ConnId },
    /// Time passed: expire sessions, reap containers and TTL nodes.
    Tick,
}

/// What the driver must do, in order, once the batch's txns are durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send {
        conn: ConnId,
        frame: Vec<u8>,
    },
    /// Close after everything sent before it.
    Close {
        conn: ConnId,
    },
}

#[derive(Debug, Default)]
pub struct Output {
    /// Standalone: txns applied, to log before the actions are released.
    pub txns: Vec<TxnRecord>,
    pub actions: Vec<Action>,
    /// Quorum leader: txns to propose, in zxid order.
    pub proposals: Vec<TxnRecord>,
    /// Quorum learner: encoded requests for the leader.
    pub forwards: Vec<Vec<u8>>,
    /// Quorum: sync barriers to pass through the leader.
    pub syncs: Vec<u64>,
}

/// Per-connection counters (`cons`, `stat`).
#[derive(Debug, Clone)]
pub struct ConnStats {
    pub addr: SocketAddr,
    pub session_id: i64,
    pub timeout_ms: i32,
    pub received: u64,
    pub sent: u64,
    pub last_op: &'static str,
    pub last_cxid: i32,
    pub last_zxid: i64,
    /// Wall-clock ms when the connection was accepted (`est`).
    pub established_ms: i64,
    /// Monotonic ms of the last reply (`lresp`, elapsed time as ZooKeeper prints it).
    pub last_response_ms: i64,
}

#[derive(Debug)]
struct Conn {
    stats: ConnStats,
    auth: AuthInfo,
    /// Whether the client sent the trailing readOnly flag.
    handshaken: bool,
}

/// Server-wide counters (`srvr`, `mntr`).
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub auth_failed: u64,
    /// Sizes of reply frames (mntr's `zk_*_client_response_size`; -1 before the first).
    pub last_response_size: i64,
    pub min_response_size: i64,
    pub max_response_size: i64,
}

impl ServerStats {
    fn new() -> Self {
        ServerStats {
            last_response_size: -1,
            min_response_size: -1,
            max_response_size: -1,
            ..ServerStats::default()
        }
    }
}

/// The core.
pub struct Processor {
    config: CoreConfig,
    tree: DataTree,
    sessions: SessionTable,
    watches: WatchManager,
    last_zxid: i64,
    conns: HashMap<ConnId, Conn>,
    /// Which connection currently holds each session.
    session_conn: HashMap<i64, ConnId>,
    stats: ServerStats,
    next_reap_ms: i64,
    txns_since_snapshot: u64,
    /// `stmk` / `gtmk`: ZooKeeper's trace mask (kept, reported; we trace with `RUST_LOG`).
    trace_mask: i64,
    /// The driver's clock at the last step (for `dump` and `cons`).
    now: Now,
    out: Output,
    /// Quorum mode (`None`: standalone).
    quorum: Option<quorum::QuorumCtx>,
}

/// A node as the tentative state of a request sees it.
#[derive(Debug, Clone)]
struct View {
    stat: StatPersisted,
    num_children: i32,
    acl: Arc<[Acl]>,
}

/// Proposed but not yet applied changes (a quorum leader's "outstanding changes"): the
/// zxid of the last proposal that touched each path and the node as it leaves the path.
type Outstanding = HashMap<String, (i64, Option<View>)>;

/// The tree, the leader's outstanding changes, and the changes of earlier sub-ops of the
/// same request.
struct Pending<'a> {
    tree: &'a DataTree,
    outstanding: Option<&'a Outstanding>,
    changes: HashMap<String, Option<View>>,
}

impl<'a> Pending<'a> {
    fn new(tree: &'a DataTree) -> Self {
        Pending {
            tree,
            outstanding: None,
            changes: HashMap::new(),
        }
    }

    fn get(&self, path: &str) -> Option<View> {
        if let Some(v) = self.changes.get(path) {
            return v.clone();
        }
        if let Some((_, v)) = self.outstanding.and_then(|o| o.get(path)) {
            return v.clone();
        }
        self.tree.get(path).map(|n| View {
            stat: *n.stat(),
            num_children: n.num_children() as i32,
            acl: n.acl().clone(),
        })
    }
}

impl Pending<'_> {
    /// The ephemerals `session` will own once every outstanding change applies.
    fn ephemerals_of(&self, session: i64) -> Vec<String> {
        let mut paths: std::collections::BTreeSet<String> =
            self.tree.ephemerals_of(session).into_iter().collect();
        let outstanding = self
            .outstanding
            .into_iter()
            .flatten()
            .map(|(path, (_, view))| (path, view));
        for (path, view) in outstanding.chain(self.changes.iter()) {
            match view {
                Some(v) if v.stat.ephemeral_owner == session => {
                    paths.insert(path.clone());
                }
                None => {
                    paths.remove(path);
                }
                Some(_) => {}
            }
        }
        paths.into_iter().collect()
    }

    /// Records the deletion of `path` (a session's ephemeral going with it).
    fn mark_deleted(&mut self, path: &str) {
        if let Some(parent_path) = parent_of(path)
            && let Some(mut parent) = self.get(parent_path)
        {
            parent.num_children -= 1;
            self.changes.insert(parent_path.to_string(), Some(parent));
        }
        self.changes.insert(path.to_string(), None);
    }
}

fn parent_of(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    Some(if i == 0 { "/" } else { &path[..i] })
}

fn is_special(path: &str) -> bool {
    matches!(path, "/" | tree::ZOOKEEPER | tree::QUOTA | tree::CONFIG)
}

fn version_ok(expected: i32, current: i32) -> bool {
    expected == -1 || expected == current
}

/// What a validated write sub-op will reply once applied.
#[derive(Debug, Clone)]
enum Reply {
    Create { path: String, op: i32 },
    Delete,
    SetData { path: String },
    SetAcl { path: String },
    Check,
}

impl Processor {
    pub fn new(config: CoreConfig, now: Now) -> Self {
        let sessions = SessionTable::new(config.server_id, now.wall_ms, config.tick_ms);
        Processor {
            config,
            tree: DataTree::new(),
            sessions,
            watches: WatchManager::new(),
            last_zxid: 0,
            conns: HashMap::new(),
            session_conn: HashMap::new(),
            stats: ServerStats::new(),
            next_reap_ms: 0,
            txns_since_snapshot: 0,
            trace_mask: 306,
            now,
            out: Output::default(),
            quorum: None,
        }
    }

    /// Starts from recovered state: sessions get a full timeout from `now` (as after a leader
    /// change); ephemerals of sessions the log never opened are closed at the first tick.
    pub fn restore(
        config: CoreConfig,
        tree: DataTree,
        sessions: &[(i64, i32)],
        last_zxid: i64,
        now: Now,
    ) -> Self {
        let mut p = Processor::new(config, now);
        p.tree = tree;
        p.last_zxid = last_zxid;
        for (id, timeout) in sessions {
            p.sessions.add(*id, *timeout, now.mono_ms);
        }
        for owner in p.tree.ephemeral_owners() {
            if p.sessions.get(owner).is_none() {
                // Give it a minimal life so the normal expiry path removes its ephemerals.
                p.sessions.add(owner, 0, now.mono_ms);
            }
        }
        p
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn sessions(&self) -> &SessionTable {
        &self.sessions
    }

    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// A four-letter word arrived on `conn`: like ZooKeeper, the connection counts (and is
    /// listed) while its command runs, and its one packet counts as received.
    pub fn four_letter_begin(&mut self, conn: ConnId, addr: SocketAddr, now: Now) {
        self.now = now;
        self.stats.packets_received += 1;
        self.conns.insert(
            conn,
            Conn {
                stats: ConnStats {
                    addr,
                    session_id: 0,
                    timeout_ms: 0,
                    received: 1,
                    sent: 0,
                    last_op: "NA",
                    last_cxid: -1,
                    last_zxid: -1,
                    established_ms: now.wall_ms,
                    last_response_ms: 0,
                },
                auth: AuthInfo::default(),
                handshaken: false,
            },
        );
    }

    /// The four-letter word's answer went out and its connection closes.
    pub fn four_letter_end(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.stats.packets_sent += 1;
    }

    pub fn trace_mask(&self) -> i64 {
        self.trace_mask
    }

    pub fn set_trace_mask(&mut self, mask: i64) {
        self.trace_mask = mask;
    }

    /// The clocks at the last step.
    pub fn now(&self) -> Now {
        self.now
    }

    /// `srst`: zero the server counters.
    pub fn reset_server_stats(&mut self) {
        self.stats = ServerStats::new();
    }

    /// `crst`: zero every connection's counters.
    pub fn reset_connection_stats(&mut self) {
        for c in self.conns.values_mut() {
            c.stats.received = 0;
            c.stats.sent = 0;
        }
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Txns since the last snapshot; the driver snapshots and calls
    /// [`Processor::snapshot_taken`].
    pub fn txns_since_snapshot(&self) -> u64 {
        self.txns_since_snapshot
    }

    pub fn snapshot_taken(&mut self) {
        self.txns_since_snapshot = 0;
    }

    /// Live connections' counters, by connection id.
    pub fn connections(&self) -> Vec<(ConnId, ConnStats)> {
        let mut v: Vec<_> = self
            .conns
            .iter()
            .map(|(id, c)| (*id, c.stats.clone()))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }

    /// Everything produced since the last call.
    pub fn take_output(&mut self) -> Output {
        std::mem::take(&mut self.out)
    }

    pub fn step(&mut self, input: Input, now: Now) {
        self.now = now;
        match input {
            Input::Open { conn, addr } => {
                self.conns.insert(
                    conn,
                    Conn {
                        stats: ConnStats {
                            addr,
                            session_id: 0,
                            timeout_ms: 0,
                            received: 0,
                            sent: 0,
                            last_op: "NA",
                            last_cxid: -1,
                            last_zxid: -1,
                            established_ms: now.wall_ms,
                            last_response_ms: 0,
                        },
                        auth: AuthInfo {
                            ids: vec![Id {
                                scheme: "ip".into(),
                                id: addr.ip().to_string(),
                            }],
                            is_super: false,
                        },
                        handshaken: false,
                    },
                );
            }
            Input::Connect { conn, request } => self.connect(conn, request, now),
            Input::Request { conn, header, body } => self.request(conn, header, &body, now),
            Input::Closed { conn } => self.closed(conn),
            Input::Tick => self.tick(now),
        }
    }

    fn send(&mut self, conn: ConnId, frame: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.sent += 1;
            self.stats.packets_sent += 1;
            let size = frame.len() as i64 - 4;
            let s = &mut self.stats;
            s.last_response_size = size;
            s.min_response_size = if s.min_response_size < 0 {
                size
            } else {
                s.min_response_size.min(size)
            };
            s.max_response_size = s.max_response_size.max(size);
        }
        self.out.actions.push(Action::Send { conn, frame });
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if self.session_conn.get(&c.stats.session_id) == Some(&conn) {
                self.session_conn.remove(&c.stats.session_id);
            }
            self.watches.drop_watcher(conn);
            self.out.actions.push(Action::Close { conn });
        }
    }

    fn closed(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if self.session_conn.get(&c.stats.session_id) == Some(&conn) {
                self.session_conn.remove(&c.stats.session_id);
            }
            self.watches.drop_watcher(conn);
        }
    }

    /// Standalone: takes the next zxid for `txn` and applies it. Quorum leader: proposes it.
    fn submit(&mut self, session: i64, cxid: i32, txn: Txn, now: Now) {
        if self.quorum.is_some() {
            self.propose(session, cxid, txn, HashMap::new(), now);
        } else {
            self.last_zxid += 1;
            let rec = TxnRecord {
                session,
                cxid,
                zxid: self.last_zxid,
                time_ms: now.wall_ms,
                txn,
            };
            self.apply_record(rec, None, now);
        }
    }

    /// Applies a committed txn: the tree, the session table, watch events, then the reply
    /// to the request it came from when that request is `origin` (connection, xid, request).
    fn apply_record(&mut self, rec: TxnRecord, origin: Option<(ConnId, i32, &Request)>, now: Now) {
        let zxid = rec.zxid;
        self.last_zxid = self.last_zxid.max(zxid);
        let mut changes = Vec::new();
        let mut results = Vec::new();
        match (&rec.txn, origin.map(|(_, _, r)| r)) {
            (Txn::Multi(subs), Some(Request::Multi(ops)))
                if !subs.iter().all(|t| matches!(t, Txn::Error { .. })) =>
            {
                // Sub-txn by sub-txn, so each result sees the state after its own step.
                for (sub, op) in subs.iter().zip(ops.iter()) {
                    self.tree.apply(zxid, rec.time_ms, sub, &mut changes);
                    let reply = reply_of(sub, op);
                    results.push(reply.map_or(MultiResult::Check, |r| self.multi_result(&r)));
                }
            }
            _ => self.tree.apply(zxid, rec.time_ms, &rec.txn, &mut changes),
        }
        match &rec.txn {
            Txn::CreateSession { timeout_ms } if self.sessions.get(rec.session).is_none() => {
                self.sessions.add(rec.session, *timeout_ms, now.mono_ms);
            }
            Txn::CloseSession { .. } => self.sessions.remove(rec.session),
            _ => {}
        }
        self.notify(&changes);
        self.txns_since_snapshot += 1;
        let closes = matches!(rec.txn, Txn::CloseSession { .. });
        if let Some((conn, xid, req)) = origin {
            let (code, body) = match (&rec.txn, req) {
                (Txn::Error { code }, _) => (
                    Code::from_i32(*code).unwrap_or(Code::SystemError),
                    Response::Empty,
                ),
                (Txn::Multi(subs), Request::Multi(_)) if results.is_empty() => (
                    Code::Ok,
                    Response::Multi(
                        subs.iter()
                            .map(|t| match t {
                                Txn::Error { code } => MultiResult::Error(*code),
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            })
                            .collect(),
                    ),
                ),
                (Txn::Multi(_), Request::Multi(_)) => (Code::Ok, Response::Multi(results)),
                (txn, req) => (
                    Code::Ok,
                    reply_of(txn, req).map_or(Response::Empty, |r| self.single_result(&r)),
                ),
            };
            self.reply(conn, xid, zxid, code, &body, now);
            if closes {
                tracing::info!("Closed session 0x{:x}", rec.session);
                self.close(conn);
            }
        }
        if closes && let Some(conn) = self.session_conn.get(&rec.session).copied() {
            self.close(conn);
        }
        if self.quorum.is_none() {
            self.out.txns.push(rec);
        }
    }

    fn notify(&mut self, changes: &[Change]) {
        for change in changes {
            for fired in self.watches.trigger(change) {
                let frame = jute::notification_frame(&WatcherEvent {
                    event_type: fired.event as i32,
                    state: 3,
                    path: fired.path,
                });
                self.send(fired.watcher, frame);
            }
        }
    }

    fn connect(&mut self, conn: ConnId, req: ConnectRequest, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.stats.received += 1;
        self.stats.packets_received += 1;
        if req.last_zxid_seen > self.last_zxid {
            tracing::info!(
                "Refusing session request for client {} as it has seen zxid 0x{:x} our last zxid is 0x{:x} client must try another server",
                c.stats.addr,
                req.last_zxid_seen,
                self.last_zxid
            );
            self.close(conn);
            return;
        }
        let read_only = req.read_only.map(|_| false);
        if self.quorum_connect(conn, &req, read_only, now) {
            return;
        }
        self.handshake(conn, req, read_only, now);
    }

    /// Answers a connect request from the local session table: a new session, or the
    /// resumption of a live one (a wrong password or an unknown session gets timeOut 0).
    fn handshake(&mut self, conn: ConnId, req: ConnectRequest, read_only: Option<bool>, now: Now) {
        let timeout = SessionTable::negotiate(
            req.timeout,
            self.config.min_session_timeout_ms,
            self.config.max_session_timeout_ms,
        );
        if req.session_id == 0 {
            let id = self.sessions.allocate_id();
            self.sessions.add(id, timeout, now.mono_ms);
            self.submit(
                id,
                0,
                Txn::CreateSession {
                    timeout_ms: timeout,
                },
                now,
            );
            tracing::info!("Established session 0x{id:x} with negotiated timeout {timeout}");
            self.welcome(conn, id, timeout, read_only, now);
            return;
        }
        let id = req.session_id;
        let valid = self.sessions.is_live(id) && req.passwd == SessionTable::password(id);
        if !valid {
            tracing::info!("Invalid session 0x{id:x} for client, probably expired");
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout: 0,
                session_id: 0,
                passwd: vec![0; 16],
                read_only,
            };
            self.send(conn, jute::frame(|o| jute::Jute::write(&resp, o)));
            self.close(conn);
            return;
        }
        if let Some(old) = self.session_conn.get(&id).copied()
            && old != conn
        {
            self.close(old);
        }
        self.sessions.touch(id, now.mono_ms);
        let timeout = self.sessions.get(id).map_or(timeout, |s| s.timeout_ms);
        self.welcome(conn, id, timeout, read_only, now);
    }

    /// Binds `conn` to session `id` and answers its connect request with the session.
    fn welcome(&mut self, conn: ConnId, id: i64, timeout: i32, read_only: Option<bool>, now: Now) {
        self.bind(conn, id, timeout, now);
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout,
            session_id: id,
            passwd: SessionTable::password(id),
            read_only,
        };
        self.send(conn, jute::frame(|o| jute::Jute::write(&resp, o)));
    }

    fn bind(&mut self, conn: ConnId, id: i64, timeout: i32, now: Now) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.session_id = id;
            c.stats.timeout_ms = timeout;
            c.stats.last_op = "SESS";
            c.stats.last_response_ms = now.mono_ms;
            c.handshaken = true;
        }
        self.session_conn.insert(id, conn);
    }

    fn reply(&mut self, conn: ConnId, xid: i32, zxid: i64, err: Code, body: &Response, now: Now) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.last_zxid = zxid;
            c.stats.last_response_ms = now.mono_ms;
        }
        self.send(conn, jute::reply_frame(xid, zxid, err, body));
    }

    fn request(&mut self, conn: ConnId, header: RequestHeader, body: &[u8], now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.stats.received += 1;
        c.stats.last_op = op_name(header.op);
        if header.xid >= 0 {
            c.stats.last_cxid = header.xid;
        }
        self.stats.packets_received += 1;
        let session = c.stats.session_id;
        if !c.handshaken {
            self.close(conn);
            return;
        }
        if !self.sessions.touch(session, now.mono_ms) {
            self.reply(
                conn,
                header.xid,
                self.last_zxid,
                Code::SessionExpired,
                &Response::Empty,
                now,
            );
            self.close(conn);
            return;
        }
        let req = match Request::decode(header.op, body, self.config.max_buffer) {
            Ok(req) => req,
            Err(JuteError::UnknownOp(_)) => {
                let zxid = self.last_zxid;
                self.reply(
                    conn,
                    header.xid,
                    zxid,
                    Code::Unimplemented,
                    &Response::Empty,
                    now,
                );
                return;
            }
            Err(err) => {
                tracing::warn!("Failed to decode request type {}: {err}", header.op);
                let zxid = self.last_zxid;
                self.reply(
                    conn,
                    header.xid,
                    zxid,
                    Code::MarshallingError,
                    &Response::Empty,
                    now,
                );
                return;
            }
        };
        let xid = header.xid;
        self.note_touch(session);
        if req.is_write() {
            self.write(conn, session, xid, req, now);
        } else if let Some(req) = self.quorum_read(conn, session, xid, req) {
            self.read(conn, session, xid, req, now);
        }
    }

    fn auth(&self, conn: ConnId) -> AuthInfo {
        self.conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default()
    }

    fn write(&mut self, conn: ConnId, session: i64, xid: i32, req: Request, now: Now) {
        if self.quorum.is_some() {
            self.quorum_write(conn, session, xid, req, now);
            return;
        }
        let auth = self.auth(conn);
        let mut pending = Pending::new(&self.tree);
        let txn = self.make_txn(&mut pending, session, &auth, &req);
        if matches!(req, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        self.last_zxid += 1;
        let rec = TxnRecord {
            session,
            cxid: xid,
            zxid: self.last_zxid,
            time_ms: now.wall_ms,
            txn,
        };
        self.apply_record(rec, Some((conn, xid, &req)), now);
    }

    /// The txn a write request becomes, validated against `pending` in ZooKeeper's check
    /// order: a failed write is an error txn (a failed multi, one error per sub-op: 0 before
    /// the failing one, its code, RUNTIMEINCONSISTENCY after), and still takes a zxid.
    fn make_txn(
        &self,
        pending: &mut Pending<'_>,
        session: i64,
        auth: &AuthInfo,
        req: &Request,
    ) -> Txn {
        match req {
            Request::CloseSession => {
                let paths = pending.ephemerals_of(session);
                for path in &paths {
                    pending.mark_deleted(path);
                }
                Txn::CloseSession { paths }
            }
            Request::Multi(ops) => {
                let mut txns = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    match self.prep(pending, session, auth, op) {
                        Ok((txn, _)) => txns.push(txn),
                        Err(code) => {
                            pending.changes.clear();
                            return Txn::Multi(
                                (0..ops.len())
                                    .map(|j| Txn::Error {
                                        code: match j.cmp(&i) {
                                            std::cmp::Ordering::Less => 0,
                                            std::cmp::Ordering::Equal => code.as_i32(),
                                            std::cmp::Ordering::Greater => {
                                                Code::RuntimeInconsistency.as_i32()
                                            }
                                        },
                                    })
                                    .collect(),
                            );
                        }
                    }
                }
                Txn::Multi(txns)
            }
            other => match self.prep(pending, session, auth, other) {
                Ok((txn, _)) => txn,
                Err(code) => {
                    pending.changes.clear();
                    Txn::Error {
                        code: code.as_i32(),
                    }
                }
            },
        }
    }

    fn multi_result(&self, reply: &Reply) -> MultiResult {
        match reply {
            Reply::Create { path, op } if *op == jute::op::CREATE => {
                MultiResult::Create { path: path.clone() }
            }
            Reply::Create { path, .. } => MultiResult::Create2 {
                path: path.clone(),
                stat: self.tree.stat(path).unwrap_or_default(),
            },
            Reply::Delete => MultiResult::Delete,
            Reply::SetData { path } | Reply::SetAcl { path } => MultiResult::SetData {
                stat: self.tree.stat(path).unwrap_or_default(),
            },
            Reply::Check => MultiResult::Check,
        }
    }

    fn single_result(&self, reply: &Reply) -> Response {
        match reply {
            Reply::Create { path, op } if *op == jute::op::CREATE => {
                Response::Create(CreateResponse { path: path.clone() })
            }
            Reply::Create { path, .. } => Response::Create2(Create2Response {
                path: path.clone(),
                stat: self.tree.stat(path).unwrap_or_default(),
            }),
            Reply::Delete => Response::Empty,
            Reply::SetData { path } | Reply::SetAcl { path } => {
                Response::Stat(self.tree.stat(path).unwrap_or_default())
            }
            Reply::Check => Response::ErrorBody(0),
        }
    }

    /// Validates one write against the tentative state, in ZooKeeper's check order, and
    /// records its effect there.
    fn prep(
        &self,
        pending: &mut Pending<'_>,
        session: i64,
        auth: &AuthInfo,
        req: &Request,
    ) -> Result<(Txn, Reply), Code> {
        match req {
            Request::Create {
                op,
                path,
                data,
                acl,
                flags,
                ttl,
            } => {
                let mode = CreateMode::from_flags(*flags).ok_or(Code::BadArguments)?;
                if mode.is_ttl() || *op == jute::op::CREATE_TTL {
                    if !self.config.extended_types {
                        return Err(Code::Unimplemented);
                    }
                    if *op != jute::op::CREATE_TTL || !mode.is_ttl() || *ttl <= 0 || *ttl > MAX_TTL
                    {
                        return Err(Code::BadArguments);
                    }
                }
                if (*op == jute::op::CREATE_CONTAINER) != (mode == CreateMode::Container) {
                    return Err(Code::BadArguments);
                }
                let last_slash = path.rfind('/').ok_or(Code::BadArguments)?;
                if path.contains('\0') {
                    return Err(Code::BadArguments);
                }
                let acl = tree::fixup_acl(acl, auth)?;
                let parent_path = if last_slash == 0 {
                    "/".to_string()
                } else {
                    path[..last_slash].to_string()
                };
                let mut parent = pending.get(&parent_path).ok_or(Code::NoNode)?;
                tree::check_acl(&parent.acl, perms::CREATE, auth)?;
                let full = if mode.is_sequential() {
                    format!("{path}{:010}", parent.stat.cversion)
                } else {
                    path.clone()
                };
                tree::validate_path(&full)?;
                if pending.get(&full).is_some() {
                    return Err(Code::NodeExists);
                }
                if matches!(
                    Owner::decode(parent.stat.ephemeral_owner),
                    Owner::Session(_)
                ) {
                    return Err(Code::NoChildrenForEphemerals);
                }
                let owner = match mode {
                    m if m.is_ephemeral() => Owner::Session(session),
                    CreateMode::Container => Owner::Container,
                    m if m.is_ttl() => Owner::Ttl(*ttl),
                    _ => Owner::None,
                }
                .encode();
                parent.stat.cversion += 1;
                parent.num_children += 1;
                let parent_cversion = parent.stat.cversion;
                pending.changes.insert(parent_path, Some(parent));
                pending.changes.insert(
                    full.clone(),
                    Some(View {
                        stat: StatPersisted {
                            ephemeral_owner: owner,
                            ..StatPersisted::default()
                        },
                        num_children: 0,
                        acl: Arc::from(acl.as_slice()),
                    }),
                );
                Ok((
                    Txn::Create {
                        path: full.clone(),
                        data: data.clone(),
                        acl,
                        ephemeral_owner: owner,
                        parent_cversion,
                    },
                    Reply::Create {
                        path: full,
                        op: *op,
                    },
                ))
            }
            Request::Delete { path, version } => {
                tree::validate_path(path)?;
                if is_special(path) {
                    return Err(Code::BadArguments);
                }
                let parent_path = parent_of(path).ok_or(Code::BadArguments)?.to_string();
                let mut parent = pending.get(&parent_path).ok_or(Code::NoNode)?;
                tree::check_acl(&parent.acl, perms::DELETE, auth)?;
                let node = pending.get(path).ok_or(Code::NoNode)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                if node.num_children > 0 {
                    return Err(Code::NotEmpty);
                }
                parent.num_children -= 1;
                pending.changes.insert(parent_path, Some(parent));
                pending.changes.insert(path.clone(), None);
                Ok((Txn::Delete { path: path.clone() }, Reply::Delete))
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                tree::validate_path(path)?;
                let mut node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::WRITE, auth)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                node.stat.version = node.stat.version.wrapping_add(1);
                let new_version = node.stat.version;
                pending.changes.insert(path.clone(), Some(node));
                Ok((
                    Txn::SetData {
                        path: path.clone(),
                        data: data.clone(),
                        version: new_version,
                    },
                    Reply::SetData { path: path.clone() },
                ))
            }
            Request::SetAcl { path, acl, version } => {
                tree::validate_path(path)?;
                let acl = tree::fixup_acl(acl, auth)?;
                let mut node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::ADMIN, auth)?;
                if !version_ok(*version, node.stat.aversion) {
                    return Err(Code::BadVersion);
                }
                node.stat.aversion = node.stat.aversion.wrapping_add(1);
                let new_version = node.stat.aversion;
                node.acl = Arc::from(acl.as_slice());
                pending.changes.insert(path.clone(), Some(node));
                Ok((
                    Txn::SetAcl {
                        path: path.clone(),
                        acl,
                        version: new_version,
                    },
                    Reply::SetAcl { path: path.clone() },
                ))
            }
            Request::Check { path, version } => {
                tree::validate_path(path)?;
                let node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::READ, auth)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                Ok((Txn::Check { path: path.clone() }, Reply::Check))
            }
            // A write to ZooKeeper: refused in the pipeline, so it still takes a zxid.
            Request::Reconfig(_) => Err(if self.config.reconfig_enabled {
                Code::Unimplemented
            } else {
                Code::ReconfigDisabled
            }),
            Request::DeleteContainer { path } => {
                let node = pending.get(path).ok_or(Code::NoNode)?;
                if !matches!(
                    Owner::decode(node.stat.ephemeral_owner),
                    Owner::Container | Owner::Ttl(_)
                ) {
                    return Err(Code::BadArguments);
                }
                if node.num_children > 0 {
                    return Err(Code::NotEmpty);
                }
                pending.changes.insert(path.clone(), None);
                Ok((Txn::Delete { path: path.clone() }, Reply::Delete))
            }
            _ => Err(Code::BadArguments),
        }
    }

    fn read(&mut self, conn: ConnId, session: i64, xid: i32, req: Request, now: Now) {
        let zxid = self.last_zxid;
        let auth = self.auth(conn);
        let result: Result<Response, Code> = match req {
            Request::Ping => Ok(Response::Empty),
            Request::Exists { path, watch } => (|| match self.tree.get(&path) {
                Some(node) => {
                    tree::check_acl(node.acl(), perms::READ, &auth)?;
                    let stat = node.client_stat();
                    if watch {
                        self.watches.add_data(&path, conn);
                    }
                    Ok(Response::Stat(stat))
                }
                None => {
                    if watch {
                        self.watches.add_data(&path, conn);
                    }
                    Err(Code::NoNode)
                }
            })(),
            Request::GetData { path, watch } => self.get_data(conn, &path, watch, &auth),
            Request::GetChildren {
                path,
                watch,
                with_stat,
            } => self.get_children(conn, &path, watch, with_stat, &auth),
            Request::GetAcl { path } => (|| {
                let node = self.tree.get(&path).ok_or(Code::NoNode)?;
                tree::check_acl(node.acl(), perms::READ | perms::ADMIN, &auth)?;
                let acl = if tree::check_acl(node.acl(), perms::ADMIN, &auth).is_ok() {
                    node.acl().to_vec()
                } else {
                    tree::mask_digests(node.acl())
                };
                Ok(Response::GetAcl(GetAclResponse {
                    acl,
                    stat: node.client_stat(),
                }))
            })(),
            Request::Sync { path } => Ok(Response::Sync(PathRequest { path })),
            Request::MultiRead(ops) => {
                let mut results = Vec::new();
                for op in ops {
                    let r = match op {
                        Request::GetData { path, watch } => {
                            self.get_data(conn, &path, watch, &auth).map(|r| match r {
                                Response::GetData(g) => MultiResult::GetData {
                                    data: g.data,
                                    stat: g.stat,
                                },
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            })
                        }
                        Request::GetChildren { path, watch, .. } => self
                            .get_children(conn, &path, watch, false, &auth)
                            .map(|r| match r {
                                Response::GetChildren(g) => MultiResult::GetChildren {
                                    children: g.children,
                                },
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            }),
                        _ => Err(Code::BadArguments),
                    };
                    results.push(r.unwrap_or_else(|code| MultiResult::Error(code.as_i32())));
                }
                Ok(Response::Multi(results))
            }
            Request::CheckWatches { path, watcher_type } => {
                match WatcherType::from_i32(watcher_type) {
                    None => Err(Code::BadArguments),
                    Some(kind) if self.watches.has(&path, kind, conn) => Ok(Response::Empty),
                    Some(_) => Err(Code::NoWatcher),
                }
            }
            Request::RemoveWatches { path, watcher_type } => {
                match WatcherType::from_i32(watcher_type) {
                    None => Err(Code::BadArguments),
                    Some(kind) => {
                        if self.watches.remove(&path, kind, conn).is_empty() {
                            Err(Code::NoWatcher)
                        } else {
                            Ok(Response::Empty)
                        }
                    }
                }
            }
            Request::Auth(packet) => {
                let ok = match packet.scheme.as_str() {
                    "digest" => {
                        let clear = String::from_utf8_lossy(&packet.auth).to_string();
                        let id = tree::digest_id(&clear);
                        let is_super = self.config.super_digest.as_deref() == Some(id.as_str());
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.auth.is_super |= is_super;
                            let id = Id {
                                scheme: "digest".into(),
                                id,
                            };
                            if !c.auth.ids.contains(&id) {
                                c.auth.ids.push(id);
                            }
                        }
                        true
                    }
                    "ip" => true,
                    _ => false,
                };
                if ok {
                    self.reply(conn, xid, 0, Code::Ok, &Response::Empty, now);
                } else {
                    self.stats.auth_failed += 1;
                    self.reply(conn, xid, 0, Code::AuthFailed, &Response::Empty, now);
                    self.close(conn);
                }
                return;
            }
            Request::SetWatches(sw) => {
                self.set_watches(conn, &sw);
                Ok(Response::Empty)
            }
            Request::Sasl(_) => Err(Code::Unimplemented),
            Request::GetEphemerals { prefix } => {
                let mut paths: Vec<String> = self
                    .tree
                    .ephemerals_of(session)
                    .into_iter()
                    .filter(|p| p.starts_with(&prefix))
                    .collect();
                paths.sort();
                Ok(Response::Paths(paths))
            }
            Request::GetAllChildrenNumber { path } => (|| {
                let node = self.tree.get(&path).ok_or(Code::NoNode)?;
                tree::check_acl(node.acl(), perms::READ, &auth)?;
                Ok(Response::Count(
                    self.tree.descendant_count(&path).unwrap_or(0),
                ))
            })(),
            Request::AddWatch { path, mode } => (|| {
                // ZooKeeper fails to map an unknown mode while deserializing.
                if mode != 0 && mode != 1 {
                    return Err(Code::MarshallingError);
                }
                self.watches.add_persistent(&path, conn, mode == 1);
                Ok(Response::ErrorBody(0))
            })(),
            Request::WhoAmI => Ok(Response::WhoAmI(WhoAmIResponse {
                client_info: auth
                    .ids
                    .iter()
                    .map(|id| jute::ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        // The digest provider names the user, not the hash.
                        user: match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                            _ => id.id.clone(),
                        },
                    })
                    .collect(),
            })),
            // Writes never get here.
            _ => Err(Code::BadArguments),
        };
        match result {
            Ok(body) => self.reply(conn, xid, zxid, Code::Ok, &body, now),
            Err(code) => self.reply(conn, xid, zxid, code, &Response::Empty, now),
        }
    }

    fn get_data(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
        auth: &AuthInfo,
    ) -> Result<Response, Code> {
        let node = self.tree.get(path).ok_or(Code::NoNode)?;
        tree::check_acl(node.acl(), perms::READ, auth)?;
        let resp = Response::GetData(GetDataResponse {
            data: node.data().map(<[u8]>::to_vec),
            stat: node.client_stat(),
        });
        if watch {
            self.watches.add_data(path, conn);
        }
        Ok(resp)
    }

    fn get_children(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
        with_stat: bool,
        auth: &AuthInfo,
    ) -> Result<Response, Code> {
        let node = self.tree.get(path).ok_or(Code::NoNode)?;
        tree::check_acl(node.acl(), perms::READ, auth)?;
        let mut children: Vec<String> = node.children().map(str::to_string).collect();
        children.sort();
        let stat = node.client_stat();
        if watch {
            self.watches.add_child(path, conn);
        }
        Ok(if with_stat {
            Response::GetChildren2(GetChildren2Response { children, stat })
        } else {
            Response::GetChildren(GetChildrenResponse { children })
        })
    }

    /// setWatches: catch up on what changed since `relative_zxid`, register the rest.
    fn set_watches(&mut self, conn: ConnId, sw: &jute::SetWatches2) {
        let rel = sw.relative_zxid;
        let mut events: Vec<(String, EventType)> = Vec::new();
        for path in &sw.data_watches {
            match self.tree.get(path) {
                None => events.push((path.clone(), EventType::NodeDeleted)),
                Some(n) if n.stat().mzxid > rel => {
                    events.push((path.clone(), EventType::NodeDataChanged))
                }
                Some(_) => self.watches.add_data(path, conn),
            }
        }
        for path in &sw.exist_watches {
            if self.tree.get(path).is_some() {
                events.push((path.clone(), EventType::NodeCreated));
            } else {
                self.watches.add_data(path, conn);
            }
        }
        for path in &sw.child_watches {
            match self.tree.get(path) {
                None => events.push((path.clone(), EventType::NodeDeleted)),
                Some(n) if n.stat().pzxid > rel => {
                    events.push((path.clone(), EventType::NodeChildrenChanged))
                }
                Some(_) => self.watches.add_child(path, conn),
            }
        }
        for path in &sw.persistent_watches {
            self.watches.add_persistent(path, conn, false);
        }
        for path in &sw.persistent_recursive_watches {
            self.watches.add_persistent(path, conn, true);
        }
        for (path, event) in events {
            let frame = jute::notification_frame(&WatcherEvent {
                event_type: event as i32,
                state: 3,
                path,
            });
            self.send(conn, frame);
        }
    }

    fn tick(&mut self, now: Now) {
        // Only a standalone server or a quorum's leader expires sessions and reaps nodes.
        if !matches!(self.quorum_role(), None | Some(QuorumRole::Leader { .. })) {
            return;
        }
        for id in self.sessions.expired(now.mono_ms) {
            tracing::info!("Expiring session 0x{id:x}, timeout of {}ms exceeded", {
                self.sessions.get(id).map_or(0, |s| s.timeout_ms)
            });
            let mut pending = self.pending();
            let txn = self.make_txn(
                &mut pending,
                id,
                &AuthInfo::default(),
                &Request::CloseSession,
            );
            let changes = pending.changes;
            if self.quorum.is_some() {
                self.propose(id, 0, txn, changes, now);
            } else {
                self.submit(id, 0, txn, now);
            }
        }
        if now.mono_ms >= self.next_reap_ms {
            self.next_reap_ms = now.mono_ms + self.config.container_check_interval_ms;
            for path in self.tree.reapable(now.wall_ms) {
                let mut pending = self.pending();
                let req = Request::DeleteContainer { path };
                if let Ok((txn, _)) = self.prep(&mut pending, 0, &AuthInfo::default(), &req) {
                    let changes = pending.changes;
                    if self.quorum.is_some() {
                        self.propose(0, 0, txn, changes, now);
                    } else {
                        self.submit(0, 0, txn, now);
                    }
                }
            }
        }
    }
}

/// How the reply to `req` describes the applied `txn` (none for error and session txns).
fn reply_of(txn: &Txn, req: &Request) -> Option<Reply> {
    match txn {
        Txn::Create { path, .. } => Some(Reply::Create {
            path: path.clone(),
            op: match req {
                Request::Create { op, .. } => *op,
                _ => jute::op::CREATE2,
            },
        }),
        Txn::Delete { .. } => Some(Reply::Delete),
        Txn::SetData { path, .. } => Some(Reply::SetData { path: path.clone() }),
        Txn::SetAcl { path, .. } => Some(Reply::SetAcl { path: path.clone() }),
        Txn::Check { .. } => Some(Reply::Check),
        _ => None,
    }
}

/// The `lop` code `cons` prints for an op.
pub fn op_name(op_code: i32) -> &'static str {
    use jute::op::*;
    match op_code {
        CREATE | CREATE2 | CREATE_CONTAINER | CREATE_TTL => "CREA",
        DELETE | DELETE_CONTAINER => "DELE",
        EXISTS => "EXIS",
        GET_DATA => "GETD",
        SET_DATA => "SETD",
        GET_ACL => "GETA",
        SET_ACL => "SETA",
        GET_CHILDREN | GET_CHILDREN2 => "GETC",
        SYNC => "SYNC",
        PING => "PING",
        CLOSE_SESSION => "CLOS",
        CREATE_SESSION => "SESS",
        MULTI => "MULT",
        MULTI_READ => "MLTR",
        CHECK => "CHEC",
        SET_WATCHES => "SETW",
        SET_WATCHES2 => "STW2",
        ADD_WATCH => "ADDW",
        CHECK_WATCHES => "CHKW",
        REMOVE_WATCHES => "REMW",
        GET_EPHEMERALS => "GETE",
        GET_ALL_CHILDREN_NUMBER => "GETACN",
        WHO_AM_I => "HOMI",
        RECONFIG => "RECO",
        _ => "NA",
    }
}

mod quorum;
#[cfg(test)]
mod tests;

pub use quorum::{Forwarded, QuorumRole};
