use super::*;
use crate::coord::tree::open_acl_unsafe;
use crate::seeded::{self, SeededRng};

fn config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir, &dir.join("logs"));
    c.prealloc_bytes = 4096;
    c
}

pub(super) fn rec(zxid: i64, txn: Txn) -> TxnRecord {
    TxnRecord {
        session: 7,
        cxid: 1,
        zxid,
        time_ms: 1000 + zxid,
        txn,
    }
}

pub(super) fn create(zxid: i64, path: &str, pc: i32) -> TxnRecord {
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
            Decoded::Record {
                zxid,
                payload,
                used,
            } => {
                assert_eq!(
                    (zxid, TxnRecord::decode(payload).unwrap()),
                    (r.zxid, r.clone())
                );
                assert_eq!(used, bytes.len());
            }
            _ => panic!("record {i} did not decode"),
        }
        // Any cut or flipped byte is torn, never a wrong record.
        for cut in 1..bytes.len() {
            assert!(!matches!(
                decode_record(&bytes[..cut]),
                Decoded::Record { .. }
            ));
        }
        let mut flipped = bytes.clone();
        flipped[10] ^= 0x40;
        assert!(matches!(decode_record(&flipped), Decoded::Torn(_)));
    }
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
fn log_files_are_preallocated_and_a_recovered_log_resumes_where_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut log = TxnLog::new(cfg.clone());
    log.append(&[
        rec(1, Txn::CreateSession { timeout_ms: 4000 }),
        create(2, "/a", 1),
    ])
    .unwrap();
    log.sync().unwrap();
    let path = log.current_path().unwrap().to_path_buf();
    assert_eq!(path.file_name().unwrap(), "log.1");
    assert_eq!(fs::metadata(&path).unwrap().len(), 4096, "preallocated");
    drop(log);
    let (_, resume) = load_files::<Database>(&cfg, None, 0).unwrap();
    let (resume_path, resume_pos) = resume.unwrap();
    assert_eq!(resume_path, path);
    let mut log = TxnLog::new(cfg.clone());
    log.resume(&path, resume_pos).unwrap();
    log.append(&[create(3, "/b", 2)]).unwrap();
    log.sync().unwrap();
    drop(log);
    assert_eq!(list_zxid_files(&cfg.log_dir, "log").unwrap().len(), 1);
    let r = FileStore::new(cfg).load::<Database>(None, 0).unwrap();
    assert_eq!(r.last_zxid, 3);
    assert!(r.db.tree.get("/b").is_some());
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
        let snap_zxid = zxid;
        let mut writer = SnapshotWriter::create(&cfg, zxid, &[]).unwrap();
        let mut walk = TreeWalk::new();
        // A leader's SNAP for a learner, built in steps of its own over the same changes.
        let mut image = ImageBuilder::new(&[], zxid);
        let mut image_done = false;
        loop {
            let mut chunk = Vec::new();
            let done = walk.next_chunk(&tree, 3, &mut chunk);
            writer.append(&chunk).unwrap();
            image_done = image_done || image.step(&tree, 2);
            for _ in 0..rand(6) {
                let (r, pick) = (rand(1000), rand(1000));
                step(&mut tree, &mut log, &mut zxid, r, pick);
            }
            if done && image_done {
                break;
            }
        }
        log.sync().unwrap();
        writer.finish().unwrap();
        let image = image.finish();
        for _ in 0..20 {
            let (r, pick) = (rand(1000), rand(1000));
            step(&mut tree, &mut log, &mut zxid, r, pick);
        }
        log.sync().unwrap();
        // A learner installs the SNAP, then logs the txns after it (here: the same files).
        let learner = tempfile::tempdir().unwrap();
        let learner_cfg = config(learner.path());
        let mut learner_store = FileStore::new(learner_cfg.clone());
        learner_store.install_snapshot(snap_zxid, &image).unwrap();
        fs::create_dir_all(&learner_cfg.log_dir).unwrap();
        for entry in fs::read_dir(&cfg.log_dir).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, learner_cfg.log_dir.join(path.file_name().unwrap())).unwrap();
        }
        for (what, mut store) in [
            ("recovered", FileStore::new(cfg)),
            ("learner", learner_store),
        ] {
            let r = store.load::<Database>(None, 0).unwrap();
            assert_eq!(r.last_zxid, zxid, "seed {seed}, {what}");
            assert_same_nodes(&tree, &r.db.tree, &format!("seed {seed}, {what}"));
        }
    }
}

/// Every node of `live` and `back` the same: path, data and stat.
fn assert_same_nodes(live: &DataTree, back: &DataTree, what: &str) {
    let nodes = |tree: &DataTree| {
        let mut out = Vec::new();
        tree.walk(|n| {
            out.push((
                n.path().to_string(),
                n.data().map(<[u8]>::to_vec),
                n.client_stat(),
            ))
        });
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let (live, back) = (nodes(live), nodes(back));
    let differing: Vec<String> = live
        .iter()
        .filter(|l| !back.contains(l))
        .map(|l| format!("live {l:?}"))
        .chain(
            back.iter()
                .filter(|b| !live.contains(b))
                .map(|b| format!("{what} {b:?}")),
        )
        .collect();
    assert!(differing.is_empty(), "{what}:\n{}", differing.join("\n"));
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
    let r = FileStore::new(cfg.clone())
        .load::<Database>(None, 0)
        .unwrap();
    assert_eq!(r.last_zxid, 2);
    assert!(r.db.tree.get("/b").is_some());
    assert!(second.exists(), "adopted under its proper name");
    // A spare nothing was written to is removed.
    let empty = cfg.log_dir.join(".log.spare.99");
    let mut bytes = file_header(LOG_MAGIC);
    bytes.resize(4096, 0);
    fs::write(&empty, bytes).unwrap();
    assert_eq!(
        FileStore::new(cfg)
            .load::<Database>(None, 0)
            .unwrap()
            .last_zxid,
        2
    );
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
