//! The standalone server: the core thread that owns the [`Processor`] and orders txns, handing
//! them to the durability pipeline (`durability`: the syncer's group commit, fsync, then
//! release of replies; the snapshot thread), on the shared client port (`client_port`).
//! `run(conf, listeners, shutdown)` is the daemon.
//!
//! Invariant: nothing the core produced in a batch reaches a socket before that batch's txns
//! (and all earlier ones) are synced.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client_port::*;
use super::durability::{self, Batch, Pipeline, PipelineOutlets, SyncMsg};
use super::four_letter::{self, ServerInfo, Telemetry};
use super::processor::{Input, Processor};
use super::store::{self, FileStore, ZabStore};

pub use super::client_port::{Listeners, ServerConf, ServerError};

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
    let fatal = CancellationToken::new();
    let fatal_reason: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let (pipeline, pipeline_threads) = durability::start(
        &conf,
        FileStore::with_spares(conf.store.clone()),
        zxid,
        PipelineOutlets {
            registry: registry.clone(),
            telemetry: telemetry.clone(),
            max_queued: conf.core.max_buffer.saturating_mul(MAX_QUEUED_FRAMES),
            fatal: fatal.clone(),
            fatal_reason: fatal_reason.clone(),
            wake: Box::new(|| {}),
        },
    )?;
    let core = {
        let telemetry = telemetry.clone();
        std::thread::Builder::new()
            .name("Core".into())
            .spawn(move || core_loop(processor, core_rx, pipeline, &info, &telemetry, start))?
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
        pipeline_threads.join();
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

fn core_loop(
    mut p: Processor,
    mut rx: mpsc::Receiver<CoreMsg>,
    mut pipeline: Pipeline,
    info: &ServerInfo,
    telemetry: &Telemetry,
    start: Instant,
) {
    const MAX_BATCH: usize = 1000;
    loop {
        // While a snapshot is being walked, never block: walk between batches.
        let first = if pipeline.snapshots.walking() {
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
                CoreMsg::Zab(_) | CoreMsg::Persisted => {}
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
            let mut batch = Batch::new(started);
            batch.roll = pipeline.snapshots.maybe_begin(&mut p);
            batch.txns = out.txns;
            batch.actions = out.actions;
            if !batch.is_empty() && pipeline.sync_tx.send(SyncMsg::Batch(batch)).is_err() {
                return;
            }
        }
        pipeline.snapshots.step(&p);
        if stop {
            return;
        }
    }
}
