//! Accepting RPC connections (with TCP_NODELAY: small calls must not wait 40 ms for Nagle):
//! every one to Hadoop IPC ([`accept_ipc`], the ZKFC's port), or, on a port that serves both
//! transports ([`accept_rpc`], the NameNode's and the JournalNode's), to Hadoop IPC or — when
//! it starts with the HTTP/2 preface — to a gRPC server fed from a channel.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::server::{self, ServerConf, Service};

/// How long a new connection may take to send the four bytes that tell its transport.
const SNIFF_LIMIT: Duration = Duration::from_secs(20);

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

/// Accepts connections on `listener` until `token` is cancelled: IPC ones are served by
/// `service`, gRPC ones are sent to `grpc` (a tonic server's incoming stream).
pub async fn accept_rpc<S: Service>(
    listener: TcpListener,
    grpc: mpsc::Sender<std::io::Result<TcpStream>>,
    service: Arc<S>,
    conf: ServerConf,
    token: CancellationToken,
) {
    accept(listener, &token.clone(), move |stream| {
        let grpc = grpc.clone();
        let service = service.clone();
        let token = token.clone();
        tokio::spawn(async move {
            match sniff_http2(&stream, &token).await {
                Some(true) => {
                    let _ = grpc.send(Ok(stream)).await;
                }
                Some(false) => server::serve_connection(stream, service, conf, token).await,
                None => {}
            }
        });
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

/// Whether a new connection speaks HTTP/2, from its first bytes (peeked, not consumed);
/// `None` when it closes, stays silent too long, or the server stops first.
async fn sniff_http2(stream: &TcpStream, token: &CancellationToken) -> Option<bool> {
    let deadline = tokio::time::Instant::now() + SNIFF_LIMIT;
    let mut first = [0u8; 4];
    loop {
        let peeked = tokio::select! {
            _ = token.cancelled() => return None,
            _ = tokio::time::sleep_until(deadline) => return None,
            peeked = stream.peek(&mut first) => peeked.ok()?,
        };
        if peeked == 0 {
            return None;
        }
        if peeked == first.len() || !super::could_be_http2(&first[..peeked]) {
            return Some(super::is_http2(&first[..peeked]));
        }
        // A few bytes that could still be the preface: wait for the rest (peek returns at
        // once while bytes are buffered, so pause between looks).
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
