//! The JournalNode's HTTP endpoints: `/getJournal` (a segment file, as Hadoop's
//! `GetJournalEditServlet` serves it to NameNodes reading edits and to JournalNodes recovering
//! or syncing), `/jmx` (Hadoop's JSON, beans `JournalNodeInfo` and one `Journal-<jid>` per
//! journal, with `?qry=` filtering) and `/prom` (Prometheus text).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::JournalError;
use super::edits::{HEADER_LEN, TailProblem, scan_records};
use super::journal::JournalStatus;
use super::journals::{JournalStorageFactory, Journals};
use super::storage::{EditFile, JournalStorage, StorageError};

pub fn router<F: JournalStorageFactory>(journals: Arc<Journals<F>>) -> Router {
    Router::new()
        .route("/getJournal", get(get_journal::<F>))
        .route("/jmx", get(jmx::<F>))
        .route("/prom", get(prom::<F>))
        .with_state(journals)
}

fn statuses<F: JournalStorageFactory>(journals: &Journals<F>) -> Vec<(String, JournalStatus)> {
    journals
        .all()
        .into_iter()
        .map(|(jid, j)| {
            let status = j.lock().unwrap_or_else(|p| p.into_inner()).status();
            (jid, status)
        })
        .collect()
}

fn lag(status: &JournalStatus) -> u64 {
    status
        .committed_txid
        .map_or(0, |c| c.saturating_sub(status.highest_written_txid))
}

/// The beans `/jmx` lists.
pub fn beans(statuses: &[(String, JournalStatus)]) -> Vec<Value> {
    let journals_status: serde_json::Map<String, Value> = statuses
        .iter()
        .map(|(jid, s)| (jid.clone(), json!({ "Formatted": s.formatted.to_string() })))
        .collect();
    let mut beans = vec![json!({
        "name": "Hadoop:service=JournalNode,name=JournalNodeInfo",
        "modelerType": "org.apache.hadoop.hdfs.qjournal.server.JournalNode",
        "JournalsStatus": Value::Object(journals_status).to_string(),
        "Version": env!("CARGO_PKG_VERSION"),
    })];
    for (jid, s) in statuses {
        let mut bean = json!({
            "name": format!("Hadoop:service=JournalNode,name=Journal-{jid}"),
            "modelerType": format!("Journal-{jid}"),
            "tag.Context": "dfs",
            "BatchesWritten": s.metrics.batches_written,
            "BatchesWrittenWhileLagging": s.metrics.batches_written_while_lagging,
            "BytesWritten": s.metrics.bytes_written,
            "TxnsWritten": s.metrics.txns_written,
            "TxnsServedViaRpc": s.metrics.txns_served_via_rpc,
            "BytesServedViaRpc": s.metrics.bytes_served_via_rpc,
            "RpcRequestCacheMissAmountNumMisses": s.metrics.rpc_request_cache_misses,
            "RpcEmptyResponses": s.metrics.rpc_empty_responses,
            "NumEditLogsSynced": s.metrics.num_edit_logs_synced,
            "CurrentLagTxns": lag(s),
            "LastWrittenTxId": s.highest_written_txid,
            "LastPromisedEpoch": s.last_promised_epoch,
            "LastWriterEpoch": s.last_writer_epoch,
            "LastCommittedTxId": s.committed_txid,
            "SyncsNumOps": s.metrics.syncs_total,
        });
        if let (Some(quantiles), Value::Object(map)) = (s.metrics.sync_quantiles(), &mut bean) {
            for (p, micros) in quantiles {
                map.insert(format!("Syncs{p}thPercentileLatencyMicros"), json!(micros));
            }
        }
        beans.push(bean);
    }
    beans
}

#[derive(serde::Deserialize)]
struct JmxQuery {
    /// Hadoop's `?qry=<bean name>`.
    qry: Option<String>,
}

async fn jmx<F: JournalStorageFactory>(
    State(journals): State<Arc<Journals<F>>>,
    Query(query): Query<JmxQuery>,
) -> impl IntoResponse {
    let all = beans(&statuses(&journals));
    let selected: Vec<Value> = match &query.qry {
        Some(qry) => all
            .into_iter()
            .filter(|b| b["name"].as_str() == Some(qry.as_str()))
            .collect(),
        None => all,
    };
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf8")],
        serde_json::to_string_pretty(&json!({ "beans": selected })).unwrap_or_default(),
    )
}

/// One Prometheus metric: name, type, help text, and how to read it from a journal's status.
type PromMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&JournalStatus) -> f64,
);

