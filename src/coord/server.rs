//! The standalone server: the core thread that owns the [`Processor`], the syncer thread that
//! owns the txn log (group commit, fsync, then release of replies), the snapshot thread, on
//! the shared client port (`client_port`). `run(conf, listeners, shutdown)` is the daemon.
//!
//! Invariant: nothing the core produced in a batch reaches a socket before that batch's txns
//! (and all earlier ones) are synced.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client_port::*;
use super::four_letter::{self, ServerInfo, Telemetry};
use super::processor::{Action, Input, Processor};
use super::store::{self, FileStore, StoreConfig, StoreError, TxnLog, ZabStore};
use super::txn::TxnRecord;

pub use super::client_port::{Listeners, ServerConf, ServerError};

/// What the core hands the syncer: txns to make durable, then actions to release.
struct Batch {
    txns: Vec<TxnRecord>,
    actions: Vec<Action>,
    /// Roll the log after these txns (a snapshot starts at the last of them).
    roll: bool,
    /// When the core picked up the first input of the batch.
    started: Instant,
}

/// Runs a standalone server until `shutdown` completes or the txn log fails.
pub async fn run(
    conf: ServerConf,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let start = Instant::now();
    let store_conf = conf.store.clone();
    let recovered = tokio::task::spawn_blocking(move || {
        FileStore::new(store_conf).load::<store::Database>(None, 0)
    })
    .await
    .map_err(|e| ServerError::Log(e.to_string()))??;
    let now = clock(start);
    let (tree, sessions) = recovered.db.into_parts();
    let mut processor =
        Processor::restore(conf.core.clone(), tree, &sessions, recovered.last_zxid, now);
    // Like ZooKeeper, start from a fresh snapshot: the recovered state in one file, and a new
    // log for everything after it.
    let zxid = processor.last_zxid();
    let image = store::serialize_snapshot(processor.tree(), &processor.sessions().all(), zxid);
    let store_conf = conf.store.clone();
    tokio::task::spawn_blocking(move || {
        tracing::info!(
            "Snapshotting: 0x{zxid:x} to {}",
            store_conf.snap_dir.display()
        );
        store::write_snapshot(&store_conf, zxid, &image)
    })
    .await
    .map_err(|e| ServerError::Log(e.to_string()))??;
    processor.snapshot_taken();

    let client = tokio::net::TcpListener::from_std({
        listeners.client.set_nonblocking(true)?;
        listeners.client
    })?;
    let client_port = client.local_addr()?.port();
    tracing::info!(
        "binding to port {}",
        client
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let telemetry = Arc::new(Telemetry::default());
    let registry: Registry = Arc::new(Mutex::new(HashMap::new()));
    let info = standalone_info(&conf, client_port, start);

    let (core_tx, core_rx) = mpsc::channel::<CoreMsg>(1000);
    let (sync_tx, sync_rx) = std::sync::mpsc::sync_channel::<Batch>(64);
    let (snap_tx, snap_rx) = std::sync::mpsc::channel::<SnapMsg>();
    let durable = Arc::new(Durable::default());
    durable.advance(zxid);
    let fatal = CancellationToken::new();
    let fatal_reason: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));

    // The syncer: owns the log.
    let max_buffer = conf.core.max_buffer;
    let syncer = {
        let mut log = TxnLog::with_spares(conf.store.clone());
        let registry = registry.clone();
        let telemetry = telemetry.clone();
        let fatal = fatal.clone();
        let fatal_reason = fatal_reason.clone();
        let durable = durable.clone();
        std::thread::Builder::new()
            .name("SyncThread".into())
            .spawn(move || {
                let max_queued = max_buffer.saturating_mul(MAX_QUEUED_FRAMES);
                if let Err(e) = sync_loop(
                    &mut log, sync_rx, &registry, &telemetry, &durable, max_queued,
                ) {
                    tracing::error!("Severe unrecoverable error, from thread : SyncThread: {e}");
                    *fatal_reason.lock().expect("fatal lock") = Some(e.to_string());
                    fatal.cancel();
                }
                durable.close();
            })?
    };
    // The snapshot writer and purger.
    let snapshotter = {
        let store_conf = conf.store.clone();
        let interval = (conf.purge_interval_hours > 0)
            .then(|| Duration::from_secs(u64::from(conf.purge_interval_hours) * 3600));
        let durable = durable.clone();
        std::thread::Builder::new()
            .name("Snapshot".into())
            .spawn(move || snapshot_loop(&store_conf, snap_rx, interval, &durable))?
    };
    // The core.
    let core = {
        let telemetry = telemetry.clone();
        let snap_count = conf.snap_count;
        // Snapshot roll points are random in (snapCount/2, snapCount], as in ZooKeeper; the
        // seed is logged so a run can be replayed.
        let seed_rng = rand::rng().random::<u64>();
        tracing::info!("snapshot roll point seed {seed_rng}");
        std::thread::Builder::new()
            .name("Core".into())
            .spawn(move || {
                core_loop(
                    processor, core_rx, sync_tx, snap_tx, &info, &telemetry, start, snap_count,
                    seed_rng,
                )
            })?
    };

    let token = CancellationToken::new();
    let shared = Shared::new(
        core_tx.clone(),
        registry.clone(),
        telemetry.clone(),
        &conf,
        token.clone(),
    );

    // Ticks: session expiry and container reaping.
    let period = Duration::from_millis(u64::from(conf.tick_time_ms.max(2) / 2));
    let ticker = spawn_ticker(core_tx.clone(), token.clone(), period);

    let metrics = match listeners.metrics {
        Some(listener) => Some(serve_metrics(listener, core_tx.clone(), token.clone())?),
        None => None,
    };

    serve_clients(client, &shared, shutdown, &fatal).await;
    token.cancel();
    ticker.abort();
    // Stop the core after what it already has; the syncer drains and releases, then exits.
    let _ = core_tx.send(CoreMsg::Stop).await;
    drop(core_tx);
    drop(shared);
    let _ = tokio::task::spawn_blocking(move || {
        let _ = core.join();
        let _ = syncer.join();
        let _ = snapshotter.join();
    })
    .await;
    if let Some(m) = metrics {
        let _ = m.await;
    }
    let reason = fatal_reason.lock().expect("fatal lock").clone();
    match reason {
        Some(r) => Err(ServerError::Log(r)),
        None => Ok(()),
    }
}

