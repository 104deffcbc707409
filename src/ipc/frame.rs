//! The bytes of Hadoop IPC and nothing else: the connection preamble, length-prefixed frames,
//! and the headers inside them. Pure functions over buffers — a decoder answers `Ok(None)`
//! when it needs more bytes, an error when the bytes can never become a frame — so that they
//! can be tested (and fuzzed) without sockets.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;

use super::RemoteException;
use crate::proto::ipc as pb;
use pb::rpc_request_header_proto::OperationProto;
use pb::rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto};

/// The first four bytes of every IPC connection.
pub const MAGIC: [u8; 4] = *b"hrpc";
/// The IPC version we speak (`RpcConstants.CURRENT_VERSION`).
pub const VERSION: u8 = 9;
/// "hrpc", the version, the service class and the auth protocol.
pub const PREAMBLE_LEN: usize = 7;
/// The auth protocol `NONE` (simple authentication: the user is who the client says).
pub const AUTH_NONE: u8 = 0;
/// The call id of the connection context (`RpcConstants.CONNECTION_CONTEXT_CALL_ID`).
pub const CONNECTION_CONTEXT_CALL_ID: i32 = -3;
/// The call id of a ping (`RpcConstants.PING_CALL_ID`).
pub const PING_CALL_ID: i32 = -4;
/// The call id of an answer that belongs to no call (`RpcConstants.INVALID_CALL_ID`).
pub const INVALID_CALL_ID: i32 = -2;
/// The call id of a connection-level failure answered before any call (Hadoop's fake call).
pub const NO_CALL_ID: i32 = -1;
/// `ipc.maximum.data.length`'s default: the largest request frame a server reads.
pub const DEFAULT_MAX_DATA_LENGTH: usize = 64 << 20;
/// `ipc.maximum.response.length`'s default: the largest answer frame a client reads.
pub const DEFAULT_MAX_RESPONSE_LENGTH: usize = 128 << 20;
/// The bytes of the length before each frame.
const LENGTH_LEN: usize = 4;

/// The Java classes of the exceptions the IPC layer itself raises.
pub mod class {
    pub const FATAL_RPC_SERVER: &str = "org.apache.hadoop.ipc.Server$FatalRpcServerException";
    pub const VERSION_MISMATCH: &str = "org.apache.hadoop.ipc.RPC$VersionMismatch";
    pub const NO_SUCH_METHOD: &str = "org.apache.hadoop.ipc.RpcNoSuchMethodException";
    pub const NO_SUCH_PROTOCOL: &str = "org.apache.hadoop.ipc.RpcNoSuchProtocolException";
    pub const IO_EXCEPTION: &str = "java.io.IOException";
}

/// What the connection preamble says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    pub version: u8,
    pub service_class: u8,
    pub auth_protocol: u8,
}

/// Why a preamble is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreambleError {
    /// The connection starts with `GET `: someone pointed a browser at the RPC port.
    HttpGet,
    /// The first four bytes are not `hrpc`; `version` is the fifth byte, as Hadoop reads it.
    BadMagic { magic: [u8; 4], version: u8 },
    /// `hrpc` with another IPC version.
    Version(u8),
    /// An auth protocol other than NONE (SASL is not served).
    AuthProtocol(u8),
}

/// Hadoop's answer to an HTTP request on an IPC port (`Server.RECEIVED_HTTP_REQ_RESPONSE`).
pub const HTTP_GET_RESPONSE: &str = "HTTP/1.1 404 Not Found\r\nContent-type: text/plain\r\n\r\nIt looks like you are making an HTTP request to a Hadoop IPC port. This is not the correct port for the web interface on this daemon.\r\n";

/// The preamble a client sends.
pub fn preamble() -> [u8; PREAMBLE_LEN] {
    let [h, r, p, c] = MAGIC;
    [h, r, p, c, VERSION, 0, AUTH_NONE]
}

