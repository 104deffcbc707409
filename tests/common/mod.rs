//! Test harness for real processes on loopback: start a daemon binary, wait (with a deadline)
//! for a line in its log, kill -9 / SIGTERM / SIGSTOP it, and always kill it when the test ends,
//! even when the test fails.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a daemon to say something before failing.
pub const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path of one of this package's binaries.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

#[derive(Default)]
struct Log {
    lines: Vec<String>,
    closed: bool,
}

/// A running daemon whose stderr is collected.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
    log: Arc<(Mutex<Log>, Condvar)>,
}

impl Daemon {
    /// Starts `binary` with `args`, an empty conf dir unless `HADOOP_CONF_DIR` is in `env`.
    pub fn start(name: &str, binary: &Path, args: &[String], env: &[(&str, String)]) -> Daemon {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .env_remove("RUST_LOG")
            .env("HADOOP_ROOT_LOGGER", "INFO,console")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("stderr");
        let log: Arc<(Mutex<Log>, Condvar)> = Arc::default();
        let sink = log.clone();
        let label = name.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("HDFS_HA_TEST_ECHO").is_some() {
                    eprintln!("[{label}] {line}");
                }
                let (lock, cvar) = &*sink;
                lock.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .lines
                    .push(line);
                cvar.notify_all();
            }
            let (lock, cvar) = &*sink;
            lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
            cvar.notify_all();
        });
        Daemon {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Waits for a log line containing `needle`; returns it.
    pub fn wait_for_line(&self, needle: &str, deadline: Duration) -> String {
        let start = Instant::now();
        let (lock, cvar) = &*self.log;
        let mut log = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(line) = log.lines.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let waited = start.elapsed();
            if waited >= deadline || log.closed {
                let tail: Vec<&String> = log.lines.iter().rev().take(30).collect();
                panic!(
                    "{}: no log line containing {needle:?} after {waited:?} (process {}); last lines:\n{}",
                    self.name,
                    if log.closed { "exited" } else { "running" },
                    tail.into_iter()
                        .rev()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            log = cvar
                .wait_timeout(log, deadline - waited)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits for a line containing `needle` among the lines after the first `skip`.
    pub fn wait_for_line_after(&self, needle: &str, skip: usize, deadline: Duration) -> String {
        let start = Instant::now();
        loop {
            let lines = self.log_lines();
            if let Some(line) = lines.iter().skip(skip).find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(
                start.elapsed() < deadline,
                "{}: no new log line containing {needle:?} after {deadline:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every log line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.0.lock().unwrap().lines.clone()
    }

    /// The `host:port` at the end of the first line containing `needle`.
    pub fn wait_for_address(&self, needle: &str) -> String {
        let line = self.wait_for_line(needle, STARTUP_DEADLINE);
        line.rsplit(' ').next().unwrap().trim().to_string()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// kill -9, and wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        self.signal_pid(child.id(), "TERM");
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop on SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal_pid(&self, pid: u32, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
    }

    /// Waits for the process to exit by itself; returns its status code.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if start.elapsed() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not exit within {deadline:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Never leave a process behind, even after a failed assertion; a stopped one
            // must be continued to die.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` until it returns `Some`, failing after `deadline`.
pub fn wait_until<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
/// Runs a command with a hard timeout, returning (exit code, stdout, stderr).
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let code = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        code,
        out_reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    )
}

/// The finalized segments (`edits_<first>-<last>`) of a journal directory
/// (`<edits dir>/<jid>`), in txid order; none when it has no `current/`.
pub fn finalized_segments(journal_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(journal_dir.join("current")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("edits_0"))
        })
        .collect();
    files.sort();
    files
}

pub mod cluster;
pub mod dummy_nn;
pub mod hadoop;
pub mod sshd;
pub mod zkfc;
pub mod zookeeper;

/// `host:port` as Hadoop prints a configured address: an IP literal by its `/etc/hosts` name.
pub fn java_named(address: &str) -> String {
    match address.rsplit_once(':') {
        Some((host, port)) => format!("{}:{port}", hdfs_ha::host::display_host(host)),
        None => address.to_string(),
    }
}
