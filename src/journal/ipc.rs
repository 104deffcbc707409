//! QJournalProtocol and InterQJournalProtocol over Hadoop IPC, with Hadoop 3.3.6's own
//! messages (`proto/hadoop_qjournal.proto`): what a real NameNode's QuorumJournalManager and a
//! real JournalNode's sync daemon send to our JournalNodes, and what our own QJM
//! (`crate::qjm::IpcChannel`) sends. Wire types are converted here and nowhere else; every
//! [`JournalError`] becomes Hadoop's exception (fully qualified class and message) in
//! [`remote`].
//!
//! acceptRecovery's `fromURL` is, from a Hadoop writer, the whole `/getJournal` URL of the
//! JournalNode to copy the segment from (`AsyncLogger.buildURLToFetchLogs`): it is fetched over
//! HTTP as is, whichever JournalNode serves it.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use super::JournalError;
use super::edits::{HEADER_LEN, NEWEST_LAYOUT_VERSION, parse_segment_header};
use super::journal::{EditLogManifest, NamespaceInfo, RemoteEditLog, RequestInfo, SegmentSink};
use super::journals::{JournalStorageFactory, Journals, QueuedBatch};
use super::storage::SegmentState;
use crate::http_client::{self, url_encode};
use crate::ipc::RemoteException;
use crate::ipc::server::{CallIds, Caller, DispatchError, ResponseFuture, Service};
use crate::proto::hadoop_qjournal as pb;

/// The protocol a NameNode's QuorumJournalManager declares.
pub const QJOURNAL_PROTOCOL: &str = "org.apache.hadoop.hdfs.qjournal.protocol.QJournalProtocol";
/// The protocol JournalNodes declare to each other (JournalNode sync).
pub const INTER_QJOURNAL_PROTOCOL: &str =
    "org.apache.hadoop.hdfs.qjournal.protocol.InterQJournalProtocol";

/// The single conversion of journal errors to Hadoop's exceptions.
pub fn remote(err: JournalError) -> RemoteException {
    RemoteException {
        class: err.java_class().to_string(),
        message: err.to_string(),
    }
}

fn unsupported(method: &str) -> RemoteException {
    RemoteException {
        class: "java.io.IOException".to_string(),
        message: format!("{method} is not supported by this JournalNode"),
    }
}

/// Serves a JournalNode's journals over Hadoop IPC.
pub struct HadoopJournalService<F: JournalStorageFactory>(Arc<Inner<F>>);

struct Inner<F: JournalStorageFactory> {
    journals: Arc<Journals<F>>,
    /// This JournalNode's HTTP server (`http://host:port`), where segments are served.
    http_url: String,
    http_port: u32,
}

impl<F: JournalStorageFactory> HadoopJournalService<F> {
    pub fn new(journals: Arc<Journals<F>>, http_url: String, http_port: u16) -> Self {
        HadoopJournalService(Arc::new(Inner {
            journals,
            http_url,
            http_port: u32::from(http_port),
        }))
    }
}

fn request_info(caller: &Caller, info: &pb::RequestInfoProto) -> (String, RequestInfo) {
    (
        info.journal_id.identifier.clone(),
        RequestInfo {
            epoch: info.epoch,
            ipc_serial: info.ipc_serial_number,
            committed_txid: info.committed_tx_id,
            client: caller.address.to_string(),
        },
    )
}

/// The namespace a writer names (`NamespaceInfoProto`), as the journal keeps it.
pub fn namespace_info(ns: &pb::NamespaceInfoProto) -> NamespaceInfo {
    NamespaceInfo {
        namespace_id: ns.storage_info.namespce_id,
        cluster_id: ns.storage_info.cluster_id.clone(),
        block_pool_id: ns.block_pool_id.clone(),
        // Java writes the negative layout version into a uint32.
        layout_version: ns.storage_info.layout_version as i32,
        ctime: ns.storage_info.c_time,
    }
}

/// The wire form of a writer's namespace, as Hadoop's `PBHelper.convert(NamespaceInfo)` fills
/// it: the build and software versions are this build's.
pub fn namespace_proto(ns: &NamespaceInfo) -> pb::NamespaceInfoProto {
    pb::NamespaceInfoProto {
        build_version: env!("CARGO_PKG_VERSION").to_string(),
        unused: 0,
        block_pool_id: ns.block_pool_id.clone(),
        storage_info: pb::StorageInfoProto {
            // Java puts the negative layout version into a uint32.
            layout_version: ns.layout_version as u32,
            namespce_id: ns.namespace_id,
            cluster_id: ns.cluster_id.clone(),
            c_time: ns.ctime,
        },
        software_version: env!("CARGO_PKG_VERSION").to_string(),
        capabilities: Some(0),
        state: None,
    }
}

