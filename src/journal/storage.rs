//! `JournalStorage`: what a journal keeps on disk, as operations a journal's rules are written
//! against — the VERSION record, three persisted numbers, the paxos decisions of recovery, and
//! edit files by name. Two implementations: [`super::FileStorage`] (the real on-disk layout) and
//! [`super::MemStorage`] (in memory, surviving simulated crashes, for fault-injection tests).
//!
//! Durability contract: `format`, `write_long` (except `CommittedTxid`, which is best effort, as
//! in Hadoop), `write_paxos`, `create`, `rename`, `delete` and `append(.., sync = true)` return
//! only once what they changed survives a crash; so does [`DetachedEditFile::finish`].

use std::fmt;

pub use crate::storage_dir::{StorageError, StorageResult};

/// The identity a journal is formatted with (its `VERSION` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageInfo {
    pub layout_version: i32,
    pub namespace_id: u32,
    pub cluster_id: String,
    pub ctime: u64,
}

/// The three numbers a journal persists in `current/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PersistedLong {
    /// `last-promised-epoch`: the highest epoch promised to any writer.
    LastPromisedEpoch,
    /// `last-writer-epoch`: the epoch of the last writer that started a segment.
    LastWriterEpoch,
    /// `committed-txid`: a lower bound of the cluster's commit index (best effort).
    CommittedTxid,
}

impl PersistedLong {
    pub fn file_name(self) -> &'static str {
        match self {
            PersistedLong::LastPromisedEpoch => "last-promised-epoch",
            PersistedLong::LastWriterEpoch => "last-writer-epoch",
            PersistedLong::CommittedTxid => "committed-txid",
        }
    }
}

/// The state of one segment as recovery sees it (`SegmentStateProto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentState {
    pub start_txid: u64,
    pub end_txid: u64,
    pub in_progress: bool,
}

impl fmt::Display for SegmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "startTxId: {} endTxId: {} isInProgress: {}",
            self.start_txid, self.end_txid, self.in_progress
        )
    }
}

/// An accepted recovery decision (`PersistedRecoveryPaxosData`, in `current/paxos/<start>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaxosData {
    pub segment: SegmentState,
    pub accepted_in_epoch: u64,
}

impl fmt::Display for PaxosData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "segmentState {{ {} }} acceptedInEpoch: {}",
            self.segment, self.accepted_in_epoch
        )
    }
}

/// An edit file, by what its name says (Hadoop's names, 19-digit zero-padded txids). Files
/// order by their first txid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EditFile {
    /// `edits_inprogress_<start>`: open, or left open by a writer that went away.
    InProgress { start: u64 },
    /// `edits_<start>-<end>`.
    Finalized { start: u64, end: u64 },
    /// `edits_inprogress_<start>.epoch=<epoch>`: a segment being downloaded by recovery.
    RecoveryTemp { start: u64, epoch: u64 },
    /// `edits_inprogress_<start>.<suffix>`: moved aside (`empty`, `corrupt`, `stale`, `trash`).
    Aside { start: u64, suffix: String },
}

impl EditFile {
    pub fn start(&self) -> u64 {
        match self {
            EditFile::InProgress { start }
            | EditFile::Finalized { start, .. }
            | EditFile::RecoveryTemp { start, .. }
            | EditFile::Aside { start, .. } => *start,
        }
    }

    /// Whether this is a segment of the log (in progress or finalized).
    pub fn is_segment(&self) -> bool {
        matches!(
            self,
            EditFile::InProgress { .. } | EditFile::Finalized { .. }
        )
    }

    pub fn file_name(&self) -> String {
        match self {
            EditFile::InProgress { start } => format!("edits_inprogress_{start:019}"),
            EditFile::Finalized { start, end } => format!("edits_{start:019}-{end:019}"),
            EditFile::RecoveryTemp { start, epoch } => {
                format!("edits_inprogress_{start:019}.epoch={epoch}")
            }
            EditFile::Aside { start, suffix } => format!("edits_inprogress_{start:019}.{suffix}"),
        }
    }

