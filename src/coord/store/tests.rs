use super::*;
use crate::coord::tree::open_acl_unsafe;
use crate::seeded::{self, SeededRng};

fn config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir, &dir.join("logs"));
    c.prealloc_bytes = 4096;
    c
}

fn rec(zxid: i64, txn: Txn) -> TxnRecord {
    TxnRecord {
        session: 7,
        cxid: 1,
        zxid,
        time_ms: 1000 + zxid,
        txn,
    }
}

fn create(zxid: i64, path: &str, pc: i32) -> TxnRecord {
    rec(
        zxid,
        Txn::Create {
            path: path.into(),
            data: Some(b"x".to_vec()),
            acl: open_acl_unsafe(),
            ephemeral_owner: 0,
            parent_cversion: pc,
        },
    )
}

#[test]
fn every_txn_kind_round_trips_through_a_record() {
    let txns = vec![
        Txn::CreateSession { timeout_ms: 5000 },
        Txn::CloseSession {
            paths: vec!["/e".into()],
        },
        create(3, "/a", 1).txn,
        Txn::Delete { path: "/a".into() },
        Txn::SetData {
            path: "/a".into(),
            data: Some(vec![1, 2]),
            version: 3,
        },
        Txn::SetAcl {
            path: "/a".into(),
            acl: open_acl_unsafe(),
            version: 1,
        },
        Txn::Check { path: "/a".into() },
        Txn::Error { code: -101 },
        Txn::Multi(vec![
            Txn::Delete { path: "/a".into() },
            Txn::Check { path: "/b".into() },
        ]),
    ];
    for (i, txn) in txns.into_iter().enumerate() {
        let r = rec(i as i64 + 1, txn);
        let mut bytes = Vec::new();
        encode_record(&r, &mut bytes);
        match decode_record(&bytes) {
            Decoded::Record(back, used) => {
                assert_eq!(back, r);
                assert_eq!(used, bytes.len());
            }
            _ => panic!("record {i} did not decode"),
        }
        // Any cut or flipped byte is torn, never a wrong record.
        for cut in 1..bytes.len() {
            assert!(!matches!(decode_record(&bytes[..cut]), Decoded::Record(..)));
        }
        let mut flipped = bytes.clone();
        flipped[10] ^= 0x40;
        assert!(matches!(decode_record(&flipped), Decoded::Torn(_)));
    }
}

#[test]
fn quorum_logs_cross_epochs_truncate_exactly_and_recover_a_tail() {
    use crate::coord::zab::make_zxid;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::new(cfg.clone());
    // Epoch 1: three txns; epoch 2 starts at counter 1 (a zxid "gap" that is no gap).
    let e1: Vec<TxnRecord> = vec![
        rec(make_zxid(1, 1), Txn::CreateSession { timeout_ms: 4000 }),
        create(make_zxid(1, 2), "/a", 1),
        create(make_zxid(1, 3), "/b", 2),
    ];
    log.append(&e1).unwrap();
    let e2 = create(make_zxid(2, 1), "/c", 3);
    let encoded = e2.encode();
    assert_eq!(TxnRecord::decode(&encoded).unwrap().zxid, e2.zxid);
    log.append_encoded(&[(e2.zxid, &encoded)]).unwrap();
    log.sync().unwrap();
    let r = recover_up_to(&cfg, None, 10).unwrap();
    assert_eq!(r.last_zxid, make_zxid(2, 1));
    let tail: Vec<i64> = r.tail.iter().map(|t| t.zxid).collect();
    assert_eq!(
        tail,
        [
            make_zxid(1, 1),
            make_zxid(1, 2),
            make_zxid(1, 3),
            make_zxid(2, 1)
        ]
    );
    // A read bounded at (1, 2) sees that prefix only and changes nothing on disk.
    let r = recover_up_to(&cfg, Some(make_zxid(1, 2)), 1).unwrap();
    assert_eq!(r.last_zxid, make_zxid(1, 2));
    assert!(r.tree.get("/b").is_none());
    assert_eq!(r.tail.len(), 1);
    assert_eq!(recover(&cfg).unwrap().last_zxid, make_zxid(2, 1));

    // TRUNC to (1, 2): the tail goes durably, appends continue in a new file.
    log.truncate_after(make_zxid(1, 2)).unwrap();
    assert_eq!(recover(&cfg).unwrap().last_zxid, make_zxid(1, 2));
    log.append(&[create(make_zxid(3, 1), "/d", 2)]).unwrap();
    log.sync().unwrap();
    drop(log);
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, make_zxid(3, 1));
    assert!(r.tree.get("/b").is_none() && r.tree.get("/c").is_none());
    assert!(r.tree.get("/d").is_some());
    // A history with a real hole is refused.
    let mut log = TxnLog::new(cfg.clone());
    log.roll().unwrap();
    log.append(&[create(make_zxid(3, 3), "/e", 3)]).unwrap();
    log.sync().unwrap();
    assert!(matches!(recover(&cfg), Err(StoreError::Corrupt { .. })));
}

