//! Accepting RPC connections (with TCP_NODELAY: small calls must not wait 40 ms for Nagle),
//! each served as Hadoop IPC.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::server::{self, ServerConf, Service};

/// Accepts connections on `listener` until `token` is cancelled, each served by `service`.
pub async fn accept_ipc<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    conf: ServerConf,
    token: CancellationToken,
) {
    accept(listener, &token.clone(), move |stream| {
        tokio::spawn(server::serve_connection(
            stream,
            service.clone(),
            conf,
            token.clone(),
        ));
    })
    .await
}

/// The accept loop: every accepted connection (with TCP_NODELAY) goes to `serve`.
async fn accept(listener: TcpListener, token: &CancellationToken, serve: impl Fn(TcpStream)) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("RPC server could not accept a connection: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        serve(stream);
    }
}
