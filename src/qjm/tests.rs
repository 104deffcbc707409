//! QJM against in-process JournalNodes: Hadoop's `TestQuorumJournalManager`,
//! `TestEpochsAreUnique` and `TestQJMWithFaults`, named after what they reproduce.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::journal::edits::EditRecord;
use crate::journal::{EditFile, Journal, JournalStorage, MemStorage, NamespaceInfo};
use crate::seeded::{self, SeededRng};

const JID: &str = "test-journal";
const LV: i32 = -66;

fn ns() -> NamespaceInfo {
    NamespaceInfo {
        namespace_id: 12345,
        cluster_id: "mycluster".into(),
        block_pool_id: "BP-1".into(),
        layout_version: LV,
        ctime: 0,
    }
}

fn conf(tailing: bool) -> QjmConf {
    QjmConf {
        write_txns_timeout: Duration::from_secs(5),
        in_progress_tailing: tailing,
        ..QjmConf::default()
    }
}

/// Three in-process JournalNodes.
struct Cluster {
    local: LocalCluster,
    disks: Vec<MemStorage>,
    journals: Vec<SharedMemJournal>,
    tailing: bool,
}

impl Cluster {
    fn new(tailing: bool) -> Cluster {
        let local = LocalCluster::default();
        let disks: Vec<MemStorage> = (0..3)
            .map(|i| MemStorage::new(format!("/jn{i}/{JID}")))
            .collect();
        let journals = disks
            .iter()
            .map(|d| {
                let cache = tailing.then_some(1 << 20);
                Arc::new(Mutex::new(Journal::open(JID, d.clone(), cache).unwrap()))
            })
            .collect();
        Cluster {
            local,
            disks,
            journals,
            tailing,
        }
    }

    async fn formatted(tailing: bool) -> Cluster {
        let cluster = Cluster::new(tailing);
        cluster.qjm().format(false).await.unwrap();
        cluster
    }

    /// A new writer or reader, with its own channels.
    fn qjm(&self) -> QuorumJournalManager<LocalChannel> {
        let channels = self
            .journals
            .iter()
            .enumerate()
            .map(|(i, j)| LocalChannel::new(&format!("jn{i}"), j.clone(), &self.local))
            .collect();
        QuorumJournalManager::new(conf(self.tailing), JID, Some(ns()), channels)
    }

    /// Crashes JournalNode `i` (losing what it did not sync) and starts it again.
    fn restart(&self, i: usize) {
        self.disks[i].crash();
        let cache = self.tailing.then_some(1 << 20);
        let reopened = Journal::open(JID, self.disks[i].clone(), cache).unwrap();
        *self.journals[i].lock().unwrap() = reopened;
    }

    fn files(&self, i: usize) -> Vec<EditFile> {
        self.disks[i]
            .list_edit_files()
            .unwrap()
            .into_iter()
            .filter(EditFile::is_segment)
            .collect()
    }

    /// The last txid of segment `start` on JournalNode `i`.
    fn segment_end(&self, i: usize, start: u64) -> Option<u64> {
        let mut disk = self.disks[i].clone();
        let file = self.files(i).into_iter().find(|f| f.start() == start)?;
        disk.scan(&file, false).unwrap().last_txid
    }
}

fn down(qjm: &QuorumJournalManager<LocalChannel>, i: usize) {
    let plan: FaultPlan = Arc::new(|_, _| Some(FaultPoint::BeforeCall));
    qjm.loggers()[i].channel().set_fault_plan(Some(plan));
}

fn up(qjm: &QuorumJournalManager<LocalChannel>, i: usize) {
    qjm.loggers()[i].channel().set_fault_plan(None);
}

/// Fails `journal` requests only (the JournalNode stays up for everything else).
fn fail_writes(qjm: &QuorumJournalManager<LocalChannel>, i: usize) {
    let plan: FaultPlan = Arc::new(|op, _| (op == "journal").then_some(FaultPoint::BeforeCall));
    qjm.loggers()[i].channel().set_fault_plan(Some(plan));
}

fn payload(txid: u64) -> Vec<u8> {
    format!("txn{txid}").into_bytes()
}

/// Writes txids `first..first+n`, one batch each.
async fn write_txns(
    writer: &EditLogWriter<LocalChannel>,
    first: u64,
    n: u64,
) -> Result<(), QjmError> {
    for txid in first..first + n {
        let got = writer.write(&[&payload(txid)]).await?;
        assert_eq!(got, txid);
    }
    Ok(())
}

