//! `IpcChannel`: one JournalNode reached as Hadoop's `IPCLoggerChannel` reaches it —
//! QJournalProtocol over Hadoop IPC with Hadoop 3.3.6's messages, segments over HTTP from the
//! JournalNode's `/getJournal` servlet — so that the same client writes to and tails from a
//! real Hadoop JournalNode and ours.
//!
//! Invariants:
//! - one multiplexed connection at a time; a closed one is replaced on the next call that may
//!   wait (every call but `journal`);
//! - `journal` queues its frame before returning, so batches leave (and are answered) in the
//!   order they were sent; with no open connection it fails at once, which leaves the logger
//!   out of sync until the next segment, as a failed batch does;
//! - the JournalNode's HTTP server is learned from its `getJournalState` and
//!   `getEditLogManifest` answers (`fromURL`, else `httpPort` on the RPC host), as Hadoop does.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;

use super::channel::{ChannelResult, JournalChannel, WriterInfo};
use super::error::LoggerError;
use crate::conf::HostPort;
use crate::host::current_user;
use crate::ipc::client::{CallError, Connection, ConnectionContext};
use crate::ipc::exception::{connect_timeout, connection_failure};
use crate::ipc::frame::DEFAULT_MAX_RESPONSE_LENGTH;
use crate::journal::edits::{
    HEADER_LEN, TailProblem, parse_segment_header, scan_records, split_records,
};
use crate::journal::ipc::{
    QJOURNAL_PROTOCOL, edit_log_manifest, fetch_over_http, get_journal_url, namespace_proto,
    segment_proto, segment_state,
};
use crate::journal::{
    EditLogManifest, JournalError, NamespaceInfo, PrepareRecoveryResponse, SegmentSink,
    SegmentState,
};
use crate::proto::hadoop_qjournal as pb;

/// QJournalProtocol's version (`RPC.getProtocolVersion(QJournalProtocolPB.class)`).
const QJOURNAL_PROTOCOL_VERSION: u64 = 1;

/// A JournalNode reached over Hadoop IPC.
#[derive(Clone)]
pub struct IpcChannel(Arc<Inner>);

struct Inner {
    rpc: HostPort,
    jid: String,
    name_service_id: Option<String>,
    /// The writer's namespace, checked by the servlet (`storageInfo`) when known.
    ns: Option<NamespaceInfo>,
    connect_timeout: Duration,
    context: ConnectionContext,
    connection: Mutex<Option<Arc<Connection>>>,
    /// Held while connecting, so that concurrent calls make one connection.
    connecting: tokio::sync::Mutex<()>,
    /// `http://host:port` of the JournalNode's HTTP server, once an answer named it.
    http_url: Mutex<Option<String>>,
}

impl IpcChannel {
    /// A channel to the JournalNode at `host:port` for journal `jid`. Connects on the first
    /// call, so a JournalNode that is down now is retried on each call.
    pub fn new(
        host: &str,
        port: u16,
        jid: &str,
        name_service_id: Option<String>,
        ns: Option<NamespaceInfo>,
        connect_timeout: Duration,
    ) -> IpcChannel {
        let client_id: [u8; 16] = crate::seeded::SeededRng::from_entropy().bytes();
        IpcChannel(Arc::new(Inner {
            rpc: HostPort::new(host, port),
            jid: jid.to_string(),
            name_service_id,
            ns,
            connect_timeout,
            context: ConnectionContext {
                protocol: QJOURNAL_PROTOCOL,
                protocol_version: QJOURNAL_PROTOCOL_VERSION,
                user: current_user(),
                client_id,
                max_response_length: DEFAULT_MAX_RESPONSE_LENGTH,
            },
            connection: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            http_url: Mutex::new(None),
        }))
    }
}

