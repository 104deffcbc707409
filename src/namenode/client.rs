//! `DfsClient`: the NameNode client (Hadoop's `DFSClient` over ClientNamenodeProtocol), with
//! `ConfiguredFailoverProxyProvider`'s failover between the NameNodes of a nameservice and
//! `RetryInvocationHandler`'s policy, sleeps and log lines.
//!
//! Rules it keeps:
//! - one logical call keeps its call id (and this client's 16-byte id) across every retry and
//!   failover, so a NameNode's retry cache answers a retried mutation once;
//! - a call goes first to the NameNode that answered last;
//! - only a `StandbyException` or a connection failure fails over, and a
//!   `RetriableException` retries the same NameNode; any other remote exception is the answer;
//! - after `dfs.client.failover.max.attempts` failovers a call gives up with the last error.
//!
//! Calls go over Hadoop IPC ([`crate::ipc`]): one connection per NameNode, shared by every
//! call of this client, opened on first use and again after it breaks.
//!
//! Wire types stay in this file; callers see [`FileStatus`] and [`ClientError`].

use std::collections::HashSet;
use std::future::Future;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::namespace::FileStatus;
use super::protocol::{ClientProtocolClient, connection_context};
use crate::conf::{ConfError, Configuration, HostPort, ha};
use crate::host::current_user;
use crate::ipc::client::{CallError, Connection};
use crate::ipc::exception::{
    CallFailure, Unreachable, connect_timeout, connection_failure, qualified_class,
};
use crate::ipc::frame::DEFAULT_MAX_RESPONSE_LENGTH;
use crate::proto::hadoop_client as pb;
use crate::seeded::SeededRng;

/// Where failover log lines go (log4j's `%c{2}` of `org.apache.hadoop.io.retry.RetryInvocationHandler`).
const RETRY_LOG: &str = "retry.RetryInvocationHandler";

/// The block size of new files when `dfs.blocksize` is not set (hdfs-default.xml).
const DEFAULT_BLOCK_SIZE: u64 = 134_217_728;
/// `dfs.client.retry.max.attempts` when not set (hdfs-default.xml).
const DEFAULT_MAX_RETRIES: u32 = 10;

/// What went wrong with a call. `Display` is the message alone, as `hdfs dfs` prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The NameNode refused the call with a Hadoop exception (`class` is its simple name, as
    /// in the `exception-class` metadata: `StandbyException`, `FileNotFoundException`, …).
    #[error("{message}")]
    Remote { class: String, message: String },
    /// No answer: the NameNode could not be reached, or the connection broke during the call.
    /// `class` is the Java exception Hadoop's IPC client raises for the same failure.
    #[error("{message}")]
    Unreachable {
        class: &'static str,
        message: String,
    },
    /// The configuration or URI names no usable NameNode.
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    fn remote(class: &str, message: impl Into<String>) -> ClientError {
        ClientError::Remote {
            class: class.to_string(),
            message: message.into(),
        }
    }

    /// The exception's simple class name.
    pub fn class(&self) -> &str {
        match self {
            ClientError::Remote { class, .. } => class,
            ClientError::Unreachable { class, .. } => class.rsplit('.').next().unwrap_or(class),
            ClientError::Config(_) => "IllegalArgumentException",
        }
    }

    /// The exception as Java's `toString` shows it in Hadoop's log lines.
    pub fn java_string(&self) -> String {
        match self {
            ClientError::Remote { class, message } => format!(
                "org.apache.hadoop.ipc.RemoteException({}): {message}",
                qualified_class(class)
            ),
            ClientError::Unreachable { class, message } => format!("{class}: {message}"),
            ClientError::Config(message) => {
                format!("java.lang.IllegalArgumentException: {message}")
            }
        }
    }
}

impl From<Unreachable> for ClientError {
    fn from(err: Unreachable) -> ClientError {
        ClientError::Unreachable {
            class: err.class,
            message: err.message,
        }
    }
}

impl From<CallFailure> for ClientError {
    fn from(failure: CallFailure) -> ClientError {
        match failure {
            CallFailure::Remote(e) => ClientError::Remote {
                class: e.simple_class().to_string(),
                message: e.message,
            },
            CallFailure::Unreachable(e) => e.into(),
        }
    }
}

