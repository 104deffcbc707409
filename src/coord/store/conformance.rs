//! Checks every [`ZabStore`] implementation must pass, run against each of them
//! (`file_store_passes_the_conformance_suite`, `mem_store_passes_the_conformance_suite`).

use super::tests::{create, rec};
use super::*;
use crate::coord::zab::{Entry, StoreOp, make_zxid};

/// What the suite does to a store besides calling it: restarts and damage.
pub(super) trait Harness: ZabStore + Sized {
    /// The store as the next start finds it after a crash: what was synced, nothing else.
    fn restart(self) -> Self;
    /// A crash while txn `zxid` was being appended: part of its record reached the disk.
    fn crash_tearing(self, zxid: i64, payload: &[u8]) -> Self;
    /// Damages the stored bytes of txn `zxid`.
    fn corrupt(&mut self, zxid: i64);
    /// Damages the newest snapshot.
    fn corrupt_newest_snapshot(&mut self);
}

/// Runs every check on stores made by `make` (each call a fresh, empty store).
pub(super) fn run_all<S: Harness>(mut make: impl FnMut() -> S) {
    epochs_persist(make());
    appends_are_durable_after_sync_and_reload(make());
    quorum_logs_cross_epochs_truncate_exactly_and_keep_a_tail(make());
    snapshots_plus_later_logs_recover_and_purge_keeps_what_is_needed(make());
    torn_tails_are_truncated_and_never_replayed(make());
    corruption_before_the_last_log_is_an_error_naming_the_log(make());
    an_installed_snapshot_replaces_the_history_before_it(make());
}

fn load(s: &mut impl ZabStore) -> Loaded<Database> {
    s.load(None, 0).unwrap()
}

fn append(s: &mut impl ZabStore, recs: &[TxnRecord]) {
    let encoded: Vec<(i64, Vec<u8>)> = recs.iter().map(|r| (r.zxid, r.encode())).collect();
    let refs: Vec<(i64, &[u8])> = encoded.iter().map(|(z, b)| (*z, b.as_slice())).collect();
    s.append(&refs).unwrap();
}

fn epochs_persist<S: Harness>(mut s: S) {
    assert_eq!(s.read_epoch(EpochFile::Accepted).unwrap(), None);
    s.perform(&StoreOp::AcceptedEpoch(7)).unwrap();
    s.perform(&StoreOp::AcceptedEpoch(8)).unwrap();
    s.perform(&StoreOp::CurrentEpoch(6)).unwrap();
    let s = s.restart();
    assert_eq!(s.read_epoch(EpochFile::Accepted).unwrap(), Some(8));
    assert_eq!(s.read_epoch(EpochFile::Current).unwrap(), Some(6));
}

fn appends_are_durable_after_sync_and_reload<S: Harness>(mut s: S) {
    let empty = load(&mut s);
    assert_eq!((empty.last_zxid, empty.snapshot_zxid), (0, 0));
    assert!(empty.db.tree.get("/").is_some());
    append(
        &mut s,
        &[
            rec(1, Txn::CreateSession { timeout_ms: 4000 }),
            create(2, "/a", 1),
        ],
    );
    append(&mut s, &[create(3, "/b", 2)]);
    s.sync().unwrap();
    let mut s = s.restart();
    let r = load(&mut s);
    assert_eq!((r.last_zxid, r.replayed), (3, 3));
    assert!(r.db.tree.get("/b").is_some());
    assert_eq!(r.db.session_list(), [(7, 4000)]);
    // Appends continue after a load, into the same history.
    append(&mut s, &[create(4, "/c", 3)]);
    s.sync().unwrap();
    let mut s = s.restart();
    let r = load(&mut s);
    assert_eq!(r.last_zxid, 4);
    assert!(r.db.tree.get("/c").is_some());
}

fn quorum_logs_cross_epochs_truncate_exactly_and_keep_a_tail<S: Harness>(mut s: S) {
    // Epoch 1: three txns; epoch 2 starts at counter 1 (a zxid "gap" that is no gap).
    append(
        &mut s,
        &[
            rec(make_zxid(1, 1), Txn::CreateSession { timeout_ms: 4000 }),
            create(make_zxid(1, 2), "/a", 1),
            create(make_zxid(1, 3), "/b", 2),
        ],
    );
    let e2 = create(make_zxid(2, 1), "/c", 3);
    s.perform(&StoreOp::Append(Entry {
        zxid: e2.zxid,
        data: e2.encode().into(),
    }))
    .unwrap();
    s.sync().unwrap();
    let r: Loaded<Database> = s.load(None, 10).unwrap();
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
    assert_eq!(r.tail[3].data, e2.encode());
    // A read bounded at (1, 2) sees that prefix only and changes nothing.
    let r: Loaded<Database> = s.load(Some(make_zxid(1, 2)), 1).unwrap();
    assert_eq!(r.last_zxid, make_zxid(1, 2));
    assert!(r.db.tree.get("/b").is_none());
    assert_eq!(r.tail.len(), 1);
    assert_eq!(load(&mut s).last_zxid, make_zxid(2, 1));

    // TRUNC to (1, 2): the tail goes durably, appends continue after it.
    s.perform(&StoreOp::Truncate(make_zxid(1, 2))).unwrap();
    let mut s = s.restart();
    assert_eq!(load(&mut s).last_zxid, make_zxid(1, 2));
    append(&mut s, &[create(make_zxid(3, 1), "/d", 2)]);
    s.sync().unwrap();
    let mut s = s.restart();
    let r = load(&mut s);
    assert_eq!(r.last_zxid, make_zxid(3, 1));
    assert!(r.db.tree.get("/b").is_none() && r.db.tree.get("/c").is_none());
    assert!(r.db.tree.get("/d").is_some());
    // A history with a real hole is refused.
    s.roll().unwrap();
    append(&mut s, &[create(make_zxid(3, 3), "/e", 3)]);
    s.sync().unwrap();
    assert!(matches!(
        s.load::<Database>(None, 0),
        Err(StoreError::Corrupt { .. })
    ));
}