impl Inner {
    fn open_connection(&self) -> Option<Arc<Connection>> {
        self.connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|c| !c.is_closed())
            .cloned()
    }

    /// The open connection, connecting if there is none.
    async fn connection(&self) -> ChannelResult<Arc<Connection>> {
        if let Some(connection) = self.open_connection() {
            return Ok(connection);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = self.open_connection() {
            return Ok(connection);
        }
        let connecting = Connection::connect(&self.rpc.host, self.rpc.port, self.context.clone());
        let connection = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Err(_) => {
                return Err(connect_timeout(&self.rpc, self.connect_timeout).into());
            }
            Ok(Err(err)) => {
                return Err(connection_failure(&self.rpc, &err, self.connect_timeout).into());
            }
            Ok(Ok(connection)) => Arc::new(connection),
        };
        *self.connection.lock().unwrap_or_else(|p| p.into_inner()) = Some(connection.clone());
        Ok(connection)
    }

    /// Calls `method` on the JournalNode, connecting first when needed.
    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
    ) -> ChannelResult<Resp> {
        let connection = self.connection().await?;
        let outcome = connection.send(method, request).await;
        outcome.map_err(|err| self.call_failed(err))
    }

    /// The single conversion of IPC failures to logger errors: a Hadoop exception keeps its
    /// simple class name (`JournalOutOfSyncException`), a broken connection is unreachable.
    fn call_failed(&self, err: CallError) -> LoggerError {
        err.at(&self.rpc, self.connect_timeout).into()
    }

    fn jid(&self) -> pb::JournalIdProto {
        pb::JournalIdProto {
            identifier: self.jid.clone(),
        }
    }

    fn req(&self, w: WriterInfo) -> pb::RequestInfoProto {
        pb::RequestInfoProto {
            journal_id: self.jid(),
            epoch: w.epoch,
            ipc_serial_number: w.ipc_serial,
            committed_tx_id: w.committed_txid,
            name_service_id: self.name_service_id.clone(),
        }
    }

    /// Remembers the HTTP server an answer names (`fromURL`, else `httpPort` on the RPC host).
    fn learn_http_server(&self, from_url: Option<&str>, http_port: u32) {
        let url = match from_url.filter(|u| !u.is_empty()) {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if http_port != 0 => format!("http://{}:{http_port}", self.rpc.host),
            None => return,
        };
        *self.http_url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url);
    }

    async fn get_journal_state(&self) -> ChannelResult<u64> {
        let r = pb::GetJournalStateRequestProto {
            jid: self.jid(),
            name_service_id: self.name_service_id.clone(),
        };
        let resp: pb::GetJournalStateResponseProto = self.call("getJournalState", &r).await?;
        self.learn_http_server(resp.from_url.as_deref(), resp.http_port);
        Ok(resp.last_promised_epoch)
    }

    /// The JournalNode's HTTP server, asking for it when no answer named it yet.
    async fn http_url(&self) -> ChannelResult<String> {
        let known = self
            .http_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(url) = known {
            return Ok(url);
        }
        self.get_journal_state().await?;
        self.http_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| LoggerError::Remote {
                class: "IllegalStateException".into(),
                message: format!("No HTTP/HTTPS endpoint known for {}", self.rpc),
            })
    }
}

/// A downloaded segment: its layout version and op bytes.
#[derive(Default)]
struct Download {
    layout_version: Option<i32>,
    bytes: Vec<u8>,
}

impl SegmentSink for Download {
    fn begin(&mut self, layout_version: i32) -> Result<(), JournalError> {
        self.layout_version = Some(layout_version);
        Ok(())
    }

    fn write(&mut self, records: &[u8]) -> Result<(), JournalError> {
        self.bytes.extend_from_slice(records);
        Ok(())
    }
}

/// The whole ops of a downloaded segment from `since_txid` on. A real JournalNode serves an
/// in-progress file as it is on disk: preallocated `OP_INVALID` padding after the ops, and
/// possibly an op still being written.
fn ops_since(start: u64, bytes: &[u8], since_txid: u64) -> Result<Vec<u8>, TailProblem> {
    let whole = scan_records(bytes, Some(start)).valid_len;
    let ops = split_records(&bytes[..whole])?;
    let from = ops
        .iter()
        .position(|(txid, _)| *txid >= since_txid)
        .map_or(whole, |first| {
            ops[..first].iter().map(|(_, op)| op.len()).sum::<usize>()
        });
    Ok(bytes[from..whole].to_vec())
}

/// The ops of a `getJournaledEdits` answer of `count` edits: a JournalNode's cache (Hadoop's
/// `JournaledEditsCache`, and ours) serves them behind the edit log header of their layout.
fn journaled_ops(count: u32, mut edit_log: Vec<u8>) -> ChannelResult<Vec<u8>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    parse_segment_header(&edit_log).map_err(|problem| LoggerError::Remote {
        class: "IOException".into(),
        message: format!("journaled edits without their edit log header: {problem}"),
    })?;
    edit_log.drain(..HEADER_LEN);
    Ok(edit_log)
}

impl JournalChannel for IpcChannel {
    fn address(&self) -> String {
        self.0.rpc.to_string()
    }

