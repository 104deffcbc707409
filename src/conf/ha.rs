//! The typed HA view of a configuration: nameservices, NameNode ids and addresses, which
//! NameNode this process is, the shared-edits (QJM) URI, fencing methods, automatic failover and
//! the ZooKeeper quorum — resolved with Hadoop's rules (`DFSUtil`, `HAUtil`,
//! `NameNode.initializeGenericKeys`).

use super::address::HostPort;
use super::fencing::{FenceMethod, parse_fence_methods};
use super::qjournal::QjournalUri;
use super::{ConfError, Configuration};

/// The NameNode RPC port when an address names none.
pub const DEFAULT_NAMENODE_RPC_PORT: u16 = 8020;
/// The ZooKeeper client port when a quorum entry names none.
pub const DEFAULT_ZOOKEEPER_PORT: u16 = 2181;

/// Keys that may be given per NameNode as `key.<ns>.<nn>` (or `key.<ns>`) and are copied
/// onto the generic key in that NameNode's (or its ZKFC's) configuration.
pub const NAMENODE_SPECIFIC_KEYS: &[&str] = &[
    "dfs.namenode.rpc-address",
    "dfs.namenode.rpc-bind-host",
    "dfs.namenode.name.dir",
    "dfs.namenode.edits.dir",
    "dfs.namenode.shared.edits.dir",
    "dfs.namenode.checkpoint.dir",
    "dfs.namenode.checkpoint.edits.dir",
    "dfs.namenode.servicerpc-address",
    "dfs.namenode.servicerpc-bind-host",
    "dfs.namenode.lifeline.rpc-address",
    "dfs.namenode.lifeline.rpc-bind-host",
    "dfs.namenode.http-address",
    "dfs.namenode.https-address",
    "dfs.namenode.http-bind-host",
    "dfs.namenode.https-bind-host",
    "dfs.namenode.secondary.http-address",
    "dfs.namenode.secondary.https-address",
    "dfs.namenode.backup.address",
    "dfs.namenode.backup.http-address",
    "dfs.ha.fencing.methods",
    "dfs.ha.zkfc.port",
    // ZKFC keys (`ZKFailoverController.ZKFC_CONF_KEYS`).
    "ha.zookeeper.quorum",
    "ha.zookeeper.session-timeout.ms",
    "ha.zookeeper.parent-znode",
    "ha.zookeeper.acl",
    "ha.zookeeper.auth",
];

/// Keys that may be given per nameservice only, as `key.<ns>`.
pub const NAMESERVICE_SPECIFIC_KEYS: &[&str] = &["dfs.ha.automatic-failover.enabled"];

const MULTIPLE_LOCAL_MATCHES: &str = "Configuration has multiple addresses that match local node's address. Please configure the system with dfs.nameservice.id and dfs.ha.namenode.id";

/// A NameNode address as `hdfs getconf` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameNodeAddress {
    pub nameservice_id: Option<String>,
    pub namenode_id: Option<String>,
    pub address: HostPort,
}

/// Which NameNode this process is (or serves, for a ZKFC), as far as it can be determined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalNameNode {
    pub nameservice_id: Option<String>,
    pub namenode_id: Option<String>,
}

/// The configured nameservices (`dfs.internal.nameservices` when set, else `dfs.nameservices`).
pub fn nameservice_ids(conf: &Configuration) -> Result<Vec<String>, ConfError> {
    let internal = conf.get_trimmed_strings("dfs.internal.nameservices")?;
    if !internal.is_empty() {
        return Ok(internal);
    }
    conf.get_trimmed_strings("dfs.nameservices")
}

/// The NameNode ids of a nameservice (`dfs.ha.namenodes.<ns>`); empty when it is not HA.
pub fn namenode_ids(conf: &Configuration, nameservice: &str) -> Result<Vec<String>, ConfError> {
    conf.get_trimmed_strings(&format!("dfs.ha.namenodes.{nameservice}"))
}

/// Whether a nameservice has more than one NameNode.
pub fn is_ha_enabled(conf: &Configuration, nameservice: &str) -> Result<bool, ConfError> {
    Ok(namenode_ids(conf, nameservice)?.len() > 1)
}

