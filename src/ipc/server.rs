//! The server side of one IPC connection: reads the preamble and the connection context, then
//! calls; runs every call's future inside the connection's own task; answers each call as it
//! completes, gathering every answer ready at that moment into one write.
//!
//! Rules it keeps:
//! - a frame that cannot be decoded, a length over `ipc.maximum.data.length`, a call before
//!   the connection context: a FATAL answer naming what is wrong (and a WARN log line), then
//!   this connection closes — nothing else is affected;
//! - an unknown method or protocol is an ERROR answer to that call, and the connection stays
//!   open, as in Hadoop;
//! - a call that started runs to its end even when its connection goes away (its answer is
//!   dropped), so that a retry finds it in the NameNode's retry cache instead of running twice.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

use super::RemoteException;
use super::frame::{
    self, FrameError, HTTP_GET_RESPONSE, Inbound, InboundCall, NO_CALL_ID, PREAMBLE_LEN,
    PreambleError, VERSION, class,
};
use crate::proto::ipc::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};

/// Who makes the calls of a connection, as its connection context said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub address: IpAddr,
    /// The effective user of the connection context ("" when it named none).
    pub user: String,
    /// The protocol the connection was opened for.
    pub protocol: String,
}

/// The ids in one call's header: the client's 16-byte id and the call's id and retry count,
/// which a retry cache keys its answers on (Hadoop's `Server.getClientId`/`getCallId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallIds {
    pub client_id: Bytes,
    pub call_id: i32,
    pub retry_count: i32,
}

/// The encoded response message of a call, or the exception it raised.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, RemoteException>> + Send>>;

/// Why a service could not start a call.
#[derive(Debug)]
pub enum DispatchError {
    /// The protocol has no such method (an ERROR answer).
    NoSuchMethod,
    /// The request is not the method's request message (fatal to the connection).
    Undecodable(prost::DecodeError),
}

/// The protocols served on one IPC port: the one place that maps method names to handlers.
pub trait Service: Send + Sync + 'static {
    /// The protocol names calls may declare (`declaringClassProtocolName`).
    fn protocols(&self) -> &'static [&'static str];

    /// Decodes `payload` as the request of `method` of `protocol` (one of `protocols()`) and
    /// starts the call.
    fn call(
        &self,
        caller: &Arc<Caller>,
        ids: CallIds,
        protocol: &str,
        method: &str,
        payload: Bytes,
    ) -> Result<ResponseFuture, DispatchError>;
}

/// The limits a server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConf {
    /// `ipc.maximum.data.length`: the longest request frame read.
    pub max_data_length: usize,
}

impl Default for ServerConf {
    fn default() -> Self {
        ServerConf {
            max_data_length: frame::DEFAULT_MAX_DATA_LENGTH,
        }
    }
}

/// A running call and the id its answer goes to.
struct Running {
    call_id: i32,
    future: ResponseFuture,
}

impl Future for Running {
    type Output = (i32, Result<Vec<u8>, RemoteException>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let call_id = self.call_id;
        self.future
            .as_mut()
            .poll(cx)
            .map(|outcome| (call_id, outcome))
    }
}

/// An answer that ends the connection.
struct Fatal {
    call_id: i32,
    code: RpcErrorCodeProto,
    class: &'static str,
    message: String,
}

/// The state of one connection after its preamble.
struct Connection<S> {
    service: Arc<S>,
    peer: SocketAddr,
    conf: ServerConf,
    caller: Option<Arc<Caller>>,
    running: FuturesUnordered<Running>,
    /// Answers not written yet.
    output: BytesMut,
}