/// Starts segment `start`, writes `n` txns, and finalizes it when asked.
async fn write_segment(
    qjm: &QuorumJournalManager<LocalChannel>,
    start: u64,
    n: u64,
    finalize: bool,
) -> Result<(), QjmError> {
    let writer = qjm.start_log_segment(start, LV).await?;
    write_txns(&writer, start, n).await?;
    let last = writer.close().await?;
    assert_eq!(last, start + n - 1);
    if finalize {
        qjm.finalize_log_segment(start, last).await?;
    }
    Ok(())
}

async fn recovered_writer(cluster: &Cluster) -> (QuorumJournalManager<LocalChannel>, Option<u64>) {
    let qjm = cluster.qjm();
    let recovered = qjm.recover_unfinalized_segments().await.unwrap();
    (qjm, recovered)
}

fn txids(records: &[EditRecord]) -> Vec<u64> {
    records.iter().map(|r| r.txid).collect()
}

#[tokio::test]
async fn to_string_names_the_journal_nodes() {
    let cluster = Cluster::new(false);
    assert_eq!(cluster.qjm().to_string(), "QJM to [jn0, jn1, jn2]");
}

#[tokio::test]
async fn format_then_has_some_data() {
    let cluster = Cluster::new(false);
    let qjm = cluster.qjm();
    assert!(!qjm.has_some_data().await.unwrap());
    qjm.format(false).await.unwrap();
    assert!(qjm.has_some_data().await.unwrap());
    // A JournalNode down: formatting needs every one of them.
    let qjm = cluster.qjm();
    down(&qjm, 2);
    let err = qjm.format(true).await.unwrap_err().to_string();
    assert!(
        err.starts_with("Could not format one or more JournalNodes. 2 successful responses:"),
        "{err}"
    );
    assert!(
        qjm.has_some_data()
            .await
            .unwrap_err()
            .to_string()
            .starts_with("Unable to check if JNs are ready for formatting.")
    );
}

#[tokio::test]
async fn single_writer() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, recovered) = recovered_writer(&cluster).await;
    assert_eq!(recovered, None);
    assert_eq!(qjm.epoch(), Some(1));
    write_segment(&qjm, 1, 3, true).await.unwrap();
    write_segment(&qjm, 4, 1, true).await.unwrap();
    for i in 0..3 {
        assert_eq!(
            cluster.files(i),
            vec![
                EditFile::Finalized { start: 1, end: 3 },
                EditFile::Finalized { start: 4, end: 4 }
            ]
        );
    }
}

#[tokio::test]
async fn segments_need_recovery_first() {
    let cluster = Cluster::formatted(false).await;
    let qjm = cluster.qjm();
    let err = qjm.start_log_segment(1, LV).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        "must recover segments before starting a new one"
    );
}

#[tokio::test]
async fn concurrent_callers_share_batches_and_get_distinct_txids() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    let writer = Arc::new(qjm.start_log_segment(1, LV).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..64u64 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..10 {
                got.push(writer.write(&[&payload(i)]).await.unwrap());
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=640).collect::<Vec<_>>());
    let batches = cluster.journals[0]
        .lock()
        .unwrap()
        .status()
        .metrics
        .batches_written;
    assert!(
        batches < 640,
        "{batches} batches for 640 edits: callers did not share batches"
    );
    assert_eq!(writer.committed_txid(), 640);
}

#[tokio::test]
async fn reader_sees_durable_edits_or_everything_written() {
    let cluster = Cluster::formatted(false).await;
    let (writer_qjm, _) = recovered_writer(&cluster).await;
    write_segment(&writer_qjm, 1, 3, true).await.unwrap();
    write_segment(&writer_qjm, 4, 2, false).await.unwrap();
    let reader = cluster.qjm();
    assert_eq!(
        txids(&reader.read_edits(1, 100, false).await.unwrap()),
        vec![1, 2, 3, 4, 5]
    );
    // The JournalNodes learn that txid 4 is committed with the batch of txid 5; that 5 is
    // committed they learn only with the next request.
    assert_eq!(
        txids(&reader.read_edits(1, 100, true).await.unwrap()),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        txids(&reader.read_edits(2, 2, false).await.unwrap()),
        vec![2, 3]
    );
    assert_eq!(
        reader.read_edits(1, 1, false).await.unwrap()[0].payload,
        payload(1)
    );
}