/// Reads the preamble from the start of `buf`: `None` until all seven bytes are there.
pub fn parse_preamble(buf: &[u8]) -> Option<Result<Preamble, PreambleError>> {
    let bytes: [u8; PREAMBLE_LEN] = buf.get(..PREAMBLE_LEN)?.try_into().ok()?;
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    let preamble = Preamble {
        version: bytes[4],
        service_class: bytes[5],
        auth_protocol: bytes[6],
    };
    Some(if &magic == b"GET " {
        Err(PreambleError::HttpGet)
    } else if magic != MAGIC {
        Err(PreambleError::BadMagic {
            magic,
            version: preamble.version,
        })
    } else if preamble.version != VERSION {
        Err(PreambleError::Version(preamble.version))
    } else if preamble.auth_protocol != AUTH_NONE {
        Err(PreambleError::AuthProtocol(preamble.auth_protocol))
    } else {
        Ok(preamble)
    })
}

/// Why bytes cannot be a frame. Every variant is fatal to the connection it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is negative as Java reads it (the top bit set).
    #[error("Unexpected data length {0}")]
    NegativeLength(i32),
    /// The length prefix is over the limit (`ipc.maximum.data.length` for requests).
    #[error("Requested data length {length} is longer than maximum configured RPC length {max}")]
    TooLong { length: usize, max: usize },
    /// The frame's contents are not what the protocol says they are.
    #[error("{message}")]
    Malformed {
        /// The call the frame belongs to, when its header could be read.
        call_id: Option<i32>,
        code: RpcErrorCodeProto,
        message: String,
    },
}

impl FrameError {
    fn malformed(call_id: Option<i32>, code: RpcErrorCodeProto, message: String) -> FrameError {
        FrameError::Malformed {
            call_id,
            code,
            message,
        }
    }
}

/// Splits the next whole frame (without its length) off the front of `buf`; `Ok(None)` when
/// the frame is not all there yet. A length over `max` is an error as soon as the length is
/// read, before any of the frame is buffered.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(prefix) = buf.get(..LENGTH_LEN) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let length = usize::try_from(length).map_err(|_| FrameError::NegativeLength(length))?;
    if length > max {
        return Err(FrameError::TooLong { length, max });
    }
    if buf.len() < LENGTH_LEN + length {
        buf.reserve(LENGTH_LEN + length - buf.len());
        return Ok(None);
    }
    buf.advance(LENGTH_LEN);
    Ok(Some(buf.split_to(length).freeze()))
}

/// One length-delimited part of a frame, not decoded (its bytes are shared, not copied).
fn split_delimited(frame: &mut Bytes) -> Result<Bytes, String> {
    let length = prost::decode_length_delimiter(&mut *frame).map_err(|e| e.to_string())?;
    if length > frame.len() {
        return Err(format!(
            "a part of {length} bytes with {} bytes left in the frame",
            frame.len()
        ));
    }
    Ok(frame.split_to(length))
}

/// What a client sent in one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// The connection context (call id -3): the protocol and the user of every later call.
    ConnectionContext(pb::IpcConnectionContextProto),
    /// A ping (call id -4): nothing to answer.
    Ping,
    Call(InboundCall),
}

/// One call as it arrived: its ids, which method, and the undecoded request.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundCall {
    pub call_id: i32,
    pub retry_count: i32,
    pub client_id: Bytes,
    pub method: String,
    pub protocol: String,
    pub protocol_version: u64,
    /// The request message, decoded by the service that knows the method.
    pub payload: Bytes,
}

