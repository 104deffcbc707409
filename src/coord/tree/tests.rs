use super::*;

fn create(tree: &mut DataTree, zxid: i64, path: &str, owner: i64) -> Vec<Change> {
    let (parent, _) = split(path);
    let pc = tree.get(parent).unwrap().stat().cversion + 1;
    let mut changes = Vec::new();
    tree.apply(
        zxid,
        1000 + zxid,
        &Txn::Create {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: open_acl_unsafe(),
            ephemeral_owner: owner,
            parent_cversion: pc,
        },
        &mut changes,
    );
    changes
}

#[test]
fn a_fresh_tree_looks_like_zookeepers() {
    let tree = DataTree::new();
    assert_eq!(tree.node_count(), 5);
    let root = tree.stat("/").unwrap();
    assert_eq!(root.cversion, -1);
    assert_eq!(root.num_children, 1);
    assert_eq!(tree.stat(ZOOKEEPER).unwrap().cversion, -2);
    let mut kids = tree.children(ZOOKEEPER).unwrap();
    kids.sort();
    assert_eq!(kids, ["config", "quota"]);
    assert_eq!(&**tree.get(CONFIG).unwrap().acl(), &read_acl_unsafe()[..]);
}

#[test]
fn stats_follow_zookeepers_rules() {
    let mut tree = DataTree::new();
    let changes = create(&mut tree, 1, "/a", 0);
    assert_eq!(
        changes,
        [
            Change {
                path: "/a".into(),
                event: EventType::NodeCreated
            },
            Change {
                path: "/".into(),
                event: EventType::NodeChildrenChanged
            }
        ]
    );
    let a = tree.stat("/a").unwrap();
    assert_eq!((a.czxid, a.mzxid, a.pzxid), (1, 1, 1));
    assert_eq!((a.ctime, a.mtime), (1001, 1001));
    assert_eq!((a.version, a.cversion, a.aversion), (0, 0, 0));
    assert_eq!(a.data_length, 1);
    create(&mut tree, 2, "/a/b", 0);
    create(&mut tree, 3, "/a/c", 0);
    let mut changes = Vec::new();
    tree.apply(
        4,
        2000,
        &Txn::Delete {
            path: "/a/b".into(),
        },
        &mut changes,
    );
    let a = tree.stat("/a").unwrap();
    // Two creates and one delete: cversion 3, one child left, pzxid of the delete.
    assert_eq!((a.cversion, a.num_children, a.pzxid, a.mzxid), (3, 1, 4, 1));
    tree.apply(
        5,
        3000,
        &Txn::SetData {
            path: "/a".into(),
            data: Some(b"xyz".to_vec()),
            version: 1,
        },
        &mut changes,
    );
    let a = tree.stat("/a").unwrap();
    assert_eq!(
        (a.version, a.mzxid, a.mtime, a.data_length),
        (1, 5, 3000, 3)
    );
    assert_eq!(a.czxid, 1);
    tree.apply(
        6,
        3000,
        &Txn::SetAcl {
            path: "/a".into(),
            acl: read_acl_unsafe(),
            version: 1,
        },
        &mut changes,
    );
    let a = tree.stat("/a").unwrap();
    assert_eq!((a.aversion, a.version, a.mzxid), (1, 1, 5));
}

