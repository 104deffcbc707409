//! Three real `journalnode` processes on 127.0.0.1, .2 and .3, written to through the quorum
//! journal client over Hadoop IPC: a JournalNode killed mid-write and restarted, two killed, a
//! corrupt last record truncated on restart, and a JournalNode that was down while segments
//! were finalized getting them back from the others by JournalNode sync.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::cluster::JournalNodes;
use common::{Daemon, STARTUP_DEADLINE, binary};
use hdfs_ha::conf::QjournalUri;
use hdfs_ha::journal::NamespaceInfo;
use hdfs_ha::journal::storage::scan_edit_bytes;
use hdfs_ha::qjm::{IpcChannel, JournalChannel, QjmConf, QjmError, QuorumJournalManager};

const JID: &str = "mycluster";
const LV: i32 = -66;

fn ns() -> NamespaceInfo {
    NamespaceInfo {
        namespace_id: 4242,
        cluster_id: "CID-journalnode-test".into(),
        block_pool_id: "BP-1".into(),
        layout_version: LV,
        ctime: 0,
    }
}

fn uri(jns: &JournalNodes) -> QjournalUri {
    QjournalUri::parse(&jns.qjournal_uri(JID)).unwrap()
}

fn manager(jns: &JournalNodes) -> QuorumJournalManager<IpcChannel> {
    let conf = QjmConf {
        write_txns_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        in_progress_tailing: true,
        ..QjmConf::default()
    };
    QuorumJournalManager::connect(conf, &uri(jns), Some(ns()), None).unwrap()
}

/// A channel to JournalNode `i` alone.
fn channel(jns: &JournalNodes, i: usize) -> IpcChannel {
    let (host, port) = jns.addresses[i].rsplit_once(':').unwrap();
    IpcChannel::new(
        host,
        port.parse().unwrap(),
        JID,
        None,
        Some(ns()),
        Duration::from_secs(2),
    )
}

/// A 200-byte edit that says which txid it is.
fn payload(txid: u64) -> Vec<u8> {
    let mut p = txid.to_be_bytes().to_vec();
    p.resize(200, (txid % 251) as u8);
    p
}

