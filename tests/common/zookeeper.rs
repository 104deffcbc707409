//! A ZooKeeper server for tests, on an ephemeral port of 127.0.0.1, killed when dropped. The
//! server kind is a parameter: Apache ZooKeeper 3.8 (Debian's `zookeeper`) and our own
//! ZooKeeper-compatible server (`zkserver`); every ZKFC test runs against
//! [`ZkServerKind::all`].

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::free_port;

/// Which server implementation a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZkServerKind {
    /// Apache ZooKeeper's `QuorumPeerMain` from `/usr/share/java/zookeeper.jar`.
    Apache,
    /// Our coordination server, the `zkserver` binary of this package.
    Ours,
}

impl ZkServerKind {
    /// Every kind the ZKFC tests must pass against.
    pub fn all() -> Vec<ZkServerKind> {
        vec![ZkServerKind::Apache, ZkServerKind::Ours]
    }
}

/// A running (or stopped) single ZooKeeper server.
pub struct ZkServer {
    pub kind: ZkServerKind,
    pub port: u16,
    /// Our server's Prometheus port (it would take 7000 otherwise).
    metrics_port: u16,
    dir: tempfile::TempDir,
    process: Option<Child>,
}

const START_DEADLINE: Duration = Duration::from_secs(60);

impl ZkServer {
    /// Starts a server with `tickTime` (ms); sessions may last up to a minute.
    pub fn start(kind: ZkServerKind, tick_ms: u64) -> ZkServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let mut server = ZkServer {
            kind,
            port: 0,
            metrics_port: 0,
            dir,
            process: None,
        };
        // A port found free may be taken before the server binds it: try another.
        for attempt in 0..5 {
            server.port = free_port("127.0.0.1");
            server.metrics_port = free_port("127.0.0.1");
            server.write_config(tick_ms);
            if server.launch() {
                return server;
            }
            eprintln!(
                "ZooKeeper did not start on port {} (attempt {attempt}); log:\n{}",
                server.port,
                server.log()
            );
        }
        panic!("cannot start a {kind:?} ZooKeeper server");
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("zoo.cfg")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn write_config(&self, tick_ms: u64) {
        let mut cfg = format!(
            "tickTime={tick_ms}\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n4lw.commands.whitelist=*\n",
            self.dir.path().join("data").display(),
            self.port
        );
        if self.kind == ZkServerKind::Ours {
            cfg.push_str(&format!(
                "metricsProvider.httpPort={}\nmetricsProvider.httpHost=127.0.0.1\n",
                self.metrics_port
            ));
        }
        std::fs::write(self.config_path(), cfg).unwrap();
    }

    /// Starts the process and waits until it serves; false if it died first.
    fn launch(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = match self.kind {
            ZkServerKind::Apache => Command::new("java")
                .args([
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.admin.enableServer=false",
                    "-cp",
                    "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ])
                .arg(self.config_path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("java (Debian package zookeeper / default-jre-headless)"),
            ZkServerKind::Ours => Command::new(super::binary("zkserver"))
                .arg(self.config_path())
                .env("HADOOP_ROOT_LOGGER", "INFO,console")
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("the zkserver binary"),
        };
        self.process = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.process.as_mut().map(|c| c.try_wait()) {
                self.process = None;
                return false;
            }
            // Not `ruok`: Apache ZooKeeper answers `imok` as soon as its port is open, while
            // it still closes client connections until its database is loaded; `srvr` names
            // the server's mode only once it serves.
            if self
                .four_letter("srvr")
                .is_some_and(|srvr| srvr.contains("\nMode: "))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "ZooKeeper did not serve within {START_DEADLINE:?}:\n{}",
            self.log()
        );
    }

    /// Sends a four-letter word; the answer, if any.
    pub fn four_letter(&self, word: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(word.as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer.trim().to_string())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// kill -9 (the data stays: sessions and znodes come back with a restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.launch(), "ZooKeeper did not restart:\n{}", self.log());
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.stop();
    }
}