#[tokio::test]
async fn reading_from_the_middle_of_segments() {
    // testSelectInputStreamsNotOnBoundary: 10-txn segments, read from 25.
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    for start in [1, 11, 21, 31, 41] {
        write_segment(&qjm, start, 10, true).await.unwrap();
    }
    let reader = cluster.qjm();
    let got = reader.read_edits(25, 1000, true).await.unwrap();
    assert_eq!(txids(&got), (25..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn one_journal_node_missing_segments_is_read_around() {
    // testOneJNMissingSegments (HDFS-3725).
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    write_segment(&qjm, 1, 3, true).await.unwrap();
    down(&qjm, 0);
    write_segment(&qjm, 4, 3, true).await.unwrap();
    up(&qjm, 0);
    down(&qjm, 1);
    write_segment(&qjm, 7, 3, true).await.unwrap();
    up(&qjm, 1);
    let reader = cluster.qjm();
    assert_eq!(
        txids(&reader.read_edits(1, 100, true).await.unwrap()),
        (1..=9).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn reading_with_a_majority_down_fails_with_the_quorum_message() {
    // testSelectInputStreamsMajorityDown (HDFS-3891).
    let cluster = Cluster::formatted(false).await;
    let reader = cluster.qjm();
    for i in 0..3 {
        down(&reader, i);
    }
    let err = reader
        .read_edits(1, 10, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Got too many exceptions to achieve quorum size 2/3."),
        "{err}"
    );
}

#[tokio::test]
async fn crash_at_the_beginning_of_a_segment() {
    // testCrashAtBeginningOfSegment: segment 4 opened everywhere, no edit written.
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    write_segment(&qjm, 1, 3, true).await.unwrap();
    let writer = qjm.start_log_segment(4, LV).await.unwrap();
    drop(writer);
    drop(qjm);
    let (qjm, recovered) = recovered_writer(&cluster).await;
    assert_eq!(recovered, Some(3));
    write_segment(&qjm, 4, 1, true).await.unwrap();
}

/// testOutOfSyncAtBeginningOfSegment{0,1,2}: segment 4 holds txn 4 on node `holder` only;
/// recovery without node 2 finds 4 iff the holder takes part.
#[tokio::test]
async fn out_of_sync_at_the_beginning_of_a_segment() {
    for holder in 0..3 {
        let cluster = Cluster::formatted(false).await;
        let (qjm, _) = recovered_writer(&cluster).await;
        write_segment(&qjm, 1, 3, true).await.unwrap();
        let writer = qjm.start_log_segment(4, LV).await.unwrap();
        for i in 0..3 {
            if i != holder {
                fail_writes(&qjm, i);
            }
        }
        assert!(writer.write(&[&payload(4)]).await.is_err());
        drop(writer);
        drop(qjm);
        let recoverer = cluster.qjm();
        down(&recoverer, 2);
        let recovered = recoverer.recover_unfinalized_segments().await.unwrap();
        let want = if holder == 2 { Some(3) } else { Some(4) };
        assert_eq!(recovered, want, "holder {holder}");
    }
}

#[tokio::test]
async fn change_writers_with_logs_in_sync() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    write_segment(&qjm, 1, 3, false).await.unwrap();
    let (_, recovered) = recovered_writer(&cluster).await;
    assert_eq!(recovered, Some(3));
    for i in 0..3 {
        assert_eq!(
            cluster.files(i),
            vec![EditFile::Finalized { start: 1, end: 3 }]
        );
    }
}

/// Leaves segment 1 unfinalized with lengths 3, 4 and 5 on nodes 0, 1 and 2
/// (Hadoop's `setupLoggers345`).
async fn setup_loggers_345(cluster: &Cluster) {
    let (qjm, _) = recovered_writer(cluster).await;
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 3).await.unwrap();
    fail_writes(&qjm, 0);
    write_txns(&writer, 4, 1).await.unwrap();
    fail_writes(&qjm, 1);
    assert!(write_txns(&writer, 5, 1).await.is_err());
    assert_eq!(
        (0..3)
            .map(|i| cluster.segment_end(i, 1))
            .collect::<Vec<_>>(),
        vec![Some(3), Some(4), Some(5)]
    );
}

#[tokio::test]
async fn change_writers_with_logs_out_of_sync() {
    // testChangeWritersLogsOutOfSync1/2/3: [x,4,5] -> 5, [3,x,5] -> 5, [3,4,x] -> 4.
    for (missing, want) in [(0, 5), (1, 5), (2, 4)] {
        let cluster = Cluster::formatted(false).await;
        setup_loggers_345(&cluster).await;
        let recoverer = cluster.qjm();
        down(&recoverer, missing);
        assert_eq!(
            recoverer.recover_unfinalized_segments().await.unwrap(),
            Some(want),
            "missing {missing}"
        );
    }
}

#[tokio::test]
async fn missed_finalize_and_next_start() {
    // testMissFinalizeAndNextStart: JN0 misses finalize(1-3) and start(4); JN1 fails txn 4.
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 3).await.unwrap();
    writer.close().await.unwrap();
    down(&qjm, 0);
    qjm.finalize_log_segment(1, 3).await.unwrap();
    let writer = qjm.start_log_segment(4, LV).await.unwrap();
    up(&qjm, 0);
    fail_writes(&qjm, 1);
    let err = writer.write(&[&payload(4)]).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "Writer out of sync: it thinks it is writing segment 4 but current segment is 1"
        ),
        "{err}"
    );
    drop(writer);
    let recoverer = cluster.qjm();
    down(&recoverer, 2);
    assert_eq!(
        recoverer.recover_unfinalized_segments().await.unwrap(),
        Some(3)
    );
}