fn scope<'a>(nameservice: Option<&'a str>, namenode: Option<&'a str>) -> Vec<&'a str> {
    nameservice.into_iter().chain(namenode).collect()
}

/// The RPC address of one NameNode (`dfs.namenode.rpc-address[.<ns>[.<nn>]]`).
pub fn namenode_rpc_address(
    conf: &Configuration,
    nameservice: Option<&str>,
    namenode: Option<&str>,
) -> Result<Option<HostPort>, ConfError> {
    let key = conf.scoped_key("dfs.namenode.rpc-address", &scope(nameservice, namenode));
    conf.get_host_port(&key, Some(DEFAULT_NAMENODE_RPC_PORT))
}

/// The HTTP address of one NameNode (`dfs.namenode.http-address[.<ns>[.<nn>]]`).
pub fn namenode_http_address(
    conf: &Configuration,
    nameservice: Option<&str>,
    namenode: Option<&str>,
) -> Result<Option<HostPort>, ConfError> {
    let key = conf.scoped_key("dfs.namenode.http-address", &scope(nameservice, namenode));
    conf.get_host_port(&key, Some(9870))
}

/// Every configured address of a per-NameNode service, in configuration order: for each
/// nameservice and NameNode, the first of `keys` (scoped `.<ns>.<nn>`, or `.<ns>` for a
/// non-HA nameservice) that is set; the generic keys when no nameservice is configured
/// (`DFSUtil.getAddresses`).
pub fn addresses_for_cluster(
    conf: &Configuration,
    keys: &[&str],
    default_port: u16,
) -> Result<Vec<NameNodeAddress>, ConfError> {
    let first_set = |ns: Option<&str>, nn: Option<&str>| -> Result<Option<HostPort>, ConfError> {
        for key in keys {
            let scoped = conf.scoped_key(key, &scope(ns, nn));
            if let Some(address) = conf.get_host_port(&scoped, Some(default_port))? {
                return Ok(Some(address));
            }
        }
        Ok(None)
    };
    let mut found = Vec::new();
    let nameservices = nameservice_ids(conf)?;
    for ns in &nameservices {
        let ids = namenode_ids(conf, ns)?;
        let candidates: Vec<Option<String>> = if ids.is_empty() {
            vec![None]
        } else {
            ids.into_iter().map(Some).collect()
        };
        for nn in candidates {
            if let Some(address) = first_set(Some(ns), nn.as_deref())? {
                found.push(NameNodeAddress {
                    nameservice_id: Some(ns.clone()),
                    namenode_id: nn,
                    address,
                });
            }
        }
    }
    if nameservices.is_empty()
        && let Some(address) = first_set(None, None)?
    {
        found.push(NameNodeAddress {
            nameservice_id: None,
            namenode_id: None,
            address,
        });
    }
    Ok(found)
}

/// Every NameNode of every nameservice, in configuration order, by the address DataNodes and
/// ZKFCs use: the service RPC address when configured, else the RPC address, with
/// `fs.defaultFS` as the last resort (`DFSUtil.getNNServiceRpcAddressesForCluster`).
pub fn namenode_service_rpc_addresses(
    conf: &Configuration,
) -> Result<Vec<NameNodeAddress>, ConfError> {
    let mut found = addresses_for_cluster(
        conf,
        &[
            "dfs.namenode.servicerpc-address",
            "dfs.namenode.rpc-address",
        ],
        DEFAULT_NAMENODE_RPC_PORT,
    )?;
    if found.is_empty()
        && let Some(default_fs) = conf.get_trimmed("fs.defaultFS")?
        && default_fs.starts_with("hdfs://")
        && let Ok(address) = HostPort::parse(&default_fs, Some(DEFAULT_NAMENODE_RPC_PORT))
    {
        found.push(NameNodeAddress {
            nameservice_id: None,
            namenode_id: None,
            address,
        });
    }
    if found.is_empty() {
        return Err(ConfError::Ha(
            "Incorrect configuration: namenode address dfs.namenode.servicerpc-address or dfs.namenode.rpc-address is not configured."
                .to_string(),
        ));
    }
    Ok(found)
}

