//! JournalNode sync (Hadoop's `JournalNodeSyncer`, `dfs.journalnode.enable.sync`, on by
//! default): every `dfs.journalnode.sync.interval` each formatted journal asks the next of the
//! other JournalNodes (those of `dfs.namenode.shared.edits.dir`, round robin) for its finalized
//! segments over InterQJournalProtocol (`getEditLogManifestFromJournal`), and downloads from
//! its `/getJournal` the ones this journal lacks. A JournalNode that was down while segments
//! were written and finalized thus gets them back without a writer; what it accepts is
//! decided by [`Journal::install_synced_segment`] (committed, gap only, exact copy). It never
//! formats a journal. Works against Hadoop's JournalNodes as well as ours.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::error::JournalError;
use super::ipc::{INTER_QJOURNAL_PROTOCOL, edit_log_manifest, fetch_over_http, get_journal_url};
use super::journal::{Journal, NamespaceInfo, RemoteEditLog, SegmentSink};
use super::journals::{JournalStorageFactory, Journals};
use crate::conf::HostPort;
use crate::ipc::peer::{CallError, Peer};
use crate::proto::hadoop_qjournal as pb;

/// How a JournalNode syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConf {
    /// The other JournalNodes' RPC addresses.
    pub peers: Vec<HostPort>,
    /// `dfs.journalnode.sync.interval`.
    pub interval: Duration,
}

/// Why one sync round of a journal with a peer failed; the round is retried at the next
/// interval, so these are only logged.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    /// This journal refused (reading its manifest, or installing a downloaded segment).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The peer could not be reached or refused `getEditLogManifestFromJournal`.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The finalized segments `remote` holds that start where `local` has none, as Hadoop's
/// `getMissingLogList` merges two start-ordered manifests.
pub fn missing_segments(local: &[RemoteEditLog], remote: &[RemoteEditLog]) -> Vec<RemoteEditLog> {
    let mut missing = Vec::new();
    let (mut l, mut r) = (0, 0);
    while l < local.len() && r < remote.len() {
        let (ls, rs) = (local[l].start_txid, remote[r].start_txid);
        if ls == rs {
            l += 1;
            r += 1;
        } else if ls > rs {
            missing.push(remote[r]);
            r += 1;
        } else {
            l += 1;
        }
    }
    missing.extend_from_slice(&remote[r..]);
    missing.retain(|log| !log.in_progress);
    missing
}

/// Whether `peer` names this JournalNode (bound at `me`).
fn is_me(peer: &HostPort, me: SocketAddr) -> bool {
    if peer.port != me.port() {
        return false;
    }
    let Ok(addr) = peer.resolve() else {
        return false;
    };
    addr == me
        || (me.ip().is_unspecified()
            && (addr.ip().is_loopback() || peer.host == crate::host::host_name()))
}

/// The other JournalNodes among `journal_nodes`, this one (bound at `me`) left out.
pub fn other_journal_nodes(journal_nodes: &[HostPort], me: SocketAddr) -> Vec<HostPort> {
    journal_nodes
        .iter()
        .filter(|peer| !is_me(peer, me))
        .cloned()
        .collect()
}

/// The journal ids formatted under `edits_dir` (a directory with `current/VERSION`).
fn formatted_journals(edits_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(edits_dir) else {
        return Vec::new();
    };
    let mut jids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("current").join("VERSION").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    jids.sort();
    jids
}

/// Runs sync until `token` is cancelled.
pub async fn run<F: JournalStorageFactory>(
    journals: Arc<Journals<F>>,
    edits_dir: std::path::PathBuf,
    conf: SyncConf,
    token: CancellationToken,
) {
    if conf.peers.is_empty() {
        return;
    }
    tracing::info!(
        "Syncing journals with {} every {} ms",
        conf.peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        conf.interval.as_millis()
    );
    let mut round = 0usize;
    loop {
        let peer = &conf.peers[round % conf.peers.len()];
        round += 1;
        for jid in formatted_journals(&edits_dir) {
            if let Err(err) = sync_journal(&journals, &jid, peer, conf.interval).await {
                tracing::debug!(jid = %jid, "Could not sync with {peer}: {err}");
            }
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(conf.interval) => {}
        }
    }
}

