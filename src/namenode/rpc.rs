//! The NameNode's services: ClientNamenodeProtocol (over IPC, see [`super::protocol`]), and
//! NamenodeProtocol (gRPC, for the other NameNode); and the
//! one conversion of NameNode errors for each transport — to IPC exceptions (Hadoop's class
//! and message) and to gRPC statuses (the class in the `exception-class` metadata).

use std::sync::Arc;
use std::time::Duration;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::conf::NameNodeConf;
use super::namespace::FileStatus;
use super::ops::CallId;
use super::protocol::{ClientProtocol, qualified_class};
use super::retry_cache::CachedAnswer;
use super::server::{HaState, NameNode, NnError};
use crate::ipc::server::{Caller, RemoteException};
use crate::proto::namenode as pb;

/// Bytes per image chunk.
const IMAGE_CHUNK: usize = 1 << 20;

/// The single conversion of NameNode errors to the exceptions IPC answers carry.
impl From<NnError> for RemoteException {
    fn from(err: NnError) -> Self {
        RemoteException {
            class: qualified_class(&err.class),
            message: err.message,
        }
    }
}

/// The single conversion of NameNode errors to gRPC statuses.
/// The metadata key naming the Hadoop exception class of an error status.
const EXCEPTION_CLASS_KEY: &str = "exception-class";

pub fn to_status(err: NnError) -> Status {
    use tonic::Code;
    let code = match err.class.as_str() {
        "StandbyException" => Code::FailedPrecondition,
        "FileNotFoundException" => Code::NotFound,
        "FileAlreadyExistsException" => Code::AlreadyExists,
        "AccessControlException" => Code::PermissionDenied,
        "InvalidPathException"
        | "ParentNotDirectoryException"
        | "PathIsNotEmptyDirectoryException" => Code::InvalidArgument,
        _ => Code::Internal,
    };
    let mut status = Status::new(code, err.message);
    if let Ok(value) = err.class.parse() {
        status.metadata_mut().insert(EXCEPTION_CLASS_KEY, value);
    }
    status
}

fn call_id(call: &Option<pb::RpcCallProto>) -> Option<CallId> {
    call.as_ref()
        .filter(|c| !c.client_id.is_empty())
        .map(|c| CallId {
            client_id: c.client_id.clone(),
            call_id: c.call_id,
        })
}

fn user_of(user: &str) -> String {
    if user.is_empty() {
        "hdfs".to_string()
    } else {
        user.to_string()
    }
}

pub(crate) fn status_proto(s: &FileStatus) -> pb::HdfsFileStatusProto {
    pb::HdfsFileStatusProto {
        file_type: if s.is_dir {
            pb::hdfs_file_status_proto::FileType::IsDir as i32
        } else {
            pb::hdfs_file_status_proto::FileType::IsFile as i32
        },
        path: s.name.clone(),
        length: s.length,
        permission: u32::from(s.permission),
        owner: s.owner.clone(),
        group: s.group.clone(),
        modification_time: s.mtime,
        access_time: s.atime,
        block_replication: u32::from(s.replication),
        blocksize: s.block_size,
        children_num: s.children_num,
    }
}

/// ClientNamenodeProtocol's handlers, served over IPC (see [`super::protocol`]).
pub struct ClientService {
    pub nn: Arc<NameNode>,
}

impl ClientService {
    /// The file a create or append answered.
    async fn answered_file(
        &self,
        answer: CachedAnswer,
        path: &str,
    ) -> Result<Option<pb::HdfsFileStatusProto>, NnError> {
        let status = match answer {
            CachedAnswer::File(Some(s)) => Some(s),
            _ => self.nn.status_of(path).await?,
        };
        Ok(status.as_ref().map(status_proto))
    }
}

fn answered_bool(answer: CachedAnswer) -> bool {
    matches!(answer, CachedAnswer::Bool(true) | CachedAnswer::File(_))
}

