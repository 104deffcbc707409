//! The active NameNode's local copy of its edits (`dfs.namenode.edits.dir`, by default the name
//! directories): every batch a majority of JournalNodes acknowledged, appended in txid order to
//! `current/edits_inprogress_<start>` and renamed `edits_<start>-<end>` when the segment ends,
//! in Hadoop's names and our edit-record format.
//!
//! As in Hadoop, local edits directories are not required journals: the shared edits decide
//! what is acknowledged, and a local directory that fails (full disk, I/O error) is disabled
//! with a warning rather than stopping the NameNode. The copy is written off the
//! acknowledgement path, by a thread of its own, and synced after every batch.
//!
//! `-initializeSharedEdits` reads the copy back: [`recover_segments`] finalizes what a dead
//! writer left open, [`edits_from`] picks the segments after the latest fsimage, and
//! [`read_segment`] checks every record on the way.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::journal::EditFile;
use crate::journal::edits::{EditRecord, HEADER_LEN, TailProblem, decode_records, segment_header};
use crate::journal::storage::scan_edit_bytes;
use crate::qjm::{AckedBatch, Mirror};
use crate::storage_dir::{StorageError, sync_dir};

/// Why the local edits cannot be read back (`-initializeSharedEdits`); each names the file or
/// directory at fault.
#[derive(Debug, thiserror::Error)]
pub enum LocalEditsError {
    #[error("Cannot list {}: {source}", .dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("Cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An in-progress segment without a valid edit could not be set aside.
    #[error("Cannot move {} aside: {source}", .path.display())]
    MoveAside {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Finalizing an in-progress segment failed at `op` (open, truncate, sync, finalize).
    #[error("Cannot {op} {}: {source}", .path.display())]
    Finalize {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Cannot sync {}: {source}", .dir.display())]
    SyncDir { dir: PathBuf, source: StorageError },
    /// The segments leave out edits that are needed (Hadoop's gap message).
    #[error(
        "There appears to be a gap in the edit log.  We expected txid {expected}, but got txid {got}."
    )]
    Gap { expected: u64, got: u64 },
    /// A finalized segment whose header or records do not scan (the scan's words).
    #[error("{} is corrupt: {problem}", .path.display())]
    Corrupt { path: PathBuf, problem: String },
    #[error("{} is corrupt: {problem}", .path.display())]
    CorruptRecord { path: PathBuf, problem: TailProblem },
    /// A finalized segment that holds fewer edits than its name says.
    #[error("{} ends at txid {last}, not {end} as its name says", .path.display())]
    WrongEnd { path: PathBuf, last: u64, end: u64 },
}

/// What the writer thread is asked to do.
enum Command {
    Batch(AckedBatch),
    /// The segment starting at `start` ended at `end`.
    Finalize {
        start: u64,
        end: u64,
    },
    /// Delete finalized segments that end before `min_txid`.
    Purge {
        min_txid: u64,
    },
}

/// The handle of the local edits writer: batches, finalizations and purges travel in one
/// ordered queue, so a segment is never renamed before its last batch is written.
pub struct LocalEdits {
    commands: mpsc::Sender<Command>,
}

/// One edits directory's open segment.
struct Open {
    start: u64,
    file: File,
}

struct Dir {
    current: PathBuf,
    open: Option<Open>,
    /// Set after a failure: this directory is written no more.
    disabled: bool,
}

impl LocalEdits {
    /// Starts the writer for `dirs` (each gets `current/`); nothing is written until batches
    /// arrive.
    pub fn start(dirs: &[PathBuf], layout_version: i32) -> LocalEdits {
        let (commands, command_rx) = mpsc::channel::<Command>();
        let mut state: Vec<Dir> = dirs
            .iter()
            .map(|d| Dir {
                current: d.join("current"),
                open: None,
                disabled: false,
            })
            .collect();
        std::thread::Builder::new()
            .name("local-edits".into())
            .spawn(move || {
                for command in command_rx {
                    for dir in state.iter_mut().filter(|d| !d.disabled) {
                        if let Err(err) = dir.handle(&command, layout_version) {
                            tracing::warn!(
                                "Disabling the local edits directory {} after an error: {err}",
                                dir.current.display()
                            );
                            dir.disabled = true;
                            dir.open = None;
                        }
                    }
                }
            })
            .ok();
        LocalEdits { commands }
    }

