//! The durability pipeline both drivers share: the syncer thread that owns the [`FileStore`]
//! (group commit: everything queued is written, then one fsync, then what waited on it is
//! released), the snapshot thread that writes and publishes fuzzy snapshots and purges, and
//! [`Snapshots`], the core's side of a snapshot (when one is due, the walk in chunks).
//!
//! Invariants: nothing a batch releases (replies, a quorum peer's `Persisted`) happens before
//! the batch and every earlier one are synced; a snapshot is published only once the log is
//! durable up to every txn its fuzzy walk may reflect; the thread that orders txns never
//! writes a snapshot file, it only hands node records over.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::seeded::SeededRng;
use tokio_util::sync::CancellationToken;

use super::client_port::{Registry, ServerConf, deliver};
use super::four_letter::Telemetry;
use super::processor::{Action, Processor};
use super::store::{self, FileStore, StoreConfig, StoreError, ZabStore};
use super::txn::TxnRecord;
use super::zab::{Entry, StoreOp};

/// What a core hands the syncer.
pub(super) enum SyncMsg {
    Batch(Batch),
    /// Runs on the syncer thread, in order with the batches (a quorum core reading the
    /// disk after its store ops, or starting over from it).
    With(Box<dyn FnOnce(&mut FileStore) + Send>),
}

/// Writes to make durable together, and what waits for them.
pub(super) struct Batch {
    /// Standalone: the txns the core ordered (encoded here, off the core thread).
    pub txns: Vec<TxnRecord>,
    /// Quorum: the peer's store ops, in order.
    pub ops: Vec<StoreOp>,
    /// Quorum: the sequence number of the last of `ops`, reported once they are durable.
    pub persisted_seq: Option<u64>,
    /// Released once the batch is durable.
    pub actions: Vec<Action>,
    /// Roll the log after these writes (a snapshot starts at the last of them).
    pub roll: bool,
    /// When the core picked up the first input of the batch.
    pub started: Instant,
}

