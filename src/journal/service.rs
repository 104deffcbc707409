//! The JournalNode's RPC service (QJournalProtocol over gRPC): journals by journal id, created
//! on the first request that names them, each serialized behind its own lock; wire types are
//! converted here and nowhere else, and every [`JournalError`] becomes a gRPC status in
//! [`to_status`] (Hadoop's message, the exception class in `exception-class` metadata).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::JournalError;
use super::edits::split_records;
use super::journal::{Journal, JournalBatch, NamespaceInfo, RequestInfo, SegmentSink};
use super::storage::{JournalStorage, SegmentState, StorageError};
use crate::conf::check_journal_id;
use crate::proto::qjournal as pb;
use crate::proto::qjournal::q_journal_protocol_service_client::QJournalProtocolServiceClient;
use crate::proto::qjournal::q_journal_protocol_service_server::QJournalProtocolService;

/// The metadata key naming the Hadoop exception class of an error status.
pub const EXCEPTION_CLASS_KEY: &str = "exception-class";

/// Bytes per segment chunk streamed by `getSegment`.
const SEGMENT_CHUNK_BYTES: usize = 1 << 20;

/// Most batches of a journal stream handled under one sync.
const MAX_GROUP_BATCHES: usize = 64;

/// Opens the storage of a journal by id (a directory under `dfs.journalnode.edits.dir` for
/// the daemon; memory in tests).
pub trait JournalStorageFactory: Send + Sync + 'static {
    type Storage: JournalStorage + 'static;
    fn open(&self, jid: &str) -> Result<Self::Storage, StorageError>;
}

type SharedJournal<S> = Arc<Mutex<Journal<S>>>;

/// Every journal of one JournalNode.
pub struct Journals<F: JournalStorageFactory> {
    factory: F,
    journals: Mutex<HashMap<String, SharedJournal<F::Storage>>>,
    /// Edits cache capacity per journal, when in-progress tailing is enabled.
    cache_capacity: Option<usize>,
}

impl<F: JournalStorageFactory> Journals<F> {
    pub fn new(factory: F, cache_capacity: Option<usize>) -> Self {
        Journals {
            factory,
            journals: Mutex::new(HashMap::new()),
            cache_capacity,
        }
    }

    /// The journal `jid`, opened (and its newest segment scanned) on first use.
    pub fn get(&self, jid: &str) -> Result<SharedJournal<F::Storage>, Status> {
        check_journal_id(jid).map_err(Status::invalid_argument)?;
        self.journal(jid).map_err(to_status)
    }

    /// [`Journals::get`], with the journal's own error.
    pub fn journal(&self, jid: &str) -> Result<SharedJournal<F::Storage>, JournalError> {
        check_journal_id(jid).map_err(JournalError::IllegalArgument)?;
        let mut journals = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(journal) = journals.get(jid) {
            return Ok(journal.clone());
        }
        let storage = self.factory.open(jid)?;
        let journal = Journal::open(jid, storage, self.cache_capacity)?;
        let shared = Arc::new(Mutex::new(journal));
        journals.insert(jid.to_string(), shared.clone());
        Ok(shared)
    }