#[test]
fn epoch_files_are_written_atomically_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    assert_eq!(read_epoch(&cfg, "acceptedEpoch").unwrap(), None);
    write_epoch(&cfg, "acceptedEpoch", 7).unwrap();
    write_epoch(&cfg, "acceptedEpoch", 8).unwrap();
    assert_eq!(read_epoch(&cfg, "acceptedEpoch").unwrap(), Some(8));
    assert!(!cfg.snap_dir.join("acceptedEpoch.tmp").exists());
    fs::write(cfg.snap_dir.join("currentEpoch"), "x1").unwrap();
    let err = read_epoch(&cfg, "currentEpoch").unwrap_err().to_string();
    assert!(
        err.contains("currentEpoch") && err.contains("not an epoch"),
        "{err}"
    );
}

#[test]
fn logs_recover_and_torn_tails_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::new(cfg.clone());
    log.append(&[
        rec(1, Txn::CreateSession { timeout_ms: 4000 }),
        create(2, "/a", 1),
    ])
    .unwrap();
    log.append(&[create(3, "/b", 2)]).unwrap();
    log.sync().unwrap();
    let path = log.current_path().unwrap().to_path_buf();
    assert_eq!(path.file_name().unwrap(), "log.1");
    assert_eq!(fs::metadata(&path).unwrap().len(), 4096, "preallocated");
    drop(log);
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, 3);
    assert!(r.tree.get("/b").is_some());
    assert_eq!(r.sessions, [(7, 4000)]);
    let (resume_path, resume_pos) = r.resume.clone().unwrap();
    assert_eq!(resume_path, path);

    // A torn write of the 4th record: half of it on disk.
    let mut bytes = Vec::new();
    encode_record(&create(4, "/c", 3), &mut bytes);
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start(resume_pos)).unwrap();
    f.write_all(&bytes[..bytes.len() / 2]).unwrap();
    drop(f);
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, 3);
    assert!(r.tree.get("/c").is_none());
    assert_eq!(fs::metadata(&path).unwrap().len(), resume_pos, "truncated");
    // Appending after the truncation continues the same log.
    let mut log = TxnLog::new(cfg.clone());
    log.resume(&path, resume_pos).unwrap();
    log.append(&[create(4, "/c", 3)]).unwrap();
    log.sync().unwrap();
    drop(log);
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, 4);
    assert!(r.tree.get("/c").is_some());
}