/// Which NameNode this is: `dfs.nameservice.id` / `dfs.ha.namenode.id` when set; otherwise the
/// only nameservice, and the NameNode whose RPC address is an address of this machine. On a
/// machine where several configured addresses are local (every 127.0.0.x is), the ids must be
/// configured or given with `-D`.
pub fn local_namenode(conf: &Configuration) -> Result<LocalNameNode, ConfError> {
    let configured_ns = conf
        .get_trimmed("dfs.nameservice.id")?
        .filter(|s| !s.is_empty());
    let configured_nn = conf
        .get_trimmed("dfs.ha.namenode.id")?
        .filter(|s| !s.is_empty());
    let nameservices = nameservice_ids(conf)?;

    let nameservice = match configured_ns {
        Some(ns) => Some(ns),
        None if nameservices.len() == 1 => Some(nameservices[0].clone()),
        None if nameservices.is_empty() => None,
        None => {
            local_matches(conf, &nameservices, None, configured_nn.as_deref())?.map(|(ns, _)| ns)
        }
    };
    let namenode = match (configured_nn, &nameservice) {
        (Some(nn), _) => Some(nn),
        (None, Some(ns)) => {
            local_matches(conf, std::slice::from_ref(ns), Some(ns), None)?.and_then(|(_, nn)| nn)
        }
        (None, None) => None,
    };
    Ok(LocalNameNode {
        nameservice_id: nameservice,
        namenode_id: namenode,
    })
}

/// The one (nameservice, NameNode) whose RPC address is local (`DFSUtil.getSuffixIDs`).
fn local_matches(
    conf: &Configuration,
    nameservices: &[String],
    only_ns: Option<&str>,
    only_nn: Option<&str>,
) -> Result<Option<(String, Option<String>)>, ConfError> {
    let mut matches = Vec::new();
    for ns in nameservices {
        if only_ns.is_some_and(|only| only != ns) {
            continue;
        }
        let ids = namenode_ids(conf, ns)?;
        let candidates: Vec<Option<String>> = if ids.is_empty() {
            vec![None]
        } else {
            ids.into_iter()
                .filter(|nn| only_nn.is_none_or(|only| only == nn))
                .map(Some)
                .collect()
        };
        for nn in candidates {
            let address = namenode_rpc_address(conf, Some(ns), nn.as_deref())?;
            if address.is_some_and(|a| a.is_local()) {
                matches.push((ns.clone(), nn));
            }
        }
    }
    match matches.len() {
        0 => Ok(None),
        1 => Ok(matches.pop()),
        _ => Err(ConfError::Ha(MULTIPLE_LOCAL_MATCHES.to_string())),
    }
}

/// The configuration one NameNode (or its ZKFC) runs with: every `key.<ns>.<nn>` /
/// `key.<ns>` of [`NAMENODE_SPECIFIC_KEYS`] and [`NAMESERVICE_SPECIFIC_KEYS`] copied onto
/// `key`, the ids recorded, and `fs.defaultFS` pointed at its own RPC address
/// (`NameNode.initializeGenericKeys`).
pub fn for_namenode(
    conf: &Configuration,
    nameservice: Option<&str>,
    namenode: Option<&str>,
) -> Result<Configuration, ConfError> {
    let mut out = conf.clone();
    let suffixes = scope(nameservice, namenode);
    for key in NAMENODE_SPECIFIC_KEYS {
        let scoped = conf.scoped_key(key, &suffixes);
        if scoped != *key
            && let Some(raw) = conf.get_raw(&scoped)
        {
            out.set(key, raw);
        }
    }
    if let Some(ns) = nameservice {
        for key in NAMESERVICE_SPECIFIC_KEYS {
            if let Some(raw) = conf.get_raw(&format!("{key}.{ns}")) {
                out.set(key, raw);
            }
        }
        out.set("dfs.nameservice.id", ns);
    }
    if let Some(nn) = namenode {
        out.set("dfs.ha.namenode.id", nn);
    }
    if let Some(rpc) =
        out.get_host_port("dfs.namenode.rpc-address", Some(DEFAULT_NAMENODE_RPC_PORT))?
    {
        out.set("fs.defaultFS", &format!("hdfs://{rpc}"));
    }
    Ok(out)
}

