//! Sessions from the connect handshake on: expiry after their timeout, and resumption
//! with the password on another connection (`handshake.rs`).

use super::*;

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