/// Decodes one request frame (as [`split_frame`] returned it). Errors carry Hadoop's message
/// and error code, and the call id when the header could be read.
pub fn decode_request(mut frame: Bytes) -> Result<Inbound, FrameError> {
    use RpcErrorCodeProto::{FatalDeserializingRequest, FatalInvalidRpcHeader};
    let header = split_delimited(&mut frame)
        .and_then(|b| pb::RpcRequestHeaderProto::decode(b).map_err(|e| e.to_string()))
        .map_err(|e| {
            FrameError::malformed(
                None,
                FatalDeserializingRequest,
                format!("Error decoding RpcRequestHeaderProto: {e}"),
            )
        })?;
    let call_id = header.call_id;
    let invalid =
        |message: String| FrameError::malformed(Some(call_id), FatalInvalidRpcHeader, message);
    // Hadoop's checkRpcHeaders, in its order and words.
    let Some(op) = header.rpc_op else {
        return Err(invalid(" IPC Server: No rpc op in rpcRequestHeader".into()));
    };
    if op != OperationProto::RpcFinalPacket as i32 {
        let name = OperationProto::try_from(op)
            .map(|o| o.as_str_name().to_string())
            .unwrap_or_else(|_| op.to_string());
        return Err(invalid(format!(
            "IPC Server does not implement rpc header operation{name}"
        )));
    }
    let Some(kind) = header.rpc_kind else {
        return Err(invalid(
            " IPC Server: No rpc kind in rpcRequestHeader".into(),
        ));
    };
    let rest = |frame: &mut Bytes| {
        let part = split_delimited(frame)?;
        if frame.has_remaining() {
            return Err(format!("{} bytes after the request", frame.remaining()));
        }
        Ok(part)
    };
    if call_id < 0 {
        return match call_id {
            CONNECTION_CONTEXT_CALL_ID => rest(&mut frame)
                .and_then(|b| pb::IpcConnectionContextProto::decode(b).map_err(|e| e.to_string()))
                .map(Inbound::ConnectionContext)
                .map_err(|e| {
                    FrameError::malformed(
                        Some(call_id),
                        FatalDeserializingRequest,
                        format!("Error decoding IpcConnectionContextProto: {e}"),
                    )
                }),
            PING_CALL_ID => Ok(Inbound::Ping),
            _ => Err(invalid(format!("Unknown out of band call #{call_id}"))),
        };
    }
    if kind != pb::RpcKindProto::RpcProtocolBuffer as i32 {
        let name = pb::RpcKindProto::try_from(kind)
            .map(|k| k.as_str_name().to_string())
            .unwrap_or_else(|_| kind.to_string());
        return Err(invalid(format!("Unknown rpc kind in rpc header{name}")));
    }
    let unreadable = |e: String| {
        FrameError::malformed(
            Some(call_id),
            FatalDeserializingRequest,
            format!("IPC server unable to read call parameters: {e}"),
        )
    };
    let method_header = split_delimited(&mut frame)
        .and_then(|b| pb::RequestHeaderProto::decode(b).map_err(|e| e.to_string()))
        .map_err(unreadable)?;
    let payload = rest(&mut frame).map_err(unreadable)?;
    Ok(Inbound::Call(InboundCall {
        call_id,
        retry_count: header.retry_count(),
        client_id: header.client_id.into(),
        method: method_header.method_name,
        protocol: method_header.declaring_class_protocol_name,
        protocol_version: method_header.client_protocol_version,
        payload,
    }))
}

fn delimited_len(message: &impl Message) -> usize {
    let length = message.encoded_len();
    prost::length_delimiter_len(length) + length
}

/// Appends the length prefix of a frame of `length` bytes.
fn put_length(out: &mut impl BufMut, length: usize) {
    out.put_u32(u32::try_from(length).expect("a frame is shorter than 4 GiB"));
}

/// The header of a client's request.
pub fn request_header(call_id: i32, client_id: &[u8]) -> pb::RpcRequestHeaderProto {
    pb::RpcRequestHeaderProto {
        rpc_kind: Some(pb::RpcKindProto::RpcProtocolBuffer as i32),
        rpc_op: Some(OperationProto::RpcFinalPacket as i32),
        call_id,
        client_id: client_id.to_vec(),
        retry_count: None,
    }
}

/// Appends the frame of the connection context.
pub fn encode_connection_context(
    out: &mut impl BufMut,
    client_id: &[u8],
    context: &pb::IpcConnectionContextProto,
) {
    let header = request_header(CONNECTION_CONTEXT_CALL_ID, client_id);
    put_length(out, delimited_len(&header) + delimited_len(context));
    header.encode_length_delimited(out).expect("BufMut grows");
    context.encode_length_delimited(out).expect("BufMut grows");
}

/// Appends the frame of one call.
pub fn encode_request(
    out: &mut impl BufMut,
    header: &pb::RpcRequestHeaderProto,
    method: &pb::RequestHeaderProto,
    request: &impl Message,
) {
    put_length(
        out,
        delimited_len(header) + delimited_len(method) + delimited_len(request),
    );
    header.encode_length_delimited(out).expect("BufMut grows");
    method.encode_length_delimited(out).expect("BufMut grows");
    request.encode_length_delimited(out).expect("BufMut grows");
}