#[test]
fn ephemerals_containers_and_ttls_are_tracked() {
    let mut tree = DataTree::new();
    create(&mut tree, 1, "/e", 0x1234);
    create(&mut tree, 2, "/c", CONTAINER_OWNER);
    create(&mut tree, 3, "/t", Owner::Ttl(100).encode());
    assert_eq!(tree.ephemerals_of(0x1234), ["/e"]);
    assert_eq!(tree.ephemeral_count(), 1);
    assert_eq!(tree.stat("/e").unwrap().ephemeral_owner, 0x1234);
    assert_eq!(tree.stat("/c").unwrap().ephemeral_owner, 0);
    assert_eq!(tree.stat("/t").unwrap().ephemeral_owner, 0);
    // An empty container that never had a child stays; the TTL node expires.
    assert_eq!(tree.reapable(1003 + 100), Vec::<String>::new());
    assert_eq!(tree.reapable(1003 + 101), ["/t"]);
    create(&mut tree, 4, "/c/x", 0);
    let mut changes = Vec::new();
    tree.apply(
        5,
        0,
        &Txn::Delete {
            path: "/c/x".into(),
        },
        &mut changes,
    );
    assert_eq!(tree.reapable(0), ["/c"]);
    tree.apply(
        6,
        0,
        &Txn::CloseSession {
            paths: vec!["/e".into()],
        },
        &mut changes,
    );
    assert!(tree.get("/e").is_none());
    assert!(tree.ephemerals_of(0x1234).is_empty());
    assert_eq!(
        Owner::decode(Owner::Ttl(MAX_TTL).encode()),
        Owner::Ttl(MAX_TTL)
    );
    assert_eq!(Owner::decode(CONTAINER_OWNER), Owner::Container);
}

#[test]
fn replay_is_idempotent() {
    let mut tree = DataTree::new();
    create(&mut tree, 1, "/a", 0);
    let once = tree.stat("/").unwrap();
    // Re-applying the same create (as replay over a snapshot does) changes nothing.
    let mut changes = Vec::new();
    tree.apply(
        1,
        1001,
        &Txn::Create {
            path: "/a".into(),
            data: Some(b"d".to_vec()),
            acl: open_acl_unsafe(),
            ephemeral_owner: 0,
            parent_cversion: 1,
        },
        &mut changes,
    );
    assert!(changes.is_empty());
    assert_eq!(tree.stat("/").unwrap(), once);
    tree.apply(2, 0, &Txn::Delete { path: "/a".into() }, &mut changes);
    tree.apply(2, 0, &Txn::Delete { path: "/a".into() }, &mut changes);
    assert_eq!(tree.node_count(), 5);
}

#[test]
fn descendants_are_counted() {
    let mut tree = DataTree::new();
    create(&mut tree, 1, "/a", 0);
    create(&mut tree, 2, "/a/b", 0);
    create(&mut tree, 3, "/a/b/c", 0);
    assert_eq!(tree.descendant_count("/a"), Some(2));
    assert_eq!(tree.descendant_count("/"), Some(6));
    assert_eq!(tree.descendant_count("/nope"), None);
    let mut seen = Vec::new();
    tree.walk(|n| seen.push(n.path().to_string()));
    let pos = |p: &str| seen.iter().position(|s| s == p).unwrap();
    assert!(pos("/a") < pos("/a/b") && pos("/a/b") < pos("/a/b/c"));
    assert_eq!(seen.len(), 7);
}

