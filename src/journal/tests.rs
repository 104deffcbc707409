//! The rules of one journal, after Hadoop's `TestJournal`, over the in-memory storage (the
//! file storage runs the same conformance suite and its own tests).

use super::edits::{HEADER_LEN, decode_records, test_records as records};
use super::*;

const JID: &str = "test-journal";

use super::journal::test_namespace as ns;

fn req(epoch: u64, serial: u64) -> RequestInfo {
    RequestInfo {
        epoch,
        ipc_serial: serial,
        committed_txid: None,
        client: "127.0.0.1".into(),
    }
}

fn formatted() -> (Journal<MemStorage>, MemStorage) {
    let disk = MemStorage::new("/jn/test-journal");
    let mut journal = Journal::open(JID, disk.clone(), Some(1 << 20)).unwrap();
    journal.format(&ns(), false).unwrap();
    (journal, disk)
}

/// A writer's view of one journal: its epoch and ipc serials.
struct Writer {
    epoch: u64,
    serial: u64,
}

impl Writer {
    fn new(journal: &mut Journal<MemStorage>, epoch: u64) -> Writer {
        journal.new_epoch(&ns(), epoch, "w").unwrap();
        Writer { epoch, serial: 0 }
    }

    fn req(&mut self) -> RequestInfo {
        self.serial += 1;
        req(self.epoch, self.serial)
    }

    fn write_segment(&mut self, j: &mut Journal<MemStorage>, start: u64, n: u64, finalize: bool) {
        let r = self.req();
        j.start_log_segment(&r, start, -66).unwrap();
        let r = self.req();
        j.journal(&r, start, start, n as u32, &records(start, n))
            .unwrap();
        if finalize {
            let r = self.req();
            j.finalize_log_segment(&r, start, start + n - 1).unwrap();
        }
    }
}

fn err_text<T: std::fmt::Debug>(result: Result<T, JournalError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn unformatted_journals_refuse_everything_but_format() {
    let mut j = Journal::open(JID, MemStorage::new("/jn/x"), None).unwrap();
    assert!(!j.is_formatted());
    assert_eq!(
        err_text(j.new_epoch(&ns(), 1, "c")),
        "Journal Storage Directory /jn/x not formatted ; journal id: test-journal"
    );
    assert_eq!(
        err_text(j.heartbeat(&req(1, 1))),
        "Journal Storage Directory /jn/x not formatted ; journal id: test-journal"
    );
    let err = j.last_promised_epoch().unwrap_err();
    assert_eq!(err.exception_class(), "JournalNotFormattedException");
    let mut zero = ns();
    zero.namespace_id = 0;
    assert!(
        err_text(j.format(&zero, false))
            .starts_with("can't format with uninitialized namespace info: ")
    );
    j.format(&ns(), false).unwrap();
    assert!(j.is_formatted());
}

#[test]
fn format_refuses_existing_data_unless_forced_and_resets_epochs() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 3);
    w.write_segment(&mut j, 1, 3, true);
    assert_eq!(
        err_text(j.format(&ns(), false)),
        "Directory /jn/test-journal/current is in an inconsistent state: Can't format the storage directory because the current directory is not empty."
    );
    j.format(&ns(), true).unwrap();
    assert_eq!(j.last_promised_epoch().unwrap(), 0);
    assert_eq!(j.status().last_writer_epoch, 0);
    assert_eq!(j.new_epoch(&ns(), 1, "c").unwrap(), None);
}

#[test]
fn epoch_handling() {
    let (mut j, _) = formatted();
    assert_eq!(j.last_promised_epoch().unwrap(), 0);
    j.new_epoch(&ns(), 1, "c").unwrap();
    assert_eq!(j.last_promised_epoch().unwrap(), 1);
    j.new_epoch(&ns(), 3, "c").unwrap();
    assert_eq!(j.last_promised_epoch().unwrap(), 3);
    assert_eq!(
        err_text(j.new_epoch(&ns(), 3, "c")),
        "Proposed epoch 3 <= last promise 3 ; journal id: test-journal"
    );
    assert_eq!(
        err_text(j.start_log_segment(&req(1, 1), 12345, -66)),
        "IPC's epoch 1 is less than the last promised epoch 3 ; journal id: test-journal"
    );
    assert_eq!(
        err_text(j.journal(&req(1, 1), 12345, 12345, 1, &records(12345, 1))),
        "IPC's epoch 1 is less than the last promised epoch 3 ; journal id: test-journal"
    );
}