pub fn manifest_proto(manifest: &EditLogManifest) -> pb::RemoteEditLogManifestProto {
    pb::RemoteEditLogManifestProto {
        logs: manifest
            .logs
            .iter()
            .map(|l| pb::RemoteEditLogProto {
                start_tx_id: l.start_txid,
                end_tx_id: l.end_txid,
                is_in_progress: Some(l.in_progress),
            })
            .collect(),
        committed_txn_id: manifest.committed_txid,
    }
}

pub fn edit_log_manifest(manifest: &pb::RemoteEditLogManifestProto) -> EditLogManifest {
    EditLogManifest {
        logs: manifest
            .logs
            .iter()
            .map(|l| RemoteEditLog {
                start_txid: l.start_tx_id,
                end_txid: l.end_tx_id,
                in_progress: l.is_in_progress.unwrap_or(false),
            })
            .collect(),
        committed_txid: manifest.committed_txn_id,
    }
}

pub fn segment_state(s: &pb::SegmentStateProto) -> SegmentState {
    SegmentState {
        start_txid: s.start_tx_id,
        end_txid: s.end_tx_id,
        in_progress: s.is_in_progress,
    }
}

pub fn segment_proto(s: &SegmentState) -> pb::SegmentStateProto {
    pb::SegmentStateProto {
        start_tx_id: s.start_txid,
        end_tx_id: s.end_txid,
        is_in_progress: s.in_progress,
    }
}

impl<F: JournalStorageFactory> Inner<F> {
    async fn is_formatted(
        &self,
        _: &Caller,
        r: pb::IsFormattedRequestProto,
    ) -> Result<pb::IsFormattedResponseProto, JournalError> {
        let is_formatted = self
            .journals
            .run(&r.jid.identifier, |j| Ok(j.is_formatted()))
            .await?;
        Ok(pb::IsFormattedResponseProto { is_formatted })
    }

    async fn get_journal_c_time(
        &self,
        _: &Caller,
        r: pb::GetJournalCTimeRequestProto,
    ) -> Result<pb::GetJournalCTimeResponseProto, JournalError> {
        let ctime = self
            .journals
            .run(&r.jid.identifier, |j| {
                Ok(j.storage_info().map_or(0, |s| s.ctime))
            })
            .await?;
        Ok(pb::GetJournalCTimeResponseProto {
            result_c_time: ctime as i64,
        })
    }

    async fn get_journal_state(
        &self,
        _: &Caller,
        r: pb::GetJournalStateRequestProto,
    ) -> Result<pb::GetJournalStateResponseProto, JournalError> {
        let epoch = self
            .journals
            .run(&r.jid.identifier, |j| j.last_promised_epoch())
            .await?;
        Ok(pb::GetJournalStateResponseProto {
            last_promised_epoch: epoch,
            http_port: self.http_port,
            from_url: Some(self.http_url.clone()),
        })
    }

    async fn format(
        &self,
        _: &Caller,
        r: pb::FormatRequestProto,
    ) -> Result<pb::FormatResponseProto, JournalError> {
        let ns = namespace_info(&r.ns_info);
        let force = r.force.unwrap_or(false);
        self.journals
            .run(&r.jid.identifier, move |j| j.format(&ns, force))
            .await?;
        Ok(pb::FormatResponseProto {})
    }

    async fn new_epoch(
        &self,
        caller: &Caller,
        r: pb::NewEpochRequestProto,
    ) -> Result<pb::NewEpochResponseProto, JournalError> {
        let ns = namespace_info(&r.ns_info);
        let client = caller.address.to_string();
        let epoch = r.epoch;
        let last = self
            .journals
            .run(&r.jid.identifier, move |j| j.new_epoch(&ns, epoch, &client))
            .await?;
        Ok(pb::NewEpochResponseProto {
            last_segment_tx_id: last,
        })
    }

