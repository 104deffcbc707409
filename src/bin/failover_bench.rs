//! `failover-bench`: how long automatic failover takes, end to end, on a loopback HA cluster.
//!
//! ```text
//! failover-bench [--runs 20] [--session-timeout-ms 5000] [--zookeeper apache|zkserver]
//!                [--data-dir DIR] [-D key=value ...]
//! ```
//!
//! It starts a ZooKeeper server — Apache ZooKeeper (Debian's `zookeeper` package, the default)
//! or our `zkserver` — with tickTime 200 ms, three
//! `journalnode`s, two `namenode`s (nn1 on 127.0.0.1, nn2 on 127.0.0.2) and a `zkfc` beside
//! each, from the binaries beside it, with `ha.zookeeper.session-timeout.ms` as given and every
//! other ZKFC setting at its default (health checks every second; fencing `shell(/bin/true)`)
//! unless `-D key=value` sets it in hdfs-site.xml.
//! Then, `--runs` times each, it measures the time until the other NameNode acknowledges a
//! write (a `mkdirs` sent every 2 ms):
//!
//! - after `kill -9` of the active NameNode;
//! - after `hdfs haadmin -failover <active> <standby>` is started (graceful, through the ZKFCs);
//! - after `kill -9` of the active NameNode and its ZKFC together (a lost host);
//! - after `SIGSTOP` of the active NameNode and its ZKFC together (a frozen host: a stuck VM,
//!   a long pause), which then wake up (`SIGCONT`) to find themselves fenced.
//!
//! Killed daemons are restarted (as standby) before the next run. Everything is stopped at
//! the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use hdfs_ha::conf::Configuration;
use hdfs_ha::conf::HostPort;
use hdfs_ha::local_cluster::{self, Process, percentile};
use hdfs_ha::namenode::client::DfsClient;
use hdfs_ha::zkfc::health::ServiceState;
use hdfs_ha::zkfc::rpc::HaClient;

