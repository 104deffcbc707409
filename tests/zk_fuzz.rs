//! Fuzzing the decoder and the request core from a kept corpus of real client frames
//! (tests/zk/corpus: frames zkCli.sh 3.8 and kazoo 2.x sent, captured by a proxy), mutated by
//! proptest. Nothing may panic; every mutated request still gets a well-formed reply or a close.

use std::path::Path;

use hdfs_ha::coord::jute::{self, ConnectRequest, Jute, ReplyHeader, Request, RequestHeader};
use hdfs_ha::coord::processor::{Action, CoreConfig, Input, Now, Processor};
use proptest::prelude::*;

const MAX: usize = jute::DEFAULT_MAX_BUFFER;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zk/corpus");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/zk/corpus")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 30, "the corpus is missing");
    v
}

#[test]
fn every_captured_client_frame_decodes() {
    for (name, frame) in corpus() {
        let len = jute::check_frame(&frame, MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(len + 4, frame.len(), "{name}");
        let payload = &frame[4..];
        if name.starts_with("connect") {
            let c =
                ConnectRequest::from_bytes(payload, MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.protocol_version, 0);
            continue;
        }
        let mut r = jute::Reader::new(payload, MAX);
        let header = RequestHeader::read(&mut r).unwrap();
        let req = Request::decode(header.op, &payload[r.position()..], MAX)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Re-encoding gives back the same bytes (kazoo and Java write canonical jute).
        let mut again = Vec::new();
        let op = req.encode(&mut again);
        assert_eq!(op, header.op, "{name}");
        if !matches!(req, Request::Auth(_)) {
            assert_eq!(again, &payload[r.position()..], "{name}");
        }
    }
}

fn connected() -> (Processor, Now) {
    let now = Now {
        mono_ms: 1,
        wall_ms: 1_700_000_000_000,
    };
    let mut p = Processor::new(
        CoreConfig {
            extended_types: true,
            ..CoreConfig::default()
        },
        now,
    );
    p.step(
        Input::Open {
            conn: 1,
            addr: "127.0.0.1:1".parse().unwrap(),
        },
        now,
    );
    p.step(
        Input::Connect {
            conn: 1,
            request: ConnectRequest {
                timeout: 30_000,
                passwd: vec![0; 16],
                read_only: Some(false),
                ..ConnectRequest::default()
            },
        },
        now,
    );
    p.take_output();
    (p, now)
}

/// Feeds one frame the way the server does; checks the core's answer is well formed and
/// says whether the connection was closed.
fn feed(p: &mut Processor, now: Now, frame: &[u8]) -> bool {
    let Ok(len) = jute::check_frame(frame, MAX) else {
        return false;
    };
    let payload = &frame[4..4 + len];
    let mut r = jute::Reader::new(payload, MAX);
    let Ok(header) = RequestHeader::read(&mut r) else {
        return false;
    };
    p.step(
        Input::Request {
            conn: 1,
            header,
            body: payload[r.position()..].to_vec(),
        },
        now,
    );
    let mut closed = false;
    for action in p.take_output().actions {
        match action {
            Action::Send { frame, .. } => {
                let len = jute::check_frame(&frame, usize::MAX).expect("server frames are whole");
                assert!(len >= 16, "a reply has a header");
                ReplyHeader::from_bytes(&frame[4..20], MAX).expect("reply header");
            }
            Action::Close { .. } => closed = true,
        }
    }
    closed
}

fn mutated() -> impl Strategy<Value = (usize, Vec<(usize, u8)>, Option<usize>)> {
    (
        0usize..64,
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        proptest::option::of(any::<usize>()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_frames_never_panic((pick, flips, cut) in mutated()) {
        let corpus = corpus();
        let (_, base) = &corpus[pick % corpus.len()];
        let mut frame = base.clone();
        for (pos, byte) in flips {
            let i = pos % frame.len();
            frame[i] = byte;
        }
        if let Some(cut) = cut {
            frame.truncate(cut % (frame.len() + 1));
        }
        // Decoders alone.
        let _ = jute::check_frame(&frame, MAX);
        if frame.len() > 4 {
            let _ = ConnectRequest::from_bytes(&frame[4..], MAX);
            if frame.len() >= 12 {
                let op = i32::from_be_bytes([frame[8], frame[9], frame[10], frame[11]]);
                let _ = Request::decode(op, &frame[12..], MAX);
            }
        }
        // The core, with a live session and a few nodes.
        let (mut p, now) = connected();
        for (_, seed) in corpus.iter().filter(|(n, _)| n.starts_with("op1-")) {
            feed(&mut p, now, seed);
        }
        if feed(&mut p, now, &frame) {
            // A closeSession (or an auth failure) ended the connection: nothing more to ask.
            return Ok(());
        }
        // Whatever the frame did, the session still works.
        let mut body = Vec::new();
        let op = Request::Exists { path: "/".into(), watch: false }.encode(&mut body);
        p.step(Input::Request { conn: 1, header: RequestHeader { xid: 99, op }, body }, now);
        let sent = p.take_output().actions;
        let answered = sent
            .iter()
            .any(|a| matches!(a, Action::Close { .. } | Action::Send { .. }));
        prop_assert!(answered, "the session got neither a reply nor a close");
    }
}
