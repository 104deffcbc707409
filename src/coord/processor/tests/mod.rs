//! The core driven directly: exact replies, error codes, watch ordering, sessions.
//!
//! This file holds the harness and the tests of the pipeline as a whole (bad requests,
//! seeded random workloads against the invariants and a model); `handshake`, `reads` and
//! `writes` test what the files of the same names implement.

use super::*;
use crate::coord::jute::{
    AuthPacket, Jute, MultiResult, ReplyHeader, Request, Response, SetWatches2, Stat, op,
};
use crate::coord::tree::{digest_id, open_acl_unsafe};
use crate::seeded::{self, SeededRng};

mod handshake;
mod reads;
mod writes;

const MAX: usize = jute::DEFAULT_MAX_BUFFER;

struct Harness {
    p: Processor,
    now: Now,
    next_xid: HashMap<ConnId, i32>,
}

/// A decoded frame the core sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sent {
    Connected(ConnectResponse),
    Reply {
        xid: i32,
        zxid: i64,
        err: i32,
        body: Vec<u8>,
    },
    Event(WatcherEvent),
    Closed,
}

/// A frame the core sent: the connect response when it is a connection's first, else a reply
/// or a watch event.
pub(super) fn decode_frame(frame: &[u8], first: bool) -> Sent {
    let body = &frame[4..];
    if first {
        return Sent::Connected(ConnectResponse::from_bytes(body, MAX).unwrap());
    }
    let hdr = ReplyHeader::read(&mut jute::Reader::new(body, MAX)).unwrap();
    if hdr.xid == -1 {
        Sent::Event(WatcherEvent::from_bytes(&body[16..], MAX).unwrap())
    } else {
        Sent::Reply {
            xid: hdr.xid,
            zxid: hdr.zxid,
            err: hdr.err,
            body: body[16..].to_vec(),
        }
    }
}

impl Harness {
    fn new() -> Self {
        Self::with(CoreConfig {
            server_id: 1,
            tick_ms: 100,
            min_session_timeout_ms: 200,
            max_session_timeout_ms: 2000,
            super_digest: Some(digest_id("super:test")),
            extended_types: true,
            container_check_interval_ms: 0,
            ..CoreConfig::default()
        })
    }

    fn with(config: CoreConfig) -> Self {
        let now = Now {
            mono_ms: 1_000,
            wall_ms: 1_700_000_000_000,
        };
        Harness {
            p: Processor::new(config, now),
            now,
            next_xid: HashMap::new(),
        }
    }

    fn decode(&self, outputs: Vec<Action>) -> Vec<(ConnId, Sent)> {
        let mut handshaken: HashMap<ConnId, bool> = HashMap::new();
        outputs
            .into_iter()
            .map(|a| match a {
                Action::Close { conn } => (conn, Sent::Closed),
                Action::Send { conn, frame } => {
                    let first = !*handshaken.get(&conn).unwrap_or(&false)
                        && !self.next_xid.contains_key(&conn);
                    handshaken.insert(conn, true);
                    (conn, decode_frame(&frame, first))
                }
            })
            .collect()
    }

    fn open(&mut self, conn: ConnId) {
        self.p.step(
            Input::Open {
                conn,
                addr: "127.0.0.1:5000".parse().unwrap(),
            },
            self.now,
        );
    }

    /// Opens `conn` with a new session; returns (session id, password).
    fn connect(&mut self, conn: ConnId) -> (i64, Vec<u8>) {
        self.open(conn);
        match self.connect_with(conn, 0, vec![0; 16]).as_slice() {
            [(_, Sent::Connected(r))] => {
                self.next_xid.insert(conn, 1);
                (r.session_id, r.passwd.clone())
            }
            other => panic!("{other:?}"),
        }
    }

    fn connect_with(&mut self, conn: ConnId, session: i64, passwd: Vec<u8>) -> Vec<(ConnId, Sent)> {
        self.next_xid.remove(&conn);
        self.p.step(
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
            self.now,
        );
        let out = self.p.take_output();
        self.decode(out.actions)
    }

    /// Sends `req` and returns everything the core emitted.
    fn send(&mut self, conn: ConnId, req: &Request) -> Vec<(ConnId, Sent)> {
        let xid = self.next_xid.entry(conn).or_insert(1);
        let this = *xid;
        *xid += 1;
        let mut body = Vec::new();
        let op_code = req.encode(&mut body);
        self.send_raw(conn, this, op_code, body)
    }