/// The client settings, read once from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfsClientConf {
    /// `dfs.client.failover.max.attempts`: failovers one call may make before it gives up.
    pub max_failovers: u32,
    /// `dfs.client.retry.max.attempts`: retries of one call on the same NameNode.
    pub max_retries: u32,
    /// `dfs.client.failover.sleep.base.millis`: the first backoff step.
    pub sleep_base: Duration,
    /// `dfs.client.failover.sleep.max.millis`: the backoff cap (before jitter).
    pub sleep_max: Duration,
    /// `ipc.client.connect.timeout`.
    pub connect_timeout: Duration,
    /// `ipc.maximum.response.length`: the longest answer read from a NameNode.
    pub max_response_length: usize,
    /// `dfs.blocksize`, given to new files.
    pub block_size: u64,
    /// Who calls (`$HADOOP_USER_NAME`, else the process user).
    pub user: String,
}

impl DfsClientConf {
    pub fn from_conf(conf: &Configuration) -> Result<DfsClientConf, ClientError> {
        let bad = |e: ConfError| ClientError::Config(e.to_string());
        let millis = |key: &str, default: i64| -> Result<Duration, ClientError> {
            let ms = conf.get_long(key).map_err(bad)?.unwrap_or(default);
            Ok(Duration::from_millis(ms.max(0) as u64))
        };
        let count = |key: &str, default: u32| -> Result<u32, ClientError> {
            let n = conf.get_int(key).map_err(bad)?;
            Ok(n.map_or(default, |n| n.max(0) as u32))
        };
        let block_size = conf
            .get_size("dfs.blocksize")
            .map_err(bad)?
            .map_or(DEFAULT_BLOCK_SIZE, |b| b.max(0) as u64);
        Ok(DfsClientConf {
            max_failovers: count("dfs.client.failover.max.attempts", 15)?,
            max_retries: count("dfs.client.retry.max.attempts", DEFAULT_MAX_RETRIES)?,
            sleep_base: millis("dfs.client.failover.sleep.base.millis", 500)?,
            sleep_max: millis("dfs.client.failover.sleep.max.millis", 15_000)?,
            connect_timeout: millis("ipc.client.connect.timeout", 20_000)?,
            max_response_length: conf
                .get_int("ipc.maximum.response.length")
                .map_err(bad)?
                .map_or(DEFAULT_MAX_RESPONSE_LENGTH, |n| n.max(0) as usize),
            block_size,
            user: current_user(),
        })
    }
}

/// Hadoop's `RetryPolicies.getFailoverOrRetrySleepTime`: no sleep before the first failover,
/// then `min(base · 2^n, max)` scaled by `0.5 + random` (`random` in [0, 1)).
pub fn failover_sleep(failovers: u32, base: Duration, max: Duration, random: f64) -> Duration {
    if failovers == 0 {
        return Duration::ZERO;
    }
    let factor = if failovers >= 63 {
        u64::MAX
    } else {
        1u64 << failovers
    };
    let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    let cap_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    let capped = base_ms.saturating_mul(factor).min(cap_ms);
    Duration::from_millis((capped as f64 * (0.5 + random)) as u64)
}

/// One NameNode the client may talk to.
struct NameNodeTarget {
    /// How log lines name it: `nn1/127.0.0.1:8020` (just the address without HA).
    description: String,
    address: HostPort,
    /// The open connection, if any; dropped when it breaks so the next call reconnects.
    connection: Mutex<Option<Arc<Connection>>>,
    /// Held while connecting, so that concurrent calls open one connection, not one each.
    connecting: tokio::sync::Mutex<()>,
}

impl NameNodeTarget {
    fn open_connection(&self) -> Option<Arc<Connection>> {
        self.connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|c| !c.is_closed())
    }

    /// Forgets `broken` (and only it: another call may have reconnected already).
    fn forget(&self, broken: &Arc<Connection>) {
        let mut cached = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if cached.as_ref().is_some_and(|c| Arc::ptr_eq(c, broken)) {
            *cached = None;
        }
    }
}

/// What the retry policy decides after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryDecision {
    Fail,
    Failover,
    Retry,
}

