//! The core driven directly: exact replies, error codes, watch ordering, sessions.

use super::*;
use crate::coord::jute::{
    AuthPacket, Jute, MultiResult, ReplyHeader, Request, Response, SetWatches2, Stat, op,
};
use crate::coord::tree::{digest_id, open_acl_unsafe};
use crate::seeded::{self, SeededRng};

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
        self.p.step(
            Input::Request {
                conn,
                header: RequestHeader {
                    xid: this,
                    op: op_code,
                },
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
fn crud_with_exact_stats_and_zxids() {
    let mut h = Harness::new();
    h.connect(1); // zxid 1: createSession
    assert_eq!(h.create(1, "/a", 0), Ok("/a".into()));
    let s = h.stat(1, "/a").unwrap();
    assert_eq!((s.czxid, s.mzxid, s.pzxid, s.version), (2, 2, 2, 0));
    assert_eq!(s.ctime, h.now.wall_ms);
    match h.call(1, &set_data("/a", b"hello", 0)) {
        (0, Some(Response::Stat(s))) => assert_eq!((s.version, s.mzxid, s.data_length), (1, 3, 5)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.call(1, &set_data("/a", b"x", 0)).0,
        Code::BadVersion as i32
    );
    match h.call(1, &get_data("/a", false)) {
        (0, Some(Response::GetData(g))) => assert_eq!(g.data.as_deref(), Some(&b"hello"[..])),
        other => panic!("{other:?}"),
    }
    // The failed setData took zxid 4; the delete takes 5.
    let sent = h.send(1, &delete("/a", 1));
    assert!(
        matches!(
            sent[0].1,
            Sent::Reply {
                err: 0,
                zxid: 5,
                ..
            }
        ),
        "{sent:?}"
    );
    assert_eq!(h.stat(1, "/a"), Err(Code::NoNode as i32));
    let root = h.stat(1, "/").unwrap();
    // One create and one delete under / on top of the fresh -1.
    assert_eq!((root.cversion, root.num_children, root.pzxid), (1, 1, 5));
}

#[test]
fn create2_returns_the_stat_and_create_errors_follow_zookeepers_order() {
    let mut h = Harness::new();
    h.connect(1);
    match h.call(
        1,
        &Request::Create {
            op: op::CREATE2,
            path: "/c2".into(),
            data: Some(b"abc".to_vec()),
            acl: open_acl_unsafe(),
            flags: 0,
            ttl: -1,
        },
    ) {
        (0, Some(Response::Create2(c))) => {
            assert_eq!(c.path, "/c2");
            assert_eq!(c.stat.data_length, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.create(1, "/c2", 0), Err(Code::NodeExists as i32));
    assert_eq!(h.create(1, "/x/y", 0), Err(Code::NoNode as i32));
    assert_eq!(h.create(1, "/bad/", 0), Err(Code::NoNode as i32));
    assert_eq!(h.create(1, "/c2/", 0), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "noslash", 0), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "/a//b", 0), Err(Code::NoNode as i32));
    assert_eq!(h.create(1, "//", 0), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "/.", 0), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "/a\0", 0), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "/f", 7), Err(Code::BadArguments as i32));
    assert_eq!(h.create(1, "/f", 4), Err(Code::BadArguments as i32));
    let mut no_acl = create_req("/n", 0);
    if let Request::Create { acl, .. } = &mut no_acl {
        acl.clear();
    }
    assert_eq!(h.call(1, &no_acl).0, Code::InvalidAcl as i32);
    assert_eq!(h.call(1, &delete("/", -1)).0, Code::BadArguments as i32);
    assert_eq!(
        h.call(1, &delete("/zookeeper", -1)).0,
        Code::BadArguments as i32
    );
    h.create(1, "/p", 0).unwrap();
    h.create(1, "/p/q", 0).unwrap();
    assert_eq!(h.call(1, &delete("/p", -1)).0, Code::NotEmpty as i32);
    assert_eq!(h.call(1, &delete("/p/q", 3)).0, Code::BadVersion as i32);
}

