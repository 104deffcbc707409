//! The real `zkserver` binary on loopback, driven by the `zookeeper-client` crate (a client
//! we did not write) and by a bare protocol client that sees every frame.

mod common;
#[path = "zk/raw.rs"]
mod raw;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::wait_until;
use common::zookeeper::{ZkServer, four_letter};
use hdfs_ha::coord::jute::{self, AuthPacket, Request, Response, SetWatches2};
use raw::{Frame, Raw, closed_by_server, create, get_data, set_data};
use zookeeper_client as zk;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn zookeeper_client_crate_crud_sequential_ephemeral_multi_and_watches() {
    let server = ZkServer::ours("");
    let rt = runtime();
    rt.block_on(async {
        let client = zk::Client::connector()
            .with_session_timeout(Duration::from_secs(5))
            .connect(&server.addr())
            .await
            .expect("connect");
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        let (stat, _) = client.create("/app", b"v1", &persistent).await.unwrap();
        assert_eq!((stat.version, stat.data_length), (0, 2));
        assert_eq!(
            client.create("/app", b"", &persistent).await.unwrap_err(),
            zk::Error::NodeExists
        );
        let (data, stat) = client.get_data("/app").await.unwrap();
        assert_eq!(data, b"v1");
        let stat2 = client
            .set_data("/app", b"v2", Some(stat.version))
            .await
            .unwrap();
        assert_eq!(stat2.version, 1);
        assert_eq!(
            client.set_data("/app", b"v3", Some(0)).await.unwrap_err(),
            zk::Error::BadVersion
        );

        // Sequential names from the parent's cversion.
        let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        let (_, s0) = client.create("/app/job-", b"", &seq).await.unwrap();
        let (_, s1) = client.create("/app/job-", b"", &seq).await.unwrap();
        assert_eq!((s0.into_i64(), s1.into_i64()), (0, 1));
        let mut children = client.list_children("/app").await.unwrap();
        children.sort();
        assert_eq!(children, ["job-0000000000", "job-0000000001"]);
        assert_eq!(client.count_descendants_number("/app").await.unwrap(), 2);

        // Ephemerals: no children, listed for the session.
        let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        client.create("/app/live", b"", &eph).await.unwrap();
        assert_eq!(
            client
                .create("/app/live/x", b"", &persistent)
                .await
                .unwrap_err(),
            zk::Error::NoChildrenForEphemerals
        );
        assert_eq!(client.list_ephemerals("/").await.unwrap(), ["/app/live"]);

        // A one-shot data watch fires on a change made by another session.
        let other = zk::Client::connect(&server.addr()).await.unwrap();
        let (_, _, watcher) = client.get_and_watch_data("/app").await.unwrap();
        other.set_data("/app", b"v4", None).await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
            .await
            .expect("watch fired");
        assert_eq!(event.event_type, zk::EventType::NodeDataChanged);
        assert_eq!(event.path, "/app");

        // A persistent recursive watch sees a grandchild's creation.
        let mut recursive = client
            .watch("/app", zk::AddWatchMode::PersistentRecursive)
            .await
            .unwrap();
        other
            .create("/app/job-0000000000/leaf", b"", &persistent)
            .await
            .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), recursive.changed())
            .await
            .expect("recursive watch fired");
        assert_eq!(event.event_type, zk::EventType::NodeCreated);
        assert_eq!(event.path, "/app/job-0000000000/leaf");

        // Multi: all or nothing.
        let mut writer = client.new_multi_writer();
        writer.add_create("/app/m1", b"", &persistent).unwrap();
        writer.add_delete("/nope", None).unwrap();
        assert!(writer.commit().await.is_err());
        assert_eq!(client.check_stat("/app/m1").await.unwrap(), None);
        let mut writer = client.new_multi_writer();
        writer.add_create("/app/m1", b"", &persistent).unwrap();
        writer.add_set_data("/app/m1", b"x", Some(0)).unwrap();
        writer.commit().await.unwrap();
        assert_eq!(client.get_data("/app/m1").await.unwrap().0, b"x");

        // Digest auth: a creator-only node is closed to an anonymous session.
        let authed = zk::Client::connector()
            .with_auth("digest", b"alice:pw")
            .connect(&server.addr())
            .await
            .unwrap();
        let private = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
        authed.create("/private", b"s", &private).await.unwrap();
        assert_eq!(
            other.get_data("/private").await.unwrap_err(),
            zk::Error::NoAuth
        );
        assert_eq!(authed.get_data("/private").await.unwrap().0, b"s");

        // Closing the session removes its ephemerals.
        drop(client);
        let gone = async {
            loop {
                if other.check_stat("/app/live").await.unwrap().is_none() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), gone)
            .await
            .expect("ephemeral removed after close");
    });
}