    /// Sends a request of any op code and body bytes; returns what the core sent.
    fn send_raw(&mut self, conn: ConnId, xid: i32, op: i32, body: Vec<u8>) -> Vec<(ConnId, Sent)> {
        self.p.step(
            Input::Request {
                conn,
                header: RequestHeader { xid, op },
                body,
            },
            self.now,
        );
        let out = self.p.take_output();
        self.decode(out.actions)
    }

    /// Sends `req`, expects exactly one reply to `conn`, returns (err, decoded body).
    fn call(&mut self, conn: ConnId, req: &Request) -> (i32, Option<Response>) {
        let mut body = Vec::new();
        let op_code = req.encode(&mut body);
        let sent = self.send(conn, req);
        let replies: Vec<_> = sent
            .into_iter()
            .filter_map(|(c, s)| match s {
                Sent::Reply { err, body, .. } if c == conn => Some((err, body)),
                _ => None,
            })
            .collect();
        assert_eq!(replies.len(), 1, "{req:?}");
        let (err, body) = replies[0].clone();
        let resp = (err == 0).then(|| Response::decode(op_code, &body, MAX).unwrap());
        (err, resp)
    }

    fn create(&mut self, conn: ConnId, path: &str, flags: i32) -> Result<String, i32> {
        match self.call(
            conn,
            &Request::Create {
                op: op::CREATE,
                path: path.into(),
                data: Some(b"v".to_vec()),
                acl: open_acl_unsafe(),
                flags,
                ttl: -1,
            },
        ) {
            (0, Some(Response::Create(c))) => Ok(c.path),
            (err, _) => Err(err),
        }
    }

    fn stat(&mut self, conn: ConnId, path: &str) -> Result<Stat, i32> {
        match self.call(
            conn,
            &Request::Exists {
                path: path.into(),
                watch: false,
            },
        ) {
            (0, Some(Response::Stat(s))) => Ok(s),
            (err, _) => Err(err),
        }
    }

    fn advance(&mut self, ms: i64) -> Vec<(ConnId, Sent)> {
        self.now.mono_ms += ms;
        self.now.wall_ms += ms;
        self.p.step(Input::Tick, self.now);
        let out = self.p.take_output();
        self.decode(out.actions)
    }
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.into(),
        watch,
    }
}

fn set_data(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    }
}

fn delete(path: &str, version: i32) -> Request {
    Request::Delete {
        path: path.into(),
        version,
    }
}

fn create_req(path: &str, flags: i32) -> Request {
    Request::Create {
        op: op::CREATE,
        path: path.into(),
        data: Some(vec![]),
        acl: open_acl_unsafe(),
        flags,
        ttl: -1,
    }
}

#[test]
fn bad_requests_get_zookeepers_codes() {
    let mut h = Harness::new();
    h.open(9);
    // A request before the handshake closes the connection.
    h.p.step(
        Input::Request {
            conn: 9,
            header: RequestHeader { xid: 1, op: 4 },
            body: vec![],
        },
        h.now,
    );
    assert_eq!(h.p.take_output().actions, [Action::Close { conn: 9 }]);
    // An op code the server does not know is answered, then the connection is closed (Apache's
    // UnimplementedRequestProcessor); the session lives on.
    for op_code in [10, 999] {
        h.connect(1);
        let sent = h.send_raw(1, 50, op_code, vec![]);
        assert!(
            matches!(sent.as_slice(), [(1, Sent::Reply { err, .. }), (1, Sent::Closed)] if *err == Code::Unimplemented as i32),
            "op {op_code}: {sent:?}"
        );
    }
    h.connect(1);
    for (op_code, body, want) in [
        (op::GET_DATA, vec![0, 0], Code::MarshallingError),
        (op::CREATE, vec![0xff; 9], Code::MarshallingError),
        (op::SASL, vec![0, 0, 0, 0], Code::Unimplemented),
        (
            op::RECONFIG,
            {
                let mut b = Vec::new();
                jute::ReconfigRequest::default().write(&mut b);
                b
            },
            Code::ReconfigDisabled,
        ),
    ] {
        let sent = h.send_raw(1, 50, op_code, body);
        assert!(
            matches!(sent.as_slice(), [(1, Sent::Reply { err, .. })] if *err == want as i32),
            "op {op_code}: {sent:?}"
        );
    }
    // A client that has seen a later zxid is refused without a reply.
    h.open(5);
    h.p.step(
        Input::Connect {
            conn: 5,
            request: ConnectRequest {
                last_zxid_seen: 1 << 40,
                ..ConnectRequest::default()
            },
        },
        h.now,
    );
    assert_eq!(h.p.take_output().actions, [Action::Close { conn: 5 }]);
    // The old-client form (no readOnly flag) gets no flag back.
    h.open(6);
    h.p.step(
        Input::Connect {
            conn: 6,
            request: ConnectRequest {
                timeout: 100_000,
                passwd: vec![],
                ..ConnectRequest::default()
            },
        },
        h.now,
    );
    match &h.p.take_output().actions[..] {
        [Action::Send { frame, .. }] => {
            let r = ConnectResponse::from_bytes(&frame[4..], MAX).unwrap();
            assert_eq!(r.read_only, None);
            assert_eq!(r.timeout, 2000, "clamped to maxSessionTimeout");
        }
        other => panic!("{other:?}"),
    }
}

