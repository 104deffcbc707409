//! Quorum mode of the request pipeline. A write is answered only once its txn is committed
//! and applied here; the leader turns writes (its own clients' and those learners forward)
//! into proposals, validated against the tentative state of proposals not applied yet
//! (ZooKeeper's outstanding changes); a learner forwards them. Reads are served locally, but
//! never ahead of an earlier write or sync of the same session. Sessions are created and
//! closed by txns; only the leader expires them, from the touches learners report.
//!
//! Invariants: replies of a session leave in its request order; a watch event is emitted when
//! the txn applies, before any reply that follows; nothing is proposed or forwarded while not
//! serving, and losing the serving role drops every client connection.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::*;
use crate::coord::jute::{ForwardedRequest, Jute};
use crate::coord::zab::make_zxid;

/// What this server is in the ensemble, as far as clients are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumRole {
    /// Electing or syncing: client connections are refused.
    NotServing,
    /// The established leader of `epoch`.
    Leader { epoch: u32 },
    /// A follower or observer: writes go to the leader.
    Learner,
}

/// A request waiting behind its session's earlier write or sync.
#[derive(Debug)]
enum Waiting {
    Write {
        conn: ConnId,
        xid: i32,
        req: Request,
    },
    Read {
        conn: ConnId,
        xid: i32,
        req: Request,
    },
    Sync {
        conn: ConnId,
        xid: i32,
        path: String,
        token: u64,
        done: bool,
    },
}

/// A request a learner forwarded, decoded.
#[derive(Debug)]
pub enum Forwarded {
    CreateSession {
        session: i64,
        timeout: i32,
    },
    Touch {
        sessions: Vec<i64>,
    },
    Request {
        session: i64,
        cxid: i32,
        req: Request,
        auth: AuthInfo,
    },
}

impl Forwarded {
    pub fn decode(bytes: &[u8], max_buffer: usize) -> Result<Forwarded, JuteError> {
        let f = ForwardedRequest::from_bytes(bytes, usize::MAX)?;
        Ok(match f.op {
            jute::op::CREATE_SESSION => Forwarded::CreateSession {
                session: f.session,
                timeout: i32::from_bytes(&f.body, usize::MAX)?,
            },
            jute::op::PING => Forwarded::Touch {
                sessions: Vec::<i64>::from_bytes(&f.body, usize::MAX)?,
            },
            op => Forwarded::Request {
                session: f.session,
                cxid: f.cxid,
                req: Request::decode(op, &f.body, max_buffer)?,
                auth: AuthInfo {
                    ids: f.auth,
                    is_super: f.is_super,
                    // The leader judges by its own rules (`lead` sets them).
                    rules: Default::default(),
                },
            },
        })
    }
}

#[derive(Default)]
pub(super) struct QuorumCtx {
    role: Option<QuorumRole>,
    /// Leader: the zxid of the last proposal.
    last_proposed: i64,
    outstanding: Outstanding,
    waiting: HashMap<i64, VecDeque<Waiting>>,
    /// New sessions waiting for their createSession txn: session → (connection, readOnly).
    connecting: HashMap<i64, (ConnId, Option<bool>)>,
    /// Learner: sessions touched since the last report to the leader.
    touched: BTreeSet<i64>,
    next_token: u64,
    /// Sync barriers in flight: token → session.
    syncs: HashMap<u64, i64>,
    /// Learner: reconnects with a session unknown here, waiting for a sync through the
    /// leader before they are answered: token → (connection, request, readOnly).
    revalidating: HashMap<u64, (ConnId, ConnectRequest, Option<bool>)>,
}

impl Processor {
    /// Switches to quorum mode (not serving until [`Processor::set_quorum_role`]).
    pub fn enable_quorum(&mut self) {
        self.quorum = Some(QuorumCtx {
            role: Some(QuorumRole::NotServing),
            ..QuorumCtx::default()
        });
    }

    pub fn quorum_role(&self) -> Option<QuorumRole> {
        self.quorum.as_ref().and_then(|q| q.role)
    }