#[test]
fn snapshots_plus_later_logs_recover_and_purge_keeps_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::new(cfg.clone());
    let mut tree = DataTree::new();
    let mut zxid = 0i64;
    for round in 0..5 {
        let mut batch = Vec::new();
        for i in 0..3 {
            zxid += 1;
            let r = create(zxid, &format!("/n{round}-{i}"), zxid as i32);
            let mut ch = Vec::new();
            tree.apply(r.zxid, r.time_ms, &r.txn, &mut ch);
            batch.push(r);
        }
        log.append(&batch).unwrap();
        log.roll().unwrap();
        write_snapshot(&cfg, zxid, &serialize_snapshot(&tree, &[(9, 3000)], zxid)).unwrap();
    }
    // Txns after the last snapshot.
    zxid += 1;
    log.append(&[create(zxid, "/after", zxid as i32)]).unwrap();
    log.sync().unwrap();
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, 16);
    assert!(r.tree.get("/n4-2").is_some() && r.tree.get("/after").is_some());
    assert_eq!(r.sessions, [(9, 3000)]);
    assert_eq!(r.tree.stat("/").unwrap(), {
        let mut ch = Vec::new();
        let c = create(zxid, "/after", zxid as i32);
        tree.apply(c.zxid, c.time_ms, &c.txn, &mut ch);
        tree.stat("/").unwrap()
    });
    let removed = purge(&cfg).unwrap();
    assert_eq!(
        removed,
        2 + 2,
        "two old snapshots and the logs only they needed"
    );
    let r2 = recover(&cfg).unwrap();
    assert_eq!(r2.last_zxid, 16);
    // A damaged newest snapshot falls back to the previous one plus logs.
    let snaps = list_zxid_files(&cfg.snap_dir, "snapshot").unwrap();
    let newest = &snaps.last().unwrap().1;
    let mut bytes = fs::read(newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    fs::write(newest, bytes).unwrap();
    let r3 = recover(&cfg).unwrap();
    assert_eq!(r3.last_zxid, 16);
    assert!(r3.tree.get("/n4-0").is_some());
}

#[test]
fn corruption_before_the_last_log_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::new(cfg.clone());
    log.append(&[create(1, "/a", 1), create(2, "/b", 2)])
        .unwrap();
    log.roll().unwrap();
    log.append(&[create(3, "/c", 3)]).unwrap();
    log.sync().unwrap();
    let first = cfg.log_dir.join("log.1");
    let mut bytes = fs::read(&first).unwrap();
    bytes[HEADER_LEN as usize + 12] ^= 0xff;
    fs::write(&first, bytes).unwrap();
    match recover(&cfg) {
        Err(StoreError::Corrupt { path, reason }) => {
            assert_eq!(path, first);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("{:?}", other.map(|r| r.last_zxid)),
    }
    // A missing first log (txns 1..2) is refused, not treated as an empty database.
    fs::remove_file(&first).unwrap();
    assert!(matches!(recover(&cfg), Err(StoreError::Inconsistent(_))));
}