#[test]
fn a_request_from_a_newer_epoch_is_an_implicit_promise() {
    let (mut j, _) = formatted();
    j.new_epoch(&ns(), 2, "c").unwrap();
    j.heartbeat(&req(5, 1)).unwrap();
    assert_eq!(j.last_promised_epoch().unwrap(), 5);
    assert!(
        err_text(j.heartbeat(&req(2, 9)))
            .starts_with("IPC's epoch 2 is less than the last promised epoch 5")
    );
}

#[test]
fn ipc_serials_must_increase_within_an_epoch() {
    let (mut j, _) = formatted();
    j.new_epoch(&ns(), 1, "c").unwrap();
    j.heartbeat(&req(1, 5)).unwrap();
    let err = j.heartbeat(&req(1, 5)).unwrap_err();
    assert_eq!(err.exception_class(), "JournalOutOfSyncException");
    assert_eq!(
        err.to_string(),
        "IPC serial 5 from client 127.0.0.1 was not higher than prior highest IPC serial 5 ; journal id: test-journal"
    );
    j.heartbeat(&req(1, 6)).unwrap();
    // A new epoch starts counting again.
    j.new_epoch(&ns(), 2, "c").unwrap();
    j.heartbeat(&req(2, 0)).unwrap();
}

#[test]
fn writes_must_come_from_the_writer_epoch() {
    let (mut j, _) = formatted();
    let mut w1 = Writer::new(&mut j, 1);
    w1.write_segment(&mut j, 1, 2, false);
    // Epoch 2 is promised but its writer has not started a segment.
    j.new_epoch(&ns(), 2, "c").unwrap();
    assert_eq!(
        err_text(j.journal(&req(2, 1), 1, 3, 1, &records(3, 1))),
        "IPC's epoch 2 is not the current writer epoch  1 ; journal id: test-journal"
    );
}

#[test]
fn journal_checks_segment_and_txid() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    let r = w.req();
    j.start_log_segment(&r, 1, -66).unwrap();
    let r = w.req();
    assert_eq!(
        err_text(j.journal(&r, 1, 2, 1, &records(2, 1))),
        "Can't write txid 2 expecting nextTxId=1 ; journal id: test-journal"
    );
    let r = w.req();
    j.journal(&r, 1, 1, 3, &records(1, 3)).unwrap();
    // Bytes that do not hold the claimed records are refused before anything is written.
    let r = w.req();
    let err = err_text(j.journal(&r, 1, 4, 2, &records(4, 1)));
    assert!(
        err.starts_with("Bad batch of edits for txids 4-5: found 1 valid records"),
        "{err}"
    );
    let r = w.req();
    let mut bad = records(4, 1);
    bad[17] ^= 1;
    let err = err_text(j.journal(&r, 1, 4, 1, &bad));
    assert!(
        err.contains("Transaction is corrupt. Calculated checksum is") && err.contains("at txid 4"),
        "{err}"
    );
    assert_eq!(j.status().highest_written_txid, 3);
    // A writer that thinks it writes another segment aborts this one.
    let r = w.req();
    let err = j.journal(&r, 7, 4, 1, &records(4, 1)).unwrap_err();
    assert_eq!(err.exception_class(), "JournalOutOfSyncException");
    assert_eq!(
        err.to_string(),
        "Writer out of sync: it thinks it is writing segment 7 but current segment is 1 ; journal id: test-journal"
    );
    let r = w.req();
    assert_eq!(
        err_text(j.journal(&r, 1, 4, 1, &records(4, 1))),
        "Can't write, no segment open ; journal id: test-journal"
    );
}

