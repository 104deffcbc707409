//! The NameNode's ClientNamenodeProtocol service (over IPC, see [`super::protocol`]), the one
//! conversion of NameNode errors to IPC exceptions (Hadoop's class and message), and the
//! upload of a checkpoint to the active NameNode.

use std::sync::Arc;

use super::conf::NameNodeConf;
use super::namespace::FileStatus;
use super::ops::CallId;
use super::protocol::ClientProtocol;
use super::retry_cache::CachedAnswer;
use super::server::{NameNode, NnError};
use super::storage::NamespaceIdentity;
use crate::ipc::RemoteException;
use crate::ipc::server::Caller;
use crate::proto::namenode as pb;

/// The single conversion of NameNode errors to the exceptions IPC answers carry.
impl From<NnError> for RemoteException {
    fn from(err: NnError) -> Self {
        RemoteException::new(&err.class, err.message)
    }
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

/// Sends a checkpoint to whichever other NameNode is active (the others refuse it).
pub async fn upload_image_to_active(
    conf: &NameNodeConf,
    identity: &NamespaceIdentity,
    txid: u64,
    bytes: Vec<u8>,
) {
    for peer in &conf.peers {
        let Some(http) = &peer.http_address else {
            continue;
        };
        match super::peer::upload_image(http, txid, identity, &bytes).await {
            Ok(()) => {
                tracing::info!("Uploaded image with txid {txid} to namenode at http://{http}");
                return;
            }
            Err(err) => tracing::debug!(
                "{} did not take fsimage_{txid:019}: {err}",
                peer.namenode_id
            ),
        }
    }
}