/// Prometheus text exposition of every journal's metrics.
pub fn prometheus_text(statuses: &[(String, JournalStatus)]) -> String {
    let mut out = String::new();
    let metrics: [PromMetric; 11] = [
        (
            "journalnode_edit_logs_synced_total",
            "counter",
            "Finalized segments taken from another JournalNode by sync",
            |s| s.metrics.num_edit_logs_synced as f64,
        ),
        (
            "journalnode_batches_written_total",
            "counter",
            "Batches of edits written",
            |s| s.metrics.batches_written as f64,
        ),
        (
            "journalnode_batches_written_while_lagging_total",
            "counter",
            "Batches written that were already committed on a majority",
            |s| s.metrics.batches_written_while_lagging as f64,
        ),
        (
            "journalnode_bytes_written_total",
            "counter",
            "Bytes of edits written",
            |s| s.metrics.bytes_written as f64,
        ),
        (
            "journalnode_txns_written_total",
            "counter",
            "Edits written",
            |s| s.metrics.txns_written as f64,
        ),
        (
            "journalnode_txns_served_via_rpc_total",
            "counter",
            "Edits served from the cache",
            |s| s.metrics.txns_served_via_rpc as f64,
        ),
        (
            "journalnode_current_lag_txns",
            "gauge",
            "Committed txid minus the highest txid written here",
            |s| lag(s) as f64,
        ),
        (
            "journalnode_last_written_txid",
            "gauge",
            "Highest txid written",
            |s| s.highest_written_txid as f64,
        ),
        (
            "journalnode_last_promised_epoch",
            "gauge",
            "Highest epoch promised",
            |s| s.last_promised_epoch as f64,
        ),
        (
            "journalnode_last_writer_epoch",
            "gauge",
            "Epoch of the last writer",
            |s| s.last_writer_epoch as f64,
        ),
        (
            "journalnode_syncs_total",
            "counter",
            "Edits syncs (fsync)",
            |s| s.metrics.syncs_total as f64,
        ),
    ];
    for (name, kind, help, value) in metrics {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (jid, s) in statuses {
            out.push_str(&format!("{name}{{journalid=\"{jid}\"}} {}\n", value(s)));
        }
    }
    let name = "journalnode_sync_latency_microseconds";
    out.push_str(&format!(
        "# HELP {name} Edits sync latency over recent syncs\n# TYPE {name} summary\n"
    ));
    for (jid, s) in statuses {
        if let Some(quantiles) = s.metrics.sync_quantiles() {
            for (p, micros) in quantiles {
                out.push_str(&format!(
                    "{name}{{journalid=\"{jid}\",quantile=\"0.{p:02}\"}} {micros}\n"
                ));
            }
        }
    }
    out
}

async fn prom<F: JournalStorageFactory>(
    State(journals): State<Arc<Journals<F>>>,
) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus_text(&statuses(&journals)),
    )
}

/// What `/getJournal` answers: the segment file, or Hadoop's error status and text.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    Segment { name: String, body: SegmentBody },
    Refused(StatusCode, String),
}

/// A served segment file, streamed from the file in chunks of [`STREAM_CHUNK`] bytes, each
/// read under the journal's lock: a segment of any size is served without holding it in
/// memory or holding the journal. A finalized segment never changes; an in-progress one only
/// grows past the `len` it is served up to.
#[derive(Debug, PartialEq, Eq)]
struct SegmentBody {
    jid: String,
    file: EditFile,
    len: u64,
}

/// Bytes per chunk of a streamed segment.
const STREAM_CHUNK: usize = 1 << 20;