    /// What the edit-log writer hands acknowledged batches to.
    pub fn mirror(&self) -> Mirror {
        let commands = self.commands.clone();
        Box::new(move |batch| {
            let _ = commands.send(Command::Batch(batch));
        })
    }

    pub fn finalize(&self, start: u64, end: u64) {
        let _ = self.commands.send(Command::Finalize { start, end });
    }

    pub fn purge(&self, min_txid: u64) {
        let _ = self.commands.send(Command::Purge { min_txid });
    }
}

impl Dir {
    fn path(&self, file: &EditFile) -> PathBuf {
        self.current.join(file.file_name())
    }

    fn handle(&mut self, command: &Command, layout_version: i32) -> std::io::Result<()> {
        match command {
            Command::Batch(batch) => {
                if self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.start != batch.segment_start)
                {
                    // A segment that was not finalized explicitly stays in progress, as a
                    // writer that died would leave it.
                    self.open = None;
                }
                if self.open.is_none() {
                    self.open = Some(self.create(batch.segment_start, layout_version)?);
                }
                let open = self.open.as_mut().expect("opened above");
                open.file.write_all(&batch.records)?;
                open.file.sync_data()
            }
            Command::Finalize { start, end } => {
                if self.open.as_ref().is_some_and(|o| o.start == *start) {
                    self.open = None;
                }
                let from = self.path(&EditFile::InProgress { start: *start });
                if from.exists() {
                    std::fs::rename(
                        &from,
                        self.path(&EditFile::Finalized {
                            start: *start,
                            end: *end,
                        }),
                    )?;
                    sync_dir(&self.current).map_err(std::io::Error::other)?;
                }
                Ok(())
            }
            Command::Purge { min_txid } => {
                for entry in std::fs::read_dir(&self.current)? {
                    let name = entry?.file_name().to_string_lossy().into_owned();
                    if let Some(EditFile::Finalized { end, .. }) = EditFile::parse(&name)
                        && end < *min_txid
                    {
                        std::fs::remove_file(self.current.join(&name))?;
                    }
                }
                Ok(())
            }
        }
    }

    fn create(&self, start: u64, layout_version: i32) -> std::io::Result<Open> {
        std::fs::create_dir_all(&self.current)?;
        let path = self.path(&EditFile::InProgress { start });
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        file.write_all(&segment_header(layout_version))?;
        file.sync_all()?;
        sync_dir(&self.current).map_err(std::io::Error::other)?;
        Ok(Open { start, file })
    }
}

/// The local edits directories of a NameNode: `dfs.namenode.edits.dir` minus shared (non-file)
/// URIs.
pub fn edits_dirs(values: &[String]) -> Vec<PathBuf> {
    values
        .iter()
        .filter(|v| !v.contains("://") || v.starts_with("file://"))
        .map(|v| Path::new(v.strip_prefix("file://").unwrap_or(v)).to_path_buf())
        .collect()
}

/// A finalized local segment, `edits_<start>-<end>`, after [`recover_segments`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSegment {
    pub start: u64,
    pub end: u64,
    pub path: PathBuf,
}

