//! What one NameNode asks of another, as Hadoop 3.3.6 asks it: NamenodeProtocol over Hadoop
//! IPC (`proto/hadoop_namenode.proto`; `-bootstrapStandby` asks `versionRequest`,
//! `isUpgradeFinalized`, `getMostRecentCheckpointTxId` and `getTransactionId`, a standby may
//! ask the active to `rollEditLog`) and the fsimage over HTTP at `/imagetransfer`, as
//! `TransferFsImage` fetches (`GET ?getimage=1&txid=N&storageInfo=…`) and uploads
//! (`PUT ?txid=N&imageFile=IMAGE&File-Length=…&storageInfo=…`) it, with `Content-Length`
//! and `X-MD5-Digest` checked on the way. The server half (the calls on the RPC port) and the
//! typed client live here; the servlet is in `super::http`. Wire types stay here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use md5::{Digest, Md5};
use prost::Message;

use super::server::{Category, HaState, NameNode, NnError};
use super::storage::NamespaceIdentity;
use crate::conf::HostPort;
use crate::http_client::{self, url_encode};
use crate::ipc::peer::{CallError, Peer};
use crate::ipc::server::DispatchError;
use crate::journal::ipc::{namespace_info, namespace_proto};
use crate::proto::hadoop_namenode as pb;
use crate::proto::hadoop_qjournal as qpb;

/// The protocol one NameNode declares to another.
pub const PROTOCOL: &str = "org.apache.hadoop.hdfs.server.protocol.NamenodeProtocol";

/// The header carrying the MD5 of a transferred image, hex (Hadoop's `MD5Hash`).
pub const MD5_HEADER: &str = "X-MD5-Digest";

/// One NamenodeProtocol call, decoded.
pub enum PeerCall {
    Version,
    TransactionId,
    MostRecentCheckpointTxId,
    IsUpgradeFinalized,
    IsRollingUpgrade,
    RollEditLog,
}

pub fn decode(method: &str, payload: Bytes) -> Result<PeerCall, DispatchError> {
    let undecodable = DispatchError::Undecodable;
    Ok(match method {
        "versionRequest" => {
            pb::VersionRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::Version
        }
        "getTransactionId" => {
            pb::GetTransactionIdRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::TransactionId
        }
        "getMostRecentCheckpointTxId" => {
            pb::GetMostRecentCheckpointTxIdRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::MostRecentCheckpointTxId
        }
        "isUpgradeFinalized" => {
            pb::IsUpgradeFinalizedRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::IsUpgradeFinalized
        }
        "isRollingUpgrade" => {
            pb::IsRollingUpgradeRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::IsRollingUpgrade
        }
        "rollEditLog" => {
            pb::RollEditLogRequestProto::decode(payload).map_err(undecodable)?;
            PeerCall::RollEditLog
        }
        _ => return Err(DispatchError::NoSuchMethod),
    })
}

/// Hadoop's `NamespaceInfo` of this NameNode, with its HA state as a 3.x NameNode reports it.
fn namespace(nn: &NameNode) -> qpb::NamespaceInfoProto {
    let mut info = namespace_proto(&nn.identity().namespace_info());
    info.state = match nn.state() {
        HaState::Active => Some(qpb::nnha_status_heartbeat_proto::State::Active as i32),
        HaState::Standby => Some(qpb::nnha_status_heartbeat_proto::State::Standby as i32),
        HaState::Initializing | HaState::Stopping => None,
    };
    info
}

pub async fn run(nn: &Arc<NameNode>, call: PeerCall) -> Result<Vec<u8>, NnError> {
    Ok(match call {
        PeerCall::Version => pb::VersionResponseProto {
            info: namespace(nn),
        }
        .encode_to_vec(),
        PeerCall::TransactionId => pb::GetTransactionIdResponseProto {
            tx_id: nn.transaction_ids().0,
        }
        .encode_to_vec(),
        PeerCall::MostRecentCheckpointTxId => pb::GetMostRecentCheckpointTxIdResponseProto {
            tx_id: nn.transaction_ids().1,
        }
        .encode_to_vec(),
        PeerCall::IsUpgradeFinalized => pb::IsUpgradeFinalizedResponseProto {
            is_upgrade_finalized: true,
        }
        .encode_to_vec(),
        PeerCall::IsRollingUpgrade => pb::IsRollingUpgradeResponseProto {
            is_rolling_upgrade: false,
        }
        .encode_to_vec(),
        PeerCall::RollEditLog => {
            nn.check(Category::Journal)?;
            nn.roll_edit_log().await;
            nn.check(Category::Journal)?;
            let (current, checkpoint) = nn.transaction_ids();
            let info = namespace(nn);
            pb::RollEditLogResponseProto {
                signature: pb::CheckpointSignatureProto {
                    block_pool_id: info.block_pool_id,
                    most_recent_checkpoint_tx_id: checkpoint,
                    cur_segment_tx_id: current,
                    storage_info: info.storage_info,
                },
            }
            .encode_to_vec()
        }
    })
}

/// The other NameNode's namespace, as `versionRequest` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteNamespace {
    pub identity: NamespaceIdentity,
    pub build_version: String,
}

/// A NamenodeProtocol client for one NameNode (Hadoop's `NamenodeProtocolTranslatorPB`).
#[derive(Debug, Clone)]
pub struct PeerClient(Peer);