/// A client of one filesystem (`hdfs://<nameservice>` or `hdfs://host:port`).
pub struct DfsClient {
    uri: String,
    namenodes: Vec<NameNodeTarget>,
    /// Whether this is a nameservice of several NameNodes (only then does a call fail over).
    ha: bool,
    conf: DfsClientConf,
    /// The NameNode the next call tries first: the one that answered last.
    current: AtomicUsize,
    /// Hadoop's `ClientId`: names this client to every NameNode's retry cache.
    client_id: [u8; 16],
    /// The id of the next logical call; a retried or failed-over call keeps its id.
    next_call_id: AtomicI32,
    /// The name files are written under (`DFSClient_NONMAPREDUCE_<random>_<thread>`, as
    /// Hadoop's DFSClient names itself).
    client_name: String,
    rng: Mutex<SeededRng>,
    /// Whether any call has succeeded (then even a first failure is logged at INFO).
    has_successful_call: AtomicBool,
    /// NameNodes (by index) that failed a call at least once; the first failure at each is
    /// logged at DEBUG until a call succeeds, as Hadoop does.
    failed_at_least_once: Mutex<HashSet<usize>>,
}

impl std::fmt::Debug for DfsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DfsClient")
            .field("uri", &self.uri)
            .field("namenodes", &self.namenodes())
            .finish()
    }
}

/// The authority of an `hdfs://` URI.
fn hdfs_authority(fs_uri: &str) -> Result<&str, ClientError> {
    let trimmed = fs_uri.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| ClientError::Config(format!("No FileSystem for scheme \"{trimmed}\"")))?;
    if !scheme.eq_ignore_ascii_case("hdfs") {
        return Err(ClientError::Config(format!(
            "No FileSystem for scheme \"{scheme}\""
        )));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(ClientError::Config(format!(
            "Incomplete HDFS URI, no host: {trimmed}"
        )));
    }
    Ok(authority)
}