/// One sync of journal `jid` with `peer`: the number of segments taken.
async fn sync_journal<F: JournalStorageFactory>(
    journals: &Journals<F>,
    jid: &str,
    peer: &HostPort,
    timeout: Duration,
) -> Result<usize, SyncError> {
    let (local, ns) = journals
        .run(jid, |j: &mut Journal<F::Storage>| {
            let ns = j.storage_info().map(|s| NamespaceInfo {
                namespace_id: s.namespace_id,
                cluster_id: s.cluster_id.clone(),
                block_pool_id: String::new(),
                layout_version: s.layout_version,
                ctime: s.ctime,
            });
            Ok((j.get_edit_log_manifest(0, false)?, ns))
        })
        .await?;
    let timeout = timeout.clamp(Duration::from_secs(1), Duration::from_secs(20));
    let connection = Peer::connect(peer, INTER_QJOURNAL_PROTOCOL, timeout, 0).await?;
    let request = pb::GetEditLogManifestRequestProto {
        jid: pb::JournalIdProto {
            identifier: jid.to_string(),
        },
        since_tx_id: 0,
        in_progress_ok: Some(false),
        name_service_id: None,
    };
    let response: pb::GetEditLogManifestResponseProto = connection
        .call("getEditLogManifestFromJournal", &request, true)
        .await?;
    let remote = edit_log_manifest(&response.manifest);
    let missing = missing_segments(&local.logs, &remote.logs);
    if missing.is_empty() {
        return Ok(0);
    }
    let http = match response.from_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}:{}", peer.host, response.http_port),
    };
    let mut taken = 0;
    for log in missing {
        let url = get_journal_url(&http, jid, log.start_txid, ns.as_ref());
        let handle = tokio::runtime::Handle::current();
        let installed = journals
            .run(jid, move |j| {
                let mut fetch =
                    |sink: &mut dyn SegmentSink| handle.block_on(fetch_over_http(&url, sink));
                j.install_synced_segment(&log, &mut fetch)
            })
            .await?;
        taken += usize::from(installed);
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(start: u64, end: u64) -> RemoteEditLog {
        RemoteEditLog {
            start_txid: start,
            end_txid: end,
            in_progress: false,
        }
    }

    #[test]
    fn missing_segments_are_the_remote_starts_absent_here() {
        let remote = [log(1, 10), log(11, 20), log(21, 30), log(31, 40)];
        assert_eq!(missing_segments(&[], &remote), remote.to_vec());
        assert_eq!(
            missing_segments(&[log(1, 10), log(31, 40)], &remote),
            [log(11, 20), log(21, 30)]
        );
        assert_eq!(
            missing_segments(&[log(21, 30)], &remote),
            [log(1, 10), log(11, 20), log(31, 40)]
        );
        assert_eq!(missing_segments(&remote, &remote), []);
        // Local segments the remote lacks are no business of ours.
        assert_eq!(missing_segments(&[log(41, 50)], &remote[..1]), [log(1, 10)]);
        let open = RemoteEditLog {
            in_progress: true,
            ..log(41, 45)
        };
        assert_eq!(missing_segments(&remote, &[open]), []);
    }

    #[test]
    fn this_journalnode_is_left_out_of_its_peers() {
        let me: SocketAddr = "127.0.0.2:8485".parse().unwrap();
        let all = [
            HostPort::new("127.0.0.1", 8485),
            HostPort::new("127.0.0.2", 8485),
            HostPort::new("127.0.0.3", 8485),
        ];
        assert_eq!(
            other_journal_nodes(&all, me),
            [all[0].clone(), all[2].clone()]
        );
        let wildcard: SocketAddr = "0.0.0.0:8485".parse().unwrap();
        assert_eq!(other_journal_nodes(&all, wildcard), []);
        assert_eq!(
            other_journal_nodes(&[HostPort::new("127.0.0.1", 9999)], wildcard).len(),
            1
        );
    }
}
