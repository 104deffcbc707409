use super::*;
use crate::coord::Code;
use proptest::prelude::*;

const MAX: usize = DEFAULT_MAX_BUFFER;

fn stat() -> Stat {
    Stat {
        czxid: 1,
        mzxid: 2,
        ctime: 3,
        mtime: 4,
        version: 5,
        cversion: -1,
        aversion: 7,
        ephemeral_owner: 0x100_0000_0000_0001,
        data_length: 9,
        num_children: 10,
        pzxid: 11,
    }
}

fn acl() -> Vec<Acl> {
    vec![
        Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        },
        Acl {
            perms: 1,
            id: Id {
                scheme: "digest".into(),
                id: "u:hash=".into(),
            },
        },
    ]
}

fn roundtrip<T: Jute + PartialEq + std::fmt::Debug>(value: T) {
    let bytes = value.to_bytes();
    assert_eq!(T::from_bytes(&bytes, MAX).unwrap(), value);
    // Every strict prefix is truncated, never a panic or a wrong value.
    for cut in 0..bytes.len() {
        assert!(T::from_bytes(&bytes[..cut], MAX).is_err(), "prefix {cut}");
    }
}

#[test]
fn stat_is_68_bytes() {
    assert_eq!(stat().to_bytes().len(), 68);
}

#[test]
fn every_record_round_trips() {
    roundtrip(stat());
    roundtrip(acl()[1].clone());
    roundtrip(Id {
        scheme: "ip".into(),
        id: "10.0.0.0/8".into(),
    });
    roundtrip(RequestHeader { xid: 7, op: 4 });
    roundtrip(ReplyHeader {
        xid: -1,
        zxid: -1,
        err: -101,
    });
    roundtrip(CreateRequest {
        path: "/a".into(),
        data: Some(b"x".to_vec()),
        acl: acl(),
        flags: 3,
    });
    roundtrip(CreateTtlRequest {
        path: "/t".into(),
        data: Some(vec![]),
        acl: acl(),
        flags: 5,
        ttl: 1000,
    });
    roundtrip(CreateResponse { path: "/a".into() });
    roundtrip(Create2Response {
        path: "/a".into(),
        stat: stat(),
    });
    roundtrip(DeleteRequest {
        path: "/a".into(),
        version: -1,
    });
    roundtrip(PathWatchRequest {
        path: "/a".into(),
        watch: true,
    });
    roundtrip(PathRequest { path: "/".into() });
    roundtrip(SetDataRequest {
        path: "/a".into(),
        data: Some(vec![0; 100]),
        version: 3,
    });
    roundtrip(StatResponse { stat: stat() });
    roundtrip(GetDataResponse {
        data: Some(b"hello".to_vec()),
        stat: stat(),
    });
    roundtrip(GetChildrenResponse {
        children: vec!["a".into(), "b".into()],
    });
    roundtrip(GetChildren2Response {
        children: vec!["zookeeper".into()],
        stat: stat(),
    });
    roundtrip(CheckVersionRequest {
        path: "/a".into(),
        version: 1,
    });
    roundtrip(GetAclResponse {
        acl: acl(),
        stat: stat(),
    });
    roundtrip(SetAclRequest {
        path: "/a".into(),
        acl: acl(),
        version: 0,
    });
    roundtrip(MultiHeader {
        op: 1,
        done: false,
        err: -1,
    });
    roundtrip(ErrorResponse { err: -110 });
    roundtrip(WatcherEvent {
        event_type: 1,
        state: 3,
        path: "/a".into(),
    });
    roundtrip(SetWatches {
        relative_zxid: 5,
        data_watches: vec!["/a".into()],
        exist_watches: vec!["/b".into()],
        child_watches: vec![],
    });
    roundtrip(SetWatches2 {
        relative_zxid: 5,
        data_watches: vec!["/a".into()],
        exist_watches: vec![],
        child_watches: vec!["/c".into()],
        persistent_watches: vec!["/p".into()],
        persistent_recursive_watches: vec!["/r".into()],
    });
    roundtrip(AddWatchRequest {
        path: "/a".into(),
        mode: 1,
    });
    roundtrip(WatchTypeRequest {
        path: "/a".into(),
        watcher_type: 3,
    });
    roundtrip(AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: Some(b"u:p".to_vec()),
    });
    roundtrip(WhoAmIResponse {
        client_info: vec![ClientInfo {
            auth_scheme: "ip".into(),
            user: "127.0.0.1".into(),
        }],
    });
    roundtrip(CountResponse { total: 4 });
    roundtrip(PathsResponse {
        paths: vec!["/e".into()],
    });
    roundtrip(ReconfigRequest {
        joining_servers: "a".into(),
        leaving_servers: "b".into(),
        new_members: "c".into(),
        cur_config_id: -1,
    });
    roundtrip(SaslRequest {
        token: vec![1, 2, 3],
    });
    roundtrip(TxnHeader {
        client_id: 1,
        cxid: 2,
        zxid: 3,
        time: 4,
        txn_type: 1,
    });
    roundtrip(CreateTxn {
        path: "/a".into(),
        data: Some(b"d".to_vec()),
        acl: acl(),
        ephemeral_owner: 9,
        parent_cversion: 1,
    });
    roundtrip(DeleteTxn { path: "/a".into() });
    roundtrip(SetDataTxn {
        path: "/a".into(),
        data: Some(vec![]),
        version: 1,
    });
    roundtrip(SetAclTxn {
        path: "/a".into(),
        acl: acl(),
        version: 1,
    });
    roundtrip(CreateSessionTxn { timeout: 30000 });
    roundtrip(CloseSessionTxn {
        paths_to_delete: vec!["/e".into()],
    });
    roundtrip(ErrorTxn { err: -101 });
    roundtrip(MultiTxn {
        txns: vec![SubTxn {
            txn_type: 2,
            data: DeleteTxn { path: "/a".into() }.to_bytes(),
        }],
    });
    // The connect records with and without the trailing readOnly flag.
    for read_only in [None, Some(false), Some(true)] {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 5,
            timeout: 30000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only,
        };
        assert_eq!(
            ConnectRequest::from_bytes(&req.to_bytes(), MAX).unwrap(),
            req
        );
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout: 4000,
            session_id: 77,
            passwd: vec![1; 16],
            read_only,
        };
        assert_eq!(
            ConnectResponse::from_bytes(&resp.to_bytes(), MAX).unwrap(),
            resp
        );
    }
}

