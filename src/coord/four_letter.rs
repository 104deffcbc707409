//! Four-letter words as ZooKeeper 3.8 formats them, and the same figures as Prometheus text
//! for `/metrics`. Rendering reads the core and the I/O shell's telemetry; it never blocks.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::ZK_VERSION;
use super::processor::{Processor, QuorumRole};
use super::store::dir_size;

/// What the server is and where, for `conf`, `envi`, `dirs`, `mntr`.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub client_port: u16,
    /// `<dataDir>/version-2`.
    pub snap_dir: PathBuf,
    /// `<dataLogDir>/version-2`.
    pub log_dir: PathBuf,
    pub tick_time_ms: u32,
    pub max_client_cnxns: u32,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    pub server_id: u64,
    pub started: Instant,
    /// Configured as a quorum's observer (`:observer` on its server line).
    pub observer: bool,
    /// A quorum member's figures, refreshed by its core before each word.
    pub quorum: Option<QuorumFigures>,
    /// A quorum member's ensemble, for `conf`.
    pub ensemble: Option<EnsembleInfo>,
}

/// What `conf` adds in quorum mode.
#[derive(Debug, Clone, Default)]
pub struct EnsembleInfo {
    pub init_limit: u64,
    pub sync_limit: u64,
    pub election_port: u16,
    pub quorum_port: u16,
    /// `server.N=host:quorumPort:electionPort:participant|observer[;clientHost:clientPort]`.
    pub membership: Vec<String>,
}

/// What a quorum member adds to `srvr` and `mntr`.
#[derive(Debug, Clone, Default)]
pub struct QuorumFigures {
    /// `zk_peer_state`, e.g. `following - broadcast`.
    pub peer_state: String,
    /// Voters in the ensemble (`zk_quorum_size`).
    pub quorum_size: usize,
    /// The leader's figures (`None` on other servers).
    pub leader: Option<super::zab::Status>,
}

/// What `srvr`, `stat` and `mntr` answer while a quorum member elects or syncs.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// `Mode:` of `srvr` / `stat` and `zk_server_state` of `mntr`; `None` while not serving.
pub fn mode(p: &Processor, info: &ServerInfo) -> Option<&'static str> {
    match p.quorum_role() {
        None => Some("standalone"),
        Some(QuorumRole::Leader { .. }) => Some("leader"),
        Some(QuorumRole::Learner) if info.observer => Some("observer"),
        Some(QuorumRole::Learner) => Some("follower"),
        Some(QuorumRole::NotServing) => None,
    }
}

/// One connection's reply latencies in ms (`cons`: llat, minlat, avglat, maxlat).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnLatency {
    pub last: u64,
    pub min: u64,
    pub max: u64,
    pub sum: u64,
    pub count: u64,
}

impl ConnLatency {
    pub fn record(&mut self, ms: u64) {
        self.min = if self.count == 0 {
            ms
        } else {
            self.min.min(ms)
        };
        self.max = self.max.max(ms);
        self.last = ms;
        self.sum += ms;
        self.count += 1;
    }

    fn avg(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
    }
}

/// Counters kept by the I/O shell (latency is measured until the reply leaves, fsync included).
#[derive(Debug)]
pub struct Telemetry {
    /// Per connection, merged by the syncer once per group of batches.
    conn_latency: std::sync::Mutex<std::collections::HashMap<u64, ConnLatency>>,
    latency_min_ms: AtomicU64,
    latency_max_ms: AtomicU64,
    latency_sum_ms: AtomicU64,
    latency_count: AtomicU64,
    fsync_count: AtomicU64,
    fsync_sum_ms: AtomicU64,
    fsync_max_ms: AtomicU64,
    pub outstanding: AtomicU64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            conn_latency: std::sync::Mutex::new(std::collections::HashMap::new()),
            latency_min_ms: AtomicU64::new(u64::MAX),
            latency_max_ms: AtomicU64::new(0),
            latency_sum_ms: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
            fsync_count: AtomicU64::new(0),
            fsync_sum_ms: AtomicU64::new(0),
            fsync_max_ms: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
        }
    }
}

