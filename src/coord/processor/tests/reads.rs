//! Reads and the watches they set: event order against replies, persistent and recursive
//! watches, setWatches on reconnect, null data read back (`reads.rs`).

use super::*;

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