fn request_roundtrip(req: Request) {
    let mut body = Vec::new();
    let code = req.encode(&mut body);
    assert_eq!(Request::decode(code, &body, MAX).unwrap(), req);
}

#[test]
fn every_request_round_trips() {
    let create = Request::Create {
        op: op::CREATE2,
        path: "/a".into(),
        data: Some(b"v".to_vec()),
        acl: acl(),
        flags: 0,
        ttl: -1,
    };
    let reqs = vec![
        create.clone(),
        Request::Create {
            op: op::CREATE_TTL,
            path: "/t".into(),
            data: Some(vec![]),
            acl: acl(),
            flags: 5,
            ttl: 500,
        },
        Request::Delete {
            path: "/a".into(),
            version: 2,
        },
        Request::Exists {
            path: "/a".into(),
            watch: true,
        },
        Request::GetData {
            path: "/a".into(),
            watch: false,
        },
        Request::SetData {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            version: -1,
        },
        Request::GetAcl { path: "/a".into() },
        Request::SetAcl {
            path: "/a".into(),
            acl: acl(),
            version: 0,
        },
        Request::GetChildren {
            path: "/".into(),
            watch: true,
            with_stat: true,
        },
        Request::GetChildren {
            path: "/".into(),
            watch: false,
            with_stat: false,
        },
        Request::Sync { path: "/".into() },
        Request::Ping,
        Request::Check {
            path: "/a".into(),
            version: 1,
        },
        Request::Multi(vec![
            create,
            Request::Check {
                path: "/a".into(),
                version: 0,
            },
            Request::Delete {
                path: "/a".into(),
                version: -1,
            },
        ]),
        Request::MultiRead(vec![
            Request::GetData {
                path: "/a".into(),
                watch: false,
            },
            Request::GetChildren {
                path: "/".into(),
                watch: false,
                with_stat: false,
            },
        ]),
        Request::CheckWatches {
            path: "/a".into(),
            watcher_type: 1,
        },
        Request::RemoveWatches {
            path: "/a".into(),
            watcher_type: 3,
        },
        Request::DeleteContainer { path: "/c".into() },
        Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Some(b"u:p".to_vec()),
        }),
        Request::SetWatches(SetWatches2 {
            relative_zxid: 1,
            data_watches: vec!["/a".into()],
            exist_watches: vec![],
            child_watches: vec![],
            persistent_watches: vec!["/p".into()],
            persistent_recursive_watches: vec![],
        }),
        Request::GetEphemerals { prefix: "/".into() },
        Request::GetAllChildrenNumber { path: "/".into() },
        Request::AddWatch {
            path: "/a".into(),
            mode: 0,
        },
        Request::WhoAmI,
        Request::CloseSession,
    ];
    for req in reqs {
        request_roundtrip(req);
    }
    // SetWatches (101) decodes into the SetWatches2 form with no persistent watches.
    let old = SetWatches {
        relative_zxid: 3,
        data_watches: vec!["/d".into()],
        exist_watches: vec!["/e".into()],
        child_watches: vec!["/c".into()],
    };
    match Request::decode(op::SET_WATCHES, &old.to_bytes(), MAX).unwrap() {
        Request::SetWatches(s) => {
            assert_eq!(s.exist_watches, ["/e"]);
            assert!(s.persistent_watches.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_response_round_trips() {
    let responses = vec![
        (
            op::CREATE,
            Response::Create(CreateResponse { path: "/a".into() }),
        ),
        (
            op::CREATE2,
            Response::Create2(Create2Response {
                path: "/a".into(),
                stat: stat(),
            }),
        ),
        (op::EXISTS, Response::Stat(stat())),
        (
            op::GET_DATA,
            Response::GetData(GetDataResponse {
                data: Some(b"d".to_vec()),
                stat: stat(),
            }),
        ),
        (
            op::GET_ACL,
            Response::GetAcl(GetAclResponse {
                acl: acl(),
                stat: stat(),
            }),
        ),
        (
            op::GET_CHILDREN,
            Response::GetChildren(GetChildrenResponse {
                children: vec!["x".into()],
            }),
        ),
        (
            op::GET_CHILDREN2,
            Response::GetChildren2(GetChildren2Response {
                children: vec![],
                stat: stat(),
            }),
        ),
        (op::SYNC, Response::Sync(PathRequest { path: "/".into() })),
        (
            op::MULTI,
            Response::Multi(vec![
                MultiResult::Create { path: "/a".into() },
                MultiResult::Create2 {
                    path: "/b".into(),
                    stat: stat(),
                },
                MultiResult::Delete,
                MultiResult::SetData { stat: stat() },
                MultiResult::Check,
                MultiResult::Error(-2),
            ]),
        ),
        (
            op::MULTI_READ,
            Response::Multi(vec![
                MultiResult::GetData {
                    data: Some(vec![1]),
                    stat: stat(),
                },
                MultiResult::GetChildren {
                    children: vec!["c".into()],
                },
                MultiResult::Error(-101),
            ]),
        ),
        (op::ADD_WATCH, Response::ErrorBody(0)),
        (op::GET_ALL_CHILDREN_NUMBER, Response::Count(3)),
        (op::GET_EPHEMERALS, Response::Paths(vec!["/e".into()])),
        (
            op::WHO_AM_I,
            Response::WhoAmI(WhoAmIResponse {
                client_info: vec![],
            }),
        ),
        (op::DELETE, Response::Empty),
    ];
    for (code, resp) in responses {
        let mut body = Vec::new();
        resp.write(&mut body);
        assert_eq!(Response::decode(code, &body, MAX).unwrap(), resp);
    }
}

#[test]
fn frames_are_checked_before_reading() {
    assert_eq!(check_frame(&[0, 0], MAX), Err(FrameError::Incomplete));
    assert_eq!(
        check_frame(&[0, 0, 0, 2, 1], MAX),
        Err(FrameError::Incomplete)
    );
    assert_eq!(check_frame(&[0, 0, 0, 2, 1, 2, 3], MAX), Ok(2));
    assert_eq!(
        check_frame(&[0xff, 0xff, 0xff, 0xff], MAX),
        Err(FrameError::BadLength(-1))
    );
    assert_eq!(
        check_frame(&0x10_0000i32.to_be_bytes(), MAX),
        Err(FrameError::BadLength(0x10_0000))
    );
    assert_eq!(
        check_frame(&0xfffffi32.to_be_bytes(), MAX),
        Err(FrameError::Incomplete)
    );
    let f = reply_frame(1, 2, Code::NoNode, &Response::Stat(stat()));
    // Error replies carry the header only.
    assert_eq!(f.len(), 4 + 16);
}

#[test]
fn malformed_bodies_are_errors() {
    // A string length beyond the bytes present.
    let mut body = Vec::new();
    100i32.write(&mut body);
    body.extend_from_slice(b"/a");
    assert_eq!(
        Request::decode(op::DELETE, &body, MAX),
        Err(JuteError::Truncated)
    );
    // A negative length other than -1.
    let mut body = Vec::new();
    (-5i32).write(&mut body);
    assert_eq!(
        Request::decode(op::GET_DATA, &body, MAX),
        Err(JuteError::BadLength(-5))
    );
    // A null path.
    let mut body = Vec::new();
    (-1i32).write(&mut body);
    false.write(&mut body);
    assert_eq!(
        Request::decode(op::EXISTS, &body, MAX),
        Err(JuteError::Null)
    );
    // ... where Apache validates the path first, null is the empty path (BadArguments).
    let mut body = Vec::new();
    (-1i32).write(&mut body);
    (-1i32).write(&mut body);
    (-1i32).write(&mut body);
    assert_eq!(
        Request::decode(op::SET_DATA, &body, MAX),
        Ok(Request::SetData {
            path: String::new(),
            data: None,
            version: -1
        })
    );
    // ACL ids: a null scheme or a null `auth` id is empty; a null id a provider would read is
    // Null (MarshallingError).
    let id = |scheme: Option<&str>| {
        let mut b = Vec::new();
        match scheme {
            Some(s) => s.to_string().write(&mut b),
            None => (-1i32).write(&mut b),
        }
        (-1i32).write(&mut b);
        Id::from_bytes(&b, MAX)
    };
    assert_eq!(
        id(Some("auth")),
        Ok(Id {
            scheme: "auth".into(),
            id: String::new()
        })
    );
    assert_eq!(id(Some("nosuch")).map(|i| i.id), Ok(String::new()));
    assert_eq!(id(None), Ok(Id::default()));
    for scheme in ["world", "digest", "ip"] {
        assert_eq!(id(Some(scheme)), Err(JuteError::Null), "{scheme}");
    }
    // A length above jute.maxbuffer even though the bytes could be there.
    let mut body = Vec::new();
    20i32.write(&mut body);
    body.extend_from_slice(&[b'a'; 20]);
    assert_eq!(
        Request::decode(op::SYNC, &body, 10),
        Err(JuteError::BadLength(20))
    );
    // A huge vector count with no elements allocates nothing and fails.
    let mut body = Vec::new();
    "/a".to_string().write(&mut body);
    Vec::<u8>::new().write(&mut body);
    (i32::MAX).write(&mut body);
    assert!(Request::decode(op::CREATE, &body, usize::MAX).is_err());
    // Unknown op codes and a read inside a write multi.
    assert_eq!(Request::decode(10, &[], MAX), Err(JuteError::UnknownOp(10)));
    let mut body = Vec::new();
    MultiHeader {
        op: op::GET_DATA,
        done: false,
        err: -1,
    }
    .write(&mut body);
    assert_eq!(
        Request::decode(op::MULTI, &body, MAX),
        Err(JuteError::BadMultiOp(op::GET_DATA))
    );
    // Bad UTF-8.
    let mut body = Vec::new();
    2i32.write(&mut body);
    body.extend_from_slice(&[0xff, 0xfe]);
    assert_eq!(
        Request::decode(op::SYNC, &body, MAX),
        Err(JuteError::BadString)
    );
}

#[test]
fn java_modified_utf8_is_accepted() {
    // U+1F600 as a CESU-8 surrogate pair, as Java's encoder writes it.
    let cesu = [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80];
    assert_eq!(decode_string(&cesu).unwrap(), "\u{1F600}");
    assert_eq!(decode_string("/é".as_bytes()).unwrap(), "/é");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(code in prop_oneof![-12i32..23, 99i32..108], body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Request::decode(code, &body, MAX);
        let _ = Response::decode(code, &body, MAX);
        let _ = ConnectRequest::from_bytes(&body, MAX);
        let _ = check_frame(&body, MAX);
        let _ = MultiTxn::from_bytes(&body, MAX);
    }

    #[test]
    fn create_requests_round_trip(path in "/[a-z]{1,8}", data in proptest::collection::vec(any::<u8>(), 0..64), flags in 0i32..7, perms in 0i32..32) {
        request_roundtrip(Request::Create {
            op: op::CREATE,
            path,
            data: Some(data),
            acl: vec![Acl { perms, id: Id { scheme: "world".into(), id: "anyone".into() } }],
            flags,
            ttl: -1,
        });
    }
}
