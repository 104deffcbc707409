//! The one way tests start a ZooKeeper server: Apache ZooKeeper 3.8 (Debian's `zookeeper`)
//! or our own `zkserver`, standalone or as a member of an [`Ensemble`]. It writes zoo.cfg,
//! picks free loopback ports (and picks again when a port is taken before the server binds
//! it), waits with a deadline until `srvr` names the server's mode, restarts it on the same
//! ports and data, keeps its log in a file, and kills it on drop — after printing the log's
//! tail when the test is failing — so that no test leaves a server behind.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::free_port;
use super::{STARTUP_DEADLINE, binary};

/// Deadline for an election or a rejoin (tickTime 200 ms, initLimit 10: a few seconds).
pub const ELECTION_DEADLINE: Duration = Duration::from_secs(30);

/// Short timing for tests of our server: tickTime 200 ms, sessions of 400 ms to 20 s.
pub const TEST_TIMING: &str = "tickTime=200\nminSessionTimeout=400\nmaxSessionTimeout=20000\n";

/// The ZKFC tests' server: tickTime 100 ms, sessions up to a minute, every four-letter word.
pub const ZKFC_SETTINGS: &str = "tickTime=100\ninitLimit=10\nsyncLimit=5\nadmin.enableServer=false\nmaxSessionTimeout=60000\n4lw.commands.whitelist=*\n";

/// How many times a server is started on newly picked ports when its ports were taken.
const PORT_ATTEMPTS: usize = 5;

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

/// Why a started server is not serving.
enum NotServing {
    /// It exited because a port of its zoo.cfg was taken.
    PortTaken,
    /// It exited for another reason.
    Exited(std::process::ExitStatus),
}

/// One ZooKeeper server process (running or not) with its own directory: `zoo.cfg`, `data/`
/// and `server.log`.
pub struct ZkServer {
    pub kind: ZkServerKind,
    /// The loopback address it listens on (127.0.0.N for the Nth member of an ensemble).
    pub host: String,
    /// The client port; 0 until it is first started.
    pub port: u16,
    /// Our server's Prometheus port (it would take 7000 otherwise).
    pub metrics_port: u16,
    pub dir: PathBuf,
    /// The zoo.cfg lines after `dataDir`, `clientPort` and the metrics lines.
    settings: String,
    child: Option<Child>,
    /// Where the current run's output starts in the log.
    run_start: usize,
    _temp: tempfile::TempDir,
}

impl ZkServer {
    /// Our server on 127.0.0.1 with [`TEST_TIMING`] and `extra` zoo.cfg lines, serving.
    pub fn ours(extra: &str) -> ZkServer {
        Self::start(ZkServerKind::Ours, &format!("{TEST_TIMING}{extra}"))
    }

    /// A server of `kind` on 127.0.0.1 with these zoo.cfg `settings`, serving.
    pub fn start(kind: ZkServerKind, settings: &str) -> ZkServer {
        let mut server = Self::prepare(kind, "127.0.0.1", settings);
        server.launch();
        server
    }

    /// A server not started yet (so that a test can arrange its data directory first).
    pub fn prepare(kind: ZkServerKind, host: &str, settings: &str) -> ZkServer {
        if kind == ZkServerKind::Apache {
            const JAR: &str = "/usr/share/java/zookeeper.jar";
            assert!(
                std::path::Path::new(JAR).exists(),
                "{JAR} is missing: install Debian's zookeeper package (dev/test.sh does)"
            );
        }
        let temp = tempfile::tempdir().expect("tempdir");
        let server = ZkServer {
            kind,
            host: host.to_string(),
            port: 0,
            metrics_port: 0,
            dir: temp.path().to_path_buf(),
            settings: settings.to_string(),
            child: None,
            run_start: 0,
            _temp: temp,
        };
        std::fs::create_dir_all(server.data_dir()).expect("data dir");
        server
    }

    /// `host:port` of the client port.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Everything the server (and its earlier runs) wrote to stdout and stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits for `needle` in the log after its first `since` bytes (a length of
    /// [`ZkServer::log`] taken earlier); returns the line.
    pub fn wait_for_log(&self, needle: &str, since: usize, deadline: Duration) -> String {
        super::wait_until(
            &format!("{needle:?} in the log of {}", self.addr()),
            deadline,
            || {
                let log = self.log();
                log.get(since..)?
                    .lines()
                    .find(|l| l.contains(needle))
                    .map(str::to_string)
            },
        )
    }

