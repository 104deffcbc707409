//! `nn-bench`: mutating namespace operations per second through the active NameNode (fsync on,
//! three JournalNodes, 1–64 concurrent clients) and the standby's lag behind the active.
//!
//! ```text
//! nn-bench [--clients 1,8,64] [--seconds 10] [--data-dir DIR]
//! ```
//!
//! It starts three `journalnode`s (127.0.0.1-3) and two `namenode`s (nn1 on 127.0.0.1, nn2 on
//! 127.0.0.2) from the binaries beside it, formats nn1, bootstraps nn2, makes nn1 active, and
//! stops everything at the end. The clients are tasks of this process sharing one `DfsClient`
//! of `hdfs://ns1` — so one IPC connection to the active, as a Hadoop client process shares
//! one — and each creates files one after the other (one call outstanding). The standby's lag
//! is sampled every 10 ms: the time from a txid being written on the active until the standby
//! has applied it, polled every millisecond.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdfs_ha::conf::HostPort;
use hdfs_ha::conf::{Configuration, site_xml};
use hdfs_ha::local_cluster::{self, Process};
use hdfs_ha::namenode::client::DfsClient;
use hdfs_ha::namenode::peer::PeerClient;
use hdfs_ha::zkfc::rpc::{HaClient, RequestSource};