/// The header of an answer.
pub fn response_header(
    call_id: i32,
    status: RpcStatusProto,
    failure: Option<(RpcErrorCodeProto, &str, &str)>,
) -> pb::RpcResponseHeaderProto {
    let (error_detail, exception_class_name, error_msg) = match failure {
        Some((code, class, message)) => (
            Some(code as i32),
            Some(class.to_string()),
            Some(message.to_string()),
        ),
        None => (None, None, None),
    };
    pb::RpcResponseHeaderProto {
        // Java writes the int call id as an unsigned field: -1 becomes 4294967295.
        call_id: call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(u32::from(VERSION)),
        exception_class_name,
        error_msg,
        error_detail,
        client_id: None,
        retry_count: None,
    }
}

/// Appends the frame of an answer: the header, and on success the encoded response message.
pub fn encode_response(
    out: &mut impl BufMut,
    header: &pb::RpcResponseHeaderProto,
    response: Option<&[u8]>,
) {
    let body_len = response.map_or(0, |r| prost::length_delimiter_len(r.len()) + r.len());
    put_length(out, delimited_len(header) + body_len);
    header.encode_length_delimited(out).expect("BufMut grows");
    if let Some(r) = response {
        prost::encode_length_delimiter(r.len(), out).expect("BufMut grows");
        out.put_slice(r);
    }
}

/// One answer as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The call it answers, as the signed id the call was sent with.
    pub call_id: i32,
    pub outcome: Result<Bytes, Failure>,
}

/// A call (or the connection) that failed, as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The connection is closed after this answer.
    pub fatal: bool,
    pub code: Option<RpcErrorCodeProto>,
    pub exception: RemoteException,
}