#[test]
fn an_empty_batch_only_advances_the_committed_txid() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    let mut r = w.req();
    r.committed_txid = Some(3);
    j.journal(&r, 1, 4, 0, &[]).unwrap();
    assert_eq!(j.status().committed_txid, Some(3));
    let mut r = w.req();
    r.committed_txid = Some(2);
    assert_eq!(
        err_text(j.heartbeat(&r)),
        "Client trying to move committed txid backward from 3 to 2 ; journal id: test-journal"
    );
}

#[test]
fn committed_txid_is_maintained_and_reported_in_recovery() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    let r = w.req();
    j.start_log_segment(&r, 1, -66).unwrap();
    let mut r = w.req();
    r.committed_txid = Some(0);
    j.journal(&r, 1, 1, 3, &records(1, 3)).unwrap();
    let mut r = w.req();
    r.committed_txid = Some(3);
    j.heartbeat(&r).unwrap();
    let mut w2 = Writer::new(&mut j, 2);
    let r = w2.req();
    let prep = j.prepare_recovery(&r, 1).unwrap();
    assert_eq!(prep.last_committed_txid, Some(3));
    assert_eq!(prep.last_writer_epoch, 1);
    assert_eq!(
        prep.segment_state,
        Some(SegmentState {
            start_txid: 1,
            end_txid: 3,
            in_progress: true
        })
    );
}

#[test]
fn lagging_writes_skip_the_sync_and_are_counted() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    let r = w.req();
    j.start_log_segment(&r, 1, -66).unwrap();
    let mut r = w.req();
    r.committed_txid = Some(10);
    j.journal(&r, 1, 1, 5, &records(1, 5)).unwrap();
    let m = j.status().metrics;
    assert_eq!(
        (
            m.batches_written,
            m.batches_written_while_lagging,
            m.txns_written
        ),
        (1, 1, 5)
    );
    assert_eq!(m.syncs_total, 0);
    let r = w.req();
    j.journal(&r, 1, 6, 6, &records(6, 6)).unwrap();
    assert_eq!(j.status().metrics.syncs_total, 1);
    // The lagging batch was not synced by itself, but the next sync covers it.
    disk.crash();
    let mut survivor = disk.clone();
    assert_eq!(
        survivor
            .scan(&EditFile::InProgress { start: 1 }, false)
            .unwrap()
            .last_txid,
        Some(11)
    );
}

#[test]
fn restart_preserves_promises_and_the_last_segment() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, true);
    w.write_segment(&mut j, 4, 2, false);
    j.new_epoch(&ns(), 5, "c").unwrap();
    disk.crash();
    let mut j = Journal::open(JID, disk.clone(), None).unwrap();
    assert_eq!(j.last_promised_epoch().unwrap(), 5);
    assert_eq!(j.status().last_writer_epoch, 1);
    assert_eq!(j.status().highest_written_txid, 5);
    assert_eq!(j.new_epoch(&ns(), 6, "c").unwrap(), Some(4));
}

#[test]
fn new_epoch_right_after_an_empty_segment_reports_the_previous_one() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 2, true);
    let r = w.req();
    j.start_log_segment(&r, 3, -66).unwrap();
    assert_eq!(j.new_epoch(&ns(), 2, "c").unwrap(), Some(1));
    assert!(
        j.storage()
            .list_edit_files()
            .unwrap()
            .contains(&EditFile::Aside {
                start: 3,
                suffix: "empty".into()
            })
    );
}