impl PeerClient {
    /// Connects, with `timeout` for the connection and for every call.
    pub async fn connect(address: &HostPort, timeout: Duration) -> Result<PeerClient, CallError> {
        Ok(PeerClient(
            Peer::connect(address, PROTOCOL, timeout, 0).await?,
        ))
    }

    pub async fn version(&self) -> Result<RemoteNamespace, CallError> {
        let r: pb::VersionResponseProto = self
            .0
            .call("versionRequest", &pb::VersionRequestProto {}, true)
            .await?;
        let ns = namespace_info(&r.info);
        Ok(RemoteNamespace {
            identity: NamespaceIdentity::from(&ns),
            build_version: r.info.build_version,
        })
    }

    pub async fn is_upgrade_finalized(&self) -> Result<bool, CallError> {
        let r: pb::IsUpgradeFinalizedResponseProto = self
            .0
            .call(
                "isUpgradeFinalized",
                &pb::IsUpgradeFinalizedRequestProto {},
                true,
            )
            .await?;
        Ok(r.is_upgrade_finalized)
    }

    /// The last txid the NameNode wrote (active) or applied (standby).
    pub async fn transaction_id(&self) -> Result<u64, CallError> {
        let r: pb::GetTransactionIdResponseProto = self
            .0
            .call(
                "getTransactionId",
                &pb::GetTransactionIdRequestProto {},
                true,
            )
            .await?;
        Ok(r.tx_id)
    }

    pub async fn most_recent_checkpoint_txid(&self) -> Result<u64, CallError> {
        let r: pb::GetMostRecentCheckpointTxIdResponseProto = self
            .0
            .call(
                "getMostRecentCheckpointTxId",
                &pb::GetMostRecentCheckpointTxIdRequestProto {},
                true,
            )
            .await?;
        Ok(r.tx_id)
    }

    /// Asks the active to finalize its segment and start the next; the new segment's first
    /// txid.
    pub async fn roll_edit_log(&self) -> Result<u64, CallError> {
        let r: pb::RollEditLogResponseProto = self
            .0
            .call("rollEditLog", &pb::RollEditLogRequestProto {}, true)
            .await?;
        Ok(r.signature.cur_segment_tx_id)
    }
}

/// This namespace's `storageInfo`, as an image transfer names it.
pub fn storage_info(identity: &NamespaceIdentity) -> String {
    http_client::storage_info(
        identity.layout_version,
        identity.namespace_id,
        identity.ctime,
        &identity.cluster_id,
    )
}

/// The hex MD5 of `bytes`, as `X-MD5-Digest` carries it.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads `fsimage_<txid>` from the NameNode whose HTTP server is `http`, as
/// `TransferFsImage.downloadImageToStorage` does: the servlet checks `identity` against its
/// own; the length and the MD5 the answer announces are checked here.
pub async fn download_image(
    http: &HostPort,
    txid: u64,
    identity: &NamespaceIdentity,
    bootstrap_standby: bool,
) -> Result<Vec<u8>, String> {
    let mut url = format!(
        "http://{http}/imagetransfer?getimage=1&txid={txid}&storageInfo={}",
        url_encode(&storage_info(identity))
    );
    if bootstrap_standby {
        url.push_str("&bootstrapstandby=true");
    }
    let failed = |e: String| format!("Image transfer from {url} failed: {e}");
    let response = http_client::request("GET", &url, &[], &[])
        .await
        .map_err(failed)?;
    if response.status != 200 {
        return Err(failed(response.refusal().await));
    }
    let length = response.content_length();
    let digest = response.header(MD5_HEADER).map(str::to_string);
    let bytes = response.body().await.map_err(|e| failed(e.to_string()))?;
    if let Some(length) = length
        && length != bytes.len() as u64
    {
        return Err(failed(format!(
            "File fsimage_{txid:019} received length {} is not of the advertised size {length}",
            bytes.len()
        )));
    }
    if let Some(digest) = digest {
        let actual = md5_hex(&bytes);
        if !digest.eq_ignore_ascii_case(&actual) {
            return Err(failed(format!(
                "File fsimage_{txid:019} computed digest {actual} does not match advertised digest {digest}"
            )));
        }
    }
    Ok(bytes)
}

/// Uploads `fsimage_<txid>` to the NameNode whose HTTP server is `http`, as
/// `TransferFsImage.uploadImageFromStorage` does. Refusals come back as the servlet's status
/// line and text (`HTTP/1.1 417 …`, `HTTP/1.1 409 …`).
pub async fn upload_image(
    http: &HostPort,
    txid: u64,
    identity: &NamespaceIdentity,
    bytes: &[u8],
) -> Result<(), String> {
    let url = format!(
        "http://{http}/imagetransfer?txid={txid}&imageFile=IMAGE&File-Length={}&storageInfo={}",
        bytes.len(),
        url_encode(&storage_info(identity))
    );
    let headers = [(MD5_HEADER, md5_hex(bytes))];
    let response = http_client::request("PUT", &url, &headers, bytes)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status != 200 {
        return Err(response.refusal().await);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_hex_as_hadoop_prints_it() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn unknown_methods_are_refused_as_unknown() {
        assert!(matches!(
            decode("getBlocks", Bytes::new()),
            Err(DispatchError::NoSuchMethod)
        ));
        assert!(matches!(
            decode("versionRequest", Bytes::from_static(b"\xff")),
            Err(DispatchError::Undecodable(_))
        ));
    }
}