#[test]
fn paths_are_validated_like_zookeeper() {
    for good in [
        "/",
        "/a",
        "/a/b",
        "/a.b",
        "/...",
        "/a/.b",
        "/é",
        "/zookeeper",
    ] {
        assert_eq!(validate_path(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "a",
        "//",
        "/a/",
        "/a//b",
        "/.",
        "/..",
        "/a/./b",
        "/a/../b",
        "/a\0b",
        "/a\u{1}",
        "/\u{7f}",
        "/\u{9f}",
        "/\u{e000}",
        "/\u{fff0}",
    ] {
        assert_eq!(validate_path(bad), Err(Code::BadArguments), "{bad:?}");
    }
}

#[test]
fn acls_check_world_digest_ip_and_super() {
    let anyone = AuthInfo {
        ids: vec![Id {
            scheme: "ip".into(),
            id: "127.0.0.1".into(),
        }],
        is_super: false,
        rules: AclRules::default(),
    };
    assert_eq!(check_acl(&open_acl_unsafe(), perms::WRITE, &anyone), Ok(()));
    assert_eq!(
        check_acl(&read_acl_unsafe(), perms::WRITE, &anyone),
        Err(Code::NoAuth)
    );
    assert_eq!(check_acl(&[], perms::ADMIN, &anyone), Ok(()));
    let digest = digest_id("super:test");
    assert_eq!(digest, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    let user_acl = vec![Acl {
        perms: perms::READ | perms::WRITE,
        id: Id {
            scheme: "digest".into(),
            id: digest_id("u:p"),
        },
    }];
    assert_eq!(
        check_acl(&user_acl, perms::READ, &anyone),
        Err(Code::NoAuth)
    );
    let mut user = anyone.clone();
    user.ids.push(Id {
        scheme: "digest".into(),
        id: digest_id("u:p"),
    });
    assert_eq!(check_acl(&user_acl, perms::READ, &user), Ok(()));
    assert_eq!(
        check_acl(&user_acl, perms::DELETE, &user),
        Err(Code::NoAuth)
    );
    let superuser = AuthInfo {
        ids: vec![],
        is_super: true,
        rules: AclRules::default(),
    };
    assert_eq!(check_acl(&user_acl, perms::ADMIN, &superuser), Ok(()));
    let ip_acl = |id: &str| {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "ip".into(),
                id: id.into(),
            },
        }]
    };
    assert_eq!(
        check_acl(&ip_acl("127.0.0.0/8"), perms::READ, &anyone),
        Ok(())
    );
    assert_eq!(
        check_acl(&ip_acl("127.0.0.1"), perms::READ, &anyone),
        Ok(())
    );
    assert_eq!(
        check_acl(&ip_acl("10.0.0.0/8"), perms::READ, &anyone),
        Err(Code::NoAuth)
    );
}

#[test]
fn acl_fixup_validates_and_expands_auth() {
    let anon = AuthInfo {
        ids: vec![Id {
            scheme: "ip".into(),
            id: "127.0.0.1".into(),
        }],
        is_super: false,
        rules: AclRules::default(),
    };
    let acl = |scheme: &str, id: &str| {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }]
    };
    assert_eq!(fixup_acl(&[], &anon), Err(Code::InvalidAcl));
    assert_eq!(
        fixup_acl(&acl("world", "bob"), &anon),
        Err(Code::InvalidAcl)
    );
    assert_eq!(fixup_acl(&acl("auth", ""), &anon), Err(Code::InvalidAcl));
    assert_eq!(fixup_acl(&acl("bogus", "x"), &anon), Err(Code::InvalidAcl));
    assert_eq!(
        fixup_acl(&acl("digest", "nocolon"), &anon),
        Err(Code::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(&acl("ip", "1.2.3.4/99"), &anon),
        Err(Code::InvalidAcl)
    );
    assert!(fixup_acl(&acl("ip", "10.0.0.0/8"), &anon).is_ok());
    let mut user = anon.clone();
    user.ids.push(Id {
        scheme: "digest".into(),
        id: digest_id("u:p"),
    });
    let fixed = fixup_acl(&acl("auth", ""), &user).unwrap();
    assert_eq!(fixed, acl("digest", &digest_id("u:p")));
    let mut twice = acl("world", "anyone");
    twice.extend(acl("world", "anyone"));
    assert_eq!(fixup_acl(&twice, &anon).unwrap().len(), 1);
    assert_eq!(
        mask_digests(&acl("digest", "u:hash"))[0].id.id,
        "u:x".to_string()
    );
}

