//! JournalNode sync (Hadoop's `JournalNodeSyncer`, `dfs.journalnode.enable.sync`, on by
//! default): every `dfs.journalnode.sync.interval` each formatted journal asks the next of the
//! other JournalNodes (those of `dfs.namenode.shared.edits.dir`, round robin) for its finalized
//! segments over InterQJournalProtocol (`getEditLogManifestFromJournal`), and downloads from
//! its `/getJournal` the ones this journal lacks. A JournalNode that was down while segments
//! were written and finalized thus gets them back without a writer; what it accepts is
//! decided under the journal's lock by [`Journal::prepare_synced_segment`] (committed, gap
//! only), the download runs without it (into an aside temp file, checked to be an exact copy),
//! and [`Journal::complete_synced_segment`] checks again under the lock before renaming it in.
//! It never formats a journal. Works against Hadoop's JournalNodes as well as ours.

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
        let fetch = move |sink: &mut dyn SegmentSink| handle.block_on(fetch_over_http(&url, sink));
        taken += usize::from(sync_segment(journals, jid, log, fetch).await?);
    }
    Ok(taken)
}

/// Takes `log` into journal `jid` if it fills a gap there, downloading it through `fetch`
/// (on a blocking thread) without holding the journal's lock, as Hadoop's `JournalNodeSyncer`
/// does: a slow or stuck peer never holds up the writer. Whether the segment is wanted is
/// decided under the lock before the download and again after it.
async fn sync_segment<F: JournalStorageFactory>(
    journals: &Journals<F>,
    jid: &str,
    log: RemoteEditLog,
    mut fetch: impl FnMut(&mut dyn SegmentSink) -> Result<(), JournalError> + Send + 'static,
) -> Result<bool, JournalError> {
    let Some(mut download) = journals
        .run(jid, move |j| j.prepare_synced_segment(&log))
        .await?
    else {
        return Ok(false);
    };
    let download = tokio::task::spawn_blocking(move || {
        download.fetch(&mut fetch);
        download
    })
    .await
    .map_err(|e| JournalError::Assertion(format!("sync download task failed: {e}")))?;
    journals
        .run(jid, move |j| j.complete_synced_segment(download))
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::journal::edits::test_records as records;
    use crate::journal::journal::RequestInfo;
    use crate::journal::journals::QueuedBatch;
    use crate::journal::mem_storage::MemFactory;
    use crate::journal::storage::{EditFile, JournalStorage};
    use crate::journal::{JournalError, MemStorage};

    const JID: &str = "ns1";

    /// A writer of epoch 1, its ipc serials counted.
    struct Writer(u64);

    impl Writer {
        fn req(&mut self, committed_txid: Option<u64>) -> RequestInfo {
            self.0 += 1;
            RequestInfo {
                epoch: 1,
                ipc_serial: self.0,
                committed_txid,
                client: "127.0.0.1".into(),
            }
        }

        fn write(&mut self, j: &mut Journal<MemStorage>, start: u64, n: u64, finalize: bool) {
            j.start_log_segment(&self.req(None), start, -66).unwrap();
            j.journal(&self.req(None), start, start, n as u32, &records(start, n))
                .unwrap();
            if finalize {
                j.finalize_log_segment(&self.req(None), start, start + n - 1)
                    .unwrap();
            }
        }
    }

    /// Journal `ns1` formatted, with segment 1-5 finalized, and `setup` run on it.
    fn journals(
        setup: impl FnOnce(&mut Journal<MemStorage>, &mut Writer),
    ) -> (Arc<Journals<MemFactory>>, Writer) {
        let journals = Arc::new(Journals::new(MemFactory, None));
        let shared = journals.journal(JID).unwrap();
        let mut j = shared.lock().unwrap();
        let ns = crate::journal::journal::test_namespace();
        j.format(&ns, false).unwrap();
        j.new_epoch(&ns, 1, "127.0.0.1").unwrap();
        let mut w = Writer(0);
        w.write(&mut j, 1, 5, true);
        setup(&mut j, &mut w);
        drop(j);
        (journals, w)
    }

    fn files(journals: &Journals<MemFactory>) -> Vec<EditFile> {
        let shared = journals.journal(JID).unwrap();
        let j = shared.lock().unwrap();
        j.storage().list_edit_files().unwrap()
    }

    fn gap() -> RemoteEditLog {
        log(6, 10)
    }

    /// Sends segment 6-10 as another JournalNode holds it.
    fn send_gap(sink: &mut dyn SegmentSink) -> Result<(), JournalError> {
        sink.begin(-66)?;
        sink.write(&records(6, 5))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_segment_downloads_while_the_writer_goes_on() {
        // 6-10 missed (down while it was written), 11-15 and an open 16 here, 15 committed.
        let (journals, mut w) = journals(|j, w| {
            w.write(j, 11, 5, true);
            j.start_log_segment(&w.req(Some(15)), 16, -66).unwrap();
        });
        let (fetching, fetch_started) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let unlocked = journals.clone();
        let fetch = move |sink: &mut dyn SegmentSink| {
            // The journal is free while the download runs: its lock can be taken here.
            let free = unlocked.journal(JID).unwrap().try_lock().is_ok();
            fetching.send(free).unwrap();
            released.recv().unwrap();
            send_gap(sink)
        };
        let syncing = journals.clone();
        let sync = tokio::spawn(async move { sync_segment(&syncing, JID, gap(), fetch).await });
        let free = tokio::task::spawn_blocking(move || fetch_started.recv().unwrap())
            .await
            .unwrap();
        assert!(free, "the journal was locked during the download");
        // The writer's `journal` call completes while the download is blocked.
        let batch = QueuedBatch {
            req: w.req(Some(15)),
            segment_txid: 16,
            first_txid: 16,
            num_txns: 2,
            records: records(16, 2),
        };
        tokio::time::timeout(Duration::from_secs(10), journals.submit_journal(JID, batch))
            .await
            .expect("the writer waited for the download")
            .unwrap();
        release.send(()).unwrap();
        assert!(sync.await.unwrap().unwrap());
        let shared = journals.journal(JID).unwrap();
        let mut j = shared.lock().unwrap();
        assert_eq!(j.status().metrics.num_edit_logs_synced, 1);
        assert_eq!(j.status().highest_written_txid, 17);
        let manifest = j.get_edit_log_manifest(0, false).unwrap();
        assert_eq!(manifest.logs, [log(1, 5), gap(), log(11, 15)]);
        let (_, copy) = j.read_segment(6, 0, usize::MAX).unwrap().unwrap();
        assert_eq!(copy, records(6, 5));
    }

    #[tokio::test]
    async fn a_segment_written_here_during_its_download_is_not_installed() {
        // This journal lags: 1-5 here, 10 known committed.
        let (journals, mut w) = journals(|j, w| j.heartbeat(&w.req(Some(10))).unwrap());
        let writing = journals.clone();
        let fetch = move |sink: &mut dyn SegmentSink| {
            send_gap(sink)?;
            // Meanwhile the writer reaches this journal and writes 6-7 itself.
            let shared = writing.journal(JID).unwrap();
            let mut j = shared.lock().unwrap();
            w.write(&mut j, 6, 2, false);
            Ok(())
        };
        assert!(!sync_segment(&journals, JID, gap(), fetch).await.unwrap());
        assert_eq!(
            files(&journals),
            [
                EditFile::Finalized { start: 1, end: 5 },
                EditFile::InProgress { start: 6 }
            ],
            "the downloaded copy was not removed"
        );
        let shared = journals.journal(JID).unwrap();
        let j = shared.lock().unwrap();
        assert_eq!(j.status().metrics.num_edit_logs_synced, 0);
        assert_eq!(j.status().current_segment, Some(6));
    }

    #[test]
    fn a_crash_between_download_and_install_leaves_no_segment() {
        let (journals, mut w) = journals(|j, w| j.heartbeat(&w.req(Some(10))).unwrap());
        let shared = journals.journal(JID).unwrap();
        let disk = shared.lock().unwrap().storage().clone();
        let mut download = shared
            .lock()
            .unwrap()
            .prepare_synced_segment(&gap())
            .unwrap()
            .expect("6-10 is wanted");
        download.fetch(&mut send_gap);
        // The JournalNode dies here: the copy is on disk, not renamed into place.
        drop(download);
        disk.crash();
        let mut j = Journal::open(JID, disk, None).unwrap();
        assert!(
            j.storage()
                .list_edit_files()
                .unwrap()
                .contains(&EditFile::Aside {
                    start: 6,
                    suffix: "sync".into()
                })
        );
        assert_eq!(j.get_edit_log_manifest(0, true).unwrap().logs, [log(1, 5)]);
        assert_eq!(j.status().highest_written_txid, 5);
        // The next sync (once the writer says again what is committed, which the crash lost)
        // downloads it again over the leftover.
        j.heartbeat(&w.req(Some(10))).unwrap();
        assert!(j.install_synced_segment(&gap(), &mut send_gap).unwrap());
        assert_eq!(
            j.storage().list_edit_files().unwrap(),
            [
                EditFile::Finalized { start: 1, end: 5 },
                EditFile::Finalized { start: 6, end: 10 }
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_or_bad_download_leaves_nothing_behind() {
        let (journals, _) = journals(|j, w| j.heartbeat(&w.req(Some(10))).unwrap());
        let broken = |sink: &mut dyn SegmentSink| {
            sink.begin(-66)?;
            sink.write(&records(6, 2))?;
            Err(JournalError::Download("Unable to download: reset".into()))
        };
        let err = sync_segment(&journals, JID, gap(), broken)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Unable to download: reset");
        let short = |sink: &mut dyn SegmentSink| {
            sink.begin(-66)?;
            sink.write(&records(6, 4))
        };
        let err = sync_segment(&journals, JID, gap(), short)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not the accepted range"), "{err}");
        assert_eq!(files(&journals), [EditFile::Finalized { start: 1, end: 5 }]);
        assert!(sync_segment(&journals, JID, gap(), send_gap).await.unwrap());
        assert_eq!(
            files(&journals),
            [
                EditFile::Finalized { start: 1, end: 5 },
                EditFile::Finalized { start: 6, end: 10 }
            ]
        );
    }

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
