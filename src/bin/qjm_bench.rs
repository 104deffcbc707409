//! `qjm-bench`: edits per second and acknowledgement latency through three real JournalNodes
//! on loopback, with fsync, for a range of concurrent writers — beside the disk's own fsync
//! rate, the physical bound.
//!
//! ```text
//! qjm-bench [--writers 1,4,16,64,256] [--seconds 10] [--edit-bytes 200] [--data-dir DIR]
//!           [--journalnodes host:port;host:port;host:port]
//! ```
//!
//! Without `--journalnodes` it starts three `journalnode` processes (the binary beside this
//! one) on 127.0.0.1, .2 and .3 with their edits under `--data-dir`, and stops them at the end.
//! Each writer is one caller with one edit outstanding at a time (a NameNode handler that logs
//! an edit and waits for it to be durable); concurrent callers share batches.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdfs_ha::conf::QjournalUri;
use hdfs_ha::journal::NamespaceInfo;
use hdfs_ha::local_cluster;
use hdfs_ha::qjm::{QjmConf, QuorumJournalManager};

struct Args {
    writers: Vec<usize>,
    seconds: u64,
    edit_bytes: usize,
    data_dir: PathBuf,
    journalnodes: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        writers: vec![1, 4, 16, 64, 256],
        seconds: 10,
        edit_bytes: 200,
        data_dir: std::env::temp_dir().join(format!("qjm-bench-{}", std::process::id())),
        journalnodes: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--writers" => args.writers = local_cluster::parse_counts(&value()?, "writer count")?,
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--edit-bytes" => args.edit_bytes = value()?.parse().map_err(|_| "bad --edit-bytes")?,
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "--journalnodes" => args.journalnodes = Some(value()?),
            "-h" | "--help" => {
                return Err("usage: qjm-bench [--writers 1,4,16,64,256] [--seconds 10] [--edit-bytes 200] [--data-dir DIR] [--journalnodes h:p;h:p;h:p]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The disk's own rate of small synced writes in `dir` (the physical bound of any log).
fn disk_fsync_rate(dir: &Path, seconds: f64) -> Result<f64, String> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let block = vec![0u8; 4096];
    let start = Instant::now();
    let mut syncs = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        file.write_all(&block).map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        syncs += 1;
    }
    let _ = std::fs::remove_file(&path);
    Ok(syncs as f64 / start.elapsed().as_secs_f64())
}

fn main() {
    local_cluster::bench_main("qjm-bench", parse_args, run);
}

async fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.data_dir).map_err(|e| e.to_string())?;
    let mut nodes = Vec::new();
    let uri_text = match &args.journalnodes {
        Some(list) => format!("qjournal://{list}/bench"),
        None => {
            let mut addresses = Vec::new();
            let conf_dir = args.data_dir.join("conf");
            std::fs::create_dir_all(&conf_dir).map_err(|e| e.to_string())?;
            for i in 0..3 {
                let (node, address) =
                    local_cluster::start_journalnode(i, &args.data_dir, &conf_dir, false)?;
                nodes.push(node);
                addresses.push(address);
            }
            format!("qjournal://{}/bench", addresses.join(";"))
        }
    };
    let uri = QjournalUri::parse(&uri_text)?;
    let fsync_rate = disk_fsync_rate(&args.data_dir, 2.0)?;
    println!("qjm-bench: {uri}");
    println!(
        "disk: {fsync_rate:.0} synced 4 KiB writes/s in {} (the physical bound per JournalNode)",
        args.data_dir.display()
    );
    println!(
        "edits of {} bytes, {} s per point, fsync on",
        args.edit_bytes, args.seconds
    );
    println!();
    println!("| writers | edits/s | p50 ack latency | p99 ack latency | edits per batch |");
    println!("|---:|---:|---:|---:|---:|");

    let ns = NamespaceInfo {
        namespace_id: 1,
        cluster_id: "CID-bench".into(),
        block_pool_id: "BP-bench".into(),
        layout_version: -66,
        ctime: 0,
    };
    let qjm = Arc::new(
        QuorumJournalManager::connect(QjmConf::default(), &uri, Some(ns), None)
            .map_err(|e| e.to_string())?,
    );
    qjm.format(true).await.map_err(|e| e.to_string())?;
    let mut next_txid = qjm
        .recover_unfinalized_segments()
        .await
        .map_err(|e| e.to_string())?
        .map_or(1, |t| t + 1);
    let payload = vec![7u8; args.edit_bytes];
    for &writers in &args.writers {
        let writer = Arc::new(
            qjm.start_log_segment(next_txid, -66)
                .await
                .map_err(|e| e.to_string())?,
        );
        let batches_before = batches_written(&qjm).await;
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let writer = writer.clone();
            let payload = payload.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    writer.write(&[&payload]).await.map_err(|e| e.to_string())?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.map_err(|e| e.to_string())??);
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let edits = latencies.len();
        let writer = Arc::try_unwrap(writer).map_err(|_| "writer still shared")?;
        let last = writer.close().await.map_err(|e| e.to_string())?;
        qjm.finalize_log_segment(next_txid, last)
            .await
            .map_err(|e| e.to_string())?;
        let batches = batches_written(&qjm)
            .await
            .saturating_sub(batches_before)
            .max(1);
        next_txid = last + 1;
        println!(
            "| {writers} | {:.0} | {:.2} ms | {:.2} ms | {:.1} |",
            edits as f64 / elapsed,
            local_cluster::percentile(&latencies, 50.0).as_secs_f64() * 1e3,
            local_cluster::percentile(&latencies, 99.0).as_secs_f64() * 1e3,
            edits as f64 / batches as f64
        );
        qjm.purge_logs_older_than(next_txid);
    }
    drop(nodes);
    if args.journalnodes.is_none() {
        let _ = std::fs::remove_dir_all(&args.data_dir);
    }
    Ok(())
}

/// Batches of edits JournalNode 0 has acknowledged so far.
async fn batches_written(qjm: &QuorumJournalManager<hdfs_ha::qjm::IpcChannel>) -> u64 {
    qjm.loggers().first().map(|l| l.batches_sent()).unwrap_or(0)
}