/// Serves one connection until the client closes it, it breaks, a fatal error ends it, or
/// `shutdown` is cancelled.
pub async fn serve_connection<S: Service>(
    stream: TcpStream,
    service: Arc<S>,
    conf: ServerConf,
    shutdown: CancellationToken,
) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut input = BytesMut::with_capacity(8 * 1024);
    let preamble = loop {
        if let Some(parsed) = frame::parse_preamble(&input) {
            break parsed;
        }
        let read = tokio::select! {
            _ = shutdown.cancelled() => return,
            read = reader.read_buf(&mut input) => read,
        };
        if !matches!(read, Ok(n) if n > 0) {
            return;
        }
    };
    if let Err(err) = preamble {
        refuse_preamble(&mut writer, peer, err).await;
        return;
    }
    input.advance(PREAMBLE_LEN);
    let mut conn = Connection {
        service,
        peer,
        conf,
        caller: None,
        running: FuturesUnordered::new(),
        output: BytesMut::with_capacity(8 * 1024),
    };
    let mut reading = true;
    loop {
        let fatal = if reading {
            conn.take_frames(&mut input)
        } else {
            None
        };
        conn.take_ready_answers();
        if let Some(fatal) = &fatal {
            conn.answer_fatal(fatal);
        }
        if !conn.output.is_empty() {
            if writer.write_all(&conn.output).await.is_err() {
                break;
            }
            conn.output.clear();
        }
        if fatal.is_some() || (!reading && conn.running.is_empty()) {
            break;
        }
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            Some((call_id, outcome)) = conn.running.next(), if !conn.running.is_empty() => {
                conn.answer(call_id, outcome);
            }
            read = reader.read_buf(&mut input), if reading => match read {
                Ok(0) => {
                    reading = false;
                    if !input.is_empty() {
                        let fatal = conn.truncated(input.len());
                        conn.answer_fatal(&fatal);
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!("IPC connection from {peer} broke: {err}");
                    reading = false;
                }
            },
        }
    }
    let _ = writer.shutdown().await;
    drop(writer);
    drop(reader);
    // Calls that started finish even though nobody will read their answers.
    let mut running = conn.running;
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = async { while running.next().await.is_some() {} } => {}
    }
}

/// Answers a preamble that is not ours as Hadoop does, then the connection closes.
async fn refuse_preamble(writer: &mut OwnedWriteHalf, peer: SocketAddr, err: PreambleError) {
    let mut output = BytesMut::new();
    match err {
        PreambleError::HttpGet => output.extend_from_slice(HTTP_GET_RESPONSE.as_bytes()),
        PreambleError::BadMagic { magic, version } => {
            tracing::warn!(
                "Incorrect RPC Header length from {peer} expected length: {:?} got length: {:?}",
                String::from_utf8_lossy(&frame::MAGIC),
                String::from_utf8_lossy(&magic)
            );
            bad_version(&mut output, version);
        }
        PreambleError::Version(version) => {
            tracing::warn!(
                "Version mismatch from {peer} got version {version} expected version {VERSION}"
            );
            bad_version(&mut output, version);
        }
        PreambleError::AuthProtocol(auth) => {
            let message = if auth as i8 == -33 {
                "SASL authentication is not enabled.  Available:[SIMPLE]".to_string()
            } else {
                format!("Unknown auth protocol:{}", auth as i8)
            };
            tracing::warn!("IPC connection from {peer} refused: {message}");
            let header = frame::response_header(
                -33,
                RpcStatusProto::Fatal,
                Some((
                    RpcErrorCodeProto::FatalUnauthorized,
                    "org.apache.hadoop.security.AccessControlException",
                    &message,
                )),
            );
            frame::encode_response(&mut output, &header, None);
        }
    }
    let _ = writer.write_all(&output).await;
    let _ = writer.shutdown().await;
}

/// Hadoop's answer to a client of another IPC version (`setupBadVersionResponse`): clients
/// of version 9 and later can read it; older ones get nothing.
fn bad_version(output: &mut BytesMut, version: u8) {
    if version < VERSION {
        return;
    }
    let message =
        format!("Server IPC version {VERSION} cannot communicate with client version {version}");
    let header = frame::response_header(
        NO_CALL_ID,
        RpcStatusProto::Fatal,
        Some((
            RpcErrorCodeProto::FatalVersionMismatch,
            class::VERSION_MISMATCH,
            &message,
        )),
    );
    frame::encode_response(output, &header, None);
}

impl<S: Service> Connection<S> {
    /// Handles every whole frame in `input`; stops at a fatal one.
    fn take_frames(&mut self, input: &mut BytesMut) -> Option<Fatal> {
        loop {
            let frame = match frame::split_frame(input, self.conf.max_data_length) {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(err) => return Some(self.refuse_frame(err)),
            };
            let inbound = match frame::decode_request(frame) {
                Ok(inbound) => inbound,
                Err(err) => return Some(self.refuse_frame(err)),
            };
            if let Err(fatal) = self.take(inbound) {
                return Some(fatal);
            }
        }
    }