impl DfsClient {
    /// A client of `fs_uri`: `hdfs://<nameservice>` uses the nameservice's NameNodes in
    /// configuration order (shuffled with `dfs.client.failover.random.order`);
    /// `hdfs://host[:port]` talks to that one NameNode.
    pub fn new(conf: &Configuration, fs_uri: &str) -> Result<DfsClient, ClientError> {
        let client_conf = DfsClientConf::from_conf(conf)?;
        let bad = |e: ConfError| ClientError::Config(e.to_string());
        let authority = hdfs_authority(fs_uri)?;
        let uri = format!("hdfs://{authority}");
        let mut rng = SeededRng::from_entropy();
        let nameservices = conf.get_trimmed_strings("dfs.nameservices").map_err(bad)?;
        let (mut namenodes, ha) = if nameservices.iter().any(|ns| ns == authority) {
            let ns = authority;
            let ids = ha::namenode_ids(conf, ns).map_err(bad)?;
            let mut found = Vec::new();
            if ids.is_empty() {
                if let Some(address) =
                    ha::namenode_rpc_address(conf, Some(ns), None).map_err(bad)?
                {
                    found.push((address.to_string(), address));
                }
            } else {
                for nn in &ids {
                    if let Some(address) =
                        ha::namenode_rpc_address(conf, Some(ns), Some(nn)).map_err(bad)?
                    {
                        found.push((format!("{nn}/{address}"), address));
                    }
                }
            }
            if found.is_empty() {
                return Err(ClientError::Config(format!(
                    "Could not find any configured addresses for URI {uri}"
                )));
            }
            let ha = found.len() > 1;
            (found, ha)
        } else {
            let address = HostPort::parse(authority, Some(ha::DEFAULT_NAMENODE_RPC_PORT))
                .map_err(ClientError::Config)?;
            if address.resolve().is_err() {
                return Err(ClientError::Config(format!(
                    "java.net.UnknownHostException: {}",
                    address.host
                )));
            }
            (vec![(address.to_string(), address)], false)
        };
        let random_order_key = conf.scoped_key("dfs.client.failover.random.order", &[authority]);
        if ha && conf.get_bool(&random_order_key, false).map_err(bad)? {
            for i in (1..namenodes.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                namenodes.swap(i, j);
            }
        }
        let mut client_id = [0u8; 16];
        client_id[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        client_id[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let client_name = format!("DFSClient_NONMAPREDUCE_{}_1", rng.next_u64() as i32);
        Ok(DfsClient {
            uri,
            namenodes: namenodes
                .into_iter()
                .map(|(description, address)| NameNodeTarget {
                    description,
                    address,
                    connection: Mutex::new(None),
                    connecting: tokio::sync::Mutex::new(()),
                })
                .collect(),
            ha,
            conf: client_conf,
            current: AtomicUsize::new(0),
            client_id,
            next_call_id: AtomicI32::new(0),
            client_name,
            rng: Mutex::new(rng),
            has_successful_call: AtomicBool::new(false),
            failed_at_least_once: Mutex::new(HashSet::new()),
        })
    }

    /// `hdfs://<authority>` of this filesystem.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The NameNodes in the order calls fail over between them (`nn1/host:port`).
    pub fn namenodes(&self) -> Vec<String> {
        self.namenodes
            .iter()
            .map(|t| t.description.clone())
            .collect()
    }

    /// This client's id, as the retry cache sees it.
    pub fn client_id(&self) -> &[u8; 16] {
        &self.client_id
    }

    /// The user calls are made as.
    pub fn user(&self) -> &str {
        &self.conf.user
    }

    /// Creates a directory (and its missing parents when `create_parent`).
    pub async fn mkdirs(
        &self,
        path: &str,
        permission: u16,
        create_parent: bool,
    ) -> Result<bool, ClientError> {
        let request = &pb::MkdirsRequestProto {
            src: path.to_string(),
            masked: permission_proto(permission),
            create_parent,
            unmasked: None,
        };
        let response = self
            .invoke("mkdirs", |c| async move { c.mkdirs(request).await })
            .await?;
        Ok(response.result)
    }

    /// Creates (or with `overwrite` replaces) a file and writes `length` bytes to it, as
    /// DFSClient does: `create`, then a block for the data (`addBlock`, which a NameNode
    /// without DataNodes refuses), then `complete`.
    pub async fn create(
        &self,
        path: &str,
        permission: u16,
        overwrite: bool,
        create_parent: bool,
        replication: u16,
        length: u64,
    ) -> Result<FileStatus, ClientError> {
        let flags = if overwrite {
            CREATE_FLAG_CREATE | CREATE_FLAG_OVERWRITE
        } else {
            CREATE_FLAG_CREATE
        };
        let request = &pb::CreateRequestProto {
            src: path.to_string(),
            masked: permission_proto(permission),
            client_name: self.client_name.clone(),
            create_flag: flags,
            create_parent,
            replication: u32::from(replication),
            block_size: self.conf.block_size,
            crypto_protocol_version: vec![pb::CryptoProtocolVersionProto::EncryptionZones as i32],
            unmasked: None,
            ec_policy_name: None,
            storage_policy: None,
        };
        let response = self
            .invoke("create", |c| async move { c.create(request).await })
            .await?;
        let status = status_of(response.fs, path)?;
        if length > 0 {
            let request = &pb::AddBlockRequestProto {
                src: path.to_string(),
                client_name: self.client_name.clone(),
                file_id: Some(0),
                ..Default::default()
            };
            self.invoke("addBlock", |c| async move { c.add_block(request).await })
                .await?;
        }
        let request = &pb::CompleteRequestProto {
            src: path.to_string(),
            client_name: self.client_name.clone(),
            last: None,
            file_id: Some(0),
        };
        self.invoke("complete", |c| async move { c.complete(request).await })
            .await?;
        Ok(status)
    }

    /// Deletes a path; `false` when there was nothing to delete.
    pub async fn delete(&self, path: &str, recursive: bool) -> Result<bool, ClientError> {
        let request = &pb::DeleteRequestProto {
            src: path.to_string(),
            recursive,
        };
        let response = self
            .invoke("delete", |c| async move { c.delete(request).await })
            .await?;
        Ok(response.result)
    }

    /// Renames `src` to `dst` (into `dst` when it is a directory); `false` when it cannot.
    pub async fn rename(&self, src: &str, dst: &str) -> Result<bool, ClientError> {
        let request = &pb::RenameRequestProto {
            src: src.to_string(),
            dst: dst.to_string(),
        };
        let response = self
            .invoke("rename", |c| async move { c.rename(request).await })
            .await?;
        Ok(response.result)
    }

    /// The children of a directory (or the file itself), every batch of them; `None` when
    /// `path` does not exist.
    pub async fn list(&self, path: &str) -> Result<Option<Vec<FileStatus>>, ClientError> {
        let mut entries = Vec::new();
        let mut start_after = Vec::new();
        loop {
            let request = &pb::GetListingRequestProto {
                src: path.to_string(),
                start_after: start_after.clone(),
                need_location: false,
            };
            let response = self
                .invoke(
                    "getListing",
                    |c| async move { c.get_listing(request).await },
                )
                .await?;
            let Some(listing) = response.dir_list else {
                // Gone between two batches is gone.
                return Ok(None);
            };
            let last = listing.partial_listing.last().map(|s| s.path.clone());
            entries.extend(listing.partial_listing.into_iter().map(|s| {
                let mut status = file_status(s);
                if status.name.is_empty() {
                    // A file lists itself under the empty name.
                    status.name = last_component(path).to_string();
                }
                status
            }));
            match last {
                Some(last) if listing.remaining_entries > 0 => start_after = last,
                _ => return Ok(Some(entries)),
            }
        }
    }

    /// The status of `path`; `None` when it does not exist.
    pub async fn get_file_info(&self, path: &str) -> Result<Option<FileStatus>, ClientError> {
        let request = &pb::GetFileInfoRequestProto {
            src: path.to_string(),
        };
        let response = self
            .invoke(
                "getFileInfo",
                |c| async move { c.get_file_info(request).await },
            )
            .await?;
        Ok(response.fs.map(|s| {
            let mut status = file_status(s);
            status.name = last_component(path).to_string();
            status
        }))
    }

    /// Runs one logical call: the same request to the current NameNode, then as the retry
    /// policy decides, until it succeeds or the policy gives up.
    async fn invoke<T, F>(
        &self,
        method: &'static str,
        rpc: impl Fn(ClientProtocolClient) -> F,
    ) -> Result<T, ClientError>
    where
        F: Future<Output = Result<T, CallError>>,
    {
        let call_id = self.next_call_id();
        let mut failovers = 0u32;
        let mut retries = 0u32;
        loop {
            let index = self.current.load(Ordering::Acquire) % self.namenodes.len();
            let outcome = match self.connect(index).await {
                Ok(connection) => rpc(ClientProtocolClient {
                    connection: connection.clone(),
                    attempt: Some((call_id, retries as i32)),
                })
                .await
                .map_err(|err| self.call_failed(index, &connection, err)),
                Err(err) => Err(err),
            };
            let err = match outcome {
                Ok(answer) => {
                    self.has_successful_call.store(true, Ordering::Release);
                    return Ok(answer);
                }
                Err(err) => err,
            };
            let decision = self.decide(&err, failovers, retries);
            let target = &self.namenodes[index].description;
            match decision {
                RetryDecision::Fail => {
                    if failovers > 0 || retries > 0 {
                        tracing::debug!(
                            target: RETRY_LOG,
                            "Exception while invoking ClientNamenodeProtocolTranslatorPB.{method} over {target}. Not retrying because {}",
                            self.fail_reason(&err, failovers, retries)
                        );
                    }
                    return Err(err);
                }
                RetryDecision::Failover | RetryDecision::Retry => {
                    let is_failover = decision == RetryDecision::Failover;
                    let random = self.rng.lock().unwrap_or_else(|p| p.into_inner()).unit();
                    let steps = if is_failover { failovers } else { retries };
                    let delay =
                        failover_sleep(steps, self.conf.sleep_base, self.conf.sleep_max, random);
                    self.log_retry(index, method, is_failover, failovers, delay, &err);
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if is_failover {
                        // Another call may have failed over already; move on only from here.
                        let next = (index + 1) % self.namenodes.len();
                        let _ = self.current.compare_exchange(
                            index,
                            next,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        );
                        failovers += 1;
                    }
                    retries += 1;
                }
            }
        }
    }

    /// Hadoop's `FailoverOnNetworkExceptionRetry.shouldRetry` (every ClientProtocol call we
    /// make is idempotent or at-most-once, so a broken connection may be retried).
    fn decide(&self, err: &ClientError, failovers: u32, retries: u32) -> RetryDecision {
        if !self.ha {
            return RetryDecision::Fail;
        }
        if failovers >= self.conf.max_failovers {
            return RetryDecision::Fail;
        }
        if retries.saturating_sub(failovers) > self.conf.max_retries {
            return RetryDecision::Fail;
        }
        match err {
            ClientError::Unreachable { .. } => RetryDecision::Failover,
            ClientError::Remote { class, .. } if class == "StandbyException" => {
                RetryDecision::Failover
            }
            ClientError::Remote { class, .. } if class == "RetriableException" => {
                RetryDecision::Retry
            }
            _ => RetryDecision::Fail,
        }
    }

    fn fail_reason(&self, err: &ClientError, failovers: u32, retries: u32) -> String {
        if failovers >= self.conf.max_failovers {
            format!(
                "failovers ({failovers}) exceeded maximum allowed ({})",
                self.conf.max_failovers
            )
        } else if retries.saturating_sub(failovers) > self.conf.max_retries {
            format!(
                "retries ({retries}) exceeded maximum allowed ({})",
                self.conf.max_retries
            )
        } else {
            format!("{} is not retried", err.class())
        }
    }

    /// `RetryInvocationHandler.log`: the first failure at a NameNode is logged at DEBUG unless
    /// a call has already succeeded; later ones at INFO.
    fn log_retry(
        &self,
        index: usize,
        method: &str,
        is_failover: bool,
        failovers: u32,
        delay: Duration,
        err: &ClientError,
    ) {
        let first_failure_here = self
            .failed_at_least_once
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(index);
        let info = !first_failure_here || self.has_successful_call.load(Ordering::Acquire);
        let mut line = format!(
            "{}, while invoking ClientNamenodeProtocolTranslatorPB.{method} over {}",
            err.java_string(),
            self.namenodes[index].description
        );
        if failovers > 0 {
            line.push_str(&format!(" after {failovers} failover attempts"));
        }
        line.push_str(if is_failover {
            ". Trying to failover "
        } else {
            ". Retrying "
        });
        if delay.is_zero() {
            line.push_str("immediately.");
        } else {
            line.push_str(&format!("after sleeping for {}ms.", delay.as_millis()));
        }
        if info {
            tracing::info!(target: RETRY_LOG, "{line}");
        } else {
            tracing::debug!(target: RETRY_LOG, "{line}");
        }
    }

    /// The connection to NameNode `index`, connecting if there is no open one.
    async fn connect(&self, index: usize) -> Result<Arc<Connection>, ClientError> {
        let target = &self.namenodes[index];
        if let Some(connection) = target.open_connection() {
            return Ok(connection);
        }
        let _connecting = target.connecting.lock().await;
        if let Some(connection) = target.open_connection() {
            return Ok(connection);
        }
        let timeout = self.conf.connect_timeout;
        let context = connection_context(
            &self.conf.user,
            self.client_id,
            self.conf.max_response_length,
        );
        let address = &target.address;
        let connecting = Connection::connect(&address.host, address.port, context);
        let connection = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => return Err(connect_timeout(address, timeout).into()),
            Ok(Err(err)) => return Err(connection_failure(address, &err, timeout).into()),
            Ok(Ok(connection)) => Arc::new(connection),
        };
        *target.connection.lock().unwrap_or_else(|p| p.into_inner()) = Some(connection.clone());
        Ok(connection)
    }

    /// The call id of a new logical call (every attempt of it carries the same one). Call ids
    /// are non-negative and wrap, as Hadoop's `Client.nextCallId`.
    fn next_call_id(&self) -> i32 {
        self.next_call_id
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| {
                Some(id.checked_add(1).unwrap_or(0))
            })
            .unwrap_or_default()
    }