    async fn segment_url(&self, segment_txid: u64) -> ChannelResult<String> {
        let http = self.0.http_url().await?;
        Ok(get_journal_url(
            &http,
            &self.0.jid,
            segment_txid,
            self.0.ns.as_ref(),
        ))
    }

    async fn is_formatted(&self) -> ChannelResult<bool> {
        let r = pb::IsFormattedRequestProto {
            jid: self.0.jid(),
            name_service_id: self.0.name_service_id.clone(),
        };
        let resp: pb::IsFormattedResponseProto = self.0.call("isFormatted", &r).await?;
        Ok(resp.is_formatted)
    }

    async fn get_journal_state(&self) -> ChannelResult<u64> {
        self.0.get_journal_state().await
    }

    async fn format(&self, ns: &NamespaceInfo, force: bool) -> ChannelResult<()> {
        let r = pb::FormatRequestProto {
            jid: self.0.jid(),
            ns_info: namespace_proto(ns),
            name_service_id: self.0.name_service_id.clone(),
            force: Some(force),
        };
        let _: pb::FormatResponseProto = self.0.call("format", &r).await?;
        Ok(())
    }

    async fn new_epoch(&self, ns: &NamespaceInfo, epoch: u64) -> ChannelResult<Option<u64>> {
        let r = pb::NewEpochRequestProto {
            jid: self.0.jid(),
            ns_info: namespace_proto(ns),
            epoch,
            name_service_id: self.0.name_service_id.clone(),
        };
        let resp: pb::NewEpochResponseProto = self.0.call("newEpoch", &r).await?;
        Ok(resp.last_segment_tx_id)
    }

    async fn start_log_segment(
        &self,
        w: WriterInfo,
        txid: u64,
        layout_version: i32,
    ) -> ChannelResult<()> {
        let r = pb::StartLogSegmentRequestProto {
            req_info: self.0.req(w),
            txid,
            layout_version: Some(layout_version),
        };
        let _: pb::StartLogSegmentResponseProto = self.0.call("startLogSegment", &r).await?;
        Ok(())
    }

    fn journal(
        &self,
        w: WriterInfo,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> impl Future<Output = ChannelResult<()>> + Send + 'static {
        let r = pb::JournalRequestProto {
            req_info: self.0.req(w),
            first_txn_id: first_txid,
            num_txns,
            records,
            segment_txn_id: segment_txid,
            name_service_id: self.0.name_service_id.clone(),
        };
        // Queued now, in the caller's order; only the wait for the answer is deferred.
        let sent = self
            .0
            .open_connection()
            .map(|c| c.send::<_, pb::JournalResponseProto>("journal", &r));
        let inner = self.0.clone();
        async move {
            match sent {
                Some(answer) => answer.await.map(|_| ()).map_err(|e| inner.call_failed(e)),
                None => Err(inner.call_failed(CallError::Io {
                    kind: std::io::ErrorKind::NotConnected,
                    message: "no open connection for the batch".to_string(),
                })),
            }
        }
    }

    async fn heartbeat(&self, w: WriterInfo) -> ChannelResult<()> {
        let r = pb::HeartbeatRequestProto {
            req_info: self.0.req(w),
        };
        let _: pb::HeartbeatResponseProto = self.0.call("heartbeat", &r).await?;
        Ok(())
    }

    async fn finalize_log_segment(&self, w: WriterInfo, start: u64, end: u64) -> ChannelResult<()> {
        let r = pb::FinalizeLogSegmentRequestProto {
            req_info: self.0.req(w),
            start_tx_id: start,
            end_tx_id: end,
        };
        let _: pb::FinalizeLogSegmentResponseProto = self.0.call("finalizeLogSegment", &r).await?;
        Ok(())
    }

    async fn purge_logs(&self, w: WriterInfo, min_txid: u64) -> ChannelResult<()> {
        let r = pb::PurgeLogsRequestProto {
            req_info: self.0.req(w),
            min_tx_id_to_keep: min_txid,
        };
        let _: pb::PurgeLogsResponseProto = self.0.call("purgeLogs", &r).await?;
        Ok(())
    }

    async fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> ChannelResult<EditLogManifest> {
        let r = pb::GetEditLogManifestRequestProto {
            jid: self.0.jid(),
            since_tx_id: since_txid,
            in_progress_ok: Some(in_progress_ok),
            name_service_id: self.0.name_service_id.clone(),
        };
        let resp: pb::GetEditLogManifestResponseProto =
            self.0.call("getEditLogManifest", &r).await?;
        self.0
            .learn_http_server(resp.from_url.as_deref(), resp.http_port);
        Ok(edit_log_manifest(&resp.manifest))
    }