/// Random operations from several sessions; after each step the tree keeps its invariants
/// and every connection's replies come back in request order.
#[test]
fn seeded_random_workloads_keep_the_invariants() {
    for seed in seeded::seeds(1..=20) {
        seeded::announce(seed);
        let mut rng = SeededRng::new(seed);
        let mut rand = move |n: u64| rng.below(n);
        let mut h = Harness::new();
        for conn in 1..=3 {
            h.connect(conn);
        }
        let names = ["/a", "/b", "/a/x", "/a/y", "/b/z", "/a/x/q"];
        for _ in 0..400 {
            let conn = 1 + rand(3);
            let path = names[rand(names.len() as u64) as usize];
            let req = match rand(9) {
                0 | 1 => create_req(path, rand(4) as i32),
                2 => delete(path, -1),
                3 => set_data(path, b"z", if rand(2) == 0 { -1 } else { 0 }),
                4 => get_data(path, rand(2) == 0),
                5 => Request::GetChildren {
                    path: path.into(),
                    watch: rand(2) == 0,
                    with_stat: true,
                },
                6 => Request::Multi(vec![create_req(path, 0), delete(path, -1)]),
                7 => {
                    h.advance(rand(60) as i64);
                    Request::Ping
                }
                _ => Request::Exists {
                    path: path.into(),
                    watch: true,
                },
            };
            let expected_xid = h.next_xid[&conn];
            let sent = h.send(conn, &req);
            let own: Vec<i32> = sent
                .iter()
                .filter_map(|(c, s)| match s {
                    Sent::Reply { xid, .. } if *c == conn => Some(*xid),
                    _ => None,
                })
                .collect();
            assert_eq!(own, [expected_xid], "seed {seed}");
            // Invariants: parents exist and list their children; ephemerals are leaves;
            // client cversion = creations*2 - children.
            let tree = h.p.tree();
            tree.walk(|node| {
                let p = node.path();
                if p != "/" {
                    let (parent, name) = crate::coord::tree::split(p);
                    let pn = tree.get(parent).expect("parent");
                    assert!(pn.has_child(name), "seed {seed}: {p}");
                }
                if matches!(
                    Owner::decode(node.stat().ephemeral_owner),
                    Owner::Session(_)
                ) {
                    assert!(
                        node.num_children() == 0,
                        "seed {seed}: ephemeral {p} has children"
                    );
                }
                let s = node.client_stat();
                assert_eq!(s.cversion, node.stat().cversion * 2 - s.num_children);
            });
        }
    }
}

