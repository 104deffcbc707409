//! `NnTarget`: one NameNode as the ZKFC and `hdfs haadmin` address it (Hadoop's
//! `NNHAServiceTarget`): its RPC address, its ZKFC's address, whether automatic failover is on
//! for it, its fencing methods, and the configuration scoped to it — plus the `ActiveNodeInfo`
//! record (HAZKInfo.proto) that names it in ZooKeeper.

use std::fmt;
use std::net::{IpAddr, ToSocketAddrs};

use prost::Message;

use crate::conf::ha::{self, DEFAULT_NAMENODE_RPC_PORT};
use crate::conf::{ConfError, Configuration, FenceMethod, HostPort};
use crate::proto::hazkinfo::ActiveNodeInfo;

/// Why a NameNode cannot be addressed, fenced or recognised, in Hadoop's words
/// (`NNHAServiceTarget`, `checkFencingConfigured`, `DFSZKFailoverController.dataToTarget`).
/// `Clone` and `Eq`, as the ZKFC core's inputs are: a target keeps its fencing error until
/// someone needs a fencer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("Unable to determine service address for namenode '{0}'")]
    UnknownNameNode(String),

    #[error("invalid dfs.ha.zkfc.port for {namenode}: {port}")]
    ZkfcPort { namenode: String, port: i32 },

    /// No fencing method configured; names the target (`NameNode at host/ip:port`).
    #[error("No fencer configured for {0}")]
    NoFencer(String),

    /// A lock or breadcrumb that is not an `ActiveNodeInfo`; the data in hex.
    #[error("Invalid data in ZK: {0}")]
    InvalidZkData(String),

    #[error(
        "Mismatched address stored in ZK for {target}: Stored protobuf was {stored}, address from our own configuration for this NameNode was {configured}"
    )]
    MismatchedAddress {
        target: String,
        stored: String,
        configured: String,
    },

    /// The configuration itself, as [`ConfError`] renders it (which names the file, key or
    /// value; kept as text because a `ConfError` may carry an `io::Error`).
    #[error("{0}")]
    Conf(String),
}

impl From<ConfError> for TargetError {
    fn from(err: ConfError) -> Self {
        TargetError::Conf(err.to_string())
    }
}

/// `dfs.ha.zkfc.port` when not set.
pub const DEFAULT_ZKFC_PORT: u16 = 8019;

/// One NameNode of a nameservice.
#[derive(Debug, Clone)]
pub struct NnTarget {
    pub nameservice_id: String,
    pub namenode_id: String,
    /// The service RPC address (`dfs.namenode.servicerpc-address`, else
    /// `dfs.namenode.rpc-address`): where HAServiceProtocol is served.
    pub address: HostPort,
    /// `address`'s host resolved, when it resolves.
    pub ip: Option<IpAddr>,
    /// The ZKFC beside this NameNode: its RPC host and `dfs.ha.zkfc.port`.
    pub zkfc_address: HostPort,
    /// Where health checks go: `dfs.namenode.lifeline.rpc-address` when set, else `address`.
    pub health_address: HostPort,
    /// `dfs.ha.automatic-failover.enabled` for its nameservice.
    pub auto_failover: bool,
    /// The fencing methods configured for it, or the configuration error (kept, as Hadoop
    /// keeps it, until someone needs a fencer).
    pub fencing: Result<Vec<FenceMethod>, TargetError>,
    /// The configuration as this NameNode sees it (its scoped keys promoted); fencing scripts
    /// get it as their environment.
    pub conf: Configuration,
}

impl NnTarget {
    /// The NameNode `namenode` of `nameservice` in `conf`, with Hadoop's messages for an
    /// unknown id.
    pub fn resolve(
        conf: &Configuration,
        nameservice: &str,
        namenode: &str,
    ) -> Result<NnTarget, TargetError> {
        let unknown = || TargetError::UnknownNameNode(namenode.to_string());
        let known = ha::namenode_ids(conf, nameservice)?;
        if !known.iter().any(|id| id == namenode) {
            return Err(unknown());
        }
        let mine = ha::for_namenode(conf, Some(nameservice), Some(namenode))?;
        let address = first_address(
            &mine,
            &[
                "dfs.namenode.servicerpc-address",
                "dfs.namenode.rpc-address",
            ],
        )?
        .ok_or_else(unknown)?;
        let health_address = first_address(&mine, &["dfs.namenode.lifeline.rpc-address"])?
            .unwrap_or_else(|| address.clone());
        let zkfc_port = match mine.get_int("dfs.ha.zkfc.port")? {
            Some(port) => u16::try_from(port).map_err(|_| TargetError::ZkfcPort {
                namenode: namenode.to_string(),
                port,
            })?,
            None => DEFAULT_ZKFC_PORT,
        };
        let auto_failover = mine.get_bool("dfs.ha.automatic-failover.enabled", false)?;
        let fencing = ha::fencing_methods(&mine, None, None).map_err(TargetError::from);
        let ip = address.resolve().ok().map(|a| a.ip());
        Ok(NnTarget {
            nameservice_id: nameservice.to_string(),
            namenode_id: namenode.to_string(),
            zkfc_address: HostPort::new(address.host.clone(), zkfc_port),
            ip,
            address,
            health_address,
            auto_failover,
            fencing,
            conf: mine,
        })
    }

