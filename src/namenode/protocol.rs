//! ClientNamenodeProtocol over IPC (`crate::ipc`): the protocol's name and its methods — one
//! table, from which both the server's dispatch and the typed client are made. (The Java
//! names of the exceptions it raises are `crate::ipc::exception`'s.)
//!
//! The messages are Hadoop 3.3.6's own (`proto/hadoop_client.proto`), method names and all,
//! so that Hadoop's DFSClient, FsShell and any other HDFS client talk to our NameNode, and our
//! client ([`super::client`]) to theirs.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use crate::ipc::RemoteException;
use crate::ipc::client::{CallError, Connection, ConnectionContext};
use crate::ipc::server::{CallIds, Caller, DispatchError, ResponseFuture, Service};
use crate::proto::hadoop_client as pb;

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

/// A client of one NameNode's ClientNamenodeProtocol, over a shared connection. With `attempt`
/// set, every call goes under that call id and retry count (one attempt of a logical call that
/// a retry cache must recognise); without it, under the connection's next call id.
#[derive(Debug, Clone)]
pub struct ClientProtocolClient {
    pub connection: Arc<Connection>,
    pub attempt: Option<(i32, i32)>,
}

impl ClientProtocolClient {
    /// Opens a connection of its own to the NameNode at `host:port`.
    pub async fn connect(
        host: &str,
        port: u16,
        context: ConnectionContext,
    ) -> std::io::Result<ClientProtocolClient> {
        let connection = Connection::connect(host, port, context).await?;
        Ok(ClientProtocolClient {
            connection: Arc::new(connection),
            attempt: None,
        })
    }

    /// The same connection, for calls made as attempt `retry_count` of call `call_id`.
    pub fn attempt(&self, call_id: i32, retry_count: i32) -> ClientProtocolClient {
        ClientProtocolClient {
            connection: self.connection.clone(),
            attempt: Some((call_id, retry_count)),
        }
    }

    async fn invoke<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
    ) -> Result<Resp, CallError> {
        match self.attempt {
            Some((call_id, retry_count)) => {
                self.connection
                    .call_as(method, request, call_id, retry_count)
                    .await
            }
            None => self.connection.call(method, request).await,
        }
    }
}

/// What a server answers for a method it does not implement (as Hadoop's IPC server names it).
fn unknown_method(method: &str) -> RemoteException {
    RemoteException::new(
        "org.apache.hadoop.ipc.RpcNoSuchMethodException",
        format!("Unknown method {method} called on {PROTOCOL} protocol."),
    )
}

