//! `FileStorage`: one journal on disk, in Hadoop's layout (`<dfs.journalnode.edits.dir>/<jid>/`),
//! behind the [`JournalStorage`] contract.
//!
//! ```text
//! in_use.lock                     exclusive lock for the life of the storage ("<pid>@<host>" inside)
//! current/VERSION                 Java properties: #<date>, namespaceID, clusterID, cTime,
//!                                 storageType=JOURNAL_NODE, layoutVersion
//! current/last-promised-epoch     "<decimal>\n" (Hadoop's PersistentLongFile)
//! current/last-writer-epoch       "<decimal>\n"
//! current/committed-txid          8-byte big-endian long, written in place (BestEffortLongFile)
//! current/paxos/<segment start>   PersistedRecoveryPaxosData, length-delimited protobuf, crc32c
//!                                 of those bytes (u32 big-endian), "\n", text rendering; Hadoop's
//!                                 files (no crc32c) are read when their text agrees
//! current/edits_inprogress_<start>, edits_<start>-<end>, ...   segments, named by `EditFile`
//! ```
//!
//! The lock, VERSION as Java properties and durable replacement are a storage directory's
//! ([`crate::storage_dir`]), shared with the NameNode. Invariants this keeps:
//! - one `FileStorage` per directory at a time, across processes and within one: an exclusive
//!   `flock` on `in_use.lock`, released when the storage is dropped;
//! - VERSION, the epochs and paxos decisions are replaced atomically (`<name>.tmp`, fsync, rename,
//!   fsync the directory): a reader sees the old or the new content, never a mix, and a failed
//!   replacement leaves the old file in place and no temp file behind;
//! - the journal is formatted iff VERSION exists, and `format` removes it first and writes it
//!   last, so a crash mid-format leaves an unformatted journal, never an old VERSION beside
//!   missing epochs;
//! - creating, renaming and deleting a file fsync its directory before returning; an
//!   `append(.., sync)` returns after fdatasync; a failed append is rolled back to the length
//!   before it (best effort), so no half-written record is left for the next one to follow;
//! - the edit file held open is preallocated as Hadoop's `EditLogFileOutputStream` does it:
//!   1 MiB at a time of `OP_INVALID` (0xFF) bytes ahead of the appends, so that an fdatasync
//!   rarely has to persist a new file size. Every read, length and scan of that file stops at
//!   its last append; the fill is cut off when the file is let go (finalized, renamed, another
//!   file opened), and a fill a crash left behind is what a scan reports as padding and a
//!   repair truncates — as for a Java JournalNode's files;
//! - content that is not in its format is an `InvalidData` error naming the file, never a
//!   default value.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use prost::Message;

use super::edits::{HEADER_LEN, OP_INVALID, segment_header};
use super::storage::{
    DetachedEditFile, EditFile, EditFileScan, JournalStorage, PaxosData, PersistedLong,
    SegmentState, StorageError, StorageInfo, StorageResult, expected_first_txid, scan_edit_bytes,
};
use crate::storage_dir::{
    At, CURRENT_DIR, StorageLock, VERSION_FILE, VersionFile, VersionFileError, clear_directory,
    ensure_dir, invalid, namespace_id_property, read_if_exists, read_long_file, read_version,
    replace_file, sync_dir, write_long_file, write_version,
};

const PAXOS_DIR: &str = "paxos";
/// The `storageType` of a journal's VERSION (Hadoop's `NodeType.JOURNAL_NODE`).
const STORAGE_TYPE: &str = "JOURNAL_NODE";
/// Hadoop's `HdfsServerConstants.INVALID_TXID`, the committed txid a Java JournalNode reports
/// when it knows none.
const JAVA_INVALID_TXID: i64 = -12345;

/// The storage of one journal in `<edits dir>/<jid>/`.
pub struct FileStorage {
    /// `<edits dir>/<jid>`.
    root: PathBuf,
    /// `<root>/current`.
    current: PathBuf,
    /// The exclusive lock on `in_use.lock`, released when the storage is dropped (or the
    /// process dies, so a crashed process never leaves the journal locked).
    _lock: StorageLock,
    /// The edit file last created or appended to, kept open. A journal appends to one file at
    /// a time (its open segment, or a segment being downloaded by recovery), so one slot makes
    /// each append a single pwrite (+ fdatasync) and bounds the open files; renaming or
    /// deleting the file empties the slot.
    open_edit: Option<OpenEdit>,
    /// `current/committed-txid`, kept open: it is rewritten by every request that advances the
    /// commit index. Forgotten by `format`, which deletes the file.
    committed_txid: Option<File>,
}

/// Hadoop's `EditLogFileOutputStream` preallocation step (`MIN_PREALLOCATION_LENGTH`).
const PREALLOCATION: u64 = 1 << 20;

/// An edit file held open for appends.
struct OpenEdit {
    file: EditFile,
    handle: File,
    /// Bytes of the file that are edits: where the next append goes. Appends write at this
    /// offset rather than at the file position, which a repair truncation would leave past the
    /// end.
    len: u64,
    /// Bytes in the file: `len` plus the `OP_INVALID` fill written ahead of the appends.
    allocated: u64,
    /// False once a fill failed (the disk is full): appends then grow the file as they go,
    /// until the next file is opened.
    preallocate: bool,
}

impl OpenEdit {
    fn new(file: &EditFile, handle: File, len: u64) -> OpenEdit {
        OpenEdit {
            file: file.clone(),
            handle,
            len,
            allocated: len,
            preallocate: true,
        }
    }

    /// Fills the file with `OP_INVALID` bytes, a step at a time, until `need` bytes fit. A fill
    /// that fails is taken back: preallocation saves time and is never worth an error.
    fn preallocate(&mut self, need: u64) {
        if !self.preallocate || need <= self.allocated {
            return;
        }
        let fill = vec![OP_INVALID; PREALLOCATION as usize];
        let before = self.allocated;
        while self.allocated < need {
            if let Err(err) = self.handle.write_all_at(&fill, self.allocated) {
                tracing::debug!("no preallocation for {}: {err}", self.file.file_name());
                let _ = self.handle.set_len(before);
                self.allocated = before;
                self.preallocate = false;
                return;
            }
            self.allocated += PREALLOCATION;
        }
    }