#[tokio::test]
async fn recovery_after_an_incomplete_recovery_keeps_the_accepted_value() {
    // testRecoverAfterIncompleteRecovery: [3,4,5]; a recovery sees [3,4,x], accepts 4 but
    // cannot finalize; the next sees [x,4,5] and must choose 4.
    let cluster = Cluster::formatted(false).await;
    setup_loggers_345(&cluster).await;
    let first = cluster.qjm();
    down(&first, 2);
    let fail_finalize: FaultPlan =
        Arc::new(|op, _| (op == "finalizeLogSegment").then_some(FaultPoint::BeforeCall));
    first.loggers()[0]
        .channel()
        .set_fault_plan(Some(fail_finalize.clone()));
    first.loggers()[1]
        .channel()
        .set_fault_plan(Some(fail_finalize));
    assert!(first.recover_unfinalized_segments().await.is_err());
    assert_eq!(cluster.segment_end(0, 1), Some(4));
    let second = cluster.qjm();
    down(&second, 0);
    assert_eq!(
        second.recover_unfinalized_segments().await.unwrap(),
        Some(4)
    );
}

#[tokio::test]
async fn a_newer_version_of_a_segment_wins_over_an_older_accepted_one() {
    // testNewerVersionOfSegmentWins: JN0 holds an accepted 1-1 from an aborted recovery;
    // a later writer without JN0 writes 1-...; recovery including JN0 returns the longer.
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 1).await.unwrap();
    fail_writes(&qjm, 1);
    fail_writes(&qjm, 2);
    assert!(write_txns(&writer, 2, 1).await.is_err());
    drop(writer);
    // A recovery that accepts 1-2 (JN0's copy... only JN0 has txn 2) on JN0 and fails after.
    let aborted = cluster.qjm();
    let only_accept_on_0: FaultPlan = Arc::new(|op, _| {
        (op == "acceptRecovery" || op == "finalizeLogSegment").then_some(FaultPoint::BeforeCall)
    });
    aborted.loggers()[1]
        .channel()
        .set_fault_plan(Some(only_accept_on_0.clone()));
    aborted.loggers()[2]
        .channel()
        .set_fault_plan(Some(only_accept_on_0));
    assert!(aborted.recover_unfinalized_segments().await.is_err());
    // A later writer, without JN0, recovers 1-1 and writes a longer segment 1.
    let later = cluster.qjm();
    down(&later, 0);
    assert_eq!(later.recover_unfinalized_segments().await.unwrap(), Some(1));
    let writer = later.start_log_segment(2, LV).await.unwrap();
    write_txns(&writer, 2, 49).await.unwrap();
    drop(writer);
    // Recovery with JN0 present must pick the newer writer's segment.
    let last = cluster.qjm();
    assert_eq!(last.recover_unfinalized_segments().await.unwrap(), Some(50));
}

