//! The JournalNode daemon (`journalnode`, `hdfs journalnode`): its typed configuration and
//! `run`, which serves QJournalProtocol on `dfs.journalnode.rpc-address` (Hadoop IPC with
//! Hadoop's messages, for real NameNodes and JournalNodes and ours), `/getJournal`, `/jmx` and
//! `/prom` on `dfs.journalnode.http-address`, and syncs with the other JournalNodes
//! (`super::sync`), until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::FileStorage;
use super::http;
use super::ipc::HadoopJournalService;
use super::journals::{JournalStorageFactory, Journals};
use super::storage::StorageError;
use super::sync::{SyncConf, other_journal_nodes};
use crate::conf::ha::journal_node_addresses;
use crate::conf::{ConfError, Configuration, HostPort, TimeUnit};
use crate::ipc::server::ServerConf;

/// What a JournalNode is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalNodeConf {
    /// Where QJournalProtocol is served (`dfs.journalnode.rpc-address`, host replaced by
    /// `dfs.journalnode.rpc-bind-host` when set).
    pub rpc_address: HostPort,
    /// Where `/jmx` and `/prom` are served (`dfs.journalnode.http-address`).
    pub http_address: HostPort,
    /// `dfs.journalnode.edits.dir`: one directory per journal id below it. Absolute.
    pub edits_dir: PathBuf,
    /// The edits cache per journal (`dfs.journalnode.edit-cache-size.bytes`), enabled by
    /// `dfs.ha.tail-edits.in-progress`.
    pub cache_capacity: Option<usize>,
    /// `ipc.maximum.data.length`: the longest IPC request frame the RPC port reads.
    pub ipc_max_data_length: usize,
    /// The JournalNodes JournalNode sync asks (those of `dfs.namenode.shared.edits.dir`,
    /// this one among them; empty when `dfs.journalnode.enable.sync` is false).
    pub sync_journal_nodes: Vec<HostPort>,
    /// `dfs.journalnode.sync.interval`.
    pub sync_interval: Duration,
}

impl JournalNodeConf {
    pub fn from_conf(conf: &Configuration) -> Result<JournalNodeConf, ConfError> {
        let mut rpc_address = conf
            .get_host_port("dfs.journalnode.rpc-address", Some(8485))?
            .unwrap_or_else(|| HostPort::new("0.0.0.0", 8485));
        if let Some(bind) = conf
            .get_trimmed("dfs.journalnode.rpc-bind-host")?
            .filter(|h| !h.is_empty())
        {
            rpc_address.host = bind;
        }
        let http_address = conf
            .get_host_port("dfs.journalnode.http-address", Some(8480))?
            .unwrap_or_else(|| HostPort::new("0.0.0.0", 8480));
        let key = "dfs.journalnode.edits.dir";
        let dir = conf.get_trimmed(key)?.unwrap_or_default();
        let edits_dir = PathBuf::from(dir.strip_prefix("file://").unwrap_or(&dir));
        if !edits_dir.is_absolute() {
            return Err(ConfError::Ha(format!(
                "Journal dir '{}' should be an absolute path",
                edits_dir.display()
            )));
        }
        let cache_capacity = if conf.get_bool("dfs.ha.tail-edits.in-progress", false)? {
            let bytes = conf
                .get_size("dfs.journalnode.edit-cache-size.bytes")?
                .unwrap_or(1 << 20);
            Some(usize::try_from(bytes.max(1)).unwrap_or(usize::MAX))
        } else {
            None
        };
        let ipc_max_data_length = conf
            .get_int("ipc.maximum.data.length")?
            .map_or(crate::ipc::frame::DEFAULT_MAX_DATA_LENGTH, |n| {
                n.max(0) as usize
            });
        let sync_journal_nodes = if conf.get_bool("dfs.journalnode.enable.sync", true)? {
            journal_node_addresses(conf)?
        } else {
            Vec::new()
        };
        let sync_interval =
            conf.get_duration("dfs.journalnode.sync.interval", TimeUnit::Milliseconds)?;
        Ok(JournalNodeConf {
            rpc_address,
            http_address,
            edits_dir,
            cache_capacity,
            ipc_max_data_length,
            sync_journal_nodes,
            sync_interval,
        })
    }
}

/// Opens `<edits dir>/<jid>` as a journal's storage.
pub struct DirectoryFactory {
    pub edits_dir: PathBuf,
}

impl JournalStorageFactory for DirectoryFactory {
    type Storage = FileStorage;

    fn open(&self, jid: &str) -> Result<FileStorage, StorageError> {
        FileStorage::open(&self.edits_dir.join(jid))
    }
}

/// Why a JournalNode could not start.
#[derive(Debug, thiserror::Error)]
pub enum JournalNodeError {
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error("{0}")]
    EditsDir(String),
    #[error("Problem binding to [{address}] {source}")]
    Bind {
        address: HostPort,
        source: std::io::Error,
    },
    #[error("{0}")]
    Serve(String),
}

/// Checks (and creates) the edits directory, with Hadoop's messages.
fn validate_edits_dir(dir: &Path) -> Result<(), JournalNodeError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| {
            JournalNodeError::EditsDir(format!(
                "Could not create journal dir '{}': {e}",
                dir.display()
            ))
        })?;
    } else if !dir.is_dir() {
        return Err(JournalNodeError::EditsDir(format!(
            "Journal dir '{}' is not a directory",
            dir.display()
        )));
    }
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            JournalNodeError::EditsDir(format!(
                "Cannot access journal dir '{}': {e}",
                dir.display()
            ))
        })?;
    Ok(())
}