    /// Cuts off the fill, so that the file holds its edits and nothing after them, durably.
    fn trim(&mut self, path: &Path) -> StorageResult<()> {
        self.cut_to(self.len, path)
    }

    /// Cuts the file to its first `len` bytes, all of them edits, durably (a repair of a torn
    /// tail, or the fill cut off); nothing to do when the file is that long already.
    fn cut_to(&mut self, len: u64, path: &Path) -> StorageResult<()> {
        if (self.len, self.allocated) != (len, len) {
            self.handle.set_len(len).at("truncate", path)?;
            self.handle.sync_all().at("fsync", path)?;
            self.len = len;
            self.allocated = len;
        }
        Ok(())
    }
}

impl FileStorage {
    /// Opens (creating it if missing) the journal directory `dir` and locks it. Fails while
    /// another `FileStorage`, in this process or another, holds the lock.
    pub fn open(dir: &Path) -> StorageResult<FileStorage> {
        let lock = StorageLock::acquire(dir)?;
        Ok(FileStorage {
            root: dir.to_path_buf(),
            current: dir.join(CURRENT_DIR),
            _lock: lock,
            open_edit: None,
            committed_txid: None,
        })
    }

    fn version_path(&self) -> PathBuf {
        self.current.join(VERSION_FILE)
    }

    fn paxos_dir(&self) -> PathBuf {
        self.current.join(PAXOS_DIR)
    }

    fn edit_path(&self, file: &EditFile) -> PathBuf {
        self.current.join(file.file_name())
    }

    /// The open handle of `file`, opening it (and letting any other go) if needed. A file
    /// opened again starts appending after its edits: a fill a crash left at its end is cut
    /// off first.
    fn open_for_append(&mut self, file: &EditFile) -> StorageResult<&mut OpenEdit> {
        if self.held(file).is_some() {
            return Ok(self.open_edit.as_mut().expect("held above"));
        }
        self.let_go()?;
        let path = self.edit_path(file);
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .at("open", &path)?;
        let len = handle.metadata().at("stat", &path)?.len();
        let ends_with_fill = ends_with_fill(&handle, len).at("read", &path)?;
        let edit = self.open_edit.insert(OpenEdit::new(file, handle, len));
        if ends_with_fill {
            let bytes = fs::read(&path).at("read", &path)?;
            let scan = scan_edit_bytes(&bytes, expected_first_txid(file));
            edit.cut_to(scan.valid_len, &path)?;
        }
        Ok(edit)
    }

    /// The held-open file, if it is `file`.
    fn held(&self, file: &EditFile) -> Option<&OpenEdit> {
        self.open_edit.as_ref().filter(|e| e.file == *file)
    }

    /// Lets the held-open file go, its fill cut off.
    fn let_go(&mut self) -> StorageResult<()> {
        match self.open_edit.take() {
            Some(mut edit) => {
                let path = self.edit_path(&edit.file);
                edit.trim(&path)
            }
            None => Ok(()),
        }
    }

    /// Lets `file` go if it is the one held open.
    fn forget_edit(&mut self, file: &EditFile) -> StorageResult<()> {
        if self.held(file).is_some() {
            self.let_go()?;
        }
        Ok(())
    }

    fn read_committed_txid(&self) -> StorageResult<Option<u64>> {
        let path = self.current.join(PersistedLong::CommittedTxid.file_name());
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        if bytes.is_empty() {
            return Ok(None);
        }
        let Ok(bytes) = <[u8; 8]>::try_from(bytes.as_slice()) else {
            return Err(invalid(
                "read",
                &path,
                format!(
                    "File {} had invalid length: {}",
                    path.display(),
                    bytes.len()
                ),
            ));
        };
        match i64::from_be_bytes(bytes) {
            JAVA_INVALID_TXID => Ok(None),
            value => u64::try_from(value).map(Some).map_err(|_| {
                invalid(
                    "read",
                    &path,
                    format!("committed-txid holds a negative txid {value}"),
                )
            }),
        }
    }

    /// Best effort, as Hadoop's `BestEffortLongFile`: overwritten in place, never synced; a
    /// crash may lose the latest value, which only ever lowers a lower bound.
    fn write_committed_txid(&mut self, value: u64) -> StorageResult<()> {
        let path = self.current.join(PersistedLong::CommittedTxid.file_name());
        let handle = match self.committed_txid.take() {
            Some(handle) => handle,
            None => {
                let handle = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .at("open", &path)?;
                if handle.metadata().at("stat", &path)?.len() > 8 {
                    handle.set_len(8).at("truncate", &path)?;
                }
                handle
            }
        };
        handle
            .write_all_at(&value.to_be_bytes(), 0)
            .at("write", &path)?;
        self.committed_txid = Some(handle);
        Ok(())
    }
}

impl JournalStorage for FileStorage {
    fn dir(&self) -> String {
        self.root.display().to_string()
    }

    fn read_storage_info(&self) -> StorageResult<Option<StorageInfo>> {
        read_version(&self.version_path(), storage_info)
    }

