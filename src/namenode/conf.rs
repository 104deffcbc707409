//! `NameNodeConf`: what one NameNode runs with, read once from the configuration with the
//! NameNode's scoped keys (`key.<ns>.<nn>`) promoted, as Hadoop's `initializeGenericKeys` does.

use std::path::PathBuf;
use std::time::Duration;

use super::namespace::Limits;
use crate::conf::ha::{self, LocalNameNode};
use crate::conf::{ConfError, Configuration, HostPort, QjournalUri, TimeUnit};
use crate::ipc::frame::DEFAULT_MAX_DATA_LENGTH;
use crate::qjm::QjmConf;

/// The layout version this NameNode writes (Hadoop 3.3's NameNode layout version).
pub const LAYOUT_VERSION: i32 = -66;

/// Another NameNode of the same nameservice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerNameNode {
    pub namenode_id: String,
    pub rpc_address: HostPort,
    pub http_address: Option<HostPort>,
}

/// The defaults a client asks for (`getServerDefaults`), from the NameNode's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDefaults {
    /// `dfs.blocksize`.
    pub block_size: u64,
    /// `dfs.bytes-per-checksum`.
    pub bytes_per_checksum: u32,
    /// `dfs.client-write-packet-size`.
    pub write_packet_size: u32,
    /// `dfs.replication`.
    pub replication: u32,
    /// `io.file.buffer.size`.
    pub file_buffer_size: u32,
    /// `fs.trash.interval`, in minutes.
    pub trash_interval: u64,
}