/// Declares the protocol's methods once: `fn_name => "wireName"(Request) -> Response`.
macro_rules! client_protocol {
    ($($(#[$doc:meta])* $name:ident => $method:literal($request:ident) -> $response:ident;)*) => {
        /// The server side of ClientNamenodeProtocol: what a NameNode implements (and what
        /// tests stand in for). A method left out answers as an unknown method does.
        pub trait ClientProtocol: Send + Sync + 'static {
            $(
                $(#[$doc])*
                fn $name(
                    &self,
                    caller: &Caller,
                    ids: &CallIds,
                    request: pb::$request,
                ) -> impl Future<Output = Result<pb::$response, RemoteException>> + Send {
                    let _ = (caller, ids, request);
                    std::future::ready(Err(unknown_method($method)))
                }
            )*
        }

        impl<T: ClientProtocol> Service for ClientProtocolServer<T> {
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
                match method {
                    $(
                        $method => {
                            let request = pb::$request::decode(payload)
                                .map_err(DispatchError::Undecodable)?;
                            let service = self.0.clone();
                            let caller = caller.clone();
                            let ids = ids.clone();
                            Ok(Box::pin(async move {
                                let response = service.$name(&caller, &ids, request).await?;
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
                    self.invoke($method, request).await
                }
            )*
        }
    };
}

client_protocol! {
    /// Where a file's blocks are (none are kept: an empty list).
    get_block_locations => "getBlockLocations"(GetBlockLocationsRequestProto) -> GetBlockLocationsResponseProto;
    get_server_defaults => "getServerDefaults"(GetServerDefaultsRequestProto) -> GetServerDefaultsResponseProto;
    /// Creates (or with the OVERWRITE flag replaces) a file.
    create => "create"(CreateRequestProto) -> CreateResponseProto;
    set_replication => "setReplication"(SetReplicationRequestProto) -> SetReplicationResponseProto;
    set_permission => "setPermission"(SetPermissionRequestProto) -> SetPermissionResponseProto;
    set_owner => "setOwner"(SetOwnerRequestProto) -> SetOwnerResponseProto;
    /// Refused: this NameNode keeps no blocks.
    add_block => "addBlock"(AddBlockRequestProto) -> AddBlockResponseProto;
    abandon_block => "abandonBlock"(AbandonBlockRequestProto) -> AbandonBlockResponseProto;
    /// Closes a file its client created.
    complete => "complete"(CompleteRequestProto) -> CompleteResponseProto;
    /// The rename that answers a boolean.
    rename => "rename"(RenameRequestProto) -> RenameResponseProto;
    /// The rename that raises an exception when it cannot, optionally replacing the target.
    rename2 => "rename2"(Rename2RequestProto) -> Rename2ResponseProto;
    delete => "delete"(DeleteRequestProto) -> DeleteResponseProto;
    /// Creates a directory (and its parents when asked).
    mkdirs => "mkdirs"(MkdirsRequestProto) -> MkdirsResponseProto;
    /// The children of a directory, in batches after `startAfter`.
    get_listing => "getListing"(GetListingRequestProto) -> GetListingResponseProto;
    renew_lease => "renewLease"(RenewLeaseRequestProto) -> RenewLeaseResponseProto;
    /// Every file is closed: its lease needs no recovery.
    recover_lease => "recoverLease"(RecoverLeaseRequestProto) -> RecoverLeaseResponseProto;
    get_fs_stats => "getFsStats"(GetFsStatusRequestProto) -> GetFsStatsResponseProto;
    /// Hadoop's default block storage policies (none can be set here).
    get_storage_policies => "getStoragePolicies"(GetStoragePoliciesRequestProto) -> GetStoragePoliciesResponseProto;
    /// A path's effective policy: the default, HOT, as no policy is ever set.
    get_storage_policy => "getStoragePolicy"(GetStoragePolicyRequestProto) -> GetStoragePolicyResponseProto;
    get_datanode_report => "getDatanodeReport"(GetDatanodeReportRequestProto) -> GetDatanodeReportResponseProto;
    get_preferred_block_size => "getPreferredBlockSize"(GetPreferredBlockSizeRequestProto) -> GetPreferredBlockSizeResponseProto;
    set_safe_mode => "setSafeMode"(SetSafeModeRequestProto) -> SetSafeModeResponseProto;
    get_file_info => "getFileInfo"(GetFileInfoRequestProto) -> GetFileInfoResponseProto;
    /// The status of a path without following a symlink (there are none).
    get_file_link_info => "getFileLinkInfo"(GetFileLinkInfoRequestProto) -> GetFileLinkInfoResponseProto;
    get_content_summary => "getContentSummary"(GetContentSummaryRequestProto) -> GetContentSummaryResponseProto;
    /// A directory's quotas and usage (no quotas are kept: -1, as Hadoop's without a quota).
    get_quota_usage => "getQuotaUsage"(GetQuotaUsageRequestProto) -> GetQuotaUsageResponseProto;
    fsync => "fsync"(FsyncRequestProto) -> FsyncResponseProto;
    set_times => "setTimes"(SetTimesRequestProto) -> SetTimesResponseProto;
    get_link_target => "getLinkTarget"(GetLinkTargetRequestProto) -> GetLinkTargetResponseProto;
    /// Waits until this NameNode has applied what the client saw elsewhere (nothing to wait for
    /// without observers).
    msync => "msync"(MsyncRequestProto) -> MsyncResponseProto;
    get_ha_service_state => "getHAServiceState"(HaServiceStateRequestProto) -> HaServiceStateResponseProto;
    /// An inode's owner, group and mode, with no ACL entries (none is ever set).
    get_acl_status => "getAclStatus"(GetAclStatusRequestProto) -> GetAclStatusResponseProto;
}