    fn has_data(&self) -> StorageResult<bool> {
        match fs::read_dir(&self.current) {
            Ok(mut entries) => match entries.next() {
                None => Ok(false),
                Some(entry) => entry.map(|_| true).at("list", &self.current),
            },
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err).at("list", &self.current),
        }
    }

    fn format(&mut self, info: &StorageInfo) -> StorageResult<()> {
        self.open_edit = None;
        self.committed_txid = None;
        // Unformat first: from here until the new VERSION is in place, a crash leaves a
        // journal that refuses everything but format.
        clear_directory(&self.current)?;
        let paxos = self.paxos_dir();
        fs::create_dir(&paxos).at("create directory", &paxos)?;
        sync_dir(&self.current)?;
        write_version(&self.current, &version_fields(info))
    }

    fn read_long(&self, which: PersistedLong) -> StorageResult<Option<u64>> {
        match which {
            PersistedLong::CommittedTxid => self.read_committed_txid(),
            _ => read_long_file(&self.current.join(which.file_name())),
        }
    }

    fn write_long(&mut self, which: PersistedLong, value: u64) -> StorageResult<()> {
        match which {
            PersistedLong::CommittedTxid => self.write_committed_txid(value),
            _ => write_long_file(&self.current, which.file_name(), value),
        }
    }

    fn read_paxos(&self, segment_start: u64) -> StorageResult<Option<PaxosData>> {
        let path = self.paxos_dir().join(segment_start.to_string());
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        decode_paxos(&bytes)
            .map(Some)
            .map_err(|why| invalid("read", &path, why))
    }

    fn write_paxos(&mut self, segment_start: u64, data: &PaxosData) -> StorageResult<()> {
        // Hadoop creates the paxos directory on demand too (`getOrCreatePaxosDir`).
        let paxos = self.paxos_dir();
        if ensure_dir(&paxos)? {
            tracing::info!("Creating paxos dir: {}", paxos.display());
        }
        replace_file(&paxos, &segment_start.to_string(), &encode_paxos(data))
    }

    fn delete_paxos(&mut self, segment_start: u64) -> StorageResult<()> {
        let paxos = self.paxos_dir();
        let path = paxos.join(segment_start.to_string());
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&paxos),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).at("remove", &path),
        }
    }

    fn list_paxos(&self) -> StorageResult<Vec<u64>> {
        let paxos = self.paxos_dir();
        let entries = match fs::read_dir(&paxos) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).at("list", &paxos),
        };
        let mut starts = Vec::new();
        for entry in entries {
            let name = entry.at("list", &paxos)?.file_name();
            // Only `<digits>`: leftover `<n>.tmp` files of an interrupted write are not decisions.
            if let Some(start) = name
                .to_str()
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        Ok(starts)
    }

    fn list_edit_files(&self) -> StorageResult<Vec<EditFile>> {
        let entries = match fs::read_dir(&self.current) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).at("list", &self.current),
        };
        let mut files = Vec::new();
        for entry in entries {
            let name = entry.at("list", &self.current)?.file_name();
            if let Some(file) = name.to_str().and_then(EditFile::parse) {
                files.push(file);
            }
        }
        files.sort();
        Ok(files)
    }

    fn create(&mut self, file: &EditFile, layout_version: i32) -> StorageResult<()> {
        self.let_go()?;
        let path = self.edit_path(file);
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .at("create", &path)?;
        handle
            .write_all_at(&segment_header(layout_version), 0)
            .at("write", &path)?;
        handle.sync_all().at("fsync", &path)?;
        sync_dir(&self.current)?;
        self.open_edit = Some(OpenEdit::new(file, handle, HEADER_LEN as u64));
        Ok(())
    }

    fn append(&mut self, file: &EditFile, bytes: &[u8], sync: bool) -> StorageResult<()> {
        let edit = self.open_for_append(file)?;
        let mut result = Ok(());
        if !bytes.is_empty() {
            edit.preallocate(edit.len + bytes.len() as u64);
            result = edit
                .handle
                .write_all_at(bytes, edit.len)
                .map_err(|e| ("write", e));
        }
        if sync && result.is_ok() {
            result = edit.handle.sync_data().map_err(|e| ("fsync", e));
        }
        match result {
            Ok(()) => {
                edit.len += bytes.len() as u64;
                Ok(())
            }
            Err((op, source)) => {
                // Roll back what may have reached the file (and the fill), so that the next
                // append (or a scan) does not find a half-written record; then start afresh.
                let _ = edit.handle.set_len(edit.len);
                self.open_edit = None;
                Err(StorageError::new(
                    op,
                    self.edit_path(file).display().to_string(),
                    source,
                ))
            }
        }
    }

    fn scan(&mut self, file: &EditFile, repair: bool) -> StorageResult<EditFileScan> {
        let path = self.edit_path(file);
        let mut bytes = fs::read(&path).at("read", &path)?;
        if let Some(edit) = self.held(file) {
            bytes.truncate(usize::try_from(edit.len).unwrap_or(usize::MAX));
        }
        let scan = scan_edit_bytes(&bytes, expected_first_txid(file));
        if repair && scan.tail_len > 0 {
            self.open_for_append(file)?.cut_to(scan.valid_len, &path)?;
        }
        Ok(scan)
    }

    fn read(&self, file: &EditFile, offset: u64, max_len: usize) -> StorageResult<Vec<u8>> {
        let path = self.edit_path(file);
        let opened;
        let (handle, len) = match self.held(file) {
            Some(edit) => (&edit.handle, edit.len),
            None => {
                opened = File::open(&path).at("open", &path)?;
                (&opened, opened.metadata().at("stat", &path)?.len())
            }
        };
        let start = offset.min(len);
        let count =
            usize::try_from(len - start).map_or(max_len, |available| available.min(max_len));
        let mut bytes = vec![0; count];
        handle.read_exact_at(&mut bytes, start).at("read", &path)?;
        Ok(bytes)
    }

    fn len(&self, file: &EditFile) -> StorageResult<u64> {
        match self.held(file) {
            Some(edit) => Ok(edit.len),
            None => {
                let path = self.edit_path(file);
                Ok(fs::metadata(&path).at("stat", &path)?.len())
            }
        }
    }

    fn rename(&mut self, from: &EditFile, to: &EditFile) -> StorageResult<()> {
        // Nothing appends to a file after it is renamed (finalized, recovered into place, or
        // moved aside); it keeps its edits and no fill, as Hadoop's stream leaves it on close.
        self.forget_edit(from)?;
        self.forget_edit(to)?;
        let (from_path, to_path) = (self.edit_path(from), self.edit_path(to));
        fs::rename(&from_path, &to_path).map_err(|source| {
            StorageError::new(
                "rename",
                format!("{} to {}", from_path.display(), to_path.display()),
                source,
            )
        })?;
        sync_dir(&self.current)
    }

    fn delete(&mut self, file: &EditFile) -> StorageResult<()> {
        if self.held(file).is_some() {
            self.open_edit = None;
        }
        let path = self.edit_path(file);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).at("remove", &path),
        }
    }

    fn detached(&self, file: &EditFile) -> Box<dyn DetachedEditFile> {
        Box::new(DetachedFile {
            file: file.clone(),
            path: self.edit_path(file),
            current: self.current.clone(),
            handle: None,
            len: 0,
        })
    }
}

/// An edit file written through its own handle (no preallocation: it is written once, start
/// to end, and synced once).
struct DetachedFile {
    file: EditFile,
    path: PathBuf,
    /// The directory to fsync once the file is whole.
    current: PathBuf,
    handle: Option<File>,
    /// Bytes written.
    len: u64,
}