    /// `Mode:` of `srvr` (standalone, leader, follower, observer); `None` while the server
    /// is down or not serving.
    pub fn mode(&self) -> Option<String> {
        four_letter(&self.addr(), "srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::to_string)
    }

    /// Starts the server (or restarts it on the same ports and data) and waits until it
    /// serves. A first start whose port was taken is retried on other ports.
    pub fn launch(&mut self) {
        let fresh = self.port == 0;
        for _attempt in 0..PORT_ATTEMPTS {
            if self.port == 0 {
                self.pick_ports();
            }
            self.spawn();
            match self.wait_serving() {
                Ok(()) => return,
                Err(NotServing::PortTaken) if fresh => self.port = 0,
                Err(NotServing::PortTaken) => {
                    panic!("{} is taken:\n{}", self.addr(), self.log())
                }
                Err(NotServing::Exited(status)) => panic!(
                    "{:?} ZooKeeper on {} exited with {status}:\n{}",
                    self.kind,
                    self.addr(),
                    self.log()
                ),
            }
        }
        panic!(
            "{:?} ZooKeeper found its ports taken {PORT_ATTEMPTS} times:\n{}",
            self.kind,
            self.log()
        );
    }

    fn pick_ports(&mut self) {
        self.port = free_port(&self.host);
        self.metrics_port = free_port(&self.host);
    }

    fn write_cfg(&self) {
        let mut cfg = format!(
            "dataDir={}\nclientPort={}\nclientPortAddress={}\n",
            self.data_dir().display(),
            self.port,
            self.host
        );
        if self.kind == ZkServerKind::Ours {
            cfg.push_str(&format!(
                "metricsProvider.httpPort={}\nmetricsProvider.httpHost={}\n",
                self.metrics_port, self.host
            ));
        }
        cfg.push_str(&self.settings);
        cfg.push('\n');
        std::fs::write(self.cfg_path(), cfg).expect("write zoo.cfg");
    }

    /// Writes zoo.cfg and starts the process, without waiting for it.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.addr());
        self.write_cfg();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        self.run_start = log.metadata().map_or(0, |m| m.len() as usize);
        let mut cmd = match self.kind {
            ZkServerKind::Apache => {
                let mut cmd = Command::new("java");
                cmd.args([
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.admin.enableServer=false",
                    "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "-cp",
                    // Debian's jar logs nothing without an SLF4J binding: log4j 1.2 with
                    // /etc/zookeeper/conf/log4j.properties (the log shows why it exited).
                    "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:\
                     /usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ]);
                cmd
            }
            ZkServerKind::Ours => {
                let mut cmd = Command::new(binary("zkserver"));
                cmd.env("HADOOP_ROOT_LOGGER", "INFO,console")
                    .env_remove("RUST_LOG");
                cmd
            }
        };
        let child = cmd
            .arg(self.cfg_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?} ZooKeeper: {e}", self.kind));
        self.child = Some(child);
    }

    /// Waits until `srvr` names a mode, or the process exits.
    fn wait_serving(&mut self) -> Result<(), NotServing> {
        let what = format!("{:?} ZooKeeper on {} to serve", self.kind, self.addr());
        // Not `ruok`: Apache ZooKeeper answers `imok` as soon as its port is open, while it
        // still closes client connections until its database is loaded; `srvr` names the
        // server's mode only once it serves.
        super::wait_until(&what, STARTUP_DEADLINE, || match self.mode() {
            Some(_) => Some(Ok(())),
            None => self.exited().map(Err),
        })
    }

    /// Whether (and why) the process has exited; reaps it.
    fn exited(&mut self) -> Option<NotServing> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        let run = self
            .log()
            .get(self.run_start..)
            .unwrap_or_default()
            .to_string();
        Some(if run.contains("Address already in use") {
            NotServing::PortTaken
        } else {
            NotServing::Exited(status)
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the running server.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the server is running");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// kill -9 (the data stays: sessions and znodes come back with [`ZkServer::launch`]).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a stopped (SIGSTOP) process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> Option<i32> {
        self.pid()?;
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(20))
    }

    /// Waits for the server to exit by itself; its exit code.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        self.child.as_ref()?;
        let what = format!("{:?} ZooKeeper on {} to exit", self.kind, self.addr());
        let status = super::wait_until(&what, deadline, || {
            self.child.as_mut()?.try_wait().ok().flatten()
        });
        self.child = None;
        status.code()
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "---- {:?} ZooKeeper on {} (last 40 lines of its log)",
                self.kind,
                self.addr()
            );
            for line in &lines[lines.len().saturating_sub(40)..] {
                eprintln!("{line}");
            }
        }
        self.kill9();
    }
}

