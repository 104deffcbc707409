//! `ZkfcConf`: what a ZKFC runs with, read once from the configuration of its NameNode
//! (scoped keys promoted, `ha.zookeeper.*` included), and the ZooKeeper ACL and auth syntax of
//! Hadoop's `ZKUtil` (`scheme:id:perms`, `scheme:auth`, `@/path/to/file` indirection).

use std::net::SocketAddr;
use std::time::Duration;

use super::health::HealthConf;
use super::target::{NnTarget, TargetError};
use crate::conf::ha::{self, LocalNameNode};
use crate::conf::{ConfError, Configuration, TimeUnit};

/// One ACL entry: a ZooKeeper scheme, an id, and the `rwcda` permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkAcl {
    pub scheme: String,
    pub id: String,
    /// ZooKeeper's bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16.
    pub perms: i32,
}

/// One `ha.zookeeper.auth` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkAuth {
    pub scheme: String,
    pub auth: Vec<u8>,
}

/// How the ZKFC reaches ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSettings {
    /// `ha.zookeeper.quorum`, as a connect string.
    pub quorum: String,
    /// `ha.zookeeper.session-timeout.ms`.
    pub session_timeout: Duration,
    /// `ha.zookeeper.acl` (Hadoop's CREATOR_ALL when the list is empty).
    pub acls: Vec<ZkAcl>,
    /// `ha.zookeeper.auth`.
    pub auths: Vec<ZkAuth>,
    /// The working znode: `ha.zookeeper.parent-znode` + `/` + nameservice.
    pub parent_znode: String,
    /// `ha.failover-controller.active-standby-elector.zk.op.retries`.
    pub op_retries: u32,
}

/// What fencing methods run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencerConf {
    /// `dfs.ha.fencing.shell.timeout.ms` (ours; Hadoop waits forever).
    pub shell_timeout: Duration,
    /// `dfs.ha.fencing.ssh.private-key-files`.
    pub ssh_key_files: Vec<String>,
    /// `dfs.ha.fencing.ssh.connect-timeout`.
    pub ssh_connect_timeout: Duration,
}

impl FencerConf {
    pub fn from_conf(conf: &Configuration) -> Result<FencerConf, ConfError> {
        Ok(FencerConf {
            shell_timeout: millis(conf, "dfs.ha.fencing.shell.timeout.ms")?,
            ssh_key_files: conf.get_trimmed_strings("dfs.ha.fencing.ssh.private-key-files")?,
            ssh_connect_timeout: millis(conf, "dfs.ha.fencing.ssh.connect-timeout")?,
        })
    }
}

/// The timeouts of the failover controller (Hadoop's `FailoverController`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverTimeouts {
    /// `ha.failover-controller.graceful-fence.rpc-timeout.ms`.
    pub graceful_fence: Duration,
    /// `ha.failover-controller.graceful-fence.connection.retries`.
    pub graceful_fence_retries: u32,
    /// `ha.failover-controller.graceful-fence.probe-timeout.ms` (hdfs-ha's own): how long the
    /// old active has to answer at all (connect and `getServiceStatus`) before the graceful
    /// fence gives up on it and the fencing methods run.
    pub graceful_fence_probe: Duration,
    /// `ha.failover-controller.new-active.rpc-timeout.ms`.
    pub new_active: Duration,
    /// `ha.failover-controller.cli-check.rpc-timeout.ms`.
    pub cli_check: Duration,
}

impl FailoverTimeouts {
    pub fn from_conf(conf: &Configuration) -> Result<FailoverTimeouts, ConfError> {
        Ok(FailoverTimeouts {
            graceful_fence: millis(conf, "ha.failover-controller.graceful-fence.rpc-timeout.ms")?,
            graceful_fence_retries: int(
                conf,
                "ha.failover-controller.graceful-fence.connection.retries",
                1,
            )?,
            graceful_fence_probe: millis(
                conf,
                "ha.failover-controller.graceful-fence.probe-timeout.ms",
            )?,
            new_active: millis(conf, "ha.failover-controller.new-active.rpc-timeout.ms")?,
            cli_check: millis(conf, "ha.failover-controller.cli-check.rpc-timeout.ms")?,
        })
    }
}

