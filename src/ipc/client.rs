//! The client side of one IPC connection, shared by every caller in a process (as Hadoop's
//! `ipc.Client` shares one connection per server and user): many calls in flight, each with
//! its own call id; one writer task sends whatever calls are queued at that moment in one
//! write, one reader task hands each answer to its caller.
//!
//! When the connection breaks or the server answers FATAL, every call in flight gets the
//! error and the connection stays closed: its owner makes a new one for the next call.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use super::exception::{CallFailure, connection_failure};
use super::frame::{self, Answer, Failure};
use crate::conf::HostPort;
use crate::proto::ipc as pb;

/// Who a connection calls as, and through which protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionContext {
    pub protocol: &'static str,
    pub protocol_version: u64,
    pub user: String,
    /// The client's 16-byte id, sent with every call.
    pub client_id: [u8; 16],
    /// `ipc.maximum.response.length`: the longest answer frame read.
    pub max_response_length: usize,
}

/// Why a call got no answer of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The server answered with an exception (ERROR), or closed the connection after a FATAL
    /// answer.
    #[error("{}", .0.exception)]
    Remote(Failure),
    /// The connection broke (or could not carry the call): no answer will come.
    #[error("{message}")]
    Io {
        kind: std::io::ErrorKind,
        message: String,
    },
}

impl CallError {
    fn io(err: &std::io::Error) -> CallError {
        CallError::Io {
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    fn broken(message: impl Into<String>) -> CallError {
        CallError::Io {
            kind: std::io::ErrorKind::InvalidData,
            message: message.into(),
        }
    }

    /// What the failure of a call to `address` means to its caller: the server's exception,
    /// or Hadoop's words for a call without answer (`timeout` is the connect timeout they
    /// name). Every typed client maps its errors from this.
    pub fn at(self, address: &HostPort, timeout: Duration) -> CallFailure {
        match self {
            CallError::Remote(failure) => CallFailure::Remote(failure.exception),
            CallError::Io { kind, message } => CallFailure::Unreachable(connection_failure(
                address,
                &std::io::Error::new(kind, message),
                timeout,
            )),
        }
    }

    /// The connection failure as an `io::Error` (for callers that classify by kind).
    pub fn to_io_error(&self) -> Option<std::io::Error> {
        match self {
            CallError::Io { kind, message } => Some(std::io::Error::new(*kind, message.clone())),
            CallError::Remote(_) => None,
        }
    }
}

type Reply = oneshot::Sender<Result<Bytes, CallError>>;

struct State {
    next_call_id: i32,
    /// Calls sent (or queued) and not answered yet.
    pending: HashMap<i32, Reply>,
    /// Frames queued for the writer.
    outbox: BytesMut,
    /// Why the connection closed, once it has.
    closed: Option<CallError>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer when the outbox stops being empty.
    wake_writer: Notify,
    /// Stops the reader and writer tasks.
    stop: CancellationToken,
    context: ConnectionContext,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the connection: every call in flight gets `reason`.
    fn close(&self, reason: CallError) {
        let pending = {
            let mut state = self.state();
            if state.closed.is_none() {
                state.closed = Some(reason.clone());
            }
            std::mem::take(&mut state.pending)
        };
        for (_, reply) in pending {
            let _ = reply.send(Err(reason.clone()));
        }
        self.stop.cancel();
    }
}

/// An open connection to one server. Dropping it closes the connection.
pub struct Connection {
    shared: Arc<Shared>,
    address: SocketAddr,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address)
            .field("protocol", &self.shared.context.protocol)
            .finish()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.close(CallError::broken(
            "the connection was closed by this client",
        ));
    }
}

/// Removes a call's entry when its caller stops waiting before the answer came.
struct Abandon {
    shared: Arc<Shared>,
    call_id: i32,
    answered: bool,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if !self.answered {
            self.shared.state().pending.remove(&self.call_id);
        }
    }
}