    fn role(&self) -> QuorumRole {
        self.quorum_role().unwrap_or(QuorumRole::NotServing)
    }

    /// The serving role changed. Losing it closes every client connection (clients get
    /// CONNECTIONLOSS and move on); becoming leader restarts every session's clock.
    pub fn set_quorum_role(&mut self, role: QuorumRole, now: Now) {
        self.now = now;
        let Some(q) = self.quorum.as_mut() else {
            return;
        };
        q.role = Some(role);
        q.outstanding.clear();
        q.waiting.clear();
        q.connecting.clear();
        q.syncs.clear();
        q.touched.clear();
        q.revalidating.clear();
        match role {
            QuorumRole::NotServing => {
                let conns: Vec<ConnId> = self.conns.keys().copied().collect();
                for conn in conns {
                    self.close(conn);
                }
            }
            QuorumRole::Leader { epoch } => {
                q.last_proposed = make_zxid(epoch, 0);
                for (id, timeout) in self.sessions.all() {
                    self.sessions.add(id, timeout, now.mono_ms);
                }
                for owner in self.tree.ephemeral_owners() {
                    if self.sessions.get(owner).is_none() {
                        self.sessions.add(owner, 0, now.mono_ms);
                    }
                }
            }
            QuorumRole::Learner => {}
        }
    }

    /// Replaces the state after a truncation or an installed snapshot.
    pub fn reset_state(
        &mut self,
        tree: DataTree,
        sessions: &[(i64, i32)],
        last_zxid: i64,
        now: Now,
    ) {
        self.tree = tree;
        self.last_zxid = last_zxid;
        self.sessions = SessionTable::new(self.config.server_id, now.wall_ms, self.config.tick_ms);
        for (id, timeout) in sessions {
            self.sessions.add(*id, *timeout, now.mono_ms);
        }
    }

    /// Sessions touched here since the last call (a learner reports them to the leader).
    pub fn take_touched(&mut self) -> Vec<i64> {
        self.quorum
            .as_mut()
            .map(|q| std::mem::take(&mut q.touched).into_iter().collect())
            .unwrap_or_default()
    }

    /// The bytes of a touch report.
    pub fn touch_report(sessions: Vec<i64>) -> Vec<u8> {
        ForwardedRequest {
            session: 0,
            cxid: 0,
            op: jute::op::PING,
            body: sessions.to_bytes(),
            auth: Vec::new(),
            is_super: false,
        }
        .to_bytes()
    }