    async fn get_journaled_edits(
        &self,
        since_txid: u64,
        max_txns: u32,
    ) -> ChannelResult<(u32, Vec<u8>)> {
        let r = pb::GetJournaledEditsRequestProto {
            jid: self.0.jid(),
            since_tx_id: since_txid,
            max_txns,
            name_service_id: self.0.name_service_id.clone(),
        };
        let resp: pb::GetJournaledEditsResponseProto = self.0.call("getJournaledEdits", &r).await?;
        let edit_log = resp.edit_log.unwrap_or_default();
        Ok((resp.txn_count, journaled_ops(resp.txn_count, edit_log)?))
    }

    async fn prepare_recovery(
        &self,
        w: WriterInfo,
        segment_txid: u64,
    ) -> ChannelResult<PrepareRecoveryResponse> {
        let r = pb::PrepareRecoveryRequestProto {
            req_info: self.0.req(w),
            segment_tx_id: segment_txid,
        };
        let resp: pb::PrepareRecoveryResponseProto = self.0.call("prepareRecovery", &r).await?;
        Ok(PrepareRecoveryResponse {
            segment_state: resp.segment_state.as_ref().map(segment_state),
            accepted_in_epoch: resp.accepted_in_epoch,
            last_writer_epoch: resp.last_writer_epoch,
            last_committed_txid: resp.last_committed_tx_id,
        })
    }

    async fn accept_recovery(
        &self,
        w: WriterInfo,
        state: SegmentState,
        from_url: String,
    ) -> ChannelResult<()> {
        let r = pb::AcceptRecoveryRequestProto {
            req_info: self.0.req(w),
            state_to_accept: segment_proto(&state),
            from_url,
        };
        let _: pb::AcceptRecoveryResponseProto = self.0.call("acceptRecovery", &r).await?;
        Ok(())
    }

    async fn get_segment(&self, start: u64, since_txid: u64) -> ChannelResult<(i32, Vec<u8>)> {
        let url = self.segment_url(start).await?;
        let mut download = Download::default();
        let failed = |message: String| LoggerError::Remote {
            class: "IOException".into(),
            message,
        };
        fetch_over_http(&url, &mut download)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let layout = download
            .layout_version
            .ok_or_else(|| failed(format!("{url} served no segment header")))?;
        let ops = ops_since(start, &download.bytes, since_txid)
            .map_err(|p| failed(format!("bad segment from {url}: {p}")))?;
        Ok((layout, ops))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::{OP_INVALID, test_records as records};

    #[test]
    fn a_served_segment_is_cut_to_its_whole_ops_from_the_txid_asked() {
        let mut file = records(5, 4);
        file.extend_from_slice(&[OP_INVALID; 64]);
        assert_eq!(ops_since(5, &file, 5).unwrap(), records(5, 4));
        assert_eq!(ops_since(5, &file, 7).unwrap(), records(7, 2));
        assert!(ops_since(5, &file, 9).unwrap().is_empty());
        // An op still being written is not served.
        let mut torn = records(5, 2);
        torn.extend_from_slice(&records(7, 1)[..6]);
        assert_eq!(ops_since(5, &torn, 5).unwrap(), records(5, 2));
    }

    #[test]
    fn journaled_edits_lose_their_header_and_nothing_else() {
        use crate::journal::edits::segment_header;
        let mut served = segment_header(-66).to_vec();
        served.extend_from_slice(&records(4, 3));
        assert_eq!(journaled_ops(3, served).unwrap(), records(4, 3));
        assert!(journaled_ops(0, Vec::new()).unwrap().is_empty());
        // Ops without the header in front are refused, not read from their ninth byte on.
        let err = journaled_ops(3, records(4, 3)).unwrap_err().to_string();
        assert!(err.contains("without their edit log header"), "{err}");
    }

    #[test]
    fn segment_urls_are_hadoops_get_journal_paths() {
        let ns = NamespaceInfo {
            namespace_id: 4242,
            cluster_id: "CID-1".into(),
            block_pool_id: "BP-1".into(),
            layout_version: -66,
            ctime: 0,
        };
        assert_eq!(
            get_journal_url("http://127.0.0.1:8480", "ns1", 3, Some(&ns)),
            "http://127.0.0.1:8480/getJournal?jid=ns1&segmentTxId=3&storageInfo=-66%3A4242%3A0%3ACID-1&inProgressOk=true"
        );
    }
}