#[test]
fn finalize_rules() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    let r = w.req();
    let err = j.finalize_log_segment(&r, 1, 6).unwrap_err();
    assert_eq!(err.exception_class(), "JournalOutOfSyncException");
    assert_eq!(
        err.to_string(),
        "Trying to finalize in-progress log segment 1 to end at txid 6 but only written up to txid 3 ; journal id: test-journal"
    );
    // After a restart the segment is validated from disk.
    let mut j = Journal::open(JID, disk.clone(), None).unwrap();
    let r = req(1, 100);
    assert_eq!(
        err_text(j.finalize_log_segment(&r, 1, 6)),
        "Trying to finalize in-progress log segment 1 to end at txid 6 but log /jn/test-journal/current/edits_inprogress_0000000000000000001 on disk only contains up to txid 3 ; journal id: test-journal"
    );
    j.finalize_log_segment(&req(1, 101), 1, 3).unwrap();
    // Finalizing again with the same end is fine; with another end it is not.
    j.finalize_log_segment(&req(1, 102), 1, 3).unwrap();
    assert_eq!(
        err_text(j.finalize_log_segment(&req(1, 103), 1, 4)),
        "Trying to re-finalize already finalized log /jn/test-journal/current/edits_0000000000000000001-0000000000000000003 with different endTxId 4 ; journal id: test-journal"
    );
    assert_eq!(
        err_text(j.finalize_log_segment(&req(1, 104), 1000, 1001)),
        "No log file to finalize at transaction ID 1000 ; journal id: test-journal"
    );
}

#[test]
fn starting_a_later_segment_aborts_the_unfinalized_one() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    // The finalize of 1-3 was missed; the writer starts segment 4.
    w.write_segment(&mut j, 4, 1, false);
    let files = j.storage().list_edit_files().unwrap();
    assert_eq!(
        files,
        vec![
            EditFile::InProgress { start: 1 },
            EditFile::InProgress { start: 4 }
        ]
    );
}

#[test]
fn restarting_a_segment_is_allowed_only_with_at_most_one_edit() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 1, false);
    // Only the first edit: may be started again (the writer died right after opening it).
    let r = w.req();
    j.start_log_segment(&r, 1, -66).unwrap();
    let r = w.req();
    j.journal(&r, 1, 1, 2, &records(1, 2)).unwrap();
    let r = w.req();
    assert_eq!(
        err_text(j.start_log_segment(&r, 1, -66)),
        "The log file /jn/test-journal/current/edits_inprogress_0000000000000000001 seems to contain valid transactions ; journal id: test-journal"
    );
    let r = w.req();
    j.finalize_log_segment(&r, 1, 2).unwrap();
    let r = w.req();
    let err = j.start_log_segment(&r, 1, -66).unwrap_err();
    assert_eq!(err.exception_class(), "IllegalStateException");
    assert_eq!(
        err.to_string(),
        "Already have a finalized segment /jn/test-journal/current/edits_0000000000000000001-0000000000000000002 beginning at 1 ; journal id: test-journal"
    );
}

#[test]
fn namespace_verification() {
    let (mut j, _) = formatted();
    let mut other = ns();
    other.namespace_id = 999;
    assert_eq!(
        err_text(j.new_epoch(&other, 1, "c")),
        "Incompatible namespaceID for journal Storage Directory root= /jn/test-journal; location= null: NameNode has nsId 999 but storage has nsId 12345"
    );
    let mut other = ns();
    other.cluster_id = "other".into();
    assert_eq!(
        err_text(j.new_epoch(&other, 1, "c")),
        "Incompatible clusterID for journal Storage Directory root= /jn/test-journal; location= null: NameNode has clusterId 'other' but storage has clusterId 'mycluster'"
    );
}

#[test]
fn a_torn_or_corrupt_tail_is_truncated_on_open() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 4, false);
    // Flip a bit in the last record.
    let file = EditFile::InProgress { start: 1 };
    let len = j.storage().read(&file, 0, usize::MAX).unwrap().len();
    disk.corrupt(&file, len - 1, &[0xEE]);
    let j = Journal::open(JID, disk.clone(), None).unwrap();
    assert_eq!(j.status().highest_written_txid, 3);
    let bytes = j.storage().read(&file, 0, usize::MAX).unwrap();
    let recs = decode_records(&bytes[HEADER_LEN..]).unwrap();
    assert_eq!(recs.len(), 3);
    // Garbage with no valid header is moved aside as corrupt.
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 2, true);
    let r = w.req();
    j.start_log_segment(&r, 3, -66).unwrap();
    disk.corrupt(&EditFile::InProgress { start: 3 }, 0, b"GARBAGE!");
    let j = Journal::open(JID, disk, None).unwrap();
    assert_eq!(j.status().highest_written_txid, 2);
    assert!(
        j.storage()
            .list_edit_files()
            .unwrap()
            .contains(&EditFile::Aside {
                start: 3,
                suffix: "corrupt".into()
            })
    );
}