async fn bind(address: &HostPort) -> Result<TcpListener, JournalNodeError> {
    let addr = address.resolve().map_err(|source| JournalNodeError::Bind {
        address: address.clone(),
        source,
    })?;
    TcpListener::bind(addr)
        .await
        .map_err(|source| JournalNodeError::Bind {
            address: address.clone(),
            source,
        })
}

/// The URL other nodes reach a server bound to `bound` at: a wildcard bind is advertised under
/// this host's name, as Hadoop's HTTP server does.
fn advertised_url(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("http://{}:{}", crate::host::host_name(), bound.port())
    } else {
        format!("http://{bound}")
    }
}

/// Runs a JournalNode until `shutdown` completes.
pub async fn run(
    conf: JournalNodeConf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), JournalNodeError> {
    validate_edits_dir(&conf.edits_dir)?;
    let rpc_listener = bind(&conf.rpc_address).await?;
    let http_listener = bind(&conf.http_address).await?;
    let rpc_bound: SocketAddr = rpc_listener
        .local_addr()
        .map_err(|e| JournalNodeError::Serve(e.to_string()))?;
    let http_bound: SocketAddr = http_listener
        .local_addr()
        .map_err(|e| JournalNodeError::Serve(e.to_string()))?;
    let journals = Arc::new(Journals::new(
        DirectoryFactory {
            edits_dir: conf.edits_dir.clone(),
        },
        conf.cache_capacity,
    ));
    let hadoop_service = Arc::new(HadoopJournalService::new(
        journals.clone(),
        advertised_url(http_bound),
        http_bound.port(),
    ));
    tracing::info!("JournalNode RPC server is listening on {rpc_bound}");
    tracing::info!("JournalNode HTTP server is listening on {http_bound}");
    tracing::info!(
        "Journal edits dir {} (edits cache {})",
        conf.edits_dir.display(),
        conf.cache_capacity
            .map_or("disabled".to_string(), |c| format!("{c} bytes"))
    );

    let token = tokio_util::sync::CancellationToken::new();
    let http_token = token.clone();
    let http_journals = journals.clone();
    let http_task = tokio::spawn(async move {
        axum::serve(http_listener, http::router(http_journals))
            .with_graceful_shutdown(http_token.cancelled_owned())
            .await
    });
    // Small answers must not wait for delayed ACKs (Nagle): every batch is one; the accept
    // loop sets TCP_NODELAY on every connection.
    let rpc = tokio::spawn(crate::ipc::accept::accept_ipc(
        rpc_listener,
        hadoop_service,
        ServerConf {
            max_data_length: conf.ipc_max_data_length,
        },
        token.clone(),
    ));
    let sync = tokio::spawn(super::sync::run(
        journals.clone(),
        conf.edits_dir.clone(),
        SyncConf {
            peers: other_journal_nodes(&conf.sync_journal_nodes, rpc_bound),
            interval: conf.sync_interval,
        },
        token.clone(),
    ));
    shutdown.await;
    tracing::info!("SHUTDOWN_MSG: Shutting down JournalNode at {rpc_bound}");
    token.cancel();
    let _ = rpc.await;
    let _ = sync.await;
    http_task
        .await
        .map_err(|e| JournalNodeError::Serve(e.to_string()))?
        .map_err(|e| JournalNodeError::Serve(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(props: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(props)
    }

    #[test]
    fn defaults_and_overrides() {
        let c = JournalNodeConf::from_conf(&conf(&[("dfs.journalnode.edits.dir", "/data/jn")]))
            .unwrap();
        assert_eq!(c.rpc_address, HostPort::new("0.0.0.0", 8485));
        assert_eq!(c.http_address, HostPort::new("0.0.0.0", 8480));
        assert_eq!(c.edits_dir, PathBuf::from("/data/jn"));
        assert_eq!(c.cache_capacity, None);
        let c = JournalNodeConf::from_conf(&conf(&[
            ("dfs.journalnode.edits.dir", "file:///data/jn"),
            ("dfs.journalnode.rpc-address", "m2:9485"),
            ("dfs.journalnode.rpc-bind-host", "0.0.0.0"),
            ("dfs.ha.tail-edits.in-progress", "true"),
            ("dfs.journalnode.edit-cache-size.bytes", "4m"),
        ]))
        .unwrap();
        assert_eq!(c.rpc_address, HostPort::new("0.0.0.0", 9485));
        assert_eq!(c.edits_dir, PathBuf::from("/data/jn"));
        assert_eq!(c.cache_capacity, Some(4 << 20));
    }

    #[test]
    fn a_relative_edits_dir_is_refused() {
        let err = JournalNodeConf::from_conf(&conf(&[("dfs.journalnode.edits.dir", "jn/data")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Journal dir 'jn/data' should be an absolute path"
        );
    }

    #[test]
    fn an_edits_dir_that_is_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = validate_edits_dir(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Journal dir '{}' is not a directory", file.display())
        );
        validate_edits_dir(&dir.path().join("new/sub")).unwrap();
    }
}