impl ServerDefaults {
    fn from_conf(conf: &Configuration) -> Result<ServerDefaults, ConfError> {
        let number = |key: &str, default: i64| -> Result<u64, ConfError> {
            Ok(conf.get_size(key)?.unwrap_or(default).max(0) as u64)
        };
        let small = |key: &str, default: i64| -> Result<u32, ConfError> {
            Ok(u32::try_from(number(key, default)?).unwrap_or(u32::MAX))
        };
        Ok(ServerDefaults {
            block_size: number("dfs.blocksize", 134_217_728)?,
            bytes_per_checksum: small("dfs.bytes-per-checksum", 512)?,
            write_packet_size: small("dfs.client-write-packet-size", 65_536)?,
            replication: small("dfs.replication", 3)?,
            file_buffer_size: small("io.file.buffer.size", 4096)?,
            trash_interval: number("fs.trash.interval", 0)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NameNodeConf {
    pub nameservice_id: String,
    pub namenode_id: String,
    /// Where the RPC services listen (`dfs.namenode.rpc-address`, host replaced by
    /// `dfs.namenode.rpc-bind-host` when set).
    pub rpc_bind: HostPort,
    /// The RPC address as configured (what other nodes and messages use).
    pub rpc_address: HostPort,
    /// Where the service RPC server listens, when `dfs.namenode.servicerpc-address` is set
    /// (host replaced by `dfs.namenode.servicerpc-bind-host`): the address ZKFCs and the other
    /// NameNode use then. It serves the same protocols as the RPC port.
    pub service_rpc_bind: Option<HostPort>,
    pub http_address: HostPort,
    /// `dfs.namenode.name.dir`.
    pub name_dirs: Vec<PathBuf>,
    /// `dfs.namenode.edits.dir` (local directories only; default: the name directories).
    pub edits_dirs: Vec<PathBuf>,
    /// `dfs.namenode.shared.edits.dir`.
    pub shared_edits: QjournalUri,
    pub automatic_failover: bool,
    pub peers: Vec<PeerNameNode>,
    pub qjm: QjmConf,
    /// `dfs.ha.tail-edits.period`.
    pub tail_period: Duration,
    /// `dfs.ha.tail-edits.period.backoff-max` (zero: no backoff).
    pub tail_backoff_max: Duration,
    /// `dfs.namenode.checkpoint.txns` / `.period`.
    pub checkpoint_txns: u64,
    pub checkpoint_period: Duration,
    /// The active rolls its segment after this many edits
    /// (`dfs.namenode.edit.log.autoroll.multiplier.threshold` × `dfs.namenode.checkpoint.txns`).
    pub autoroll_txns: u64,
    /// Whether the standby checkpoints (`dfs.ha.standby.checkpoints`).
    pub standby_checkpoints: bool,
    pub checkpoints_retained: usize,
    /// Edits kept beyond the oldest retained image (`dfs.namenode.num.extra.edits.retained`).
    pub extra_edits_retained: u64,
    pub retry_cache_expiry: Duration,
    /// `ipc.maximum.data.length`: the longest client request frame the RPC port reads.
    pub ipc_max_data_length: usize,
    /// The superuser group (`dfs.permissions.superusergroup`).
    pub supergroup: String,
    /// `dfs.permissions.enabled`: whether calls are checked against inode permissions.
    pub permissions_enabled: bool,
    /// `hadoop.security.groups.cache.secs`: how long a user's groups are kept.
    pub groups_cache: Duration,
    /// What `getServerDefaults` answers.
    pub server_defaults: ServerDefaults,
    /// `dfs.namenode.fs-limits.max-component-length` and `.max-directory-items`.
    pub limits: Limits,
    /// `dfs.ls.limit`: the most entries one `getListing` answer carries.
    pub ls_limit: usize,
    /// `dfs.namenode.replication.min` and `dfs.replication.max`: the replication a file may
    /// be given.
    pub replication_range: (u32, u32),
    /// `dfs.namenode.support.allow.format`, `dfs.reformat.disabled`.
    pub allow_format: bool,
    pub reformat_disabled: bool,
    /// The configuration as this NameNode sees it (for tools that need more).
    pub conf: Configuration,
}

impl NameNodeConf {
    /// Which NameNode this is, with Hadoop's messages when it cannot tell.
    pub fn identify(conf: &Configuration) -> Result<(String, String), ConfError> {
        let LocalNameNode {
            nameservice_id,
            namenode_id,
        } = ha::local_namenode(conf)?;
        let Some(ns) = nameservice_id else {
            return Err(ConfError::Ha(
                "HA is not enabled for this namenode.".to_string(),
            ));
        };
        if !ha::is_ha_enabled(conf, &ns)? {
            return Err(ConfError::Ha(
                "HA is not enabled for this namenode.".to_string(),
            ));
        }
        let Some(nn) = namenode_id else {
            return Err(ConfError::Ha(format!(
                "Could not determine own NN ID in namespace '{ns}'. Please ensure that this node is one of the machines listed as an NN RPC address, or configure dfs.ha.namenode.id"
            )));
        };
        if !ha::namenode_ids(conf, &ns)?.contains(&nn) {
            return Err(ConfError::Ha(format!(
                "Unable to determine service address for namenode '{nn}'"
            )));
        }
        Ok((ns, nn))
    }

    pub fn from_conf(conf: &Configuration) -> Result<NameNodeConf, ConfError> {
        let (ns, nn) = Self::identify(conf)?;
        let mine = ha::for_namenode(conf, Some(&ns), Some(&nn))?;
        let rpc_address = mine
            .get_host_port(
                "dfs.namenode.rpc-address",
                Some(ha::DEFAULT_NAMENODE_RPC_PORT),
            )?
            .ok_or_else(|| ConfError::Missing {
                key: format!("dfs.namenode.rpc-address.{ns}.{nn}"),
            })?;
        let mut rpc_bind = rpc_address.clone();
        if let Some(host) = mine
            .get_trimmed("dfs.namenode.rpc-bind-host")?
            .filter(|h| !h.is_empty())
        {
            rpc_bind.host = host;
        }
        let mut service_rpc_bind = mine.get_host_port(
            "dfs.namenode.servicerpc-address",
            Some(ha::DEFAULT_NAMENODE_RPC_PORT),
        )?;
        if let Some(bind) = &mut service_rpc_bind
            && let Some(host) = mine
                .get_trimmed("dfs.namenode.servicerpc-bind-host")?
                .filter(|h| !h.is_empty())
        {
            bind.host = host;
        }
        let http_address = mine
            .get_host_port("dfs.namenode.http-address", Some(9870))?
            .unwrap_or_else(|| HostPort::new("0.0.0.0", 9870));
        let name_dirs: Vec<PathBuf> = mine
            .get_trimmed_strings("dfs.namenode.name.dir")?
            .iter()
            .map(|d| PathBuf::from(d.strip_prefix("file://").unwrap_or(d)))
            .collect();
        if name_dirs.is_empty() {
            return Err(ConfError::Missing {
                key: "dfs.namenode.name.dir".to_string(),
            });
        }
        let edits_dirs =
            super::local_edits::edits_dirs(&mine.get_trimmed_strings("dfs.namenode.edits.dir")?);
        let shared_edits = ha::shared_edits(&mine, None, None)?.ok_or_else(|| {
            ConfError::Ha("Shared edits storage is not enabled for this namenode.".to_string())
        })?;
        let mut peers = Vec::new();
        for other in ha::namenode_ids(conf, &ns)? {
            if other == nn {
                continue;
            }
            let rpc =
                ha::namenode_rpc_address(conf, Some(&ns), Some(&other))?.ok_or_else(|| {
                    ConfError::Missing {
                        key: format!("dfs.namenode.rpc-address.{ns}.{other}"),
                    }
                })?;
            peers.push(PeerNameNode {
                namenode_id: other.clone(),
                rpc_address: rpc,
                http_address: ha::namenode_http_address(conf, Some(&ns), Some(&other))?,
            });
        }
        let duration = |key: &str, unit| mine.get_duration(key, unit);
        let checkpoint_txns = mine
            .get_long("dfs.namenode.checkpoint.txns")?
            .unwrap_or(1_000_000)
            .max(1) as u64;
        let multiplier_key = "dfs.namenode.edit.log.autoroll.multiplier.threshold";
        let multiplier = match mine.get_trimmed(multiplier_key)? {
            Some(v) if !v.is_empty() => v
                .parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && *m > 0.0)
                .ok_or_else(|| ConfError::Invalid {
                    key: multiplier_key.to_string(),
                    value: v.clone(),
                    reason: "not a positive number".to_string(),
                })?,
            _ => 0.5,
        };
        let tail_backoff_max = mine
            .get_time_duration("dfs.ha.tail-edits.period.backoff-max", TimeUnit::Seconds)?
            .and_then(|d| d.to_std())
            .unwrap_or_default();
        Ok(NameNodeConf {
            nameservice_id: ns.clone(),
            namenode_id: nn,
            rpc_bind,
            rpc_address,
            service_rpc_bind,
            http_address,
            name_dirs,
            edits_dirs,
            shared_edits,
            automatic_failover: ha::automatic_failover_enabled(conf, Some(&ns))?,
            peers,
            qjm: QjmConf::from_conf(&mine)?,
            tail_period: duration("dfs.ha.tail-edits.period", TimeUnit::Seconds)?,
            tail_backoff_max,
            checkpoint_txns,
            autoroll_txns: ((checkpoint_txns as f64 * multiplier) as u64).max(2),
            checkpoint_period: duration("dfs.namenode.checkpoint.period", TimeUnit::Seconds)?,
            standby_checkpoints: mine.get_bool("dfs.ha.standby.checkpoints", true)?,
            checkpoints_retained: mine
                .get_int("dfs.namenode.num.checkpoints.retained")?
                .unwrap_or(2)
                .max(1) as usize,
            extra_edits_retained: mine
                .get_long("dfs.namenode.num.extra.edits.retained")?
                .unwrap_or(1_000_000)
                .max(0) as u64,
            retry_cache_expiry: duration(
                "dfs.namenode.retrycache.expirytime.millis",
                TimeUnit::Milliseconds,
            )?,
            ipc_max_data_length: mine
                .get_int("ipc.maximum.data.length")?
                .map_or(DEFAULT_MAX_DATA_LENGTH, |n| n.max(0) as usize),
            supergroup: mine
                .get_trimmed("dfs.permissions.superusergroup")?
                .unwrap_or_else(|| "supergroup".to_string()),
            permissions_enabled: mine.get_bool("dfs.permissions.enabled", true)?,
            groups_cache: Duration::from_secs(
                mine.get_long("hadoop.security.groups.cache.secs")?
                    .unwrap_or(300)
                    .max(0) as u64,
            ),
            server_defaults: ServerDefaults::from_conf(&mine)?,
            limits: Limits {
                max_component_length: mine
                    .get_int("dfs.namenode.fs-limits.max-component-length")?
                    .unwrap_or(255)
                    .max(0) as usize,
                max_directory_items: mine
                    .get_int("dfs.namenode.fs-limits.max-directory-items")?
                    .unwrap_or(1024 * 1024)
                    .max(1) as usize,
            },
            ls_limit: mine.get_int("dfs.ls.limit")?.unwrap_or(1000).max(1) as usize,
            replication_range: (
                mine.get_int("dfs.namenode.replication.min")?
                    .unwrap_or(1)
                    .max(0) as u32,
                mine.get_int("dfs.replication.max")?.unwrap_or(512).max(0) as u32,
            ),
            allow_format: mine.get_bool("dfs.namenode.support.allow.format", true)?,
            reformat_disabled: mine.get_bool("dfs.reformat.disabled", false)?,
            conf: mine,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Configuration {
        Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:8020"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
            ("dfs.namenode.http-address.ns1.nn2", "127.0.0.2:9870"),
            ("dfs.namenode.name.dir.ns1.nn2", "file:///data/nn2"),
            (
                "dfs.namenode.shared.edits.dir",
                "qjournal://j1:8485;j2:8485;j3:8485/ns1",
            ),
            ("dfs.ha.automatic-failover.enabled.ns1", "true"),
        ])
    }

    #[test]
    fn reads_the_namenodes_scoped_keys() {
        let mut c = base();
        c.set("dfs.ha.namenode.id", "nn2");
        let nn = NameNodeConf::from_conf(&c).unwrap();
        assert_eq!(
            (nn.nameservice_id.as_str(), nn.namenode_id.as_str()),
            ("ns1", "nn2")
        );
        assert_eq!(nn.rpc_address, HostPort::new("127.0.0.2", 8020));
        assert_eq!(nn.http_address, HostPort::new("127.0.0.2", 9870));
        assert_eq!(nn.name_dirs, vec![PathBuf::from("/data/nn2")]);
        assert_eq!(nn.shared_edits.journal_nodes.len(), 3);
        assert!(nn.automatic_failover);
        assert_eq!(nn.peers.len(), 1);
        assert_eq!(nn.peers[0].namenode_id, "nn1");
        assert_eq!(nn.tail_period, Duration::from_secs(60));
        assert_eq!(nn.ipc_max_data_length, 64 << 20);
        c.set("ipc.maximum.data.length", "1024");
        assert_eq!(
            NameNodeConf::from_conf(&c).unwrap().ipc_max_data_length,
            1024
        );
    }

    #[test]
    fn hadoops_messages_when_the_namenode_cannot_tell_who_it_is() {
        // Both addresses are local: the id must be configured.
        let err = NameNodeConf::from_conf(&base()).unwrap_err().to_string();
        assert!(
            err.starts_with("Configuration has multiple addresses that match"),
            "{err}"
        );
        let mut c = base();
        c.set("dfs.ha.namenode.id", "nn9");
        assert_eq!(
            NameNodeConf::from_conf(&c).unwrap_err().to_string(),
            "Unable to determine service address for namenode 'nn9'"
        );
        let mut c = Configuration::new();
        c.set("dfs.namenode.rpc-address", "127.0.0.1:8020");
        assert_eq!(
            NameNodeConf::from_conf(&c).unwrap_err().to_string(),
            "HA is not enabled for this namenode."
        );
        let mut c = base();
        c.set("dfs.ha.namenode.id", "nn1");
        c.unset("dfs.namenode.shared.edits.dir");
        assert_eq!(
            NameNodeConf::from_conf(&c).unwrap_err().to_string(),
            "Shared edits storage is not enabled for this namenode."
        );
    }
}