/// Everything one ZKFC runs with.
#[derive(Debug, Clone)]
pub struct ZkfcConf {
    /// The NameNode this ZKFC serves.
    pub local: NnTarget,
    /// The other NameNodes of its nameservice.
    pub others: Vec<NnTarget>,
    pub zk: ZkSettings,
    pub health: HealthConf,
    /// `ha.health-monitor.rpc-timeout.ms`.
    pub health_rpc_timeout: Duration,
    pub timeouts: FailoverTimeouts,
    pub fencer: FencerConf,
    /// Where the ZKFC RPC server listens: the NameNode's RPC (bind) host, `dfs.ha.zkfc.port`.
    pub rpc_bind: SocketAddr,
    /// The whole configuration, with this NameNode's keys promoted.
    pub conf: Configuration,
    /// The configuration as loaded, for reading other NameNodes' scoped keys.
    pub base: Configuration,
}

/// Why a ZKFC cannot be configured; the texts are Hadoop's (`DFSZKFailoverController.create`,
/// `ZKFailoverController.initZK`, `ZKUtil`), which `hdfs zkfc` logs before it exits 1.
#[derive(Debug, thiserror::Error)]
pub enum ZkfcConfError {
    #[error("HA is not enabled for this namenode.")]
    HaNotEnabled,