    /// Every NameNode of the nameservice, in configuration order.
    pub fn all(conf: &Configuration, nameservice: &str) -> Result<Vec<NnTarget>, TargetError> {
        ha::namenode_ids(conf, nameservice)?
            .iter()
            .map(|nn| NnTarget::resolve(conf, nameservice, nn))
            .collect()
    }

    /// Java's `InetSocketAddress.toString()` of the address: `host/ip:port`.
    pub fn socket_address(&self) -> String {
        match self.ip {
            Some(ip) => format!("{}/{ip}:{}", self.address.host, self.address.port),
            None => format!("{}/<unresolved>:{}", self.address.host, self.address.port),
        }
    }

    /// Whether two targets are the same NameNode (same resolved address and port).
    pub fn same_address(&self, other: &NnTarget) -> bool {
        self.address.port == other.address.port
            && match (self.ip, other.ip) {
                (Some(a), Some(b)) => a == b,
                _ => self.address.host == other.address.host,
            }
    }

    /// The fencing methods, or why there are none (`checkFencingConfigured`).
    pub fn fence_methods(&self) -> Result<&[FenceMethod], TargetError> {
        match &self.fencing {
            Err(e) => Err(e.clone()),
            Ok(methods) if methods.is_empty() => Err(TargetError::NoFencer(self.to_string())),
            Ok(methods) => Ok(methods),
        }
    }

    /// `HAServiceTarget.getFencingParameters` (without the `target_` prefix).
    pub fn fencing_parameters(&self) -> Vec<(String, String)> {
        vec![
            ("address".to_string(), self.socket_address()),
            ("host".to_string(), self.address.host.clone()),
            ("port".to_string(), self.address.port.to_string()),
            ("nameserviceid".to_string(), self.nameservice_id.clone()),
            ("namenodeid".to_string(), self.namenode_id.clone()),
        ]
    }

    /// This NameNode's `ActiveNodeInfo`, serialized as Hadoop's ZKFC writes it: the host is
    /// `InetSocketAddress.getHostName()` of the configured address, so an IP literal is
    /// written under the name the resolver gives it (`127.0.0.1` as `localhost`).
    pub fn to_active_node_info(&self) -> Vec<u8> {
        ActiveNodeInfo {
            nameservice_id: self.nameservice_id.clone(),
            namenode_id: self.namenode_id.clone(),
            hostname: crate::host::display_host(&self.address.host),
            port: i32::from(self.address.port),
            zkfc_port: i32::from(self.zkfc_address.port),
        }
        .encode_to_vec()
    }

    /// The NameNode a lock or breadcrumb names, rebuilt from *our* configuration (Hadoop's
    /// `DFSZKFailoverController.dataToTarget`): the stored address must be the one we have
    /// configured for that id; the stored ZKFC port is taken as is.
    pub fn from_active_node_info(
        conf: &Configuration,
        data: &[u8],
    ) -> Result<NnTarget, TargetError> {
        let info = ActiveNodeInfo::decode(data)
            .map_err(|_| TargetError::InvalidZkData(super::elector::hex(data)))?;
        let mut target = NnTarget::resolve(conf, &info.nameservice_id, &info.namenode_id)?;
        let stored = HostPort::new(
            info.hostname.clone(),
            u16::try_from(info.port).unwrap_or(DEFAULT_NAMENODE_RPC_PORT),
        );
        // A name (`localhost`) may stand for several addresses: any of them will do.
        let stored_ips: Vec<IpAddr> = (stored.host.as_str(), stored.port)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let same = i32::from(target.address.port) == info.port
            && match target.ip {
                Some(ip) if !stored_ips.is_empty() => stored_ips.contains(&ip),
                _ => stored.host == target.address.host,
            };
        if !same {
            return Err(TargetError::MismatchedAddress {
                target: target.to_string(),
                stored: text_format(&info),
                configured: target.socket_address(),
            });
        }
        target.zkfc_address.port = u16::try_from(info.zkfc_port).unwrap_or(DEFAULT_ZKFC_PORT);
        Ok(target)
    }
}

impl fmt::Display for NnTarget {
    /// `NameNode at host/ip:port`, as Hadoop names a target in every message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameNode at {}", self.socket_address())
    }
}

fn first_address(conf: &Configuration, keys: &[&str]) -> Result<Option<HostPort>, ConfError> {
    for key in keys {
        if let Some(address) = conf.get_host_port(key, Some(DEFAULT_NAMENODE_RPC_PORT))? {
            return Ok(Some(address));
        }
    }
    Ok(None)
}

