//! `JournalChannel`: the requests a writer or reader sends to one JournalNode, as a trait
//! with two transports — [`GrpcChannel`] (a real JournalNode over gRPC) and
//! [`super::LocalChannel`] (a journal in this process, for fault-injection tests).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::journal::service::EXCEPTION_CLASS_KEY;
use crate::journal::{
    EditLogManifest, NamespaceInfo, PrepareRecoveryResponse, RemoteEditLog, SegmentState,
};
use crate::proto::qjournal as pb;
use crate::proto::qjournal::q_journal_protocol_service_client::QJournalProtocolServiceClient;

use super::error::LoggerError;

/// The writer fields of a request (`RequestInfoProto`), filled per call by the logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterInfo {
    pub epoch: u64,
    pub ipc_serial: u64,
    pub committed_txid: Option<u64>,
}

pub type ChannelResult<T> = Result<T, LoggerError>;

/// One JournalNode, one journal.
pub trait JournalChannel: Send + Sync + 'static {
    /// `host:port`, as messages name the JournalNode.
    fn address(&self) -> String;
    /// Where this JournalNode serves segments to other JournalNodes.
    fn url(&self) -> String;

    fn is_formatted(&self) -> impl Future<Output = ChannelResult<bool>> + Send;
    fn get_journal_state(&self) -> impl Future<Output = ChannelResult<u64>> + Send;
    fn format(
        &self,
        ns: &NamespaceInfo,
        force: bool,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn new_epoch(
        &self,
        ns: &NamespaceInfo,
        epoch: u64,
    ) -> impl Future<Output = ChannelResult<Option<u64>>> + Send;
    fn start_log_segment(
        &self,
        w: WriterInfo,
        txid: u64,
        layout_version: i32,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    /// Sends a batch of edits. The batch is on its way when this returns (before the future
    /// is polled): batches sent one after the other reach the JournalNode in that order, and
    /// their answers come in that order.
    fn journal(
        &self,
        w: WriterInfo,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> impl Future<Output = ChannelResult<()>> + Send + 'static;
    fn heartbeat(&self, w: WriterInfo) -> impl Future<Output = ChannelResult<()>> + Send;
    fn finalize_log_segment(
        &self,
        w: WriterInfo,
        start: u64,
        end: u64,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn purge_logs(
        &self,
        w: WriterInfo,
        min_txid: u64,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> impl Future<Output = ChannelResult<EditLogManifest>> + Send;
    fn get_journaled_edits(
        &self,
        since_txid: u64,
        max_txns: u32,
    ) -> impl Future<Output = ChannelResult<(u32, Vec<u8>)>> + Send;
    fn prepare_recovery(
        &self,
        w: WriterInfo,
        segment_txid: u64,
    ) -> impl Future<Output = ChannelResult<PrepareRecoveryResponse>> + Send;
    fn accept_recovery(
        &self,
        w: WriterInfo,
        state: SegmentState,
        from_url: String,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    /// Record bytes of segment `start` from `since_txid` on, with its layout version.
    fn get_segment(
        &self,
        start: u64,
        since_txid: u64,
    ) -> impl Future<Output = ChannelResult<(i32, Vec<u8>)>> + Send;
}

type Reply = oneshot::Sender<ChannelResult<()>>;

/// The open journal stream to a JournalNode: batches in, answers in the same order.
struct Pipeline {
    requests: mpsc::UnboundedSender<(pb::JournalRequestProto, Reply)>,
}

/// A JournalNode reached over gRPC.
#[derive(Clone)]
pub struct GrpcChannel {
    address: String,
    url: String,
    jid: String,
    name_service_id: Option<String>,
    client: QJournalProtocolServiceClient<tonic::transport::Channel>,
    /// Reopened on the next batch after the stream breaks.
    pipeline: Arc<Mutex<Option<Pipeline>>>,
}

impl GrpcChannel {
    /// A channel to the JournalNode at `host:port` for journal `jid`. Connects lazily, so a
    /// JournalNode that is down now is retried on each call.
    pub fn new(
        host: &str,
        port: u16,
        jid: &str,
        name_service_id: Option<String>,
        connect_timeout: Duration,
    ) -> Result<GrpcChannel, String> {
        let url = format!("http://{}", crate::conf::HostPort::new(host, port));
        let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
            .map_err(|e| format!("bad JournalNode address {url}: {e}"))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(20));
        let channel = endpoint.connect_lazy();
        Ok(GrpcChannel {
            address: crate::conf::HostPort::new(host, port).to_string(),
            url,
            jid: jid.to_string(),
            name_service_id,
            client: QJournalProtocolServiceClient::new(channel)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            pipeline: Arc::new(Mutex::new(None)),
        })
    }

    /// Opens a journal stream; a task moves batches out and answers back, in order.
    fn open_pipeline(&self) -> Pipeline {
        let (requests, mut queued) = mpsc::unbounded_channel::<(pb::JournalRequestProto, Reply)>();
        let mut client = self.client.clone();
        tokio::spawn(async move {
            let (outbound, outbound_rx) = mpsc::channel::<pb::JournalRequestProto>(1024);
            let mut inbound = match client
                .journal_stream(ReceiverStream::new(outbound_rx))
                .await
            {
                Ok(response) => response.into_inner(),
                Err(status) => {
                    let err = from_status(status);
                    while let Ok((_, reply)) = queued.try_recv() {
                        let _ = reply.send(Err(err.clone()));
                    }
                    return;
                }
            };
            let mut waiting: VecDeque<Reply> = VecDeque::new();
            let mut senders_gone = false;
            loop {
                tokio::select! {
                    next = queued.recv(), if !senders_gone => match next {
                        Some((request, reply)) => {
                            waiting.push_back(reply);
                            if outbound.send(request).await.is_err() {
                                break;
                            }
                        }
                        None => senders_gone = true,
                    },
                    answer = inbound.message() => match answer {
                        Ok(Some(answer)) => {
                            if let Some(reply) = waiting.pop_front() {
                                let _ = reply.send(stream_answer(answer));
                            }
                        }
                        Ok(None) | Err(_) => break,
                    },
                }
                if senders_gone && waiting.is_empty() {
                    return;
                }
            }
            // The stream broke: whatever was sent and not answered failed.
            for reply in waiting {
                let _ = reply.send(Err(LoggerError::Unreachable(
                    "Call failed: the journal stream broke".to_string(),
                )));
            }
        });
        Pipeline { requests }
    }

    fn jid(&self) -> Option<pb::JournalIdProto> {
        Some(pb::JournalIdProto {
            identifier: self.jid.clone(),
        })
    }

    fn req(&self, w: WriterInfo) -> Option<pb::RequestInfoProto> {
        Some(pb::RequestInfoProto {
            journal_id: self.jid(),
            epoch: w.epoch,
            ipc_serial_number: w.ipc_serial,
            committed_tx_id: w.committed_txid,
            name_service_id: self.name_service_id.clone(),
        })
    }
}

/// The single conversion of gRPC statuses to logger errors.
fn from_status(status: tonic::Status) -> LoggerError {
    match status.metadata().get(EXCEPTION_CLASS_KEY) {
        Some(class) => LoggerError::Remote {
            class: class.to_str().unwrap_or("IOException").to_string(),
            message: status.message().to_string(),
        },
        None => match status.code() {
            tonic::Code::Unavailable | tonic::Code::Cancelled | tonic::Code::Unknown => {
                LoggerError::Unreachable(format!("Call failed: {}", status.message()))
            }
            tonic::Code::DeadlineExceeded => LoggerError::Timeout,
            _ => LoggerError::Remote {
                class: "IOException".to_string(),
                message: status.message().to_string(),
            },
        },
    }
}

/// One answer of a journal stream.
fn stream_answer(answer: pb::JournalStreamResponseProto) -> ChannelResult<()> {
    match answer.exception_class {
        None => Ok(()),
        Some(class) => Err(LoggerError::Remote {
            class,
            message: answer.message.unwrap_or_default(),
        }),
    }
}

pub(crate) fn ns_proto(ns: &NamespaceInfo) -> Option<pb::NamespaceInfoProto> {
    Some(pb::NamespaceInfoProto {
        build_version: env!("CARGO_PKG_VERSION").to_string(),
        block_pool_id: ns.block_pool_id.clone(),
        storage_info: Some(pb::StorageInfoProto {
            layout_version: ns.layout_version,
            namespace_id: ns.namespace_id,
            cluster_id: ns.cluster_id.clone(),
            c_time: ns.ctime,
        }),
        software_version: env!("CARGO_PKG_VERSION").to_string(),
        capabilities: 0,
    })
}

impl JournalChannel for GrpcChannel {
    fn address(&self) -> String {
        self.address.clone()
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    async fn is_formatted(&self) -> ChannelResult<bool> {
        let r = pb::IsFormattedRequestProto {
            jid: self.jid(),
            name_service_id: self.name_service_id.clone(),
        };
        let resp = self
            .client
            .clone()
            .is_formatted(r)
            .await
            .map_err(from_status)?;
        Ok(resp.into_inner().is_formatted)
    }

    async fn get_journal_state(&self) -> ChannelResult<u64> {
        let r = pb::GetJournalStateRequestProto {
            jid: self.jid(),
            name_service_id: self.name_service_id.clone(),
        };
        let resp = self
            .client
            .clone()
            .get_journal_state(r)
            .await
            .map_err(from_status)?;
        Ok(resp.into_inner().last_promised_epoch)
    }

    async fn format(&self, ns: &NamespaceInfo, force: bool) -> ChannelResult<()> {
        let r = pb::FormatRequestProto {
            jid: self.jid(),
            ns_info: ns_proto(ns),
            name_service_id: self.name_service_id.clone(),
            force,
        };
        self.client.clone().format(r).await.map_err(from_status)?;
        Ok(())
    }

    async fn new_epoch(&self, ns: &NamespaceInfo, epoch: u64) -> ChannelResult<Option<u64>> {
        let r = pb::NewEpochRequestProto {
            jid: self.jid(),
            ns_info: ns_proto(ns),
            epoch,
            name_service_id: self.name_service_id.clone(),
        };
        let resp = self
            .client
            .clone()
            .new_epoch(r)
            .await
            .map_err(from_status)?;
        Ok(resp.into_inner().last_segment_tx_id)
    }

    async fn start_log_segment(
        &self,
        w: WriterInfo,
        txid: u64,
        layout_version: i32,
    ) -> ChannelResult<()> {
        let r = pb::StartLogSegmentRequestProto {
            req_info: self.req(w),
            txid,
            layout_version,
        };
        self.client
            .clone()
            .start_log_segment(r)
            .await
            .map_err(from_status)?;
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
        let request = pb::JournalRequestProto {
            req_info: self.req(w),
            first_txn_id: first_txid,
            num_txns,
            records,
            segment_txn_id: segment_txid,
            name_service_id: self.name_service_id.clone(),
        };
        let (reply, answer) = oneshot::channel();
        {
            let mut pipeline = self.pipeline.lock().unwrap_or_else(|p| p.into_inner());
            if pipeline.as_ref().is_none_or(|p| p.requests.is_closed()) {
                *pipeline = Some(self.open_pipeline());
            }
            if let Some(p) = pipeline.as_ref()
                && let Err(mpsc::error::SendError((_, reply))) = p.requests.send((request, reply))
            {
                let _ = reply.send(Err(LoggerError::Unreachable(
                    "Call failed: the journal stream is closed".to_string(),
                )));
            }
        }
        async move {
            answer.await.unwrap_or_else(|_| {
                Err(LoggerError::Unreachable(
                    "Call failed: the journal stream broke".to_string(),
                ))
            })
        }
    }

    async fn heartbeat(&self, w: WriterInfo) -> ChannelResult<()> {
        let r = pb::HeartbeatRequestProto {
            req_info: self.req(w),
        };
        self.client
            .clone()
            .heartbeat(r)
            .await
            .map_err(from_status)?;
        Ok(())
    }

    async fn finalize_log_segment(&self, w: WriterInfo, start: u64, end: u64) -> ChannelResult<()> {
        let r = pb::FinalizeLogSegmentRequestProto {
            req_info: self.req(w),
            start_tx_id: start,
            end_tx_id: end,
        };
        self.client
            .clone()
            .finalize_log_segment(r)
            .await
            .map_err(from_status)?;
        Ok(())
    }

    async fn purge_logs(&self, w: WriterInfo, min_txid: u64) -> ChannelResult<()> {
        let r = pb::PurgeLogsRequestProto {
            req_info: self.req(w),
            min_tx_id_to_keep: min_txid,
        };
        self.client
            .clone()
            .purge_logs(r)
            .await
            .map_err(from_status)?;
        Ok(())
    }

    async fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> ChannelResult<EditLogManifest> {
        let r = pb::GetEditLogManifestRequestProto {
            jid: self.jid(),
            since_tx_id: since_txid,
            in_progress_ok,
            name_service_id: self.name_service_id.clone(),
        };
        let resp = self
            .client
            .clone()
            .get_edit_log_manifest(r)
            .await
            .map_err(from_status)?
            .into_inner();
        let manifest = resp.manifest.unwrap_or_default();
        Ok(EditLogManifest {
            logs: manifest
                .logs
                .iter()
                .map(|l| RemoteEditLog {
                    start_txid: l.start_tx_id,
                    end_txid: l.end_tx_id,
                    in_progress: l.is_in_progress,
                })
                .collect(),
            committed_txid: manifest.committed_txn_id,
        })
    }

    async fn get_journaled_edits(
        &self,
        since_txid: u64,
        max_txns: u32,
    ) -> ChannelResult<(u32, Vec<u8>)> {
        let r = pb::GetJournaledEditsRequestProto {
            jid: self.jid(),
            since_tx_id: since_txid,
            max_txns,
            name_service_id: self.name_service_id.clone(),
        };
        let resp = self
            .client
            .clone()
            .get_journaled_edits(r)
            .await
            .map_err(from_status)?
            .into_inner();
        Ok((resp.txn_count, resp.edit_log))
    }

    async fn prepare_recovery(
        &self,
        w: WriterInfo,
        segment_txid: u64,
    ) -> ChannelResult<PrepareRecoveryResponse> {
        let r = pb::PrepareRecoveryRequestProto {
            req_info: self.req(w),
            segment_tx_id: segment_txid,
        };
        let resp = self
            .client
            .clone()
            .prepare_recovery(r)
            .await
            .map_err(from_status)?
            .into_inner();
        Ok(PrepareRecoveryResponse {
            segment_state: resp.segment_state.map(|s| SegmentState {
                start_txid: s.start_tx_id,
                end_txid: s.end_tx_id,
                in_progress: s.is_in_progress,
            }),
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
            req_info: self.req(w),
            state_to_accept: Some(pb::SegmentStateProto {
                start_tx_id: state.start_txid,
                end_tx_id: state.end_txid,
                is_in_progress: state.in_progress,
            }),
            from_url,
        };
        self.client
            .clone()
            .accept_recovery(r)
            .await
            .map_err(from_status)?;
        Ok(())
    }

    async fn get_segment(&self, start: u64, since_txid: u64) -> ChannelResult<(i32, Vec<u8>)> {
        let r = pb::GetSegmentRequestProto {
            jid: self.jid(),
            segment_tx_id: start,
            since_tx_id: since_txid,
            name_service_id: self.name_service_id.clone(),
        };
        let mut stream = self
            .client
            .clone()
            .get_segment(r)
            .await
            .map_err(from_status)?
            .into_inner();
        let mut layout = None;
        let mut records = Vec::new();
        while let Some(chunk) = stream.message().await.map_err(from_status)? {
            if let Some(lv) = chunk.layout_version {
                layout = Some(lv);
            }
            records.extend_from_slice(&chunk.records);
        }
        let layout = layout.ok_or_else(|| LoggerError::Remote {
            class: "IOException".into(),
            message: format!("segment {start} arrived without its layout version"),
        })?;
        Ok((layout, records))
    }
}