struct Args {
    clients: Vec<usize>,
    seconds: u64,
    data_dir: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        clients: vec![1, 8, 64],
        seconds: 10,
        data_dir: std::env::temp_dir().join(format!("nn-bench-{}", std::process::id())),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--clients" => args.clients = local_cluster::parse_counts(&value()?, "client count")?,
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "-h" | "--help" => {
                return Err(
                    "usage: nn-bench [--clients 1,8,64] [--seconds 10] [--data-dir DIR]".into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Writes the cluster's `hdfs-site.xml` and returns the configuration it holds.
fn write_conf(
    conf_dir: &Path,
    data_dir: &Path,
    journal_nodes: &[String],
    rpc: &[String; 2],
    http: &[String; 2],
) -> Result<Configuration, String> {
    let mut props = vec![
        ("dfs.nameservices".to_string(), "ns1".to_string()),
        ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
        (
            "dfs.namenode.shared.edits.dir".into(),
            format!("qjournal://{}/ns1", journal_nodes.join(";")),
        ),
        ("dfs.ha.tail-edits.in-progress".into(), "true".into()),
        ("dfs.ha.tail-edits.period".into(), "1ms".into()),
        ("fs.defaultFS".into(), "hdfs://ns1".into()),
    ];
    for (i, nn) in ["nn1", "nn2"].iter().enumerate() {
        props.push((format!("dfs.namenode.rpc-address.ns1.{nn}"), rpc[i].clone()));
        props.push((
            format!("dfs.namenode.http-address.ns1.{nn}"),
            http[i].clone(),
        ));
        props.push((
            format!("dfs.namenode.name.dir.ns1.{nn}"),
            data_dir.join(nn).display().to_string(),
        ));
    }
    std::fs::write(conf_dir.join("hdfs-site.xml"), site_xml(&props)).map_err(|e| e.to_string())?;
    let pairs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Ok(Configuration::from_pairs(&pairs))
}

fn main() {
    local_cluster::bench_main("nn-bench", parse_args, |args| async move {
        let data_dir = args.data_dir.clone();
        let result = run(args).await;
        let _ = std::fs::remove_dir_all(&data_dir);
        result
    });
}

async fn run(args: Args) -> Result<(), String> {
    let conf_dir = args.data_dir.join("conf");
    std::fs::create_dir_all(&conf_dir).map_err(|e| e.to_string())?;
    let mut processes: Vec<Process> = Vec::new();
    let mut journal_nodes = Vec::new();
    for i in 0..3 {
        let (p, address) = local_cluster::start_journalnode(i, &args.data_dir, &conf_dir, true)?;
        processes.push(p);
        journal_nodes.push(address);
    }
    let rpc = [
        format!("127.0.0.1:{}", local_cluster::free_port("127.0.0.1")?),
        format!("127.0.0.2:{}", local_cluster::free_port("127.0.0.2")?),
    ];
    let http = [
        format!("127.0.0.1:{}", local_cluster::free_port("127.0.0.1")?),
        format!("127.0.0.2:{}", local_cluster::free_port("127.0.0.2")?),
    ];
    let conf = write_conf(&conf_dir, &args.data_dir, &journal_nodes, &rpc, &http)?;
    local_cluster::hdfs(
        &conf_dir,
        &[
            "namenode",
            "-D",
            "dfs.ha.namenode.id=nn1",
            "-format",
            "-nonInteractive",
        ],
    )?;
    let namenode = local_cluster::bin_dir()?.join("namenode");
    let start_nn = |id: &str| {
        local_cluster::start(
            id,
            &namenode,
            &["-D".to_string(), format!("dfs.ha.namenode.id={id}")],
            &conf_dir,
            "is in standby state",
        )
    };
    processes.push(start_nn("nn1")?.0);
    local_cluster::hdfs(
        &conf_dir,
        &[
            "namenode",
            "-D",
            "dfs.ha.namenode.id=nn2",
            "-bootstrapStandby",
            "-nonInteractive",
        ],
    )?;
    processes.push(start_nn("nn2")?.0);
    let nn1 = HostPort::parse(&rpc[0], None)?;
    HaClient::connect(&nn1, Duration::from_secs(20), 0)
        .await
        .map_err(|e| e.to_string())?
        .transition_to_active(RequestSource::User)
        .await
        .map_err(|e| e.to_string())?;

    println!(
        "nn-bench: 3 JournalNodes, nn1 active at {}, nn2 standby at {}; fsync on; {} s per point",
        rpc[0], rpc[1], args.seconds
    );
    println!();
    println!(
        "| clients | creates/s | p50 latency | p99 latency | standby lag p50 | standby lag p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (round, &clients) in args.clients.iter().enumerate() {
        let stop = Arc::new(AtomicBool::new(false));
        let lag = tokio::spawn(sample_lag(rpc.clone(), stop.clone()));
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let started = Instant::now();
        // A new client (so a new connection) per round, as a new client process would be.
        let client = Arc::new(DfsClient::new(&conf, "hdfs://ns1").map_err(|e| e.to_string())?);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let path = format!("/bench/r{round}/c{c}/f{n}");
                    let t = Instant::now();
                    client
                        .create(&path, 0o644, false, true, 3, 0)
                        .await
                        .map_err(|e| e.to_string())?;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.map_err(|e| e.to_string())??);
        }
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::SeqCst);
        let mut lags = lag.await.map_err(|e| e.to_string())??;
        latencies.sort_unstable();
        lags.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {clients} | {:.0} | {:.2} ms | {:.2} ms | {:.1} ms | {:.1} ms |",
            latencies.len() as f64 / elapsed,
            ms(local_cluster::percentile(&latencies, 50.0)),
            ms(local_cluster::percentile(&latencies, 99.0)),
            ms(local_cluster::percentile(&lags, 50.0)),
            ms(local_cluster::percentile(&lags, 99.0)),
        );
    }
    drop(processes);
    Ok(())
}

/// Samples how long the standby takes to apply what the active has written.
async fn sample_lag(rpc: [String; 2], stop: Arc<AtomicBool>) -> Result<Vec<Duration>, String> {
    let connect = |address: &str| {
        let address = HostPort::parse(address, None);
        async move {
            PeerClient::connect(&address?, Duration::from_secs(20))
                .await
                .map_err(|e| e.to_string())
        }
    };
    let active = connect(&rpc[0]).await?;
    let standby = connect(&rpc[1]).await?;
    let txid = |c: &PeerClient| {
        let c = c.clone();
        async move { c.transaction_id().await.map_err(|e| e.to_string()) }
    };
    let mut lags = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let written = txid(&active).await?;
        let t0 = Instant::now();
        while txid(&standby).await? < written {
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(format!("the standby did not reach txid {written} in 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        lags.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(lags)
}