/// `GetJournalEditServlet.doGet`: `jid`, `segmentTxId`, `storageInfo`
/// (`layoutVersion:namespaceID:cTime:clusterID`, checked when given), `inProgressOk` (true
/// unless `false`). An in-progress segment is served up to its last whole op.
fn serve_segment<F: JournalStorageFactory>(
    journals: &Journals<F>,
    params: &HashMap<String, String>,
) -> Served {
    let failed = |err: String| {
        Served::Refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("getedit failed. {err}"),
        )
    };
    let jid = params.get("jid").map(String::as_str).unwrap_or_default();
    let in_progress_ok = !params
        .get("inProgressOk")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let journal = match journals.journal(jid) {
        Ok(journal) => journal,
        Err(err) => return failed(err.to_string()),
    };
    let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
    let (my_nsid, my_cid) = journal
        .storage_info()
        .map(|s| (s.namespace_id, s.cluster_id.clone()))
        .unwrap_or_default();
    if let Some(theirs) = params.get("storageInfo") {
        let fields: Vec<&str> = theirs.split(':').collect();
        let their_nsid = fields.get(1).and_then(|n| n.parse::<i64>().ok());
        let their_cid = fields.get(3).copied().unwrap_or_default();
        if their_nsid != Some(i64::from(my_nsid)) || their_cid != my_cid {
            return Served::Refused(
                StatusCode::FORBIDDEN,
                format!(
                    "This node has namespaceId '{my_nsid} and clusterId '{my_cid}' but the \
                     requesting node expected '{}' and '{their_cid}'",
                    fields.get(1).copied().unwrap_or_default()
                ),
            );
        }
    }
    let segment_txid = match params.get("segmentTxId") {
        None => return failed("Invalid request has no segmentTxId parameter".to_string()),
        Some(v) => match v.parse::<u64>() {
            Ok(txid) => txid,
            Err(_) => return failed(format!("For input string: \"{v}\"")),
        },
    };
    let storage = journal.storage();
    let files = match storage.list_edit_files() {
        Ok(files) => files,
        Err(err) => return failed(JournalError::Storage(err).to_string()),
    };
    let file = files.into_iter().find(|f| match f {
        EditFile::Finalized { start, .. } => *start == segment_txid,
        EditFile::InProgress { start } => in_progress_ok && *start == segment_txid,
        _ => false,
    });
    let Some(file) = file else {
        return Served::Refused(
            StatusCode::NOT_FOUND,
            format!("No edit log found starting at txid {segment_txid}"),
        );
    };
    let name = file.file_name();
    let len = match file {
        EditFile::InProgress { .. } => whole_ops_len(storage, &file, segment_txid, STREAM_CHUNK),
        _ => storage.len(&file),
    };
    match len {
        Ok(len) => Served::Segment {
            name,
            body: SegmentBody {
                jid: jid.to_string(),
                file,
                len,
            },
        },
        Err(err) => failed(JournalError::Storage(err).to_string()),
    }
}

/// The bytes of an in-progress `file` up to its last whole op (a torn op or preallocation may
/// follow it), found reading `chunk` bytes at a time: what is held in memory is a chunk and
/// at most one op. A file shorter than a header is served as it is.
fn whole_ops_len<S: JournalStorage>(
    storage: &S,
    file: &EditFile,
    first_txid: u64,
    chunk: usize,
) -> Result<u64, StorageError> {
    let header = storage.read(file, 0, HEADER_LEN)?;
    if header.len() < HEADER_LEN {
        return Ok(header.len() as u64);
    }
    let mut len = HEADER_LEN as u64;
    // Bytes read after `len`: the start of an op the last chunk cut.
    let mut pending = Vec::new();
    let mut expected = Some(first_txid);
    loop {
        let more = storage.read(file, len + pending.len() as u64, chunk)?;
        if more.is_empty() {
            return Ok(len);
        }
        pending.extend_from_slice(&more);
        let scan = scan_records(&pending, expected);
        len += scan.valid_len as u64;
        expected = scan.last_txid.map(|last| last + 1).or(expected);
        match scan.problem {
            None | Some(TailProblem::Incomplete) => drop(pending.drain(..scan.valid_len)),
            Some(_) => return Ok(len),
        }
    }
}