impl ClientProtocol for ClientService {
    async fn mkdirs(
        &self,
        _: &Caller,
        r: pb::MkdirsRequestProto,
    ) -> Result<pb::MkdirsResponseProto, RemoteException> {
        let attrs = self
            .nn
            .attributes(&user_of(&r.user), (r.permission & 0o7777) as u16);
        let answer = self
            .nn
            .mutate(
                call_id(&r.call),
                |ns| ns.plan_mkdirs(&r.src, &attrs, r.create_parent),
                |_, _| CachedAnswer::Bool(true),
            )
            .await?;
        Ok(pb::MkdirsResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn create(
        &self,
        caller: &Caller,
        r: pb::CreateRequestProto,
    ) -> Result<pb::CreateResponseProto, RemoteException> {
        let client = caller.address.to_string();
        let attrs = self
            .nn
            .attributes(&user_of(&r.user), (r.permission & 0o7777) as u16);
        let replication = r.replication.clamp(1, u32::from(u16::MAX)) as u16;
        let block_size = if r.block_size == 0 {
            128 << 20
        } else {
            r.block_size
        };
        let answer = self
            .nn
            .mutate(
                call_id(&r.call),
                |ns| {
                    ns.plan_create(
                        &r.src,
                        &attrs,
                        r.overwrite,
                        r.create_parent,
                        replication,
                        r.length,
                        block_size,
                        &client,
                    )
                },
                NameNode::file_after,
            )
            .await?;
        Ok(pb::CreateResponseProto {
            fs: self.answered_file(answer, &r.src).await?,
        })
    }

    async fn append(
        &self,
        caller: &Caller,
        r: pb::AppendRequestProto,
    ) -> Result<pb::AppendResponseProto, RemoteException> {
        let client = caller.address.to_string();
        let mtime = super::server::now_millis();
        let answer = self
            .nn
            .mutate(
                call_id(&r.call),
                |ns| ns.plan_append(&r.src, r.length, mtime, &client),
                NameNode::file_after,
            )
            .await?;
        Ok(pb::AppendResponseProto {
            fs: self.answered_file(answer, &r.src).await?,
        })
    }

    async fn delete(
        &self,
        _: &Caller,
        r: pb::DeleteRequestProto,
    ) -> Result<pb::DeleteResponseProto, RemoteException> {
        let mtime = super::server::now_millis();
        let answer = self
            .nn
            .mutate(
                call_id(&r.call),
                |ns| {
                    ns.plan_delete(&r.src, r.recursive, mtime)
                        .map(|op| op.into_iter().collect())
                },
                |_, ops| CachedAnswer::Bool(!ops.is_empty()),
            )
            .await?;
        Ok(pb::DeleteResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn rename(
        &self,
        _: &Caller,
        r: pb::RenameRequestProto,
    ) -> Result<pb::RenameResponseProto, RemoteException> {
        let mtime = super::server::now_millis();
        let answer = self
            .nn
            .mutate(
                call_id(&r.call),
                |ns| {
                    ns.plan_rename(&r.src, &r.dst, mtime)
                        .map(|op| op.into_iter().collect())
                },
                |_, ops| CachedAnswer::Bool(!ops.is_empty()),
            )
            .await?;
        Ok(pb::RenameResponseProto {
            result: answered_bool(answer),
        })
    }

    async fn get_listing(
        &self,
        _: &Caller,
        r: pb::GetListingRequestProto,
    ) -> Result<pb::GetListingResponseProto, RemoteException> {
        let listing = self.nn.read(|ns| ns.list(&r.src)).await?;
        Ok(pb::GetListingResponseProto {
            dir_list: listing.map(|entries| pb::DirectoryListingProto {
                partial_listing: entries.iter().map(status_proto).collect(),
            }),
        })
    }

    async fn get_file_info(
        &self,
        _: &Caller,
        r: pb::GetFileInfoRequestProto,
    ) -> Result<pb::GetFileInfoResponseProto, RemoteException> {
        let status = self.nn.read(|ns| ns.get_file_info(&r.src)).await?;
        Ok(pb::GetFileInfoResponseProto {
            fs: status.as_ref().map(status_proto),
        })
    }
}

pub struct NamenodeService {
    pub nn: Arc<NameNode>,
}

#[tonic::async_trait]
impl pb::namenode_protocol_server::NamenodeProtocol for NamenodeService {
    async fn version_request(
        &self,
        _: Request<pb::VersionRequestProto>,
    ) -> Result<Response<pb::VersionResponseProto>, Status> {
        let id = self.nn.identity();
        Ok(Response::new(pb::VersionResponseProto {
            namespace_id: id.namespace_id,
            cluster_id: id.cluster_id.clone(),
            block_pool_id: id.block_pool_id.clone(),
            layout_version: id.layout_version,
            c_time: id.ctime,
            software_version: env!("CARGO_PKG_VERSION").to_string(),
            is_upgrade_finalized: true,
        }))
    }

    async fn get_transaction_id(
        &self,
        _: Request<pb::GetTransactionIdRequestProto>,
    ) -> Result<Response<pb::GetTransactionIdResponseProto>, Status> {
        let (txid, checkpoint) = self.nn.transaction_ids();
        Ok(Response::new(pb::GetTransactionIdResponseProto {
            tx_id: txid,
            most_recent_checkpoint_tx_id: checkpoint,
        }))
    }

    type getImageStream = ReceiverStream<Result<pb::ImageChunkProto, Status>>;

    async fn get_image(
        &self,
        request: Request<pb::GetImageRequestProto>,
    ) -> Result<Response<Self::getImageStream>, Status> {
        let (txid, bytes) = self
            .nn
            .image_bytes(request.into_inner().tx_id)
            .map_err(to_status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut chunks = bytes.chunks(IMAGE_CHUNK).peekable();
            let mut first = true;
            if chunks.peek().is_none() {
                let _ = tx
                    .send(Ok(pb::ImageChunkProto {
                        tx_id: Some(txid),
                        data: Vec::new(),
                    }))
                    .await;
            }
            for chunk in chunks {
                let message = pb::ImageChunkProto {
                    tx_id: first.then_some(txid),
                    data: chunk.to_vec(),
                };
                first = false;
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn put_image(
        &self,
        request: Request<tonic::Streaming<pb::ImageChunkProto>>,
    ) -> Result<Response<pb::PutImageResponseProto>, Status> {
        if self.nn.state() != HaState::Active {
            return Err(to_status(NnError::new(
                "IOException",
                format!(
                    "This namenode has state {} and does not accept checkpoints",
                    self.nn.state().name()
                ),
            )));
        }
        let mut stream = request.into_inner();
        let mut txid = None;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await? {
            if let Some(t) = chunk.tx_id {
                txid = Some(t);
            }
            bytes.extend_from_slice(&chunk.data);
        }
        let txid = txid.ok_or_else(|| Status::invalid_argument("putImage sent no txid"))?;
        self.nn.accept_image(txid, bytes).await.map_err(to_status)?;
        Ok(Response::new(pb::PutImageResponseProto { accepted: true }))
    }
}

/// A NamenodeProtocol client for another NameNode.
pub async fn namenode_client(
    address: &crate::conf::HostPort,
    timeout: Duration,
) -> Result<pb::namenode_protocol_client::NamenodeProtocolClient<tonic::transport::Channel>, String>
{
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(timeout)
        .timeout(Duration::from_secs(600))
        .tcp_nodelay(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("{address}: {e}"))?;
    Ok(
        pb::namenode_protocol_client::NamenodeProtocolClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX),
    )
}

/// Sends a checkpoint to whichever other NameNode is active.
pub async fn upload_image_to_active(conf: &NameNodeConf, txid: u64, bytes: Vec<u8>) {
    for peer in &conf.peers {
        let mut client = match namenode_client(&peer.rpc_address, conf.qjm.connect_timeout).await {
            Ok(c) => c,
            Err(err) => {
                tracing::debug!(
                    "Cannot reach {} to upload fsimage_{txid:019}: {err}",
                    peer.namenode_id
                );
                continue;
            }
        };
        let chunks: Vec<pb::ImageChunkProto> = bytes
            .chunks(IMAGE_CHUNK)
            .enumerate()
            .map(|(i, c)| pb::ImageChunkProto {
                tx_id: (i == 0).then_some(txid),
                data: c.to_vec(),
            })
            .collect();
        match client.put_image(tokio_stream::iter(chunks)).await {
            Ok(_) => {
                tracing::info!(
                    "Uploaded image with txid {txid} to namenode at {}",
                    peer.rpc_address
                );
                return;
            }
            Err(status) => tracing::debug!(
                "{} did not take fsimage_{txid:019}: {}",
                peer.namenode_id,
                status.message()
            ),
        }
    }
}