impl DetachedFile {
    fn handle(&self) -> StorageResult<&File> {
        self.handle.as_ref().ok_or_else(|| {
            StorageError::new(
                "write",
                self.path.display().to_string(),
                io::Error::new(io::ErrorKind::NotFound, "the file was not created"),
            )
        })
    }
}

impl DetachedEditFile for DetachedFile {
    fn create(&mut self, layout_version: i32) -> StorageResult<()> {
        let handle = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.path)
            .at("create", &self.path)?;
        handle
            .write_all_at(&segment_header(layout_version), 0)
            .at("write", &self.path)?;
        self.handle = Some(handle);
        self.len = HEADER_LEN as u64;
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> StorageResult<()> {
        self.handle()?
            .write_all_at(bytes, self.len)
            .at("write", &self.path)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> StorageResult<EditFileScan> {
        let handle = self.handle()?;
        let mut bytes = vec![0; usize::try_from(self.len).unwrap_or(usize::MAX)];
        handle.read_exact_at(&mut bytes, 0).at("read", &self.path)?;
        let scan = scan_edit_bytes(&bytes, expected_first_txid(&self.file));
        if scan.tail_len > 0 {
            handle.set_len(scan.valid_len).at("truncate", &self.path)?;
        }
        handle.sync_all().at("fsync", &self.path)?;
        sync_dir(&self.current)?;
        self.len = scan.valid_len;
        Ok(scan)
    }
}

/// Whether the last byte of a file `len` bytes long is `OP_INVALID`: a fill may follow its
/// edits (or its last record ends in that byte; a scan tells).
fn ends_with_fill(handle: &File, len: u64) -> io::Result<bool> {
    if len <= HEADER_LEN as u64 {
        return Ok(false);
    }
    let mut last = [0u8];
    handle.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == OP_INVALID)
}

// ---- VERSION -------------------------------------------------------------------------------

/// A journal's VERSION fields, in Hadoop's order.
fn version_fields(info: &StorageInfo) -> [(&'static str, String); 5] {
    [
        ("namespaceID", namespace_id_property(info.namespace_id)),
        ("clusterID", info.cluster_id.clone()),
        ("cTime", info.ctime.to_string()),
        ("storageType", STORAGE_TYPE.to_string()),
        ("layoutVersion", info.layout_version.to_string()),
    ]
}

/// Reads a journal's VERSION fields; the messages are Hadoop's where it has one.
fn storage_info(version: &VersionFile) -> Result<StorageInfo, VersionFileError> {
    version.check_storage_type(STORAGE_TYPE)?;
    let namespace_id = version.namespace_id()?;
    Ok(StorageInfo {
        layout_version: version.layout_version()?,
        namespace_id,
        cluster_id: version.get("clusterID")?.to_string(),
        ctime: version.ctime()?,
    })
}

// ---- paxos/<start>: PersistedRecoveryPaxosData ---------------------------------------------

/// `SegmentStateProto` (QJournalProtocol.proto), as Hadoop persists it.
#[derive(Clone, PartialEq, prost::Message)]
struct SegmentStateProto {
    #[prost(uint64, required, tag = "1")]
    start_tx_id: u64,
    #[prost(uint64, required, tag = "2")]
    end_tx_id: u64,
    #[prost(bool, required, tag = "3")]
    is_in_progress: bool,
}

/// `PersistedRecoveryPaxosData` (QJournalProtocol.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct PersistedRecoveryPaxosData {
    #[prost(message, required, tag = "1")]
    segment_state: SegmentStateProto,
    #[prost(uint64, required, tag = "2")]
    accepted_in_epoch: u64,
}

/// Bytes of the checksum that follows the length-delimited message.
const PAXOS_CRC_LEN: usize = 4;

/// The paxos file: Hadoop's bytes (`writeDelimitedTo`, `\n`, text) with a crc32c of the
/// delimited message between the message and the newline. Hadoop's reader
/// (`parseDelimitedFrom`) stops at the end of the message, so it still reads this file; ours
/// also refuses a file whose message bytes were damaged.
fn encode_paxos(data: &PaxosData) -> Vec<u8> {
    let message = PersistedRecoveryPaxosData {
        segment_state: SegmentStateProto {
            start_tx_id: data.segment.start_txid,
            end_tx_id: data.segment.end_txid,
            is_in_progress: data.segment.in_progress,
        },
        accepted_in_epoch: data.accepted_in_epoch,
    };
    let mut bytes = message.encode_length_delimited_to_vec();
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(paxos_text(data).as_bytes());
    bytes
}

/// The human-readable rendering after the newline (protobuf text format, as Java's
/// `toString()` prints the message); written for operators, never parsed.
fn paxos_text(data: &PaxosData) -> String {
    format!(
        "segmentState {{\n  startTxId: {}\n  endTxId: {}\n  isInProgress: {}\n}}\nacceptedInEpoch: {}\n\n",
        data.segment.start_txid,
        data.segment.end_txid,
        data.segment.in_progress,
        data.accepted_in_epoch
    )
}

/// Why a paxos file holds no decision; reading it is an `InvalidData` error naming the file.
#[derive(Debug, thiserror::Error)]
enum PaxosFileError {
    #[error("paxos data has no valid length prefix: {source}")]
    NoLengthPrefix { source: prost::DecodeError },
    #[error("paxos data does not decode: {source}")]
    Undecodable { source: prost::DecodeError },
    #[error("paxos checksum is not 4 bytes")]
    ChecksumLength,
    #[error("paxos data checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch { stored: u32, computed: u32 },
    /// A file without our checksum whose text disagrees with its message.
    #[error("paxos data does not match the text written after it")]
    TextMismatch,
    #[error("paxos data is truncated: {len} bytes, expected at least {expected}")]
    Truncated { len: usize, expected: usize },
    #[error("paxos data is not followed by a newline")]
    NoNewline,
}