#[test]
fn a_failed_append_is_not_acknowledged_and_stops_the_segment() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 2, false);
    disk.arm_append_failure();
    let r = w.req();
    let err = err_text(j.journal(&r, 1, 3, 1, &records(3, 1)));
    assert!(err.contains("Input/output error"), "{err}");
    assert_eq!(j.status().highest_written_txid, 2);
    let r = w.req();
    assert_eq!(
        err_text(j.journal(&r, 1, 3, 1, &records(3, 1))),
        "Can't write, no segment open ; journal id: test-journal"
    );
}

#[test]
fn manifest_lists_finalized_and_the_open_segment() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, true);
    w.write_segment(&mut j, 4, 3, true);
    w.write_segment(&mut j, 7, 2, false);
    let m = j.get_edit_log_manifest(1, false).unwrap();
    assert_eq!(m.logs.len(), 2);
    let m = j.get_edit_log_manifest(5, true).unwrap();
    let got: Vec<_> = m
        .logs
        .iter()
        .map(|l| (l.start_txid, l.end_txid, l.in_progress))
        .collect();
    assert_eq!(got, vec![(4, 6, false), (7, 8, true)]);
    assert!(j.get_edit_log_manifest(9, true).unwrap().logs.is_empty());
}

#[test]
fn journaled_edits_rules() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 5, false);
    let (count, bytes) = j.get_journaled_edits(2, 2).unwrap();
    assert_eq!(count, 2);
    assert_eq!(decode_records(&bytes).unwrap()[0].txid, 2);
    assert_eq!(j.get_journaled_edits(6, 10).unwrap().0, 0);
    let err = j.get_journaled_edits(8, 10).unwrap_err();
    assert_eq!(err.exception_class(), "NewerTxnIdException");
    assert_eq!(
        err.to_string(),
        "Highest txn ID available in the journal is 5, but requested txns starting at 8."
    );
    let mut no_cache = Journal::open(JID, MemStorage::new("/jn/nc"), None).unwrap();
    no_cache.format(&ns(), false).unwrap();
    assert_eq!(
        err_text(no_cache.get_journaled_edits(1, 1)),
        "The journal edits cache is not enabled, which is a requirement to fetch journaled edits via RPC. Please enable it via dfs.ha.tail-edits.in-progress"
    );
}

#[test]
fn purge_removes_only_what_is_wholly_older() {
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 1, true);
    w.write_segment(&mut j, 2, 1, true);
    w.write_segment(&mut j, 3, 3, true);
    let mut stale = disk.clone();
    stale
        .create(
            &EditFile::RecoveryTemp {
                start: 1,
                epoch: 140,
            },
            -66,
        )
        .unwrap();
    stale
        .create(
            &EditFile::Aside {
                start: 2,
                suffix: "empty".into(),
            },
            -66,
        )
        .unwrap();
    let paxos = PaxosData {
        segment: SegmentState {
            start_txid: 1,
            end_txid: 1,
            in_progress: true,
        },
        accepted_in_epoch: 1,
    };
    stale.write_paxos(1, &paxos).unwrap();
    stale.write_paxos(3, &paxos).unwrap();
    let r = w.req();
    j.purge_logs_older_than(&r, 3).unwrap();
    assert_eq!(
        j.storage().list_edit_files().unwrap(),
        vec![EditFile::Finalized { start: 3, end: 5 }]
    );
    assert_eq!(j.storage().list_paxos().unwrap(), vec![3]);
}