#[test]
fn sequential_names_come_from_the_parents_cversion() {
    let mut h = Harness::new();
    h.connect(1);
    h.create(1, "/q", 0).unwrap();
    assert_eq!(h.create(1, "/q/", 2), Ok("/q/0000000000".into()));
    assert_eq!(h.create(1, "/q/x-", 2), Ok("/q/x-0000000001".into()));
    h.call(1, &delete("/q/0000000000", -1));
    assert_eq!(h.create(1, "/q/x-", 3), Ok("/q/x-0000000002".into()));
    // cversion: 3 creates + 1 delete.
    assert_eq!(h.stat(1, "/q").unwrap().cversion, 4);
    // Sequential at the root counts the root's creations (none yet but /q).
    assert_eq!(h.create(1, "/s", 2), Ok("/s0000000001".into()));
}

#[test]
fn ephemerals_have_no_children_and_go_with_their_session() {
    let mut h = Harness::new();
    let (sid, _) = h.connect(1);
    h.connect(2);
    h.create(1, "/e", 1).unwrap();
    assert_eq!(h.stat(2, "/e").unwrap().ephemeral_owner, sid);
    assert_eq!(
        h.create(1, "/e/child", 0),
        Err(Code::NoChildrenForEphemerals as i32)
    );
    match h.call(1, &Request::GetEphemerals { prefix: "/".into() }) {
        (0, Some(Response::Paths(p))) => assert_eq!(p, ["/e"]),
        other => panic!("{other:?}"),
    }
    // Watch it from the other session, then close the owner.
    h.call(2, &get_data("/e", true));
    let sent = h.send(1, &Request::CloseSession);
    assert!(
        matches!(&sent[0], (2, Sent::Event(e)) if e.event_type == 2 && e.path == "/e"),
        "{sent:?}"
    );
    assert!(matches!(sent[1], (1, Sent::Reply { err: 0, .. })));
    assert_eq!(sent[2], (1, Sent::Closed));
    assert_eq!(h.stat(2, "/e"), Err(Code::NoNode as i32));
}

