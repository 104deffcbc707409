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
//!
//! Layout: this file holds the state, the inputs and outputs, and the dispatch of frames;
//! `handshake` answers connect requests, `reads` and `writes` the requests, `quorum` what
//! changes when the processor serves an ensemble (forwarding, proposals, session checks).

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
    pub acl_rules: tree::AclRules,
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
            acl_rules: tree::AclRules::default(),
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
                            rules: tree::AclRules::default(),
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
            Err(JuteError::UnknownOp(op)) => {
                // Apache's UnimplementedRequestProcessor answers, then closes the session's
                // connection.
                tracing::warn!("Received packet at server of unknown type {op}");
                let zxid = self.last_zxid;
                self.reply(
                    conn,
                    header.xid,
                    zxid,
                    Code::Unimplemented,
                    &Response::Empty,
                    now,
                );
                self.close(conn);
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

    /// The connection's ids, judged by this server's ACL rules.
    fn auth(&self, conn: ConnId) -> AuthInfo {
        let mut auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        auth.rules = self.config.acl_rules;
        auth
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

mod handshake;
mod quorum;
mod reads;
#[cfg(test)]
mod tests;
mod writes;

pub use quorum::{Forwarded, QuorumRole};