/// The shared edits URI of a NameNode (`dfs.namenode.shared.edits.dir[.<ns>[.<nn>]]`), when it
/// is a QJM URI. Logs Hadoop's warning for an even JournalNode count.
pub fn shared_edits(
    conf: &Configuration,
    nameservice: Option<&str>,
    namenode: Option<&str>,
) -> Result<Option<QjournalUri>, ConfError> {
    let key = conf.scoped_key(
        "dfs.namenode.shared.edits.dir",
        &scope(nameservice, namenode),
    );
    let Some(value) = conf.get_trimmed(&key)?.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if !QjournalUri::is_qjournal(&value) {
        return Ok(None);
    }
    let uri = QjournalUri::parse(&value).map_err(|reason| ConfError::Invalid {
        key: key.clone(),
        value: value.clone(),
        reason,
    })?;
    if let Some(warning) = uri.even_count_warning() {
        tracing::warn!(target: "qjournal.client.QuorumJournalManager", "{warning}");
    }
    Ok(Some(uri))
}

/// The JournalNode host names of the cluster, as `hdfs getconf -journalNodes` prints them
/// (`DFSUtil.getJournalNodeAddresses`): the generic key, else the first nameservice whose
/// NameNodes name one; duplicates removed.
pub fn journal_node_hosts(conf: &Configuration) -> Result<Vec<String>, ConfError> {
    let mut hosts: Vec<String> = Vec::new();
    for node in journal_node_addresses(conf)? {
        if !hosts.contains(&node.host) {
            hosts.push(node.host);
        }
    }
    Ok(hosts)
}

/// The JournalNodes of the cluster's shared edits URIs, found as [`journal_node_hosts`]
/// finds them; duplicates removed.
pub fn journal_node_addresses(conf: &Configuration) -> Result<Vec<HostPort>, ConfError> {
    let mut uris = Vec::new();
    if let Some(uri) = shared_edits(conf, None, None)? {
        uris.push(uri);
    } else {
        for ns in nameservice_ids(conf)? {
            if let Some(uri) = shared_edits(conf, Some(&ns), None)? {
                uris.push(uri);
                continue;
            }
            for nn in namenode_ids(conf, &ns)? {
                if let Some(uri) = shared_edits(conf, Some(&ns), Some(&nn))? {
                    uris.push(uri);
                }
            }
        }
    }
    let mut nodes: Vec<HostPort> = Vec::new();
    for node in uris.iter().flat_map(|u| &u.journal_nodes) {
        if !nodes.contains(node) {
            nodes.push(node.clone());
        }
    }
    Ok(nodes)
}

/// `dfs.ha.automatic-failover.enabled[.<ns>]`.
pub fn automatic_failover_enabled(
    conf: &Configuration,
    nameservice: Option<&str>,
) -> Result<bool, ConfError> {
    let key = conf.scoped_key(
        "dfs.ha.automatic-failover.enabled",
        &scope(nameservice, None),
    );
    conf.get_bool(&key, false)
}

/// The fencing methods for a target NameNode (`dfs.ha.fencing.methods[.<ns>[.<nn>]]`).
pub fn fencing_methods(
    conf: &Configuration,
    nameservice: Option<&str>,
    namenode: Option<&str>,
) -> Result<Vec<FenceMethod>, ConfError> {
    let key = conf.scoped_key("dfs.ha.fencing.methods", &scope(nameservice, namenode));
    parse_fence_methods(&conf.get(&key)?.unwrap_or_default())
}

/// A ZooKeeper connect string: servers and an optional chroot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooKeeperQuorum {
    pub servers: Vec<HostPort>,
    /// `/path` after the last server, if any.
    pub chroot: Option<String>,
}

impl ZooKeeperQuorum {
    /// Parses `h1:2181,h2:2181,h3:2181[/chroot]` (port 2181 when omitted).
    pub fn parse(value: &str) -> Result<ZooKeeperQuorum, String> {
        let value = value.trim();
        let (hosts, chroot) = match value.find('/') {
            Some(at) => (&value[..at], Some(value[at..].to_string())),
            None => (value, None),
        };
        let servers = hosts
            .split(',')
            .map(|h| HostPort::parse(h.trim(), Some(DEFAULT_ZOOKEEPER_PORT)))
            .collect::<Result<Vec<_>, _>>()?;
        if chroot.as_deref() == Some("/") {
            return Ok(ZooKeeperQuorum {
                servers,
                chroot: None,
            });
        }
        Ok(ZooKeeperQuorum { servers, chroot })
    }