/// Hadoop's `recoverUnclosedStreams` over the local edits directories: every in-progress
/// segment is finalized at its last valid record (a torn or corrupt tail is cut off, a segment
/// without records is removed). Returns the finalized segments in txid order, one per start —
/// the longest copy where several directories hold one. A directory without `current/` is
/// skipped; one that cannot be read is an error naming it.
pub fn recover_segments(dirs: &[PathBuf]) -> Result<Vec<LocalSegment>, LocalEditsError> {
    let mut best: std::collections::BTreeMap<u64, LocalSegment> = Default::default();
    for dir in dirs {
        let current = dir.join("current");
        if !current.is_dir() {
            continue;
        }
        let names = std::fs::read_dir(&current)
            .and_then(|entries| {
                entries
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<std::io::Result<Vec<String>>>()
            })
            .map_err(|source| LocalEditsError::List {
                dir: current.clone(),
                source,
            })?;
        for name in names {
            let segment = match EditFile::parse(&name) {
                Some(EditFile::Finalized { start, end }) => Some(LocalSegment {
                    start,
                    end,
                    path: current.join(&name),
                }),
                Some(EditFile::InProgress { start }) => finalize_in_progress(&current, start)?,
                _ => None,
            };
            if let Some(segment) = segment
                && best.get(&segment.start).is_none_or(|b| b.end < segment.end)
            {
                best.insert(segment.start, segment);
            }
        }
    }
    Ok(best.into_values().collect())
}

/// Finalizes `current/edits_inprogress_<start>` at its last valid record.
fn finalize_in_progress(
    current: &Path,
    start: u64,
) -> Result<Option<LocalSegment>, LocalEditsError> {
    let path = current.join(EditFile::InProgress { start }.file_name());
    let bytes = std::fs::read(&path).map_err(|source| LocalEditsError::Read {
        path: path.clone(),
        source,
    })?;
    let scan = scan_edit_bytes(&bytes, Some(start));
    let Some(end) = scan.last_txid else {
        // Nothing to finalize; set aside rather than deleted, as Hadoop does.
        let aside = current.join(
            EditFile::Aside {
                start,
                suffix: "empty".into(),
            }
            .file_name(),
        );
        tracing::warn!(
            "Moving {} aside as {}: it holds no valid edit",
            path.display(),
            aside.display()
        );
        std::fs::rename(&path, &aside)
            .and_then(|()| sync_dir(current).map_err(std::io::Error::other))
            .map_err(|source| LocalEditsError::MoveAside {
                path: path.clone(),
                source,
            })?;
        return Ok(None);
    };
    let io = |op: &'static str, source: std::io::Error| LocalEditsError::Finalize {
        op,
        path: path.clone(),
        source,
    };
    if let Some(problem) = &scan.tail_problem {
        tracing::warn!(
            "Truncating {} after txid {end}: {} bytes of {problem} follow the last valid record",
            path.display(),
            scan.tail_len
        );
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io("open", e))?;
        file.set_len(scan.valid_len)
            .map_err(|e| io("truncate", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
    }
    let finalized = current.join(EditFile::Finalized { start, end }.file_name());
    std::fs::rename(&path, &finalized).map_err(|e| io("finalize", e))?;
    sync_dir(current).map_err(|source| LocalEditsError::SyncDir {
        dir: current.to_path_buf(),
        source,
    })?;
    tracing::info!("Finalized {} as {}", path.display(), finalized.display());
    Ok(Some(LocalSegment {
        start,
        end,
        path: finalized,
    }))
}

/// The local segments that hold the edits from `from_txid` on, each with the first txid to take
/// from it, in order. A missing stretch is refused with Hadoop's gap message.
pub fn edits_from(
    segments: &[LocalSegment],
    from_txid: u64,
) -> Result<Vec<(&LocalSegment, u64)>, LocalEditsError> {
    let mut expected = from_txid;
    let mut plan = Vec::new();
    for segment in segments.iter().filter(|s| s.end >= from_txid) {
        if segment.start > expected {
            return Err(LocalEditsError::Gap {
                expected,
                got: segment.start,
            });
        }
        if segment.end >= expected {
            plan.push((segment, expected));
            expected = segment.end + 1;
        }
    }
    Ok(plan)
}

