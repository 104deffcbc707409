//! Quorum mode driven without sockets: one leader and learners whose proposals, forwards and
//! sync barriers a test carries by hand, committing when it chooses (as ZAB would after a
//! majority of ACKs), so each ordering rule can be checked at the moment it matters.

use super::*;
use crate::coord::processor::tests::{Sent, decode_frame};
use crate::coord::tree::open_acl_unsafe;

const MAX: usize = jute::DEFAULT_MAX_BUFFER;
const LEADER: usize = 0;

/// Servers 0 (leader) .. n-1 (learners), each with its own connections.
struct Ensemble {
    servers: Vec<Processor>,
    now: Now,
    /// Proposed, not committed yet (zxid order).
    proposed: VecDeque<TxnRecord>,
    /// Sync barriers: (server, token, last zxid proposed when it reached the leader).
    syncs: Vec<(usize, u64, i64)>,
    /// Forwards not yet carried to the leader.
    forwards: VecDeque<Vec<u8>>,
    /// What each server sent its clients, by connection.
    sent: Vec<Vec<(ConnId, Sent)>>,
    handshaken: Vec<BTreeSet<ConnId>>,
    next_xid: HashMap<(usize, ConnId), i32>,
    epoch: u32,
    /// Every committed txn, in order (to catch a lagging server up).
    committed: Vec<TxnRecord>,
}

impl Ensemble {
    fn new(n: usize) -> Self {
        let now = Now {
            mono_ms: 1_000,
            wall_ms: 1_700_000_000_000,
        };
        let servers = (0..n)
            .map(|i| {
                let mut p = Processor::new(
                    CoreConfig {
                        server_id: i as u8 + 1,
                        tick_ms: 100,
                        min_session_timeout_ms: 200,
                        max_session_timeout_ms: 2000,
                        container_check_interval_ms: 0,
                        ..CoreConfig::default()
                    },
                    now,
                );
                p.enable_quorum();
                p
            })
            .collect();
        let mut e = Ensemble {
            servers,
            now,
            proposed: VecDeque::new(),
            syncs: Vec::new(),
            forwards: VecDeque::new(),
            sent: vec![Vec::new(); n],
            handshaken: vec![BTreeSet::new(); n],
            next_xid: HashMap::new(),
            epoch: 1,
            committed: Vec::new(),
        };
        e.elect(1);
        e
    }

    /// Server 0 leads `epoch`; every other server learns.
    fn elect(&mut self, epoch: u32) {
        self.epoch = epoch;
        for (i, p) in self.servers.iter_mut().enumerate() {
            p.set_quorum_role(QuorumRole::NotServing, self.now);
            let role = if i == LEADER {
                QuorumRole::Leader { epoch }
            } else {
                QuorumRole::Learner
            };
            p.set_quorum_role(role, self.now);
        }
        self.collect();
    }

    /// Moves every server's output where it goes: client frames to `sent`, proposals to the
    /// uncommitted queue, forwards to the leader's inbox, sync tokens to the barrier list.
    fn collect(&mut self) {
        for i in 0..self.servers.len() {
            let out = self.servers[i].take_output();
            assert!(out.txns.is_empty(), "quorum mode logs nothing itself");
            for rec in out.proposals {
                assert_eq!(i, LEADER, "only the leader proposes");
                let last = self.proposed.back().map_or(self.last_applied(), |r| r.zxid);
                assert!(
                    crate::coord::zab::follows(last, rec.zxid),
                    "0x{:x} after 0x{last:x}",
                    rec.zxid
                );
                self.proposed.push_back(rec);
            }
            for f in out.forwards {
                assert_ne!(i, LEADER, "the leader forwards nothing");
                self.forwards.push_back(f);
            }
            let last = self.proposed.back().map_or(self.last_applied(), |r| r.zxid);
            for token in out.syncs {
                self.syncs.push((i, token, last));
            }
            for a in out.actions {
                let s = match a {
                    Action::Close { conn } => (conn, Sent::Closed),
                    Action::Send { conn, frame } => {
                        let first = self.handshaken[i].insert(conn);
                        (conn, decode_frame(&frame, first))
                    }
                };
                self.sent[i].push(s);
            }
        }
    }

    fn last_applied(&self) -> i64 {
        self.servers[LEADER].last_zxid()
    }

    /// Carries the learners' forwards to the leader (REQUEST packets).
    fn deliver_forwards(&mut self) {
        while let Some(f) = self.forwards.pop_front() {
            self.servers[LEADER].forwarded(&f, self.now);
            self.collect();
        }
    }