/// Streams edits in segments of `per_segment` until `stop`; records the last acknowledged txid.
async fn stream_edits(
    qjm: Arc<QuorumJournalManager<IpcChannel>>,
    first: u64,
    per_segment: u64,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Result<(), QjmError> {
    let mut next = first;
    while !stop.load(Ordering::SeqCst) {
        let writer = qjm.start_log_segment(next, LV).await?;
        let start = next;
        while next < start + per_segment && !stop.load(Ordering::SeqCst) {
            let batch: Vec<Vec<u8>> = (next..next + 10).map(payload).collect();
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let got = writer.write(&refs).await?;
            assert_eq!(got, next);
            next += 10;
            acked.store(next - 1, Ordering::SeqCst);
        }
        let last = writer.close().await?;
        qjm.finalize_log_segment(start, last).await?;
    }
    Ok(())
}

async fn wait_acked(acked: &AtomicU64, at_least: u64) {
    let deadline = tokio::time::Instant::now() + STARTUP_DEADLINE;
    while acked.load(Ordering::SeqCst) < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "writes stalled at {}",
            acked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every edit from 1 to `last` reads back with its own content.
async fn check_all_present(jns: &JournalNodes, last: u64) {
    let reader = manager(jns);
    let mut next = 1;
    while next <= last {
        let records = reader.read_edits(next, 5000, true).await.unwrap();
        assert!(
            !records.is_empty(),
            "no edits readable from txid {next} (last acknowledged {last})"
        );
        for r in records {
            assert_eq!(r.txid, next);
            assert_eq!(r.payload, payload(r.txid), "content of txid {}", r.txid);
            next += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_node_killed_mid_write_rejoins_at_the_next_segment() {
    let mut jns = JournalNodes::start(true);
    let qjm = Arc::new(manager(&jns));
    qjm.format(false).await.unwrap();
    assert_eq!(qjm.recover_unfinalized_segments().await.unwrap(), None);
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(stream_edits(
        qjm.clone(),
        1,
        500,
        acked.clone(),
        stop.clone(),
    ));

    wait_acked(&acked, 1000).await;
    jns.kill9(1);
    let at_kill = acked.load(Ordering::SeqCst);
    // Writes never stop with one JournalNode down.
    wait_acked(&acked, at_kill + 1500).await;
    let restarted = jns.restart(1);
    restarted.wait_for_line("JournalNode RPC server is listening", STARTUP_DEADLINE);
    // It rejoins at the next segment: it gets a finalized segment that started after it came back.
    let after_restart = acked.load(Ordering::SeqCst);
    let channel = channel(&jns, 1);
    let rejoined = async {
        loop {
            if let Ok(m) = channel.get_edit_log_manifest(1, false).await
                && m.logs.iter().any(|l| l.start_txid > after_restart)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(STARTUP_DEADLINE, rejoined)
        .await
        .expect("the restarted JournalNode rejoined");
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap().unwrap();
    let last = acked.load(Ordering::SeqCst);
    check_all_present(&jns, last).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_journal_nodes_killed_fail_the_writer_and_lose_nothing_acknowledged() {
    let mut jns = JournalNodes::start(true);
    let qjm = Arc::new(manager(&jns));
    qjm.format(false).await.unwrap();
    qjm.recover_unfinalized_segments().await.unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(stream_edits(
        qjm.clone(),
        1,
        300,
        acked.clone(),
        stop.clone(),
    ));
    wait_acked(&acked, 700).await;
    jns.kill9(0);
    jns.kill9(2);
    let err = writer.await.unwrap().unwrap_err().to_string();
    assert!(
        err.contains("Got too many exceptions to achieve quorum size 2/3"),
        "the writer failed with: {err}"
    );
    let last_acked = acked.load(Ordering::SeqCst);
    jns.restart(0);
    jns.restart(2);
    // A new writer recovers at least everything acknowledged, and nothing beyond what a
    // JournalNode held.
    let next = manager(&jns);
    let recovered = next.recover_unfinalized_segments().await.unwrap().unwrap();
    assert!(
        recovered >= last_acked,
        "recovered {recovered} < acknowledged {last_acked}"
    );
    check_all_present(&jns, recovered).await;
}

/// Waits until a JournalNode's newest segment reaches `txid`.
async fn wait_for_end(channel: &IpcChannel, txid: u64) {
    let reached = async {
        loop {
            if let Ok(m) = channel.get_edit_log_manifest(1, true).await
                && m.logs.last().is_some_and(|l| l.end_txid >= txid)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(STARTUP_DEADLINE, reached)
        .await
        .unwrap_or_else(|_| panic!("{} never reached txid {txid}", channel.address()));
}

fn newest_in_progress(dir: &Path) -> PathBuf {
    let current = dir.join(JID).join("current");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&current)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("edits_inprogress_") && !name.contains('.')
        })
        .collect();
    files.sort();
    files.pop().expect("an in-progress segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_last_record_is_truncated_when_the_journal_node_restarts() {
    let mut jns = JournalNodes::start(true);
    let qjm = manager(&jns);
    qjm.format(false).await.unwrap();
    qjm.recover_unfinalized_segments().await.unwrap();
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    for txid in 1..=20u64 {
        writer.write(&[&payload(txid)]).await.unwrap();
    }
    writer.flush().await.unwrap();
    // A majority acknowledged; wait until JournalNode 0 itself holds all 20.
    wait_for_end(&channel(&jns, 0), 20).await;
    jns.kill9(0);
    let file = newest_in_progress(&jns.edits_dir(0));
    let mut bytes = std::fs::read(&file).unwrap();
    // Killed, the JournalNode left its OP_INVALID preallocation after the edits.
    let n = scan_edit_bytes(&bytes, Some(1)).valid_len as usize;
    assert!(
        bytes[n..].iter().all(|&b| b == 0xFF),
        "a fill after the edits"
    );
    bytes.truncate(n);
    bytes[n - 1] ^= 0xFF;
    bytes.extend_from_slice(b"torn tail");
    std::fs::write(&file, &bytes).unwrap();

    jns.restart(0);
    // The journal is opened on the first request naming it.
    let channel = channel(&jns, 0);
    let manifest = channel.get_edit_log_manifest(1, true).await.unwrap();
    assert_eq!(manifest.logs.last().unwrap().end_txid, 19);
    let restarted = jns.nodes[0].as_ref().unwrap();
    let line = restarted.wait_for_line("bytes at the end of", STARTUP_DEADLINE);
    assert!(
        line.contains("Transaction is corrupt") && line.contains("at txid 20"),
        "{line}"
    );
    let truncated = std::fs::metadata(&file).unwrap().len() as usize;
    assert_eq!(truncated, n - (16 + 200));
    drop(writer);
    // Recovery still finds all 20 edits (on the other two).
    let next = manager(&jns);
    assert_eq!(next.recover_unfinalized_segments().await.unwrap(), Some(20));
    check_all_present(&jns, 20).await;
}

#[test]
fn a_relative_edits_dir_is_refused_with_hadoops_message() {
    let conf_dir = tempfile::tempdir().unwrap();
    let mut jn = Daemon::start(
        "jn",
        &binary("journalnode"),
        &["-D".into(), "dfs.journalnode.edits.dir=relative/jn".into()],
        &[("HADOOP_CONF_DIR", conf_dir.path().display().to_string())],
    );
    assert_eq!(jn.wait_exit(STARTUP_DEADLINE), Some(1));
    jn.wait_for_line(
        "Journal dir 'relative/jn' should be an absolute path",
        STARTUP_DEADLINE,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jmx_and_prom_report_journal_metrics() {
    let jns = JournalNodes::start(true);
    let qjm = manager(&jns);
    qjm.format(false).await.unwrap();
    qjm.recover_unfinalized_segments().await.unwrap();
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    writer.write(&[&payload(1), &payload(2)]).await.unwrap();
    wait_for_end(&channel(&jns, 0), 2).await;
    let http = jns.nodes[0]
        .as_ref()
        .unwrap()
        .wait_for_address("JournalNode HTTP server is listening on");
    let get = |path: &str| {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-w",
                "\n%{http_code}",
                &format!("http://{http}{path}"),
            ])
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let jmx = get("/jmx");
    assert!(jmx.ends_with("\n200"), "{jmx}");
    assert!(
        jmx.contains("\"name\": \"Hadoop:service=JournalNode,name=Journal-mycluster\""),
        "{jmx}"
    );
    assert!(jmx.contains("\"LastWrittenTxId\": 2"), "{jmx}");
    assert!(jmx.contains("\"TxnsWritten\": 2"), "{jmx}");
    assert!(
        jmx.contains("\\\"mycluster\\\":{\\\"Formatted\\\":\\\"true\\\"}"),
        "{jmx}"
    );
    let one = get("/jmx?qry=Hadoop:service=JournalNode,name=JournalNodeInfo");
    assert!(
        one.contains("JournalsStatus") && !one.contains("TxnsWritten"),
        "{one}"
    );
    let prom = get("/prom");
    assert!(
        prom.contains("journalnode_txns_written_total{journalid=\"mycluster\"} 2"),
        "{prom}"
    );
    assert!(
        prom.contains("# TYPE journalnode_sync_latency_microseconds summary"),
        "{prom}"
    );
    // A JournalNode that received the batch after a majority acknowledged it was catching up
    // and skipped the sync; one that synced reports the latency quantiles.
    if !prom.contains("journalnode_syncs_total{journalid=\"mycluster\"} 0") {
        assert!(
            prom.contains(
                "journalnode_sync_latency_microseconds{journalid=\"mycluster\",quantile=\"0.99\"}"
            ),
            "{prom}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_journal_ids_and_unformatted_journals_get_hadoops_messages() {
    let jns = JournalNodes::start(true);
    let (host, port) = jns.addresses[0].rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    for bad in [".hidden", "a/b"] {
        let channel = IpcChannel::new(host, port, bad, None, None, Duration::from_secs(2));
        let err = channel.is_formatted().await.unwrap_err().to_string();
        assert_eq!(err, format!("bad journal id: {bad}"));
    }
    let channel = IpcChannel::new(
        host,
        port,
        "never-formatted",
        None,
        None,
        Duration::from_secs(2),
    );
    assert!(!channel.is_formatted().await.unwrap());
    let err = channel.get_journal_state().await.unwrap_err();
    assert_eq!(err.class(), Some("JournalNotFormattedException"));
    assert!(
        err.to_string()
            .ends_with("/never-formatted not formatted ; journal id: never-formatted"),
        "{err}"
    );
}

/// Mounts a small tmpfs (root only); unmounted when dropped, even if the test fails.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(at: &Path, size: &str) -> Option<TinyFs> {
        std::fs::create_dir_all(at).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| TinyFs(at.to_path_buf()))
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

use std::process::Stdio;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_one_journal_while_the_others_keep_serving() {
    let jns = JournalNodes::start(true);
    // Journal "full" of JournalNode 0 lives on a 128 KiB filesystem.
    let Some(_fs) = TinyFs::mount(&jns.edits_dir(0).join("full"), "128k") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let single = |jid: &str| {
        let uri = QjournalUri::parse(&format!("qjournal://{}/{jid}", jns.addresses[0])).unwrap();
        let conf = QjmConf {
            write_txns_timeout: Duration::from_secs(10),
            ..QjmConf::default()
        };
        QuorumJournalManager::connect(conf, &uri, Some(ns()), None).unwrap()
    };
    let full = single("full");
    full.format(false).await.unwrap();
    full.recover_unfinalized_segments().await.unwrap();
    let writer = full.start_log_segment(1, LV).await.unwrap();
    let mut acked = 0;
    let err = loop {
        match writer.write(&[&payload(acked + 1)]).await {
            Ok(txid) => acked = txid,
            Err(err) => break err.to_string(),
        }
        assert!(acked < 10_000, "a 128 KiB filesystem never filled");
    };
    assert!(
        err.contains("No space left on device") && err.contains("/full/current/edits_inprogress_"),
        "{err}"
    );
    assert!(acked > 100, "only {acked} edits fit");
    // The other journal on the same JournalNode is unaffected.
    let ok = single("ok");
    ok.format(false).await.unwrap();
    ok.recover_unfinalized_segments().await.unwrap();
    let other = ok.start_log_segment(1, LV).await.unwrap();
    for txid in 1..=200 {
        other.write(&[&payload(txid)]).await.unwrap();
    }
    // Every acknowledged edit of the full journal is still there, and nothing more.
    drop(writer);
    let reader = single("full");
    let mut next = 1;
    loop {
        let records = reader.read_edits(next, 5000, false).await.unwrap();
        if records.is_empty() {
            break;
        }
        for r in records {
            assert_eq!((r.txid, &r.payload), (next, &payload(next)));
            next += 1;
        }
    }
    assert_eq!(
        next - 1,
        acked,
        "edits on disk differ from the acknowledged ones"
    );
}

/// The names of the finalized segments in JournalNode `i`'s journal.
fn finalized_segments(jns: &JournalNodes, i: usize) -> Vec<String> {
    common::finalized_segments(&jns.edits_dir(i).join(JID))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_node_down_while_segments_were_finalized_gets_them_by_sync() {
    let mut jns = JournalNodes::start_synced(JID, 100);
    let qjm = Arc::new(manager(&jns));
    qjm.format(false).await.unwrap();
    assert_eq!(qjm.recover_unfinalized_segments().await.unwrap(), None);
    let write_segment = |start: u64| {
        let qjm = qjm.clone();
        async move {
            let writer = qjm.start_log_segment(start, LV).await.unwrap();
            let batch: Vec<Vec<u8>> = (start..start + 10).map(payload).collect();
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            writer.write(&refs).await.unwrap();
            let last = writer.close().await.unwrap();
            qjm.finalize_log_segment(start, last).await.unwrap();
        }
    };
    write_segment(1).await;
    // JournalNode 2 misses two whole segments.
    jns.kill9(2);
    write_segment(11).await;
    write_segment(21).await;
    jns.restart(2);
    // The writer takes it back at the next segment, whose calls tell it that txid 30 is
    // committed; sync then fetches 11-20 and 21-30 from the others.
    write_segment(31).await;
    let expected = [
        "edits_0000000000000000001-0000000000000000010",
        "edits_0000000000000000011-0000000000000000020",
        "edits_0000000000000000021-0000000000000000030",
        "edits_0000000000000000031-0000000000000000040",
    ];
    let deadline = tokio::time::Instant::now() + STARTUP_DEADLINE;
    while finalized_segments(&jns, 2) != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "JournalNode 2 holds {:?}",
            finalized_segments(&jns, 2)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for name in &expected[1..3] {
        let path = |i: usize| jns.edits_dir(i).join(JID).join("current").join(name);
        assert_eq!(
            std::fs::read(path(2)).unwrap(),
            std::fs::read(path(0)).unwrap(),
            "{name}"
        );
    }
    // With the other two gone, the synced node and one more still serve every edit.
    jns.kill9(0);
    check_all_present(&jns, 40).await;
}