/// Copies a segment out of `source` into a sink, as a JournalNode serving a fetch would.
fn fetch_from(
    source: &mut Journal<MemStorage>,
    start: u64,
) -> impl FnMut(&mut dyn SegmentSink) -> Result<(), JournalError> + '_ {
    move |sink| {
        let (layout, bytes) = source
            .read_segment(start, 0, usize::MAX)?
            .expect("source has the segment");
        sink.begin(layout)?;
        sink.write(&bytes)
    }
}

#[test]
fn accept_recovery_downloads_a_longer_segment_and_persists_the_decision() {
    let (mut source, _) = formatted();
    let mut ws = Writer::new(&mut source, 1);
    ws.write_segment(&mut source, 1, 5, false);
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);

    let mut recoverer = Writer::new(&mut j, 2);
    source.new_epoch(&ns(), 2, "c").unwrap();
    let r = recoverer.req();
    let prep = j.prepare_recovery(&r, 1).unwrap();
    assert_eq!(prep.segment_state.unwrap().end_txid, 3);
    let target = SegmentState {
        start_txid: 1,
        end_txid: 5,
        in_progress: true,
    };
    let r = recoverer.req();
    j.accept_recovery(&r, target, &mut fetch_from(&mut source, 1))
        .unwrap();
    assert_eq!(j.status().highest_written_txid, 5);
    let r = recoverer.req();
    let prep = j.prepare_recovery(&r, 1).unwrap();
    assert_eq!(
        (prep.segment_state, prep.accepted_in_epoch),
        (Some(target), Some(2))
    );
    let r = recoverer.req();
    j.finalize_log_segment(&r, 1, 5).unwrap();
    assert_eq!(j.storage().read_paxos(1).unwrap(), None);
}

#[test]
fn accept_recovery_skips_the_download_when_lengths_match() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    let mut recoverer = Writer::new(&mut j, 2);
    let r = recoverer.req();
    let target = SegmentState {
        start_txid: 1,
        end_txid: 3,
        in_progress: true,
    };
    let mut never =
        |_: &mut dyn SegmentSink| -> Result<(), JournalError> { panic!("no download expected") };
    j.accept_recovery(&r, target, &mut never).unwrap();
    assert_eq!(
        j.storage()
            .read_paxos(1)
            .unwrap()
            .unwrap()
            .accepted_in_epoch,
        2
    );
}

#[test]
fn a_crash_after_the_decision_is_rolled_forward_by_the_next_prepare() {
    let (mut source, _) = formatted();
    let mut ws = Writer::new(&mut source, 1);
    ws.write_segment(&mut source, 1, 5, false);
    let (mut j, disk) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    let mut recoverer = Writer::new(&mut j, 2);
    let target = SegmentState {
        start_txid: 1,
        end_txid: 5,
        in_progress: true,
    };

    // Failing before the decision is persisted changes nothing visible.
    disk.arm_paxos_fault(PaxosFault::BeforePersist);
    let r = recoverer.req();
    assert!(
        j.accept_recovery(&r, target, &mut fetch_from(&mut source, 1))
            .is_err()
    );
    let r = recoverer.req();
    let prep = j.prepare_recovery(&r, 1).unwrap();
    assert_eq!(
        (prep.segment_state.unwrap().end_txid, prep.accepted_in_epoch),
        (3, None)
    );

    // Failing after it is persisted is rolled forward.
    disk.arm_paxos_fault(PaxosFault::AfterPersist);
    let r = recoverer.req();
    assert!(
        j.accept_recovery(&r, target, &mut fetch_from(&mut source, 1))
            .is_err()
    );
    disk.crash();
    let mut j = Journal::open(JID, disk.clone(), None).unwrap();
    let prep = j.prepare_recovery(&req(2, 100), 1).unwrap();
    assert_eq!(
        (prep.segment_state, prep.accepted_in_epoch),
        (Some(target), Some(2))
    );
    assert_eq!(
        j.storage()
            .clone()
            .scan(&EditFile::InProgress { start: 1 }, false)
            .unwrap()
            .last_txid,
        Some(5)
    );
}