    /// Commits the oldest `n` proposals everywhere, in zxid order, then passes the sync
    /// barriers they complete.
    fn commit(&mut self, n: usize) {
        for _ in 0..n {
            let rec = self.proposed.pop_front().expect("a proposal to commit");
            // Through the bytes a proposal travels as, so the txn codec is covered too.
            let bytes = rec.encode();
            self.committed.push(rec.clone());
            for p in &mut self.servers {
                let rec = TxnRecord::decode(&bytes).unwrap();
                p.apply_committed(rec, self.now);
            }
            self.collect();
        }
        let applied = self.last_applied();
        let (done, waiting): (Vec<_>, Vec<_>) =
            self.syncs.drain(..).partition(|(_, _, z)| *z <= applied);
        self.syncs = waiting;
        for (i, token, _) in done {
            self.servers[i].sync_done(token, self.now);
            self.collect();
        }
    }

    /// Forwards, then commits everything outstanding.
    fn settle(&mut self) {
        loop {
            self.deliver_forwards();
            if self.proposed.is_empty() && self.forwards.is_empty() {
                let applied = self.last_applied();
                if self.syncs.iter().all(|(_, _, z)| *z > applied) {
                    return;
                }
            }
            let n = self.proposed.len();
            self.commit(n);
        }
    }

    fn take(&mut self, server: usize) -> Vec<(ConnId, Sent)> {
        std::mem::take(&mut self.sent[server])
    }

    fn open(&mut self, server: usize, conn: ConnId, session: i64, passwd: Vec<u8>) {
        let now = self.now;
        let p = &mut self.servers[server];
        p.step(
            Input::Open {
                conn,
                addr: "127.0.0.1:5000".parse().unwrap(),
            },
            now,
        );
        p.step(
            Input::Connect {
                conn,
                request: ConnectRequest {
                    protocol_version: 0,
                    last_zxid_seen: 0,
                    timeout: 1000,
                    session_id: session,
                    passwd,
                    read_only: Some(false),
                },
            },
            now,
        );
        self.handshaken[server].remove(&conn);
        self.next_xid.insert((server, conn), 1);
        self.collect();
    }

    /// A new session through `server`, established once its createSession commits.
    fn connect(&mut self, server: usize, conn: ConnId) -> i64 {
        self.open(server, conn, 0, vec![0; 16]);
        assert!(
            self.take(server).is_empty(),
            "no session before its txn commits"
        );
        self.settle();
        match self.take(server).as_slice() {
            [(c, Sent::Connected(r))] if *c == conn => {
                assert_ne!(r.timeout, 0);
                r.session_id
            }
            other => panic!("{other:?}"),
        }
    }

    /// Sends `req` on `conn` of `server`; returns its xid.
    fn send(&mut self, server: usize, conn: ConnId, req: &Request) -> i32 {
        let xid = self.next_xid.entry((server, conn)).or_insert(1);
        let this = *xid;
        *xid += 1;
        let mut body = Vec::new();
        let op = req.encode(&mut body);
        self.servers[server].step(
            Input::Request {
                conn,
                header: RequestHeader { xid: this, op },
                body,
            },
            self.now,
        );
        self.collect();
        this
    }

    fn advance(&mut self, ms: i64) {
        self.now.mono_ms += ms;
        self.now.wall_ms += ms;
        for p in &mut self.servers {
            p.step(Input::Tick, self.now);
        }
        self.collect();
    }

    /// The data of `path` as `server`'s tree holds it.
    fn data(&self, server: usize, path: &str) -> Option<Vec<u8>> {
        self.servers[server]
            .tree()
            .get(path)
            .map(|n| n.data().map(<[u8]>::to_vec).unwrap_or_default())
    }
}

fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create {
        op: jute::op::CREATE,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: open_acl_unsafe(),
        flags,
        ttl: -1,
    }
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.into(),
        watch,
    }
}