impl Batch {
    pub(super) fn new(started: Instant) -> Batch {
        Batch {
            txns: Vec::new(),
            ops: Vec::new(),
            persisted_seq: None,
            actions: Vec::new(),
            roll: false,
            started,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.txns.is_empty() && self.ops.is_empty() && self.actions.is_empty() && !self.roll
    }
}

/// The highest zxid the syncer has made durable, for the snapshot thread to wait on.
#[derive(Default)]
pub(super) struct Durable {
    zxid: Mutex<i64>,
    changed: Condvar,
    /// The syncer is gone (shut down or failed): nothing more becomes durable.
    closed: AtomicBool,
    /// Quorum: the sequence number of the last store op made durable (0: none since the
    /// peer started), and the core's wake-up when it moves.
    persisted_seq: AtomicU64,
}

impl Durable {
    pub(super) fn advance(&self, zxid: i64) {
        let mut z = self.zxid.lock().expect("durable lock");
        if zxid > *z {
            *z = zxid;
            self.changed.notify_all();
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _z = self.zxid.lock().expect("durable lock");
        self.changed.notify_all();
    }

    /// Waits until `zxid` is durable; false if it never will be.
    fn wait_for(&self, zxid: i64) -> bool {
        let mut z = self.zxid.lock().expect("durable lock");
        loop {
            if *z >= zxid {
                return true;
            }
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            z = self
                .changed
                .wait_timeout(z, Duration::from_millis(100))
                .expect("durable lock")
                .0;
        }
    }

    /// The last store op of the peer made durable (0: none).
    pub(super) fn persisted_seq(&self) -> u64 {
        self.persisted_seq.load(Ordering::SeqCst)
    }

    /// A new peer numbers its store ops from the start again.
    pub(super) fn reset_persisted_seq(&self) {
        self.persisted_seq.store(0, Ordering::SeqCst);
    }
}

/// Where the syncer reports and releases.
pub(super) struct SyncerOutlets {
    pub registry: Registry,
    pub telemetry: Arc<Telemetry>,
    pub durable: Arc<Durable>,
    pub max_queued: usize,
    /// Tells the core that `durable.persisted_seq()` moved; must not block.
    pub wake: Box<dyn Fn() + Send>,
}

/// Owns the store until `rx` closes or the disk fails.
pub(super) fn sync_loop(
    store: &mut FileStore,
    rx: Receiver<SyncMsg>,
    out: &SyncerOutlets,
) -> Result<(), StoreError> {
    let result = sync_batches(store, &rx, out);
    out.durable.close();
    result.and_then(|()| store.sync())
}

fn sync_batches(
    store: &mut FileStore,
    rx: &Receiver<SyncMsg>,
    out: &SyncerOutlets,
) -> Result<(), StoreError> {
    let mut next = rx.recv().ok();
    while let Some(first) = next.take() {
        let mut batches = Vec::new();
        let mut then = None;
        match first {
            SyncMsg::Batch(b) => batches.push(b),
            SyncMsg::With(f) => then = Some(f),
        }
        while then.is_none() && batches.len() < 256 {
            match rx.try_recv() {
                Ok(SyncMsg::Batch(b)) => batches.push(b),
                Ok(SyncMsg::With(f)) => then = Some(f),
                Err(_) => break,
            }
        }
        let mut last_zxid = None;
        let mut persisted = None;
        for b in &batches {
            if let Some(zxid) = write(store, b)? {
                last_zxid = Some(zxid);
            }
            if b.roll {
                store.roll()?;
            }
            persisted = b.persisted_seq.or(persisted);
        }
        let t = Instant::now();
        store.sync()?;
        if let Some(zxid) = last_zxid {
            let ms = t.elapsed().as_millis() as u64;
            out.telemetry.record_fsync(ms);
            if ms > 1000 {
                tracing::warn!(
                    "fsync-ing the write ahead log took {ms}ms which will adversely effect operation latency."
                );
            }
            out.durable.advance(zxid);
        }
        if let Some(seq) = persisted {
            out.durable.persisted_seq.store(seq, Ordering::SeqCst);
            (out.wake)();
        }
        release(batches, out);
        if let Some(f) = then {
            f(store);
        }
        next = rx.recv().ok();
    }
    Ok(())
}

/// Writes a batch (not yet synced); the last zxid it logged or installed.
fn write(store: &mut FileStore, b: &Batch) -> Result<Option<i64>, StoreError> {
    let mut last = None;
    if !b.txns.is_empty() {
        let encoded: Vec<(i64, Vec<u8>)> = b.txns.iter().map(|t| (t.zxid, t.encode())).collect();
        append_run(store, encoded.iter().map(|(z, d)| (*z, d.as_slice())))?;
        last = encoded.last().map(|(z, _)| *z);
    }
    // Consecutive appends go down as one write.
    let mut run: Vec<&Entry> = Vec::new();
    for op in &b.ops {
        if let StoreOp::Append(entry) = op {
            run.push(entry);
            last = Some(entry.zxid);
            continue;
        }
        append_run(store, run.drain(..).map(|e| (e.zxid, &e.data[..])))?;
        store.perform(op)?;
        if let StoreOp::Snapshot { zxid, .. } = op {
            last = Some(*zxid);
        }
    }
    append_run(store, run.drain(..).map(|e| (e.zxid, &e.data[..])))?;
    Ok(last)
}

fn append_run<'a>(
    store: &mut FileStore,
    txns: impl Iterator<Item = (i64, &'a [u8])>,
) -> Result<(), StoreError> {
    let txns: Vec<(i64, &[u8])> = txns.collect();
    store.append(&txns)
}

/// Delivers what waited on the sync, with the latency figures.
fn release(batches: Vec<Batch>, out: &SyncerOutlets) {
    if batches.iter().all(|b| b.actions.is_empty()) {
        return;
    }
    let registry = out.registry.lock().expect("registry lock");
    let mut samples = Vec::new();
    for b in batches {
        let latency = b.started.elapsed().as_millis() as u64;
        for action in b.actions {
            if let Action::Send { conn, frame } = &action
                && frame.len() >= 8
                && frame[4..8] != [0xff; 4]
            {
                out.telemetry.record_latency(latency);
                samples.push((*conn, latency));
            }
            deliver(&registry, action, out.max_queued);
        }
    }
    // Under the registry lock, so a connection that closed (and was forgotten) meanwhile
    // is not brought back.
    samples.retain(|(conn, _)| registry.contains_key(conn));
    out.telemetry.record_connection_latencies(&samples);
}

/// What the core tells the snapshot thread.
pub(super) enum SnapMsg {
    /// A fuzzy snapshot starts at `zxid` (the log rolls right after it).
    Begin {
        zxid: i64,
        sessions: Vec<(i64, i32)>,
    },
    /// More node records.
    Nodes(Vec<u8>),
    /// The walk is done; it may reflect txns up to `applied_zxid`, so the snapshot may only
    /// be published once the log is durable that far.
    End { applied_zxid: i64 },
    /// The walk stopped: the tree it walked was replaced.
    Abandon,
}

/// Writes snapshots from the core's walks and purges every `purge_interval`.
pub(super) fn snapshot_loop(
    config: &StoreConfig,
    rx: Receiver<SnapMsg>,
    purge_interval: Option<Duration>,
    durable: &Durable,
) {
    let mut next_purge = purge_interval.map(|i| Instant::now() + i);
    let run_purge = || match store::purge(config) {
        Ok(n) => tracing::info!("Purge task completed, {n} files removed"),
        Err(e) => tracing::warn!("Error purging old snapshots and logs: {e}"),
    };
    if purge_interval.is_some() {
        run_purge();
    }
    // The snapshot being written; `None` after a write error (the rest of it is dropped).
    let mut current: Option<store::SnapshotWriter> = None;
    let mut failed = false;
    loop {
        let msg = match next_purge {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
        };
        let result = match msg {
            Some(SnapMsg::Begin { zxid, sessions }) => {
                tracing::info!("Snapshotting: 0x{zxid:x} to {}", config.snap_dir.display());
                failed = false;
                store::SnapshotWriter::create(config, zxid, &sessions).map(|w| current = Some(w))
            }
            Some(SnapMsg::Nodes(bytes)) => match current.as_mut() {
                Some(w) => w.append(&bytes),
                None => Ok(()),
            },
            Some(SnapMsg::End { applied_zxid }) => match current.take() {
                Some(w) if !failed => {
                    if durable.wait_for(applied_zxid) {
                        w.finish().map(|_| ())
                    } else {
                        tracing::warn!(
                            "Abandoning snapshot: the log did not reach 0x{applied_zxid:x}"
                        );
                        Ok(())
                    }
                }
                _ => Ok(()),
            },
            Some(SnapMsg::Abandon) => {
                // Its temp file goes at the next start (or is overwritten by the next one).
                current = None;
                Ok(())
            }
            None => {
                run_purge();
                next_purge = purge_interval.map(|i| Instant::now() + i);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("Severe unrecoverable error taking snapshot: {e}");
            current = None;
            failed = true;
        }
    }
}

/// Nodes serialized per turn of a core loop while a snapshot is in progress.
const SNAPSHOT_CHUNK: usize = 2000;

/// The core's side of snapshots: when the next is due, and the walk of one in progress.
pub(super) struct Snapshots {
    snap_count: u64,
    rng: SeededRng,
    /// Txns after the last snapshot at which the next one starts.
    next: u64,
    walk: Option<store::TreeWalk>,
    tx: Sender<SnapMsg>,
}

impl Snapshots {
    pub(super) fn new(snap_count: u64, tx: Sender<SnapMsg>) -> Snapshots {
        // Roll points are random in (snapCount/2, snapCount], as in ZooKeeper, so that the
        // servers of an ensemble do not all snapshot at once; the seed is logged for replays.
        let seed = SeededRng::from_entropy().next_u64();
        tracing::info!("snapshot roll point seed {seed}");
        let mut s = Snapshots {
            snap_count,
            rng: SeededRng::new(seed),
            next: 0,
            walk: None,
            tx,
        };
        s.next = s.roll_point();
        s
    }

    fn roll_point(&mut self) -> u64 {
        let half = (self.snap_count / 2).max(1);
        half + self
            .rng
            .between(1, self.snap_count.saturating_sub(half).max(1))
    }

    pub(super) fn walking(&self) -> bool {
        self.walk.is_some()
    }

    /// Starts a fuzzy snapshot of `p` at its last zxid when one is due (and none is being
    /// walked); true when it did, and the caller rolls the log right after that zxid.
    pub(super) fn maybe_begin(&mut self, p: &mut Processor) -> bool {
        if self.walk.is_some() || p.txns_since_snapshot() < self.next {
            return false;
        }
        p.snapshot_taken();
        self.next = self.roll_point();
        let _ = self.tx.send(SnapMsg::Begin {
            zxid: p.last_zxid(),
            sessions: p.sessions().all(),
        });
        self.walk = Some(store::TreeWalk::new());
        true
    }

    /// Hands the next chunk of the walk over; the last one ends the snapshot.
    pub(super) fn step(&mut self, p: &Processor) {
        let Some(w) = self.walk.as_mut() else {
            return;
        };
        let mut chunk = Vec::new();
        let done = w.next_chunk(p.tree(), SNAPSHOT_CHUNK, &mut chunk);
        let _ = self.tx.send(SnapMsg::Nodes(chunk));
        if done {
            let _ = self.tx.send(SnapMsg::End {
                applied_zxid: p.last_zxid(),
            });
            self.walk = None;
        }
    }

    /// The tree is being replaced: a walk in progress stops and its snapshot is dropped.
    pub(super) fn abandon(&mut self) {
        if self.walk.take().is_some() {
            let _ = self.tx.send(SnapMsg::Abandon);
        }
    }
}

/// A quorum core's store ops waiting to go to the syncer as one batch.
pub(super) struct PendingOps {
    ops: Vec<StoreOp>,
    seq: Option<u64>,
}

impl PendingOps {
    pub(super) fn new() -> PendingOps {
        PendingOps {
            ops: Vec::new(),
            seq: None,
        }
    }

    pub(super) fn push(&mut self, seq: u64, op: StoreOp) {
        self.ops.push(op);
        self.seq = Some(seq);
    }

    /// Sends what is pending (with a roll after it when `roll`); false if the syncer is gone.
    pub(super) fn flush(&mut self, tx: &SyncSender<SyncMsg>, roll: bool) -> bool {
        if self.ops.is_empty() && !roll {
            return true;
        }
        let mut batch = Batch::new(Instant::now());
        batch.ops = std::mem::take(&mut self.ops);
        batch.persisted_seq = self.seq.take();
        batch.roll = roll;
        tx.send(SyncMsg::Batch(batch)).is_ok()
    }
}

/// Runs `f` on the syncer thread after everything sent before it and waits for its result;
/// `None` if the syncer is gone.
pub(super) fn on_syncer<T: Send + 'static>(
    tx: &SyncSender<SyncMsg>,
    f: impl FnOnce(&mut FileStore) -> T + Send + 'static,
) -> Option<T> {
    let (reply, result) = std::sync::mpsc::channel();
    let job = move |store: &mut FileStore| {
        let _ = reply.send(f(store));
    };
    tx.send(SyncMsg::With(Box::new(job))).ok()?;
    result.recv().ok()
}

/// The core's ends of the pipeline.
pub(super) struct Pipeline {
    pub sync_tx: SyncSender<SyncMsg>,
    pub snapshots: Snapshots,
    pub durable: Arc<Durable>,
}

/// The pipeline's threads, joined once the core (holding [`Pipeline`]) is gone.
pub(super) struct PipelineThreads(Vec<std::thread::JoinHandle<()>>);

impl PipelineThreads {
    pub(super) fn join(self) {
        for t in self.0 {
            let _ = t.join();
        }
    }
}

/// How a pipeline reports and releases, and what it stops when the disk fails.
pub(super) struct PipelineOutlets {
    pub registry: Registry,
    pub telemetry: Arc<Telemetry>,
    pub max_queued: usize,
    pub fatal: CancellationToken,
    pub fatal_reason: Arc<Mutex<Option<String>>>,
    /// See [`SyncerOutlets::wake`].
    pub wake: Box<dyn Fn() + Send>,
}

/// Starts the syncer (owning `store`, durable up to `durable_zxid`) and the snapshot thread.
pub(super) fn start(
    conf: &ServerConf,
    mut store: FileStore,
    durable_zxid: i64,
    outlets: PipelineOutlets,
) -> std::io::Result<(Pipeline, PipelineThreads)> {
    let (sync_tx, sync_rx) = std::sync::mpsc::sync_channel::<SyncMsg>(64);
    let (snap_tx, snap_rx) = std::sync::mpsc::channel::<SnapMsg>();
    let durable = Arc::new(Durable::default());
    durable.advance(durable_zxid);
    let syncer = {
        let PipelineOutlets {
            registry,
            telemetry,
            max_queued,
            fatal,
            fatal_reason,
            wake,
        } = outlets;
        let out = SyncerOutlets {
            registry,
            telemetry,
            durable: durable.clone(),
            max_queued,
            wake,
        };
        std::thread::Builder::new()
            .name("SyncThread".into())
            .spawn(move || {
                if let Err(e) = sync_loop(&mut store, sync_rx, &out) {
                    tracing::error!("Severe unrecoverable error, from thread : SyncThread: {e}");
                    *fatal_reason.lock().expect("fatal lock") = Some(e.to_string());
                    fatal.cancel();
                }
            })?
    };
    let snapshotter = {
        let store_conf = conf.store.clone();
        let interval = (conf.purge_interval_hours > 0)
            .then(|| Duration::from_secs(u64::from(conf.purge_interval_hours) * 3600));
        let durable = durable.clone();
        std::thread::Builder::new()
            .name("Snapshot".into())
            .spawn(move || snapshot_loop(&store_conf, snap_rx, interval, &durable))?
    };
    let pipeline = Pipeline {
        sync_tx,
        snapshots: Snapshots::new(conf.snap_count, snap_tx),
        durable,
    };
    Ok((pipeline, PipelineThreads(vec![syncer, snapshotter])))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::coord::store::{Database, EpochFile, serialize_snapshot};
    use crate::coord::tree::{DataTree, open_acl_unsafe};
    use crate::coord::txn::Txn;
    use crate::coord::zab::make_zxid;

    fn create(zxid: i64, path: &str) -> TxnRecord {
        TxnRecord {
            session: 1,
            cxid: 1,
            zxid,
            time_ms: 1,
            txn: Txn::Create {
                path: path.into(),
                data: None,
                acl: open_acl_unsafe(),
                ephemeral_owner: 0,
                parent_cversion: 1,
            },
        }
    }

    fn append(rec: &TxnRecord) -> StoreOp {
        StoreOp::Append(Entry {
            zxid: rec.zxid,
            data: rec.encode().into(),
        })
    }

    fn config(dir: &std::path::Path) -> StoreConfig {
        let mut c = StoreConfig::new(dir, dir);
        c.prealloc_bytes = 4096;
        c
    }

    /// A syncer's channel, its durable marks, the count of its wake-ups, and its thread.
    type Syncer = (
        SyncSender<SyncMsg>,
        Arc<Durable>,
        Arc<AtomicUsize>,
        std::thread::JoinHandle<Result<(), StoreError>>,
    );

    /// A syncer on a store in `dir`.
    fn syncer(dir: &std::path::Path) -> Syncer {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let durable = Arc::new(Durable::default());
        let wakes = Arc::new(AtomicUsize::new(0));
        let out = SyncerOutlets {
            registry: Arc::default(),
            telemetry: Arc::default(),
            durable: durable.clone(),
            max_queued: 1 << 20,
            wake: {
                let wakes = wakes.clone();
                Box::new(move || {
                    wakes.fetch_add(1, Ordering::SeqCst);
                })
            },
        };
        let mut store = FileStore::new(config(dir));
        let thread = std::thread::spawn(move || sync_loop(&mut store, rx, &out));
        (tx, durable, wakes, thread)
    }

    #[test]
    fn store_ops_are_reported_persisted_once_synced_and_jobs_run_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, durable, wakes, thread) = syncer(dir.path());
        let (a, b, c) = (
            create(make_zxid(3, 1), "/a"),
            create(make_zxid(3, 2), "/b"),
            create(make_zxid(3, 3), "/c"),
        );
        let mut ops = PendingOps::new();
        ops.push(1, StoreOp::CurrentEpoch(3));
        ops.push(2, append(&a));
        ops.push(3, append(&b));
        assert!(ops.flush(&tx, true), "a roll after them");
        ops.push(4, append(&c));
        assert!(ops.flush(&tx, false));
        let (epoch, last) = on_syncer(&tx, |store| {
            let loaded = store.load::<Database>(Some(i64::MAX), 0).unwrap();
            (
                store.read_epoch(EpochFile::Current).unwrap(),
                loaded.last_zxid,
            )
        })
        .unwrap();
        assert_eq!((epoch, last), (Some(3), c.zxid));
        assert_eq!(durable.persisted_seq(), 4);
        assert!(wakes.load(Ordering::SeqCst) >= 1);
        assert!(durable.wait_for(c.zxid));
        let logs: Vec<String> = std::fs::read_dir(dir.path().join("version-2"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("log."))
            .collect();
        assert_eq!(logs.len(), 2, "the roll started a new log: {logs:?}");
        // A standalone batch takes txns the same way.
        let mut batch = Batch::new(Instant::now());
        batch.txns = vec![create(make_zxid(3, 4), "/d")];
        tx.send(SyncMsg::Batch(batch)).unwrap();
        drop(tx);
        thread.join().unwrap().unwrap();
        assert!(durable.wait_for(make_zxid(3, 4)));
        assert!(
            !durable.wait_for(make_zxid(3, 5)),
            "closed: nothing more comes"
        );
        let r = FileStore::new(config(dir.path()))
            .load::<Database>(None, 0)
            .unwrap();
        assert!(r.db.tree.get("/d").is_some() && r.db.tree.get("/a").is_some());
    }