#[test]
fn recovery_refuses_to_discard_committed_edits_or_rewrite_finalized_segments() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    let r = w.req();
    j.start_log_segment(&r, 1, -66).unwrap();
    let mut r = w.req();
    r.committed_txid = Some(4);
    j.journal(&r, 1, 1, 5, &records(1, 5)).unwrap();
    let mut recoverer = Writer::new(&mut j, 2);
    let shorter = SegmentState {
        start_txid: 1,
        end_txid: 3,
        in_progress: true,
    };
    let r = recoverer.req();
    let mut never =
        |_: &mut dyn SegmentSink| -> Result<(), JournalError> { panic!("no download expected") };
    let err = j.accept_recovery(&r, shorter, &mut never).unwrap_err();
    assert_eq!(err.exception_class(), "AssertionError");
    assert!(err.to_string().starts_with("Cannot replace segment startTxId: 1 endTxId: 5 isInProgress: true with new segment startTxId: 1 endTxId: 3 isInProgress: true: would discard already-committed txn 4"), "{err}");

    let r = recoverer.req();
    j.finalize_log_segment(&r, 1, 5).unwrap();
    let longer = SegmentState {
        start_txid: 1,
        end_txid: 7,
        in_progress: true,
    };
    let r = recoverer.req();
    let err = err_text(j.accept_recovery(&r, longer, &mut never));
    assert!(err.starts_with("Should never be asked to synchronize a different log on top of an already-finalized segment"), "{err}");

    let bad = SegmentState {
        start_txid: 5,
        end_txid: 4,
        in_progress: true,
    };
    let r = recoverer.req();
    assert!(
        err_text(j.accept_recovery(&r, bad, &mut never))
            .starts_with("bad recovery state for segment 5")
    );
}

#[test]
fn a_download_that_does_not_match_the_accepted_range_is_refused() {
    let (mut source, _) = formatted();
    let mut ws = Writer::new(&mut source, 1);
    ws.write_segment(&mut source, 1, 4, false);
    let (mut j, _) = formatted();
    let mut recoverer = Writer::new(&mut j, 2);
    let target = SegmentState {
        start_txid: 1,
        end_txid: 5,
        in_progress: true,
    };
    let r = recoverer.req();
    let err = err_text(j.accept_recovery(&r, target, &mut fetch_from(&mut source, 1)));
    assert!(err.contains("not the accepted range"), "{err}");
    assert!(j.storage().list_edit_files().unwrap().is_empty());
    assert_eq!(j.storage().read_paxos(1).unwrap(), None);
}

#[test]
fn out_of_order_paxos_epochs_are_an_assertion() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, false);
    let mut w5 = Writer::new(&mut j, 5);
    let target = SegmentState {
        start_txid: 1,
        end_txid: 3,
        in_progress: true,
    };
    let mut never =
        |_: &mut dyn SegmentSink| -> Result<(), JournalError> { panic!("no download expected") };
    let r = w5.req();
    j.accept_recovery(&r, target, &mut never).unwrap();
    // Simulate a decision from a higher epoch already on disk.
    let mut disk = j.storage().clone();
    disk.write_paxos(
        1,
        &PaxosData {
            segment: target,
            accepted_in_epoch: 9,
        },
    )
    .unwrap();
    let r = w5.req();
    let err = err_text(j.accept_recovery(&r, target, &mut never));
    assert!(
        err.starts_with("Bad paxos transition, out-of-order epochs."),
        "{err}"
    );
}

#[test]
fn discard_segments_moves_later_segments_to_trash() {
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 3, true);
    w.write_segment(&mut j, 4, 3, true);
    assert!(err_text(j.discard_segments(2)).starts_with("Cannot discard segments from txid 2"));
    j.discard_segments(4).unwrap();
    assert_eq!(j.status().committed_txid, Some(3));
    assert_eq!(j.status().highest_written_txid, 3);
    assert_eq!(
        j.storage().list_edit_files().unwrap(),
        vec![
            EditFile::Finalized { start: 1, end: 3 },
            EditFile::Aside {
                start: 4,
                suffix: "trash".into()
            }
        ]
    );
}

