//! Writes: exact stats and zxids, create errors in ZooKeeper's order, sequential names,
//! ephemerals, multi, ACLs, containers and TTL nodes (`writes.rs`).

use super::*;

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
            auth: Some(who.as_bytes().to_vec()),
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
    // whoAmI lists the ip identity and the digest user, in the order Apache's set keeps them.
    match h.call(1, &Request::WhoAmI) {
        (0, Some(Response::WhoAmI(w))) => {
            let schemes: Vec<_> = w
                .client_info
                .iter()
                .map(|c| c.auth_scheme.as_str())
                .collect();
            assert_eq!(schemes, ["digest", "ip"]);
        }
        other => panic!("{other:?}"),
    }
    // An unknown scheme fails auth and closes the connection.
    let sent = h.send(
        1,
        &Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "kerberos".into(),
            auth: Some(vec![]),
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