fn snapshots_plus_later_logs_recover_and_purge_keeps_what_is_needed<S: Harness>(mut s: S) {
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
        append(&mut s, &batch);
        s.roll().unwrap();
        s.write_snapshot(zxid, &serialize_snapshot(&tree, &[(9, 3000)], zxid))
            .unwrap();
    }
    // Txns after the last snapshot.
    zxid += 1;
    let after = create(zxid, "/after", zxid as i32);
    append(&mut s, std::slice::from_ref(&after));
    s.sync().unwrap();
    let r = load(&mut s);
    assert_eq!((r.last_zxid, r.snapshot_zxid, r.replayed), (16, 15, 1));
    assert!(r.db.tree.get("/n4-2").is_some() && r.db.tree.get("/after").is_some());
    assert_eq!(r.db.session_list(), [(9, 3000)]);
    let mut ch = Vec::new();
    tree.apply(after.zxid, after.time_ms, &after.txn, &mut ch);
    assert_eq!(r.db.tree.stat("/").unwrap(), tree.stat("/").unwrap());
    assert_eq!(
        s.purge().unwrap(),
        2 + 2,
        "two old snapshots and the logs only they needed"
    );
    let mut s = s.restart();
    assert_eq!(load(&mut s).last_zxid, 16);
    // A damaged newest snapshot falls back to the previous one plus logs.
    s.corrupt_newest_snapshot();
    let r = load(&mut s);
    assert_eq!((r.last_zxid, r.snapshot_zxid), (16, 12));
    assert!(r.db.tree.get("/n4-0").is_some());
    // A snapshot after a truncation point goes with the txns it holds.
    s.truncate_after(13).unwrap();
    let r = load(&mut s);
    assert_eq!((r.last_zxid, r.snapshot_zxid), (13, 12));
    assert!(r.db.tree.get("/n4-0").is_some() && r.db.tree.get("/n4-1").is_none());
}

fn torn_tails_are_truncated_and_never_replayed<S: Harness>(mut s: S) {
    append(
        &mut s,
        &[
            rec(1, Txn::CreateSession { timeout_ms: 4000 }),
            create(2, "/a", 1),
            create(3, "/b", 2),
        ],
    );
    s.sync().unwrap();
    let mut s = s.crash_tearing(4, &create(4, "/c", 3).encode());
    for _ in 0..2 {
        let r = load(&mut s);
        assert_eq!(r.last_zxid, 3);
        assert!(r.db.tree.get("/c").is_none());
    }
    // Appending after the truncation continues the same history.
    append(&mut s, &[create(4, "/c2", 3)]);
    s.sync().unwrap();
    let mut s = s.restart();
    let r = load(&mut s);
    assert_eq!(r.last_zxid, 4);
    assert!(r.db.tree.get("/c").is_none() && r.db.tree.get("/c2").is_some());
}

