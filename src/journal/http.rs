//! The JournalNode's HTTP endpoints: `/jmx` (Hadoop's JSON, beans `JournalNodeInfo` and one
//! `Journal-<jid>` per journal, with `?qry=` filtering) and `/prom` (Prometheus text).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::journal::JournalStatus;
use super::service::{JournalStorageFactory, Journals};

pub fn router<F: JournalStorageFactory>(journals: Arc<Journals<F>>) -> Router {
    Router::new()
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
    let metrics: [PromMetric; 10] = [
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