/// Reads a paxos file as we write it (checksum, newline, text) or as Hadoop's JournalNode
/// writes it (newline, text: no checksum). A file without our checksum is accepted only when
/// the text after the message states the same txids and epoch, so damage to either is caught.
fn decode_paxos(bytes: &[u8]) -> Result<PaxosData, PaxosFileError> {
    let mut rest = bytes;
    let len = prost::decode_length_delimiter(&mut rest)
        .map_err(|source| PaxosFileError::NoLengthPrefix { source })?;
    let message_start = bytes.len() - rest.len();
    let message_end = message_start.saturating_add(len);
    let crc_end = message_end.saturating_add(PAXOS_CRC_LEN);
    let after = bytes.get(message_end..).unwrap_or_default();
    let decode = || {
        PersistedRecoveryPaxosData::decode(&bytes[message_start..message_end])
            .map(|message| PaxosData {
                segment: SegmentState {
                    start_txid: message.segment_state.start_tx_id,
                    end_txid: message.segment_state.end_tx_id,
                    in_progress: message.segment_state.is_in_progress,
                },
                accepted_in_epoch: message.accepted_in_epoch,
            })
            .map_err(|source| PaxosFileError::Undecodable { source })
    };
    let ours = after.len() > PAXOS_CRC_LEN && after[PAXOS_CRC_LEN] == b'\n';
    let hadoops = after.first() == Some(&b'\n');
    if ours {
        let stored = u32::from_be_bytes(
            bytes[message_end..crc_end]
                .try_into()
                .map_err(|_| PaxosFileError::ChecksumLength)?,
        );
        let computed = crc32c::crc32c(&bytes[..message_end]);
        if stored == computed {
            return decode();
        }
        if !hadoops {
            return Err(PaxosFileError::ChecksumMismatch { stored, computed });
        }
    }
    if hadoops {
        let data = decode()?;
        let text = String::from_utf8_lossy(&after[1..]);
        let states = |field: &str, value: u64| text.contains(&format!("{field}: {value}\n"));
        if states("startTxId", data.segment.start_txid)
            && states("endTxId", data.segment.end_txid)
            && states("acceptedInEpoch", data.accepted_in_epoch)
        {
            return Ok(data);
        }
        return Err(PaxosFileError::TextMismatch);
    }
    if after.len() <= PAXOS_CRC_LEN {
        return Err(PaxosFileError::Truncated {
            len: bytes.len(),
            expected: crc_end.saturating_add(1),
        });
    }
    Err(PaxosFileError::NoNewline)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::process::Command;
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::journal::edits::{encode_batch, test_records as records};
    use crate::journal::storage::conformance;
    use crate::journal::{Journal, RequestInfo};
    use crate::storage_dir::{LOCK_FILE, TMP_SUFFIX, render_version};

    fn formatted(dir: &Path) -> FileStorage {
        let mut s = FileStorage::open(dir).unwrap();
        s.format(&conformance::info()).unwrap();
        s
    }

    fn paxos(start: u64, end: u64, epoch: u64) -> PaxosData {
        PaxosData {
            segment: SegmentState {
                start_txid: start,
                end_txid: end,
                in_progress: true,
            },
            accepted_in_epoch: epoch,
        }
    }

    /// Every path under `dir`, relative, `/`-separated.
    fn tree(dir: &Path) -> BTreeSet<String> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel);
                if path.is_dir() {
                    walk(base, &path, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(dir, dir, &mut out);
        out
    }

    fn assert_invalid_data(err: StorageError, path: &Path, says: &str) {
        let text = err.to_string();
        assert_eq!(err.source.kind(), io::ErrorKind::InvalidData, "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(says), "{text}");
    }

    #[test]
    fn file_storage_passes_the_conformance_suite() {
        let root = tempfile::tempdir().unwrap();
        let mut n = 0;
        conformance::run_all(|| {
            n += 1;
            FileStorage::open(&root.path().join(format!("jn{n}"))).unwrap()
        });
    }

    #[test]
    fn a_second_open_of_a_locked_journal_fails_with_cannot_lock_storage() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let first = FileStorage::open(&dir).unwrap();
        let holder = fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert!(
            holder.starts_with(&format!("{}@", std::process::id())),
            "{holder}"
        );
        let err = FileStorage::open(&dir)
            .err()
            .expect("the second open fails");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "Cannot lock storage {}. The directory is already locked",
                dir.display()
            )),
            "{text}"
        );
        assert!(text.starts_with("lock "), "{text}");
        // The loser did not disturb the holder's record.
        assert_eq!(fs::read_to_string(dir.join(LOCK_FILE)).unwrap(), holder);
        drop(first);
        let _again = FileStorage::open(&dir).unwrap();
    }

    #[test]
    fn version_is_written_as_hadoop_writes_it_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let s = formatted(&root.path().join("ns1"));
        let text = fs::read_to_string(root.path().join("ns1/current/VERSION")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            crate::conf::properties::is_date_comment_of_now(lines[0]),
            "{text}"
        );
        assert_eq!(
            lines[1..],
            [
                "namespaceID=12345",
                "clusterID=CID-test",
                "cTime=0",
                "storageType=JOURNAL_NODE",
                "layoutVersion=-66"
            ]
        );
        assert_eq!(s.read_storage_info().unwrap(), Some(conformance::info()));

        // A VERSION as a Java JournalNode leaves it: its own order, CRLF, separators.
        fs::write(
            root.path().join("ns1/current/VERSION"),
            "#Wed Jul 24 10:13:56 UTC 2019\r\nlayoutVersion=-63\r\nstorageType = JOURNAL_NODE\r\n\
             cTime:0\r\n! another comment\r\nclusterID=CID-161b976f-3c2b\r\nnamespaceID=1633807959\r\n",
        )
        .unwrap();
        assert_eq!(
            s.read_storage_info().unwrap(),
            Some(StorageInfo {
                layout_version: -63,
                namespace_id: 1633807959,
                cluster_id: "CID-161b976f-3c2b".into(),
                ctime: 0,
            })
        );
    }

    #[test]
    fn version_escapes_round_trip_like_java_properties() {
        let info = StorageInfo {
            layout_version: -66,
            namespace_id: u32::MAX,
            cluster_id: " CID a=b:c#d!e\\f\tg\u{e9}\u{1f600}".into(),
            ctime: 7,
        };
        let text = render_version(&version_fields(&info), UNIX_EPOCH);
        assert!(
            text.starts_with(&format!(
                "#{}\n",
                crate::wall_clock::WallClock::local(0).java_date()
            )),
            "{text}"
        );
        assert!(text.contains("namespaceID=-1\n"), "{text}");
        assert!(
            text.contains("clusterID=\\ CID a\\=b\\:c\\#d\\!e\\\\f\\tg\\u00E9\\uD83D\\uDE00\n"),
            "{text}"
        );
        assert!(text.is_ascii());
        assert_eq!(
            VersionFile::parse(&text).and_then(|v| storage_info(&v)),
            Ok(info)
        );
        // Continuation lines, malformed escapes and dates: `conf::properties`'s tests.
    }

    #[test]
    fn a_bad_version_file_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let s = formatted(&root.path().join("ns1"));
        let version = root.path().join("ns1/current/VERSION");
        for (content, says) in [
            (
                "clusterID=c\ncTime=0\nstorageType=JOURNAL_NODE\nlayoutVersion=-66\n",
                "file VERSION has namespaceID missing.",
            ),
            (
                "namespaceID=x\nclusterID=c\ncTime=0\nstorageType=JOURNAL_NODE\nlayoutVersion=-66\n",
                "namespaceID=x, not a number",
            ),
            (
                "namespaceID=1\nclusterID=c\ncTime=0\nstorageType=NAME_NODE\nlayoutVersion=-66\n",
                "Incompatible node types: storageType=JOURNAL_NODE but StorageDirectory type=NAME_NODE",
            ),
        ] {
            fs::write(&version, content).unwrap();
            assert_invalid_data(s.read_storage_info().unwrap_err(), &version, says);
        }
    }

    #[test]
    fn files_on_disk_have_hadoops_names_and_formats() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        s.write_long(PersistedLong::LastPromisedEpoch, 3).unwrap();
        s.write_long(PersistedLong::LastWriterEpoch, 2).unwrap();
        s.write_long(PersistedLong::CommittedTxid, 5).unwrap();
        s.write_paxos(4, &paxos(4, 9, 3)).unwrap();
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        s.append(&open, &records(1, 5), true).unwrap();
        s.rename(&open, &EditFile::Finalized { start: 1, end: 5 })
            .unwrap();
        s.create(&EditFile::InProgress { start: 6 }, -66).unwrap();
        fs::write(dir.join("current/not-an-edit-file"), b"x").unwrap();

        let expected: BTreeSet<String> = [
            "in_use.lock",
            "current",
            "current/VERSION",
            "current/last-promised-epoch",
            "current/last-writer-epoch",
            "current/committed-txid",
            "current/paxos",
            "current/paxos/4",
            "current/edits_0000000000000000001-0000000000000000005",
            "current/edits_inprogress_0000000000000000006",
            "current/not-an-edit-file",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(tree(&dir), expected);
        assert_eq!(
            s.list_edit_files().unwrap(),
            vec![
                EditFile::Finalized { start: 1, end: 5 },
                EditFile::InProgress { start: 6 }
            ]
        );
        let current = dir.join("current");
        assert_eq!(
            fs::read(current.join("last-promised-epoch")).unwrap(),
            b"3\n"
        );
        assert_eq!(fs::read(current.join("last-writer-epoch")).unwrap(), b"2\n");
        assert_eq!(
            fs::read(current.join("committed-txid")).unwrap(),
            5u64.to_be_bytes()
        );
        let edits = fs::read(current.join("edits_inprogress_0000000000000000006")).unwrap();
        assert_eq!(edits, segment_header(-66));

        // The paxos file: PersistedRecoveryPaxosData written delimited, exactly as protobuf-java
        // writes it, then our checksum, then the text rendering.
        let bytes = fs::read(current.join("paxos/4")).unwrap();
        let message = [
            0x0a, 0x0a, 0x06, 0x08, 0x04, 0x10, 0x09, 0x18, 0x01, 0x10, 0x03,
        ];
        assert_eq!(bytes[..message.len()], message);
        let crc = crc32c::crc32c(&message).to_be_bytes();
        assert_eq!(bytes[message.len()..message.len() + 4], crc);
        assert_eq!(
            String::from_utf8_lossy(&bytes[message.len() + 4..]),
            "\nsegmentState {\n  startTxId: 4\n  endTxId: 9\n  isInProgress: true\n}\nacceptedInEpoch: 3\n\n"
        );
    }

    #[test]
    fn the_open_file_is_preallocated_and_reads_stop_at_its_edits() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        let path = dir.join("current").join(open.file_name());
        let edits = records(1, 3);
        s.append(&open, &edits, true).unwrap();
        let valid_len = (HEADER_LEN + edits.len()) as u64;
        // On disk: the edits, then OP_INVALID up to a whole preallocation step.
        let on_disk = fs::read(&path).unwrap();
        assert_eq!(on_disk.len() as u64, HEADER_LEN as u64 + PREALLOCATION);
        assert_eq!(on_disk[HEADER_LEN..valid_len as usize], edits[..]);
        assert!(
            on_disk[valid_len as usize..]
                .iter()
                .all(|&b| b == OP_INVALID)
        );
        // What the storage says of it stops at the edits.
        assert_eq!(s.len(&open).unwrap(), valid_len);
        assert_eq!(
            s.read(&open, 0, usize::MAX).unwrap(),
            on_disk[..valid_len as usize]
        );
        let scan = s.scan(&open, false).unwrap();
        assert_eq!(
            (scan.last_txid, scan.valid_len, scan.tail_len),
            (Some(3), valid_len, 0)
        );
        // Appends go on inside the fill without growing the file, and past it by a step.
        s.append(&open, &records(4, 1), true).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            HEADER_LEN as u64 + PREALLOCATION
        );
        let big: Vec<Vec<u8>> = (0..2).map(|_| vec![7u8; 600 << 10]).collect();
        s.append(&open, &encode_batch(5, big.iter().map(Vec::as_slice)), true)
            .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            HEADER_LEN as u64 + 2 * PREALLOCATION
        );
        assert_eq!(s.scan(&open, false).unwrap().last_txid, Some(6));
        // Finalized, the file keeps its edits and no fill, as Hadoop's stream leaves it.
        let len = s.len(&open).unwrap();
        let finalized = EditFile::Finalized { start: 1, end: 6 };
        s.rename(&open, &finalized).unwrap();
        let path = dir.join("current").join(finalized.file_name());
        assert_eq!(fs::metadata(&path).unwrap().len(), len);
        assert_eq!(s.len(&finalized).unwrap(), len);
        let scan = s.scan(&finalized, false).unwrap();
        assert_eq!((scan.last_txid, scan.tail_len), (Some(6), 0));
    }

    #[test]
    fn a_fill_or_a_torn_tail_left_by_a_crash_is_truncated_by_scan_with_repair() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        s.append(&open, &records(1, 3), true).unwrap();
        let valid_len = (HEADER_LEN + records(1, 3).len()) as u64;
        let path = dir.join("current").join(open.file_name());
        // Dropped without letting the file go, as a crash leaves it: the fill stays.
        drop(s);
        let mut s = FileStorage::open(&dir).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!((scan.last_txid, scan.valid_len), (Some(3), valid_len));
        assert!(scan.tail_is_padding, "{scan:?}");
        assert_eq!(scan.tail_len, PREALLOCATION - records(1, 3).len() as u64);
        let repaired = s.scan(&open, true).unwrap();
        assert_eq!(repaired.last_txid, Some(3));
        assert_eq!(fs::metadata(&path).unwrap().len(), valid_len);
        drop(s);

        // Half a record, as a write cut by a crash leaves it.
        let tear = |garbage: &[u8]| {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(garbage).unwrap();
        };
        tear(&records(4, 1)[..10]);
        let mut s = FileStorage::open(&dir).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!(
            (scan.last_txid, scan.valid_len, scan.tail_len),
            (Some(3), valid_len, 10)
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), valid_len + 10);
        let repaired = s.scan(&open, true).unwrap();
        assert_eq!(repaired.last_txid, Some(3));
        // The held-open handle appends right after the valid prefix.
        s.append(&open, &records(4, 1), true).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!((scan.last_txid, scan.tail_len), (Some(4), 0));

        // Bytes after the fill are not padding: a repair cuts them off with it.
        drop(s);
        tear(&[0xde, 0xad, 0xbe, 0xef].repeat(9));
        let mut s = FileStorage::open(&dir).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert!(!scan.tail_is_padding, "{scan:?}");
        let repaired = s.scan(&open, true).unwrap();
        assert_eq!(repaired.last_txid, Some(4));
        assert_eq!(fs::metadata(&path).unwrap().len(), repaired.valid_len);
        drop(s);

        // A file opened for append after a crash, without a scan first, appends after its
        // edits, not after the fill.
        let mut s = FileStorage::open(&dir).unwrap();
        s.append(&open, &records(5, 2), true).unwrap();
        drop(s);
        let mut s = FileStorage::open(&dir).unwrap();
        s.append(&open, &records(7, 1), true).unwrap();
        let scan = s.scan(&open, false).unwrap();
        assert_eq!(
            (scan.last_txid, scan.num_txns, scan.tail_len),
            (Some(7), 7, 0)
        );
    }

    #[test]
    fn a_bad_persisted_long_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        let promised = dir.join("current/last-promised-epoch");
        for content in [&b"abc\n"[..], b"", b"-3\n", b"12 monkeys"] {
            fs::write(&promised, content).unwrap();
            assert_invalid_data(
                s.read_long(PersistedLong::LastPromisedEpoch).unwrap_err(),
                &promised,
                "last-promised-epoch does not hold a number",
            );
        }
        // Hadoop writes a newline; a value without one still reads.
        fs::write(&promised, b"17").unwrap();
        assert_eq!(
            s.read_long(PersistedLong::LastPromisedEpoch).unwrap(),
            Some(17)
        );

        let committed = dir.join("current/committed-txid");
        fs::write(&committed, [0, 0, 1]).unwrap();
        assert_invalid_data(
            s.read_long(PersistedLong::CommittedTxid).unwrap_err(),
            &committed,
            "had invalid length: 3",
        );
        // What a Java JournalNode writes when it knows no committed txid.
        fs::write(&committed, (-12345i64).to_be_bytes()).unwrap();
        assert_eq!(s.read_long(PersistedLong::CommittedTxid).unwrap(), None);
        s.write_long(PersistedLong::CommittedTxid, 9).unwrap();
        assert_eq!(s.read_long(PersistedLong::CommittedTxid).unwrap(), Some(9));

        // A journal does not open over a bad promise: it must not guess an epoch.
        fs::write(&promised, b"garbage").unwrap();
        drop(s);
        let err = Journal::open("ns1", FileStorage::open(&dir).unwrap(), None)
            .err()
            .expect("a bad promise fails the open");
        assert!(err.to_string().contains("last-promised-epoch"), "{err}");
    }

    #[test]
    fn a_truncated_or_corrupt_paxos_file_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        s.write_paxos(4, &paxos(4, 9, 3)).unwrap();
        let path = dir.join("current/paxos/4");
        let whole = fs::read(&path).unwrap();
        for cut in [0, 1, 5, 11, 15] {
            fs::write(&path, &whole[..cut]).unwrap();
            let says = if cut == 0 {
                "no valid length prefix"
            } else {
                "truncated"
            };
            assert_invalid_data(s.read_paxos(4).unwrap_err(), &path, says);
        }
        let err = decode_paxos(&whole[..5]).unwrap_err();
        assert!(
            matches!(
                err,
                PaxosFileError::Truncated {
                    len: 5,
                    expected: 16
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "paxos data is truncated: 5 bytes, expected at least 16"
        );
        let mut flipped = whole.clone();
        flipped[6] ^= 0x01;
        fs::write(&path, &flipped).unwrap();
        assert_invalid_data(s.read_paxos(4).unwrap_err(), &path, "checksum mismatch");
        assert!(matches!(
            decode_paxos(&flipped),
            Err(PaxosFileError::ChecksumMismatch { .. })
        ));
        // The text after the newline is for people only.
        fs::write(&path, &whole[..16]).unwrap();
        assert_eq!(s.read_paxos(4).unwrap(), Some(paxos(4, 9, 3)));
        // A Hadoop JournalNode's file: the message, a newline and Java's text rendering, no
        // checksum; read when the text agrees with the message, refused when it does not.
        let message = &whole[..11];
        let java_text = "segmentState {\n  startTxId: 4\n  endTxId: 9\n  isInProgress: true\n}\n\
                         acceptedInEpoch: 3\n\n";
        fs::write(&path, [message, b"\n", java_text.as_bytes()].concat()).unwrap();
        assert_eq!(s.read_paxos(4).unwrap(), Some(paxos(4, 9, 3)));
        let lying = java_text.replace("endTxId: 9", "endTxId: 8");
        fs::write(&path, [message, b"\n", lying.as_bytes()].concat()).unwrap();
        assert_invalid_data(
            s.read_paxos(4).unwrap_err(),
            &path,
            "does not match the text",
        );
        // Leftover temp files are not decisions.
        fs::write(dir.join("current/paxos/7.tmp"), b"x").unwrap();
        assert_eq!(s.list_paxos().unwrap(), vec![4]);
    }

    use crate::journal::journal::test_namespace as ns;

    fn req(epoch: u64, serial: u64, committed: Option<u64>) -> RequestInfo {
        RequestInfo {
            epoch,
            ipc_serial: serial,
            committed_txid: committed,
            client: "127.0.0.1".into(),
        }
    }

    #[test]
    fn a_journal_over_file_storage_survives_a_restart_with_promises_and_the_last_segment() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("test-journal");
        {
            let mut j =
                Journal::open("test-journal", FileStorage::open(&dir).unwrap(), None).unwrap();
            j.format(&ns(), false).unwrap();
            j.new_epoch(&ns(), 1, "w").unwrap();
            j.start_log_segment(&req(1, 1, None), 1, -66).unwrap();
            j.journal(&req(1, 2, None), 1, 1, 3, &records(1, 3))
                .unwrap();
            j.finalize_log_segment(&req(1, 3, None), 1, 3).unwrap();
            j.start_log_segment(&req(1, 4, None), 4, -66).unwrap();
            j.journal(&req(1, 5, Some(3)), 4, 4, 2, &records(4, 2))
                .unwrap();
            j.new_epoch(&ns(), 5, "c").unwrap();
        }
        let storage = FileStorage::open(&dir).unwrap();
        let mut j = Journal::open("test-journal", storage, None).unwrap();
        assert_eq!(j.storage().dir(), dir.display().to_string());
        assert_eq!(j.last_promised_epoch().unwrap(), 5);
        let status = j.status();
        assert_eq!(
            (
                status.last_writer_epoch,
                status.highest_written_txid,
                status.committed_txid
            ),
            (1, 5, Some(3))
        );
        let (layout, bytes) = j.read_segment(4, 0, usize::MAX).unwrap().unwrap();
        assert_eq!((layout, bytes), (-66, records(4, 2)));
        assert_eq!(
            j.get_edit_log_manifest(1, true).unwrap().logs.len(),
            2,
            "the finalized and the in-progress segment"
        );
        // The fence holds across the restart.
        assert!(
            j.heartbeat(&req(1, 9, None))
                .unwrap_err()
                .to_string()
                .starts_with("IPC's epoch 1 is less than the last promised epoch 5")
        );
        assert_eq!(j.new_epoch(&ns(), 6, "c").unwrap(), Some(4));
    }

    /// A tmpfs mounted for one test, unmounted when dropped (even when the test fails).
    struct TmpfsMount {
        path: PathBuf,
    }

    impl TmpfsMount {
        fn mount(path: &Path, size: &str) -> Result<TmpfsMount, String> {
            let output = Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(path)
                .output()
                .map_err(|err| format!("cannot run mount: {err}"))?;
            if !output.status.success() {
                return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
            }
            Ok(TmpfsMount {
                path: path.to_path_buf(),
            })
        }
    }

    impl Drop for TmpfsMount {
        fn drop(&mut self) {
            let unmounted = Command::new("umount")
                .arg(&self.path)
                .status()
                .is_ok_and(|s| s.success());
            if !unmounted {
                let _ = Command::new("umount").arg("-l").arg(&self.path).status();
            }
        }
    }

    fn no_temp_files(dir: &Path) {
        let leftovers: Vec<String> = tree(dir)
            .into_iter()
            .filter(|p| p.ends_with(TMP_SUFFIX))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_full_disk_fails_writes_and_leaves_every_file_whole() {
        let root = tempfile::tempdir().unwrap();
        // Declared before the storage so that it is unmounted after the storage is dropped.
        let _mount = match TmpfsMount::mount(root.path(), "256k") {
            Ok(mount) => mount,
            Err(reason) => {
                println!("skipping the ENOSPC test: cannot mount a tmpfs ({reason})");
                return;
            }
        };
        let dir = root.path().join("ns1");
        let mut s = formatted(&dir);
        s.write_long(PersistedLong::LastPromisedEpoch, 1).unwrap();
        s.write_paxos(1, &paxos(1, 2, 1)).unwrap();
        let open = EditFile::InProgress { start: 1 };
        s.create(&open, -66).unwrap();
        s.append(&open, &records(1, 2), true).unwrap();

        let filler_path = root.path().join("filler");
        let mut filler = File::create(&filler_path).unwrap();
        let chunk = vec![0u8; 4096];
        let full = loop {
            if let Err(err) = filler.write_all(&chunk) {
                break err;
            }
        };
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);

        let err = s
            .write_long(PersistedLong::LastPromisedEpoch, 2)
            .unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::StorageFull, "{err}");
        assert!(err.to_string().contains("last-promised-epoch.tmp"), "{err}");
        assert_eq!(
            s.read_long(PersistedLong::LastPromisedEpoch).unwrap(),
            Some(1)
        );

        let err = s.write_paxos(1, &paxos(1, 9, 2)).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::StorageFull, "{err}");
        assert_eq!(s.read_paxos(1).unwrap(), Some(paxos(1, 2, 1)));

        let big: Vec<Vec<u8>> = (0..4).map(|_| vec![7u8; 16 << 10]).collect();
        let batch = encode_batch(3, big.iter().map(Vec::as_slice));
        let err = s.append(&open, &batch, true).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::StorageFull, "{err}");
        assert!(err.to_string().contains(&open.file_name()), "{err}");
        // The partial write was rolled back: no torn tail for the next append to follow.
        let scan = s.scan(&open, false).unwrap();
        assert_eq!((scan.last_txid, scan.tail_len), (Some(2), 0));
        no_temp_files(&dir);

        drop(filler);
        fs::remove_file(&filler_path).unwrap();
        s.write_long(PersistedLong::LastPromisedEpoch, 2).unwrap();
        assert_eq!(
            s.read_long(PersistedLong::LastPromisedEpoch).unwrap(),
            Some(2)
        );
        s.append(&open, &batch, true).unwrap();
        assert_eq!(s.scan(&open, false).unwrap().last_txid, Some(6));
    }
}
