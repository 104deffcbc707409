//! The NameNode daemon (`namenode`, `hdfs namenode`): loads its storage, serves the client,
//! HA and NameNode protocols on `dfs.namenode.rpc-address` and HTTP on
//! `dfs.namenode.http-address`, starts in standby, and runs until shutdown or a fatal error.
//!
//! The RPC port carries two transports: a connection that opens with the HTTP/2 preface is a
//! gRPC client (a ZKFC, `haadmin`, the other NameNode) and goes to the gRPC server; any other
//! is a Hadoop IPC client (`hrpc`, or bytes the IPC server refuses with Hadoop's answers) of
//! ClientNamenodeProtocol or of Hadoop's own HAServiceProtocol (a real `hdfs haadmin` or ZKFC).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::conf::NameNodeConf;
use super::ha_ipc::NameNodeIpc;
use super::http;
use super::protocol::ClientProtocolServer;
use super::rpc::{ClientService, NamenodeService};
use super::server::NameNode;
use super::storage::NameNodeStorage;
use crate::conf::HostPort;
use crate::ipc;
use crate::ipc::server::ServerConf;
use crate::proto::namenode::namenode_protocol_server::NamenodeProtocolServer;

async fn bind(address: &HostPort) -> Result<TcpListener, String> {
    let addr = address
        .resolve()
        .map_err(|e| format!("Problem binding to [{address}] {e}"))?;
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("Problem binding to [{address}] java.net.BindException: {e}"))
}

/// How long a stopping NameNode waits for its RPC connections to close.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs a NameNode until `shutdown` completes (Ok) or it hits a fatal error (Err, the message).
pub async fn run(
    conf: NameNodeConf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let storage = NameNodeStorage::open(&conf.name_dirs).map_err(|e| e.to_string())?;
    let rpc_bind = conf.rpc_bind.clone();
    let http_address = conf.http_address.clone();
    let nn = NameNode::load(conf, storage)?;
    let rpc_listener = bind(&rpc_bind).await?;
    let http_listener = bind(&http_address).await?;
    let rpc_bound = rpc_listener.local_addr().map_err(|e| e.to_string())?;
    let http_bound = http_listener.local_addr().map_err(|e| e.to_string())?;
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
    let (grpc_connections, grpc_incoming) = mpsc::channel(64);
    let ipc_service = Arc::new(NameNodeIpc {
        nn: nn.clone(),
        client: ClientProtocolServer(Arc::new(ClientService { nn: nn.clone() })),
    });
    let ipc_conf = ServerConf {
        max_data_length: nn.conf().ipc_max_data_length,
    };
    tokio::spawn(ipc::accept::accept_rpc(
        rpc_listener,
        grpc_connections,
        ipc_service,
        ipc_conf,
        token.clone(),
    ));
    let rpc = tonic::transport::Server::builder()
        .add_service(
            NamenodeProtocolServer::new(NamenodeService { nn: nn.clone() })
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::ReceiverStream::new(grpc_incoming),
            token.clone().cancelled_owned(),
        );
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
    // Stopping waits for clients to drain, but not for ever: a frozen peer (a stopped ZKFC
    // holding its health stream open) never acknowledges the HTTP/2 goaway.
    let drain_limit = token.clone();
    let served = tokio::select! {
        served = rpc => served,
        _ = async {
            drain_limit.cancelled().await;
            tokio::time::sleep(DRAIN_LIMIT).await;
        } => Ok(()),
    };
    token.cancel();
    let _ = http_task.await;
    if let Some(message) = nn.fatal_message() {
        return Err(message);
    }
    served.map_err(|e| e.to_string())
}
