//! The active NameNode's local copy of its edits (`dfs.namenode.edits.dir`, by default the name
//! directories): every batch a majority of JournalNodes acknowledged, appended in txid order to
//! `current/edits_inprogress_<start>` and renamed `edits_<start>-<end>` when the segment ends,
//! in Hadoop's names and our edit-record format.
//!
//! As in Hadoop, local edits directories are not required journals: the shared edits decide
//! what is acknowledged, and a local directory that fails (full disk, I/O error) is disabled
//! with a warning rather than stopping the NameNode. The copy is written off the
//! acknowledgement path, by a thread of its own, and synced after every batch.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::journal::EditFile;
use crate::journal::edits::segment_header;
use crate::qjm::{AckedBatch, Mirror};
use crate::storage_dir::sync_dir;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::encode_batch;
    use crate::journal::storage::scan_edit_bytes;
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