/// Protobuf's text format of the record, as Java's `toString()` of a message prints it.
pub fn text_format(info: &ActiveNodeInfo) -> String {
    format!(
        "nameserviceId: \"{}\"\nnamenodeId: \"{}\"\nhostname: \"{}\"\nport: {}\nzkfcPort: {}\n",
        info.nameservice_id, info.namenode_id, info.hostname, info.port, info.zkfc_port
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> Configuration {
        Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:8020"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8021"),
            ("dfs.ha.zkfc.port.ns1.nn2", "8029"),
            ("dfs.ha.fencing.methods", "shell(true)"),
            ("dfs.ha.fencing.methods.ns1.nn2", "foobar!"),
            ("dfs.ha.automatic-failover.enabled.ns1", "true"),
        ])
    }

    #[test]
    fn targets_follow_scoped_keys() {
        let c = conf();
        let nn1 = NnTarget::resolve(&c, "ns1", "nn1").unwrap();
        assert_eq!(nn1.to_string(), "NameNode at 127.0.0.1/127.0.0.1:8020");
        assert_eq!(nn1.zkfc_address, HostPort::new("127.0.0.1", 8019));
        assert!(nn1.auto_failover);
        assert_eq!(nn1.fence_methods().unwrap().len(), 1);
        let nn2 = NnTarget::resolve(&c, "ns1", "nn2").unwrap();
        assert_eq!(nn2.zkfc_address, HostPort::new("127.0.0.2", 8029));
        assert_eq!(
            nn2.fence_methods().unwrap_err().to_string(),
            "Unable to parse line: 'foobar!'"
        );
        assert_eq!(
            NnTarget::resolve(&c, "ns1", "nn9").unwrap_err().to_string(),
            "Unable to determine service address for namenode 'nn9'"
        );
        let mut bare = c.clone();
        bare.unset("dfs.ha.fencing.methods");
        let nn1 = NnTarget::resolve(&bare, "ns1", "nn1").unwrap();
        assert_eq!(
            nn1.fence_methods().unwrap_err().to_string(),
            "No fencer configured for NameNode at 127.0.0.1/127.0.0.1:8020"
        );
        assert_eq!(
            nn1.fencing_parameters(),
            vec![
                (
                    "address".to_string(),
                    "127.0.0.1/127.0.0.1:8020".to_string()
                ),
                ("host".to_string(), "127.0.0.1".to_string()),
                ("port".to_string(), "8020".to_string()),
                ("nameserviceid".to_string(), "ns1".to_string()),
                ("namenodeid".to_string(), "nn1".to_string()),
            ]
        );
    }

    #[test]
    fn active_node_info_is_hadoops_wire_format() {
        let c = conf();
        let nn1 = NnTarget::resolve(&c, "ns1", "nn1").unwrap();
        let data = nn1.to_active_node_info();
        // What Hadoop's HAZKInfoProtos.ActiveNodeInfo writes: fields 1-5 in order.
        let mut expected = vec![0x0a, 3];
        expected.extend_from_slice(b"ns1");
        expected.extend_from_slice(&[0x12, 3]);
        expected.extend_from_slice(b"nn1");
        // The host as Java's getHostName() names 127.0.0.1 on this machine (`localhost`
        // where /etc/hosts says so).
        let host = crate::host::display_host("127.0.0.1");
        expected.extend_from_slice(&[0x1a, host.len() as u8]);
        expected.extend_from_slice(host.as_bytes());
        expected.extend_from_slice(&[0x20, 0xd4, 0x3e, 0x28, 0xd3, 0x3e]);
        assert_eq!(data, expected);
        let back = NnTarget::from_active_node_info(&c, &data).unwrap();
        assert_eq!(back.namenode_id, "nn1");
        assert!(back.same_address(&nn1));
        // Zero values are still written (proto2 required fields).
        let zero = ActiveNodeInfo {
            nameservice_id: String::new(),
            namenode_id: String::new(),
            hostname: String::new(),
            port: 0,
            zkfc_port: 0,
        }
        .encode_to_vec();
        assert_eq!(zero, vec![0x0a, 0, 0x12, 0, 0x1a, 0, 0x20, 0, 0x28, 0]);
    }

    #[test]
    fn data_that_disagrees_with_our_configuration_is_refused() {
        let c = conf();
        let stored = ActiveNodeInfo {
            nameservice_id: "ns1".into(),
            namenode_id: "nn1".into(),
            hostname: "127.0.0.9".into(),
            port: 8020,
            zkfc_port: 8019,
        }
        .encode_to_vec();
        let err = NnTarget::from_active_node_info(&c, &stored).unwrap_err();
        assert!(matches!(err, TargetError::MismatchedAddress { .. }));
        assert_eq!(
            err.to_string(),
            "Mismatched address stored in ZK for NameNode at 127.0.0.1/127.0.0.1:8020: Stored protobuf was nameserviceId: \"ns1\"\nnamenodeId: \"nn1\"\nhostname: \"127.0.0.9\"\nport: 8020\nzkfcPort: 8019\n, address from our own configuration for this NameNode was 127.0.0.1/127.0.0.1:8020"
        );
        assert_eq!(
            NnTarget::from_active_node_info(&c, b"\xff\xff")
                .unwrap_err()
                .to_string(),
            "Invalid data in ZK: ffff"
        );
    }
}