    /// Runs `op` on journal `jid` on a blocking thread (journal operations fsync).
    pub async fn run<T: Send + 'static>(
        &self,
        jid: &str,
        op: impl FnOnce(&mut Journal<F::Storage>) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal(jid)?;
        tokio::task::spawn_blocking(move || {
            let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
            op(&mut journal)
        })
        .await
        .map_err(|e| JournalError::Assertion(format!("journal task failed: {e}")))?
    }

    /// The journals opened so far, by id.
    pub fn all(&self) -> Vec<(String, SharedJournal<F::Storage>)> {
        let journals = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = journals
            .iter()
            .map(|(jid, j)| (jid.clone(), j.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The gRPC service.
pub struct JournalNodeService<F: JournalStorageFactory> {
    journals: Arc<Journals<F>>,
    /// Where this JournalNode serves segments, as other nodes should fetch them.
    self_url: String,
}

impl<F: JournalStorageFactory> JournalNodeService<F> {
    pub fn new(journals: Arc<Journals<F>>, self_url: String) -> Self {
        JournalNodeService { journals, self_url }
    }

    /// Runs `op` on journal `jid` on a blocking thread (journal operations fsync).
    async fn with_journal<T: Send + 'static>(
        &self,
        jid: &str,
        op: impl FnOnce(&mut Journal<F::Storage>) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, Status> {
        check_journal_id(jid).map_err(Status::invalid_argument)?;
        self.journals.run(jid, op).await.map_err(to_status)
    }
}

/// The single conversion of journal errors to gRPC statuses.
pub fn to_status(err: JournalError) -> Status {
    use tonic::Code;
    let code = match &err {
        JournalError::NotFormatted { .. } => Code::FailedPrecondition,
        JournalError::EpochTooLow { .. }
        | JournalError::EpochNotNewer { .. }
        | JournalError::NotWriterEpoch { .. } => Code::FailedPrecondition,
        JournalError::OutOfSync(_) => Code::Aborted,
        JournalError::NewerTxnId { .. } | JournalError::CacheMiss { .. } => Code::OutOfRange,
        JournalError::IllegalArgument(_) | JournalError::BadBatch(_) => Code::InvalidArgument,
        JournalError::CacheDisabled => Code::Unimplemented,
        _ => Code::Internal,
    };
    let mut status = Status::new(code, err.to_string());
    if let Ok(value) = err.exception_class().parse() {
        status.metadata_mut().insert(EXCEPTION_CLASS_KEY, value);
    }
    status
}

fn jid_of(jid: &Option<pb::JournalIdProto>) -> String {
    jid.as_ref()
        .map(|j| j.identifier.clone())
        .unwrap_or_default()
}

fn request_info<T>(
    request: &Request<T>,
    info: &Option<pb::RequestInfoProto>,
) -> Result<(String, RequestInfo), Status> {
    let info = info
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("request carries no reqInfo"))?;
    let client = request
        .remote_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    Ok((
        jid_of(&info.journal_id),
        RequestInfo {
            epoch: info.epoch,
            ipc_serial: info.ipc_serial_number,
            committed_txid: info.committed_tx_id,
            client,
        },
    ))
}

pub(crate) fn namespace_info(ns: &Option<pb::NamespaceInfoProto>) -> Result<NamespaceInfo, Status> {
    let ns = ns
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("request carries no nsInfo"))?;
    let storage = ns.storage_info.clone().unwrap_or_default();
    Ok(NamespaceInfo {
        namespace_id: storage.namespace_id,
        cluster_id: storage.cluster_id,
        block_pool_id: ns.block_pool_id.clone(),
        layout_version: storage.layout_version,
        ctime: storage.c_time,
    })
}

/// The next message of `stream` if it has already arrived, without waiting.
fn next_if_ready<T>(stream: &mut tonic::Streaming<T>) -> Option<Result<Option<T>, Status>> {
    use std::task::{Context, Poll};
    use tokio_stream::Stream;
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(stream).poll_next(&mut cx) {
        Poll::Ready(Some(Ok(m))) => Some(Ok(Some(m))),
        Poll::Ready(Some(Err(e))) => Some(Err(e)),
        Poll::Ready(None) => Some(Ok(None)),
        Poll::Pending => None,
    }
}

/// Handles one writer's journal stream: batches in arrival order, those already waiting
/// committed together under one sync, one answer per batch in order.
async fn serve_journal_stream<F: JournalStorageFactory>(
    journals: Arc<Journals<F>>,
    client: String,
    mut inbound: tonic::Streaming<pb::JournalRequestProto>,
    tx: tokio::sync::mpsc::Sender<Result<pb::JournalStreamResponseProto, Status>>,
) {
    loop {
        let first = match inbound.message().await {
            Ok(Some(m)) => m,
            Ok(None) | Err(_) => return,
        };
        let mut group = vec![first];
        let mut ended = false;
        while group.len() < MAX_GROUP_BATCHES {
            match next_if_ready(&mut inbound) {
                Some(Ok(Some(m))) => group.push(m),
                Some(Ok(None)) | Some(Err(_)) => {
                    ended = true;
                    break;
                }
                None => break,
            }
        }
        let jid = group[0]
            .req_info
            .as_ref()
            .map(|r| jid_of(&r.journal_id))
            .unwrap_or_default();
        let results: Vec<Result<(), Status>> = match journals.get(&jid) {
            Err(status) => group.iter().map(|_| Err(status.clone())).collect(),
            Ok(journal) => {
                let client = client.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    let batches: Vec<Result<JournalBatch<'_>, Status>> = group
                        .iter()
                        .map(|m| {
                            let info = m.req_info.as_ref().ok_or_else(|| {
                                Status::invalid_argument("request carries no reqInfo")
                            })?;
                            if jid_of(&info.journal_id) != jid {
                                return Err(Status::invalid_argument(
                                    "one journal stream carries one journal",
                                ));
                            }
                            Ok(JournalBatch {
                                req: RequestInfo {
                                    epoch: info.epoch,
                                    ipc_serial: info.ipc_serial_number,
                                    committed_txid: info.committed_tx_id,
                                    client: client.clone(),
                                },
                                segment_txid: m.segment_txn_id,
                                first_txid: m.first_txn_id,
                                num_txns: m.num_txns,
                                records: &m.records,
                            })
                        })
                        .collect();
                    let valid: Vec<JournalBatch<'_>> = batches
                        .iter()
                        .filter_map(|b| b.as_ref().ok().cloned())
                        .collect();
                    let mut results = journal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .journal_group(&valid)
                        .into_iter();
                    batches
                        .iter()
                        .map(|b| match b {
                            Ok(_) => results.next().unwrap_or(Ok(())).map_err(to_status),
                            Err(status) => Err(status.clone()),
                        })
                        .collect::<Vec<_>>()
                })
                .await;
                match outcome {
                    Ok(results) => results,
                    Err(e) => vec![Err(Status::internal(format!("journal task failed: {e}")))],
                }
            }
        };
        for result in results {
            let response = match result {
                Ok(()) => pb::JournalStreamResponseProto::default(),
                Err(status) => pb::JournalStreamResponseProto {
                    exception_class: Some(
                        status
                            .metadata()
                            .get(EXCEPTION_CLASS_KEY)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("IOException")
                            .to_string(),
                    ),
                    message: Some(status.message().to_string()),
                },
            };
            if tx.send(Ok(response)).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
    }
}