#[tokio::test]
async fn crash_between_sync_log_and_persist_paxos_data() {
    // testCrashBetweenSyncLogAndPersistPaxosData.
    let cluster = Cluster::formatted(false).await;
    setup_loggers_345(&cluster).await;
    cluster.disks[0].arm_paxos_fault(crate::journal::PaxosFault::BeforePersist);
    let first = cluster.qjm();
    down(&first, 1);
    assert!(first.recover_unfinalized_segments().await.is_err());
    cluster.restart(0);
    let second = cluster.qjm();
    let recovered = second
        .recover_unfinalized_segments()
        .await
        .unwrap()
        .unwrap();
    assert!(recovered >= 4, "recovered to {recovered}");
}

#[tokio::test]
async fn an_old_writer_is_fenced_by_a_new_epoch() {
    let cluster = Cluster::formatted(false).await;
    let (old, _) = recovered_writer(&cluster).await;
    let writer = old.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 3).await.unwrap();
    let (new, recovered) = recovered_writer(&cluster).await;
    assert_eq!(recovered, Some(3));
    assert_eq!(new.epoch(), Some(2));
    let err = writer.write(&[&payload(4)]).await.unwrap_err().to_string();
    assert!(
        err.contains("IPC's epoch 1 is less than the last promised epoch 2"),
        "{err}"
    );
    // Once failed, the old writer acknowledges nothing more.
    let err = writer.write(&[&payload(4)]).await.unwrap_err().to_string();
    assert!(err.starts_with("The edit log writer has failed"), "{err}");
    assert_eq!(writer.committed_txid(), 3);
    write_segment(&new, 4, 2, true).await.unwrap();
}

#[tokio::test]
async fn an_out_of_sync_journal_node_rejoins_at_the_next_segment() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 2).await.unwrap();
    fail_writes(&qjm, 0);
    write_txns(&writer, 3, 1).await.unwrap();
    up(&qjm, 0);
    assert!(qjm.loggers()[0].is_out_of_sync().await);
    write_txns(&writer, 4, 2).await.unwrap();
    assert_eq!(cluster.segment_end(0, 1), Some(2));
    writer.close().await.unwrap();
    qjm.finalize_log_segment(1, 5).await.unwrap();
    write_segment(&qjm, 6, 2, true).await.unwrap();
    assert!(!qjm.loggers()[0].is_out_of_sync().await);
    assert!(
        cluster
            .files(0)
            .contains(&EditFile::Finalized { start: 6, end: 7 })
    );
}

#[tokio::test]
async fn epochs_are_unique() {
    // TestEpochsAreUnique: fresh writers get 1..5; then failing channels still never repeat.
    let cluster = Cluster::formatted(false).await;
    for want in 1..=5 {
        let qjm = cluster.qjm();
        qjm.create_new_unique_epoch().await.unwrap();
        assert_eq!(qjm.epoch(), Some(want));
    }
    let seed = seeded::seed();
    seeded::announce(seed);
    let rng = Arc::new(Mutex::new(SeededRng::new(seed)));
    let mut previous = 5;
    for _ in 0..20 {
        loop {
            let qjm = cluster.qjm();
            for logger in qjm.loggers() {
                let rng = rng.clone();
                let plan: FaultPlan = Arc::new(move |op, _| {
                    let p = if op == "getJournalState" { 0.1 } else { 0.4 };
                    rng.lock()
                        .unwrap()
                        .chance(p)
                        .then_some(FaultPoint::BeforeCall)
                });
                logger.channel().set_fault_plan(Some(plan));
            }
            if qjm.create_new_unique_epoch().await.is_ok() {
                let epoch = qjm.epoch().unwrap();
                assert!(
                    epoch > previous,
                    "epoch {epoch} after {previous} (seed {seed})"
                );
                previous = epoch;
                break;
            }
        }
    }
}

#[tokio::test]
async fn in_progress_tailing_returns_only_durable_edits_when_asked() {
    // testSelectViaRpcWithDurableTransactions / WithoutDurableTransactions.
    let cluster = Cluster::formatted(true).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    let writer = qjm.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 5).await.unwrap();
    // Edit 6 only reaches JN0 (the writer fails).
    fail_writes(&qjm, 1);
    fail_writes(&qjm, 2);
    assert!(write_txns(&writer, 6, 1).await.is_err());
    let reader = cluster.qjm();
    assert_eq!(
        txids(&reader.read_edits(1, 100, true).await.unwrap()),
        (1..=5).collect::<Vec<_>>()
    );
    assert_eq!(
        txids(&reader.read_edits(1, 100, false).await.unwrap()),
        (1..=6).collect::<Vec<_>>()
    );
    assert_eq!(
        txids(&reader.read_edits(4, 100, true).await.unwrap()),
        vec![4, 5]
    );
    assert!(reader.read_edits(6, 100, true).await.unwrap().is_empty());
    // One JournalNode down: still served. Two down: the quorum error.
    down(&reader, 0);
    assert_eq!(reader.read_edits(1, 100, true).await.unwrap().len(), 5);
    down(&reader, 1);
    assert!(reader.read_edits(1, 100, true).await.is_err());
}