    /// The connect string as ZooKeeper clients take it.
    pub fn connect_string(&self) -> String {
        let servers: Vec<String> = self.servers.iter().map(|s| s.to_string()).collect();
        format!(
            "{}{}",
            servers.join(","),
            self.chroot.as_deref().unwrap_or("")
        )
    }
}

/// `ha.zookeeper.quorum`, required by the ZKFC (Hadoop's message when missing).
pub fn zookeeper_quorum(conf: &Configuration) -> Result<ZooKeeperQuorum, ConfError> {
    let key = "ha.zookeeper.quorum";
    let value = conf
        .get_trimmed(key)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ConfError::Ha(format!(
                "Missing required configuration '{key}' for ZooKeeper quorum"
            ))
        })?;
    ZooKeeperQuorum::parse(&value).map_err(|reason| ConfError::Invalid {
        key: key.to_string(),
        value,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::fencing::FenceMethod;

    fn conf(props: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(props)
    }

    fn two_nn(host1: &str, host2: &str) -> Configuration {
        conf(&[
            ("dfs.nameservices", "mycluster"),
            ("dfs.ha.namenodes.mycluster", "nn1, nn2"),
            (
                "dfs.namenode.rpc-address.mycluster.nn1",
                &format!("{host1}:8020"),
            ),
            (
                "dfs.namenode.rpc-address.mycluster.nn2",
                &format!("{host2}:8020"),
            ),
        ])
    }

    #[test]
    fn service_rpc_addresses_in_configuration_order() {
        let mut c = two_nn("m1", "m2");
        c.set("dfs.namenode.servicerpc-address.mycluster.nn2", "m2:8021");
        let got = namenode_service_rpc_addresses(&c).unwrap();
        assert_eq!(
            got.iter()
                .map(|a| a.address.to_string())
                .collect::<Vec<_>>(),
            ["m1:8020", "m2:8021"]
        );
        assert_eq!(got[1].namenode_id.as_deref(), Some("nn2"));
    }

    #[test]
    fn non_ha_and_default_fs_fallbacks() {
        let c = conf(&[("dfs.namenode.rpc-address", "solo")]);
        let got = namenode_service_rpc_addresses(&c).unwrap();
        assert_eq!(got[0].address, HostPort::new("solo", 8020));

        let c = conf(&[("fs.defaultFS", "hdfs://fsnn:9000")]);
        assert_eq!(
            namenode_service_rpc_addresses(&c).unwrap()[0].address,
            HostPort::new("fsnn", 9000)
        );

        let err = namenode_service_rpc_addresses(&conf(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Incorrect configuration: namenode address dfs.namenode.servicerpc-address or dfs.namenode.rpc-address is not configured."
        );
    }

    #[test]
    fn the_local_namenode_is_found_by_address_when_only_one_matches() {
        let c = two_nn("192.0.2.10", "127.0.0.1");
        assert_eq!(
            local_namenode(&c).unwrap(),
            LocalNameNode {
                nameservice_id: Some("mycluster".into()),
                namenode_id: Some("nn2".into())
            }
        );
        let c = two_nn("192.0.2.10", "192.0.2.11");
        assert_eq!(local_namenode(&c).unwrap().namenode_id, None);
    }

    #[test]
    fn several_local_matches_need_the_id_configured() {
        let mut c = two_nn("127.0.0.1", "127.0.0.2");
        assert_eq!(
            local_namenode(&c).unwrap_err().to_string(),
            MULTIPLE_LOCAL_MATCHES
        );
        c.set("dfs.ha.namenode.id", "nn2");
        assert_eq!(
            local_namenode(&c).unwrap().namenode_id.as_deref(),
            Some("nn2")
        );
    }

    #[test]
    fn for_namenode_promotes_scoped_keys() {
        let mut c = two_nn("m1", "m2");
        c.set("dfs.namenode.name.dir.mycluster.nn2", "/data/nn2");
        c.set("dfs.ha.fencing.methods.mycluster", "shell(/bin/true)");
        c.set("dfs.ha.automatic-failover.enabled.mycluster", "true");
        c.set("ha.zookeeper.quorum.mycluster.nn2", "zk9:2181");
        let nn2 = for_namenode(&c, Some("mycluster"), Some("nn2")).unwrap();
        assert_eq!(
            nn2.get("dfs.namenode.rpc-address").unwrap().unwrap(),
            "m2:8020"
        );
        assert_eq!(
            nn2.get("dfs.namenode.name.dir").unwrap().unwrap(),
            "/data/nn2"
        );
        assert_eq!(
            nn2.get("dfs.ha.fencing.methods").unwrap().unwrap(),
            "shell(/bin/true)"
        );
        assert_eq!(nn2.get("ha.zookeeper.quorum").unwrap().unwrap(), "zk9:2181");
        assert!(
            nn2.get_bool("dfs.ha.automatic-failover.enabled", false)
                .unwrap()
        );
        assert_eq!(nn2.get("dfs.ha.namenode.id").unwrap().unwrap(), "nn2");
        assert_eq!(nn2.get("fs.defaultFS").unwrap().unwrap(), "hdfs://m2:8020");
        let nn1 = for_namenode(&c, Some("mycluster"), Some("nn1")).unwrap();
        assert_eq!(nn1.get("ha.zookeeper.quorum").unwrap().unwrap(), "");
    }

    #[test]
    fn shared_edits_and_journal_hosts() {
        let mut c = two_nn("m1", "m2");
        assert_eq!(shared_edits(&c, Some("mycluster"), None).unwrap(), None);
        assert!(journal_node_hosts(&c).unwrap().is_empty());
        c.set(
            "dfs.namenode.shared.edits.dir.mycluster",
            "qjournal://j1:8485;j2:8485;j1:8486/mycluster",
        );
        assert_eq!(journal_node_hosts(&c).unwrap(), ["j1", "j2"]);
        let uri = shared_edits(&c, Some("mycluster"), Some("nn1"))
            .unwrap()
            .unwrap();
        assert_eq!(uri.journal_id, "mycluster");

        c.set("dfs.namenode.shared.edits.dir", "qjournal://j1:8485/");
        let err = shared_edits(&c, None, None).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid value 'qjournal://j1:8485/' for configuration property 'dfs.namenode.shared.edits.dir': \
             Bad URI 'qjournal://j1:8485/': must identify journal in path component"
        );
        c.set("dfs.namenode.shared.edits.dir", "file:///nfs/edits");
        assert_eq!(shared_edits(&c, None, None).unwrap(), None);
    }

    #[test]
    fn fencing_and_failover_switches_are_scoped() {
        let c = conf(&[
            ("dfs.ha.fencing.methods", "sshfence\nshell(/bin/true)"),
            ("dfs.ha.fencing.methods.ns1.nn2", "shell(/bin/false)"),
            ("dfs.ha.automatic-failover.enabled.ns1", "true"),
        ]);
        assert_eq!(
            fencing_methods(&c, Some("ns1"), Some("nn1")).unwrap().len(),
            2
        );
        assert_eq!(
            fencing_methods(&c, Some("ns1"), Some("nn2")).unwrap(),
            vec![FenceMethod::Shell {
                command: "/bin/false".into()
            }]
        );
        assert!(automatic_failover_enabled(&c, Some("ns1")).unwrap());
        assert!(!automatic_failover_enabled(&c, Some("ns2")).unwrap());
        assert!(!automatic_failover_enabled(&c, None).unwrap());
    }

    #[test]
    fn zookeeper_quorum_forms() {
        let q = ZooKeeperQuorum::parse("zk1:2181, zk2 ,zk3:2182/hbase").unwrap();
        assert_eq!(q.servers.len(), 3);
        assert_eq!(q.servers[1], HostPort::new("zk2", 2181));
        assert_eq!(q.chroot.as_deref(), Some("/hbase"));
        assert_eq!(q.connect_string(), "zk1:2181,zk2:2181,zk3:2182/hbase");
        let err = zookeeper_quorum(&conf(&[])).unwrap_err().to_string();
        assert_eq!(
            err,
            "Missing required configuration 'ha.zookeeper.quorum' for ZooKeeper quorum"
        );
        let err = zookeeper_quorum(&conf(&[("ha.zookeeper.quorum", "zk1:x")])).unwrap_err();
        assert!(err.to_string().contains("ha.zookeeper.quorum"), "{err}");
    }
}