    async fn start_log_segment(
        &self,
        caller: &Caller,
        r: pb::StartLogSegmentRequestProto,
    ) -> Result<pb::StartLogSegmentResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        // A writer that names no layout version writes the current one (as Hadoop assumes).
        let layout = r.layout_version.unwrap_or(NEWEST_LAYOUT_VERSION);
        self.journals
            .run(&jid, move |j| j.start_log_segment(&info, r.txid, layout))
            .await?;
        Ok(pb::StartLogSegmentResponseProto {})
    }

    /// `journal`: queued now, behind every batch this JournalNode received before it, so a
    /// writer may send batches without waiting for each answer.
    fn journal(&self, caller: &Caller, r: pb::JournalRequestProto) -> ResponseFuture {
        let (jid, req) = request_info(caller, &r.req_info);
        let applied = self.journals.submit_journal(
            &jid,
            QueuedBatch {
                req,
                segment_txid: r.segment_txn_id,
                first_txid: r.first_txn_id,
                num_txns: r.num_txns,
                records: r.records,
            },
        );
        Box::pin(async move {
            applied.await.map_err(remote)?;
            Ok(pb::JournalResponseProto {}.encode_to_vec())
        })
    }

    async fn heartbeat(
        &self,
        caller: &Caller,
        r: pb::HeartbeatRequestProto,
    ) -> Result<pb::HeartbeatResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        self.journals.run(&jid, move |j| j.heartbeat(&info)).await?;
        Ok(pb::HeartbeatResponseProto {})
    }

    async fn finalize_log_segment(
        &self,
        caller: &Caller,
        r: pb::FinalizeLogSegmentRequestProto,
    ) -> Result<pb::FinalizeLogSegmentResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        self.journals
            .run(&jid, move |j| {
                j.finalize_log_segment(&info, r.start_tx_id, r.end_tx_id)
            })
            .await?;
        Ok(pb::FinalizeLogSegmentResponseProto {})
    }

    async fn purge_logs(
        &self,
        caller: &Caller,
        r: pb::PurgeLogsRequestProto,
    ) -> Result<pb::PurgeLogsResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        let min = r.min_tx_id_to_keep;
        self.journals
            .run(&jid, move |j| j.purge_logs_older_than(&info, min))
            .await?;
        Ok(pb::PurgeLogsResponseProto {})
    }

    async fn get_edit_log_manifest(
        &self,
        _: &Caller,
        r: pb::GetEditLogManifestRequestProto,
    ) -> Result<pb::GetEditLogManifestResponseProto, JournalError> {
        let since = r.since_tx_id;
        let in_progress_ok = r.in_progress_ok.unwrap_or(false);
        let manifest = self
            .journals
            .run(&r.jid.identifier, move |j| {
                j.get_edit_log_manifest(since, in_progress_ok)
            })
            .await?;
        Ok(pb::GetEditLogManifestResponseProto {
            manifest: manifest_proto(&manifest),
            http_port: self.http_port,
            from_url: Some(self.http_url.clone()),
        })
    }

    async fn get_journaled_edits(
        &self,
        _: &Caller,
        r: pb::GetJournaledEditsRequestProto,
    ) -> Result<pb::GetJournaledEditsResponseProto, JournalError> {
        let (since, max) = (r.since_tx_id, r.max_txns as usize);
        let (count, records, layout) = self
            .journals
            .run(&r.jid.identifier, move |j| {
                let (count, records) = j.get_journaled_edits(since, max)?;
                Ok((count, records, j.journaled_edits_layout()))
            })
            .await?;
        // As Hadoop's JournaledEditsCache: edits come after the edit log header of their
        // layout (a reader parses them as a stream of their own); no edits, no header.
        let mut edit_log = Vec::new();
        if count > 0
            && let Some(layout) = layout
        {
            edit_log.extend_from_slice(&crate::journal::edits::segment_header(layout));
        }
        edit_log.extend_from_slice(&records);
        Ok(pb::GetJournaledEditsResponseProto {
            txn_count: count as u32,
            edit_log: Some(edit_log),
        })
    }

    async fn prepare_recovery(
        &self,
        caller: &Caller,
        r: pb::PrepareRecoveryRequestProto,
    ) -> Result<pb::PrepareRecoveryResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        let segment = r.segment_tx_id;
        let prep = self
            .journals
            .run(&jid, move |j| j.prepare_recovery(&info, segment))
            .await?;
        Ok(pb::PrepareRecoveryResponseProto {
            segment_state: prep.segment_state.as_ref().map(segment_proto),
            accepted_in_epoch: prep.accepted_in_epoch,
            last_writer_epoch: prep.last_writer_epoch,
            last_committed_tx_id: prep.last_committed_txid,
        })
    }

    async fn accept_recovery(
        &self,
        caller: &Caller,
        r: pb::AcceptRecoveryRequestProto,
    ) -> Result<pb::AcceptRecoveryResponseProto, JournalError> {
        let (jid, info) = request_info(caller, &r.req_info);
        let state = segment_state(&r.state_to_accept);
        let handle = tokio::runtime::Handle::current();
        let url = r.from_url;
        self.journals
            .run(&jid, move |j| {
                let mut fetch =
                    |sink: &mut dyn SegmentSink| handle.block_on(fetch_over_http(&url, sink));
                j.accept_recovery(&info, state, &mut fetch)
            })
            .await?;
        Ok(pb::AcceptRecoveryResponseProto {})
    }

    async fn discard_segments(
        &self,
        _: &Caller,
        r: pb::DiscardSegmentsRequestProto,
    ) -> Result<pb::DiscardSegmentsResponseProto, JournalError> {
        let start = r.start_tx_id;
        self.journals
            .run(&r.jid.identifier, move |j| j.discard_segments(start))
            .await?;
        Ok(pb::DiscardSegmentsResponseProto {})
    }
}