/// The records of a finalized local segment, each checked; a damaged file is an error naming
/// it and what is wrong.
pub fn read_segment(segment: &LocalSegment) -> Result<Vec<EditRecord>, LocalEditsError> {
    let path = &segment.path;
    let bytes = std::fs::read(path).map_err(|source| LocalEditsError::Read {
        path: path.clone(),
        source,
    })?;
    let scan = scan_edit_bytes(&bytes, Some(segment.start));
    if let Some(problem) = scan.tail_problem {
        return Err(LocalEditsError::Corrupt {
            path: path.clone(),
            problem,
        });
    }
    if scan.last_txid != Some(segment.end) {
        return Err(LocalEditsError::WrongEnd {
            path: path.clone(),
            last: scan.last_txid.unwrap_or(segment.start.saturating_sub(1)),
            end: segment.end,
        });
    }
    decode_records(&bytes[HEADER_LEN..]).map_err(|problem| LocalEditsError::CorruptRecord {
        path: path.clone(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::encode_batch;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn batch(segment: u64, first: u64, n: u64) -> AckedBatch {
        let payloads: Vec<Vec<u8>> = (first..first + n)
            .map(|t| format!("op{t}").into_bytes())
            .collect();
        AckedBatch {
            segment_start: segment,
            first_txid: first,
            last_txid: first + n - 1,
            records: Arc::new(encode_batch(first, payloads.iter().map(Vec::as_slice))),
        }
    }

    fn wait_for(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("current"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn acknowledged_batches_become_local_segments() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let local = LocalEdits::start(&[a.path().to_path_buf(), b.path().to_path_buf()], -66);
        let mirror = local.mirror();
        mirror(batch(1, 1, 3));
        mirror(batch(1, 4, 2));
        local.finalize(1, 5);
        mirror(batch(6, 6, 1));
        for dir in [a.path(), b.path()] {
            wait_for("two segments", || {
                names(dir)
                    == vec![
                        "edits_0000000000000000001-0000000000000000005".to_string(),
                        "edits_inprogress_0000000000000000006".to_string(),
                    ]
            });
            let bytes =
                std::fs::read(dir.join("current/edits_0000000000000000001-0000000000000000005"))
                    .unwrap();
            let scan = scan_edit_bytes(&bytes, Some(1));
            assert_eq!(
                (scan.first_txid, scan.last_txid, scan.tail_len),
                (Some(1), Some(5), 0)
            );
        }
        local.purge(6);
        wait_for("the purge", || {
            names(a.path()) == vec!["edits_inprogress_0000000000000000006".to_string()]
        });
    }

    #[test]
    fn a_failing_directory_is_disabled_and_the_others_go_on() {
        let good = tempfile::tempdir().unwrap();
        let bad = tempfile::tempdir().unwrap();
        // A file where `current/` should be: every write there fails.
        std::fs::write(bad.path().join("current"), b"not a directory").unwrap();
        let local = LocalEdits::start(&[bad.path().to_path_buf(), good.path().to_path_buf()], -66);
        local.mirror()(batch(1, 1, 2));
        local.finalize(1, 2);
        wait_for("the good copy", || {
            names(good.path()) == vec!["edits_0000000000000000001-0000000000000000002".to_string()]
        });
    }

    /// Writes `current/<name>` as a segment file holding `txids`, then `tail` bytes.
    fn segment_file(dir: &Path, name: &str, txids: std::ops::Range<u64>, tail: &[u8]) {
        std::fs::create_dir_all(dir.join("current")).unwrap();
        let payloads: Vec<Vec<u8>> = txids
            .clone()
            .map(|t| format!("op{t}").into_bytes())
            .collect();
        let mut bytes = segment_header(-66).to_vec();
        bytes.extend(encode_batch(
            txids.start,
            payloads.iter().map(Vec::as_slice),
        ));
        bytes.extend_from_slice(tail);
        std::fs::write(dir.join("current").join(name), bytes).unwrap();
    }

    #[test]
    fn recovery_finalizes_open_segments_cuts_torn_tails_and_takes_the_longest_copy() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let missing = a.path().join("never-created");
        for dir in [a.path(), b.path()] {
            segment_file(
                dir,
                "edits_0000000000000000001-0000000000000000003",
                1..4,
                b"",
            );
        }
        // a: records 4 and 5, then half a record; b: only record 4 (its copy stopped first).
        segment_file(
            a.path(),
            "edits_inprogress_0000000000000000004",
            4..6,
            &[0, 0, 0, 9, 1],
        );
        segment_file(b.path(), "edits_inprogress_0000000000000000004", 4..5, b"");
        // A segment opened and never written is set aside, not read.
        segment_file(a.path(), "edits_inprogress_0000000000000000009", 9..9, b"");

        let dirs = [missing, a.path().to_path_buf(), b.path().to_path_buf()];
        let segments = recover_segments(&dirs).unwrap();
        let spans: Vec<(u64, u64)> = segments.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(spans, [(1, 3), (4, 5)]);
        assert!(segments[1].path.starts_with(a.path()));
        assert_eq!(
            names(a.path()),
            [
                "edits_0000000000000000001-0000000000000000003",
                "edits_0000000000000000004-0000000000000000005",
                "edits_inprogress_0000000000000000009.empty",
            ]
        );
        assert!(names(b.path()).contains(&"edits_0000000000000000004-0000000000000000004".into()));

        let records = read_segment(&segments[1]).unwrap();
        let read: Vec<(u64, &[u8])> = records.iter().map(|r| (r.txid, &r.payload[..])).collect();
        assert_eq!(read, [(4, &b"op4"[..]), (5, &b"op5"[..])]);
        // Recovery is idempotent: a second pass finds the same segments.
        assert_eq!(recover_segments(&dirs).unwrap(), segments);
    }

    #[test]
    fn the_edits_after_an_image_are_planned_across_segments_and_a_gap_is_refused() {
        let seg = |start, end| LocalSegment {
            start,
            end,
            path: PathBuf::from(format!("/d/edits_{start}-{end}")),
        };
        let segments = [seg(1, 10), seg(11, 20), seg(21, 25)];
        let plan: Vec<(u64, u64)> = edits_from(&segments, 15)
            .unwrap()
            .into_iter()
            .map(|(s, from)| (s.start, from))
            .collect();
        assert_eq!(plan, [(11, 15), (21, 21)]);
        assert!(edits_from(&segments, 26).unwrap().is_empty());
        let err = edits_from(&[seg(1, 10), seg(14, 20)], 5).unwrap_err();
        assert!(
            matches!(
                err,
                LocalEditsError::Gap {
                    expected: 11,
                    got: 14
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "There appears to be a gap in the edit log.  We expected txid 11, but got txid 14."
        );
        // Edits that begin after the image are a gap too.
        assert!(matches!(
            edits_from(&[seg(9, 12)], 4),
            Err(LocalEditsError::Gap {
                expected: 4,
                got: 9
            })
        ));
    }

    #[test]
    fn a_damaged_finalized_segment_is_named_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let name = "edits_0000000000000000001-0000000000000000004";
        segment_file(dir.path(), name, 1..5, b"");
        let path = dir.path().join("current").join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let segments = recover_segments(&[dir.path().to_path_buf()]).unwrap();
        let err = read_segment(&segments[0]).unwrap_err().to_string();
        assert!(
            err.contains(name)
                && err.contains("Transaction is corrupt")
                && err.contains("at txid 4"),
            "{err}"
        );
        // A file shorter than its name says is refused too.
        segment_file(dir.path(), name, 1..3, b"");
        let err = read_segment(&segments[0]).unwrap_err();
        assert!(
            matches!(
                err,
                LocalEditsError::WrongEnd {
                    last: 2,
                    end: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("{} ends at txid 2, not 4 as its name says", path.display())
        );
    }

    #[test]
    fn shared_uris_are_not_local_directories() {
        let dirs = edits_dirs(&[
            "file:///data/nn".to_string(),
            "/data/edits".to_string(),
            "qjournal://j1:8485;j2:8485/ns".to_string(),
        ]);
        assert_eq!(
            dirs,
            vec![PathBuf::from("/data/nn"), PathBuf::from("/data/edits")]
        );
    }
}