impl Connection {
    /// Connects to `host:port` and sends the preamble and the connection context. The caller
    /// bounds how long connecting may take.
    pub async fn connect(
        host: &str,
        port: u16,
        context: ConnectionContext,
    ) -> std::io::Result<Connection> {
        let stream = TcpStream::connect((host, port)).await?;
        // Calls are small: they must not wait for Nagle's algorithm.
        stream.set_nodelay(true)?;
        let address = stream.peer_addr()?;
        let (reader, mut writer) = stream.into_split();
        let mut hello = BytesMut::new();
        hello.extend_from_slice(&frame::preamble());
        frame::encode_connection_context(
            &mut hello,
            &context.client_id,
            &pb::IpcConnectionContextProto {
                user_info: Some(pb::UserInformationProto {
                    effective_user: Some(context.user.clone()),
                    real_user: None,
                }),
                protocol: Some(context.protocol.to_string()),
            },
        );
        writer.write_all(&hello).await?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                next_call_id: 0,
                pending: HashMap::new(),
                outbox: BytesMut::new(),
                closed: None,
            }),
            wake_writer: Notify::new(),
            stop: CancellationToken::new(),
            context,
        });
        tokio::spawn(write_calls(shared.clone(), writer));
        tokio::spawn(read_answers(shared.clone(), reader));
        Ok(Connection { shared, address })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Whether the connection has closed (a new call would fail at once).
    pub fn is_closed(&self) -> bool {
        self.shared.state().closed.is_some()
    }

    /// Waits until the connection closes (the server went away, broke it, or answered
    /// FATAL), and says why: how a caller hears of a peer's death without calling.
    pub async fn closed(&self) -> CallError {
        self.shared.stop.cancelled().await;
        self.shared
            .state()
            .closed
            .clone()
            .unwrap_or_else(|| CallError::broken("the connection closed"))
    }

    /// Calls `method` with `request` and waits for its answer.
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
    ) -> Result<Resp, CallError> {
        self.send(method, request).await
    }

    /// Queues the call now, before the returned future is polled, and returns the wait for
    /// its answer: calls sent one after the other leave in that order, whoever awaits them.
    /// Dropping the future abandons the call (its answer, if any, is discarded).
    pub fn send<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
    ) -> impl Future<Output = Result<Resp, CallError>> + Send + 'static + use<Req, Resp> {
        self.send_with(method, request, None)
    }

    /// Calls `method` under the given call id and retry count, as Hadoop's
    /// `RetryInvocationHandler` repeats one logical call: every attempt carries the same call
    /// id (and this connection's client id), so the server's retry cache knows it again.
    pub async fn call_as<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
        call_id: i32,
        retry_count: i32,
    ) -> Result<Resp, CallError> {
        self.send_with(method, request, Some((call_id, retry_count)))
            .await
    }

    fn send_with<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
        ids: Option<(i32, i32)>,
    ) -> impl Future<Output = Result<Resp, CallError>> + Send + 'static + use<Req, Resp> {
        let queued = self.enqueue(method, request, ids);
        let shared = self.shared.clone();
        let method = method.to_string();
        async move {
            let (call_id, answer) = queued?;
            let mut abandon = Abandon {
                shared,
                call_id,
                answered: false,
            };
            let outcome = answer.await;
            abandon.answered = true;
            let body = match outcome {
                Ok(result) => result?,
                Err(_) => {
                    return Err(abandon
                        .shared
                        .state()
                        .closed
                        .clone()
                        .unwrap_or_else(|| CallError::broken("the connection closed")));
                }
            };
            Resp::decode(body).map_err(|e| {
                CallError::broken(format!("the answer to {method} is not its response: {e}"))
            })
        }
    }

    /// Puts the call's frame in the outbox and wakes the writer.
    fn enqueue<Req: Message>(
        &self,
        method: &str,
        request: &Req,
        ids: Option<(i32, i32)>,
    ) -> Result<(i32, oneshot::Receiver<Result<Bytes, CallError>>), CallError> {
        let (reply, answer) = oneshot::channel();
        let context = &self.shared.context;
        let (call_id, wake) = {
            let mut state = self.shared.state();
            if let Some(reason) = &state.closed {
                return Err(reason.clone());
            }
            let (call_id, retry_count) = match ids {
                Some((call_id, retry_count)) => {
                    if state.pending.contains_key(&call_id) {
                        return Err(CallError::broken(format!(
                            "call id {call_id} is already waiting for its answer"
                        )));
                    }
                    (call_id, Some(retry_count))
                }
                None => {
                    let call_id = state.next_call_id;
                    // Call ids are non-negative (negative ones are out of band) and wrap.
                    state.next_call_id = call_id.checked_add(1).unwrap_or(0);
                    (call_id, None)
                }
            };
            let wake = state.outbox.is_empty();
            let mut header = frame::request_header(call_id, &context.client_id);
            header.retry_count = retry_count;
            frame::encode_request(
                &mut state.outbox,
                &header,
                &pb::RequestHeaderProto {
                    method_name: method.to_string(),
                    declaring_class_protocol_name: context.protocol.to_string(),
                    client_protocol_version: context.protocol_version,
                },
                request,
            );
            state.pending.insert(call_id, reply);
            (call_id, wake)
        };
        if wake {
            self.shared.wake_writer.notify_one();
        }
        Ok((call_id, answer))
    }
}