    #[test]
    fn a_snapshot_is_published_only_once_the_log_reaches_what_its_walk_saw() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut tree = DataTree::new();
        let rec = create(5, "/x");
        tree.apply(rec.zxid, rec.time_ms, &rec.txn, &mut Vec::new());
        let image = serialize_snapshot(&tree, &[], 5);
        // The node records of the image: after its head (16 + zxid + session count).
        let nodes = image[16 + 8 + 4..image.len() - 5].to_vec();
        let snapshot = |zxid: i64| cfg.snap_dir.join(format!("snapshot.{zxid:x}"));
        let durable = Arc::new(Durable::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = {
            let (cfg, durable) = (cfg.clone(), durable.clone());
            std::thread::spawn(move || snapshot_loop(&cfg, rx, None, &durable))
        };
        // Abandoned: never published.
        tx.send(SnapMsg::Begin {
            zxid: 4,
            sessions: vec![],
        })
        .unwrap();
        tx.send(SnapMsg::Nodes(nodes.clone())).unwrap();
        tx.send(SnapMsg::Abandon).unwrap();
        tx.send(SnapMsg::End { applied_zxid: 5 }).unwrap();
        // Published once the log is durable at 5, not before.
        tx.send(SnapMsg::Begin {
            zxid: 5,
            sessions: vec![],
        })
        .unwrap();
        tx.send(SnapMsg::Nodes(nodes)).unwrap();
        tx.send(SnapMsg::End { applied_zxid: 5 }).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !snapshot(5).exists(),
            "published before the log was durable"
        );
        durable.advance(5);
        drop(tx);
        thread.join().unwrap();
        assert!(!snapshot(4).exists());
        let bytes = std::fs::read(snapshot(5)).unwrap();
        let back = store::deserialize_snapshot(&bytes).unwrap();
        assert!(back.tree.get("/x").is_some());
    }
}