    fn take(&mut self, inbound: Inbound) -> Result<(), Fatal> {
        let invalid = |call_id: i32, message: &str| Fatal {
            call_id,
            code: RpcErrorCodeProto::FatalInvalidRpcHeader,
            class: class::FATAL_RPC_SERVER,
            message: message.to_string(),
        };
        match inbound {
            Inbound::Ping => Ok(()),
            Inbound::ConnectionContext(context) => {
                if self.caller.is_some() {
                    return Err(invalid(
                        frame::CONNECTION_CONTEXT_CALL_ID,
                        "Connection context already processed",
                    ));
                }
                self.caller = Some(Arc::new(Caller {
                    address: self.peer.ip(),
                    user: context
                        .user_info
                        .and_then(|u| u.effective_user)
                        .unwrap_or_default(),
                    protocol: context.protocol.unwrap_or_default(),
                }));
                Ok(())
            }
            Inbound::Call(call) => {
                let Some(caller) = self.caller.clone() else {
                    return Err(invalid(call.call_id, "Connection context not established"));
                };
                self.start(&caller, call)
            }
        }
    }

    /// Starts a call, or answers at once when it names no method of ours.
    fn start(&mut self, caller: &Arc<Caller>, call: InboundCall) -> Result<(), Fatal> {
        if !self.service.protocols().contains(&call.protocol.as_str()) {
            let message = format!("Unknown protocol: {}", call.protocol);
            self.answer_error(
                call.call_id,
                RpcErrorCodeProto::ErrorNoSuchProtocol,
                class::NO_SUCH_PROTOCOL,
                &message,
            );
            return Ok(());
        }
        let ids = CallIds {
            client_id: call.client_id,
            call_id: call.call_id,
            retry_count: call.retry_count,
        };
        match self
            .service
            .call(caller, ids, &call.protocol, &call.method, call.payload)
        {
            Ok(future) => {
                self.running.push(Running {
                    call_id: call.call_id,
                    future,
                });
                Ok(())
            }
            Err(DispatchError::NoSuchMethod) => {
                let message = format!(
                    "Unknown method {} called on {} protocol.",
                    call.method, call.protocol
                );
                tracing::warn!("{message}");
                self.answer_error(
                    call.call_id,
                    RpcErrorCodeProto::ErrorNoSuchMethod,
                    class::NO_SUCH_METHOD,
                    &message,
                );
                Ok(())
            }
            Err(DispatchError::Undecodable(err)) => Err(Fatal {
                call_id: call.call_id,
                code: RpcErrorCodeProto::FatalDeserializingRequest,
                class: class::FATAL_RPC_SERVER,
                message: format!("IPC server unable to read call parameters: {err}"),
            }),
        }
    }

    /// The fatal answer to a frame that could not be read, and its WARN line.
    fn refuse_frame(&self, err: FrameError) -> Fatal {
        let host = self.peer.ip();
        let (call_id, code, class, message) = match err {
            FrameError::NegativeLength(_) => (
                NO_CALL_ID,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                class::IO_EXCEPTION,
                format!("{err}!! from {host}"),
            ),
            FrameError::TooLong { .. } => (
                NO_CALL_ID,
                RpcErrorCodeProto::FatalInvalidRpcHeader,
                class::IO_EXCEPTION,
                format!("{err}.  RPC came from {host}"),
            ),
            FrameError::Malformed {
                call_id,
                code,
                message,
            } => (
                call_id.unwrap_or(NO_CALL_ID),
                code,
                class::FATAL_RPC_SERVER,
                message,
            ),
        };
        Fatal {
            call_id,
            code,
            class,
            message,
        }
    }

    fn truncated(&self, buffered: usize) -> Fatal {
        Fatal {
            call_id: NO_CALL_ID,
            code: RpcErrorCodeProto::FatalDeserializingRequest,
            class: class::IO_EXCEPTION,
            message: format!(
                "The connection from {} ended within a frame ({buffered} bytes of it received)",
                self.peer
            ),
        }
    }

    /// Answers every call that has completed, without waiting for any.
    fn take_ready_answers(&mut self) {
        while let Some(Some((call_id, outcome))) = self.running.next().now_or_never() {
            self.answer(call_id, outcome);
        }
    }