/// Sends queued calls: everything queued since the last write goes out in one write.
async fn write_calls(shared: Arc<Shared>, mut writer: OwnedWriteHalf) {
    let mut sending = BytesMut::new();
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = shared.wake_writer.notified() => {}
        }
        {
            let mut state = shared.state();
            if state.closed.is_some() {
                break;
            }
            std::mem::swap(&mut state.outbox, &mut sending);
        }
        if sending.is_empty() {
            continue;
        }
        if let Err(err) = writer.write_all(&sending).await {
            shared.close(CallError::io(&err));
            break;
        }
        sending.clear();
    }
    let _ = writer.shutdown().await;
}

/// Reads answers and hands each to its caller; every answer one read brings is delivered
/// under one lock.
async fn read_answers(shared: Arc<Shared>, mut reader: OwnedReadHalf) {
    let max = shared.context.max_response_length;
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut answers: Vec<Answer> = Vec::new();
    loop {
        let read = tokio::select! {
            _ = shared.stop.cancelled() => return,
            read = reader.read_buf(&mut input) => read,
        };
        match read {
            Ok(0) => {
                let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                return shared.close(CallError::io(&eof));
            }
            Ok(_) => {}
            Err(err) => return shared.close(CallError::io(&err)),
        }
        let mut broken = None;
        loop {
            match frame::split_frame(&mut input, max) {
                Ok(Some(bytes)) => match frame::decode_response(bytes) {
                    Ok(answer) => answers.push(answer),
                    Err(message) => {
                        broken = Some(CallError::broken(message));
                        break;
                    }
                },
                Ok(None) => break,
                Err(frame::FrameError::TooLong { .. }) => {
                    broken = Some(CallError::broken(
                        "RPC response exceeds maximum data length",
                    ));
                    break;
                }
                Err(_) => {
                    broken = Some(CallError::broken("RPC response has invalid length"));
                    break;
                }
            }
        }
        let mut fatal = None;
        {
            let mut state = shared.state();
            for answer in answers.drain(..) {
                if let Err(failure) = &answer.outcome
                    && failure.fatal
                {
                    fatal = Some(CallError::Remote(failure.clone()));
                }
                if let Some(reply) = state.pending.remove(&answer.call_id) {
                    let _ = reply.send(answer.outcome.map_err(CallError::Remote));
                }
            }
        }
        if let Some(reason) = fatal.or(broken) {
            return shared.close(reason);
        }
    }
}