/// Snapshot walks interleaved with random txns, then recovery from the fuzzy snapshot
/// plus the log, must equal the live tree exactly.
#[test]
fn fuzzy_snapshots_plus_replay_equal_the_live_tree() {
    use crate::coord::tree::split;
    for seed in seeded::seeds(1..=30) {
        seeded::announce(seed);
        let mut rng = SeededRng::new(seed);
        let mut rand = move |n: u64| rng.below(n);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::new(cfg.clone());
        let mut tree = DataTree::new();
        let mut zxid = 0i64;
        let step = |tree: &mut DataTree, log: &mut TxnLog, zxid: &mut i64, r: u64, pick: u64| {
            // Paths under a few parents; creates, deletes and setData chosen at random.
            let path = format!("/p{}/n{}", pick % 4, r % 30);
            let parent = split(&path).0.to_string();
            let txn = if tree.get(&parent).is_none() {
                let pc = tree.get("/").unwrap().stat().cversion + 1;
                Txn::Create {
                    path: parent,
                    data: Some(vec![1]),
                    acl: open_acl_unsafe(),
                    ephemeral_owner: 0,
                    parent_cversion: pc,
                }
            } else if tree.get(&path).is_none() {
                let pc = tree.get(&parent).unwrap().stat().cversion + 1;
                Txn::Create {
                    path,
                    data: Some(vec![2]),
                    acl: open_acl_unsafe(),
                    ephemeral_owner: 0,
                    parent_cversion: pc,
                }
            } else if r.is_multiple_of(3) {
                Txn::Delete { path }
            } else {
                let v = tree.get(&path).unwrap().stat().version + 1;
                Txn::SetData {
                    path,
                    data: Some(vec![r as u8; 3]),
                    version: v,
                }
            };
            *zxid += 1;
            let rec = rec(*zxid, txn);
            let mut ch = Vec::new();
            tree.apply(rec.zxid, rec.time_ms, &rec.txn, &mut ch);
            log.append(&[rec]).unwrap();
        };
        for _ in 0..150 {
            let (r, pick) = (rand(1000), rand(1000));
            step(&mut tree, &mut log, &mut zxid, r, pick);
        }
        // Start a fuzzy snapshot; keep changing the tree between chunks.
        log.roll().unwrap();
        let mut writer = SnapshotWriter::create(&cfg, zxid, &[]).unwrap();
        let mut walk = TreeWalk::new();
        loop {
            let mut chunk = Vec::new();
            let done = walk.next_chunk(&tree, 3, &mut chunk);
            writer.append(&chunk).unwrap();
            for _ in 0..rand(6) {
                let (r, pick) = (rand(1000), rand(1000));
                step(&mut tree, &mut log, &mut zxid, r, pick);
            }
            if done {
                break;
            }
        }
        log.sync().unwrap();
        writer.finish().unwrap();
        for _ in 0..20 {
            let (r, pick) = (rand(1000), rand(1000));
            step(&mut tree, &mut log, &mut zxid, r, pick);
        }
        log.sync().unwrap();
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, zxid, "seed {seed}");
        let mut live = Vec::new();
        tree.walk(|n| {
            live.push((
                n.path().to_string(),
                n.data().map(<[u8]>::to_vec),
                n.client_stat(),
            ))
        });
        let mut back = Vec::new();
        r.tree.walk(|n| {
            back.push((
                n.path().to_string(),
                n.data().map(<[u8]>::to_vec),
                n.client_stat(),
            ))
        });
        live.sort_by(|a, b| a.0.cmp(&b.0));
        back.sort_by(|a, b| a.0.cmp(&b.0));
        let differing: Vec<String> = live
            .iter()
            .filter(|l| !back.contains(l))
            .map(|l| format!("live {l:?}"))
            .chain(
                back.iter()
                    .filter(|b| !live.contains(b))
                    .map(|b| format!("recovered {b:?}")),
            )
            .collect();
        assert!(
            differing.is_empty(),
            "seed {seed}:\n{}",
            differing.join("\n")
        );
    }
}

#[test]
fn spare_logs_are_used_at_rolls_and_adopted_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::with_spares(cfg.clone());
    log.append(&[create(1, "/a", 1)]).unwrap();
    log.sync().unwrap();
    log.roll().unwrap();
    // The preparer works on its own thread; wait (with a deadline) for a spare.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !files_named(&cfg.log_dir, SPARE_PREFIX) {
        assert!(
            std::time::Instant::now() < deadline,
            "no spare log appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    log.append(&[create(2, "/b", 2)]).unwrap();
    log.sync().unwrap();
    drop(log);
    let second = cfg.log_dir.join("log.2");
    assert_eq!(
        fs::metadata(&second).unwrap().len(),
        4096,
        "the preallocated spare"
    );
    // A crash before the rename reached the disk: the file is still a spare.
    fs::rename(&second, cfg.log_dir.join(".log.spare.7")).unwrap();
    let r = recover(&cfg).unwrap();
    assert_eq!(r.last_zxid, 2);
    assert!(r.tree.get("/b").is_some());
    assert!(second.exists(), "adopted under its proper name");
    // A spare nothing was written to is removed.
    let empty = cfg.log_dir.join(".log.spare.99");
    let mut bytes = file_header(LOG_MAGIC);
    bytes.resize(4096, 0);
    fs::write(&empty, bytes).unwrap();
    assert_eq!(recover(&cfg).unwrap().last_zxid, 2);
    assert!(!empty.exists());
}

fn files_named(dir: &Path, prefix: &str) -> bool {
    fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
        })
        .unwrap_or(false)
}