fn segment_state(s: &pb::SegmentStateProto) -> SegmentState {
    SegmentState {
        start_txid: s.start_tx_id,
        end_txid: s.end_tx_id,
        in_progress: s.is_in_progress,
    }
}

fn segment_proto(s: &SegmentState) -> pb::SegmentStateProto {
    pb::SegmentStateProto {
        start_tx_id: s.start_txid,
        end_tx_id: s.end_txid,
        is_in_progress: s.in_progress,
    }
}

/// Streams the segment starting at `start` (txids from `since` on) in chunks of whole
/// records: the first chunk carries the layout version.
fn stream_segment<S: JournalStorage + 'static>(
    journal: SharedJournal<S>,
    start: u64,
    since: u64,
    tx: tokio::sync::mpsc::Sender<Result<pb::SegmentChunkProto, Status>>,
) {
    let mut offset = 0u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let read = {
            let mut j = journal.lock().unwrap_or_else(|p| p.into_inner());
            j.read_segment(start, offset, SEGMENT_CHUNK_BYTES)
        };
        let (layout, bytes) = match read {
            Ok(Some(found)) => found,
            Ok(None) => {
                let _ = tx.blocking_send(Err(Status::not_found(format!(
                    "No segment starting at txid {start}"
                ))));
                return;
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(to_status(e)));
                return;
            }
        };
        let done = bytes.len() < SEGMENT_CHUNK_BYTES;
        offset += bytes.len() as u64;
        carry.extend_from_slice(&bytes);
        // Hand on only whole records; the remainder waits for the next read.
        let whole = whole_records_len(&carry);
        let mut records: Vec<u8> = carry.drain(..whole).collect();
        if since > start
            && let Ok(split) = split_records(&records)
        {
            let skip: usize = split
                .iter()
                .take_while(|(txid, _)| *txid < since)
                .map(|(_, r)| r.len())
                .sum();
            records.drain(..skip);
        }
        if first || !records.is_empty() {
            let chunk = pb::SegmentChunkProto {
                layout_version: first.then_some(layout),
                records,
            };
            first = false;
            if tx.blocking_send(Ok(chunk)).is_err() {
                return;
            }
        }
        if done {
            return;
        }
    }
}

/// Length of the longest prefix of `bytes` made of whole records.
fn whole_records_len(bytes: &[u8]) -> usize {
    super::edits::scan_records(bytes, None).valid_len
}

/// Fetches segment `start` of journal `jid` from the JournalNode at `url` into `sink`
/// (acceptRecovery's download), blocking the calling (blocking-pool) thread.
fn fetch_segment(
    handle: &tokio::runtime::Handle,
    url: &str,
    jid: &str,
    start: u64,
    sink: &mut dyn SegmentSink,
) -> Result<(), JournalError> {
    let failed = |e: String| {
        JournalError::Download(format!(
            "Unable to fetch segment {start} of journal {jid} from {url}: {e}"
        ))
    };
    handle.block_on(async {
        let mut client = QJournalProtocolServiceClient::connect(url.to_string())
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut stream = client
            .get_segment(pb::GetSegmentRequestProto {
                jid: Some(pb::JournalIdProto {
                    identifier: jid.to_string(),
                }),
                segment_tx_id: start,
                since_tx_id: 0,
                name_service_id: None,
            })
            .await
            .map_err(|e| failed(e.message().to_string()))?
            .into_inner();
        let mut begun = false;
        while let Some(chunk) = stream
            .message()
            .await
            .map_err(|e| failed(e.message().to_string()))?
        {
            if let Some(layout) = chunk.layout_version {
                sink.begin(layout)?;
                begun = true;
            }
            if !begun {
                return Err(failed("the first chunk carried no layout version".into()));
            }
            sink.write(&chunk.records)?;
        }
        Ok(())
    })
}