    /// Converts a failed call's error, forgetting the connection when it closed.
    fn call_failed(
        &self,
        index: usize,
        connection: &Arc<Connection>,
        err: CallError,
    ) -> ClientError {
        let target = &self.namenodes[index];
        if connection.is_closed() {
            target.forget(connection);
        }
        err.at(&target.address, self.conf.connect_timeout).into()
    }
}

/// `CreateFlagProto.CREATE` and `OVERWRITE`.
const CREATE_FLAG_CREATE: u32 = 1;
const CREATE_FLAG_OVERWRITE: u32 = 2;

fn permission_proto(permission: u16) -> pb::FsPermissionProto {
    pb::FsPermissionProto {
        perm: u32::from(permission),
    }
}

/// The last component of a path ("" for the root).
fn last_component(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The status a create answered with.
fn status_of(fs: Option<pb::HdfsFileStatusProto>, path: &str) -> Result<FileStatus, ClientError> {
    fs.map(|s| {
        let mut status = file_status(s);
        status.name = last_component(path).to_string();
        status
    })
    .ok_or_else(|| {
        ClientError::remote(
            "IOException",
            format!("the NameNode answered without the status of {path}"),
        )
    })
}

fn file_status(proto: pb::HdfsFileStatusProto) -> FileStatus {
    let is_dir = proto.file_type() == pb::hdfs_file_status_proto::FileType::IsDir;
    let replication = proto.block_replication().min(u32::from(u16::MAX)) as u16;
    let block_size = proto.blocksize();
    let children_num = proto.children_num().max(0);
    FileStatus {
        is_dir,
        name: String::from_utf8_lossy(&proto.path).into_owned(),
        file_id: proto.file_id(),
        length: proto.length,
        permission: (proto.permission.perm & 0o7777) as u16,
        owner: proto.owner,
        group: proto.group,
        mtime: proto.modification_time,
        atime: proto.access_time,
        replication,
        block_size,
        children_num,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        let mut conf = Configuration::new();
        for (k, v) in pairs {
            conf.set(k, v);
        }
        conf
    }

    fn ha_conf() -> Configuration {
        conf(&[
            ("dfs.nameservices", "mycluster,other"),
            ("dfs.ha.namenodes.mycluster", "nn1, nn2,nn3"),
            ("dfs.namenode.rpc-address.mycluster.nn1", "127.0.0.1:8020"),
            ("dfs.namenode.rpc-address.mycluster.nn2", "127.0.0.2:8020"),
            ("dfs.namenode.rpc-address.mycluster.nn3", "127.0.0.3:8020"),
            ("dfs.namenode.rpc-address.other", "127.0.0.9:9000"),
        ])
    }

    #[test]
    fn a_nameservice_uses_its_namenodes_in_configuration_order() {
        let client = DfsClient::new(&ha_conf(), "hdfs://mycluster").unwrap();
        assert_eq!(client.uri(), "hdfs://mycluster");
        assert_eq!(
            client.namenodes(),
            [
                "nn1/127.0.0.1:8020",
                "nn2/127.0.0.2:8020",
                "nn3/127.0.0.3:8020"
            ]
        );
        assert!(client.ha);
        // A path after the authority does not matter.
        let client = DfsClient::new(&ha_conf(), "hdfs://mycluster/user/x").unwrap();
        assert_eq!(client.namenodes().len(), 3);
        // A nameservice of one NameNode does not fail over.
        let client = DfsClient::new(&ha_conf(), "hdfs://other").unwrap();
        assert_eq!(client.namenodes(), ["127.0.0.9:9000"]);
        assert!(!client.ha);
    }

    #[test]
    fn random_order_shuffles_the_namenodes() {
        let mut c = ha_conf();
        c.set("dfs.client.failover.random.order", "true");
        let mut orders = HashSet::new();
        for _ in 0..64 {
            let client = DfsClient::new(&c, "hdfs://mycluster").unwrap();
            let mut sorted = client.namenodes();
            orders.insert(sorted.clone());
            sorted.sort();
            assert_eq!(sorted, ha_conf_order());
        }
        assert!(orders.len() > 1, "64 clients all had the same order");
    }

    fn ha_conf_order() -> Vec<String> {
        DfsClient::new(&ha_conf(), "hdfs://mycluster")
            .unwrap()
            .namenodes()
    }

    #[test]
    fn a_host_and_port_is_one_namenode() {
        let client = DfsClient::new(&ha_conf(), "hdfs://127.0.0.5:9000").unwrap();
        assert_eq!(client.namenodes(), ["127.0.0.5:9000"]);
        assert!(!client.ha);
        let client = DfsClient::new(&ha_conf(), "hdfs://localhost").unwrap();
        assert_eq!(client.namenodes(), ["localhost:8020"]);
    }

    #[test]
    fn unusable_uris_are_errors_naming_them() {
        let err = DfsClient::new(&ha_conf(), "hdfs://no-such-cluster.invalid").unwrap_err();
        assert_eq!(
            err,
            ClientError::Config("java.net.UnknownHostException: no-such-cluster.invalid".into())
        );
        assert_eq!(
            err.to_string(),
            "java.net.UnknownHostException: no-such-cluster.invalid"
        );
        assert_eq!(
            DfsClient::new(&ha_conf(), "file:///")
                .unwrap_err()
                .to_string(),
            "No FileSystem for scheme \"file\""
        );
        assert_eq!(
            DfsClient::new(&ha_conf(), "hdfs:///x")
                .unwrap_err()
                .to_string(),
            "Incomplete HDFS URI, no host: hdfs:///x"
        );
        let mut c = ha_conf();
        c.set("dfs.nameservices", "mycluster,empty");
        c.set("dfs.ha.namenodes.empty", "nn1,nn2");
        assert_eq!(
            DfsClient::new(&c, "hdfs://empty").unwrap_err().to_string(),
            "Could not find any configured addresses for URI hdfs://empty"
        );
    }

    #[test]
    fn client_ids_differ_and_call_ids_increase() {
        let a = DfsClient::new(&ha_conf(), "hdfs://mycluster").unwrap();
        let b = DfsClient::new(&ha_conf(), "hdfs://mycluster").unwrap();
        assert_ne!(a.client_id(), b.client_id());
        let first = a.next_call_id();
        let second = a.next_call_id();
        assert!(second > first);
        a.next_call_id.store(i32::MAX, Ordering::Relaxed);
        assert_eq!(a.next_call_id(), i32::MAX);
        assert_eq!(a.next_call_id(), 0, "call ids wrap to 0, never negative");
    }

    #[test]
    fn failover_sleeps_follow_hadoops_exponential_backoff() {
        let base = Duration::from_millis(500);
        let max = Duration::from_millis(15_000);
        assert_eq!(failover_sleep(0, base, max, 0.99), Duration::ZERO);
        assert_eq!(
            failover_sleep(1, base, max, 0.5),
            Duration::from_millis(1000)
        );
        assert_eq!(
            failover_sleep(1, base, max, 0.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            failover_sleep(2, base, max, 0.5),
            Duration::from_millis(2000)
        );
        // Capped at the maximum before the jitter.
        assert_eq!(
            failover_sleep(6, base, max, 0.5),
            Duration::from_millis(15_000)
        );
        assert_eq!(
            failover_sleep(200, base, max, 0.0),
            Duration::from_millis(7_500)
        );
        let mut rng = SeededRng::from_entropy();
        for n in 1..20 {
            let d = failover_sleep(n, base, max, rng.unit());
            let cap = (500u64 << n.min(5)).min(15_000);
            assert!(d.as_millis() as u64 >= cap / 2 && (d.as_millis() as u64) < cap * 3 / 2);
        }
    }

    #[test]
    fn errors_print_as_hadoop_does() {
        let standby = ClientError::remote(
            "StandbyException",
            "Operation category READ is not supported in state standby",
        );
        assert_eq!(
            standby.to_string(),
            "Operation category READ is not supported in state standby"
        );
        assert_eq!(
            standby.java_string(),
            "org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.ipc.StandbyException): Operation category READ is not supported in state standby"
        );
        let fnf = ClientError::remote("FileNotFoundException", "File does not exist: /x");
        assert!(
            fnf.java_string()
                .contains("(java.io.FileNotFoundException)")
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = ClientError::from(connection_failure(
            &HostPort::new("127.0.0.1", 1),
            &refused,
            Duration::from_secs(1),
        ));
        assert_eq!(err.class(), "ConnectException");
        assert!(
            err.to_string().ends_with(" to 127.0.0.1:1 failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused"),
            "{err}"
        );
        assert!(
            err.java_string()
                .starts_with("java.net.ConnectException: Call From ")
        );
    }

    #[test]
    fn wire_statuses_become_file_statuses() {
        let proto = pb::HdfsFileStatusProto {
            file_type: pb::hdfs_file_status_proto::FileType::IsFile as i32,
            path: b"f".to_vec(),
            length: 8,
            permission: pb::FsPermissionProto { perm: 0o100644 },
            owner: "u".into(),
            group: "supergroup".into(),
            modification_time: 5,
            access_time: 4,
            block_replication: Some(2),
            blocksize: Some(1024),
            children_num: Some(0),
            ..Default::default()
        };
        let status = file_status(proto);
        assert_eq!(
            (status.name.as_str(), status.is_dir, status.permission),
            ("f", false, 0o644)
        );
        assert_eq!(
            (status.replication, status.block_size, status.atime),
            (2, 1024, 4)
        );
    }
}