    #[error(
        "Could not get the namenode ID of this node. You may run zkfc on the node other than namenode."
    )]
    NoNameNodeId,

    #[error("Invalid ZK session timeout {0}")]
    SessionTimeout(u128),

    /// `@file` indirection naming a file that cannot be read.
    #[error("Unable to read {path}: {source}")]
    Indirection {
        path: String,
        source: std::io::Error,
    },

    #[error("ACL '{0}' not of expected form scheme:id:perm")]
    AclForm(String),

    #[error("Invalid permission '{perm}' in permission string '{perms}'")]
    AclPermission { perm: char, perms: String },

    #[error("Auth '{0}' not of expected form scheme:auth")]
    AuthForm(String),

    #[error("cannot resolve the ZKFC RPC address: {0}")]
    RpcBind(#[source] std::io::Error),

    #[error(transparent)]
    Target(#[from] TargetError),

    #[error(transparent)]
    Conf(#[from] ConfError),
}

impl ZkfcConf {
    /// The local NameNode, as `DFSZKFailoverController.create` finds it.
    pub fn local_target(conf: &Configuration) -> Result<NnTarget, ZkfcConfError> {
        let LocalNameNode {
            nameservice_id,
            namenode_id,
        } = ha::local_namenode(conf)?;
        let ns = nameservice_id.ok_or(ZkfcConfError::HaNotEnabled)?;
        if !ha::is_ha_enabled(conf, &ns)? {
            return Err(ZkfcConfError::HaNotEnabled);
        }
        let nn = namenode_id.ok_or(ZkfcConfError::NoNameNodeId)?;
        Ok(NnTarget::resolve(conf, &ns, &nn)?)
    }

    /// The rest of the configuration, once the local target is known and automatic failover
    /// is on.
    pub fn from_conf(local: NnTarget, conf: &Configuration) -> Result<ZkfcConf, ZkfcConfError> {
        let others = NnTarget::all(conf, &local.nameservice_id)?
            .into_iter()
            .filter(|t| t.namenode_id != local.namenode_id)
            .collect();
        let mine = local.conf.clone();
        let zk = zk_settings(&mine, &local.nameservice_id)?;
        let health = HealthConf {
            check_interval: millis(&mine, "ha.health-monitor.check-interval.ms")?,
            connect_retry_interval: millis(&mine, "ha.health-monitor.connect-retry-interval.ms")?,
            sleep_after_disconnect: millis(&mine, "ha.health-monitor.sleep-after-disconnect.ms")?,
        };
        let bind_host = [
            "dfs.namenode.servicerpc-bind-host",
            "dfs.namenode.rpc-bind-host",
        ]
        .iter()
        .find_map(|key| {
            mine.get_trimmed(key)
                .ok()
                .flatten()
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| local.address.host.clone());
        let rpc_bind = crate::conf::HostPort::new(bind_host, local.zkfc_address.port)
            .resolve()
            .map_err(ZkfcConfError::RpcBind)?;
        Ok(ZkfcConf {
            others,
            zk,
            health,
            health_rpc_timeout: millis(&mine, "ha.health-monitor.rpc-timeout.ms")?,
            timeouts: FailoverTimeouts::from_conf(&mine)?,
            fencer: FencerConf::from_conf(&mine)?,
            rpc_bind,
            conf: mine,
            base: conf.clone(),
            local,
        })
    }
}

/// The ZooKeeper settings for nameservice `ns` (`ZKFailoverController.initZK`).
pub fn zk_settings(conf: &Configuration, ns: &str) -> Result<ZkSettings, ZkfcConfError> {
    let quorum = ha::zookeeper_quorum(conf)?;
    let session_timeout = millis(conf, "ha.zookeeper.session-timeout.ms")?;
    if session_timeout.is_zero() {
        return Err(ZkfcConfError::SessionTimeout(session_timeout.as_millis()));
    }
    let acl_text = resolve_indirection(&conf.get("ha.zookeeper.acl")?.unwrap_or_default())?;
    let mut acls = parse_acls(&acl_text)?;
    if acls.is_empty() {
        // ZooKeeper's CREATOR_ALL_ACL.
        acls.push(ZkAcl {
            scheme: "auth".into(),
            id: String::new(),
            perms: 31,
        });
    }
    let auth_text = resolve_indirection(&conf.get("ha.zookeeper.auth")?.unwrap_or_default())?;
    let auths = parse_auths(&auth_text)?;
    let parent = conf
        .get_trimmed("ha.zookeeper.parent-znode")?
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/hadoop-ha".to_string());
    let parent_znode = if parent.ends_with('/') {
        format!("{parent}{ns}")
    } else {
        format!("{parent}/{ns}")
    };
    Ok(ZkSettings {
        quorum: quorum.connect_string(),
        session_timeout,
        acls,
        auths,
        parent_znode,
        op_retries: int(
            conf,
            "ha.failover-controller.active-standby-elector.zk.op.retries",
            3,
        )?,
    })
}

fn millis(conf: &Configuration, key: &str) -> Result<Duration, ConfError> {
    let value = conf.get_time_duration(key, TimeUnit::Milliseconds)?;
    Ok(value.and_then(|d| d.to_std()).unwrap_or(Duration::ZERO))
}

fn int(conf: &Configuration, key: &str, default: u32) -> Result<u32, ConfError> {
    Ok(conf
        .get_int(key)?
        .map(|v| v.max(0) as u32)
        .unwrap_or(default))
}

/// `ZKUtil.resolveConfIndirection`: a value starting with `@` names a file holding it.
pub fn resolve_indirection(value: &str) -> Result<String, ZkfcConfError> {
    let value = value.trim();
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|source| ZkfcConfError::Indirection {
                path: path.to_string(),
                source,
            }),
        None => Ok(value.to_string()),
    }
}

/// `ZKUtil.parseACLs`: comma-separated `scheme:id:perm`, the id being everything between the
/// first and the last colon.
pub fn parse_acls(text: &str) -> Result<Vec<ZkAcl>, ZkfcConfError> {
    let mut acls = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            return Err(ZkfcConfError::AclForm(entry.to_string()));
        };
        if first == last {
            return Err(ZkfcConfError::AclForm(entry.to_string()));
        }
        let perm_text = &entry[last + 1..];
        let mut perms = 0;
        for c in perm_text.chars() {
            perms |= match c {
                'r' => 1,
                'w' => 2,
                'c' => 4,
                'd' => 8,
                'a' => 16,
                _ => {
                    return Err(ZkfcConfError::AclPermission {
                        perm: c,
                        perms: perm_text.to_string(),
                    });
                }
            };
        }
        acls.push(ZkAcl {
            scheme: entry[..first].to_string(),
            id: entry[first + 1..last].to_string(),
            perms,
        });
    }
    Ok(acls)
}