#[tonic::async_trait]
impl<F: JournalStorageFactory> QJournalProtocolService for JournalNodeService<F> {
    async fn is_formatted(
        &self,
        request: Request<pb::IsFormattedRequestProto>,
    ) -> Result<Response<pb::IsFormattedResponseProto>, Status> {
        let jid = jid_of(&request.get_ref().jid);
        let is_formatted = self.with_journal(&jid, |j| Ok(j.is_formatted())).await?;
        Ok(Response::new(pb::IsFormattedResponseProto { is_formatted }))
    }

    async fn get_journal_state(
        &self,
        request: Request<pb::GetJournalStateRequestProto>,
    ) -> Result<Response<pb::GetJournalStateResponseProto>, Status> {
        let jid = jid_of(&request.get_ref().jid);
        let epoch = self.with_journal(&jid, |j| j.last_promised_epoch()).await?;
        Ok(Response::new(pb::GetJournalStateResponseProto {
            last_promised_epoch: epoch,
            http_port: 0,
            from_url: self.self_url.clone(),
        }))
    }

    async fn format(
        &self,
        request: Request<pb::FormatRequestProto>,
    ) -> Result<Response<pb::FormatResponseProto>, Status> {
        let r = request.into_inner();
        let ns = namespace_info(&r.ns_info)?;
        let force = r.force;
        self.with_journal(&jid_of(&r.jid), move |j| j.format(&ns, force))
            .await?;
        Ok(Response::new(pb::FormatResponseProto {}))
    }

    async fn new_epoch(
        &self,
        request: Request<pb::NewEpochRequestProto>,
    ) -> Result<Response<pb::NewEpochResponseProto>, Status> {
        let client = request
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let r = request.into_inner();
        let ns = namespace_info(&r.ns_info)?;
        let epoch = r.epoch;
        let last = self
            .with_journal(&jid_of(&r.jid), move |j| j.new_epoch(&ns, epoch, &client))
            .await?;
        Ok(Response::new(pb::NewEpochResponseProto {
            last_segment_tx_id: last,
        }))
    }

