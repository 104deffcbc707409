//! Starting the daemons of a loopback cluster as child processes — what the benchmark
//! commands run against — and the percentiles they report. Each daemon is a binary beside the running one; a `Process` is
//! killed when dropped, so nothing outlives the benchmark.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A daemon started by this process.
pub struct Process {
    pub name: String,
    child: Child,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The directory of the running binary, where the daemons' binaries are.
pub fn bin_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "no directory for the running binary".to_string())
}

/// Starts `binary` with `args` and `HADOOP_CONF_DIR`, and waits until its log has a line with
/// `ready`; returns the process and that line. The rest of its log is drained (and dropped).
pub fn start(
    name: &str,
    binary: &Path,
    args: &[String],
    conf_dir: &Path,
    ready: &str,
) -> Result<(Process, String), String> {
    let mut child = Command::new(binary)
        .args(args)
        .env("HADOOP_CONF_DIR", conf_dir)
        .env("HADOOP_ROOT_LOGGER", "INFO,console")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let process = Process {
        name: name.to_string(),
        child,
    };
    let mut lines = BufReader::new(stderr).lines();
    let line = loop {
        match lines.next() {
            Some(Ok(line)) if line.contains(ready) => break line,
            Some(Ok(_)) => continue,
            _ => return Err(format!("{name} exited before it was ready")),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((process, line))
}

/// Starts JournalNode `index` on `127.0.0.<index+1>` (an ephemeral port); returns it and its
/// RPC address.
pub fn start_journalnode(
    index: usize,
    data_dir: &Path,
    conf_dir: &Path,
    edits_cache: bool,
) -> Result<(Process, String), String> {
    let host = format!("127.0.0.{}", index + 1);
    let args: Vec<String> = [
        format!("dfs.journalnode.rpc-address={host}:0"),
        format!("dfs.journalnode.http-address={host}:0"),
        format!(
            "dfs.journalnode.edits.dir={}",
            data_dir.join(format!("jn{index}")).display()
        ),
        format!("dfs.ha.tail-edits.in-progress={edits_cache}"),
    ]
    .into_iter()
    .flat_map(|d| ["-D".to_string(), d])
    .collect();
    let (process, line) = start(
        &format!("jn{index}"),
        &bin_dir()?.join("journalnode"),
        &args,
        conf_dir,
        "JournalNode RPC server is listening on ",
    )?;
    let address = line.rsplit(' ').next().unwrap_or_default().to_string();
    Ok((process, address))
}

/// The lowest port handed out to port-0 listeners and outgoing connections, from
/// `net.ipv4.ip_local_port_range` (Linux's default 32768 when it cannot be read).
fn ephemeral_floor() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A port on `host` nothing listens on, for a daemon to bind next.
///
/// A port the kernel chose for a bind to port 0 can be handed to another process's outgoing
/// connection as soon as it is released, so the port is picked at random below the kernel's
/// ephemeral range instead, and reserved for the life of this process with a lock on
/// `$TMPDIR/hdfs-ha-ports/<port>`, so that concurrent tests and benchmarks never pick the same
/// one; then bound once to check that nothing else listens on it. Only when that range is too
/// small does it fall back to a kernel-chosen port.
pub fn free_port(host: &str) -> Result<u16, String> {
    const LOWEST: u16 = 10_000;
    static RESERVED: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let floor = ephemeral_floor();
    let locks = std::env::temp_dir().join("hdfs-ha-ports");
    if floor > LOWEST + 1_000 && std::fs::create_dir_all(&locks).is_ok() {
        let mut rng = crate::seeded::SeededRng::from_entropy();
        for _ in 0..1_000 {
            let port = rng.between(u64::from(LOWEST), u64::from(floor) - 1) as u16;
            let Ok(lock) = std::fs::File::create(locks.join(port.to_string())) else {
                continue;
            };
            if lock.try_lock().is_ok() && std::net::TcpListener::bind((host, port)).is_ok() {
                RESERVED
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(lock);
                return Ok(port);
            }
        }
    }
    std::net::TcpListener::bind((host, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on {host}: {e}"))
}

/// Runs `hdfs <args>` with `conf_dir`; fails with its stderr when it exits non-zero.
pub fn hdfs(conf_dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(bin_dir()?.join("hdfs"))
        .args(args)
        .env("HADOOP_CONF_DIR", conf_dir)
        .env("HADOOP_ROOT_LOGGER", "WARN,console")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "hdfs {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The `main` of a benchmark command: parses its arguments (a bad one: the message, exit 1),
/// runs it on a multi-threaded runtime, and on failure prints `<name>: <error>` and exits 1.
pub fn bench_main<A, F>(
    name: &str,
    parse_args: impl FnOnce() -> Result<A, String>,
    run: impl FnOnce(A) -> F,
) where
    F: std::future::Future<Output = Result<(), String>>,
{
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(1);
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))
        .and_then(|runtime| runtime.block_on(run(args)));
    if let Err(err) = result {
        eprintln!("{name}: {err}");
        std::process::exit(1);
    }
}

/// Parses a bench's comma-separated list of counts (`--writers 1,4,16`); `what` names one
/// count in the error.
pub fn parse_counts(list: &str, what: &str) -> Result<Vec<usize>, String> {
    list.split(',')
        .map(|c| c.trim().parse().map_err(|_| format!("bad {what} {c}")))
        .collect()
}

/// The `p`th percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize - 1;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(percentile(&samples[..1], 99.0), Duration::from_millis(1));
    }
}
