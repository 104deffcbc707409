//! `zoo.cfg` as ZooKeeper 3.8's `QuorumPeerConfig` reads it, with ZooKeeper's defaults and
//! messages: server lines, `myid` from `dataDir`, session-timeout bounds from `tickTime`, and
//! every key it does not consume kept as the system property `zookeeper.<key>` (which is how
//! `snapCount`, `forceSync`, `4lw.commands.whitelist` or `DigestAuthenticationProvider.superDigest`
//! reach a ZooKeeper server). Unlike ZooKeeper, `jute.maxbuffer` and `readonlymode.enabled` in
//! zoo.cfg take effect.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::ConfError;
use super::properties::parse_properties;

/// The four-letter words a ZooKeeper 3.8 server knows.
pub const FOUR_LETTER_WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// Whether a server votes or only follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerType {
    Participant,
    Observer,
}

impl fmt::Display for LearnerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        })
    }
}

/// One `server.N=host:quorumPort:electionPort[:type][;[clientHost:]clientPort]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    pub id: u64,
    pub host: String,
    /// Followers connect to the leader on this port (conventionally 2888).
    pub quorum_port: u16,
    /// Leader election traffic (conventionally 3888).
    pub election_port: u16,
    pub learner_type: LearnerType,
    /// The client address from the `;` part, if any (host `0.0.0.0` when only a port is given).
    pub client_address: Option<(String, u16)>,
}

/// Which four-letter words are enabled (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourLetterWhitelist {
    words: BTreeSet<String>,
}

impl FourLetterWhitelist {
    /// ZooKeeper's rule: comma-separated, trimmed, `*` enables all; `srvr` is always enabled,
    /// `isro` too when read-only mode is.
    pub fn parse(value: Option<&str>, readonly_mode: bool) -> Self {
        let mut words = BTreeSet::new();
        for entry in value.unwrap_or("").split(',').map(str::trim) {
            if entry == "*" {
                words.extend(FOUR_LETTER_WORDS.iter().map(|w| w.to_string()));
                break;
            }
            if !entry.is_empty() {
                words.insert(entry.to_string());
            }
        }
        words.insert("srvr".to_string());
        if readonly_mode {
            words.insert("isro".to_string());
        }
        FourLetterWhitelist { words }
    }