    fn answer(&mut self, call_id: i32, outcome: Result<Vec<u8>, RemoteException>) {
        match outcome {
            Ok(response) => {
                let header = frame::response_header(call_id, RpcStatusProto::Success, None);
                frame::encode_response(&mut self.output, &header, Some(&response));
            }
            Err(err) => self.answer_error(
                call_id,
                RpcErrorCodeProto::ErrorApplication,
                &err.class,
                &err.message,
            ),
        }
    }

    fn answer_error(&mut self, call_id: i32, code: RpcErrorCodeProto, class: &str, message: &str) {
        let header =
            frame::response_header(call_id, RpcStatusProto::Error, Some((code, class, message)));
        frame::encode_response(&mut self.output, &header, None);
    }

    fn answer_fatal(&mut self, fatal: &Fatal) {
        tracing::warn!(
            "IPC connection from {} closed: {}",
            self.peer,
            fatal.message
        );
        let header = frame::response_header(
            fatal.call_id,
            RpcStatusProto::Fatal,
            Some((fatal.code, fatal.class, &fatal.message)),
        );
        frame::encode_response(&mut self.output, &header, None);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prost::Message;
    use tokio::net::TcpListener;

    use super::*;
    use crate::ipc::client::{CallError, Connection, ConnectionContext};
    use crate::proto::ipc::UserInformationProto;

    const PROTOCOL: &str = "test.EchoProtocol";
    const DEADLINE: Duration = Duration::from_secs(20);

    /// A protocol of two methods: `echo` answers the request with the caller's user as
    /// `realUser`, `fail` raises an exception.
    struct Echo;

    impl Service for Echo {
        fn protocols(&self) -> &'static [&'static str] {
            &[PROTOCOL]
        }

        fn call(
            &self,
            caller: &Arc<Caller>,
            ids: CallIds,
            _protocol: &str,
            method: &str,
            payload: Bytes,
        ) -> Result<ResponseFuture, DispatchError> {
            let request =
                UserInformationProto::decode(payload).map_err(DispatchError::Undecodable)?;
            let user = caller.user.clone();
            match method {
                // The header's ids, as the service saw them: `<client id byte> <call> <retry>`.
                "ids" => Ok(Box::pin(async move {
                    Ok(UserInformationProto {
                        effective_user: Some(format!(
                            "{} {} {}",
                            ids.client_id.first().copied().unwrap_or_default(),
                            ids.call_id,
                            ids.retry_count
                        )),
                        real_user: None,
                    }
                    .encode_to_vec())
                })),
                "echo" => Ok(Box::pin(async move {
                    Ok(UserInformationProto {
                        effective_user: request.effective_user,
                        real_user: Some(user),
                    }
                    .encode_to_vec())
                })),
                "fail" => Ok(Box::pin(async move {
                    Err(RemoteException {
                        class: "java.io.FileNotFoundException".to_string(),
                        message: format!("{} not found", request.effective_user()),
                    })
                })),
                _ => Err(DispatchError::NoSuchMethod),
            }
        }
    }