struct Args {
    runs: usize,
    session_timeout_ms: u64,
    /// Our `zkserver` instead of Apache ZooKeeper.
    ours: bool,
    data_dir: PathBuf,
    /// `-D key=value`: more hdfs-site.xml properties.
    properties: Vec<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: 20,
        session_timeout_ms: 5000,
        ours: false,
        data_dir: std::env::temp_dir().join(format!("failover-bench-{}", std::process::id())),
        properties: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => args.runs = value()?.parse().map_err(|_| "bad --runs")?,
            "--session-timeout-ms" => {
                args.session_timeout_ms =
                    value()?.parse().map_err(|_| "bad --session-timeout-ms")?
            }
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "-D" => {
                let pair = value()?;
                let (key, val) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("-D {pair}: expected key=value"))?;
                args.properties.push((key.to_string(), val.to_string()));
            }
            "--zookeeper" => match value()?.as_str() {
                "apache" => args.ours = false,
                "zkserver" => args.ours = true,
                other => return Err(format!("--zookeeper is apache or zkserver, not {other}")),
            },
            "-h" | "--help" => {
                return Err(
                    "usage: failover-bench [--runs 20] [--session-timeout-ms 5000] [--zookeeper apache|zkserver] [--data-dir DIR] [-D key=value ...]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// A child process killed when dropped (ZooKeeper, whose log goes to a file).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a ZooKeeper server on a free port; returns it and `127.0.0.1:<port>`.
fn start_zookeeper(dir: &Path, ours: bool) -> Result<(Guard, String), String> {
    let data = dir.join("zookeeper");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let port = local_cluster::free_port("127.0.0.1")?;
    let cfg = dir.join("zoo.cfg");
    let mut text = format!(
        "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n4lw.commands.whitelist=ruok\n",
        data.display()
    );
    if ours {
        let metrics = local_cluster::free_port("127.0.0.1")?;
        text.push_str(&format!(
            "metricsProvider.httpPort={metrics}\nmetricsProvider.httpHost=127.0.0.1\n"
        ));
    }
    std::fs::write(&cfg, text).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("zookeeper.log")).map_err(|e| e.to_string())?;
    let mut command = if ours {
        Command::new(local_cluster::bin_dir()?.join("zkserver"))
    } else {
        let mut java = Command::new("java");
        java.args([
            "-XX:+UseSerialGC",
            "-cp",
            "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ]);
        java
    };
    let child = command
        .arg(&cfg)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the ZooKeeper server: {e}"))?;
    let guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let mut answer = String::new();
            if s.write_all(b"ruok").is_ok()
                && s.read_to_string(&mut answer).is_ok()
                && answer == "imok"
            {
                return Ok((guard, format!("127.0.0.1:{port}")));
            }
        }
        if Instant::now() > deadline {
            return Err("ZooKeeper did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Cluster {
    conf_dir: PathBuf,
    data_dir: PathBuf,
    rpc: [String; 2],
    namenodes: [Option<Process>; 2],
    zkfcs: [Option<(Child, PathBuf)>; 2],
    _journalnodes: Vec<Process>,
    _zookeeper: Guard,
}

const IDS: [&str; 2] = ["nn1", "nn2"];

impl Cluster {
    async fn start(args: &Args) -> Result<Cluster, String> {
        let conf_dir = args.data_dir.join("conf");
        std::fs::create_dir_all(&conf_dir).map_err(|e| e.to_string())?;
        let (zookeeper, quorum) = start_zookeeper(&args.data_dir, args.ours)?;
        let mut journalnodes = Vec::new();
        let mut jn_addresses = Vec::new();
        for i in 0..3 {
            let (p, address) =
                local_cluster::start_journalnode(i, &args.data_dir, &conf_dir, true)?;
            journalnodes.push(p);
            jn_addresses.push(address);
        }
        let mut rpc = [String::new(), String::new()];
        let mut props = vec![
            ("dfs.nameservices".to_string(), "ns1".to_string()),
            ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
            (
                "dfs.namenode.shared.edits.dir".into(),
                format!("qjournal://{}/ns1", jn_addresses.join(";")),
            ),
            ("dfs.ha.tail-edits.in-progress".into(), "true".into()),
            ("dfs.ha.tail-edits.period".into(), "1ms".into()),
            ("fs.defaultFS".into(), "hdfs://ns1".into()),
            ("dfs.ha.automatic-failover.enabled".into(), "true".into()),
            ("ha.zookeeper.quorum".into(), quorum),
            (
                "ha.zookeeper.session-timeout.ms".into(),
                args.session_timeout_ms.to_string(),
            ),
            ("dfs.ha.fencing.methods".into(), "shell(/bin/true)".into()),
        ];
        for (i, nn) in IDS.iter().enumerate() {
            let host = format!("127.0.0.{}", i + 1);
            rpc[i] = format!("{host}:{}", local_cluster::free_port(&host)?);
            props.push((format!("dfs.namenode.rpc-address.ns1.{nn}"), rpc[i].clone()));
            props.push((
                format!("dfs.namenode.http-address.ns1.{nn}"),
                format!("{host}:{}", local_cluster::free_port(&host)?),
            ));
            props.push((
                format!("dfs.namenode.name.dir.ns1.{nn}"),
                args.data_dir.join(nn).display().to_string(),
            ));
            props.push((
                format!("dfs.ha.zkfc.port.ns1.{nn}"),
                local_cluster::free_port(&host)?.to_string(),
            ));
        }
        for (key, value) in &args.properties {
            props.retain(|(k, _)| k != key);
            props.push((key.clone(), value.clone()));
        }
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
        for (k, v) in props {
            xml.push_str(&format!(
                "  <property><name>{k}</name><value>{v}</value></property>\n"
            ));
        }
        xml.push_str("</configuration>\n");
        std::fs::write(conf_dir.join("hdfs-site.xml"), xml).map_err(|e| e.to_string())?;

        let mut cluster = Cluster {
            conf_dir: conf_dir.clone(),
            data_dir: args.data_dir.clone(),
            rpc,
            namenodes: [None, None],
            zkfcs: [None, None],
            _journalnodes: journalnodes,
            _zookeeper: zookeeper,
        };
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
        cluster.start_namenode(0)?;
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
        cluster.start_namenode(1)?;
        local_cluster::hdfs(
            &conf_dir,
            &[
                "zkfc",
                "-D",
                "dfs.ha.namenode.id=nn1",
                "-formatZK",
                "-force",
            ],
        )?;
        cluster.start_zkfc(0)?;
        cluster.start_zkfc(1)?;
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    fn start_namenode(&mut self, i: usize) -> Result<(), String> {
        let namenode = local_cluster::bin_dir()?.join("namenode");
        let (p, _) = local_cluster::start(
            IDS[i],
            &namenode,
            &["-D".to_string(), format!("dfs.ha.namenode.id={}", IDS[i])],
            &self.conf_dir,
            "is in standby state",
        )?;
        self.namenodes[i] = Some(p);
        Ok(())
    }

    /// ZKFCs log to files, so that the bench can tell when one is back in the election.
    fn start_zkfc(&mut self, i: usize) -> Result<(), String> {
        let log_path = self.data_dir.join(format!("zkfc{}.log", i + 1));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| e.to_string())?;
        let child = Command::new(local_cluster::bin_dir()?.join("zkfc"))
            .args(["-D", &format!("dfs.ha.namenode.id={}", IDS[i])])
            .env("HADOOP_CONF_DIR", &self.conf_dir)
            .env("HADOOP_ROOT_LOGGER", "INFO,console")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start zkfc: {e}"))?;
        self.zkfcs[i] = Some((child, log_path));
        Ok(())
    }

    fn kill_zkfc(&mut self, i: usize) {
        if let Some((mut child, _)) = self.zkfcs[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn zkfc_log(&self, i: usize) -> String {
        let path = self.data_dir.join(format!("zkfc{}.log", i + 1));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    async fn state(&self, i: usize) -> Option<ServiceState> {
        let address = HostPort::parse(&self.rpc[i], None).ok()?;
        let client = HaClient::connect(&address, Duration::from_secs(2), 0)
            .await
            .ok()?;
        Some(client.get_service_status().await.ok()?.state)
    }

    /// Waits until one NameNode is active and the other's ZKFC is in the election as standby.
    async fn wait_ready(&self) -> Result<usize, String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let states = [self.state(0).await, self.state(1).await];
            let active = (0..2).find(|&i| states[i] == Some(ServiceState::Active));
            if let Some(a) = active {
                let standby = 1 - a;
                // Back in the election: the last thing its ZKFC did was to become standby.
                let log = self.zkfc_log(standby);
                let joined = log.rfind("should become standby");
                let left = [
                    "Quitting master election",
                    "Trying to make",
                    "to cede active role",
                ]
                .iter()
                .filter_map(|needle| log.rfind(needle))
                .max();
                let in_election = match (joined, left) {
                    (Some(j), Some(l)) => j > l,
                    (Some(_), None) => true,
                    _ => false,
                };
                if states[standby] == Some(ServiceState::Standby) && in_election {
                    return Ok(a);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("the cluster did not settle: {states:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `mkdirs` to NameNode `i` every 2 ms until one is acknowledged; returns when.
    async fn first_acknowledged_write(&self, i: usize, tag: &str) -> Result<Instant, String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        // A client of this NameNode alone: no failover, and a broken connection is reopened
        // by the next call.
        let client = DfsClient::new(&Configuration::new(), &format!("hdfs://{}", self.rpc[i]))
            .map_err(|e| e.to_string())?;
        for n in 0.. {
            if client
                .mkdirs(&format!("/bench/{tag}/w{n}"), 0o755, true)
                .await
                .is_ok()
            {
                return Ok(Instant::now());
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("nn{} never accepted a write", i + 1))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill_zkfc(0);
        self.kill_zkfc(1);
    }
}

/// Sends `sig` to process `pid` (one the bench started and still holds).
fn signal(pid: u32, sig: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

fn summary(name: &str, mut samples: Vec<Duration>, target: &str) -> String {
    samples.sort();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {target} |",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 90.0)),
        ms(percentile(&samples, 99.0)),
        ms(*samples.first().unwrap_or(&Duration::ZERO)),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
    )
}

async fn run(args: Args) -> Result<(), String> {
    let mut cluster = Cluster::start(&args).await?;
    println!(
        "failover-bench: {} (tickTime 200 ms), 3 JournalNodes, nn1/nn2 with a ZKFC each; ha.zookeeper.session-timeout.ms={}, health checks every 1000 ms (default), fencing shell(/bin/true); {} runs per scenario",
        if args.ours {
            "zkserver"
        } else {
            "Apache ZooKeeper"
        },
        args.session_timeout_ms,
        args.runs
    );
    for (key, value) in &args.properties {
        println!("  with {key}={value}");
    }

    let mut killed = Vec::new();
    for run in 0..args.runs {
        let active = cluster.wait_ready().await?;
        let other = 1 - active;
        let started = Instant::now();
        if let Some(mut nn) = cluster.namenodes[active].take() {
            nn.kill();
        }
        let done = cluster
            .first_acknowledged_write(other, &format!("kill{run}"))
            .await?;
        killed.push(done - started);
        cluster.start_namenode(active)?;
    }

    let mut graceful = Vec::new();
    for run in 0..args.runs {
        let active = cluster.wait_ready().await?;
        let other = 1 - active;
        let started = Instant::now();
        let failover = Command::new(local_cluster::bin_dir()?.join("hdfs"))
            .args(["haadmin", "-failover", IDS[active], IDS[other]])
            .env("HADOOP_CONF_DIR", &cluster.conf_dir)
            .env("HADOOP_ROOT_LOGGER", "WARN,console")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let done = cluster
            .first_acknowledged_write(other, &format!("graceful{run}"))
            .await?;
        graceful.push(done - started);
        let output = failover.wait_with_output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!(
                "haadmin -failover failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }

    let mut host = Vec::new();
    for run in 0..args.runs {
        let active = cluster.wait_ready().await?;
        let other = 1 - active;
        // The ZKFC first: otherwise it would see its NameNode die and leave the election at
        // once, which is the NameNode-only scenario.
        let started = Instant::now();
        cluster.kill_zkfc(active);
        if let Some(mut nn) = cluster.namenodes[active].take() {
            nn.kill();
        }
        let done = cluster
            .first_acknowledged_write(other, &format!("host{run}"))
            .await?;
        host.push(done - started);
        cluster.start_namenode(active)?;
        cluster.start_zkfc(active)?;
    }

    let mut frozen = Vec::new();
    for run in 0..args.runs {
        let active = cluster.wait_ready().await?;
        let other = 1 - active;
        let pids = [
            cluster.zkfcs[active].as_ref().map(|(c, _)| c.id()),
            cluster.namenodes[active].as_ref().map(Process::pid),
        ];
        let started = Instant::now();
        for pid in pids.iter().flatten() {
            signal(*pid, Signal::SIGSTOP);
        }
        let done = cluster
            .first_acknowledged_write(other, &format!("frozen{run}"))
            .await?;
        frozen.push(done - started);
        // Woken, the old NameNode finds a newer epoch on the JournalNodes and stops; both
        // are started afresh for the next run.
        for pid in pids.iter().flatten() {
            signal(*pid, Signal::SIGCONT);
        }
        cluster.kill_zkfc(active);
        if let Some(mut nn) = cluster.namenodes[active].take() {
            nn.kill();
        }
        cluster.start_namenode(active)?;
        cluster.start_zkfc(active)?;
    }

    println!();
    println!("| scenario | runs | p50 | p90 | p99 | min | max | target |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "{}",
        summary(
            "kill -9 of the active NameNode",
            killed,
            "p50 ≤ 500 ms, p99 ≤ 1 s"
        )
    );
    println!(
        "{}",
        summary("haadmin -failover (graceful)", graceful, "p50 ≤ 300 ms")
    );
    println!(
        "{}",
        summary(
            "lost host (NameNode + ZKFC kill -9)",
            host,
            &format!(
                "≤ session timeout + 1 s = {} ms",
                args.session_timeout_ms + 1000
            )
        )
    );
    println!(
        "{}",
        summary(
            "frozen host (NameNode + ZKFC SIGSTOP)",
            frozen,
            &format!(
                "≤ session timeout + 1 s = {} ms",
                args.session_timeout_ms + 1000
            )
        )
    );
    Ok(())
}

fn main() {
    local_cluster::bench_main("failover-bench", parse_args, |args| async move {
        let data_dir = args.data_dir.clone();
        let result = run(args).await;
        let _ = std::fs::remove_dir_all(&data_dir);
        result
    });
}