/// The edges where Apache's providers decide: Java's `split` and `Integer.parseInt`, IPv4
/// only, `/-0` masks, `skipACL`, a disabled digest provider, and the order of a
/// connection's ids (what whoami lists, observed on Apache 3.8.0).
#[test]
fn acl_rules_follow_apaches_providers() {
    let ip = |id: &str| Id {
        scheme: "ip".into(),
        id: id.into(),
    };
    let one = |scheme: &str, id: &str, perms: i32| {
        vec![Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }]
    };
    let mut bob = AuthInfo {
        ids: vec![ip("127.0.0.1")],
        ..AuthInfo::default()
    };
    for (expr, valid) in [
        ("127.000.0.+1", true),
        ("10.0.0.0/-0", true),
        ("127.0.0.1/", false),
        ("127.0.0.1/33", false),
        ("::1", false),
        ("1.2.3", false),
        ("1.2.3.4.5", false),
        ("1.2.3.256", false),
    ] {
        assert_eq!(
            fixup_acl(&one("ip", expr, perms::ALL), &bob).is_ok(),
            valid,
            "ip:{expr}"
        );
    }
    assert_eq!(
        check_acl(&one("ip", "127.000.0.+1", perms::READ), perms::READ, &bob),
        Ok(())
    );
    assert_eq!(
        check_acl(&one("ip", "10.0.0.0/-0", perms::READ), perms::READ, &bob),
        Ok(())
    );
    assert_eq!(
        check_acl(&one("ip", "10.0.0.0/8", perms::READ), perms::READ, &bob),
        Err(Code::NoAuth)
    );
    for (id, valid) in [
        ("a:b:", true),
        (":b", true),
        ("a::", false),
        ("a:b:c", false),
    ] {
        assert_eq!(
            fixup_acl(&one("digest", id, perms::ALL), &bob).is_ok(),
            valid,
            "digest:{id}"
        );
    }
    // Schemes without a provider by default grant nothing, even when stored.
    assert_eq!(
        check_acl(&one("x509", "CN=bob", perms::ALL), perms::READ, &bob),
        Err(Code::NoAuth)
    );

    bob.add(Id {
        scheme: "digest".into(),
        id: digest_id("bob:pw"),
    });
    let order: Vec<&str> = bob.ids.iter().map(|i| i.scheme.as_str()).collect();
    assert_eq!(order, ["digest", "ip"]);
    let mut admin = AuthInfo {
        ids: vec![ip("127.0.0.1")],
        ..AuthInfo::default()
    };
    for id in [
        Id {
            scheme: "super".into(),
            id: String::new(),
        },
        Id {
            scheme: "digest".into(),
            id: digest_id("super:test"),
        },
    ] {
        admin.add(id.clone());
        admin.add(id);
    }
    let order: Vec<&str> = admin.ids.iter().map(|i| i.scheme.as_str()).collect();
    assert_eq!(order, ["super", "ip", "digest"]);

    // `auth` expands to digest ids only, after the input's duplicates are removed.
    let mut acl = one("auth", "", perms::ALL);
    acl.extend(one("digest", &digest_id("bob:pw"), perms::ALL));
    acl.extend(one("auth", "", perms::ALL));
    let fixed = fixup_acl(&acl, &bob).unwrap();
    assert_eq!(fixed.len(), 2);
    assert!(fixed.iter().all(|a| a.id.scheme == "digest"));

    let private = one("digest", &digest_id("alice:pw"), perms::ALL);
    assert_eq!(check_acl(&private, perms::READ, &bob), Err(Code::NoAuth));
    bob.rules.skip_acl = true;
    assert_eq!(check_acl(&private, perms::READ, &bob), Ok(()));
    assert_eq!(
        fixup_acl(&one("digest", "nocolon", perms::ALL), &bob),
        Err(Code::InvalidAcl),
        "skipACL still validates"
    );
    bob.rules = AclRules {
        skip_acl: false,
        digest_disabled: true,
    };
    let own = one("digest", &digest_id("bob:pw"), perms::ALL);
    assert_eq!(check_acl(&own, perms::READ, &bob), Err(Code::NoAuth));
    assert_eq!(fixup_acl(&own, &bob), Err(Code::InvalidAcl));
    assert_eq!(
        fixup_acl(&one("auth", "", perms::ALL), &bob),
        Err(Code::InvalidAcl)
    );
}