    pub fn allows(&self, word: &str) -> bool {
        self.words.contains(word)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooCfg {
    /// The file this was read from.
    pub path: PathBuf,
    pub tick_time_ms: u32,
    /// Ticks a learner may take to connect and sync to the leader.
    pub init_limit: u32,
    /// Ticks a follower may lag before the leader drops it.
    pub sync_limit: u32,
    pub connect_to_learner_master_limit: u32,
    pub data_dir: PathBuf,
    /// Where the transaction log goes (defaults to `data_dir`).
    pub data_log_dir: PathBuf,
    pub client_port: Option<u16>,
    pub client_port_address: Option<String>,
    /// Per client IP; 0 = unlimited.
    pub max_client_cnxns: u32,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    pub peer_type: LearnerType,
    pub standalone_enabled: bool,
    pub sync_enabled: bool,
    pub autopurge_snap_retain_count: u32,
    /// Hours between purges; 0 disables autopurge.
    pub autopurge_purge_interval_hours: u32,
    pub servers: BTreeMap<u64, QuorumServer>,
    /// This server's id from `dataDir/myid`, when the file exists.
    pub myid: Option<u64>,
    /// Every key not consumed above, as `zookeeper.<key>` (ZooKeeper's system properties).
    pub system_properties: BTreeMap<String, String>,
    /// Warnings ZooKeeper would log for this file.
    pub warnings: Vec<String>,
}

impl ZooCfg {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<ZooCfg, ConfError> {
        let fail = |reason: String| ConfError::ZooCfg {
            path: path.to_path_buf(),
            reason,
        };
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(format!("{} file is missing", path.display())));
            }
            Err(err) => return Err(fail(err.to_string())),
        };
        Self::parse(path, &text)
    }

    /// Parses zoo.cfg text; `path` names it in errors and anchors nothing else.
    pub fn parse(path: &Path, text: &str) -> Result<ZooCfg, ConfError> {
        let fail = |reason: String| ConfError::ZooCfg {
            path: path.to_path_buf(),
            reason,
        };
        // Later duplicates win, as with java.util.Properties.
        let mut props: BTreeMap<String, String> = BTreeMap::new();
        for line in parse_properties(text).map_err(|err| fail(err.to_string()))? {
            props.insert(line.key.trim().to_string(), line.value.trim().to_string());
        }

        let mut warnings = Vec::new();
        let mut system_properties = BTreeMap::new();
        let mut servers = BTreeMap::new();
        let mut raw: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in &props {
            if let Some(id) = key.strip_prefix("server.") {
                let id = parse_number::<u64>(key, id).map_err(&fail)?;
                let server = parse_server_line(id, value).map_err(&fail)?;
                servers.insert(id, server);
            } else if CONSUMED_KEYS.contains(&key.as_str()) {
                raw.insert(key, value);
            } else {
                system_properties.insert(format!("zookeeper.{key}"), value.clone());
            }
        }
        // `metricsProvider.*` configures the metrics provider, not the server.
        let int = |key: &str, default: u32| -> Result<u32, ConfError> {
            match raw.get(key) {
                Some(v) => parse_number::<u32>(key, v).map_err(&fail),
                None => Ok(default),
            }
        };
        let boolean = |key: &str, default: bool| -> Result<bool, ConfError> {
            match raw.get(key) {
                Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
                Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
                Some(v) => Err(fail(format!(
                    "Invalid option {v} for {key}. Choose 'true' or 'false.'"
                ))),
                None => Ok(default),
            }
        };

        let data_dir = raw
            .get("dataDir")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| fail("dataDir is not set".to_string()))?;
        let data_log_dir = raw
            .get("dataLogDir")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.clone());
        let tick_time_ms = int("tickTime", 3000)?;
        if tick_time_ms == 0 {
            return Err(fail("tickTime is not set".to_string()));
        }
        let client_port = match raw.get("clientPort") {
            Some(v) => {
                Some(parse_number::<u16>("clientPort", v).map_err(&fail)?).filter(|p| *p != 0)
            }
            None => None,
        };
        let client_port_address = raw.get("clientPortAddress").map(|s| s.to_string());
        if client_port_address.is_some() && client_port.is_none() {
            return Err(fail(
                "clientPortAddress is set but clientPort is not set".to_string(),
            ));
        }
        let session_bound = |key: &str, default: u32| -> Result<u32, ConfError> {
            match raw.get(key) {
                Some(v) => match parse_number::<i64>(key, v).map_err(&fail)? {
                    -1 => Ok(default),
                    n => u32::try_from(n).map_err(|_| fail(format!("{key} {n} is out of range"))),
                },
                None => Ok(default),
            }
        };
        let min_session_timeout_ms = session_bound("minSessionTimeout", tick_time_ms * 2)?;
        let max_session_timeout_ms = session_bound("maxSessionTimeout", tick_time_ms * 20)?;
        if min_session_timeout_ms > max_session_timeout_ms {
            return Err(fail(
                "minSessionTimeout must not be larger than maxSessionTimeout".to_string(),
            ));
        }
        let peer_type = match raw.get("peerType").map(|s| s.to_ascii_lowercase()) {
            None => LearnerType::Participant,
            Some(t) if t == "participant" => LearnerType::Participant,
            Some(t) if t == "observer" => LearnerType::Observer,
            Some(t) => return Err(fail(format!("Unrecognised peertype: {t}"))),
        };
        let mut autopurge_snap_retain_count = int("autopurge.snapRetainCount", 3)?;
        if autopurge_snap_retain_count < 3 {
            warnings.push(format!(
                "Invalid autopurge.snapRetainCount: {autopurge_snap_retain_count}. Defaulting to 3"
            ));
            autopurge_snap_retain_count = 3;
        }
        if let Some(alg) = raw.get("electionAlg")
            && *alg != "3"
        {
            return Err(fail(
                "Invalid electionAlg value. Only 3 is supported.".to_string(),
            ));
        }
        let init_limit = int("initLimit", 0)?;

        let mut cfg = ZooCfg {
            path: path.to_path_buf(),
            tick_time_ms,
            init_limit,
            sync_limit: int("syncLimit", 0)?,
            connect_to_learner_master_limit: int("connectToLearnerMasterLimit", init_limit)?,
            data_dir,
            data_log_dir,
            client_port,
            client_port_address,
            max_client_cnxns: int("maxClientCnxns", 60)?,
            min_session_timeout_ms,
            max_session_timeout_ms,
            peer_type,
            standalone_enabled: boolean("standaloneEnabled", true)?,
            sync_enabled: boolean("syncEnabled", true)?,
            autopurge_snap_retain_count,
            autopurge_purge_interval_hours: int("autopurge.purgeInterval", 0)?,
            servers,
            myid: None,
            system_properties,
            warnings,
        };
        // Typed system properties are checked now, so that a bad value is reported at start.
        cfg.snap_count()?;
        cfg.pre_alloc_size_kb()?;
        cfg.jute_maxbuffer()?;
        cfg.metrics_http_port()?;
        cfg.admin_server_port()?;
        cfg.check_quorum(&fail)?;
        Ok(cfg)
    }

    /// Quorum checks (`QuorumPeerConfig.setupQuorumPeerConfig` / `setupMyId`).
    fn check_quorum(&mut self, fail: &dyn Fn(String) -> ConfError) -> Result<(), ConfError> {
        let participants = self
            .servers
            .values()
            .filter(|s| s.learner_type == LearnerType::Participant)
            .count();
        let observers = self.servers.len() - participants;
        if participants == 0 && observers > 0 {
            return Err(fail(
                "Observers w/o participants is an invalid configuration".to_string(),
            ));
        }
        if participants == 1 && self.standalone_enabled {
            if observers > 0 {
                return Err(fail(
                    "Observers w/o quorum is an invalid configuration".to_string(),
                ));
            }
            self.warnings
                .push("Invalid configuration, only one server specified (ignoring)".to_string());
            self.servers.clear();
        } else if participants > 0 {
            if participants <= 2 {
                self.warnings.push(
                    "No server failure will be tolerated. You need at least 3 servers.".to_string(),
                );
            } else if participants.is_multiple_of(2) {
                self.warnings.push(
                    "Non-optimal configuration, consider an odd number of servers.".to_string(),
                );
            }
        }
        if !self.is_distributed() {
            return Ok(());
        }
        if self.init_limit == 0 {
            return Err(fail("initLimit is not set".to_string()));
        }
        if self.sync_limit == 0 {
            return Err(fail("syncLimit is not set".to_string()));
        }
        let myid_path = self.data_dir.join("myid");
        let text = match std::fs::read_to_string(&myid_path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(format!("{} file is missing", myid_path.display())));
            }
            Err(err) => return Err(fail(format!("{}: {err}", myid_path.display()))),
        };
        let first = text.lines().next().unwrap_or("").trim();
        let myid: u64 = first
            .parse()
            .map_err(|_| fail(format!("serverid {first} is not a number")))?;
        let Some(me) = self.servers.get(&myid).cloned() else {
            return Err(fail(format!("My id {myid} not in the peer list")));
        };
        if me.learner_type != self.peer_type {
            self.warnings.push(format!(
                "Peer type from servers list ({}) doesn't match peerType ({}). Defaulting to servers list.",
                me.learner_type, self.peer_type
            ));
            self.peer_type = me.learner_type;
        }
        if let Some((host, port)) = me.client_address
            && self.client_port.is_none()
        {
            self.client_port = Some(port);
            if host != "0.0.0.0" {
                self.client_port_address = Some(host);
            }
        }
        self.myid = Some(myid);
        Ok(())
    }

    /// Whether this runs the quorum code (more than one voter, or `standaloneEnabled=false`).
    pub fn is_distributed(&self) -> bool {
        let participants = self
            .servers
            .values()
            .filter(|s| s.learner_type == LearnerType::Participant)
            .count();
        participants > 1 || (participants == 1 && !self.standalone_enabled)
    }

    /// A ZooKeeper system property set from zoo.cfg (`snapCount` → `zookeeper.snapCount`).
    pub fn system_property(&self, name: &str) -> Option<&str> {
        self.system_properties
            .get(&format!("zookeeper.{name}"))
            .map(String::as_str)
    }

    fn typed_property<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ConfError> {
        match self.system_property(name) {
            Some(v) => parse_number::<T>(name, v)
                .map(Some)
                .map_err(|reason| ConfError::ZooCfg {
                    path: self.path.clone(),
                    reason,
                }),
            None => Ok(None),
        }
    }

    /// Committed txns a quorum leader keeps in memory to sync a learner by DIFF
    /// (`commitLogCount`, default 500, at least 1); a learner further behind gets a SNAP.
    pub fn commit_log_count(&self) -> Result<usize, ConfError> {
        Ok(self
            .typed_property::<usize>("commitLogCount")?
            .unwrap_or(500)
            .max(1))
    }

    /// Transactions between snapshots (`snapCount`, default 100000, at least 2).
    pub fn snap_count(&self) -> Result<u64, ConfError> {
        Ok(self
            .typed_property::<u64>("snapCount")?
            .unwrap_or(100_000)
            .max(2))
    }

    /// Transaction-log preallocation block in KiB (`preAllocSize`, default 65536).
    pub fn pre_alloc_size_kb(&self) -> Result<u64, ConfError> {
        Ok(self
            .typed_property::<u64>("preAllocSize")?
            .unwrap_or(65_536))
    }

    /// Whether the log is fsynced before a write is acknowledged (`forceSync`: only `no`
    /// turns it off).
    pub fn force_sync(&self) -> bool {
        self.system_property("forceSync") != Some("no")
    }

    /// Largest request or record in bytes (`jute.maxbuffer`, default 0xfffff).
    pub fn jute_maxbuffer(&self) -> Result<usize, ConfError> {
        let Some(value) = self.system_property("jute.maxbuffer") else {
            return Ok(0xfffff);
        };
        let parsed = match value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
        {
            Some(hex) => usize::from_str_radix(hex, 16).ok(),
            None => value.parse().ok(),
        };
        parsed.ok_or_else(|| ConfError::ZooCfg {
            path: self.path.clone(),
            reason: format!("For input string: \"{value}\" (property jute.maxbuffer)"),
        })
    }

    /// `readonlymode.enabled`.
    pub fn readonly_mode_enabled(&self) -> bool {
        self.system_property("readonlymode.enabled") == Some("true")
    }

    /// `extendedTypesEnabled` (TTL nodes).
    pub fn extended_types_enabled(&self) -> bool {
        self.system_property("extendedTypesEnabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The enabled four-letter words.
    pub fn four_letter_words(&self) -> FourLetterWhitelist {
        FourLetterWhitelist::parse(
            self.system_property("4lw.commands.whitelist"),
            self.readonly_mode_enabled(),
        )
    }

    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>` of the super user.
    pub fn super_digest(&self) -> Option<&str> {
        self.system_property("DigestAuthenticationProvider.superDigest")
    }

    /// The Prometheus `/metrics` port (`metricsProvider.httpPort`, default 7000).
    pub fn metrics_http_port(&self) -> Result<u16, ConfError> {
        Ok(self
            .typed_property::<u16>("metricsProvider.httpPort")?
            .unwrap_or(7000))
    }

    /// The AdminServer port (`admin.serverPort`, default 8080).
    pub fn admin_server_port(&self) -> Result<u16, ConfError> {
        Ok(self
            .typed_property::<u16>("admin.serverPort")?
            .unwrap_or(8080))
    }
}

/// Keys `QuorumPeerConfig` consumes itself; everything else becomes a system property.
const CONSUMED_KEYS: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "secureClientPortAddress",
    "clientPortListenBacklog",
    "observerMasterPort",
    "tickTime",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "initLimit",
    "syncLimit",
    "connectToLearnerMasterLimit",
    "electionAlg",
    "quorumListenOnAllIPs",
    "peerType",
    "syncEnabled",
    "dynamicConfigFile",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "standaloneEnabled",
    "reconfigEnabled",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "quorum.cnxn.threads.size",
    "metricsProvider.className",
];

/// Java's `Long.parseLong` failure text, with the key.
fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| format!("For input string: \"{value}\" (property {key})"))
}

/// `host:quorumPort:electionPort[:type][;[clientHost:]clientPort]` (`QuorumPeer.QuorumServer`).
fn parse_server_line(id: u64, value: &str) -> Result<QuorumServer, String> {
    let form_error = || {
        format!(
            "{value} does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port"
        )
    };
    let parts: Vec<&str> = value.split(';').collect();
    let (server_part, client_part) = match parts.as_slice() {
        [server] => (*server, None),
        [server, ""] => (*server, None),
        [server, client] => (*server, Some(*client)),
        _ => return Err(form_error()),
    };
    if server_part.contains('|') {
        return Err(format!(
            "Multiple address feature is disabled, but multiple addresses were specified for sid {id}"
        ));
    }
    let (host, rest) = split_host(server_part)?;
    let fields: Vec<&str> = rest.split(':').collect();
    if fields.len() < 2 || fields.len() > 3 || host.is_empty() {
        return Err(form_error());
    }
    let port = |text: &str| {
        text.parse::<u16>()
            .map_err(|_| format!("Address unresolved: {host}:{text}"))
    };
    let quorum_port = port(fields[0])?;
    let election_port = port(fields[1])?;
    if quorum_port == election_port {
        return Err(format!(
            "Client and election port must be different! Please update the configuration file on server.{id}"
        ));
    }
    let learner_type = match fields.get(2).map(|t| t.trim().to_ascii_lowercase()) {
        None => LearnerType::Participant,
        Some(t) if t == "participant" => LearnerType::Participant,
        Some(t) if t == "observer" => LearnerType::Observer,
        Some(t) => return Err(format!("Unrecognised peertype: {t}")),
    };
    let client_address = match client_part {
        None => None,
        Some(client) => {
            let pieces: Vec<&str> = client.split(':').collect();
            let (client_host, client_port) = match pieces.as_slice() {
                [port] => ("0.0.0.0", *port),
                [host, port] => (*host, *port),
                _ => return Err(form_error()),
            };
            let parsed = client_port
                .parse::<u16>()
                .map_err(|_| format!("Address unresolved: {client_host}:{client_port}"))?;
            Some((client_host.to_string(), parsed))
        }
    };
    Ok(QuorumServer {
        id,
        host,
        quorum_port,
        election_port,
        learner_type,
        client_address,
    })
}

/// Splits the host from `host:…`, with `[v6]:…` brackets.
fn split_host(server: &str) -> Result<(String, &str), String> {
    if let Some(rest) = server.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("{server} starts with '[' but has no matching ']:'"))?;
        let after = &rest[close + 1..];
        let ports = after
            .strip_prefix(':')
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("{server} doesn't have a port after colon"))?;
        Ok((rest[..close].to_string(), ports))
    } else {
        let (host, ports) = server.split_once(':').unwrap_or((server, ""));
        Ok((host.to_string(), ports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ZooCfg, ConfError> {
        ZooCfg::parse(Path::new("zoo.cfg"), text)
    }

    fn reason(text: &str) -> String {
        match parse(text).unwrap_err() {
            ConfError::ZooCfg { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn standalone_defaults_are_zookeepers() {
        let cfg = parse("dataDir=/var/zk\nclientPort=2181\n").unwrap();
        assert_eq!(cfg.tick_time_ms, 3000);
        assert_eq!(cfg.min_session_timeout_ms, 6000);
        assert_eq!(cfg.max_session_timeout_ms, 60000);
        assert_eq!(cfg.data_log_dir, PathBuf::from("/var/zk"));
        assert_eq!(cfg.max_client_cnxns, 60);
        assert_eq!(cfg.client_port, Some(2181));
        assert_eq!(cfg.snap_count().unwrap(), 100_000);
        assert_eq!(cfg.pre_alloc_size_kb().unwrap(), 65_536);
        assert!(cfg.force_sync());
        assert_eq!(cfg.jute_maxbuffer().unwrap(), 0xfffff);
        assert!(!cfg.readonly_mode_enabled());
        assert_eq!(cfg.autopurge_snap_retain_count, 3);
        assert_eq!(cfg.autopurge_purge_interval_hours, 0);
        assert_eq!(cfg.metrics_http_port().unwrap(), 7000);
        assert!(!cfg.is_distributed());
        let words = cfg.four_letter_words();
        assert!(words.allows("srvr"));
        assert!(!words.allows("ruok"));
    }

    #[test]
    fn unknown_keys_become_zookeeper_system_properties() {
        let cfg = parse(
            "dataDir=/d\ntickTime=2000\nsnapCount=5000\npreAllocSize=1024\nforceSync=no\njute.maxbuffer=0x200000\n\
             readonlymode.enabled=true\n4lw.commands.whitelist=ruok, mntr ,stat\nDigestAuthenticationProvider.superDigest=super:abc=\n\
             extendedTypesEnabled=true\nmetricsProvider.httpPort=7001\nsomething.else=1\n",
        )
        .unwrap();
        assert_eq!(cfg.min_session_timeout_ms, 4000);
        assert_eq!(cfg.snap_count().unwrap(), 5000);
        assert_eq!(cfg.pre_alloc_size_kb().unwrap(), 1024);
        assert!(!cfg.force_sync());
        assert_eq!(cfg.jute_maxbuffer().unwrap(), 0x200000);
        assert!(cfg.readonly_mode_enabled());
        assert!(cfg.extended_types_enabled());
        assert_eq!(cfg.super_digest(), Some("super:abc="));
        assert_eq!(cfg.metrics_http_port().unwrap(), 7001);
        assert_eq!(cfg.system_property("something.else"), Some("1"));
        let words = cfg.four_letter_words();
        for w in ["ruok", "mntr", "stat", "srvr", "isro"] {
            assert!(words.allows(w), "{w}");
        }
        assert!(!words.allows("conf"));
        let all = FourLetterWhitelist::parse(Some("*"), false);
        assert!(FOUR_LETTER_WORDS.iter().all(|w| all.allows(w)));
    }

    #[test]
    fn a_three_server_quorum_reads_myid_and_the_client_address() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("myid"), "2\n").unwrap();
        let text = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
             server.1=127.0.0.1:2888:3888;127.0.0.1:2181\n\
             server.2=127.0.0.2:2888:3888;127.0.0.2:2181\n\
             server.3=127.0.0.3:2888:3888:participant;2181\n\
             server.4=127.0.0.4:2888:3888:observer\n",
            dir.path().display()
        );
        let cfg = parse(&text).unwrap();
        assert!(cfg.is_distributed());
        assert_eq!(cfg.myid, Some(2));
        assert_eq!(cfg.client_port, Some(2181));
        assert_eq!(cfg.client_port_address.as_deref(), Some("127.0.0.2"));
        assert_eq!(cfg.servers.len(), 4);
        let s3 = &cfg.servers[&3];
        assert_eq!(s3.client_address, Some(("0.0.0.0".to_string(), 2181)));
        assert_eq!(cfg.servers[&4].learner_type, LearnerType::Observer);
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    }

    #[test]
    fn quorum_requirements_have_zookeepers_messages() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let servers = "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n";
        assert_eq!(
            reason(&format!("dataDir={d}\nsyncLimit=5\n{servers}")),
            "initLimit is not set"
        );
        assert_eq!(
            reason(&format!("dataDir={d}\ninitLimit=5\n{servers}")),
            "syncLimit is not set"
        );
        let base = format!("dataDir={d}\ninitLimit=5\nsyncLimit=2\n{servers}");
        assert_eq!(reason(&base), format!("{d}/myid file is missing"));
        std::fs::write(dir.path().join("myid"), "two").unwrap();
        assert_eq!(reason(&base), "serverid two is not a number");
        std::fs::write(dir.path().join("myid"), "9").unwrap();
        assert_eq!(reason(&base), "My id 9 not in the peer list");
    }

    #[test]
    fn one_server_line_is_standalone_with_a_warning() {
        let cfg = parse("dataDir=/d\nclientPort=2181\nserver.1=a:2888:3888\n").unwrap();
        assert!(!cfg.is_distributed());
        assert_eq!(
            cfg.warnings,
            ["Invalid configuration, only one server specified (ignoring)"]
        );
        let two = parse(
            "dataDir=/d\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nstandaloneEnabled=false\n",
        );
        // Two voters: distributed, so myid etc. are required (initLimit first).
        assert!(two.is_err());
    }

    #[test]
    fn bad_files_get_zookeepers_messages() {
        let cases = [
            ("clientPort=2181\n", "dataDir is not set"),
            ("dataDir=/d\ntickTime=0\n", "tickTime is not set"),
            (
                "dataDir=/d\nclientPortAddress=127.0.0.1\n",
                "clientPortAddress is set but clientPort is not set",
            ),
            (
                "dataDir=/d\nminSessionTimeout=10000\nmaxSessionTimeout=5000\n",
                "minSessionTimeout must not be larger than maxSessionTimeout",
            ),
            (
                "dataDir=/d\ntickTime=abc\n",
                "For input string: \"abc\" (property tickTime)",
            ),
            (
                "dataDir=/d\nstandaloneEnabled=yes\n",
                "Invalid option yes for standaloneEnabled. Choose 'true' or 'false.'",
            ),
            (
                "dataDir=/d\npeerType=voter\n",
                "Unrecognised peertype: voter",
            ),
            (
                "dataDir=/d\nserver.x=a:1:2\n",
                "For input string: \"x\" (property server.x)",
            ),
            (
                "dataDir=/d\nserver.1=a:2888\n",
                "a:2888 does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port",
            ),
            (
                "dataDir=/d\nserver.1=a:2888:3888;1;2\n",
                "a:2888:3888;1;2 does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port",
            ),
            ("dataDir=/d\nserver.1=a:x:3888\n", "Address unresolved: a:x"),
            (
                "dataDir=/d\nserver.1=a:2888:2888\n",
                "Client and election port must be different! Please update the configuration file on server.1",
            ),
            (
                "dataDir=/d\nserver.1=a:2888:3888:witness\n",
                "Unrecognised peertype: witness",
            ),
            (
                "dataDir=/d\nserver.1=a:2888:3888;b:port\n",
                "Address unresolved: b:port",
            ),
            (
                "dataDir=/d\nserver.1=a:1:2|b:1:2\n",
                "Multiple address feature is disabled, but multiple addresses were specified for sid 1",
            ),
            (
                "dataDir=/d\nserver.1=[::1:2888:3888\n",
                "[::1:2888:3888 starts with '[' but has no matching ']:'",
            ),
            (
                "dataDir=/d\nserver.1=a:1:2:observer\n",
                "Observers w/o participants is an invalid configuration",
            ),
            (
                "dataDir=/d\nsnapCount=many\n",
                "For input string: \"many\" (property snapCount)",
            ),
            (
                "dataDir=/d\njute.maxbuffer=big\n",
                "For input string: \"big\" (property jute.maxbuffer)",
            ),
            (
                "dataDir=/d\nelectionAlg=1\n",
                "Invalid electionAlg value. Only 3 is supported.",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(reason(text), want, "{text}");
        }
    }

    #[test]
    fn ipv6_server_lines() {
        let s = parse_server_line(1, "[::1]:2888:3888;[::1]:2181").unwrap_err();
        // A bracketed client host is not ZooKeeper's client_config form either.
        assert!(s.contains("does not have the form"), "{s}");
        let s = parse_server_line(1, "[::1]:2888:3888;2181").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!((s.quorum_port, s.election_port), (2888, 3888));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = ZooCfg::load(Path::new("/nonexistent/zoo.cfg")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error processing /nonexistent/zoo.cfg: /nonexistent/zoo.cfg file is missing"
        );
    }
}