/// Streams the first `len` bytes of `file` of journal `jid`, a chunk at a time. An
/// in-progress segment finalized meanwhile is read on from its finalized file (the same bytes,
/// renamed); a read that fails otherwise (the segment purged meanwhile) ends the stream with
/// an error, so the client sees a body shorter than its `Content-Length`.
fn stream_segment<F: JournalStorageFactory>(
    journals: Arc<Journals<F>>,
    jid: String,
    file: EditFile,
    len: u64,
    chunk: usize,
) -> axum::body::Body {
    let chunks = futures_util::stream::unfold((0u64, file), move |(offset, file)| {
        let (journals, jid) = (journals.clone(), jid.clone());
        async move {
            if offset >= len {
                return None;
            }
            let want = usize::try_from(len - offset).map_or(chunk, |n| n.min(chunk));
            let reading = file.clone();
            let read = tokio::task::spawn_blocking(move || {
                let journal = journals
                    .journal(&jid)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
                read_chunk(journal.storage(), reading, offset, want)
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
            match read {
                Ok((bytes, file)) if !bytes.is_empty() => {
                    let next = offset + bytes.len() as u64;
                    Some((Ok(axum::body::Bytes::from(bytes)), (next, file)))
                }
                Ok(_) => Some((
                    Err(std::io::Error::other("the segment ended early")),
                    (len, file),
                )),
                Err(err) => Some((Err(err), (len, file))),
            }
        }
    });
    axum::body::Body::from_stream(chunks)
}

/// Up to `want` bytes of `file` from `offset`, and the file they came from: an in-progress
/// file that is gone was finalized, and is read from its new name.
fn read_chunk<S: JournalStorage>(
    storage: &S,
    file: EditFile,
    offset: u64,
    want: usize,
) -> Result<(Vec<u8>, EditFile), StorageError> {
    match storage.read(&file, offset, want) {
        Ok(bytes) => Ok((bytes, file)),
        Err(err) if matches!(file, EditFile::InProgress { .. }) => {
            let finalized = storage
                .list_edit_files()?
                .into_iter()
                .find(|f| matches!(f, EditFile::Finalized { start, .. } if *start == file.start()));
            match finalized {
                Some(finalized) => Ok((storage.read(&finalized, offset, want)?, finalized)),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

async fn get_journal<F: JournalStorageFactory>(
    State(journals): State<Arc<Journals<F>>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let serving = journals.clone();
    let served = tokio::task::spawn_blocking(move || serve_segment(&serving, &params)).await;
    match served {
        Ok(Served::Segment { name, body }) => {
            let SegmentBody { jid, file, len } = body;
            let body = stream_segment(journals, jid, file, len, STREAM_CHUNK);
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename={name}"),
                    ),
                    (header::CONTENT_LENGTH, len.to_string()),
                ],
                body,
            )
                .into_response()
        }
        Ok(Served::Refused(status, message)) => (status, message).into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("getedit failed. {err}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    use crate::journal::RequestInfo;
    use crate::journal::edits::{
        OP_INVALID, encode_batch, segment_header, test_records as records,
    };
    use crate::journal::mem_storage::MemFactory;

    fn req(serial: u64) -> RequestInfo {
        RequestInfo {
            epoch: 1,
            ipc_serial: serial,
            committed_txid: None,
            client: "127.0.0.1".into(),
        }
    }

    /// Segment 1-3 finalized, segment 4 in progress with txids 4-5.
    fn journals() -> Journals<MemFactory> {
        let journals = Journals::new(MemFactory, None);
        let journal = journals.journal("ns1").unwrap();
        let mut j = journal.lock().unwrap();
        let ns = crate::journal::journal::test_namespace();
        j.format(&ns, false).unwrap();
        j.new_epoch(&ns, 1, "127.0.0.1").unwrap();
        j.start_log_segment(&req(1), 1, -66).unwrap();
        j.journal(&req(2), 1, 1, 3, &records(1, 3)).unwrap();
        j.finalize_log_segment(&req(3), 1, 3).unwrap();
        j.start_log_segment(&req(4), 4, -66).unwrap();
        j.journal(&req(5), 4, 4, 2, &records(4, 2)).unwrap();
        drop(j);
        journals
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(first: u64, n: u64) -> Vec<u8> {
        let mut bytes = segment_header(-66).to_vec();
        bytes.extend_from_slice(&records(first, n));
        bytes
    }

    #[test]
    fn segments_are_served_whole_finalized_or_in_progress() {
        let journals = journals();
        let info = "-66:12345:0:mycluster";
        assert_eq!(
            serve_segment(
                &journals,
                &query(&[("jid", "ns1"), ("segmentTxId", "1"), ("storageInfo", info)])
            ),
            Served::Segment {
                name: "edits_0000000000000000001-0000000000000000003".into(),
                body: SegmentBody {
                    jid: "ns1".into(),
                    file: EditFile::Finalized { start: 1, end: 3 },
                    len: file(1, 3).len() as u64,
                },
            }
        );
        assert_eq!(
            serve_segment(&journals, &query(&[("jid", "ns1"), ("segmentTxId", "4")])),
            Served::Segment {
                name: "edits_inprogress_0000000000000000004".into(),
                body: SegmentBody {
                    jid: "ns1".into(),
                    file: EditFile::InProgress { start: 4 },
                    len: file(4, 2).len() as u64,
                },
            }
        );
        assert_eq!(
            serve_segment(
                &journals,
                &query(&[
                    ("jid", "ns1"),
                    ("segmentTxId", "4"),
                    ("inProgressOk", "false")
                ])
            ),
            Served::Refused(
                StatusCode::NOT_FOUND,
                "No edit log found starting at txid 4".into()
            )
        );
    }

    #[tokio::test]
    async fn a_finalized_segment_streams_chunk_by_chunk_and_a_purged_one_breaks_off() {
        let journals = Arc::new(journals());
        let whole = file(1, 3);
        let segment = EditFile::Finalized { start: 1, end: 3 };
        let len = whole.len() as u64;
        let body = stream_segment(journals.clone(), "ns1".into(), segment.clone(), len, 7);
        let streamed = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(streamed.as_ref(), whole.as_slice());
        // Gone before the stream ends: an error, never a short body that looks whole.
        let body = stream_segment(journals.clone(), "ns1".into(), segment.clone(), len, 7);
        journals
            .journal("ns1")
            .unwrap()
            .lock()
            .unwrap()
            .purge_logs_older_than(&req(6), 4)
            .unwrap();
        assert!(axum::body::to_bytes(body, usize::MAX).await.is_err());
    }

    #[tokio::test]
    async fn an_in_progress_segment_larger_than_a_chunk_is_streamed_up_to_its_last_whole_op() {
        let journals = Arc::new(journals());
        let open = EditFile::InProgress { start: 4 };
        let payloads: Vec<Vec<u8>> = (0..1500)
            .map(|i| vec![b'a' + (i % 26) as u8; 1000])
            .collect();
        let more = encode_batch(6, payloads.iter().map(Vec::as_slice));
        let mut whole = file(4, 2);
        whole.extend_from_slice(&more);
        assert!(whole.len() > STREAM_CHUNK);
        {
            let shared = journals.journal("ns1").unwrap();
            let mut j = shared.lock().unwrap();
            j.journal(&req(6), 4, 6, 1500, &more).unwrap();
            // What a crash mid-write leaves: a torn op, then preallocation.
            let mut tail = records(1506, 1);
            tail.truncate(tail.len() - 3);
            tail.extend_from_slice(&[OP_INVALID; 4096]);
            j.storage().clone().append(&open, &tail, true).unwrap();
            for chunk in [7, 1000, STREAM_CHUNK] {
                let len = whole_ops_len(j.storage(), &open, 4, chunk).unwrap();
                assert_eq!(len, whole.len() as u64, "chunk {chunk}");
            }
        }
        let served = serve_segment(&journals, &query(&[("jid", "ns1"), ("segmentTxId", "4")]));
        let Served::Segment { body, .. } = served else {
            panic!("{served:?}");
        };
        assert_eq!(body.len, whole.len() as u64);
        let body = stream_segment(journals, body.jid, body.file, body.len, STREAM_CHUNK);
        let streamed = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert!(
            streamed.as_ref() == whole.as_slice(),
            "not the segment's bytes"
        );
    }

    #[tokio::test]
    async fn an_in_progress_segment_finalized_mid_stream_is_read_on_under_its_new_name() {
        let journals = Arc::new(journals());
        let whole = file(4, 2);
        let open = EditFile::InProgress { start: 4 };
        let body = stream_segment(journals.clone(), "ns1".into(), open, whole.len() as u64, 7);
        let mut chunks = body.into_data_stream();
        let mut streamed = chunks.next().await.unwrap().unwrap().to_vec();
        journals
            .journal("ns1")
            .unwrap()
            .lock()
            .unwrap()
            .finalize_log_segment(&req(6), 4, 5)
            .unwrap();
        while let Some(chunk) = chunks.next().await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(streamed, whole);
    }

    #[test]
    fn bad_requests_get_hadoops_statuses_and_texts() {
        let journals = journals();
        assert_eq!(
            serve_segment(
                &journals,
                &query(&[
                    ("jid", "ns1"),
                    ("segmentTxId", "1"),
                    ("storageInfo", "-66:7:0:CID-2")
                ])
            ),
            Served::Refused(
                StatusCode::FORBIDDEN,
                "This node has namespaceId '12345 and clusterId 'mycluster' but the requesting node \
                 expected '7' and 'CID-2'"
                    .into()
            )
        );
        let refused = |pairs: &[(&str, &str)]| match serve_segment(&journals, &query(pairs)) {
            Served::Refused(status, message) => (status, message),
            other => panic!("{other:?}"),
        };
        let (status, message) = refused(&[("jid", "ns1")]);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            message,
            "getedit failed. Invalid request has no segmentTxId parameter"
        );
        let (status, message) = refused(&[("jid", "ns1"), ("segmentTxId", "x1")]);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(message.contains("x1"), "{message}");
        let (status, message) = refused(&[("segmentTxId", "1")]);
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(message.contains("bad journal id"), "{message}");
        assert_eq!(
            refused(&[("jid", "ns1"), ("segmentTxId", "2")]).0,
            StatusCode::NOT_FOUND
        );
    }
}