fn corruption_before_the_last_log_is_an_error_naming_the_log<S: Harness>(mut s: S) {
    append(&mut s, &[create(1, "/a", 1), create(2, "/b", 2)]);
    s.roll().unwrap();
    append(&mut s, &[create(3, "/c", 3)]);
    s.sync().unwrap();
    s.corrupt(2);
    match s.load::<Database>(None, 0) {
        Err(StoreError::Corrupt { path, reason }) => {
            assert!(path.to_string_lossy().ends_with("log.1"), "{path:?}");
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("{:?}", other.map(|r| r.last_zxid)),
    }
    // A missing first log (txns 1..2) is refused, not taken for an empty database.
    s.remove_logs_covered_by(2).unwrap();
    assert!(matches!(
        s.load::<Database>(None, 0),
        Err(StoreError::Inconsistent(_))
    ));
}

fn an_installed_snapshot_replaces_the_history_before_it<S: Harness>(mut s: S) {
    // This server's own history, which the leader's lacks.
    append(&mut s, &[create(make_zxid(1, 1), "/mine", 1)]);
    append(&mut s, &[create(make_zxid(1, 2), "/mine2", 2)]);
    s.sync().unwrap();
    let mut leader = DataTree::new();
    let theirs = create(make_zxid(2, 1), "/theirs", 1);
    leader.apply(theirs.zxid, theirs.time_ms, &theirs.txn, &mut Vec::new());
    let at = make_zxid(2, 1);
    let image = serialize_snapshot(&leader, &[(5, 6000)], at);
    s.perform(&StoreOp::Snapshot {
        zxid: at,
        data: image.into(),
    })
    .unwrap();
    let mut s = s.restart();
    let r: Loaded<Database> = s.load(None, 10).unwrap();
    assert_eq!((r.last_zxid, r.snapshot_zxid), (at, at));
    assert!(r.db.tree.get("/theirs").is_some() && r.db.tree.get("/mine").is_none());
    assert!(r.tail.is_empty(), "nothing of the old history seeds a DIFF");
    append(&mut s, &[create(make_zxid(2, 2), "/next", 2)]);
    s.sync().unwrap();
    let mut s = s.restart();
    let r: Loaded<Database> = s.load(None, 10).unwrap();
    assert_eq!(r.last_zxid, make_zxid(2, 2));
    let tail: Vec<i64> = r.tail.iter().map(|e| e.zxid).collect();
    assert_eq!(tail, [make_zxid(2, 2)]);
}

impl Harness for FileStore {
    fn restart(self) -> Self {
        let config = self.config().clone();
        drop(self);
        FileStore::new(config)
    }

    fn crash_tearing(mut self, zxid: i64, payload: &[u8]) -> Self {
        self.sync().unwrap();
        let config = self.config().clone();
        drop(self);
        let (last, _) = list_zxid_files(&config.log_dir, "log")
            .unwrap()
            .pop()
            .unwrap();
        let (_, resume) = load_files::<Database>(&config, Some(i64::MAX), 0).unwrap();
        let (path, pos) = resume.unwrap();
        assert_eq!(path, config.log_dir.join(format!("log.{last:x}")));
        let mut bytes = Vec::new();
        frame_record(payload, &mut bytes);
        assert_eq!(TxnRecord::zxid_of(payload).unwrap(), zxid);
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(pos)).unwrap();
        f.write_all(&bytes[..bytes.len() / 2]).unwrap();
        FileStore::new(config)
    }

    fn corrupt(&mut self, zxid: i64) {
        let config = self.config();
        for (_, path) in list_zxid_files(&config.log_dir, "log").unwrap() {
            let mut bytes = fs::read(&path).unwrap();
            let mut pos = HEADER_LEN as usize;
            while let Decoded::Record { zxid: at, used, .. } = decode_record(&bytes[pos..]) {
                if at == zxid {
                    bytes[pos + 12] ^= 0xff;
                    fs::write(&path, bytes).unwrap();
                    return;
                }
                pos += used;
            }
        }
        panic!("no log holds 0x{zxid:x}");
    }

    fn corrupt_newest_snapshot(&mut self) {
        let snaps = list_zxid_files(&self.config().snap_dir, "snapshot").unwrap();
        let newest = &snaps.last().unwrap().1;
        let mut bytes = fs::read(newest).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        fs::write(newest, bytes).unwrap();
    }
}

impl Harness for MemStore {
    fn restart(mut self) -> Self {
        self.crash();
        self
    }

    fn crash_tearing(mut self, zxid: i64, payload: &[u8]) -> Self {
        MemStore::crash_tearing(&mut self, zxid, payload);
        self
    }

    fn corrupt(&mut self, zxid: i64) {
        assert!(MemStore::corrupt(self, zxid), "no log holds 0x{zxid:x}");
    }

    fn corrupt_newest_snapshot(&mut self) {
        let (zxid, image) = self.newest_snapshot().expect("a snapshot");
        let mut bytes = image.to_vec();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        self.write_snapshot(zxid, &bytes).unwrap();
    }
}

#[test]
fn file_store_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    let mut n = 0;
    run_all(|| {
        n += 1;
        let dir = root.path().join(format!("s{n}"));
        let mut config = StoreConfig::new(&dir, &dir.join("logs"));
        config.prealloc_bytes = 4096;
        FileStore::new(config)
    });
}

#[test]
fn mem_store_passes_the_conformance_suite() {
    run_all(MemStore::new);
}

#[test]
fn a_mem_store_crash_loses_exactly_the_unsynced_appends() {
    let mut s = MemStore::new();
    append(&mut s, &[create(1, "/a", 1)]);
    s.sync().unwrap();
    append(&mut s, &[create(2, "/b", 2)]);
    s.crash();
    assert_eq!(load(&mut s).last_zxid, 1);
    append(&mut s, &[create(2, "/b2", 2)]);
    assert_eq!(
        s.log_starts(),
        [1, 2],
        "after a crash appends go to a new log"
    );
    s.sync().unwrap();
    s.crash();
    let r = load(&mut s);
    assert_eq!(r.last_zxid, 2);
    assert!(r.db.tree.get("/b2").is_some() && r.db.tree.get("/b").is_none());
}
