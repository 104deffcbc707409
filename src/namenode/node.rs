//! The NameNode daemon (`namenode`, `hdfs namenode`): loads its storage, serves the client,
//! HA and NameNode protocols on `dfs.namenode.rpc-address` and HTTP on
//! `dfs.namenode.http-address`, starts in standby, and runs until shutdown or a fatal error.
//!
//! The RPC port speaks Hadoop IPC (`hrpc`; other bytes get Hadoop's answers): a client's
//! ClientNamenodeProtocol, HAServiceProtocol from `hdfs haadmin` and ZKFCs, NamenodeProtocol
//! from the other NameNode (ours or Hadoop's). With `dfs.namenode.servicerpc-address` set, a
//! second port serves the same, as Hadoop's service RPC server does.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::conf::NameNodeConf;
use super::ha_ipc::NameNodeIpc;
use super::http;
use super::protocol::ClientProtocolServer;
use super::rpc::ClientService;
use super::server::{NameNode, NameNodeError};
use super::storage::NameNodeStorage;
use crate::conf::HostPort;
use crate::ipc;
use crate::ipc::server::ServerConf;

async fn bind(address: &HostPort) -> Result<TcpListener, NameNodeError> {
    let addr = address.resolve().map_err(|source| NameNodeError::Resolve {
        address: address.clone(),
        source,
    })?;
    TcpListener::bind(addr)
        .await
        .map_err(|source| NameNodeError::Bind {
            address: address.clone(),
            source,
        })
}

/// Runs a NameNode until `shutdown` completes (Ok) or it hits a fatal error (Err).
pub async fn run(
    conf: NameNodeConf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NameNodeError> {
    let storage = NameNodeStorage::open(&conf.name_dirs)?;
    let rpc_bind = conf.rpc_bind.clone();
    let http_address = conf.http_address.clone();
    let nn = NameNode::load(conf, storage)?;
    let rpc_listener = bind(&rpc_bind).await?;
    let service_listener = match &nn.conf().service_rpc_bind {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let http_listener = bind(&http_address).await?;
    let rpc_bound = rpc_listener.local_addr().map_err(NameNodeError::Listener)?;
    let http_bound = http_listener
        .local_addr()
        .map_err(NameNodeError::Listener)?;
    tracing::info!("NameNode RPC up at: {rpc_bound}");
    tracing::info!("Web-server for hdfs at: http://{http_bound}");

    let token = nn.fatal_token().child_token();
    let http_token = token.clone();
    let http_nn = nn.clone();
    let http_task = tokio::spawn(async move {
        axum::serve(http_listener, http::router(http_nn))
            .with_graceful_shutdown(http_token.cancelled_owned())
            .await
    });
    let ipc_service = Arc::new(NameNodeIpc {
        nn: nn.clone(),
        client: ClientProtocolServer(Arc::new(ClientService::new(nn.clone()))),
    });
    let ipc_conf = ServerConf {
        max_data_length: nn.conf().ipc_max_data_length,
    };
    if let Some(listener) = service_listener {
        let bound = listener.local_addr().map_err(NameNodeError::Listener)?;
        tracing::info!("NameNode service RPC up at: {bound}");
        tokio::spawn(ipc::accept::accept_ipc(
            listener,
            ipc_service.clone(),
            ipc_conf,
            token.clone(),
        ));
    }
    let rpc_task = tokio::spawn(ipc::accept::accept_ipc(
        rpc_listener,
        ipc_service,
        ipc_conf,
        token.clone(),
    ));
    nn.start_standby().await;
    tracing::info!(
        "NameNode {} of {} is in standby state",
        nn.conf().namenode_id,
        nn.conf().nameservice_id
    );
    let stop = token.clone();
    let stopping = nn.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("SHUTDOWN_MSG: Shutting down NameNode at {rpc_bound}");
        stopping.stop().await;
        stop.cancel();
    });
    token.cancelled().await;
    let _ = rpc_task.await;
    let _ = http_task.await;
    match nn.fatal_message() {
        Some(message) => Err(NameNodeError::Fatal(message)),
        None => Ok(()),
    }
}