#[test]
fn sessions_expire_after_their_timeout_and_take_their_ephemerals() {
    let mut h = Harness::new();
    let (sid, _) = h.connect(1);
    h.connect(2);
    h.create(1, "/e", 1).unwrap();
    // 1000 ms negotiated; keep session 2 alive with pings.
    for _ in 0..9 {
        h.advance(100);
        h.call(2, &Request::Ping);
    }
    assert!(h.stat(2, "/e").is_ok(), "not yet expired");
    h.call(
        2,
        &Request::Exists {
            path: "/e".into(),
            watch: true,
        },
    );
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.extend(h.advance(100));
        h.call(2, &Request::Ping);
    }
    assert!(sent.contains(&(1, Sent::Closed)), "{sent:?}");
    assert!(
        sent.iter()
            .any(|s| matches!(s, (2, Sent::Event(e)) if e.event_type == 2)),
        "{sent:?}"
    );
    assert_eq!(h.stat(2, "/e"), Err(Code::NoNode as i32));
    // A reconnect with the expired id gets timeOut 0 and a close.
    h.open(3);
    let sent = h.connect_with(3, sid, SessionTable::password(sid));
    match sent.as_slice() {
        [(3, Sent::Connected(r)), (3, Sent::Closed)] => {
            assert_eq!((r.timeout, r.session_id), (0, 0));
            assert_eq!(r.passwd, vec![0; 16]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reconnect_needs_the_password_and_moves_the_session() {
    let mut h = Harness::new();
    let (sid, passwd) = h.connect(1);
    h.create(1, "/e", 1).unwrap();
    h.open(2);
    let sent = h.connect_with(2, sid, vec![1; 16]);
    assert!(
        matches!(&sent[0], (2, Sent::Connected(r)) if r.timeout == 0),
        "{sent:?}"
    );
    h.open(3);
    let sent = h.connect_with(3, sid, passwd);
    // The old connection is closed; the new one gets the same session.
    assert_eq!(sent[0], (1, Sent::Closed));
    assert!(
        matches!(&sent[1], (3, Sent::Connected(r)) if r.session_id == sid && r.timeout == 1000)
    );
    h.next_xid.insert(3, 1);
    assert!(h.stat(3, "/e").is_ok(), "ephemeral survives the move");
}

#[test]
fn a_watch_event_precedes_the_reply_that_could_observe_it() {
    let mut h = Harness::new();
    h.connect(1);
    h.connect(2);
    h.create(1, "/w", 0).unwrap();
    h.call(1, &get_data("/w", true));
    h.call(
        1,
        &Request::GetChildren {
            path: "/w".into(),
            watch: true,
            with_stat: false,
        },
    );
    let sent = h.send(2, &set_data("/w", b"new", -1));
    assert!(matches!(&sent[0], (1, Sent::Event(e)) if e.event_type == 3 && e.path == "/w"));
    assert!(matches!(sent[1], (2, Sent::Reply { err: 0, .. })));
    // One-shot: a second change sends nothing to 1.
    let sent = h.send(2, &set_data("/w", b"again", -1));
    assert_eq!(sent.len(), 1);
    let sent = h.send(2, &create_req("/w/c", 0));
    assert!(matches!(&sent[0], (1, Sent::Event(e)) if e.event_type == 4 && e.path == "/w"));
    // exists on a missing node watches for its creation.
    h.call(
        1,
        &Request::Exists {
            path: "/later".into(),
            watch: true,
        },
    );
    let sent = h.send(2, &create_req("/later", 0));
    assert!(matches!(&sent[0], (1, Sent::Event(e)) if e.event_type == 1 && e.path == "/later"));
    // getData on a missing node registers nothing.
    assert_eq!(h.call(1, &get_data("/nope", true)).0, Code::NoNode as i32);
    let sent = h.send(2, &create_req("/nope", 0));
    assert_eq!(sent.len(), 1);
}

#[test]
fn persistent_and_recursive_watches() {
    let mut h = Harness::new();
    h.connect(1);
    h.connect(2);
    assert_eq!(
        h.call(
            1,
            &Request::AddWatch {
                path: "/r".into(),
                mode: 1,
            }
        ),
        (0, Some(Response::ErrorBody(0)))
    );
    h.create(2, "/r", 0).unwrap();
    let sent = h.send(2, &create_req("/r/a", 0));
    let events: Vec<_> = sent
        .iter()
        .filter_map(|(c, s)| match s {
            Sent::Event(e) if *c == 1 => Some((e.event_type, e.path.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(events, [(1, "/r/a".to_string())]);
    assert_eq!(
        h.call(
            1,
            &Request::CheckWatches {
                path: "/r".into(),
                watcher_type: 3,
            }
        )
        .0,
        0
    );
    assert_eq!(
        h.call(
            1,
            &Request::RemoveWatches {
                path: "/r".into(),
                watcher_type: 3,
            }
        )
        .0,
        0
    );
    assert_eq!(
        h.call(
            1,
            &Request::CheckWatches {
                path: "/r".into(),
                watcher_type: 3,
            }
        )
        .0,
        Code::NoWatcher as i32
    );
}

#[test]
fn set_watches_catches_up_and_registers() {
    let mut h = Harness::new();
    h.connect(1);
    h.create(1, "/d", 0).unwrap();
    h.create(1, "/c", 0).unwrap();
    let rel = h.p.last_zxid();
    h.call(1, &set_data("/d", b"changed", -1));
    h.connect(2);
    let sent = h.send(
        2,
        &Request::SetWatches(SetWatches2 {
            relative_zxid: rel,
            data_watches: vec!["/d".into(), "/gone".into()],
            exist_watches: vec!["/c".into(), "/absent".into()],
            child_watches: vec!["/c".into()],
            persistent_watches: vec![],
            persistent_recursive_watches: vec![],
        }),
    );
    let events: Vec<_> = sent
        .iter()
        .filter_map(|(_, s)| match s {
            Sent::Event(e) => Some((e.event_type, e.path.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        [(3, "/d".into()), (2, "/gone".into()), (1, "/c".into())]
    );
    assert!(matches!(sent.last(), Some((2, Sent::Reply { err: 0, .. }))));
    // The child watch on /c was registered (nothing changed since rel).
    let sent = h.send(1, &create_req("/c/x", 0));
    assert!(matches!(&sent[0], (2, Sent::Event(e)) if e.event_type == 4));
    let sent = h.send(1, &create_req("/absent", 0));
    assert!(matches!(&sent[0], (2, Sent::Event(e)) if e.event_type == 1));
}

#[test]
fn multi_is_atomic_with_zookeepers_result_layout() {
    let mut h = Harness::new();
    h.connect(1);
    let ok = Request::Multi(vec![
        create_req("/m", 0),
        Request::Create {
            op: op::CREATE2,
            path: "/m/a".into(),
            data: Some(b"1".to_vec()),
            acl: open_acl_unsafe(),
            flags: 0,
            ttl: -1,
        },
        set_data("/m/a", b"22", 0),
        Request::Check {
            path: "/m/a".into(),
            version: 1,
        },
        delete("/m/a", 1),
    ]);
    match h.call(1, &ok) {
        (0, Some(Response::Multi(r))) => {
            assert_eq!(r[0], MultiResult::Create { path: "/m".into() });
            match &r[1] {
                MultiResult::Create2 { path, stat } => {
                    assert_eq!(path, "/m/a");
                    assert_eq!(stat.data_length, 1, "the stat right after its own step");
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(&r[2], MultiResult::SetData { stat } if stat.version == 1));
            assert_eq!(r[3], MultiResult::Check);
            assert_eq!(r[4], MultiResult::Delete);
        }
        other => panic!("{other:?}"),
    }
    let before = h.p.tree().node_count();
    let zxid = h.p.last_zxid();
    let bad = Request::Multi(vec![
        create_req("/m/x", 0),
        delete("/missing", -1),
        create_req("/m/y", 0),
    ]);
    let sent = h.send(1, &bad);
    match &sent[..] {
        [
            (
                1,
                Sent::Reply {
                    err: 0,
                    zxid: z,
                    body,
                    ..
                },
            ),
        ] => {
            assert_eq!(*z, zxid + 1, "a failed multi still takes a zxid");
            let r = Response::decode(op::MULTI, body, MAX).unwrap();
            assert_eq!(
                r,
                Response::Multi(vec![
                    MultiResult::Error(0),
                    MultiResult::Error(-101),
                    MultiResult::Error(-2)
                ])
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.p.tree().node_count(), before, "nothing applied");
    // multiRead: independent results.
    match h.call(
        1,
        &Request::MultiRead(vec![
            get_data("/m", false),
            get_data("/nope", false),
            Request::GetChildren {
                path: "/".into(),
                watch: false,
                with_stat: false,
            },
        ]),
    ) {
        (0, Some(Response::Multi(r))) => {
            assert!(matches!(r[0], MultiResult::GetData { .. }));
            assert_eq!(r[1], MultiResult::Error(-101));
            assert_eq!(
                r[2],
                MultiResult::GetChildren {
                    children: vec!["m".into(), "zookeeper".into()]
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn digest_acls_and_the_super_user() {
    let mut h = Harness::new();
    h.connect(1);
    h.connect(2);
    let auth = |who: &str| {
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: who.as_bytes().to_vec(),
        })
    };
    assert_eq!(h.call(1, &auth("alice:secret")).0, 0);
    let creator_all = Request::Create {
        op: op::CREATE,
        path: "/private".into(),
        data: Some(b"s".to_vec()),
        acl: vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "auth".into(),
                id: "".into(),
            },
        }],
        flags: 0,
        ttl: -1,
    };
    assert_eq!(h.call(1, &creator_all).0, 0);
    assert_eq!(
        h.call(2, &get_data("/private", false)).0,
        Code::NoAuth as i32
    );
    assert_eq!(
        h.call(2, &set_data("/private", b"x", -1)).0,
        Code::NoAuth as i32
    );
    assert_eq!(
        h.call(
            2,
            &Request::Exists {
                path: "/private".into(),
                watch: false
            }
        )
        .0,
        Code::NoAuth as i32
    );
    assert_eq!(h.call(1, &get_data("/private", false)).0, 0);
    match h.call(
        1,
        &Request::GetAcl {
            path: "/private".into(),
        },
    ) {
        (0, Some(Response::GetAcl(g))) => {
            assert_eq!(g.acl[0].id.id, digest_id("alice:secret"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.call(2, &auth("super:test")).0, 0);
    assert_eq!(h.call(2, &get_data("/private", false)).0, 0);
    // whoAmI lists the ip identity and the digest user.
    match h.call(1, &Request::WhoAmI) {
        (0, Some(Response::WhoAmI(w))) => {
            let schemes: Vec<_> = w
                .client_info
                .iter()
                .map(|c| c.auth_scheme.as_str())
                .collect();
            assert_eq!(schemes, ["ip", "digest"]);
        }
        other => panic!("{other:?}"),
    }
    // An unknown scheme fails auth and closes the connection.
    let sent = h.send(
        1,
        &Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "kerberos".into(),
            auth: vec![],
        }),
    );
    assert!(matches!(sent[0], (1, Sent::Reply { err: -115, .. })));
    assert_eq!(sent[1], (1, Sent::Closed));
}

#[test]
fn containers_and_ttl_nodes_are_reaped() {
    let mut h = Harness::new();
    h.connect(1);
    let container = Request::Create {
        op: op::CREATE_CONTAINER,
        path: "/box".into(),
        data: Some(vec![]),
        acl: open_acl_unsafe(),
        flags: 4,
        ttl: -1,
    };
    assert!(matches!(
        h.call(1, &container),
        (0, Some(Response::Create2(_)))
    ));
    let ttl = Request::Create {
        op: op::CREATE_TTL,
        path: "/ttl".into(),
        data: Some(vec![]),
        acl: open_acl_unsafe(),
        flags: 5,
        ttl: 500,
    };
    assert!(matches!(h.call(1, &ttl), (0, Some(Response::Create2(_)))));
    let mut bad_ttl = ttl.clone();
    if let Request::Create { ttl, path, .. } = &mut bad_ttl {
        *ttl = 0;
        *path = "/ttl2".into();
    }
    assert_eq!(h.call(1, &bad_ttl).0, Code::BadArguments as i32);
    h.advance(100);
    h.call(1, &Request::Ping);
    assert!(h.stat(1, "/box").is_ok(), "never had a child");
    h.create(1, "/box/item", 0).unwrap();
    h.call(1, &delete("/box/item", -1));
    h.advance(100);
    h.call(1, &Request::Ping);
    assert_eq!(h.stat(1, "/box"), Err(Code::NoNode as i32));
    assert!(h.stat(1, "/ttl").is_ok());
    h.advance(500);
    h.call(1, &Request::Ping);
    assert_eq!(h.stat(1, "/ttl"), Err(Code::NoNode as i32));

    let mut plain = Harness::with(CoreConfig::default());
    plain.connect(1);
    assert_eq!(plain.call(1, &ttl).0, Code::Unimplemented as i32);
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
    h.connect(1);
    for (op_code, body, want) in [
        (10, vec![], Code::Unimplemented),
        (999, vec![], Code::Unimplemented),
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
        h.p.step(
            Input::Request {
                conn: 1,
                header: RequestHeader {
                    xid: 50,
                    op: op_code,
                },
                body,
            },
            h.now,
        );
        let out = h.p.take_output();
        let sent = h.decode(out.actions);
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

#[test]
fn null_data_stays_null() {
    let mut h = Harness::new();
    h.connect(1);
    let mut req = create_req("/null", 0);
    if let Request::Create { data, .. } = &mut req {
        *data = None;
    }
    assert_eq!(h.call(1, &req).0, 0);
    match h.call(1, &get_data("/null", false)) {
        (0, Some(Response::GetData(g))) => {
            assert_eq!(g.data, None);
            assert_eq!(g.stat.data_length, 0);
        }
        other => panic!("{other:?}"),
    }
    h.create(1, "/empty", 0).unwrap();
    h.call(1, &set_data("/empty", b"", -1));
    match h.call(1, &get_data("/empty", false)) {
        (0, Some(Response::GetData(g))) => assert_eq!(g.data, Some(vec![])),
        other => panic!("{other:?}"),
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