/// What the core tells the snapshot thread.
enum SnapMsg {
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
}

/// The highest zxid the syncer has made durable, for the snapshot thread to wait on.
#[derive(Default)]
struct Durable {
    zxid: Mutex<i64>,
    changed: std::sync::Condvar,
    /// The syncer is gone (shut down or failed): nothing more becomes durable.
    closed: std::sync::atomic::AtomicBool,
}

impl Durable {
    fn advance(&self, zxid: i64) {
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
}

/// Nodes serialized per turn of the core loop while a snapshot is in progress.
const SNAPSHOT_CHUNK: usize = 2000;

#[allow(clippy::too_many_arguments)]
fn core_loop(
    mut p: Processor,
    mut rx: mpsc::Receiver<CoreMsg>,
    sync_tx: std::sync::mpsc::SyncSender<Batch>,
    snap_tx: std::sync::mpsc::Sender<SnapMsg>,
    info: &ServerInfo,
    telemetry: &Telemetry,
    start: Instant,
    snap_count: u64,
    seed: u64,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let roll_at = |rng: &mut rand::rngs::StdRng| {
        let half = (snap_count / 2).max(1);
        half + rng.random_range(1..=snap_count.saturating_sub(half).max(1))
    };
    let mut next_snapshot = roll_at(&mut rng);
    let mut walk: Option<store::TreeWalk> = None;
    const MAX_BATCH: usize = 1000;
    loop {
        // While a snapshot is being walked, never block: walk between batches.
        let first = if walk.is_some() {
            match rx.try_recv() {
                Ok(m) => Some(m),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.blocking_recv() {
                Some(m) => Some(m),
                None => return,
            }
        };
        let mut stop = false;
        if let Some(first) = first {
            let started = Instant::now();
            let mut handle = |msg: CoreMsg, p: &mut Processor| match msg {
                CoreMsg::Input(input) => {
                    if matches!(input, Input::Request { .. }) {
                        telemetry.outstanding.fetch_sub(1, Ordering::Relaxed);
                    }
                    p.step(input, clock(start));
                }
                CoreMsg::FourLetter {
                    word,
                    conn,
                    addr,
                    mask,
                    reply,
                } => {
                    p.four_letter_begin(conn, addr, clock(start));
                    let text = four_letter::render(&word, mask, p, info, telemetry);
                    p.four_letter_end(conn);
                    let _ = reply.send(text);
                }
                CoreMsg::Metrics { reply } => {
                    let _ = reply.send(four_letter::prometheus(p, info, telemetry));
                }
                CoreMsg::Zab(_) => {}
                CoreMsg::Stop => stop = true,
            };
            handle(first, &mut p);
            for _ in 0..MAX_BATCH {
                match rx.try_recv() {
                    Ok(msg) => handle(msg, &mut p),
                    Err(_) => break,
                }
            }
            let out = p.take_output();
            let roll = walk.is_none() && p.txns_since_snapshot() >= next_snapshot;
            if roll {
                p.snapshot_taken();
                next_snapshot = roll_at(&mut rng);
                let zxid = p.last_zxid();
                let _ = snap_tx.send(SnapMsg::Begin {
                    zxid,
                    sessions: p.sessions().all(),
                });
                walk = Some(store::TreeWalk::new());
            }
            if !out.txns.is_empty() || !out.actions.is_empty() || roll {
                let batch = Batch {
                    txns: out.txns,
                    actions: out.actions,
                    roll,
                    started,
                };
                if sync_tx.send(batch).is_err() {
                    return;
                }
            }
        }
        if let Some(w) = walk.as_mut() {
            let mut chunk = Vec::new();
            let done = w.next_chunk(p.tree(), SNAPSHOT_CHUNK, &mut chunk);
            let _ = snap_tx.send(SnapMsg::Nodes(chunk));
            if done {
                let _ = snap_tx.send(SnapMsg::End {
                    applied_zxid: p.last_zxid(),
                });
                walk = None;
            }
        }
        if stop {
            return;
        }
    }
}

fn sync_loop(
    log: &mut TxnLog,
    rx: std::sync::mpsc::Receiver<Batch>,
    registry: &Registry,
    telemetry: &Telemetry,
    durable: &Durable,
    max_queued: usize,
) -> Result<(), StoreError> {
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        while batches.len() < 256 {
            match rx.try_recv() {
                Ok(b) => batches.push(b),
                Err(_) => break,
            }
        }
        let mut last_zxid = None;
        for b in &batches {
            log.append(&b.txns)?;
            if let Some(t) = b.txns.last() {
                last_zxid = Some(t.zxid);
            }
            if b.roll {
                log.roll()?;
            }
        }
        let t = Instant::now();
        log.sync()?;
        if let Some(zxid) = last_zxid {
            let ms = t.elapsed().as_millis() as u64;
            telemetry.record_fsync(ms);
            if ms > 1000 {
                tracing::warn!(
                    "fsync-ing the write ahead log took {ms}ms which will adversely effect operation latency."
                );
            }
            durable.advance(zxid);
        }
        let registry = registry.lock().expect("registry lock");
        let mut samples = Vec::new();
        for b in batches {
            let latency = b.started.elapsed().as_millis() as u64;
            for action in b.actions {
                if let Action::Send { conn, frame } = &action
                    && frame.len() >= 8
                    && frame[4..8] != [0xff; 4]
                {
                    telemetry.record_latency(latency);
                    samples.push((*conn, latency));
                }
                deliver(&registry, action, max_queued);
            }
        }
        // Under the registry lock, so a connection that closed (and was forgotten) meanwhile
        // is not brought back.
        samples.retain(|(conn, _)| registry.contains_key(conn));
        telemetry.record_connection_latencies(&samples);
        drop(registry);
    }
    log.sync()
}

fn snapshot_loop(
    config: &StoreConfig,
    rx: std::sync::mpsc::Receiver<SnapMsg>,
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
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
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