/// Declares the methods once: `"wireName" => handler(Request)`; the upgrade and rollback
/// methods, which this JournalNode does not implement, answer Hadoop's IOException.
macro_rules! dispatch {
    ($inner:expr, $caller:expr, $method:expr, $payload:expr,
     { $($wire:literal => $handler:ident($request:ident),)* }
     unsupported { $($unsupported:literal($unsupported_request:ident),)* }) => {
        match $method {
            $(
                $wire => {
                    let request = pb::$request::decode($payload)
                        .map_err(DispatchError::Undecodable)?;
                    let inner = $inner.clone();
                    let caller = $caller.clone();
                    let future: ResponseFuture = Box::pin(async move {
                        let response = inner.$handler(&caller, request).await.map_err(remote)?;
                        Ok(response.encode_to_vec())
                    });
                    Ok(future)
                }
            )*
            $(
                $unsupported => {
                    pb::$unsupported_request::decode($payload)
                        .map_err(DispatchError::Undecodable)?;
                    let future: ResponseFuture =
                        Box::pin(async move { Err(unsupported($unsupported)) });
                    Ok(future)
                }
            )*
            _ => Err(DispatchError::NoSuchMethod),
        }
    };
}

impl<F: JournalStorageFactory> Service for HadoopJournalService<F> {
    fn protocols(&self) -> &'static [&'static str] {
        &[QJOURNAL_PROTOCOL, INTER_QJOURNAL_PROTOCOL]
    }

    fn call(
        &self,
        caller: &Arc<Caller>,
        _ids: CallIds,
        protocol: &str,
        method: &str,
        payload: Bytes,
    ) -> Result<ResponseFuture, DispatchError> {
        if protocol == INTER_QJOURNAL_PROTOCOL {
            return dispatch!(self.0, caller, method, payload, {
                "getEditLogManifestFromJournal" => get_edit_log_manifest(GetEditLogManifestRequestProto),
            } unsupported {});
        }
        if method == "journal" {
            let request =
                pb::JournalRequestProto::decode(payload).map_err(DispatchError::Undecodable)?;
            return Ok(self.0.journal(caller, request));
        }
        dispatch!(self.0, caller, method, payload, {
            "isFormatted" => is_formatted(IsFormattedRequestProto),
            "getJournalCTime" => get_journal_c_time(GetJournalCTimeRequestProto),
            "discardSegments" => discard_segments(DiscardSegmentsRequestProto),
            "getJournalState" => get_journal_state(GetJournalStateRequestProto),
            "newEpoch" => new_epoch(NewEpochRequestProto),
            "format" => format(FormatRequestProto),
            "heartbeat" => heartbeat(HeartbeatRequestProto),
            "startLogSegment" => start_log_segment(StartLogSegmentRequestProto),
            "finalizeLogSegment" => finalize_log_segment(FinalizeLogSegmentRequestProto),
            "purgeLogs" => purge_logs(PurgeLogsRequestProto),
            "getEditLogManifest" => get_edit_log_manifest(GetEditLogManifestRequestProto),
            "getJournaledEdits" => get_journaled_edits(GetJournaledEditsRequestProto),
            "prepareRecovery" => prepare_recovery(PrepareRecoveryRequestProto),
            "acceptRecovery" => accept_recovery(AcceptRecoveryRequestProto),
        } unsupported {
            "doPreUpgrade"(DoPreUpgradeRequestProto),
            "doUpgrade"(DoUpgradeRequestProto),
            "doFinalize"(DoFinalizeRequestProto),
            "canRollBack"(CanRollBackRequestProto),
            "doRollback"(DoRollbackRequestProto),
        })
    }
}