/// A heartbeat that tells the journal the writer's committed txid.
fn commit(j: &mut Journal<MemStorage>, w: &mut Writer, committed: u64) {
    let mut r = w.req();
    r.committed_txid = Some(committed);
    j.heartbeat(&r).unwrap();
}

fn finalized(start: u64, end: u64) -> RemoteEditLog {
    RemoteEditLog {
        start_txid: start,
        end_txid: end,
        in_progress: false,
    }
}

#[test]
fn sync_fills_a_committed_gap_with_an_exact_copy_and_nothing_else() {
    // The source holds 1-5, 6-10 and 11-15; this journal missed 6-10 (it was down).
    let (mut source, _) = formatted();
    let mut ws = Writer::new(&mut source, 1);
    for start in [1, 6, 11] {
        ws.write_segment(&mut source, start, 5, true);
    }
    // It went down during 6-10 (two of its txids written here), and came back at 11.
    let (mut j, _) = formatted();
    let mut w = Writer::new(&mut j, 1);
    w.write_segment(&mut j, 1, 5, true);
    w.write_segment(&mut j, 6, 2, false);
    w.write_segment(&mut j, 11, 5, true);

    // Not before the txids are known committed here.
    let gap = finalized(6, 10);
    assert!(
        !j.install_synced_segment(&gap, &mut fetch_from(&mut source, 6))
            .unwrap()
    );
    commit(&mut j, &mut w, 9);
    assert!(
        !j.install_synced_segment(&gap, &mut fetch_from(&mut source, 6))
            .unwrap()
    );
    commit(&mut j, &mut w, 15);

    // A copy that is not the segment it claims to be is refused and leaves nothing behind.
    let claimed = finalized(6, 9);
    let err = err_text(j.install_synced_segment(&claimed, &mut fetch_from(&mut source, 6)));
    assert!(err.contains("not the accepted range"), "{err}");
    let names = |j: &Journal<MemStorage>| -> Vec<String> {
        let files = j.storage().list_edit_files().unwrap();
        files.iter().map(EditFile::file_name).collect()
    };
    assert_eq!(names(&j).len(), 3, "{:?}", names(&j));

    assert!(
        j.install_synced_segment(&gap, &mut fetch_from(&mut source, 6))
            .unwrap()
    );
    assert_eq!(j.status().metrics.num_edit_logs_synced, 1);
    let manifest = j.get_edit_log_manifest(0, false).unwrap();
    let starts: Vec<(u64, u64)> = manifest
        .logs
        .iter()
        .map(|l| (l.start_txid, l.end_txid))
        .collect();
    assert_eq!(starts, [(1, 5), (6, 10), (11, 15)]);
    assert_eq!(
        j.read_segment(6, 0, usize::MAX).unwrap(),
        source.read_segment(6, 0, usize::MAX).unwrap()
    );
    assert!(
        names(&j).iter().all(|n| !n.ends_with(".sync")),
        "{:?}",
        names(&j)
    );

    // What overlaps a segment here, finalized or open, is never taken.
    assert!(
        !j.install_synced_segment(&gap, &mut fetch_from(&mut source, 6))
            .unwrap()
    );
    let r = w.req();
    j.start_log_segment(&r, 16, -66).unwrap();
    let r = w.req();
    j.journal(&r, 16, 16, 2, &records(16, 2)).unwrap();
    ws.write_segment(&mut source, 16, 5, true);
    commit(&mut j, &mut w, 20);
    let open = finalized(16, 20);
    assert!(
        !j.install_synced_segment(&open, &mut fetch_from(&mut source, 16))
            .unwrap()
    );
}

#[test]
fn sync_leaves_an_unformatted_journal_alone() {
    let mut j = Journal::open(JID, MemStorage::new("/jn/x"), None).unwrap();
    let (mut source, _) = formatted();
    let err = err_text(j.install_synced_segment(&finalized(1, 5), &mut fetch_from(&mut source, 1)));
    assert!(err.contains("not formatted"), "{err}");
}