    async fn start_log_segment(
        &self,
        request: Request<pb::StartLogSegmentRequestProto>,
    ) -> Result<Response<pb::StartLogSegmentResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let r = request.into_inner();
        self.with_journal(&jid, move |j| {
            j.start_log_segment(&info, r.txid, r.layout_version)
        })
        .await?;
        Ok(Response::new(pb::StartLogSegmentResponseProto {}))
    }

    async fn journal(
        &self,
        request: Request<pb::JournalRequestProto>,
    ) -> Result<Response<pb::JournalResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let r = request.into_inner();
        self.with_journal(&jid, move |j| {
            j.journal(
                &info,
                r.segment_txn_id,
                r.first_txn_id,
                r.num_txns,
                &r.records,
            )
        })
        .await?;
        Ok(Response::new(pb::JournalResponseProto {}))
    }

    type journalStreamStream = ReceiverStream<Result<pb::JournalStreamResponseProto, Status>>;

    async fn journal_stream(
        &self,
        request: Request<tonic::Streaming<pb::JournalRequestProto>>,
    ) -> Result<Response<Self::journalStreamStream>, Status> {
        let client = request
            .remote_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let (tx, rx) = tokio::sync::mpsc::channel(MAX_GROUP_BATCHES * 2);
        tokio::spawn(serve_journal_stream(
            self.journals.clone(),
            client,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequestProto>,
    ) -> Result<Response<pb::HeartbeatResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        self.with_journal(&jid, move |j| j.heartbeat(&info)).await?;
        Ok(Response::new(pb::HeartbeatResponseProto {}))
    }

    async fn finalize_log_segment(
        &self,
        request: Request<pb::FinalizeLogSegmentRequestProto>,
    ) -> Result<Response<pb::FinalizeLogSegmentResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let r = request.into_inner();
        self.with_journal(&jid, move |j| {
            j.finalize_log_segment(&info, r.start_tx_id, r.end_tx_id)
        })
        .await?;
        Ok(Response::new(pb::FinalizeLogSegmentResponseProto {}))
    }

    async fn purge_logs(
        &self,
        request: Request<pb::PurgeLogsRequestProto>,
    ) -> Result<Response<pb::PurgeLogsResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let min = request.get_ref().min_tx_id_to_keep;
        self.with_journal(&jid, move |j| j.purge_logs_older_than(&info, min))
            .await?;
        Ok(Response::new(pb::PurgeLogsResponseProto {}))
    }

    async fn get_edit_log_manifest(
        &self,
        request: Request<pb::GetEditLogManifestRequestProto>,
    ) -> Result<Response<pb::GetEditLogManifestResponseProto>, Status> {
        let r = request.into_inner();
        let manifest = self
            .with_journal(&jid_of(&r.jid), move |j| {
                j.get_edit_log_manifest(r.since_tx_id, r.in_progress_ok)
            })
            .await?;
        Ok(Response::new(pb::GetEditLogManifestResponseProto {
            manifest: Some(pb::RemoteEditLogManifestProto {
                logs: manifest
                    .logs
                    .iter()
                    .map(|l| pb::RemoteEditLogProto {
                        start_tx_id: l.start_txid,
                        end_tx_id: l.end_txid,
                        is_in_progress: l.in_progress,
                    })
                    .collect(),
                committed_txn_id: manifest.committed_txid,
            }),
            http_port: 0,
            from_url: self.self_url.clone(),
        }))
    }

    async fn get_journaled_edits(
        &self,
        request: Request<pb::GetJournaledEditsRequestProto>,
    ) -> Result<Response<pb::GetJournaledEditsResponseProto>, Status> {
        let r = request.into_inner();
        let (count, bytes) = self
            .with_journal(&jid_of(&r.jid), move |j| {
                j.get_journaled_edits(r.since_tx_id, r.max_txns as usize)
            })
            .await?;
        Ok(Response::new(pb::GetJournaledEditsResponseProto {
            txn_count: count as u32,
            edit_log: bytes,
        }))
    }

    async fn prepare_recovery(
        &self,
        request: Request<pb::PrepareRecoveryRequestProto>,
    ) -> Result<Response<pb::PrepareRecoveryResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let segment = request.get_ref().segment_tx_id;
        let prep = self
            .with_journal(&jid, move |j| j.prepare_recovery(&info, segment))
            .await?;
        Ok(Response::new(pb::PrepareRecoveryResponseProto {
            segment_state: prep.segment_state.as_ref().map(segment_proto),
            accepted_in_epoch: prep.accepted_in_epoch,
            last_writer_epoch: prep.last_writer_epoch,
            last_committed_tx_id: prep.last_committed_txid,
        }))
    }

    async fn accept_recovery(
        &self,
        request: Request<pb::AcceptRecoveryRequestProto>,
    ) -> Result<Response<pb::AcceptRecoveryResponseProto>, Status> {
        let (jid, info) = request_info(&request, &request.get_ref().req_info)?;
        let r = request.into_inner();
        let state = r
            .state_to_accept
            .as_ref()
            .map(segment_state)
            .ok_or_else(|| Status::invalid_argument("acceptRecovery carries no stateToAccept"))?;
        let handle = tokio::runtime::Handle::current();
        let url = r.from_url;
        let fetch_jid = jid.clone();
        self.with_journal(&jid, move |j| {
            let mut fetch = |sink: &mut dyn SegmentSink| {
                fetch_segment(&handle, &url, &fetch_jid, state.start_txid, sink)
            };
            j.accept_recovery(&info, state, &mut fetch)
        })
        .await?;
        Ok(Response::new(pb::AcceptRecoveryResponseProto {}))
    }

    async fn discard_segments(
        &self,
        request: Request<pb::DiscardSegmentsRequestProto>,
    ) -> Result<Response<pb::DiscardSegmentsResponseProto>, Status> {
        let r = request.into_inner();
        let start = r.start_tx_id;
        self.with_journal(&jid_of(&r.jid), move |j| j.discard_segments(start))
            .await?;
        Ok(Response::new(pb::DiscardSegmentsResponseProto {}))
    }

    type getSegmentStream = ReceiverStream<Result<pb::SegmentChunkProto, Status>>;

    async fn get_segment(
        &self,
        request: Request<pb::GetSegmentRequestProto>,
    ) -> Result<Response<Self::getSegmentStream>, Status> {
        let r = request.into_inner();
        let journal = self.journals.get(&jid_of(&r.jid))?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            stream_segment(journal, r.segment_tx_id, r.since_tx_id, tx)
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