impl Telemetry {
    pub fn record_latency(&self, ms: u64) {
        self.latency_min_ms.fetch_min(ms, Ordering::Relaxed);
        self.latency_max_ms.fetch_max(ms, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds latencies measured for connections (one lock per call).
    pub fn record_connection_latencies(&self, samples: &[(u64, u64)]) {
        if samples.is_empty() {
            return;
        }
        let mut map = self.conn_latency.lock().expect("latency lock");
        for (conn, ms) in samples {
            map.entry(*conn).or_default().record(*ms);
        }
    }

    /// A connection closed.
    pub fn forget_connection(&self, conn: u64) {
        self.conn_latency
            .lock()
            .expect("latency lock")
            .remove(&conn);
    }

    fn connection_latency(&self, conn: u64) -> ConnLatency {
        self.conn_latency
            .lock()
            .expect("latency lock")
            .get(&conn)
            .copied()
            .unwrap_or_default()
    }

    /// `crst`: zero every connection's latencies.
    fn reset_connections(&self) {
        self.conn_latency.lock().expect("latency lock").clear();
    }

    pub fn record_fsync(&self, ms: u64) {
        self.fsync_count.fetch_add(1, Ordering::Relaxed);
        self.fsync_sum_ms.fetch_add(ms, Ordering::Relaxed);
        self.fsync_max_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.latency_min_ms.store(u64::MAX, Ordering::Relaxed);
        self.latency_max_ms.store(0, Ordering::Relaxed);
        self.latency_sum_ms.store(0, Ordering::Relaxed);
        self.latency_count.store(0, Ordering::Relaxed);
    }

    /// (min, avg, max) in ms; zeros before the first request.
    pub fn latency(&self) -> (u64, f64, u64) {
        let count = self.latency_count.load(Ordering::Relaxed);
        if count == 0 {
            return (0, 0.0, 0);
        }
        let sum = self.latency_sum_ms.load(Ordering::Relaxed);
        (
            self.latency_min_ms.load(Ordering::Relaxed),
            sum as f64 / count as f64,
            self.latency_max_ms.load(Ordering::Relaxed),
        )
    }

    fn fsync(&self) -> (u64, u64, u64) {
        (
            self.fsync_count.load(Ordering::Relaxed),
            self.fsync_sum_ms.load(Ordering::Relaxed),
            self.fsync_max_ms.load(Ordering::Relaxed),
        )
    }
}

/// Java's `Double.toString` for the values we print (`0.0`, `1.25`).
pub fn java_double(v: f64) -> String {
    let s = format!("{}", (v * 10_000.0).round() / 10_000.0);
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// Java's `Long.toHexString`.
fn hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

fn srvr_body(p: &Processor, info: &ServerInfo, t: &Telemetry, out: &mut String) {
    let (min, avg, max) = t.latency();
    let s = p.stats();
    let _ = writeln!(out, "Latency min/avg/max: {min}/{}/{max}", java_double(avg));
    let _ = writeln!(out, "Received: {}", s.packets_received);
    let _ = writeln!(out, "Sent: {}", s.packets_sent);
    let _ = writeln!(out, "Connections: {}", p.connections().len());
    let _ = writeln!(
        out,
        "Outstanding: {}",
        t.outstanding.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "Zxid: 0x{}", hex(p.last_zxid()));
    let _ = writeln!(out, "Mode: {}", mode(p, info).unwrap_or("standalone"));
    let _ = writeln!(out, "Node count: {}", p.tree().node_count());
    if let Some(l) = info.quorum.as_ref().and_then(|q| q.leader.as_ref()) {
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            l.last_proposal_size, l.min_proposal_size, l.max_proposal_size
        );
    }
}

/// One line per connection: `[1]` for a connection with a session, `[0]` for one without
/// (a four-letter word's own connection); `cons` adds the session details when there is one.
fn connection_lines(p: &Processor, t: &Telemetry, full: bool, out: &mut String) {
    for (conn, c) in p.connections() {
        let has_session = c.session_id != 0;
        let _ = write!(
            out,
            " /{}[{}](queued=0,recved={},sent={}",
            c.addr,
            u8::from(has_session),
            c.received,
            c.sent
        );
        if full && has_session {
            let lat = t.connection_latency(conn);
            let _ = write!(
                out,
                ",sid=0x{},lop={},est={},to={},lcxid=0x{},lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
                hex(c.session_id),
                c.last_op,
                c.established_ms,
                c.timeout_ms,
                hex(i64::from(c.last_cxid)),
                hex(c.last_zxid),
                c.last_response_ms,
                lat.last,
                lat.min,
                lat.avg(),
                lat.max
            );
        }
        out.push_str(")\n");
    }
}

fn environment() -> Vec<(&'static str, String)> {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let host = crate::host::host_name().to_string();
    let os_version = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let (free, total) = memory_mb();
    vec![
        ("zookeeper.version", ZK_VERSION.to_string()),
        ("host.name", host),
        ("java.version", "n/a (hdfs-ha, Rust)".into()),
        ("java.vendor", "n/a".into()),
        ("java.home", "n/a".into()),
        (
            "java.class.path",
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("java.library.path", "n/a".into()),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("java.compiler", "<NA>".into()),
        ("os.name", "Linux".into()),
        (
            "os.arch",
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "x86" => "i386",
                other => other,
            }
            .into(),
        ),
        ("os.version", os_version),
        ("user.name", env("USER")),
        ("user.home", env("HOME")),
        (
            "user.dir",
            std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("os.memory.free", format!("{free}MB")),
        ("os.memory.max", format!("{total}MB")),
        ("os.memory.total", format!("{total}MB")),
    ]
}

fn memory_mb() -> (u64, u64) {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("MemAvailable:"), field("MemTotal:"))
}

fn open_fds() -> (u64, u64) {
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .and_then(|x| x.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    (open, max)
}

/// The `(key, value)` pairs of `mntr`, values already formatted.
pub fn monitor(p: &Processor, info: &ServerInfo, t: &Telemetry) -> Vec<(String, String)> {
    let (min, avg, max) = t.latency();
    let s = p.stats();
    let (_, _, total_watches) = p.watches().summary();
    let (fds, max_fds) = open_fds();
    let (fsyncs, fsync_sum, fsync_max) = t.fsync();
    vec![
        ("version".into(), ZK_VERSION.into()),
        (
            "server_state".into(),
            mode(p, info).unwrap_or("standalone").into(),
        ),
        ("avg_latency".into(), java_double(avg)),
        ("max_latency".into(), max.to_string()),
        ("min_latency".into(), min.to_string()),
        ("packets_received".into(), s.packets_received.to_string()),
        ("packets_sent".into(), s.packets_sent.to_string()),
        (
            "num_alive_connections".into(),
            p.connections().len().to_string(),
        ),
        (
            "outstanding_requests".into(),
            t.outstanding.load(Ordering::Relaxed).to_string(),
        ),
        ("znode_count".into(), p.tree().node_count().to_string()),
        ("watch_count".into(), total_watches.to_string()),
        (
            "ephemerals_count".into(),
            p.tree().ephemeral_count().to_string(),
        ),
        (
            "approximate_data_size".into(),
            p.tree().approximate_data_size().to_string(),
        ),
        ("open_file_descriptor_count".into(), fds.to_string()),
        ("max_file_descriptor_count".into(), max_fds.to_string()),
        (
            "uptime".into(),
            info.started.elapsed().as_millis().to_string(),
        ),
        ("global_sessions".into(), p.sessions().len().to_string()),
        ("local_sessions".into(), "0".into()),
        ("connection_drop_probability".into(), "0.0".into()),
        (
            "last_client_response_size".into(),
            s.last_response_size.to_string(),
        ),
        (
            "max_client_response_size".into(),
            s.max_response_size.to_string(),
        ),
        (
            "min_client_response_size".into(),
            s.min_response_size.to_string(),
        ),
        ("outstanding_tls_handshake".into(), "0".into()),
        ("auth_failed_count".into(), s.auth_failed.to_string()),
        ("non_mtls_remote_conn_count".into(), "0".into()),
        ("non_mtls_local_conn_count".into(), "0".into()),
        ("cnt_fsynctime".into(), fsyncs.to_string()),
        ("sum_fsynctime".into(), fsync_sum.to_string()),
        ("max_fsynctime".into(), fsync_max.to_string()),
        (
            "avg_fsynctime".into(),
            java_double(if fsyncs == 0 {
                0.0
            } else {
                fsync_sum as f64 / fsyncs as f64
            }),
        ),
    ]
}

/// Wall-clock time of a monotonic instant, from the core's clocks.
fn wall_of(p: &Processor, mono_ms: i64) -> i64 {
    let now = p.now();
    now.wall_ms + (mono_ms - now.mono_ms)
}

/// The text a four-letter word answers (`word` must be a known one and whitelisted); `stmk`
/// carries the new trace mask in `mask`.
pub fn render(
    word: &str,
    mask: Option<i64>,
    p: &mut Processor,
    info: &ServerInfo,
    t: &Telemetry,
) -> String {
    let mut out = String::new();
    if matches!(
        word,
        "srvr" | "stat" | "mntr" | "cons" | "wchs" | "wchc" | "wchp" | "dump"
    ) && mode(p, info).is_none()
    {
        return NOT_SERVING.to_string();
    }
    match word {
        "ruok" => out.push_str("imok"),
        "isro" => out.push_str("rw"),
        "srvr" => {
            let _ = writeln!(out, "Zookeeper version: {ZK_VERSION}");
            srvr_body(p, info, t, &mut out);
        }
        "stat" => {
            let _ = writeln!(out, "Zookeeper version: {ZK_VERSION}");
            out.push_str("Clients:\n");
            connection_lines(p, t, false, &mut out);
            out.push('\n');
            srvr_body(p, info, t, &mut out);
        }
        "cons" => {
            connection_lines(p, t, true, &mut out);
            out.push('\n');
        }
        "conf" => {
            let lines = [
                ("clientPort", info.client_port.to_string()),
                ("secureClientPort", "-1".to_string()),
                ("dataDir", info.snap_dir.display().to_string()),
                ("dataDirSize", dir_size(&info.snap_dir).to_string()),
                ("dataLogDir", info.log_dir.display().to_string()),
                ("dataLogSize", dir_size(&info.log_dir).to_string()),
                ("tickTime", info.tick_time_ms.to_string()),
                ("maxClientCnxns", info.max_client_cnxns.to_string()),
                ("minSessionTimeout", info.min_session_timeout_ms.to_string()),
                ("maxSessionTimeout", info.max_session_timeout_ms.to_string()),
                ("clientPortListenBacklog", "-1".to_string()),
                ("serverId", info.server_id.to_string()),
            ];
            for (k, v) in lines {
                let _ = writeln!(out, "{k}={v}");
            }
            if let Some(e) = &info.ensemble {
                let _ = writeln!(out, "initLimit={}", e.init_limit);
                let _ = writeln!(out, "syncLimit={}", e.sync_limit);
                let _ = writeln!(out, "electionAlg=3");
                let _ = writeln!(out, "electionPort={}", e.election_port);
                let _ = writeln!(out, "quorumPort={}", e.quorum_port);
                let _ = writeln!(out, "peerType={}", u8::from(info.observer));
                let _ = writeln!(out, "membership: ");
                for line in &e.membership {
                    let _ = writeln!(out, "{line}");
                }
                let _ = writeln!(out, "version=0");
            }
        }
        "envi" => {
            out.push_str("Environment:\n");
            for (k, v) in environment() {
                let _ = writeln!(out, "{k}={v}");
            }
        }
        "wchs" => {
            let (watchers, paths, total) = p.watches().summary();
            let _ = writeln!(
                out,
                "{watchers} connections watching {paths} paths\nTotal watches:{total}"
            );
        }
        "wchc" => {
            let sessions: std::collections::HashMap<u64, i64> = p
                .connections()
                .into_iter()
                .map(|(id, c)| (id, c.session_id))
                .collect();
            for (watcher, paths) in p.watches().by_watcher() {
                let _ = writeln!(
                    out,
                    "0x{}",
                    hex(sessions.get(&watcher).copied().unwrap_or(0))
                );
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
            out.push('\n');
        }
        "wchp" => {
            let sessions: std::collections::HashMap<u64, i64> = p
                .connections()
                .into_iter()
                .map(|(id, c)| (id, c.session_id))
                .collect();
            for (path, watchers) in p.watches().by_path() {
                let _ = writeln!(out, "{path}");
                for w in watchers {
                    let _ = writeln!(out, "\t0x{}", hex(sessions.get(&w).copied().unwrap_or(0)));
                }
            }
            out.push('\n');
        }
        "dirs" => {
            let _ = writeln!(out, "datadir_size: {}", dir_size(&info.snap_dir));
            let _ = writeln!(out, "logdir_size: {}", dir_size(&info.log_dir));
        }
        "mntr" => {
            let mut figures = monitor(p, info, t);
            if let Some(q) = &info.quorum {
                let mut extra = vec![
                    ("peer_state".to_string(), q.peer_state.clone()),
                    ("quorum_size".to_string(), q.quorum_size.to_string()),
                ];
                if let Some(l) = &q.leader {
                    extra.extend([
                        ("learners".to_string(), l.learners.to_string()),
                        (
                            "synced_followers".to_string(),
                            l.synced_followers.to_string(),
                        ),
                        (
                            "synced_non_voting_followers".to_string(),
                            l.synced_observers.to_string(),
                        ),
                        (
                            "synced_observers".to_string(),
                            l.synced_observers.to_string(),
                        ),
                        ("pending_syncs".to_string(), l.pending_syncs.to_string()),
                        (
                            "last_proposal_size".to_string(),
                            l.last_proposal_size.to_string(),
                        ),
                        (
                            "max_proposal_size".to_string(),
                            l.max_proposal_size.to_string(),
                        ),
                        (
                            "min_proposal_size".to_string(),
                            l.min_proposal_size.to_string(),
                        ),
                    ]);
                }
                // After zk_version and zk_server_state, as ZooKeeper prints them.
                let at = figures.len().min(2);
                figures.splice(at..at, extra);
            }
            for (k, v) in figures {
                let _ = writeln!(out, "zk_{k}\t{v}");
            }
        }
        "crst" => {
            p.reset_connection_stats();
            t.reset_connections();
            out.push_str("Connection stats reset.\n");
        }
        "srst" => {
            p.reset_server_stats();
            t.reset();
            out.push_str("Server stats reset.\n");
        }
        "dump" => {
            let date = |mono: i64| crate::coord::zkcli::java_date(wall_of(p, mono));
            out.push_str("SessionTracker dump:\n");
            let buckets = p.sessions().buckets();
            let _ = writeln!(
                out,
                "Session Sets ({})/({}):",
                buckets.len(),
                p.sessions().len()
            );
            for (at, ids) in &buckets {
                let _ = writeln!(out, "{} expire at {}:", ids.len(), date(*at));
                for id in ids {
                    let _ = writeln!(out, "\t0x{}", hex(*id));
                }
            }
            out.push_str("ephemeral nodes dump:\n");
            let owners: Vec<(i64, Vec<String>)> = p
                .sessions()
                .all()
                .iter()
                .map(|(id, _)| (*id, p.tree().ephemerals_of(*id)))
                .filter(|(_, e)| !e.is_empty())
                .collect();
            let _ = writeln!(out, "Sessions with Ephemerals ({}):", owners.len());
            for (id, paths) in owners {
                let _ = writeln!(out, "0x{}:", hex(id));
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
            // Idle-connection expiry is not tracked separately: connections are listed in
            // one set that expires with the longest session timeout.
            let conns = p.connections();
            out.push_str("Connections dump:\n");
            let _ = writeln!(out, "Connections Sets (1)/({}):", conns.len());
            let _ = writeln!(
                out,
                "{} expire at {}:",
                conns.len(),
                date(p.now().mono_ms + i64::from(info.max_session_timeout_ms))
            );
            for (_, c) in conns {
                let _ = writeln!(out, "\tip: /{} sessionId: 0x{}", c.addr, hex(c.session_id));
            }
        }
        "gtmk" => {
            let _ = write!(out, "{}", p.trace_mask());
        }
        "stmk" => {
            if let Some(mask) = mask {
                p.set_trace_mask(mask);
            }
            let _ = write!(out, "{}", p.trace_mask());
        }
        "hash" => {}
        _ => {}
    }
    out
}

/// The answer to a known word that the whitelist does not enable.
pub fn not_whitelisted(word: &str) -> String {
    format!("{word} is not executed because it is not in the whitelist.\n")
}

/// Prometheus text exposition of the `mntr` figures (names without the `zk_` prefix, as
/// ZooKeeper's Prometheus provider names them).
pub fn prometheus(p: &Processor, info: &ServerInfo, t: &Telemetry) -> String {
    let mut out = String::new();
    for (k, v) in monitor(p, info, t) {
        let Ok(num) = v.parse::<f64>() else {
            continue;
        };
        let _ = writeln!(out, "# HELP {k} {k}");
        let _ = writeln!(out, "# TYPE {k} gauge");
        let _ = writeln!(out, "{k} {}", java_double(num));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::processor::{CoreConfig, Now};

    fn setup() -> (Processor, ServerInfo, Telemetry) {
        let p = Processor::new(CoreConfig::default(), Now::default());
        let info = ServerInfo {
            client_port: 2181,
            snap_dir: "/tmp/zk/version-2".into(),
            log_dir: "/tmp/zk/version-2".into(),
            tick_time_ms: 2000,
            max_client_cnxns: 60,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            server_id: 0,
            started: Instant::now(),
            observer: false,
            quorum: None,
            ensemble: None,
        };
        (p, info, Telemetry::default())
    }

    #[test]
    fn quorum_members_report_their_mode_and_say_when_they_do_not_serve() {
        let (mut p, mut info, t) = setup();
        p.enable_quorum();
        let now = Now::default();
        for word in ["srvr", "stat", "mntr"] {
            assert_eq!(render(word, None, &mut p, &info, &t), NOT_SERVING);
        }
        assert_eq!(render("ruok", None, &mut p, &info, &t), "imok");
        p.set_quorum_role(QuorumRole::Leader { epoch: 1 }, now);
        assert!(render("srvr", None, &mut p, &info, &t).contains("\nMode: leader\n"));
        assert!(render("mntr", None, &mut p, &info, &t).contains("zk_server_state\tleader\n"));
        p.set_quorum_role(QuorumRole::Learner, now);
        assert!(render("stat", None, &mut p, &info, &t).contains("\nMode: follower\n"));
        info.observer = true;
        assert!(render("srvr", None, &mut p, &info, &t).contains("\nMode: observer\n"));
        info.observer = false;
        p.set_quorum_role(QuorumRole::Leader { epoch: 2 }, now);
        info.quorum = Some(QuorumFigures {
            peer_state: "leading - broadcast".into(),
            quorum_size: 3,
            leader: Some(crate::coord::zab::Status {
                learners: 2,
                synced_followers: 2,
                last_proposal_size: 7,
                min_proposal_size: 5,
                max_proposal_size: 9,
                ..Default::default()
            }),
        });
        let mntr = render("mntr", None, &mut p, &info, &t);
        assert!(
            mntr.starts_with(&format!(
                "zk_version\t{ZK_VERSION}\nzk_server_state\tleader\nzk_peer_state\tleading - broadcast\nzk_quorum_size\t3\nzk_learners\t2\nzk_synced_followers\t2\n"
            )),
            "{mntr}"
        );
        assert!(
            render("srvr", None, &mut p, &info, &t)
                .ends_with("Proposal sizes last/min/max: 7/5/9\n")
        );
        info.ensemble = Some(EnsembleInfo {
            init_limit: 10,
            sync_limit: 5,
            election_port: 3888,
            quorum_port: 2888,
            membership: vec![
                "server.1=127.0.0.1:2888:3888:participant".into(),
                "server.2=127.0.0.2:2888:3888:observer;127.0.0.2:2181".into(),
            ],
        });
        let conf = render("conf", None, &mut p, &info, &t);
        assert!(
            conf.ends_with(
                "serverId=0\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \nserver.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:observer;127.0.0.2:2181\nversion=0\n"
            ),
            "{conf}"
        );
    }

    #[test]
    fn srvr_on_a_fresh_server_matches_zookeeper() {
        let (mut p, info, t) = setup();
        assert_eq!(
            render("srvr", None, &mut p, &info, &t),
            format!(
                "Zookeeper version: {ZK_VERSION}\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: 0\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n"
            )
        );
        t.record_latency(1);
        t.record_latency(4);
        assert!(render("srvr", None, &mut p, &info, &t).contains("Latency min/avg/max: 1/2.5/4\n"));
        assert_eq!(render("ruok", None, &mut p, &info, &t), "imok");
        assert_eq!(render("isro", None, &mut p, &info, &t), "rw");
        assert_eq!(
            render("wchs", None, &mut p, &info, &t),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert!(render("stat", None, &mut p, &info, &t).contains("Clients:\n\nLatency"));
        let conf = render("conf", None, &mut p, &info, &t);
        assert!(
            conf.starts_with("clientPort=2181\nsecureClientPort=-1\ndataDir=/tmp/zk/version-2\n")
        );
        assert!(conf.ends_with("clientPortListenBacklog=-1\nserverId=0\n"));
        let envi = render("envi", None, &mut p, &info, &t);
        assert!(envi.starts_with(&format!(
            "Environment:\nzookeeper.version={ZK_VERSION}\nhost.name="
        )));
        let mntr = render("mntr", None, &mut p, &info, &t);
        assert!(mntr.starts_with(&format!(
            "zk_version\t{ZK_VERSION}\nzk_server_state\tstandalone\n"
        )));
        assert!(mntr.contains("zk_znode_count\t5\n"));
        assert_eq!(
            not_whitelisted("ruok"),
            "ruok is not executed because it is not in the whitelist.\n"
        );
        let prom = prometheus(&p, &info, &t);
        assert!(
            prom.contains("# TYPE znode_count gauge\nznode_count 5.0\n"),
            "{prom}"
        );
    }

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(java_double(1.25), "1.25");
        assert_eq!(hex(-1), "ffffffffffffffff");
    }
}
