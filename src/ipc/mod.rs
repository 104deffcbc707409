//! Hadoop IPC: the transport of the NameNode's client protocol — protobuf messages in
//! length-prefixed frames on TCP, many calls multiplexed on one connection.
//!
//! # Why not gRPC
//!
//! A namespace call is small (a create is ~60 bytes each way) and a NameNode answers tens of
//! thousands a second. Over gRPC each call was an HTTP/2 stream: HEADERS and DATA frames, hpack,
//! stream bookkeeping and tower layers, and one read and one write syscall per call on each
//! side — most of the NameNode's CPU went there, not to the namespace. Here a call costs a
//! frame; a connection reads every frame one read returns, and writes every answer ready at
//! that moment in one write, so under load syscalls and wakeups are shared by many calls. It is
//! also what Hadoop's clients speak: `ipc.Server` and `ipc.Client`'s framing, headers and
//! error statuses, with one connection per server shared by a process's callers.
//!
//! # Frame layout
//!
//! A client opens a connection with a 7-byte preamble, then sends frames:
//!
//! ```text
//! preamble:  "hrpc" | version (9) | service class (0) | auth protocol (0 = none)
//! frame:     length (u32, big-endian, the bytes that follow; at most ipc.maximum.data.length)
//!            | RpcRequestHeaderProto, length-delimited     (call id, client id, kind, op)
//!            | RequestHeaderProto, length-delimited        (method, protocol, version)
//!            | the request message, length-delimited
//! ```
//!
//! The first frame is the connection context: a request header with call id -3 followed by an
//! `IpcConnectionContextProto` (user and protocol); call id -4 is a ping. The server answers
//! each call, in whatever order calls complete:
//!
//! ```text
//! answer:    length (u32, big-endian)
//!            | RpcResponseHeaderProto, length-delimited    (call id, status, exception class
//!                                                           and message when not SUCCESS)
//!            | the response message, length-delimited      (SUCCESS only)
//! ```
//!
//! Status ERROR fails one call and keeps the connection; FATAL (a frame that cannot be read,
//! a length over the limit, a call before the context) closes it. Varints and messages are
//! protobuf's; the headers are Hadoop's (`proto/ipc.proto`).
//!
//! - [`frame`]: the bytes — pure encoders and decoders, no I/O;
//! - [`server`]: one connection of a server, and the [`server::Service`] a protocol implements;
//! - [`client`]: one multiplexed client connection;
//! - [`exception`]: Hadoop's exceptions on the wire and the IPC client's texts for a call
//!   without answer, mapped in one place;
//! - [`peer`]: a client connection for one protocol, with timeouts and Hadoop's failure texts;
//! - [`accept`]: the accept loop of a port.
//!
//! Every daemon-to-daemon protocol runs over it: the NameNode's ClientNamenodeProtocol,
//! HAServiceProtocol and NamenodeProtocol, the JournalNode's QJournalProtocol and
//! InterQJournalProtocol, the ZKFC's ZKFCProtocol.

pub mod accept;
pub mod client;
pub mod exception;
pub mod frame;
pub mod peer;
pub mod server;

pub use exception::{CallFailure, RemoteException, Unreachable};