    pub(super) fn pending(&self) -> Pending<'_> {
        Pending {
            tree: &self.tree,
            outstanding: self.quorum.as_ref().map(|q| &q.outstanding),
            changes: HashMap::new(),
        }
    }

    /// Leader: queues `txn` as the next proposal, recording its tentative changes.
    pub(super) fn propose(
        &mut self,
        session: i64,
        cxid: i32,
        txn: Txn,
        changes: HashMap<String, Option<View>>,
        now: Now,
    ) {
        let Some(q) = self.quorum.as_mut() else {
            return;
        };
        if !matches!(q.role, Some(QuorumRole::Leader { .. })) {
            return;
        }
        q.last_proposed += 1;
        let zxid = q.last_proposed;
        for (path, view) in changes {
            q.outstanding.insert(path, (zxid, view));
        }
        self.out.proposals.push(TxnRecord {
            session,
            cxid,
            zxid,
            time_ms: now.wall_ms,
            txn,
        });
    }

    /// Leader: validates a write (of a local client or a learner's) and proposes it.
    fn lead_write(&mut self, session: i64, cxid: i32, req: &Request, auth: &AuthInfo, now: Now) {
        let (txn, changes) = if !self.sessions.is_live(session) {
            (
                Txn::Error {
                    code: Code::SessionExpired.as_i32(),
                },
                HashMap::new(),
            )
        } else {
            let mut pending = self.pending();
            let txn = self.make_txn(&mut pending, session, auth, req);
            (txn, pending.changes)
        };
        if matches!(req, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        self.propose(session, cxid, txn, changes, now);
    }

    fn forward(&mut self, session: i64, cxid: i32, op: i32, body: Vec<u8>, auth: &AuthInfo) {
        self.out.forwards.push(
            ForwardedRequest {
                session,
                cxid,
                op,
                body,
                auth: auth.ids.clone(),
                is_super: auth.is_super,
            }
            .to_bytes(),
        );
    }

    pub(super) fn quorum_write(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: Request,
        now: Now,
    ) {
        let auth = self.auth(conn);
        match self.role() {
            QuorumRole::NotServing => {
                self.close(conn);
                return;
            }
            QuorumRole::Leader { .. } => self.lead_write(session, xid, &req, &auth, now),
            QuorumRole::Learner => {
                let mut body = Vec::new();
                let op = req.encode(&mut body);
                self.forward(session, xid, op, body, &auth);
            }
        }
        if let Some(q) = self.quorum.as_mut() {
            q.waiting
                .entry(session)
                .or_default()
                .push_back(Waiting::Write { conn, xid, req });
        }
    }

    /// A read or sync in quorum mode: queued behind the session's pending write or sync,
    /// sync sent through the leader. False when it can be served right now.
    pub(super) fn quorum_read(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: Request,
    ) -> Option<Request> {
        let Some(q) = self.quorum.as_mut() else {
            return Some(req);
        };
        if let Request::Sync { path } = req {
            q.next_token += 1;
            let token = q.next_token;
            q.syncs.insert(token, session);
            q.waiting
                .entry(session)
                .or_default()
                .push_back(Waiting::Sync {
                    conn,
                    xid,
                    path,
                    token,
                    done: false,
                });
            self.out.syncs.push(token);
            return None;
        }
        match q.waiting.get_mut(&session) {
            Some(queue) if !queue.is_empty() => {
                queue.push_back(Waiting::Read { conn, xid, req });
                None
            }
            _ => Some(req),
        }
    }

    pub(super) fn note_touch(&mut self, session: i64) {
        if let Some(q) = self.quorum.as_mut()
            && q.role == Some(QuorumRole::Learner)
        {
            q.touched.insert(session);
        }
    }

    /// Quorum handshake for a new session: true when handled here.
    pub(super) fn quorum_connect(
        &mut self,
        conn: ConnId,
        req: &ConnectRequest,
        read_only: Option<bool>,
        now: Now,
    ) -> bool {
        let role = self.role();
        if self.quorum.is_none() {
            return false;
        }
        if role == QuorumRole::NotServing {
            self.close(conn);
            return true;
        }
        if req.session_id != 0 {
            // A learner may lag behind the createSession of a session made elsewhere: before
            // declaring it expired, catch up with everything the leader proposed so far (a
            // sync barrier), then decide from the local table (ZooKeeper asks the leader).
            if role == QuorumRole::Learner && !self.sessions.is_live(req.session_id) {
                if let Some(q) = self.quorum.as_mut() {
                    q.next_token += 1;
                    let token = q.next_token;
                    q.revalidating.insert(token, (conn, req.clone(), read_only));
                    self.out.syncs.push(token);
                }
                return true;
            }
            self.note_touch(req.session_id);
            return false;
        }
        let id = self.sessions.allocate_id();
        let timeout = SessionTable::negotiate(
            req.timeout,
            self.config.min_session_timeout_ms,
            self.config.max_session_timeout_ms,
        );
        if let Some(q) = self.quorum.as_mut() {
            q.connecting.insert(id, (conn, read_only));
        }
        match role {
            QuorumRole::Leader { .. } => self.propose(
                id,
                0,
                Txn::CreateSession {
                    timeout_ms: timeout,
                },
                HashMap::new(),
                now,
            ),
            _ => self.forward(
                id,
                0,
                jute::op::CREATE_SESSION,
                timeout.to_bytes(),
                &AuthInfo::default(),
            ),
        }
        true
    }

    /// Leader: a learner's forwarded request.
    pub fn forwarded(&mut self, data: &[u8], now: Now) {
        self.now = now;
        if !matches!(self.role(), QuorumRole::Leader { .. }) {
            return;
        }
        match Forwarded::decode(data, self.config.max_buffer) {
            Ok(Forwarded::CreateSession { session, timeout }) => self.propose(
                session,
                0,
                Txn::CreateSession {
                    timeout_ms: timeout,
                },
                HashMap::new(),
                now,
            ),
            Ok(Forwarded::Touch { sessions }) => {
                for id in sessions {
                    self.sessions.touch(id, now.mono_ms);
                }
            }
            Ok(Forwarded::Request {
                session,
                cxid,
                req,
                mut auth,
            }) => {
                auth.rules = self.config.acl_rules;
                self.lead_write(session, cxid, &req, &auth, now)
            }
            Err(e) => tracing::warn!("dropping a malformed forwarded request: {e}"),
        }
    }

    /// A committed txn: applied here, answered if it came from a client of this server.
    pub fn apply_committed(&mut self, rec: TxnRecord, now: Now) {
        self.now = now;
        let session = rec.session;
        let mut origin = None;
        let mut connecting = None;
        if let Some(q) = self.quorum.as_mut() {
            let zxid = rec.zxid;
            q.outstanding.retain(|_, (z, _)| *z > zxid);
            if let Some(queue) = q.waiting.get_mut(&session)
                && matches!(queue.front(), Some(Waiting::Write { xid, .. }) if *xid == rec.cxid)
                && let Some(Waiting::Write { conn, xid, req }) = queue.pop_front()
            {
                origin = Some((conn, xid, req));
            }
            if matches!(rec.txn, Txn::CreateSession { .. }) {
                connecting = q.connecting.remove(&session);
            }
        }
        let timeout = match &rec.txn {
            Txn::CreateSession { timeout_ms } => Some(*timeout_ms),
            _ => None,
        };
        self.apply_record(rec, origin.as_ref().map(|(c, x, r)| (*c, *x, r)), now);
        if let (Some((conn, read_only)), Some(timeout)) = (connecting, timeout) {
            tracing::info!("Established session 0x{session:x} with negotiated timeout {timeout}");
            self.welcome(conn, session, timeout, read_only, now);
        }
        self.drain_waiting(session, now);
    }

    /// A sync barrier passed.
    pub fn sync_done(&mut self, token: u64, now: Now) {
        self.now = now;
        let Some(q) = self.quorum.as_mut() else {
            return;
        };
        if let Some((conn, req, read_only)) = q.revalidating.remove(&token) {
            let session = req.session_id;
            self.handshake(conn, req, read_only, now);
            if self.sessions.is_live(session) {
                self.note_touch(session);
            }
            return;
        }
        let Some(session) = q.syncs.remove(&token) else {
            return;
        };
        if let Some(queue) = q.waiting.get_mut(&session) {
            for w in queue.iter_mut() {
                if let Waiting::Sync { token: t, done, .. } = w
                    && *t == token
                {
                    *done = true;
                }
            }
        }
        self.drain_waiting(session, now);
    }

    /// Answers what waited behind a session's writes and syncs, up to the next one still
    /// in flight.
    fn drain_waiting(&mut self, session: i64, now: Now) {
        loop {
            let Some(q) = self.quorum.as_mut() else {
                return;
            };
            let Some(queue) = q.waiting.get_mut(&session) else {
                return;
            };
            match queue.front() {
                None => {
                    q.waiting.remove(&session);
                    return;
                }
                Some(Waiting::Write { .. }) | Some(Waiting::Sync { done: false, .. }) => return,
                Some(_) => {}
            }
            match queue.pop_front() {
                Some(Waiting::Read { conn, xid, req }) => self.read(conn, session, xid, req, now),
                Some(Waiting::Sync {
                    conn, xid, path, ..
                }) => {
                    let zxid = self.last_zxid;
                    self.reply(
                        conn,
                        xid,
                        zxid,
                        Code::Ok,
                        &Response::Sync(PathRequest { path }),
                        now,
                    );
                }
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
