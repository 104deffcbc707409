//! Starts the real `zkserver` binary on loopback with ephemeral ports, waits for it with
//! deadlines (polling `srvr`, the word every whitelist allows), and kills it on drop (so a
//! failing test never leaves a server behind).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port for a server to bind (see [`hdfs_ha::local_cluster::free_port`]).
pub fn free_port() -> u16 {
    hdfs_ha::local_cluster::free_port("127.0.0.1").expect("free port")
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a four-letter word and returns the whole answer ("" if the server is not up).
pub fn four_letter(addr: &str, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

pub struct ZkServer {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub metrics_port: u16,
    extra: String,
    test_timing: bool,
    _temp: Option<tempfile::TempDir>,
}

impl ZkServer {
    /// A fresh server with `extra` lines appended to its zoo.cfg.
    pub fn start(extra: &str) -> ZkServer {
        Self::start_with(extra, true)
    }

    /// Like [`ZkServer::start`]; without `test_timing` the zoo.cfg keeps ZooKeeper's
    /// defaults (no short tickTime or session bounds) so that outputs compare with Apache's.
    pub fn start_with(extra: &str, test_timing: bool) -> ZkServer {
        let mut s = Self::prepare(extra, test_timing);
        s.launch();
        s
    }

    /// A server not started yet (so a test can arrange its data directory first).
    pub fn prepare(extra: &str, test_timing: bool) -> ZkServer {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().to_path_buf();
        let s = ZkServer {
            child: None,
            dir,
            port: 0,
            metrics_port: 0,
            extra: extra.to_string(),
            test_timing,
            _temp: Some(temp),
        };
        std::fs::create_dir_all(s.data_dir()).expect("data dir");
        s
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("zkserver.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn write_cfg(&self) {
        let timing = if self.test_timing {
            "tickTime=200\nminSessionTimeout=400\nmaxSessionTimeout=20000\n"
        } else {
            ""
        };
        let cfg = format!(
            "{timing}dataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\nmetricsProvider.httpPort={}\nmetricsProvider.httpHost=127.0.0.1\n{}\n",
            self.data_dir().display(),
            self.port,
            self.metrics_port,
            self.extra
        );
        std::fs::write(self.cfg_path(), cfg).expect("write zoo.cfg");
    }

    /// Starts (or restarts on the same data) and waits for `ruok`.
    pub fn launch(&mut self) {
        for _attempt in 0..5 {
            if self.port == 0 {
                self.port = free_port();
                self.metrics_port = free_port();
            }
            self.write_cfg();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path())
                .expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_zkserver"))
                .arg(self.cfg_path())
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn zkserver");
            self.child = Some(child);
            let addr = self.addr();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if four_letter(&addr, "srvr").contains("Mode: standalone") {
                    return;
                }
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.child = None;
                    if self.log().contains("Address already in use") {
                        // Someone took the port between picking and binding: pick again.
                        self.port = 0;
                        break;
                    }
                    panic!("zkserver exited with {status}:\n{}", self.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "zkserver did not answer srvr:\n{}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not start zkserver:\n{}", self.log());
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!("zkserver ignored SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the server to exit by itself; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!("zkserver did not exit:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.kill9();
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

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