/// Decodes one answer frame.
pub fn decode_response(mut frame: Bytes) -> Result<Answer, String> {
    let header = split_delimited(&mut frame)
        .and_then(|b| pb::RpcResponseHeaderProto::decode(b).map_err(|e| e.to_string()))
        .map_err(|e| format!("Error decoding RpcResponseHeaderProto: {e}"))?;
    let call_id = header.call_id as i32;
    let status = RpcStatusProto::try_from(header.status).map_err(|_| {
        format!(
            "Unknown RPC status {} in the answer to call #{call_id}",
            header.status
        )
    })?;
    let outcome = match status {
        RpcStatusProto::Success => {
            let body = split_delimited(&mut frame)
                .map_err(|e| format!("Error decoding the answer to call #{call_id}: {e}"))?;
            Ok(body)
        }
        RpcStatusProto::Error | RpcStatusProto::Fatal => Err(Failure {
            fatal: status == RpcStatusProto::Fatal,
            code: header
                .error_detail
                .and_then(|c| RpcErrorCodeProto::try_from(c).ok()),
            exception: RemoteException {
                class: header.exception_class_name.unwrap_or_default(),
                message: header.error_msg.unwrap_or_default(),
            },
        }),
    };
    Ok(Answer { call_id, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(parts: &[&[u8]]) -> BytesMut {
        let mut buf = BytesMut::new();
        for part in parts {
            buf.put_u32(part.len() as u32);
            buf.put_slice(part);
        }
        buf
    }

    fn call_frame(call_id: i32, method: &str, request: &impl Message) -> Bytes {
        let mut buf = BytesMut::new();
        encode_request(
            &mut buf,
            &request_header(call_id, &[7; 16]),
            &pb::RequestHeaderProto {
                method_name: method.into(),
                declaring_class_protocol_name: "p.Proto".into(),
                client_protocol_version: 1,
            },
            request,
        );
        split_frame(&mut buf, DEFAULT_MAX_DATA_LENGTH)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn preambles() {
        assert_eq!(parse_preamble(b"hrpc\x09\x00"), None);
        assert_eq!(
            parse_preamble(&preamble()),
            Some(Ok(Preamble {
                version: 9,
                service_class: 0,
                auth_protocol: 0
            }))
        );
        assert_eq!(
            parse_preamble(b"GET / HTTP/1.1\r\n"),
            Some(Err(PreambleError::HttpGet))
        );
        assert_eq!(
            parse_preamble(b"hrpc\x07\x00\x00"),
            Some(Err(PreambleError::Version(7)))
        );
        assert_eq!(
            parse_preamble(b"hrpc\x09\x00\xdf"),
            Some(Err(PreambleError::AuthProtocol(0xdf)))
        );
        assert_eq!(
            parse_preamble(b"xyzw\x0a\x00\x00"),
            Some(Err(PreambleError::BadMagic {
                magic: *b"xyzw",
                version: 10
            }))
        );
    }

    #[test]
    fn frames_split_whole_and_wait_for_the_rest() {
        let mut buf = framed(&[b"abc", b"", b"defg"]);
        let whole = buf.clone();
        assert_eq!(split_frame(&mut buf, 10).unwrap().unwrap(), &b"abc"[..]);
        assert_eq!(split_frame(&mut buf, 10).unwrap().unwrap(), &b""[..]);
        assert_eq!(split_frame(&mut buf, 10).unwrap().unwrap(), &b"defg"[..]);
        assert_eq!(split_frame(&mut buf, 10).unwrap(), None);
        // Byte by byte: nothing until a frame is complete.
        let mut partial = BytesMut::new();
        let mut frames = Vec::new();
        for b in whole {
            partial.put_u8(b);
            while let Some(f) = split_frame(&mut partial, 10).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, [&b"abc"[..], b"", b"defg"]);
    }

    #[test]
    fn lengths_over_the_limit_or_negative_are_refused_before_buffering() {
        let mut buf = BytesMut::from(&[0x00, 0x00, 0x01, 0x00][..]);
        assert_eq!(
            split_frame(&mut buf, 255),
            Err(FrameError::TooLong {
                length: 256,
                max: 255
            })
        );
        assert_eq!(
            FrameError::TooLong {
                length: 256,
                max: 255
            }
            .to_string(),
            "Requested data length 256 is longer than maximum configured RPC length 255"
        );
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        assert_eq!(
            split_frame(&mut buf, 255),
            Err(FrameError::NegativeLength(-2))
        );
        // Exactly the limit is fine.
        let mut buf = framed(&[&[1; 255]]);
        assert_eq!(split_frame(&mut buf, 255).unwrap().unwrap().len(), 255);
    }

    #[test]
    fn requests_round_trip() {
        let request = pb::UserInformationProto {
            effective_user: Some("alice".into()),
            real_user: None,
        };
        let frame = call_frame(42, "create", &request);
        let Inbound::Call(call) = decode_request(frame).unwrap() else {
            panic!("not a call");
        };
        assert_eq!(
            (call.call_id, call.retry_count, call.method.as_str()),
            (42, -1, "create")
        );
        assert_eq!(
            (call.protocol.as_str(), call.protocol_version),
            ("p.Proto", 1)
        );
        assert_eq!(call.client_id, &[7u8; 16][..]);
        assert_eq!(
            pb::UserInformationProto::decode(call.payload).unwrap(),
            request
        );

        let context = pb::IpcConnectionContextProto {
            user_info: Some(request.clone()),
            protocol: Some("p.Proto".into()),
        };
        let mut buf = BytesMut::new();
        encode_connection_context(&mut buf, &[1; 16], &context);
        let frame = split_frame(&mut buf, 1024).unwrap().unwrap();
        assert_eq!(
            decode_request(frame).unwrap(),
            Inbound::ConnectionContext(context)
        );
    }

    #[test]
    fn answers_round_trip() {
        let mut buf = BytesMut::new();
        encode_response(
            &mut buf,
            &response_header(5, RpcStatusProto::Success, None),
            Some(b"\x08\x01"),
        );
        encode_response(
            &mut buf,
            &response_header(
                NO_CALL_ID,
                RpcStatusProto::Fatal,
                Some((
                    RpcErrorCodeProto::FatalVersionMismatch,
                    class::VERSION_MISMATCH,
                    "bad",
                )),
            ),
            None,
        );
        let ok = decode_response(split_frame(&mut buf, 100).unwrap().unwrap()).unwrap();
        assert_eq!(ok.call_id, 5);
        assert_eq!(ok.outcome.unwrap(), &b"\x08\x01"[..]);
        let fatal = decode_response(split_frame(&mut buf, 100).unwrap().unwrap()).unwrap();
        assert_eq!(fatal.call_id, -1);
        assert_eq!(
            fatal.outcome.unwrap_err(),
            Failure {
                fatal: true,
                code: Some(RpcErrorCodeProto::FatalVersionMismatch),
                exception: RemoteException {
                    class: class::VERSION_MISMATCH.into(),
                    message: "bad".into()
                }
            }
        );
    }

    fn header_frame(header: &pb::RpcRequestHeaderProto, rest: &[u8]) -> Bytes {
        let mut buf = Vec::new();
        header.encode_length_delimited(&mut buf).unwrap();
        buf.extend_from_slice(rest);
        buf.into()
    }

    fn error_of(frame: Bytes) -> (Option<i32>, RpcErrorCodeProto, String) {
        match decode_request(frame) {
            Err(FrameError::Malformed {
                call_id,
                code,
                message,
            }) => (call_id, code, message),
            other => panic!("not malformed: {other:?}"),
        }
    }

    #[test]
    fn malformed_requests_name_what_is_wrong() {
        use RpcErrorCodeProto::*;
        let (id, code, message) = error_of(Bytes::from_static(b"\x05\xff\xff"));
        assert_eq!((id, code), (None, FatalDeserializingRequest));
        assert!(
            message.starts_with("Error decoding RpcRequestHeaderProto: "),
            "{message}"
        );

        let mut header = request_header(3, &[1; 16]);
        header.rpc_op = None;
        assert_eq!(
            error_of(header_frame(&header, b"")),
            (
                Some(3),
                FatalInvalidRpcHeader,
                " IPC Server: No rpc op in rpcRequestHeader".into()
            )
        );
        header.rpc_op = Some(OperationProto::RpcCloseConnection as i32);
        assert_eq!(
            error_of(header_frame(&header, b"")).2,
            "IPC Server does not implement rpc header operationRPC_CLOSE_CONNECTION"
        );
        let mut header = request_header(3, &[1; 16]);
        header.rpc_kind = None;
        assert_eq!(
            error_of(header_frame(&header, b"")).2,
            " IPC Server: No rpc kind in rpcRequestHeader"
        );
        header.rpc_kind = Some(pb::RpcKindProto::RpcWritable as i32);
        assert_eq!(
            error_of(header_frame(&header, b"\x00\x00")).2,
            "Unknown rpc kind in rpc headerRPC_WRITABLE"
        );
        let header = request_header(-7, &[1; 16]);
        assert_eq!(
            error_of(header_frame(&header, b"")),
            (
                Some(-7),
                FatalInvalidRpcHeader,
                "Unknown out of band call #-7".into()
            )
        );
        assert_eq!(
            decode_request(header_frame(&request_header(PING_CALL_ID, &[]), b"")),
            Ok(Inbound::Ping)
        );

        // A method header that claims more bytes than the frame has.
        let header = request_header(9, &[1; 16]);
        let (id, code, message) = error_of(header_frame(&header, b"\x20\x0a"));
        assert_eq!((id, code), (Some(9), FatalDeserializingRequest));
        assert!(
            message.starts_with("IPC server unable to read call parameters: "),
            "{message}"
        );
        // Bytes after the request.
        let mut frame = call_frame(9, "m", &pb::UserInformationProto::default()).to_vec();
        frame.push(0);
        assert_eq!(
            error_of(frame.into()).2,
            "IPC server unable to read call parameters: 1 bytes after the request"
        );
    }

    proptest! {
        /// Whatever arrives, the decoders answer (a frame, "more", or an error) and never
        /// panic; a length over the limit is refused however the bytes are split.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..300) {
            let _ = parse_preamble(&bytes);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(frame)) = split_frame(&mut buf, max) {
                prop_assert!(frame.len() <= max);
                let _ = decode_request(frame.clone());
                let _ = decode_response(frame);
            }
        }

        /// A valid call survives any corruption of one byte without a panic, and decodes to
        /// itself when untouched.
        #[test]
        fn corrupted_calls_never_panic(index in 0usize..200, value in any::<u8>(), call_id in 0i32..i32::MAX, method in "[a-zA-Z]{0,20}") {
            let request = pb::UserInformationProto { effective_user: Some("u".into()), real_user: None };
            let frame = call_frame(call_id, &method, &request);
            match decode_request(frame.clone()) {
                Ok(Inbound::Call(call)) => {
                    prop_assert_eq!(call.call_id, call_id);
                    prop_assert_eq!(call.method, method);
                }
                other => prop_assert!(false, "{:?}", other),
            }
            let mut bytes = frame.to_vec();
            if !bytes.is_empty() {
                let i = index % bytes.len();
                bytes[i] = value;
            }
            let _ = decode_request(bytes.into());
        }
    }
}
