//! ClientNamenodeProtocol over IPC (`crate::ipc`): the protocol's name and its methods — one
//! table, from which both the server's dispatch and the typed client are made. (The Java
//! names of the exceptions it raises are `crate::ipc::exception`'s.)
//!
//! The messages are those of `proto/namenode.proto`; a method's name on the wire is Hadoop's
//! (`mkdirs`, `create`, `getListing`, …).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use crate::ipc::RemoteException;
use crate::ipc::client::{CallError, Connection, ConnectionContext};
use crate::ipc::server::{Caller, DispatchError, ResponseFuture, Service};
use crate::proto::namenode as pb;

/// The protocol name clients declare (Hadoop's `ClientNamenodeProtocolPB` is published as
/// this name).
pub const PROTOCOL: &str = "org.apache.hadoop.hdfs.protocol.ClientProtocol";
/// The protocol version clients declare.
pub const PROTOCOL_VERSION: u64 = 1;

/// What a client of this protocol says when it connects.
pub fn connection_context(
    user: &str,
    client_id: [u8; 16],
    max_response_length: usize,
) -> ConnectionContext {
    ConnectionContext {
        protocol: PROTOCOL,
        protocol_version: PROTOCOL_VERSION,
        user: user.to_string(),
        client_id,
        max_response_length,
    }
}

/// Serves a [`ClientProtocol`] implementation over IPC.
pub struct ClientProtocolServer<T>(pub Arc<T>);

/// A client of one NameNode's ClientNamenodeProtocol, over a shared connection.
#[derive(Debug, Clone)]
pub struct ClientProtocolClient(pub Arc<Connection>);

impl ClientProtocolClient {
    /// Opens a connection of its own to the NameNode at `host:port`.
    pub async fn connect(
        host: &str,
        port: u16,
        context: ConnectionContext,
    ) -> std::io::Result<ClientProtocolClient> {
        let connection = Connection::connect(host, port, context).await?;
        Ok(ClientProtocolClient(Arc::new(connection)))
    }
}

/// Declares the protocol's methods once: `fn_name => "wireName"(Request) -> Response`.
macro_rules! client_protocol {
    ($($(#[$doc:meta])* $name:ident => $method:literal($request:ident) -> $response:ident;)*) => {
        /// The server side of ClientNamenodeProtocol: what a NameNode implements (and what
        /// tests stand in for).
        pub trait ClientProtocol: Send + Sync + 'static {
            $(
                $(#[$doc])*
                fn $name(
                    &self,
                    caller: &Caller,
                    request: pb::$request,
                ) -> impl Future<Output = Result<pb::$response, RemoteException>> + Send;
            )*
        }

        impl<T: ClientProtocol> Service for ClientProtocolServer<T> {
            fn protocols(&self) -> &'static [&'static str] {
                &[PROTOCOL]
            }

            fn call(
                &self,
                caller: &Arc<Caller>,
                _protocol: &str,
                method: &str,
                payload: Bytes,
            ) -> Result<ResponseFuture, DispatchError> {
                match method {
                    $(
                        $method => {
                            let request = pb::$request::decode(payload)
                                .map_err(DispatchError::Undecodable)?;
                            let service = self.0.clone();
                            let caller = caller.clone();
                            Ok(Box::pin(async move {
                                let response = service.$name(&caller, request).await?;
                                Ok(response.encode_to_vec())
                            }))
                        }
                    )*
                    _ => Err(DispatchError::NoSuchMethod),
                }
            }
        }

        impl ClientProtocolClient {
            $(
                $(#[$doc])*
                pub async fn $name(
                    &self,
                    request: &pb::$request,
                ) -> Result<pb::$response, CallError> {
                    self.0.call($method, request).await
                }
            )*
        }
    };
}

client_protocol! {
    /// Creates a directory (and its parents when asked).
    mkdirs => "mkdirs"(MkdirsRequestProto) -> MkdirsResponseProto;
    /// Creates (or overwrites) a file.
    create => "create"(CreateRequestProto) -> CreateResponseProto;
    /// Grows a file.
    append => "append"(AppendRequestProto) -> AppendResponseProto;
    delete => "delete"(DeleteRequestProto) -> DeleteResponseProto;
    rename => "rename"(RenameRequestProto) -> RenameResponseProto;
    /// The children of a directory.
    get_listing => "getListing"(GetListingRequestProto) -> GetListingResponseProto;
    get_file_info => "getFileInfo"(GetFileInfoRequestProto) -> GetFileInfoResponseProto;
}
