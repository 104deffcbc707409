//! The NameNode's HTTP endpoints: `/isActive` (200 `I am Active!`, 405 `I am not Active!`, for
//! load balancers), `/jmx` (Hadoop's beans `NameNodeStatus`, `FSNamesystem`, `NameNodeInfo`),
//! `/prom` (Prometheus text), `/` (a status page) and `/imagetransfer` (Hadoop's
//! `ImageServlet`: a peer NameNode fetches an fsimage with GET, uploads a checkpoint with PUT;
//! the client half is `super::peer`).

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::fsimage::md5_hex;
use super::peer::{MD5_HEADER, storage_info};
use super::server::{HaState, NameNode};
use super::storage::image_file_name;

pub fn router(nn: Arc<NameNode>) -> Router {
    Router::new()
        .route("/isActive", get(is_active))
        .route("/jmx", get(jmx))
        .route("/prom", get(prom))
        .route("/", get(status_page))
        .route(
            "/imagetransfer",
            get(get_image)
                .put(put_image)
                .layer(DefaultBodyLimit::disable()),
        )
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

/// A refusal as the servlet's `sendError` makes it: the status and the message as text.
fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Hadoop's check that the peer works for the same namespace: the 403 refusal, if any.
fn storage_info_refusal(nn: &NameNode, params: &HashMap<String, String>) -> Option<Response> {
    let theirs = params.get("storageInfo")?;
    let mine = storage_info(nn.identity());
    (*theirs != mine).then(|| {
        refuse(
            StatusCode::FORBIDDEN,
            format!("This namenode has storage info {mine} but the secondary expected {theirs}"),
        )
    })
}

/// `GET /imagetransfer?getimage=1&txid=N|latest`: the image file, with `Content-Length`,
/// `X-MD5-Digest` and its name (`X-Image-Edits-Name`). Edits are not served here: an HA
/// NameNode's edits are on the JournalNodes.
async fn get_image(
    State(nn): State<Arc<NameNode>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let failed = |e: String| refuse(StatusCode::GONE, format!("GetImage failed. {e}"));
    if params.get("getimage").map(String::as_str) != Some("1") {
        return failed("java.io.IOException: Illegal parameters to TransferFsImage".into());
    }
    if let Some(refusal) = storage_info_refusal(&nn, &params) {
        return refusal;
    }
    let txid = match params.get("txid").map(String::as_str) {
        Some("latest") => None,
        Some(t) => match t.parse::<u64>() {
            Ok(t) => Some(t),
            Err(_) => {
                return failed("java.io.IOException: Illegal parameters to TransferFsImage".into());
            }
        },
        None => return failed("java.io.IOException: Illegal parameters to TransferFsImage".into()),
    };
    let served = tokio::task::spawn_blocking(move || nn.image_bytes(txid)).await;
    let (txid, bytes) = match served {
        Ok(Ok(image)) => image,
        Ok(Err(_)) => {
            let txid = txid.map_or("latest".to_string(), |t| t.to_string());
            return failed(format!(
                "java.io.IOException: Could not find image with txid {txid}"
            ));
        }
        Err(e) => return failed(format!("java.io.IOException: {e}")),
    };
    let name = image_file_name(txid);
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={name}"),
            ),
            (header::HeaderName::from_static("x-image-edits-name"), name),
            (
                header::HeaderName::from_static("x-md5-digest"),
                md5_hex(&bytes),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `PUT /imagetransfer?txid=N&imageFile=IMAGE&File-Length=…&storageInfo=…`: a checkpoint
/// from the standby, taken only by the active and only when newer than its own (Hadoop's
/// 417 and 409 otherwise); the length and the `X-MD5-Digest` are checked before it is saved.
async fn put_image(
    State(nn): State<Arc<NameNode>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let txid = params.get("txid").and_then(|t| t.parse::<u64>().ok());
    let (Some(txid), Some("IMAGE")) = (txid, params.get("imageFile").map(String::as_str)) else {
        return refuse(
            StatusCode::GONE,
            "PutImage failed. java.io.IOException: Illegal parameters to TransferFsImage".into(),
        );
    };
    if let Some(refusal) = storage_info_refusal(&nn, &params) {
        return refusal;
    }
    let state = nn.state();
    if state != HaState::Active {
        return refuse(
            StatusCode::EXPECTATION_FAILED,
            format!(
                "Nameode {} is currently not in a state which can accept uploads of new fsimages. State: {}",
                nn.conf().http_address.host,
                state.name().to_uppercase()
            ),
        );
    }
    if txid <= nn.transaction_ids().1 {
        return refuse(
            StatusCode::CONFLICT,
            format!(
                "Either current namenode has checkpointed or another checkpointer already uploaded an checkpoint for txid {txid}"
            ),
        );
    }
    let failed = |e: String| {
        refuse(
            StatusCode::GONE,
            format!("PutImage failed. java.io.IOException: {e}"),
        )
    };
    if let Some(length) = params.get("File-Length")
        && length.parse::<u64>().ok() != Some(body.len() as u64)
    {
        return failed(format!(
            "File {} received length {} is not of the advertised size {length}",
            image_file_name(txid),
            body.len()
        ));
    }
    if let Some(digest) = headers.get(MD5_HEADER).and_then(|d| d.to_str().ok()) {
        let actual = md5_hex(&body);
        if !digest.eq_ignore_ascii_case(&actual) {
            return failed(format!(
                "File {} computed digest {actual} does not match advertised digest {digest}",
                image_file_name(txid)
            ));
        }
    }
    match nn.accept_image(txid, body.to_vec()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => failed(err.message),
    }
}