fn replies(sent: &[(ConnId, Sent)], conn: ConnId) -> Vec<(i32, i32)> {
    sent.iter()
        .filter_map(|(c, s)| match s {
            Sent::Reply { xid, err, .. } if *c == conn => Some((*xid, *err)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_write_through_a_learner_is_forwarded_proposed_and_answered_on_commit() {
    let mut e = Ensemble::new(3);
    let s = e.connect(1, 10);
    assert_eq!(
        s >> 56,
        2,
        "a session id carries the id of the server that made it"
    );
    // Every server applied the createSession txn, the leader included.
    for p in &e.servers {
        assert!(p.sessions().get(s).is_some());
    }
    let xid = e.send(1, 10, &create("/a", b"x", 0));
    assert!(e.take(1).is_empty(), "no reply before the txn commits");
    assert_eq!(e.forwards.len(), 1);
    e.deliver_forwards();
    assert_eq!(e.proposed.len(), 1);
    let zxid = e.proposed[0].zxid;
    assert_eq!(zxid, make_zxid(1, 2), "createSession was (1, 1)");
    assert!(e.take(1).is_empty());
    e.commit(1);
    match e.take(1).as_slice() {
        [
            (
                10,
                Sent::Reply {
                    xid: x,
                    zxid: z,
                    err: 0,
                    ..
                },
            ),
        ] => assert_eq!((*x, *z), (xid, zxid)),
        other => panic!("{other:?}"),
    }
    for i in 0..3 {
        assert_eq!(e.data(i, "/a"), Some(b"x".to_vec()), "server {i}");
        assert!(e.take(i).is_empty(), "only the origin answers");
    }
}

#[test]
fn the_leader_validates_against_outstanding_proposals_and_failed_writes_take_a_zxid() {
    let mut e = Ensemble::new(3);
    e.connect(LEADER, 1);
    e.connect(2, 2);
    e.send(LEADER, 1, &create("/a", b"1", 0));
    // Not applied yet, but a second create of /a must already fail, and a child of /a
    // must already succeed.
    e.send(2, 2, &create("/a", b"2", 0));
    e.send(2, 2, &create("/a/b", b"", 0));
    e.deliver_forwards();
    let txns: Vec<_> = e.proposed.iter().map(|r| r.txn.clone()).collect();
    assert!(matches!(txns[0], Txn::Create { .. }));
    assert_eq!(
        txns[1],
        Txn::Error {
            code: Code::NodeExists.as_i32()
        }
    );
    assert!(matches!(txns[2], Txn::Create { .. }));
    e.settle();
    assert_eq!(replies(&e.take(LEADER), 1), vec![(1, 0)]);
    assert_eq!(
        replies(&e.take(2), 2),
        vec![(1, Code::NodeExists.as_i32()), (2, 0)]
    );
    assert!(e.servers[1].tree().get("/a/b").is_some());
}

#[test]
fn a_read_never_overtakes_the_same_sessions_earlier_write() {
    let mut e = Ensemble::new(3);
    e.connect(1, 7);
    e.connect(1, 8);
    let w = e.send(1, 7, &create("/k", b"v", 0));
    let r = e.send(1, 7, &get_data("/k", false));
    assert!(e.take(1).is_empty(), "the read waits behind the write");
    // Another session on the same server reads at once (and sees no /k yet).
    let other = e.send(1, 8, &get_data("/k", false));
    assert_eq!(replies(&e.take(1), 8), vec![(other, Code::NoNode.as_i32())]);
    e.settle();
    let sent = e.take(1);
    assert_eq!(replies(&sent, 7), vec![(w, 0), (r, 0)]);
    match &sent[1] {
        (7, Sent::Reply { body, .. }) => {
            let d = jute::GetDataResponse::from_bytes(body, MAX).unwrap();
            assert_eq!(d.data.as_deref(), Some(&b"v"[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_waits_for_the_leader_and_then_for_what_was_proposed_before_it() {
    let mut e = Ensemble::new(3);
    e.connect(LEADER, 1);
    e.connect(2, 2);
    e.send(LEADER, 1, &create("/s", b"", 0));
    let sync = e.send(2, 2, &Request::Sync { path: "/s".into() });
    let read = e.send(2, 2, &get_data("/s", false));
    assert_eq!(e.syncs.len(), 1);
    assert!(e.take(2).is_empty());
    e.commit(1);
    let sent = e.take(2);
    assert_eq!(replies(&sent, 2), vec![(sync, 0), (read, 0)]);
}

#[test]
fn a_watch_fires_on_every_server_when_the_txn_commits_before_the_writers_reply() {
    let mut e = Ensemble::new(3);
    e.connect(LEADER, 1);
    e.connect(1, 2);
    e.connect(2, 3);
    e.send(LEADER, 1, &create("/w", b"0", 0));
    e.settle();
    e.take(LEADER);
    let r = e.send(2, 3, &get_data("/w", true));
    assert_eq!(replies(&e.take(2), 3), vec![(r, 0)]);
    let w = e.send(
        1,
        2,
        &Request::SetData {
            path: "/w".into(),
            data: Some(b"1".to_vec()),
            version: -1,
        },
    );
    e.deliver_forwards();
    assert!(e.take(2).is_empty(), "no event before commit");
    e.commit(1);
    match e.take(2).as_slice() {
        [(3, Sent::Event(ev))] => {
            assert_eq!(ev.path, "/w");
            assert_eq!(ev.event_type, EventType::NodeDataChanged as i32);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(replies(&e.take(1), 2), vec![(w, 0)]);
}

#[test]
fn close_session_is_a_txn_that_takes_the_ephemerals_everywhere() {
    let mut e = Ensemble::new(3);
    let s = e.connect(1, 5);
    e.send(1, 5, &create("/eph", b"", CreateMode::Ephemeral as i32));
    e.settle();
    e.take(1);
    assert!(e.servers[2].tree().get("/eph").is_some());
    let x = e.send(1, 5, &Request::CloseSession);
    e.deliver_forwards();
    match &e.proposed[0].txn {
        Txn::CloseSession { paths } => assert_eq!(paths, &vec!["/eph".to_string()]),
        other => panic!("{other:?}"),
    }
    e.settle();
    let sent = e.take(1);
    assert_eq!(replies(&sent, 5), vec![(x, 0)]);
    assert_eq!(sent.last(), Some(&(5, Sent::Closed)));
    for p in &e.servers {
        assert!(p.tree().get("/eph").is_none());
        assert!(p.sessions().get(s).is_none());
    }
}

#[test]
fn only_the_leader_expires_sessions_and_learners_touches_keep_them_alive() {
    let mut e = Ensemble::new(3);
    let s = e.connect(1, 5);
    e.send(1, 5, &create("/eph", b"", CreateMode::Ephemeral as i32));
    e.settle();
    // The client pings its learner; the learner reports the touch each tick.
    for _ in 0..30 {
        e.send(1, 5, &Request::Ping);
        let touched = e.servers[1].take_touched();
        assert_eq!(touched, vec![s]);
        let report = Processor::touch_report(touched);
        e.servers[LEADER].forwarded(&report, e.now);
        e.advance(100);
        assert!(e.proposed.is_empty(), "a touched session does not expire");
    }
    e.take(1);
    // Silence: only the leader proposes the closeSession, once.
    for _ in 0..25 {
        e.advance(100);
    }
    assert_eq!(e.proposed.len(), 1);
    assert_eq!(e.proposed[0].session, s);
    assert!(matches!(e.proposed[0].txn, Txn::CloseSession { .. }));
    e.settle();
    for p in &e.servers {
        assert!(p.tree().get("/eph").is_none());
        assert!(p.sessions().get(s).is_none());
    }
    assert_eq!(e.take(1).last(), Some(&(5, Sent::Closed)));
}

#[test]
fn losing_the_role_drops_clients_and_a_new_leader_restarts_session_clocks() {
    let mut e = Ensemble::new(3);
    let s = e.connect(2, 9);
    e.send(2, 9, &create("/p", b"", 0));
    e.elect(2);
    // The pending write's client was dropped (it retries elsewhere).
    assert!(e.take(2).contains(&(9, Sent::Closed)));
    e.forwards.clear();
    // The new leader's clock for the session starts now: it expires a timeout later.
    e.advance(900);
    assert!(e.proposed.is_empty());
    for _ in 0..20 {
        e.advance(100);
    }
    assert_eq!(e.proposed.len(), 1);
    assert_eq!(e.proposed[0].session, s);
    assert_eq!(
        e.proposed[0].zxid,
        make_zxid(2, 1),
        "a new epoch's first txn"
    );
}

#[test]
fn not_serving_refuses_clients_and_bad_forwards_are_dropped() {
    let mut e = Ensemble::new(2);
    e.servers[1].set_quorum_role(QuorumRole::NotServing, e.now);
    e.open(1, 3, 0, vec![0; 16]);
    assert_eq!(e.take(1), vec![(3, Sent::Closed)]);
    for bad in [&b""[..], &b"\x00\x00"[..], &[0xff; 40][..]] {
        e.servers[LEADER].forwarded(bad, e.now);
    }
    e.collect();
    assert!(e.proposed.is_empty());
}

#[test]
fn a_learner_behind_a_sessions_creation_catches_up_before_answering_a_reconnect() {
    let mut e = Ensemble::new(3);
    let s = e.connect(1, 10);
    // Server 2 has not applied the createSession yet.
    let now = e.now;
    e.servers[2].reset_state(DataTree::new(), &[], 0, now);
    e.open(2, 20, s, SessionTable::password(s));
    assert!(e.take(2).is_empty(), "no verdict before catching up");
    assert_eq!(e.syncs.len(), 1, "a sync barrier through the leader");
    let log = e.committed.clone();
    for rec in log {
        e.servers[2].apply_committed(rec, now);
    }
    e.collect();
    e.commit(0);
    match e.take(2).as_slice() {
        [(20, Sent::Connected(r))] => assert_eq!((r.session_id, r.timeout), (s, 1000)),
        other => panic!("{other:?}"),
    }
    // The session moved: server 2 reports its touches from now on.
    assert_eq!(e.servers[2].take_touched(), vec![s]);
    // A session nobody knows is still expired after the barrier.
    e.open(2, 21, 0x7777, vec![0; 16]);
    assert!(e.take(2).is_empty());
    e.commit(0);
    match e.take(2).as_slice() {
        [(21, Sent::Connected(r)), (21, Sent::Closed)] => assert_eq!(r.timeout, 0),
        other => panic!("{other:?}"),
    }
}