#[tokio::test]
async fn a_cache_miss_falls_back_to_segments() {
    // testSelectViaRpcAfterJNRestart: the restarted JournalNodes' caches are empty.
    let cluster = Cluster::formatted(true).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    write_segment(&qjm, 1, 3, true).await.unwrap();
    write_segment(&qjm, 4, 3, true).await.unwrap();
    for i in 0..3 {
        cluster.restart(i);
    }
    let reader = cluster.qjm();
    assert_eq!(
        txids(&reader.read_edits(2, 100, true).await.unwrap()),
        (2..=6).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_new_writer_reads_the_txns_recovery_synchronized_from_the_segments() {
    // The old writer's txns 4-5 reached JN0 only; the new writer's recovery takes JN0's
    // longer copy and synchronizes JN1 and JN2 to it. Their caches hold 1-3 only.
    let cluster = Cluster::formatted(true).await;
    let (old, _) = recovered_writer(&cluster).await;
    let writer = old.start_log_segment(1, LV).await.unwrap();
    write_txns(&writer, 1, 3).await.unwrap();
    fail_writes(&old, 1);
    fail_writes(&old, 2);
    assert!(writer.write(&[&payload(4), &payload(5)]).await.is_err());
    let new = cluster.qjm();
    assert_eq!(new.recover_unfinalized_segments().await.unwrap(), Some(5));
    for i in 1..3 {
        assert_eq!(cluster.segment_end(i, 1), Some(5));
        new.loggers()[i].channel().answer_like_hadoops_cache(true);
    }
    down(&new, 0);
    // Hadoop's JournalNodes answer the RPC read past their cache with nothing...
    assert!(new.read_edits(4, 100, true).await.unwrap().is_empty());
    // ...while their segments hold the recovered txns, which the new writer must apply
    // before it starts segment 6.
    assert_eq!(txids(&new.read_segments(4, 100).await.unwrap()), vec![4, 5]);
}

#[tokio::test]
async fn a_gap_in_the_edits_is_reported_with_hadoops_text() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    write_segment(&qjm, 1, 3, true).await.unwrap();
    write_segment(&qjm, 4, 3, true).await.unwrap();
    for i in 0..3 {
        let mut j = cluster.journals[i].lock().unwrap();
        let r = crate::journal::RequestInfo {
            epoch: 1,
            ipc_serial: 1000 + i as u64,
            committed_txid: None,
            client: "t".into(),
        };
        j.purge_logs_older_than(&r, 4).unwrap();
    }
    let reader = cluster.qjm();
    let err = reader.read_edits(2, 100, true).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "There appears to be a gap in the edit log.  We expected txid 2, but got txid 4."
    );
}

