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
use prost::Message;

use super::fsimage::md5_hex;
use super::server::{Category, HaState, NameNode, NnError};
use super::storage::{NamespaceIdentity, image_file_name};
use crate::conf::HostPort;
use crate::http_client::{self, HttpError, url_encode};
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

/// Why an image transfer failed. `Display` is Hadoop's wording with the URL.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// No HTTP answer.
    #[error("Image transfer servlet at {url} failed: {source}")]
    Unreachable { url: String, source: HttpError },
    /// The servlet refused (Hadoop's `HttpGetFailedException` text): its status and message
    /// (`417`, `Nameode … is currently not in a state which can accept uploads …`).
    #[error(
        "Image transfer servlet at {url} failed with status code {status}\nResponse message:\n{message}"
    )]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    #[error(
        "Image transfer from {url} failed: File {name} received length {received} is not of the advertised size {advertised}"
    )]
    Length {
        url: String,
        name: String,
        received: u64,
        advertised: u64,
    },
    #[error(
        "Image transfer from {url} failed: File {name} computed digest {computed} does not match advertised digest {advertised}"
    )]
    Digest {
        url: String,
        name: String,
        computed: String,
        advertised: String,
    },
}

async fn refused(url: String, response: http_client::Response) -> TransferError {
    let status = response.status;
    let body = response.body().await.unwrap_or_default();
    TransferError::Refused {
        url,
        status,
        message: String::from_utf8_lossy(&body).trim().to_string(),
    }
}

/// Downloads `fsimage_<txid>` from the NameNode whose HTTP server is `http`, as
/// `TransferFsImage.downloadImageToStorage` does: the servlet checks `identity` against its
/// own; the length and the MD5 the answer announces are checked here.
pub async fn download_image(
    http: &HostPort,
    txid: u64,
    identity: &NamespaceIdentity,
    bootstrap_standby: bool,
) -> Result<Vec<u8>, TransferError> {
    let mut url = format!(
        "http://{http}/imagetransfer?getimage=1&txid={txid}&storageInfo={}",
        url_encode(&storage_info(identity))
    );
    if bootstrap_standby {
        url.push_str("&bootstrapstandby=true");
    }
    let unreachable = |source: HttpError| TransferError::Unreachable {
        url: url.clone(),
        source,
    };
    let response = http_client::request("GET", &url, &[], &[])
        .await
        .map_err(unreachable)?;
    if response.status != 200 {
        return Err(refused(url, response).await);
    }
    let length = response.content_length();
    let digest = response.header(MD5_HEADER).map(str::to_string);
    let bytes = response
        .body()
        .await
        .map_err(|e| unreachable(HttpError::Io(e)))?;
    let name = image_file_name(txid);
    if let Some(advertised) = length
        && advertised != bytes.len() as u64
    {
        return Err(TransferError::Length {
            url,
            name,
            received: bytes.len() as u64,
            advertised,
        });
    }
    if let Some(advertised) = digest {
        let computed = md5_hex(&bytes);
        if !advertised.eq_ignore_ascii_case(&computed) {
            return Err(TransferError::Digest {
                url,
                name,
                computed,
                advertised,
            });
        }
    }
    Ok(bytes)
}

/// Uploads `fsimage_<txid>` to the NameNode whose HTTP server is `http`, as
/// `TransferFsImage.uploadImageFromStorage` does; a refusal carries the servlet's status
/// line and text (`HTTP/1.1 417 …`, `HTTP/1.1 409 …`).
pub async fn upload_image(
    http: &HostPort,
    txid: u64,
    identity: &NamespaceIdentity,
    bytes: &[u8],
) -> Result<(), TransferError> {
    let url = format!(
        "http://{http}/imagetransfer?txid={txid}&imageFile=IMAGE&File-Length={}&storageInfo={}",
        bytes.len(),
        url_encode(&storage_info(identity))
    );
    let headers = [(MD5_HEADER, md5_hex(bytes))];
    let response = match http_client::request("PUT", &url, &headers, bytes).await {
        Ok(response) => response,
        Err(source) => return Err(TransferError::Unreachable { url, source }),
    };
    if response.status != 200 {
        return Err(refused(url, response).await);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on 127.0.0.1 that answers one request with `answer`.
    async fn answering(answer: &'static [u8]) -> HostPort {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 1 << 16];
            let _ = s.read(&mut request).await;
            s.write_all(answer).await.unwrap();
        });
        HostPort::new("127.0.0.1", port)
    }

    fn identity() -> NamespaceIdentity {
        NamespaceIdentity {
            namespace_id: 7,
            cluster_id: "CID-x".into(),
            block_pool_id: "BP-x".into(),
            layout_version: -66,
            ctime: 0,
        }
    }

    #[tokio::test]
    async fn transfer_failures_are_told_in_hadoops_words() {
        let http = answering(
            b"HTTP/1.1 417 Expectation Failed\r\n\r\nNameode 127.0.0.2 is currently not in a state which can accept uploads of new fsimages. State: STANDBY",
        )
        .await;
        let err = upload_image(&http, 5, &identity(), b"x").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Image transfer servlet at http://{http}/imagetransfer?txid=5&imageFile=IMAGE&File-Length=1&storageInfo=-66%3A7%3A0%3ACID-x failed with status code 417\nResponse message:\nNameode 127.0.0.2 is currently not in a state which can accept uploads of new fsimages. State: STANDBY"
            )
        );
        let http = answering(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-MD5-Digest: 00000000000000000000000000000000\r\n\r\nabc",
        )
        .await;
        let err = download_image(&http, 9, &identity(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().ends_with(
                "File fsimage_0000000000000000009 computed digest 900150983cd24fb0d6963f7d28e17f72 does not match advertised digest 00000000000000000000000000000000"
            ),
            "{err}"
        );
        let http = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").await;
        let err = download_image(&http, 9, &identity(), true)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("received length 3 is not of the advertised size 9"),
            "{err}"
        );
    }

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
