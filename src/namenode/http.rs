//! The NameNode's HTTP endpoints: `/isActive` (200 `I am Active!`, 405 `I am not Active!`, for
//! load balancers), `/jmx` (Hadoop's beans `NameNodeStatus`, `FSNamesystem`, `NameNodeInfo`),
//! `/prom` (Prometheus text) and `/` (a status page).

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::{Value, json};

use super::server::{HaState, NameNode};

pub fn router(nn: Arc<NameNode>) -> Router {
    Router::new()
        .route("/isActive", get(is_active))
        .route("/jmx", get(jmx))
        .route("/prom", get(prom))
        .route("/", get(status_page))
        .with_state(nn)
}

async fn is_active(State(nn): State<Arc<NameNode>>) -> impl IntoResponse {
    let (status, body) = if nn.state() == HaState::Active {
        (StatusCode::OK, "I am Active!")
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "I am not Active!")
    };
    (status, [(header::CONNECTION, "close")], body)
}

/// Hadoop's `NameJournalStatus` value.
fn journal_status(nn: &NameNode) -> String {
    let manager = nn.conf().shared_edits.qjm_name();
    let stream = match nn.journal_report() {
        Some((start, loggers)) => format!(
            "Writing segment beginning at txid {start}. \n{}",
            loggers
                .iter()
                .map(|(addr, report, _)| format!("{addr} ({report})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "open for read".to_string(),
    };
    json!([{ "manager": manager, "stream": stream, "required": "true", "disabled": "false" }])
        .to_string()
}

pub fn beans(nn: &NameNode) -> Vec<Value> {
    let (state, last_applied, durable, checkpoint) = nn.snapshot();
    let conf = nn.conf();
    let since = |t: std::time::SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    };
    vec![
        json!({
            "name": "Hadoop:service=NameNode,name=NameNodeStatus",
            "modelerType": "org.apache.hadoop.hdfs.server.namenode.NameNode",
            "State": state.name(),
            "NNRole": "NameNode",
            "HostAndPort": conf.rpc_address.to_string(),
            "SecurityEnabled": false,
            "LastHATransitionTime": since(nn.last_transition()),
        }),
        json!({
            "name": "Hadoop:service=NameNode,name=FSNamesystem",
            "modelerType": "FSNamesystem",
            "tag.Context": "dfs",
            "tag.HAState": state.name(),
            "LastWrittenTransactionId": last_applied,
            "LastAppliedTxId": last_applied,
            "DurableTransactionId": durable,
            "MostRecentCheckpointTxId": checkpoint,
            "TransactionsSinceLastCheckpoint": last_applied.saturating_sub(checkpoint),
        }),
        json!({
            "name": "Hadoop:service=NameNode,name=NameNodeInfo",
            "modelerType": "org.apache.hadoop.hdfs.server.namenode.FSNamesystem",
            "ClusterId": nn.identity().cluster_id,
            "BlockPoolId": nn.identity().block_pool_id,
            "NameJournalStatus": journal_status(nn),
            "Version": format!("3.3.6 (hdfs-ha {})", env!("CARGO_PKG_VERSION")),
        }),
    ]
}

#[derive(serde::Deserialize)]
struct JmxQuery {
    /// Hadoop's `?qry=<bean name>`.
    qry: Option<String>,
}

async fn jmx(State(nn): State<Arc<NameNode>>, Query(query): Query<JmxQuery>) -> impl IntoResponse {
    let selected: Vec<Value> = beans(&nn)
        .into_iter()
        .filter(|b| {
            query
                .qry
                .as_deref()
                .is_none_or(|q| b["name"].as_str() == Some(q))
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf8")],
        serde_json::to_string_pretty(&json!({ "beans": selected })).unwrap_or_default(),
    )
}

async fn prom(State(nn): State<Arc<NameNode>>) -> impl IntoResponse {
    let (state, last_applied, durable, checkpoint) = nn.snapshot();
    let mut out = String::new();
    out.push_str("# HELP namenode_ha_state 1 for the NameNode's current HA state\n# TYPE namenode_ha_state gauge\n");
    for s in [
        HaState::Initializing,
        HaState::Standby,
        HaState::Active,
        HaState::Stopping,
    ] {
        out.push_str(&format!(
            "namenode_ha_state{{state=\"{}\"}} {}\n",
            s.name(),
            u8::from(s == state)
        ));
    }
    for (name, help, value) in [
        (
            "namenode_last_written_txid",
            "Last txid written (active) or applied (standby)",
            last_applied,
        ),
        (
            "namenode_durable_txid",
            "Highest txid known durable on a majority of JournalNodes",
            durable,
        ),
        (
            "namenode_last_checkpoint_txid",
            "Txid of the newest fsimage",
            checkpoint,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        ));
    }
    if let Some((_, loggers)) = nn.journal_report() {
        out.push_str("# HELP namenode_journal_lag_txns Transactions a JournalNode is behind\n# TYPE namenode_journal_lag_txns gauge\n");
        for (addr, _, lag) in loggers {
            out.push_str(&format!(
                "namenode_journal_lag_txns{{journalnode=\"{addr}\"}} {lag}\n"
            ));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn status_page(State(nn): State<Arc<NameNode>>) -> impl IntoResponse {
    let (state, last_applied, durable, checkpoint) = nn.snapshot();
    let conf = nn.conf();
    let journals = match nn.journal_report() {
        Some((start, loggers)) => {
            let rows: String = loggers
                .iter()
                .map(|(addr, report, _)| {
                    format!(
                        "<tr><td>{}</td><td>{}</td></tr>",
                        escape(addr),
                        escape(report)
                    )
                })
                .collect();
            format!(
                "<p>Writing segment beginning at txid {start}</p><table><tr><th>JournalNode</th><th>Status</th></tr>{rows}</table>"
            )
        }
        None => format!(
            "<p>Reading edits from {}</p>",
            escape(&conf.shared_edits.to_string())
        ),
    };
    Html(format!(
        "<!DOCTYPE html><html><head><title>Namenode information</title></head><body>\
         <h1>Overview '{}' ({})</h1>\
         <table><tr><th>Namespace</th><td>{}</td></tr><tr><th>Namenode ID</th><td>{}</td></tr>\
         <tr><th>Cluster ID</th><td>{}</td></tr><tr><th>Last applied txid</th><td>{last_applied}</td></tr>\
         <tr><th>Durable txid</th><td>{durable}</td></tr><tr><th>Most recent checkpoint</th><td>{checkpoint}</td></tr></table>\
         <h2>NameNode Journal Status</h2>{journals}</body></html>",
        escape(&conf.rpc_address.to_string()),
        state.name(),
        escape(&conf.nameservice_id),
        escape(&conf.namenode_id),
        escape(&nn.identity().cluster_id),
    ))
}