#[test]
fn a_watch_event_arrives_before_the_reply_that_observes_the_change() {
    let server = ZkServer::ours("");
    let addr = server.addr();
    let mut a = Raw::new_session(&addr, 10_000);
    let mut b = Raw::new_session(&addr, 10_000);
    assert_eq!(a.call(&create("/w", b"init", 0)).0, 0);
    for round in 0..50 {
        assert_eq!(a.call(&get_data("/w", true)).0, 0);
        // b changes /w; a immediately reads it: the event must come first.
        let value = format!("v{round}");
        let b_xid = b.send(&set_data("/w", value.as_bytes()));
        let a_xid = a.send(&get_data("/w", false));
        // Whether the event came first (otherwise the read overtook b's write).
        let event_first;
        match a.recv() {
            Frame::Event(e) => {
                assert_eq!((e.event_type, e.path.as_str()), (3, "/w"), "round {round}");
                event_first = true;
            }
            Frame::Reply { header, body } => {
                event_first = false;
                // Only acceptable if this read did not see b's write.
                assert_eq!(header.xid, a_xid);
                let r = Response::decode(jute::op::GET_DATA, &body, usize::MAX).unwrap();
                if let Response::GetData(g) = r {
                    assert_ne!(
                        g.data.as_deref(),
                        Some(value.as_bytes()),
                        "round {round}: saw data before event"
                    );
                }
                match a.recv() {
                    Frame::Event(e) => assert_eq!(e.event_type, 3),
                    other => panic!("{other:?}"),
                }
            }
        }
        if event_first {
            match a.recv() {
                Frame::Reply { header, .. } => assert_eq!(header.xid, a_xid),
                other => panic!("{other:?}"),
            }
        }
        match b.recv() {
            Frame::Reply { header, .. } => assert_eq!((header.xid, header.err), (b_xid, 0)),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn sessions_reconnect_with_password_expire_and_rearm_watches() {
    let server = ZkServer::ours("");
    let addr = server.addr();
    let mut owner = Raw::new_session(&addr, 2000);
    assert_eq!(owner.timeout, 2000);
    assert_eq!(owner.call(&create("/lease", b"", 1)).0, 0);
    let (sid, passwd) = (owner.session_id, owner.passwd.clone());
    // Reconnect on a new socket: same session, ephemeral intact, old socket closed.
    let (mut moved, resp) = Raw::connect(&addr, sid, passwd.clone(), 2000);
    assert_eq!((resp.session_id, resp.timeout), (sid, 2000));
    assert!(closed_by_server(&mut owner.stream));
    let (err, _) = moved.call(&Request::Exists {
        path: "/lease".into(),
        watch: false,
    });
    assert_eq!(err, 0);
    // A wrong password gets timeOut 0 and a close.
    let (mut bad, resp) = Raw::connect(&addr, sid, vec![7; 16], 2000);
    assert_eq!((resp.timeout, resp.session_id), (0, 0));
    assert!(closed_by_server(&mut bad.stream));

    // setWatches on a fresh session: catch-up for a node deleted meanwhile.
    let mut watcher = Raw::new_session(&addr, 10_000);
    watcher.send(&Request::SetWatches(SetWatches2 {
        relative_zxid: 0,
        data_watches: vec!["/gone".into()],
        exist_watches: vec!["/lease".into()],
        child_watches: vec![],
        persistent_watches: vec![],
        persistent_recursive_watches: vec![],
    }));
    let mut events = Vec::new();
    loop {
        match watcher.recv() {
            Frame::Event(e) => events.push((e.event_type, e.path)),
            Frame::Reply { header, .. } => {
                assert_eq!((header.xid, header.err), (-8, 0));
                break;
            }
        }
    }
    assert_eq!(
        events,
        [(2, "/gone".to_string()), (1, "/lease".to_string())]
    );

    // Stop pinging: the session expires, the ephemeral goes, a reconnect is told so.
    let mut observer = Raw::new_session(&addr, 10_000);
    assert_eq!(
        observer
            .call(&Request::Exists {
                path: "/lease".into(),
                watch: true
            })
            .0,
        0
    );
    match observer.recv() {
        Frame::Event(e) => assert_eq!((e.event_type, e.path.as_str()), (2, "/lease")),
        other => panic!("{other:?}"),
    }
    assert!(
        closed_by_server(&mut moved.stream),
        "expired session's socket closed"
    );
    let (mut late, resp) = Raw::connect(&addr, sid, passwd, 2000);
    assert_eq!(resp.timeout, 0);
    assert!(closed_by_server(&mut late.stream));
}

#[test]
fn bad_input_closes_only_that_connection() {
    let server = ZkServer::ours("jute.maxbuffer=4096\n");
    let addr = server.addr();
    let mut healthy = Raw::new_session(&addr, 10_000);
    assert_eq!(healthy.call(&create("/ok", b"", 0)).0, 0);

    // A length over jute.maxbuffer, before and after the handshake.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&(1i32 << 20).to_be_bytes()).unwrap();
    assert!(closed_by_server(&mut s));
    let mut victim = Raw::new_session(&addr, 10_000);
    victim.stream.write_all(&5000i32.to_be_bytes()).unwrap();
    assert!(closed_by_server(&mut victim.stream));
    // A negative length.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&(-7i32).to_be_bytes()).unwrap();
    assert!(closed_by_server(&mut s));
    // A first frame that is not a ConnectRequest.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&jute::frame(|o| o.extend_from_slice(&[1, 2, 3])))
        .unwrap();
    assert!(closed_by_server(&mut s));
    // Random bytes (seeded) of every length up to 64.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    println!("garbage seed {state}");
    for len in 0..64 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = closed_by_server(&mut s);
    }
    // A truncated frame, then the client goes away.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(&[0, 0, 0, 40, 0, 0]).unwrap();
    drop(s);
    // An unknown op code gets UNIMPLEMENTED, then the close Apache sends; an undecodable body
    // gets MARSHALLINGERROR and the connection stays.
    let mut c = Raw::new_session(&addr, 10_000);
    let frame = jute::frame(|o| {
        o.extend_from_slice(&5i32.to_be_bytes());
        o.extend_from_slice(&999i32.to_be_bytes());
    });
    c.stream.write_all(&frame).unwrap();
    match c.recv() {
        Frame::Reply { header, .. } => assert_eq!((header.xid, header.err), (5, -6)),
        other => panic!("{other:?}"),
    }
    assert!(closed_by_server(&mut c.stream));
    let mut c = Raw::new_session(&addr, 10_000);
    let frame = jute::frame(|o| {
        o.extend_from_slice(&6i32.to_be_bytes());
        o.extend_from_slice(&4i32.to_be_bytes());
        o.extend_from_slice(&[0, 0]);
    });
    c.stream.write_all(&frame).unwrap();
    match c.recv() {
        Frame::Reply { header, .. } => assert_eq!((header.xid, header.err), (6, -5)),
        other => panic!("{other:?}"),
    }
    // Invalid paths: writes get BADARGUMENTS; reads, as in ZooKeeper, just find no node.
    for path in ["//", "/a/", "/.", "/..", "/a\0b", "noslash"] {
        // create looks the parent up before it validates the whole path.
        let create_err = if path == "/a/" { -101 } else { -8 };
        assert_eq!(c.call(&create(path, b"", 0)).0, create_err, "{path:?}");
        assert_eq!(c.call(&set_data(path, b"")).0, -8, "{path:?}");
        assert_eq!(c.call(&get_data(path, false)).0, -101, "{path:?}");
    }
    // A data buffer over the limit inside a frame under it is refused too.
    assert_eq!(c.call(&set_data("/ok", &[0; 100])).0, 0);
    // The healthy session never noticed.
    assert_eq!(healthy.call(&get_data("/ok", false)).0, 0);
    assert!(four_letter(&addr, "srvr").contains("Mode: standalone"));
}

#[test]
fn four_letter_words_honour_the_whitelist_and_zookeepers_formats() {
    let server = ZkServer::ours(
        "4lw.commands.whitelist=ruok, stat, cons, wchs, envi, conf, dirs, mntr, isro\n",
    );
    let addr = server.addr();
    let mut c = Raw::new_session(&addr, 10_000);
    assert_eq!(c.call(&create("/x", b"", 0)).0, 0);
    assert_eq!(c.call(&get_data("/x", true)).0, 0);
    assert_eq!(four_letter(&addr, "ruok"), "imok");
    assert_eq!(four_letter(&addr, "isro"), "rw");
    assert_eq!(
        four_letter(&addr, "wchc"),
        "wchc is not executed because it is not in the whitelist.\n"
    );
    let srvr = four_letter(&addr, "srvr");
    let lines: Vec<&str> = srvr.lines().collect();
    assert!(lines[0].starts_with("Zookeeper version: 3.8.4-"), "{srvr}");
    assert!(lines[1].starts_with("Latency min/avg/max: "), "{srvr}");
    // The srvr connection itself counts, as in ZooKeeper.
    assert_eq!(lines[4], "Connections: 2");
    assert_eq!(lines[6], "Zxid: 0x2");
    assert_eq!(lines[7], "Mode: standalone");
    assert_eq!(lines[8], "Node count: 6");
    let stat = four_letter(&addr, "stat");
    assert!(stat.contains("\nClients:\n /127.0.0.1:"), "{stat}");
    assert!(stat.contains("[1](queued=0,recved=3,sent=3)\n"), "{stat}");
    assert!(
        stat.contains("[0](queued=0,recved=1,sent=0)\n\nLatency"),
        "{stat}"
    );
    let cons = four_letter(&addr, "cons");
    assert!(
        cons.contains(&format!(",sid=0x{:x},lop=GETD,", c.session_id)),
        "{cons}"
    );
    assert!(cons.ends_with(")\n\n"), "{cons}");
    assert_eq!(
        four_letter(&addr, "wchs"),
        "1 connections watching 1 paths\nTotal watches:1\n"
    );
    assert!(four_letter(&addr, "envi").starts_with("Environment:\nzookeeper.version=3.8.4-"));
    let conf = four_letter(&addr, "conf");
    assert!(conf.starts_with(&format!(
        "clientPort={}\nsecureClientPort=-1\n",
        server.port
    )));
    assert!(conf.contains("tickTime=200\n"));
    let dirs = four_letter(&addr, "dirs");
    assert!(
        dirs.starts_with("datadir_size: ") && dirs.contains("\nlogdir_size: "),
        "{dirs}"
    );
    let mntr = four_letter(&addr, "mntr");
    assert!(mntr.contains("zk_server_state\tstandalone\n"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t6\n"), "{mntr}");
    assert!(mntr.contains("zk_watch_count\t1\n"), "{mntr}");

    // /metrics in Prometheus text.
    let body = http_get(server.metrics_port, "/metrics");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("# TYPE znode_count gauge\nznode_count 6.0\n"),
        "{body}"
    );
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn the_super_user_and_ip_acls() {
    let server = ZkServer::ours(
        "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
    );
    let addr = server.addr();
    let mut alice = Raw::new_session(&addr, 10_000);
    let auth = |who: &str| {
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Some(who.as_bytes().to_vec()),
        })
    };
    assert_eq!(alice.call(&auth("alice:pw")).0, 0);
    let locked = Request::Create {
        op: jute::op::CREATE,
        path: "/locked".into(),
        data: Some(vec![]),
        acl: vec![jute::Acl {
            perms: 31,
            id: jute::Id {
                scheme: "auth".into(),
                id: String::new(),
            },
        }],
        flags: 0,
        ttl: -1,
    };
    assert_eq!(alice.call(&locked).0, 0);
    let mut admin = Raw::new_session(&addr, 10_000);
    assert_eq!(admin.call(&set_data("/locked", b"x")).0, -102);
    assert_eq!(admin.call(&auth("super:test")).0, 0);
    assert_eq!(admin.call(&set_data("/locked", b"x")).0, 0);
    // An ip ACL for loopback lets any local session in.
    let ip = Request::Create {
        op: jute::op::CREATE,
        path: "/local".into(),
        data: Some(vec![]),
        acl: vec![jute::Acl {
            perms: 31,
            id: jute::Id {
                scheme: "ip".into(),
                id: "127.0.0.0/8".into(),
            },
        }],
        flags: 0,
        ttl: -1,
    };
    assert_eq!(admin.call(&ip).0, 0);
    let mut anon = Raw::new_session(&addr, 10_000);
    assert_eq!(anon.call(&get_data("/local", false)).0, 0);
}

#[test]
fn zookeeper_client_crate_ttl_containers_multiread_and_watch_removal() {
    let server = ZkServer::ours("extendedTypesEnabled=true\nznode.container.checkIntervalMs=50\n");
    let rt = runtime();
    rt.block_on(async {
        let client = zk::Client::connect(&server.addr()).await.expect("connect");
        // A TTL node (createTTL, op 21) goes once it is older than its TTL.
        let ttl = zk::CreateMode::Persistent
            .with_acls(zk::Acls::anyone_all())
            .with_ttl(Duration::from_millis(300));
        client.create("/ttl", b"t", &ttl).await.unwrap();
        let (_, stat) = client.get_data("/ttl").await.unwrap();
        assert_eq!(stat.ephemeral_owner, 0, "clients see 0 for TTL nodes");
        // A container (createContainer, op 19) goes when its last child goes.
        let container = zk::CreateMode::Container.with_acls(zk::Acls::anyone_all());
        client.create("/box", b"", &container).await.unwrap();
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        client.create("/box/item", b"", &persistent).await.unwrap();
        client.delete("/box/item", None).await.unwrap();
        let reaped = async {
            loop {
                let ttl_gone = client.check_stat("/ttl").await.unwrap().is_none();
                let box_gone = client.check_stat("/box").await.unwrap().is_none();
                if ttl_gone && box_gone {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), reaped)
            .await
            .expect("TTL node and empty container reaped");

        // multiRead: independent results.
        client.create("/r", b"data", &persistent).await.unwrap();
        let mut reader = client.new_multi_reader();
        reader.add_get_data("/r").unwrap();
        reader.add_get_data("/missing").unwrap();
        reader.add_get_children("/").unwrap();
        let results = reader.commit().await.unwrap();
        assert!(matches!(&results[0], zk::MultiReadResult::Data { data, .. } if data == b"data"));
        assert!(matches!(&results[1], zk::MultiReadResult::Error { err } if *err == zk::Error::NoNode));
        assert!(matches!(&results[2], zk::MultiReadResult::Children { children } if children.contains(&"r".to_string())));

        // Dropping a one-shot watcher removes it on the server (removeWatches, op 18); the
        // session goes on working.
        let (_, _, watcher) = client.get_and_watch_data("/r").await.unwrap();
        drop(watcher);
        client.set_data("/r", b"again", None).await.unwrap();
        // whoAmI and sync.
        let users = client.list_auth_users().await.unwrap();
        assert_eq!(users[0].scheme(), "ip");
        client.sync("/r").await.unwrap();
    });
}

#[test]
fn connections_per_client_ip_are_capped_by_max_client_cnxns() {
    let server = ZkServer::ours("maxClientCnxns=3\n");
    let addr = server.addr();
    let mut sessions: Vec<Raw> = (0..3).map(|_| Raw::new_session(&addr, 10_000)).collect();
    // The fourth connection from 127.0.0.1 is closed before anything is read.
    let mut extra = TcpStream::connect(&addr).unwrap();
    assert!(closed_by_server(&mut extra));
    assert!(
        server
            .log()
            .contains("Too many connections from /127.0.0.1 - max is 3")
    );
    // The others are unaffected; once one goes, a new one is let in.
    assert_eq!(sessions[0].call(&get_data("/", false)).0, 0);
    drop(sessions.pop());
    wait_until("a free connection slot", Duration::from_secs(20), || {
        try_handshake(&addr)
    });
}

/// A handshake that reports a refused connection instead of panicking.
fn try_handshake(addr: &str) -> Option<()> {
    use hdfs_ha::coord::jute::{ConnectRequest, ConnectResponse, Jute};
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = ConnectRequest {
        timeout: 10_000,
        passwd: vec![0; 16],
        read_only: Some(false),
        ..ConnectRequest::default()
    };
    s.write_all(&jute::frame(|o| req.write(o))).ok()?;
    let body = raw::read_frame(&mut s).ok()?;
    let resp = ConnectResponse::from_bytes(&body, usize::MAX).ok()?;
    (resp.timeout > 0).then_some(())
}

#[test]
fn a_client_that_stops_reading_is_cut_off_and_others_go_on() {
    // jute.maxbuffer 4096 puts the cap on queued replies at 64 x 4096 bytes.
    let server = ZkServer::ours("jute.maxbuffer=4096\n");
    let addr = server.addr();
    let mut healthy = Raw::new_session(&addr, 10_000);
    assert_eq!(healthy.call(&create("/big", &[7u8; 4000], 0)).0, 0);
    let mut slow = Raw::new_session(&addr, 10_000);
    // Ask for the 4 KB node thousands of times and never read a reply: once the socket
    // buffers are full, replies queue in the server until the cap closes the connection.
    let mut request = Vec::new();
    for xid in 1..=6000i32 {
        let mut body = Vec::new();
        let op = get_data("/big", false).encode(&mut body);
        request.extend(jute::frame(|o| {
            o.extend_from_slice(&xid.to_be_bytes());
            o.extend_from_slice(&op.to_be_bytes());
            o.extend_from_slice(&body);
        }));
    }
    slow.stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = slow.stream.write_all(&request);
    wait_until(
        "the slow client to be cut off",
        Duration::from_secs(30),
        || {
            server
                .log()
                .contains("queued for a client that does not read")
                .then_some(())
        },
    );
    assert_eq!(healthy.call(&get_data("/big", false)).0, 0);
}