/// Servers of one quorum, server N on 127.0.0.N: voters, then observers. All are killed
/// when it goes out of scope.
pub struct Ensemble {
    pub members: Vec<ZkServer>,
    /// The quorum and election ports of each member's `server.N` line.
    pub peer_ports: Vec<(u16, u16)>,
}

impl Ensemble {
    /// `voters` participants then `observers` observers of our server, with `extra` zoo.cfg
    /// lines, started and serving: one leader, the other voters following, the observers
    /// observing. When a port was taken, every port is picked again.
    pub fn start(voters: u64, observers: u64, extra: &str) -> Ensemble {
        let n = voters + observers;
        let members = (1..=n)
            .map(|id| {
                let member = ZkServer::prepare(ZkServerKind::Ours, &format!("127.0.0.{id}"), "");
                std::fs::write(member.data_dir().join("myid"), format!("{id}\n")).unwrap();
                member
            })
            .collect();
        let mut ensemble = Ensemble {
            members,
            peer_ports: Vec::new(),
        };
        for _attempt in 0..PORT_ATTEMPTS {
            ensemble.configure(voters, extra);
            for m in &mut ensemble.members {
                m.spawn();
            }
            if ensemble.wait_started(voters) {
                return ensemble;
            }
            for m in &mut ensemble.members {
                m.kill9();
            }
        }
        panic!("the ensemble found its ports taken {PORT_ATTEMPTS} times");
    }

    /// Picks every member's ports and writes its settings.
    fn configure(&mut self, voters: u64, extra: &str) {
        self.peer_ports = self
            .members
            .iter()
            .map(|m| (free_port(&m.host), free_port(&m.host)))
            .collect();
        let lines: Vec<String> = self
            .members
            .iter()
            .zip(&self.peer_ports)
            .enumerate()
            .map(|(i, (m, (quorum, election)))| {
                let kind = if i as u64 >= voters { ":observer" } else { "" };
                format!("server.{}={}:{quorum}:{election}{kind}", i + 1, m.host)
            })
            .collect();
        for (i, m) in self.members.iter_mut().enumerate() {
            let peer_type = if i as u64 >= voters {
                "peerType=observer\n"
            } else {
                ""
            };
            m.settings = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\nmaxSessionTimeout=20000\n\
                 admin.enableServer=false\n4lw.commands.whitelist=*\n{peer_type}{extra}{}\n",
                lines.join("\n")
            );
            m.pick_ports();
        }
    }

    /// Waits until every member serves in its role (false: a member found a port taken).
    fn wait_started(&mut self, voters: u64) -> bool {
        let voters: Vec<usize> = (0..voters as usize).collect();
        super::wait_until("the ensemble to serve", STARTUP_DEADLINE, || {
            let observing = self.members[voters.len()..]
                .iter()
                .all(|m| m.mode().as_deref() == Some("observer"));
            if observing && self.leader_among(&voters).is_ok() {
                return Some(true);
            }
            for m in &mut self.members {
                match m.exited() {
                    None => {}
                    Some(NotServing::PortTaken) => return Some(false),
                    Some(NotServing::Exited(status)) => {
                        panic!("{} exited with {status}:\n{}", m.addr(), m.log())
                    }
                }
            }
            None
        })
    }

    /// The member that leads `up` while the rest of `up` follow; else their modes.
    fn leader_among(&self, up: &[usize]) -> Result<usize, Vec<Option<String>>> {
        let modes: Vec<Option<String>> = up.iter().map(|i| self.members[*i].mode()).collect();
        let leaders: Vec<usize> = up
            .iter()
            .zip(&modes)
            .filter(|(_, m)| m.as_deref() == Some("leader"))
            .map(|(i, _)| *i)
            .collect();
        let followers = modes
            .iter()
            .filter(|m| m.as_deref() == Some("follower"))
            .count();
        match leaders[..] {
            [leader] if followers == up.len() - 1 => Ok(leader),
            _ => Err(modes),
        }
    }

    /// Each member's client `host:port`, in member order.
    pub fn client_addresses(&self) -> Vec<String> {
        self.members.iter().map(ZkServer::addr).collect()
    }

    /// Waits until exactly one of `up` leads and the rest follow; returns the leader's index.
    pub fn wait_for_leader(&self, up: &[usize]) -> usize {
        let start = Instant::now();
        loop {
            match self.leader_among(up) {
                Ok(leader) => return leader,
                Err(modes) => assert!(
                    start.elapsed() < ELECTION_DEADLINE,
                    "no settled ensemble among {up:?} after {ELECTION_DEADLINE:?}: modes {modes:?}"
                ),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