/// A model of the tree's observable behaviour for single writes and reads: the core must give
/// the same error codes, data and versions for seeded random operations from two sessions.
#[test]
fn seeded_random_ops_match_a_model() {
    use std::collections::BTreeMap;
    #[derive(Debug, Clone)]
    struct M {
        data: Vec<u8>,
        version: i32,
        owner: i64,
    }
    for seed in seeded::seeds(1..=25) {
        seeded::announce(seed);
        let mut rng = SeededRng::new(seed);
        let mut rand = move |n: u64| rng.below(n);
        let mut h = Harness::new();
        let mut sessions = [h.connect(1).0, h.connect(2).0];
        let mut model: BTreeMap<String, M> = BTreeMap::new();
        let children = |model: &BTreeMap<String, M>, p: &str| {
            model
                .keys()
                .filter(|k| crate::coord::tree::split(k).0 == p && k.as_str() != p)
                .count()
        };
        let names = ["/a", "/b", "/a/x", "/a/y", "/b/z", "/a/x/q"];
        for step in 0..300 {
            let conn = 1 + rand(2);
            let session = sessions[(conn - 1) as usize];
            let path = names[rand(names.len() as u64) as usize].to_string();
            let (parent, _) = crate::coord::tree::split(&path);
            let parent_exists = parent == "/" || model.contains_key(parent);
            let ctx = format!("seed {seed} step {step} {path}");
            match rand(5) {
                0 => {
                    let ephemeral = rand(2) == 0;
                    let got = h.create(conn, &path, i32::from(ephemeral));
                    let want = if !parent_exists {
                        Err(Code::NoNode as i32)
                    } else if model.contains_key(&path) {
                        Err(Code::NodeExists as i32)
                    } else if model.get(parent).is_some_and(|m| m.owner != 0) {
                        Err(Code::NoChildrenForEphemerals as i32)
                    } else {
                        Ok(path.clone())
                    };
                    assert_eq!(got, want, "{ctx}");
                    if got.is_ok() {
                        let owner = if ephemeral { session } else { 0 };
                        model.insert(
                            path.clone(),
                            M {
                                data: b"v".to_vec(),
                                version: 0,
                                owner,
                            },
                        );
                    }
                }
                1 => {
                    let version = if rand(3) == 0 { 0 } else { -1 };
                    let got = h.call(conn, &delete(&path, version)).0;
                    let want = match model.get(&path) {
                        None => Code::NoNode as i32,
                        Some(m) if version != -1 && m.version != version => Code::BadVersion as i32,
                        Some(_) if children(&model, &path) > 0 => Code::NotEmpty as i32,
                        Some(_) => 0,
                    };
                    assert_eq!(got, want, "{ctx}");
                    if got == 0 {
                        model.remove(&path);
                    }
                }
                2 => {
                    let version = if rand(3) == 0 { 1 } else { -1 };
                    let data = format!("d{step}").into_bytes();
                    let got = h.call(conn, &set_data(&path, &data, version));
                    match model.get_mut(&path) {
                        None => assert_eq!(got.0, Code::NoNode as i32, "{ctx}"),
                        Some(m) if version != -1 && m.version != version => {
                            assert_eq!(got.0, Code::BadVersion as i32, "{ctx}")
                        }
                        Some(m) => {
                            m.version += 1;
                            m.data = data;
                            match got {
                                (0, Some(Response::Stat(s))) => {
                                    assert_eq!(s.version, m.version, "{ctx}")
                                }
                                other => panic!("{ctx}: {other:?}"),
                            }
                        }
                    }
                }
                3 => match (h.call(conn, &get_data(&path, false)), model.get(&path)) {
                    ((0, Some(Response::GetData(g))), Some(m)) => {
                        assert_eq!(g.data.as_deref(), Some(&m.data[..]), "{ctx}");
                        assert_eq!(g.stat.version, m.version, "{ctx}");
                        assert_eq!(g.stat.ephemeral_owner, m.owner, "{ctx}");
                        assert_eq!(
                            g.stat.num_children as usize,
                            children(&model, &path),
                            "{ctx}"
                        );
                    }
                    ((err, _), None) => assert_eq!(err, Code::NoNode as i32, "{ctx}"),
                    (other, m) => panic!("{ctx}: {other:?} vs {m:?}"),
                },
                _ => {
                    // Session 2 closes and reconnects: its ephemerals go.
                    if conn == 2 {
                        h.send(2, &Request::CloseSession);
                        model.retain(|_, m| m.owner != sessions[1]);
                        let (sid, _) = h.connect(2);
                        assert_ne!(sid, sessions[1]);
                        sessions[1] = sid;
                    }
                }
            }
        }
    }
}