    /// A server of [`Echo`] on an ephemeral loopback port, one task per connection.
    async fn serve(max_data_length: usize) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let token = CancellationToken::new();
        let service = Arc::new(Echo);
        let stop = token.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => accepted.unwrap(),
                };
                let conf = ServerConf { max_data_length };
                tokio::spawn(serve_connection(
                    stream,
                    service.clone(),
                    conf,
                    stop.clone(),
                ));
            }
        });
        (address, token)
    }

    fn context(protocol: &'static str) -> ConnectionContext {
        ConnectionContext {
            protocol,
            protocol_version: 1,
            user: "alice".to_string(),
            client_id: [7; 16],
            max_response_length: frame::DEFAULT_MAX_RESPONSE_LENGTH,
        }
    }

    async fn connect(address: SocketAddr, protocol: &'static str) -> Connection {
        Connection::connect("127.0.0.1", address.port(), context(protocol))
            .await
            .unwrap()
    }

    fn named(name: &str) -> UserInformationProto {
        UserInformationProto {
            effective_user: Some(name.to_string()),
            real_user: None,
        }
    }

    async fn echo(connection: &Connection, name: &str) -> Result<String, CallError> {
        let answer: UserInformationProto = connection.call("echo", &named(name)).await?;
        Ok(format!(
            "{}/{}",
            answer.effective_user(),
            answer.real_user()
        ))
    }

    fn remote(outcome: Result<UserInformationProto, CallError>) -> frame::Failure {
        match outcome {
            Err(CallError::Remote(failure)) => failure,
            other => panic!("expected a remote exception, got {other:?}"),
        }
    }

    /// Sends `bytes` on a fresh connection, then reads until the server closes it.
    async fn exchange(address: SocketAddr, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
            .await
            .expect("the server closes a connection it refuses")
            .unwrap();
        answer
    }

    /// The answers in `bytes`, in order.
    fn answers(bytes: &[u8]) -> Vec<frame::Answer> {
        let mut buf = BytesMut::from(bytes);
        let mut answers = Vec::new();
        while let Some(frame) = frame::split_frame(&mut buf, usize::MAX).unwrap() {
            answers.push(frame::decode_response(frame).unwrap());
        }
        assert!(buf.is_empty(), "a partial answer: {buf:?}");
        answers
    }

    fn the_failure(bytes: &[u8]) -> frame::Failure {
        let mut answers = answers(bytes);
        assert_eq!(answers.len(), 1, "one answer expected");
        answers.remove(0).outcome.expect_err("a failure expected")
    }

    fn hello() -> BytesMut {
        let mut hello = BytesMut::from(&frame::preamble()[..]);
        frame::encode_connection_context(
            &mut hello,
            &[1; 16],
            &crate::proto::ipc::IpcConnectionContextProto {
                user_info: None,
                protocol: Some(PROTOCOL.to_string()),
            },
        );
        hello
    }

    #[tokio::test]
    async fn calls_answer_and_exceptions_keep_the_connection_open() {
        let (address, _token) = serve(frame::DEFAULT_MAX_DATA_LENGTH).await;
        let connection = connect(address, PROTOCOL).await;
        assert_eq!(echo(&connection, "x").await.unwrap(), "x/alice");

        let failure = remote(connection.call("fail", &named("/f")).await);
        assert_eq!(
            (
                failure.fatal,
                failure.exception.class.as_str(),
                failure.exception.message.as_str()
            ),
            (false, "java.io.FileNotFoundException", "/f not found")
        );
        let failure = remote(connection.call("rm", &named("/f")).await);
        assert!(!failure.fatal);
        assert_eq!(failure.exception.class, frame::class::NO_SUCH_METHOD);
        assert_eq!(
            failure.exception.message,
            "Unknown method rm called on test.EchoProtocol protocol."
        );
        assert!(!connection.is_closed());
        assert_eq!(echo(&connection, "y").await.unwrap(), "y/alice");

        let other = connect(address, "test.OtherProtocol").await;
        let failure = remote(other.call("echo", &named("z")).await);
        assert_eq!(failure.exception.class, frame::class::NO_SUCH_PROTOCOL);
        assert_eq!(
            failure.exception.message,
            "Unknown protocol: test.OtherProtocol"
        );
    }

    #[tokio::test]
    async fn a_service_sees_the_header_ids_and_a_retry_keeps_its_call_id() {
        let (address, _token) = serve(frame::DEFAULT_MAX_DATA_LENGTH).await;
        let connection = connect(address, PROTOCOL).await;
        let ids = |answer: Result<UserInformationProto, CallError>| {
            answer.unwrap().effective_user.unwrap_or_default()
        };
        // The connection's own ids count up from 0 with no retry count (the header's default,
        // -1); a retry of call 41 says which attempt it is.
        assert_eq!(ids(connection.call("ids", &named("")).await), "7 0 -1");
        assert_eq!(
            ids(connection.call_as("ids", &named(""), 41, 3).await),
            "7 41 3"
        );
        assert_eq!(ids(connection.call("ids", &named("")).await), "7 1 -1");
    }

    #[tokio::test]
    async fn one_connection_carries_many_calls_at_once() {
        let (address, _token) = serve(frame::DEFAULT_MAX_DATA_LENGTH).await;
        let connection = Arc::new(connect(address, PROTOCOL).await);
        let calls: Vec<_> = (0..500)
            .map(|i| {
                let connection = connection.clone();
                tokio::spawn(async move { echo(&connection, &i.to_string()).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.unwrap().unwrap(), format!("{i}/alice"));
        }
    }

    #[tokio::test]
    async fn a_request_that_is_not_the_methods_message_closes_only_its_connection() {
        let (address, _token) = serve(frame::DEFAULT_MAX_DATA_LENGTH).await;
        let bystander = connect(address, PROTOCOL).await;
        let connection = connect(address, PROTOCOL).await;
        // Field 1 of the request is a string: bytes that are not UTF-8 cannot be decoded.
        let garbage: Vec<u8> = vec![0xff, 0xfe, 0xfd];
        let failure = remote(connection.call("echo", &garbage).await);
        assert!(failure.fatal, "{failure:?}");
        assert_eq!(failure.exception.class, frame::class::FATAL_RPC_SERVER);
        assert!(
            failure
                .exception
                .message
                .starts_with("IPC server unable to read call parameters"),
            "{}",
            failure.exception.message
        );
        assert!(connection.is_closed());
        assert_eq!(echo(&bystander, "still").await.unwrap(), "still/alice");
    }

    #[tokio::test]
    async fn bad_bytes_get_hadoops_answers_and_harm_no_other_connection() {
        let (address, _token) = serve(1024).await;
        let bystander = connect(address, PROTOCOL).await;

        // A browser pointed at the RPC port.
        let answer = exchange(address, b"GET / HTTP/1.1\r\nHost: nn\r\n\r\n").await;
        assert_eq!(String::from_utf8(answer).unwrap(), HTTP_GET_RESPONSE);

        // Not IPC at all: Hadoop's version-mismatch answer, then the connection closes.
        let failure = the_failure(&exchange(address, b"hello, namenode").await);
        assert!(failure.fatal);
        assert_eq!(failure.exception.class, frame::class::VERSION_MISMATCH);

        // Another IPC version.
        let failure = the_failure(&exchange(address, b"hrpc\x0a\x00\x00").await);
        assert_eq!(
            failure.exception.message,
            "Server IPC version 9 cannot communicate with client version 10"
        );

        // SASL asked for.
        let failure = the_failure(&exchange(address, b"hrpc\x09\x00\xdf").await);
        assert_eq!(
            failure.exception.message,
            "SASL authentication is not enabled.  Available:[SIMPLE]"
        );

        // A frame longer than ipc.maximum.data.length is refused before it is read.
        let mut oversize = hello();
        oversize.extend_from_slice(&4096u32.to_be_bytes());
        let failure = the_failure(&exchange(address, &oversize).await);
        assert!(failure.fatal);
        assert!(
            failure.exception.message.starts_with(
                "Requested data length 4096 is longer than maximum configured RPC length 1024"
            ),
            "{}",
            failure.exception.message
        );

        // A negative length.
        let mut negative = hello();
        negative.extend_from_slice(&(-5i32).to_be_bytes());
        let failure = the_failure(&exchange(address, &negative).await);
        assert!(
            failure
                .exception
                .message
                .starts_with("Unexpected data length -5")
        );

        // A call before the connection context.
        let mut early = BytesMut::from(&frame::preamble()[..]);
        frame::encode_request(
            &mut early,
            &frame::request_header(0, &[1; 16]),
            &crate::proto::ipc::RequestHeaderProto {
                method_name: "echo".to_string(),
                declaring_class_protocol_name: PROTOCOL.to_string(),
                client_protocol_version: 1,
            },
            &named("early"),
        );
        let failure = the_failure(&exchange(address, &early).await);
        assert_eq!(
            failure.exception.message,
            "Connection context not established"
        );

        // A frame of random bytes after the context.
        let mut random = hello();
        random.extend_from_slice(&6u32.to_be_bytes());
        random.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let failure = the_failure(&exchange(address, &random).await);
        assert!(failure.fatal, "{failure:?}");

        // A connection that ends inside a frame.
        let mut torn = hello();
        torn.extend_from_slice(&100u32.to_be_bytes());
        torn.extend_from_slice(&[0; 10]);
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(&torn).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let failure = the_failure(&answer);
        assert!(
            failure.exception.message.contains("ended within a frame"),
            "{failure:?}"
        );

        assert_eq!(echo(&bystander, "fine").await.unwrap(), "fine/alice");
    }
}