/// The `/getJournal` URL of segment `segment_txid` on the JournalNode whose HTTP server is
/// `http_url` (`http://host:port`), as Hadoop's `GetJournalEditServlet.buildPath` makes it:
/// `storageInfo` is `layoutVersion:namespaceID:cTime:clusterID` (the servlet refuses a
/// mismatch), and in-progress segments are asked for too.
pub fn get_journal_url(
    http_url: &str,
    jid: &str,
    segment_txid: u64,
    ns: Option<&NamespaceInfo>,
) -> String {
    let mut url = format!(
        "{}/getJournal?jid={}&segmentTxId={segment_txid}",
        http_url.trim_end_matches('/'),
        url_encode(jid)
    );
    if let Some(ns) = ns {
        let storage_info =
            http_client::storage_info(ns.layout_version, ns.namespace_id, ns.ctime, &ns.cluster_id);
        url.push_str(&format!("&storageInfo={}", url_encode(&storage_info)));
    }
    url.push_str("&inProgressOk=true");
    url
}

/// Downloads a segment file from `url` (a `/getJournal` URL) into `sink`: HTTP/1.1 GET, the
/// body being the segment file, header included.
pub(crate) async fn fetch_over_http<S: SegmentSink + ?Sized>(
    url: &str,
    sink: &mut S,
) -> Result<(), JournalError> {
    let failed = |e: String| JournalError::Download(format!("Unable to download {url}: {e}"));
    let mut response = http_client::request("GET", url, &[], &[])
        .await
        .map_err(|e| failed(e.to_string()))?;
    if response.status != 200 {
        return Err(failed(response.refusal().await));
    }
    let content_length = response.content_length();
    // The header, then the ops as they arrive (the journal checks the whole copy after).
    let mut chunk = vec![0u8; 1 << 20];
    let mut body = Vec::new();
    while body.len() < HEADER_LEN {
        let n = response
            .read(&mut chunk)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            return Err(failed("the segment ended inside its header".into()));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let layout = parse_segment_header(&body).map_err(|e| failed(e.to_string()))?;
    sink.begin(layout)?;
    let mut received = body.len() as u64;
    sink.write(&body[HEADER_LEN..])?;
    loop {
        let n = response
            .read(&mut chunk)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        received += n as u64;
        sink.write(&chunk[..n])?;
    }
    if let Some(expected) = content_length
        && expected != received
    {
        return Err(failed(format!("received {received} bytes of {expected}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::ipc::client::{CallError, Connection, ConnectionContext};
    use crate::ipc::frame::DEFAULT_MAX_RESPONSE_LENGTH;
    use crate::ipc::server::{ServerConf, serve_connection};
    use crate::journal::edits::{OP_INVALID, segment_header, test_records as records};
    use crate::journal::mem_storage::MemFactory;

    const JID: &str = "ns1";

    async fn serve() -> (SocketAddr, CancellationToken) {
        serve_with_cache(None).await
    }

    async fn serve_with_cache(cache: Option<usize>) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let journals = Arc::new(Journals::new(MemFactory, cache));
        let service = Arc::new(HadoopJournalService::new(
            journals,
            "http://127.0.0.1:8480".into(),
            8480,
        ));
        let token = CancellationToken::new();
        let stop = token.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(
                    stream,
                    service.clone(),
                    ServerConf::default(),
                    stop.clone(),
                ));
            }
        });
        (address, token)
    }

    async fn connect(address: SocketAddr, protocol: &'static str) -> Connection {
        let context = ConnectionContext {
            protocol,
            protocol_version: 1,
            user: "hdfs".into(),
            client_id: [3; 16],
            max_response_length: DEFAULT_MAX_RESPONSE_LENGTH,
        };
        Connection::connect("127.0.0.1", address.port(), context)
            .await
            .unwrap()
    }

    fn jid() -> pb::JournalIdProto {
        pb::JournalIdProto {
            identifier: JID.into(),
        }
    }

    fn ns_info() -> pb::NamespaceInfoProto {
        pb::NamespaceInfoProto {
            build_version: "3.3.6".into(),
            unused: 0,
            block_pool_id: "BP-1".into(),
            storage_info: pb::StorageInfoProto {
                // As Java puts -66 into a uint32.
                layout_version: (-66i32) as u32,
                namespce_id: 4242,
                cluster_id: "CID-1".into(),
                c_time: 7,
            },
            software_version: "3.3.6".into(),
            capabilities: Some(1),
            state: None,
        }
    }

    fn req(epoch: u64, serial: u64) -> pb::RequestInfoProto {
        pb::RequestInfoProto {
            journal_id: jid(),
            epoch,
            ipc_serial_number: serial,
            committed_tx_id: None,
            name_service_id: None,
        }
    }

    fn failure<T: std::fmt::Debug>(outcome: Result<T, CallError>) -> (String, String) {
        match outcome {
            Err(CallError::Remote(f)) => (f.exception.class, f.exception.message),
            other => panic!("expected a remote exception, got {other:?}"),
        }
    }

    /// Formats the journal and opens segment 1 at epoch 1 with txids 1-3.
    async fn written(c: &Connection) {
        let _: pb::FormatResponseProto = c
            .call(
                "format",
                &pb::FormatRequestProto {
                    jid: jid(),
                    ns_info: ns_info(),
                    name_service_id: None,
                    force: None,
                },
            )
            .await
            .unwrap();
        let epoch: pb::NewEpochResponseProto = c
            .call(
                "newEpoch",
                &pb::NewEpochRequestProto {
                    jid: jid(),
                    ns_info: ns_info(),
                    epoch: 1,
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(epoch.last_segment_tx_id, None);
        let _: pb::StartLogSegmentResponseProto = c
            .call(
                "startLogSegment",
                &pb::StartLogSegmentRequestProto {
                    req_info: req(1, 1),
                    txid: 1,
                    layout_version: Some(-66),
                },
            )
            .await
            .unwrap();
        let _: pb::JournalResponseProto = c
            .call(
                "journal",
                &pb::JournalRequestProto {
                    req_info: req(1, 2),
                    first_txn_id: 1,
                    num_txns: 3,
                    records: records(1, 3),
                    segment_txn_id: 1,
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_hadoop_writer_formats_writes_finalizes_and_reads_the_manifest() {
        let (address, token) = serve().await;
        let c = connect(address, QJOURNAL_PROTOCOL).await;
        let formatted: pb::IsFormattedResponseProto = c
            .call(
                "isFormatted",
                &pb::IsFormattedRequestProto {
                    jid: jid(),
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        assert!(!formatted.is_formatted);
        written(&c).await;
        let state: pb::GetJournalStateResponseProto = c
            .call(
                "getJournalState",
                &pb::GetJournalStateRequestProto {
                    jid: jid(),
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (state.last_promised_epoch, state.http_port, state.from_url),
            (1, 8480, Some("http://127.0.0.1:8480".into()))
        );
        let ctime: pb::GetJournalCTimeResponseProto = c
            .call(
                "getJournalCTime",
                &pb::GetJournalCTimeRequestProto {
                    jid: jid(),
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(ctime.result_c_time, 7);
        let _: pb::FinalizeLogSegmentResponseProto = c
            .call(
                "finalizeLogSegment",
                &pb::FinalizeLogSegmentRequestProto {
                    req_info: req(1, 3),
                    start_tx_id: 1,
                    end_tx_id: 3,
                },
            )
            .await
            .unwrap();
        let request = pb::GetEditLogManifestRequestProto {
            jid: jid(),
            since_tx_id: 1,
            in_progress_ok: Some(true),
            name_service_id: None,
        };
        let manifest: pb::GetEditLogManifestResponseProto =
            c.call("getEditLogManifest", &request).await.unwrap();
        let logs: Vec<_> = manifest
            .manifest
            .logs
            .iter()
            .map(|l| (l.start_tx_id, l.end_tx_id, l.is_in_progress))
            .collect();
        assert_eq!(logs, [(1, 3, Some(false))]);
        // Another JournalNode's sync daemon asks the same over InterQJournalProtocol.
        let peer = connect(address, INTER_QJOURNAL_PROTOCOL).await;
        let synced: pb::GetEditLogManifestResponseProto = peer
            .call("getEditLogManifestFromJournal", &request)
            .await
            .unwrap();
        assert_eq!(synced, manifest);
        token.cancel();
    }

    #[tokio::test]
    async fn journaled_edits_come_after_the_edit_log_header_as_hadoops_cache_serves_them() {
        let (address, token) = serve_with_cache(Some(1 << 20)).await;
        let c = connect(address, QJOURNAL_PROTOCOL).await;
        written(&c).await;
        let ask = |since| pb::GetJournaledEditsRequestProto {
            jid: jid(),
            since_tx_id: since,
            max_txns: 2,
            name_service_id: None,
        };
        let edits: pb::GetJournaledEditsResponseProto =
            c.call("getJournaledEdits", &ask(2)).await.unwrap();
        assert_eq!(edits.txn_count, 2);
        let mut expected = crate::journal::edits::segment_header(-66).to_vec();
        expected.extend_from_slice(&records(2, 2));
        assert_eq!(edits.edit_log.unwrap(), expected);
        // Nothing new: no edits and no header.
        let none: pb::GetJournaledEditsResponseProto =
            c.call("getJournaledEdits", &ask(4)).await.unwrap();
        assert_eq!((none.txn_count, none.edit_log.unwrap()), (0, Vec::new()));
        token.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipelined_journal_calls_apply_in_the_order_they_were_sent() {
        let (address, token) = serve_with_cache(Some(1 << 20)).await;
        let c = connect(address, QJOURNAL_PROTOCOL).await;
        written(&c).await;
        // 200 one-edit batches (txids 4..=203) leave before any answer is awaited; a batch
        // applied out of order would be refused for a gap in the txids.
        let pending: Vec<_> = (4..204u64)
            .map(|txid| {
                c.send::<_, pb::JournalResponseProto>(
                    "journal",
                    &pb::JournalRequestProto {
                        req_info: req(1, txid - 1),
                        first_txn_id: txid,
                        num_txns: 1,
                        records: records(txid, 1),
                        segment_txn_id: 1,
                        name_service_id: None,
                    },
                )
            })
            .collect();
        for (txid, answer) in (4u64..).zip(pending) {
            answer
                .await
                .unwrap_or_else(|e| panic!("journal of txid {txid}: {e}"));
        }
        let edits: pb::GetJournaledEditsResponseProto = c
            .call(
                "getJournaledEdits",
                &pb::GetJournaledEditsRequestProto {
                    jid: jid(),
                    since_tx_id: 1,
                    max_txns: 500,
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(edits.txn_count, 203);
        let mut expected = segment_header(-66).to_vec();
        expected.extend_from_slice(&records(1, 203));
        assert_eq!(edits.edit_log.unwrap(), expected);
        token.cancel();
    }

    #[tokio::test]
    async fn refusals_travel_as_hadoops_exceptions() {
        let (address, token) = serve().await;
        let c = connect(address, QJOURNAL_PROTOCOL).await;
        let (class, message) = failure(
            c.call::<_, pb::HeartbeatResponseProto>(
                "heartbeat",
                &pb::HeartbeatRequestProto {
                    req_info: req(1, 1),
                },
            )
            .await,
        );
        assert_eq!(
            class,
            "org.apache.hadoop.hdfs.qjournal.protocol.JournalNotFormattedException"
        );
        assert!(message.contains("not formatted"), "{message}");
        written(&c).await;
        // A batch that does not follow the last one written.
        let (class, message) = failure(
            c.call::<_, pb::JournalResponseProto>(
                "journal",
                &pb::JournalRequestProto {
                    req_info: req(1, 3),
                    first_txn_id: 7,
                    num_txns: 1,
                    records: records(7, 1),
                    segment_txn_id: 1,
                    name_service_id: None,
                },
            )
            .await,
        );
        assert_eq!(
            class,
            "org.apache.hadoop.hdfs.qjournal.protocol.JournalOutOfSyncException"
        );
        assert!(message.contains("7"), "{message}");
        // The fence: an older writer.
        let (class, message) = failure(
            c.call::<_, pb::HeartbeatResponseProto>(
                "heartbeat",
                &pb::HeartbeatRequestProto {
                    req_info: req(0, 9),
                },
            )
            .await,
        );
        assert_eq!(class, "java.io.IOException");
        assert_eq!(
            message,
            "IPC's epoch 0 is less than the last promised epoch 1 ; journal id: ns1"
        );
        let (class, message) = failure(
            c.call::<_, pb::DoFinalizeResponseProto>(
                "doFinalize",
                &pb::DoFinalizeRequestProto {
                    jid: jid(),
                    name_service_id: None,
                },
            )
            .await,
        );
        assert_eq!(
            (class.as_str(), message.as_str()),
            (
                "java.io.IOException",
                "doFinalize is not supported by this JournalNode"
            )
        );
        // An unknown method fails that call only; the connection stays usable.
        let (class, _) = failure(
            c.call::<_, pb::HeartbeatResponseProto>(
                "noSuchMethod",
                &pb::HeartbeatRequestProto {
                    req_info: req(1, 3),
                },
            )
            .await,
        );
        assert_eq!(class, "org.apache.hadoop.ipc.RpcNoSuchMethodException");
        let _: pb::HeartbeatResponseProto = c
            .call(
                "heartbeat",
                &pb::HeartbeatRequestProto {
                    req_info: req(1, 4),
                },
            )
            .await
            .unwrap();
        token.cancel();
    }

    /// Answers one HTTP request with `response` and returns the request it read.
    async fn http_once(response: Vec<u8>) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/getJournal?jid=ns1&segmentTxId=1",
            listener.local_addr().unwrap()
        );
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            stream.write_all(&response).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (url, task)
    }

    fn ok_response(body: &[u8]) -> Vec<u8> {
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        response
    }

    #[tokio::test]
    async fn accept_recovery_copies_a_hadoop_segment_padding_and_all_and_keeps_the_ops() {
        let (address, token) = serve().await;
        let c = connect(address, QJOURNAL_PROTOCOL).await;
        written(&c).await;
        // The new writer (epoch 2) recovers segment 1 as txids 1-5 from another JournalNode,
        // whose copy is an in-progress file with Hadoop's preallocation after the ops.
        let _: pb::NewEpochResponseProto = c
            .call(
                "newEpoch",
                &pb::NewEpochRequestProto {
                    jid: jid(),
                    ns_info: ns_info(),
                    epoch: 2,
                    name_service_id: None,
                },
            )
            .await
            .unwrap();
        let prepared: pb::PrepareRecoveryResponseProto = c
            .call(
                "prepareRecovery",
                &pb::PrepareRecoveryRequestProto {
                    req_info: req(2, 1),
                    segment_tx_id: 1,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            prepared.segment_state.map(|s| (s.start_tx_id, s.end_tx_id)),
            Some((1, 3))
        );
        let mut file = segment_header(-66).to_vec();
        file.extend_from_slice(&records(1, 5));
        file.extend_from_slice(&[OP_INVALID; 4096]);
        let (url, served) = http_once(ok_response(&file)).await;
        let _: pb::AcceptRecoveryResponseProto = c
            .call(
                "acceptRecovery",
                &pb::AcceptRecoveryRequestProto {
                    req_info: req(2, 2),
                    state_to_accept: pb::SegmentStateProto {
                        start_tx_id: 1,
                        end_tx_id: 5,
                        is_in_progress: true,
                    },
                    from_url: url,
                },
            )
            .await
            .unwrap();
        let request = served.await.unwrap();
        assert!(
            request.starts_with("GET /getJournal?jid=ns1&segmentTxId=1 HTTP/1.1\r\n"),
            "{request}"
        );
        let _: pb::FinalizeLogSegmentResponseProto = c
            .call(
                "finalizeLogSegment",
                &pb::FinalizeLogSegmentRequestProto {
                    req_info: req(2, 3),
                    start_tx_id: 1,
                    end_tx_id: 5,
                },
            )
            .await
            .unwrap();
        token.cancel();
    }

    struct Collect(Option<i32>, Vec<u8>);

    impl SegmentSink for Collect {
        fn begin(&mut self, layout_version: i32) -> Result<(), JournalError> {
            self.0 = Some(layout_version);
            Ok(())
        }
        fn write(&mut self, records: &[u8]) -> Result<(), JournalError> {
            self.1.extend_from_slice(records);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_or_short_download_is_an_error_naming_the_url() {
        let body = b"No edit log found starting at txid 1";
        let response = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            String::from_utf8_lossy(body)
        );
        let (url, _) = http_once(response.into_bytes()).await;
        let mut sink = Collect(None, Vec::new());
        let err = fetch_over_http(&url, &mut sink)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&url) && err.contains("404") && err.contains("No edit log found"),
            "{err}"
        );
        let mut file = segment_header(-66).to_vec();
        file.extend_from_slice(&records(1, 2));
        let mut short = ok_response(&file);
        short.truncate(short.len() - 3);
        let (url, _) = http_once(short).await;
        let err = fetch_over_http(&url, &mut Collect(None, Vec::new()))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("bytes of"), "{err}");
        let (url, _) = http_once(ok_response(&file)).await;
        let mut sink = Collect(None, Vec::new());
        fetch_over_http(&url, &mut sink).await.unwrap();
        assert_eq!((sink.0, sink.1), (Some(-66), records(1, 2)));
        assert!(
            fetch_over_http("https://x/getJournal", &mut Collect(None, Vec::new()))
                .await
                .is_err()
        );
    }
}