    /// Parses a file name; `None` for anything that is not an edit file.
    pub fn parse(name: &str) -> Option<EditFile> {
        let txid = |s: &str| -> Option<u64> {
            (s.len() == 19 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        if let Some(rest) = name.strip_prefix("edits_inprogress_") {
            let (digits, suffix) = match rest.split_once('.') {
                Some((d, s)) => (d, Some(s)),
                None => (rest, None),
            };
            let start = txid(digits)?;
            return Some(match suffix {
                None => EditFile::InProgress { start },
                Some(s) => match s.strip_prefix("epoch=").and_then(|e| e.parse().ok()) {
                    Some(epoch) => EditFile::RecoveryTemp { start, epoch },
                    None if !s.is_empty() => EditFile::Aside {
                        start,
                        suffix: s.to_string(),
                    },
                    None => return None,
                },
            });
        }
        let rest = name.strip_prefix("edits_")?;
        let (start, end) = rest.split_once('-')?;
        Some(EditFile::Finalized {
            start: txid(start)?,
            end: txid(end)?,
        })
    }
}

impl EditFile {
    /// Sort key: first txid, then segments before the files beside them.
    fn sort_key(&self) -> (u64, u8, u64, &str) {
        match self {
            EditFile::Finalized { start, end } => (*start, 0, *end, ""),
            EditFile::InProgress { start } => (*start, 1, 0, ""),
            EditFile::RecoveryTemp { start, epoch } => (*start, 2, *epoch, ""),
            EditFile::Aside { start, suffix } => (*start, 3, 0, suffix.as_str()),
        }
    }
}

impl Ord for EditFile {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for EditFile {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for EditFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

/// What scanning an edit file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditFileScan {
    /// The header's layout version; `None` when the header is missing or not ours.
    pub layout_version: Option<i32>,
    pub first_txid: Option<u64>,
    pub last_txid: Option<u64>,
    pub num_txns: u64,
    /// Bytes of the valid prefix, header included.
    pub valid_len: u64,
    /// Bytes of torn or corrupt tail found after the valid prefix (truncated when the scan
    /// was asked to repair).
    pub tail_len: u64,
    /// Why the tail is bad, when there is one.
    pub tail_problem: Option<String>,
    /// Whether the tail is only OP_INVALID preallocation (as Hadoop leaves an in-progress
    /// segment): nothing was lost.
    pub tail_is_padding: bool,
}

impl EditFileScan {
    /// Whether the file has no valid header (a write that died before the header was on disk,
    /// or a file that is not an edit file at all).
    pub fn has_bad_header(&self) -> bool {
        self.layout_version.is_none()
    }
}

/// One edit file written through a handle of its own, apart from the storage that gave it out
/// and from the file that storage holds open: JournalNode sync downloads a segment into one
/// without holding the journal's lock. Nothing else touches the file until it is renamed into
/// place or deleted through the storage (a format or a purge meanwhile makes the writes fail or
/// land nowhere, never in another file).
pub trait DetachedEditFile: Send {
    /// Creates (or truncates) the file, holding only a segment header.
    fn create(&mut self, layout_version: i32) -> StorageResult<()>;
    /// Appends record bytes, not yet durable.
    fn append(&mut self, bytes: &[u8]) -> StorageResult<()>;
    /// Scans the file as [`JournalStorage::scan`] with repair does (a torn or padded tail is
    /// cut off) and makes it durable, its directory entry included.
    fn finish(&mut self) -> StorageResult<EditFileScan>;
}

/// The storage of one journal (`<edits dir>/<jid>/`).
pub trait JournalStorage: Send {
    /// The journal's directory, for messages.
    fn dir(&self) -> String;

    /// The VERSION record, or `None` when the journal is not formatted.
    fn read_storage_info(&self) -> StorageResult<Option<StorageInfo>>;
    /// Whether `current/` holds anything at all.
    fn has_data(&self) -> StorageResult<bool>;
    /// Clears `current/`, then writes VERSION and creates `paxos/`.
    fn format(&mut self, info: &StorageInfo) -> StorageResult<()>;

    fn read_long(&self, which: PersistedLong) -> StorageResult<Option<u64>>;
    fn write_long(&mut self, which: PersistedLong, value: u64) -> StorageResult<()>;

    fn read_paxos(&self, segment_start: u64) -> StorageResult<Option<PaxosData>>;
    fn write_paxos(&mut self, segment_start: u64, data: &PaxosData) -> StorageResult<()>;
    fn delete_paxos(&mut self, segment_start: u64) -> StorageResult<()>;
    /// Segment starts that have a paxos decision.
    fn list_paxos(&self) -> StorageResult<Vec<u64>>;

    /// Every edit file in `current/`, sorted.
    fn list_edit_files(&self) -> StorageResult<Vec<EditFile>>;
    /// Creates (or truncates) `file` holding only a segment header.
    fn create(&mut self, file: &EditFile, layout_version: i32) -> StorageResult<()>;
    /// Appends record bytes; with `sync` they are durable when this returns.
    fn append(&mut self, file: &EditFile, bytes: &[u8], sync: bool) -> StorageResult<()>;
    /// Scans `file`; with `repair`, a torn tail is truncated (and the truncation made durable).
    fn scan(&mut self, file: &EditFile, repair: bool) -> StorageResult<EditFileScan>;
    /// Raw bytes of `file` (header included) from `offset`, at most `max_len`.
    fn read(&self, file: &EditFile, offset: u64, max_len: usize) -> StorageResult<Vec<u8>>;
    /// The length of `file` in bytes, header included.
    fn len(&self, file: &EditFile) -> StorageResult<u64>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&mut self, from: &EditFile, to: &EditFile) -> StorageResult<()>;
    fn delete(&mut self, file: &EditFile) -> StorageResult<()>;
    /// A handle that writes `file` apart from this storage (see [`DetachedEditFile`]); nothing
    /// is created before its `create`.
    fn detached(&self, file: &EditFile) -> Box<dyn DetachedEditFile>;
}

/// Scans the bytes of an edit file (header and records); the first record must carry
/// `expected_first` when given. Shared by every storage so that all judge files alike.
pub fn scan_edit_bytes(bytes: &[u8], expected_first: Option<u64>) -> EditFileScan {
    use super::edits::{HEADER_LEN, TailProblem, parse_segment_header, scan_records};
    let layout_version = match parse_segment_header(bytes) {
        Ok(version) => version,
        Err(reason) => {
            return EditFileScan {
                layout_version: None,
                first_txid: None,
                last_txid: None,
                num_txns: 0,
                valid_len: 0,
                tail_len: bytes.len() as u64,
                tail_problem: (!bytes.is_empty()).then(|| reason.to_string()),
                tail_is_padding: false,
            };
        }
    };
    let records = scan_records(&bytes[HEADER_LEN..], expected_first);
    let valid_len = (HEADER_LEN + records.valid_len) as u64;
    let tail_is_padding = matches!(records.problem, Some(TailProblem::Padding { .. }));
    EditFileScan {
        layout_version: Some(layout_version),
        first_txid: records.first_txid,
        last_txid: records.last_txid,
        num_txns: records.num_records,
        valid_len,
        tail_len: bytes.len() as u64 - valid_len,
        tail_problem: records.problem.map(|p| p.to_string()),
        tail_is_padding,
    }
}

/// The expected first txid of a file's records.
pub fn expected_first_txid(file: &EditFile) -> Option<u64> {
    Some(file.start())
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Checks every `JournalStorage` implementation must pass, run against each of them.

    use super::*;
    use crate::journal::edits::{HEADER_LEN, encode_batch};

    pub fn info() -> StorageInfo {
        StorageInfo {
            layout_version: -66,
            namespace_id: 12345,
            cluster_id: "CID-test".into(),
            ctime: 0,
        }
    }

    fn records(first: u64, n: usize) -> Vec<u8> {
        let payloads: Vec<Vec<u8>> = (0..n).map(|i| format!("op{i}").into_bytes()).collect();
        encode_batch(first, payloads.iter().map(Vec::as_slice))
    }

    /// Runs every check on storages made by `make` (each call a fresh, empty storage).
    pub fn run_all<S: JournalStorage>(mut make: impl FnMut() -> S) {
        formatting(&mut make());
        persisted_longs_and_paxos(&mut make());
        segments_lifecycle(&mut make());
        repair_truncates_a_torn_tail(&mut make());
        detached_files_are_written_apart_from_the_open_one(&mut make());
        names_round_trip();
    }

    fn formatting<S: JournalStorage>(s: &mut S) {
        assert_eq!(s.read_storage_info().unwrap(), None);
        assert!(!s.has_data().unwrap());
        s.format(&info()).unwrap();
        assert_eq!(s.read_storage_info().unwrap(), Some(info()));
        assert!(s.has_data().unwrap());
        let file = EditFile::InProgress { start: 1 };
        s.create(&file, -66).unwrap();
        s.write_long(PersistedLong::LastPromisedEpoch, 3).unwrap();
        // Formatting again clears everything.
        let mut other = info();
        other.namespace_id = 999;
        s.format(&other).unwrap();
        assert_eq!(s.read_storage_info().unwrap(), Some(other));
        assert!(s.list_edit_files().unwrap().is_empty());
        assert_eq!(s.read_long(PersistedLong::LastPromisedEpoch).unwrap(), None);
    }

    fn persisted_longs_and_paxos<S: JournalStorage>(s: &mut S) {
        s.format(&info()).unwrap();
        for which in [
            PersistedLong::LastPromisedEpoch,
            PersistedLong::LastWriterEpoch,
            PersistedLong::CommittedTxid,
        ] {
            assert_eq!(s.read_long(which).unwrap(), None);
            s.write_long(which, 7).unwrap();
            s.write_long(which, 8).unwrap();
            assert_eq!(s.read_long(which).unwrap(), Some(8));
        }
        let data = PaxosData {
            segment: SegmentState {
                start_txid: 4,
                end_txid: 9,
                in_progress: true,
            },
            accepted_in_epoch: 3,
        };
        assert_eq!(s.read_paxos(4).unwrap(), None);
        s.write_paxos(4, &data).unwrap();
        s.write_paxos(10, &data).unwrap();
        assert_eq!(s.read_paxos(4).unwrap(), Some(data));
        assert_eq!(s.list_paxos().unwrap(), vec![4, 10]);
        s.delete_paxos(4).unwrap();
        s.delete_paxos(4).unwrap();
        assert_eq!(s.read_paxos(4).unwrap(), None);
    }

    fn segments_lifecycle<S: JournalStorage>(s: &mut S) {
        s.format(&info()).unwrap();
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!(
            (scan.layout_version, scan.num_txns, scan.valid_len),
            (Some(-66), 0, HEADER_LEN as u64)
        );
        s.append(&open, &records(1, 3), true).unwrap();
        s.append(&open, &records(4, 2), false).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!(
            (scan.first_txid, scan.last_txid, scan.num_txns),
            (Some(1), Some(5), 5)
        );
        assert_eq!(scan.tail_len, 0);
        let bytes = s.read(&open, 0, usize::MAX).unwrap();
        assert_eq!(bytes.len() as u64, scan.valid_len);
        assert_eq!(s.len(&open).unwrap(), scan.valid_len);
        assert_eq!(s.read(&open, 4, 4).unwrap(), bytes[4..8].to_vec());
        assert!(
            s.read(&open, bytes.len() as u64 + 10, 4)
                .unwrap()
                .is_empty()
        );

        let done = EditFile::Finalized { start: 1, end: 5 };
        s.rename(&open, &done).unwrap();
        let temp = EditFile::RecoveryTemp { start: 6, epoch: 2 };
        s.create(&temp, -66).unwrap();
        s.append(&temp, &records(6, 1), true).unwrap();
        let aside = EditFile::Aside {
            start: 9,
            suffix: "empty".into(),
        };
        s.create(&aside, -66).unwrap();
        assert_eq!(
            s.list_edit_files().unwrap(),
            vec![done.clone(), temp.clone(), aside.clone()]
        );
        // A rename replaces its target.
        let next = EditFile::InProgress { start: 6 };
        s.create(&next, -66).unwrap();
        s.rename(&temp, &next).unwrap();
        assert_eq!(s.scan(&next, false).unwrap().last_txid, Some(6));
        s.delete(&aside).unwrap();
        assert_eq!(s.list_edit_files().unwrap(), vec![done, next]);
        assert!(s.scan(&EditFile::InProgress { start: 77 }, false).is_err());
        assert!(s.len(&EditFile::InProgress { start: 77 }).is_err());
    }

    fn repair_truncates_a_torn_tail<S: JournalStorage>(s: &mut S) {
        s.format(&info()).unwrap();
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        let mut bytes = records(1, 3);
        let whole = bytes.len();
        bytes.extend_from_slice(&records(4, 1)[..10]);
        s.append(&open, &bytes, true).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!((scan.last_txid, scan.tail_len), (Some(3), 10));
        assert!(scan.tail_problem.is_some());
        let repaired = s.scan(&open, true).unwrap();
        assert_eq!(repaired.last_txid, Some(3));
        let after = s.scan(&open, false).unwrap();
        assert_eq!(
            (after.tail_len, after.valid_len),
            (0, (HEADER_LEN + whole) as u64)
        );
        // Appending after a repair continues the valid log.
        s.append(&open, &records(4, 1), true).unwrap();
        assert_eq!(s.scan(&open, false).unwrap().last_txid, Some(4));
    }

    fn detached_files_are_written_apart_from_the_open_one<S: JournalStorage>(s: &mut S) {
        s.format(&info()).unwrap();
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        s.append(&open, &records(1, 2), true).unwrap();
        let temp = EditFile::Aside {
            start: 1,
            suffix: "sync".into(),
        };
        let mut detached = s.detached(&temp);
        assert_eq!(s.list_edit_files().unwrap(), vec![open.clone()]);
        detached.create(-66).unwrap();
        detached.append(&records(1, 2)).unwrap();
        // The storage's own writes go on meanwhile, into their own file.
        s.append(&open, &records(3, 1), true).unwrap();
        let mut bytes = records(3, 2);
        let whole = records(3, 1).len();
        bytes.truncate(whole + 10);
        detached.append(&bytes).unwrap();
        let scan = detached.finish().unwrap();
        assert_eq!(
            (scan.first_txid, scan.last_txid, scan.tail_len),
            (Some(1), Some(3), 10)
        );
        assert_eq!(s.scan(&open, false).unwrap().last_txid, Some(3));
        let on_disk = s.scan(&temp, false).unwrap();
        assert_eq!((on_disk.last_txid, on_disk.tail_len), (Some(3), 0));
        assert_eq!(
            s.list_edit_files().unwrap(),
            vec![open.clone(), temp.clone()]
        );
        let done = EditFile::Finalized { start: 1, end: 3 };
        s.rename(&temp, &done).unwrap();
        assert_eq!(
            s.read(&done, 0, usize::MAX).unwrap(),
            s.read(&open, 0, usize::MAX).unwrap()
        );
        // A second download into the same name starts afresh.
        let mut again = s.detached(&temp);
        again.create(-66).unwrap();
        assert_eq!(again.finish().unwrap().num_txns, 0);
        s.delete(&temp).unwrap();
        assert_eq!(s.list_edit_files().unwrap(), vec![done, open]);
    }

    fn names_round_trip() {
        for file in [
            EditFile::InProgress { start: 101 },
            EditFile::Finalized { start: 1, end: 100 },
            EditFile::RecoveryTemp {
                start: 5,
                epoch: 140,
            },
            EditFile::Aside {
                start: 2,
                suffix: "empty".into(),
            },
        ] {
            assert_eq!(
                EditFile::parse(&file.file_name()),
                Some(file.clone()),
                "{file}"
            );
        }
        assert_eq!(
            EditFile::InProgress { start: 101 }.file_name(),
            "edits_inprogress_0000000000000000101"
        );
        assert_eq!(
            EditFile::Finalized { start: 1, end: 100 }.file_name(),
            "edits_0000000000000000001-0000000000000000100"
        );
        for junk in [
            "VERSION",
            "edits_1-2",
            "edits_inprogress_12",
            "edits_inprogress_0000000000000000001.",
            "paxos",
        ] {
            assert_eq!(EditFile::parse(junk), None, "{junk}");
        }
    }
}