#[tokio::test]
async fn purged_logs_disappear_on_every_journal_node() {
    let cluster = Cluster::formatted(false).await;
    let (qjm, _) = recovered_writer(&cluster).await;
    for start in [1, 2, 3] {
        write_segment(&qjm, start, 1, true).await.unwrap();
    }
    qjm.purge_logs_older_than(3);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if (0..3).all(|i| cluster.files(i) == vec![EditFile::Finalized { start: 3, end: 3 }]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "purge did not complete"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// TestQJMWithFaults.testRandomized: successive writers against three JournalNodes whose
/// channels fail at random (before or after the JournalNode acts) and who crash and restart,
/// with acceptRecovery
/// failing before or after persisting its decision. Each writer recovers, then writes
/// segments of four edits until something fails. Invariants: a recovery never ends below the
/// last acknowledged txid, even across JournalNode crashes; finalized segments never differ between JournalNodes; every error
/// is an injected one.
#[tokio::test]
async fn randomized_writers_with_faults() {
    let seed = seeded::seed();
    seeded::announce(seed);
    let writers: usize = std::env::var("QJM_TEST_WRITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let rng = Arc::new(Mutex::new(SeededRng::new(seed)));
    let cluster = Cluster::formatted(false).await;
    let mut last_acked: u64 = 0;
    let mut next_txid: u64 = 1;
    let mut recoveries = 0;
    for round in 0..writers {
        let qjm = cluster.qjm();
        for logger in qjm.loggers() {
            let rng = rng.clone();
            let plan: FaultPlan = Arc::new(move |_, _| {
                let mut r = rng.lock().unwrap();
                if r.chance(0.1) {
                    Some(if r.chance(0.5) {
                        FaultPoint::BeforeCall
                    } else {
                        FaultPoint::AfterCall
                    })
                } else {
                    None
                }
            });
            logger.channel().set_fault_plan(Some(plan));
        }
        for i in 0..3 {
            // Now and then a JournalNode crashes (losing what it had not synced) and restarts.
            if rng.lock().unwrap().chance(0.05) {
                cluster.restart(i);
            }
        }
        for disk in &cluster.disks {
            let mut r = rng.lock().unwrap();
            if r.chance(0.1) {
                disk.arm_paxos_fault(if r.chance(0.5) {
                    crate::journal::PaxosFault::BeforePersist
                } else {
                    crate::journal::PaxosFault::AfterPersist
                });
            }
        }
        let recovered = match qjm.recover_unfinalized_segments().await {
            Ok(recovered) => recovered,
            Err(err) => {
                assert_injected(&err, seed, round);
                continue;
            }
        };
        recoveries += 1;
        if let Some(end) = recovered {
            assert!(
                end >= last_acked,
                "round {round}: recovered to {end} but txid {last_acked} was acknowledged (seed {seed})"
            );
            next_txid = end + 1;
        }
        'segments: for _ in 0..2 {
            let writer = match qjm.start_log_segment(next_txid, LV).await {
                Ok(w) => w,
                Err(err) => {
                    assert_injected(&err, seed, round);
                    break;
                }
            };
            for _ in 0..4 {
                match writer.write(&[&payload(next_txid)]).await {
                    Ok(txid) => {
                        last_acked = txid;
                        next_txid = txid + 1;
                    }
                    Err(err) => {
                        assert_injected(&err, seed, round);
                        break 'segments;
                    }
                }
            }
            let start = writer.segment_start();
            drop(writer);
            if let Err(err) = qjm.finalize_log_segment(start, next_txid - 1).await {
                assert_injected(&err, seed, round);
                break;
            }
        }
        if round % 50 == 49 && last_acked > 20 {
            qjm.purge_logs_older_than(last_acked - 20);
        }
        check_finalized_segments_agree(&cluster, seed);
    }
    println!("{recoveries} of {writers} writers recovered; {last_acked} edits acknowledged");
    assert!(
        recoveries > writers / 10 && last_acked > writers as u64,
        "too few faults let through to test anything (seed {seed})"
    );
    // A clean writer at the end (no faults left armed) recovers everything acknowledged.
    for disk in &cluster.disks {
        disk.clear_faults();
    }
    let qjm = cluster.qjm();
    let recovered = qjm.recover_unfinalized_segments().await.unwrap();
    assert!(
        recovered.unwrap_or(0) >= last_acked,
        "final recovery lost edits (seed {seed})"
    );
    check_finalized_segments_agree(&cluster, seed);
}

fn assert_injected(err: &QjmError, seed: u64, round: usize) {
    let text = err.to_string();
    let injected = text.contains("Injected fault")
        || text.contains("injected fault")
        || text.contains("Journal disabled until next roll")
        || text.contains("is less than the last promised epoch");
    assert!(
        injected && !matches!(err, QjmError::Assertion(_)) && !text.contains("AssertionError"),
        "round {round}: an error that no fault explains (seed {seed}): {text}"
    );
    // Journal-side invariant violations surface as these texts.
    for forbidden in [
        "Bad paxos transition",
        "would discard already-committed",
        "finalized segs with different lengths",
        "Should never be asked",
    ] {
        assert!(
            !text.contains(forbidden),
            "round {round}: invariant broken (seed {seed}): {text}"
        );
    }
}

fn check_finalized_segments_agree(cluster: &Cluster, seed: u64) {
    let mut ends = std::collections::BTreeMap::new();
    for i in 0..3 {
        let files = cluster.files(i);
        // The newest few segments are the ones a round can have changed; older ones were
        // checked by earlier rounds (and a finalized file never changes).
        let recent = files.len().saturating_sub(4);
        for (n, file) in files.into_iter().enumerate() {
            if let EditFile::Finalized { start, end } = file {
                let previous = ends.insert(start, end);
                assert!(
                    previous.is_none_or(|p| p == end),
                    "segment {start} finalized as {previous:?} and {end} (seed {seed})"
                );
                if n >= recent {
                    let mut disk = cluster.disks[i].clone();
                    let scan = disk.scan(&file, false).unwrap();
                    assert_eq!(
                        scan.last_txid,
                        Some(end),
                        "finalized file content (seed {seed})"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn an_unresolvable_journal_node_fails_at_construction() {
    // testUnresolvableHostName.
    let uri = crate::conf::QjournalUri::parse(
        "qjournal://bogus.invalid:12345;127.0.0.1:8485;127.0.0.1:8486/ns",
    )
    .unwrap();
    let err = QuorumJournalManager::connect(QjmConf::default(), &uri, None, None)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Unable to construct journal, qjournal://bogus.invalid:12345;127.0.0.1:8485;127.0.0.1:8486/ns: java.net.UnknownHostException: bogus.invalid"
    );
}

/// As `randomized_writers_with_faults`, with eight concurrent callers per writer, so that
/// several batches are in flight at once when faults strike.
#[tokio::test]
async fn randomized_concurrent_writers_with_faults() {
    let seed = seeded::seed();
    seeded::announce(seed);
    let writers: usize = std::env::var("QJM_TEST_WRITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let rng = Arc::new(Mutex::new(SeededRng::new(seed)));
    let cluster = Cluster::formatted(false).await;
    let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut next_txid = 1;
    let mut recoveries = 0;
    for round in 0..writers {
        let qjm = cluster.qjm();
        for logger in qjm.loggers() {
            let rng = rng.clone();
            let plan: FaultPlan = Arc::new(move |_, _| {
                let mut r = rng.lock().unwrap();
                r.chance(0.03).then(|| {
                    if r.chance(0.5) {
                        FaultPoint::BeforeCall
                    } else {
                        FaultPoint::AfterCall
                    }
                })
            });
            logger.channel().set_fault_plan(Some(plan));
        }
        if rng.lock().unwrap().chance(0.1) {
            let i = rng.lock().unwrap().index(3);
            cluster.restart(i);
        }
        let recovered = match qjm.recover_unfinalized_segments().await {
            Ok(r) => r,
            Err(err) => {
                assert_injected(&err, seed, round);
                continue;
            }
        };
        recoveries += 1;
        let max_acked = acked.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(end) = recovered {
            assert!(
                end >= max_acked,
                "round {round}: recovered to {end} but txid {max_acked} was acknowledged (seed {seed})"
            );
            next_txid = end + 1;
        }
        let writer = match qjm.start_log_segment(next_txid, LV).await {
            Ok(w) => Arc::new(w),
            Err(err) => {
                assert_injected(&err, seed, round);
                continue;
            }
        };
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let writer = writer.clone();
            let acked = acked.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..4 {
                    match writer
                        .write(&[b"edit".as_slice(), b"edit".as_slice()])
                        .await
                    {
                        Ok(first) => {
                            acked.fetch_max(first + 1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(err) => return Err(err),
                    }
                }
                Ok(())
            }));
        }
        let mut failed = false;
        for t in tasks {
            if let Err(err) = t.await.unwrap() {
                assert_injected(&err, seed, round);
                failed = true;
            }
        }
        if !failed {
            let writer = Arc::try_unwrap(writer).ok().expect("tasks done");
            let start = writer.segment_start();
            match writer.close().await {
                Ok(last) => {
                    next_txid = last + 1;
                    if let Err(err) = qjm.finalize_log_segment(start, last).await {
                        assert_injected(&err, seed, round);
                    }
                }
                Err(err) => assert_injected(&err, seed, round),
            }
        }
        check_finalized_segments_agree(&cluster, seed);
    }
    let max_acked = acked.load(std::sync::atomic::Ordering::SeqCst);
    println!("{recoveries} of {writers} writers recovered; up to txid {max_acked} acknowledged");
    assert!(
        max_acked > writers as u64,
        "too few edits acknowledged to test anything (seed {seed})"
    );
    let qjm = cluster.qjm();
    let recovered = qjm.recover_unfinalized_segments().await.unwrap();
    assert!(
        recovered.unwrap_or(0) >= max_acked,
        "final recovery lost edits (seed {seed})"
    );
}