/// `ZKUtil.parseAuth`: comma-separated `scheme:auth`.
pub fn parse_auths(text: &str) -> Result<Vec<ZkAuth>, ZkfcConfError> {
    text.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((scheme, auth)) => Ok(ZkAuth {
                scheme: scheme.to_string(),
                auth: auth.as_bytes().to_vec(),
            }),
            None => Err(ZkfcConfError::AuthForm(entry.to_string())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_and_auths_parse_like_zkutil() {
        assert_eq!(
            parse_acls("world:anyone:rwcda, digest:hdfs-zkfcs:vlUvLnd8MlacsE80rDuu6ONESbM=:rw")
                .unwrap(),
            vec![
                ZkAcl {
                    scheme: "world".into(),
                    id: "anyone".into(),
                    perms: 31
                },
                ZkAcl {
                    scheme: "digest".into(),
                    id: "hdfs-zkfcs:vlUvLnd8MlacsE80rDuu6ONESbM=".into(),
                    perms: 3
                },
            ]
        );
        assert_eq!(
            parse_acls("world:anyone").unwrap_err().to_string(),
            "ACL 'world:anyone' not of expected form scheme:id:perm"
        );
        assert_eq!(
            parse_acls("world:anyone:rwx").unwrap_err().to_string(),
            "Invalid permission 'x' in permission string 'rwx'"
        );
        assert!(parse_acls("").unwrap().is_empty());
        assert_eq!(
            parse_auths("digest:hdfs-zkfcs:mypassword").unwrap(),
            vec![ZkAuth {
                scheme: "digest".into(),
                auth: b"hdfs-zkfcs:mypassword".to_vec()
            }]
        );
        assert_eq!(
            parse_auths("nocolon").unwrap_err().to_string(),
            "Auth 'nocolon' not of expected form scheme:auth"
        );
    }

    #[test]
    fn values_can_live_in_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zk-acl.txt");
        std::fs::write(&file, "digest:u:p\n").unwrap();
        assert_eq!(
            resolve_indirection(&format!("@{}", file.display())).unwrap(),
            "digest:u:p"
        );
        assert!(
            resolve_indirection("@/nonexistent/file")
                .unwrap_err()
                .to_string()
                .starts_with("Unable to read /nonexistent/file")
        );
    }

    #[test]
    fn zookeeper_settings_are_scoped_per_namenode() {
        let mut c = Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:8020"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
            ("ha.zookeeper.quorum", "zk1:2181"),
            ("ha.zookeeper.session-timeout.ms.ns1.nn2", "5000"),
            ("ha.zookeeper.parent-znode", "/custom/"),
            ("dfs.ha.automatic-failover.enabled", "true"),
            ("dfs.ha.fencing.methods", "shell(true)"),
        ]);
        let local = NnTarget::resolve(&c, "ns1", "nn2").unwrap();
        let zkfc = ZkfcConf::from_conf(local, &c).unwrap();
        assert_eq!(zkfc.zk.session_timeout, Duration::from_millis(5000));
        assert_eq!(zkfc.zk.parent_znode, "/custom/ns1");
        assert_eq!(zkfc.zk.acls[0].perms, 31);
        assert_eq!(zkfc.others.len(), 1);
        assert_eq!(zkfc.others[0].namenode_id, "nn1");
        assert_eq!(zkfc.rpc_bind.to_string(), "127.0.0.2:8019");
        assert_eq!(zkfc.timeouts.graceful_fence, Duration::from_millis(5000));
        c.set("ha.zookeeper.acl", "");
        let settings = zk_settings(&c, "ns1").unwrap();
        assert_eq!(settings.acls[0].scheme, "auth");
        c.unset("ha.zookeeper.quorum");
        assert_eq!(
            zk_settings(&c, "ns1").unwrap_err().to_string(),
            "Missing required configuration 'ha.zookeeper.quorum' for ZooKeeper quorum"
        );
    }
}
