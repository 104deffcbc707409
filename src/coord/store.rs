//! Durability: the txn log and snapshots under `version-2/`, recovery and purging.
//!
//! Files, named as ZooKeeper names them (hex without padding):
//! - `<dataLogDir>/version-2/log.<first zxid>`: a 16-byte header (`ZKLG`, version 2, dbid 0),
//!   then records `u32 crc32c(payload) | i32 length | payload | 'B'`, where the payload is a
//!   jute `TxnHeader` and the txn record. The file grows in `preAllocSize` blocks of zeros; a
//!   zero length ends it. Each snapshot starts a new log.
//! - `<dataDir>/version-2/snapshot.<zxid>`: header `ZKSN`, the zxid, the session table, every
//!   node parents-first, then a crc32c of all of it. Written to a temp file, fsynced, renamed,
//!   and the directory fsynced.
//!
//! Invariants: a record is acknowledged only after `sync` returned (fsync when `forceSync`);
//! recovery loads the newest snapshot whose checksum holds and replays every later txn in
//! zxid order, refusing gaps; a torn or corrupt tail of the *last* log is truncated away (it
//! was never acknowledged), anywhere else it is an error naming the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::jute::{self, Jute, Reader};
use super::tree::{DataTree, NodeRef, StatPersisted, WalkCursor};
use super::txn::{Txn, TxnRecord};
use super::zab;

const LOG_MAGIC: &[u8; 4] = b"ZKLG";
const SNAP_MAGIC: &[u8; 4] = b"ZKSN";
const VERSION: i32 = 2;
const HEADER_LEN: u64 = 16;
const END_OF_RECORD: u8 = b'B';
/// Records larger than this are corrupt (a txn is bounded by jute.maxbuffer plus headers).
const MAX_RECORD: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{0}")]
    Inconsistent(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where files go and how hard to sync.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `<dataDir>/version-2`.
    pub snap_dir: PathBuf,
    /// `<dataLogDir>/version-2`.
    pub log_dir: PathBuf,
    pub force_sync: bool,
    /// `preAllocSize` in bytes.
    pub prealloc_bytes: u64,
    pub snap_retain_count: usize,
    pub max_buffer: usize,
}

impl StoreConfig {
    pub fn new(data_dir: &Path, data_log_dir: &Path) -> Self {
        StoreConfig {
            snap_dir: data_dir.join("version-2"),
            log_dir: data_log_dir.join("version-2"),
            force_sync: true,
            prealloc_bytes: 64 << 20,
            snap_retain_count: 3,
            max_buffer: jute::DEFAULT_MAX_BUFFER,
        }
    }
}

/// fsyncs a directory so a created or renamed entry in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Frames a payload as a log record: checksum, length, payload, end marker.
fn frame_record(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(END_OF_RECORD);
}

/// Appends one record to `out`.
pub fn encode_record(rec: &TxnRecord, out: &mut Vec<u8>) {
    frame_record(&rec.encode(), out);
}

/// What reading a record at the start of `buf` found.
enum Decoded {
    Record(TxnRecord, usize),
    /// Zeros: the preallocated end of the log.
    End,
    /// A partial or damaged record.
    Torn(String),
}

fn decode_record(buf: &[u8]) -> Decoded {
    if buf.len() < 8 {
        return if buf.iter().all(|b| *b == 0) {
            Decoded::End
        } else {
            Decoded::Torn("short record header".into())
        };
    }
    let crc = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let len = i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if crc == 0 && len == 0 {
        return Decoded::End;
    }
    if len <= 0 || len as usize > MAX_RECORD {
        return Decoded::Torn(format!("bad record length {len}"));
    }
    let len = len as usize;
    if buf.len() < 8 + len + 1 {
        return Decoded::Torn("record cut short".into());
    }
    let payload = &buf[8..8 + len];
    if crc32c::crc32c(payload) != crc {
        return Decoded::Torn("checksum mismatch".into());
    }
    if buf[8 + len] != END_OF_RECORD {
        return Decoded::Torn("missing end-of-record marker".into());
    }
    match TxnRecord::decode(payload) {
        Ok(rec) => Decoded::Record(rec, 8 + len + 1),
        Err(e) => Decoded::Torn(e.to_string()),
    }
}

fn file_header(magic: &[u8; 4]) -> Vec<u8> {
    let mut h = Vec::with_capacity(16);
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_be_bytes());
    h.extend_from_slice(&0i64.to_be_bytes());
    h
}

/// Files `<prefix>.<hex zxid>` in `dir`, sorted by zxid.
fn list_zxid_files(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(hex) = name.strip_prefix(prefix).and_then(|n| n.strip_prefix('.'))
            && let Ok(z) = u64::from_str_radix(hex, 16)
        {
            out.push((z as i64, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// A log file made ahead of time: header written, preallocated, fsynced, its directory
/// entry fsynced. Taking it at a roll costs a rename instead of three fsyncs; if a crash
/// beats the rename, recovery adopts `.log.spare.*` files by their first record.
struct Spare {
    file: File,
    path: PathBuf,
}

/// Prefix of spare log files.
const SPARE_PREFIX: &str = ".log.spare.";

fn make_spare(config: &StoreConfig, n: u64) -> Result<Spare, StoreError> {
    let dir = &config.log_dir;
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(format!("{SPARE_PREFIX}{n}"));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io_err(&path))?;
    file.write_all(&file_header(LOG_MAGIC))
        .map_err(io_err(&path))?;
    file.set_len(config.prealloc_bytes.max(4096))
        .map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    sync_dir(dir).map_err(io_err(dir))?;
    Ok(Spare { file, path })
}

/// Prepares spare log files on its own thread, one at a time, on request.
struct SparePreparer {
    ready: std::sync::mpsc::Receiver<Result<Spare, StoreError>>,
    request: std::sync::mpsc::Sender<()>,
}

impl SparePreparer {
    fn start(config: StoreConfig) -> SparePreparer {
        let (request, requests) = std::sync::mpsc::channel::<()>();
        let (done, ready) = std::sync::mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("LogPreparer".into())
            .spawn(move || {
                let mut n = 0u64;
                while requests.recv().is_ok() {
                    n += 1;
                    if done.send(make_spare(&config, n)).is_err() {
                        return;
                    }
                }
            });
        let _ = request.send(());
        SparePreparer { ready, request }
    }
}

/// The open txn log.
pub struct TxnLog {
    config: StoreConfig,
    /// Makes the next file ahead of time (`None`: files are made when needed).
    preparer: Option<SparePreparer>,
    file: Option<File>,
    path: PathBuf,
    /// Where the next record goes.
    pos: u64,
    /// The file's length (grows by preallocation).
    allocated: u64,
    /// The length changed since the last sync (so the next sync must include metadata).
    size_changed: bool,
    /// Bytes written since the last sync.
    dirty: bool,
}

impl TxnLog {
    pub fn new(config: StoreConfig) -> Self {
        TxnLog {
            config,
            preparer: None,
            file: None,
            path: PathBuf::new(),
            pos: 0,
            allocated: 0,
            size_changed: false,
            dirty: false,
        }
    }

    /// A log that prepares its next file on a thread of its own, so that rolling the log
    /// after a snapshot does not stall the write path.
    pub fn with_spares(config: StoreConfig) -> Self {
        let preparer = Some(SparePreparer::start(config.clone()));
        TxnLog {
            preparer,
            ..TxnLog::new(config)
        }
    }

    fn open_new(&mut self, first_zxid: i64) -> Result<(), StoreError> {
        let dir = self.config.log_dir.clone();
        let path = dir.join(format!("log.{:x}", first_zxid));
        if let Some(preparer) = &self.preparer
            && let Ok(spare) = preparer.ready.try_recv()
        {
            let spare = spare?;
            let _ = preparer.request.send(());
            fs::rename(&spare.path, &path).map_err(io_err(&path))?;
            let len = spare.file.metadata().map_err(io_err(&path))?.len();
            tracing::info!("Creating new log file: log.{:x}", first_zxid);
            self.file = Some(spare.file);
            self.path = path;
            self.pos = HEADER_LEN;
            self.allocated = len;
            self.size_changed = false;
            self.dirty = false;
            return Ok(());
        }
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.write_all(&file_header(LOG_MAGIC))
            .map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        sync_dir(&dir).map_err(io_err(&dir))?;
        tracing::info!("Creating new log file: log.{:x}", first_zxid);
        self.file = Some(file);
        self.path = path;
        self.pos = HEADER_LEN;
        self.allocated = HEADER_LEN;
        self.size_changed = false;
        self.dirty = false;
        Ok(())
    }

    /// Continues an existing log after recovery: appends go at `pos`.
    pub fn resume(&mut self, path: &Path, pos: u64) -> Result<(), StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        self.file = Some(file);
        self.path = path.to_path_buf();
        self.pos = pos;
        self.allocated = len.max(pos);
        Ok(())
    }

    /// Writes encoded records (not yet durable: call [`TxnLog::sync`]).
    pub fn append(&mut self, records: &[TxnRecord]) -> Result<(), StoreError> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        for rec in records {
            encode_record(rec, &mut bytes);
        }
        self.write_records(first.zxid, bytes)
    }

    /// Writes txns already encoded by [`TxnRecord::encode`] (a quorum's proposals), zxid first.
    pub fn append_encoded(&mut self, txns: &[(i64, &[u8])]) -> Result<(), StoreError> {
        let Some((first, _)) = txns.first() else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        for (_, payload) in txns {
            frame_record(payload, &mut bytes);
        }
        self.write_records(*first, bytes)
    }

    fn write_records(&mut self, first_zxid: i64, bytes: Vec<u8>) -> Result<(), StoreError> {
        if self.file.is_none() {
            self.open_new(first_zxid)?;
        }
        let end = self.pos + bytes.len() as u64;
        let path = self.path.clone();
        let file = self.file.as_mut().expect("opened above");
        if end > self.allocated {
            let block = self.config.prealloc_bytes.max(4096);
            let new_len = end.div_ceil(block) * block;
            file.set_len(new_len).map_err(io_err(&path))?;
            self.allocated = new_len;
            self.size_changed = true;
        }
        file.seek(SeekFrom::Start(self.pos))
            .map_err(io_err(&path))?;
        file.write_all(&bytes).map_err(io_err(&path))?;
        self.pos = end;
        self.dirty = true;
        Ok(())
    }

    /// Makes everything appended durable (fsync when `forceSync`).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(file) = self.file.as_mut()
            && self.config.force_sync
        {
            let r = if self.size_changed {
                file.sync_all()
            } else {
                file.sync_data()
            };
            r.map_err(io_err(&self.path))?;
            self.size_changed = false;
        }
        self.dirty = false;
        Ok(())
    }

    /// Ends the current file; the next append starts `log.<its zxid>`.
    pub fn roll(&mut self) -> Result<(), StoreError> {
        self.sync()?;
        self.file = None;
        Ok(())
    }

    /// Drops every logged txn after `zxid` and every snapshot after it, durably: a quorum
    /// learner's uncommitted tail that the leader's history lacks (TRUNC). Appends then
    /// continue in a new file.
    pub fn truncate_after(&mut self, zxid: i64) -> Result<(), StoreError> {
        self.sync()?;
        self.file = None;
        truncate_logs(&self.config, zxid)
    }

    pub fn current_path(&self) -> Option<&Path> {
        self.file.as_ref().map(|_| self.path.as_path())
    }
}

/// The snapshot's head: magic, the zxid the walk started at, the session table.
fn snapshot_head(sessions: &[(i64, i32)], zxid: i64) -> Vec<u8> {
    let mut out = file_header(SNAP_MAGIC);
    zxid.write(&mut out);
    (sessions.len() as i32).write(&mut out);
    for (id, timeout) in sessions {
        id.write(&mut out);
        timeout.write(&mut out);
    }
    out
}

fn write_node(node: NodeRef<'_>, out: &mut Vec<u8>) {
    out.push(1);
    node.path().to_string().write(out);
    match node.data() {
        Some(data) => {
            (data.len() as i32).write(out);
            out.extend_from_slice(data);
        }
        None => (-1i32).write(out),
    }
    (node.acl().len() as i32).write(out);
    for acl in node.acl().iter() {
        acl.write(out);
    }
    let s = node.stat();
    for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
        v.write(out);
    }
    for v in [s.version, s.cversion, s.aversion] {
        v.write(out);
    }
    s.ephemeral_owner.write(out);
    s.pzxid.write(out);
}

/// A parents-first walk of the tree that can be resumed between batches of requests, so a
/// snapshot never stalls the server: ZooKeeper's *fuzzy* snapshot. Nodes visited later may
/// reflect txns after the starting zxid; replaying the log from that zxid (txns are
/// idempotent) makes the result exact.
pub struct TreeWalk {
    cursor: WalkCursor,
}

impl Default for TreeWalk {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeWalk {
    pub fn new() -> Self {
        TreeWalk {
            cursor: WalkCursor::default(),
        }
    }

    /// Serializes up to `max_nodes` more nodes into `out`; true when the walk is complete.
    pub fn next_chunk(&mut self, tree: &DataTree, max_nodes: usize, out: &mut Vec<u8>) -> bool {
        tree.walk_some(&mut self.cursor, max_nodes, |node| write_node(node, out))
    }
}

/// A snapshot being written: `snapshot.<zxid>` appears only once it is complete and synced.
pub struct SnapshotWriter {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    crc: u32,
    /// Bytes written since the last flush to disk: a snapshot is synced in steps so its
    /// writeback never arrives as one burst that stalls the txn log's fsync.
    unsynced: usize,
}

/// How much snapshot data may be written before it is pushed to disk.
const SNAPSHOT_SYNC_STEP: usize = 4 << 20;

impl SnapshotWriter {
    pub fn create(
        config: &StoreConfig,
        zxid: i64,
        sessions: &[(i64, i32)],
    ) -> Result<SnapshotWriter, StoreError> {
        let dir = config.snap_dir.clone();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(format!("snapshot.{:x}", zxid));
        let tmp = dir.join(format!(".snapshot.{:x}.tmp", zxid));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = SnapshotWriter {
            file,
            tmp,
            path,
            dir,
            crc: 0,
            unsynced: 0,
        };
        w.append(&snapshot_head(sessions, zxid))?;
        Ok(w)
    }

    /// Node records from [`TreeWalk::next_chunk`].
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.file.write_all(bytes).map_err(io_err(&self.tmp))?;
        self.unsynced += bytes.len();
        if self.unsynced >= SNAPSHOT_SYNC_STEP {
            self.file.sync_data().map_err(io_err(&self.tmp))?;
            self.unsynced = 0;
        }
        Ok(())
    }

    /// Ends the node list, adds the checksum, fsyncs, renames into place, fsyncs the dir.
    pub fn finish(mut self) -> Result<PathBuf, StoreError> {
        self.append(&[0])?;
        let crc = self.crc.to_be_bytes();
        self.file.write_all(&crc).map_err(io_err(&self.tmp))?;
        self.file.sync_all().map_err(io_err(&self.tmp))?;
        fs::rename(&self.tmp, &self.path).map_err(io_err(&self.path))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        Ok(self.path)
    }
}

/// The whole tree as one snapshot image (startup, tests).
pub fn serialize_snapshot(tree: &DataTree, sessions: &[(i64, i32)], zxid: i64) -> Vec<u8> {
    let mut out = snapshot_head(sessions, zxid);
    TreeWalk::new().next_chunk(tree, usize::MAX, &mut out);
    out.push(0);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A loaded snapshot.
pub struct Snapshot {
    pub zxid: i64,
    pub sessions: Vec<(i64, i32)>,
    pub tree: DataTree,
}

/// Why bytes are not a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("too short")]
    TooShort,

    #[error("checksum mismatch")]
    Checksum,

    #[error("not a snapshot (bad magic)")]
    BadMagic,

    #[error("node {0} comes before its parent")]
    Orphan(String),

    #[error("no root node")]
    NoRoot,

    #[error(transparent)]
    Jute(#[from] jute::JuteError),
}

pub fn deserialize_snapshot(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    if bytes.len() < 16 + 4 {
        return Err(SnapshotError::TooShort);
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(SnapshotError::Checksum);
    }
    if &body[..4] != SNAP_MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let mut r = Reader::new(&body[16..], usize::MAX);
    let zxid = r.i64()?;
    let n = r.i32()?;
    let mut sessions = Vec::new();
    for _ in 0..n.max(0) {
        sessions.push((r.i64()?, r.i32()?));
    }
    let mut tree = DataTree::empty();
    loop {
        let more = r.bool()?;
        if !more {
            break;
        }
        let path = String::read(&mut r)?;
        let data = Option::<Vec<u8>>::read(&mut r)?;
        let n_acl = r.i32()?;
        let mut acl = Vec::new();
        for _ in 0..n_acl.max(0) {
            acl.push(jute::Acl::read(&mut r)?);
        }
        let stat = StatPersisted {
            czxid: r.i64()?,
            mzxid: r.i64()?,
            ctime: r.i64()?,
            mtime: r.i64()?,
            version: r.i32()?,
            cversion: r.i32()?,
            aversion: r.i32()?,
            ephemeral_owner: r.i64()?,
            pzxid: r.i64()?,
        };
        if path != "/" && tree.get(super::tree::split(&path).0).is_none() {
            return Err(SnapshotError::Orphan(path));
        }
        tree.insert_raw(&path, data, acl.into(), stat);
    }
    r.finish()?;
    if tree.get("/").is_none() {
        return Err(SnapshotError::NoRoot);
    }
    Ok(Snapshot {
        zxid,
        sessions,
        tree,
    })
}

/// Writes `snapshot.<zxid>` from a whole image durably (temp file, fsync, rename, fsync dir).
pub fn write_snapshot(
    config: &StoreConfig,
    zxid: i64,
    bytes: &[u8],
) -> Result<PathBuf, StoreError> {
    let dir = &config.snap_dir;
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(format!("snapshot.{:x}", zxid));
    let tmp = dir.join(format!(".snapshot.{:x}.tmp", zxid));
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir).map_err(io_err(dir))?;
    Ok(path)
}

/// The database as it was at the last durable txn.
pub struct Recovered {
    pub tree: DataTree,
    pub sessions: Vec<(i64, i32)>,
    pub last_zxid: i64,
    /// The log to continue appending to and where, if its tail is usable.
    pub resume: Option<(PathBuf, u64)>,
    /// Txns replayed from logs (to decide when the next snapshot is due).
    pub replayed: u64,
    /// The last `tail_len` records replayed or skipped, in order, ending at `last_zxid`
    /// when the log reaches it (a quorum leader syncs learners from them).
    pub tail: Vec<TxnRecord>,
}

/// Loads the newest valid snapshot and replays the logs after it.
pub fn recover(config: &StoreConfig) -> Result<Recovered, StoreError> {
    recover_up_to(config, None, 0)
}

/// [`recover`], ignoring snapshots and txns after `limit`, and keeping the last `tail_len`
/// records.
pub fn recover_up_to(
    config: &StoreConfig,
    limit: Option<i64>,
    tail_len: usize,
) -> Result<Recovered, StoreError> {
    // With a limit this reads the files of a running server (whose syncer may be appending
    // past the limit): it changes nothing on disk then.
    let live = limit.is_some();
    let limit = limit.unwrap_or(i64::MAX);
    let mut tail: std::collections::VecDeque<TxnRecord> = std::collections::VecDeque::new();
    // A snapshot a crash interrupted never became a snapshot: drop its temp file.
    if let Ok(entries) = fs::read_dir(&config.snap_dir)
        && !live
    {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(".snapshot.") && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let mut snaps = list_zxid_files(&config.snap_dir, "snapshot")?;
    snaps.retain(|(z, _)| *z <= limit);
    let mut base: Option<Snapshot> = None;
    for (_, path) in snaps.iter().rev() {
        let bytes = fs::read(path).map_err(io_err(path))?;
        match deserialize_snapshot(&bytes) {
            Ok(s) => {
                tracing::info!("Reading snapshot {}", path.display());
                base = Some(s);
                break;
            }
            Err(reason) => {
                tracing::warn!("problem reading snap file {}: {reason}", path.display());
            }
        }
    }
    let mut logs = list_zxid_files(&config.log_dir, "log")?;
    if !live {
        logs.extend(adopt_spares(&config.log_dir)?);
    }
    logs.sort();
    let (mut tree, sessions, mut last_zxid) = match base {
        Some(s) => (s.tree, s.sessions, s.zxid),
        None => {
            if !snaps.is_empty() {
                return Err(StoreError::Inconsistent(format!(
                    "no valid snapshot among {} snapshot files in {}",
                    snaps.len(),
                    config.snap_dir.display()
                )));
            }
            (DataTree::new(), Vec::new(), 0)
        }
    };
    let mut session_map: std::collections::BTreeMap<i64, i32> = sessions.into_iter().collect();
    // The last log starting at or before the snapshot may hold later txns; earlier ones can't.
    // Failing that, a log may start right after it in a later epoch (a quorum's first txn of
    // an epoch is (epoch, 1), and a database may start empty at zxid 0).
    let first = logs
        .iter()
        .rposition(|(z, _)| *z <= last_zxid + 1)
        .or_else(|| logs.iter().position(|(z, _)| zab::follows(last_zxid, *z)))
        .unwrap_or(0);
    let wanted = &logs[first.min(logs.len())..];
    if let Some((z, path)) = wanted.first()
        && *z > last_zxid + 1
        && !zab::follows(last_zxid, *z)
    {
        return Err(StoreError::Inconsistent(format!(
            "{} starts at zxid 0x{z:x} but the database ends at 0x{last_zxid:x}: txns are missing",
            path.display()
        )));
    }
    let mut resume = None;
    let mut replayed = 0u64;
    for (i, (_, path)) in wanted.iter().enumerate() {
        let is_last = i + 1 == wanted.len();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(path))?;
        if bytes.len() < HEADER_LEN as usize || &bytes[..4] != LOG_MAGIC {
            let never_written = bytes.len() < HEADER_LEN as usize || bytes.iter().all(|b| *b == 0);
            if is_last && never_written {
                // Created but its header never became durable: nothing in it was acknowledged.
                tracing::warn!("Removing empty txn log {}", path.display());
                drop(file);
                fs::remove_file(path).map_err(io_err(path))?;
                continue;
            }
            return Err(StoreError::Corrupt {
                path: path.clone(),
                reason: "not a txn log (bad magic)".into(),
            });
        }
        let mut pos = HEADER_LEN as usize;
        loop {
            match decode_record(&bytes[pos..]) {
                Decoded::Record(rec, used) => {
                    if rec.zxid > limit {
                        pos += used;
                        continue;
                    }
                    if tail_len > 0 {
                        tail.push_back(rec.clone());
                        if tail.len() > tail_len {
                            tail.pop_front();
                        }
                    }
                    if rec.zxid > last_zxid {
                        if !zab::follows(last_zxid, rec.zxid) {
                            return Err(StoreError::Corrupt {
                                path: path.clone(),
                                reason: format!("zxid gap: 0x{:x} after 0x{last_zxid:x}", rec.zxid),
                            });
                        }
                        let mut changes = Vec::new();
                        tree.apply(rec.zxid, rec.time_ms, &rec.txn, &mut changes);
                        match &rec.txn {
                            Txn::CreateSession { timeout_ms } => {
                                session_map.insert(rec.session, *timeout_ms);
                            }
                            Txn::CloseSession { .. } => {
                                session_map.remove(&rec.session);
                            }
                            _ => {}
                        }
                        last_zxid = rec.zxid;
                        replayed += 1;
                    }
                    pos += used;
                }
                Decoded::End => break,
                Decoded::Torn(_) if live => break,
                Decoded::Torn(reason) => {
                    if !is_last {
                        return Err(StoreError::Corrupt {
                            path: path.clone(),
                            reason: format!("{reason} at offset {pos}"),
                        });
                    }
                    tracing::warn!(
                        "Truncating torn tail of {} at offset {pos} ({reason})",
                        path.display()
                    );
                    file.set_len(pos as u64).map_err(io_err(path))?;
                    file.sync_all().map_err(io_err(path))?;
                    break;
                }
            }
        }
        if is_last {
            resume = Some((path.clone(), pos as u64));
        }
    }
    tracing::info!("Snapshot and log loaded up to zxid 0x{last_zxid:x}");
    // Only records of the history that ends at last_zxid make a usable tail.
    while tail.back().is_some_and(|r| r.zxid > last_zxid) {
        tail.pop_back();
    }
    let mut tail: Vec<TxnRecord> = tail.into_iter().collect();
    if let Some(i) = (1..tail.len())
        .rev()
        .find(|i| !zab::follows(tail[i - 1].zxid, tail[*i].zxid))
    {
        tail.drain(..i);
    }
    Ok(Recovered {
        tree,
        sessions: session_map.into_iter().collect(),
        last_zxid,
        resume,
        replayed,
        tail,
    })
}

/// Removes txns after `zxid` from the logs (whole files that start after it, the tail of the
/// one holding it) and snapshots taken after it, then syncs what changed.
pub fn truncate_logs(config: &StoreConfig, zxid: i64) -> Result<(), StoreError> {
    for (z, path) in list_zxid_files(&config.snap_dir, "snapshot")? {
        if z > zxid {
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    let logs = list_zxid_files(&config.log_dir, "log")?;
    for (first, path) in logs {
        if first > zxid {
            tracing::info!("Removing {} (after 0x{zxid:x})", path.display());
            fs::remove_file(&path).map_err(io_err(&path))?;
            continue;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        if bytes.len() < HEADER_LEN as usize {
            continue;
        }
        let mut pos = HEADER_LEN as usize;
        let mut cut = None;
        while let Decoded::Record(rec, used) = decode_record(&bytes[pos..]) {
            if rec.zxid > zxid {
                cut = Some(pos);
                break;
            }
            pos += used;
        }
        if let Some(at) = cut {
            tracing::info!(
                "Truncating {} at offset {at} (after 0x{zxid:x})",
                path.display()
            );
            file.set_len(at as u64).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
    }
    for dir in [&config.log_dir, &config.snap_dir] {
        if dir.exists() {
            sync_dir(dir).map_err(io_err(dir))?;
        }
    }
    Ok(())
}

/// Removes the log files that start at or before `zxid`, once a durable snapshot at `zxid`
/// covers them and nothing after `zxid` is logged (a learner installing its leader's
/// snapshot): what they hold may be another history, which must not be replayed or served.
pub fn remove_logs_covered_by(config: &StoreConfig, zxid: i64) -> Result<(), StoreError> {
    let mut removed = false;
    for (first, path) in list_zxid_files(&config.log_dir, "log")? {
        if first <= zxid {
            tracing::info!(
                "Removing {} (covered by snapshot 0x{zxid:x})",
                path.display()
            );
            fs::remove_file(&path).map_err(io_err(&path))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(&config.log_dir).map_err(io_err(&config.log_dir))?;
    }
    Ok(())
}

/// The zxid of the newest snapshot file, if any.
pub fn latest_snapshot_zxid(config: &StoreConfig) -> Result<Option<i64>, StoreError> {
    Ok(list_zxid_files(&config.snap_dir, "snapshot")?
        .into_iter()
        .map(|(z, _)| z)
        .max())
}

/// Reads `version-2/<name>` (acceptedEpoch, currentEpoch): `None` when absent.
pub fn read_epoch(config: &StoreConfig, name: &str) -> Result<Option<u32>, StoreError> {
    let path = config.snap_dir.join(name);
    match fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                path: path.clone(),
                reason: format!("not an epoch: {:?}", text.trim()),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// Writes `version-2/<name>` durably: a temp file, fsync, rename, fsync of the directory.
pub fn write_epoch(config: &StoreConfig, name: &str, epoch: u32) -> Result<(), StoreError> {
    let dir = &config.snap_dir;
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(epoch.to_string().as_bytes())
            .map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir).map_err(io_err(dir))
}

/// Spare log files a crash left: one holding records was in use before its rename became
/// durable and counts as the log starting at its first record; an empty one is removed.
fn adopt_spares(dir: &Path) -> Result<Vec<(i64, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(SPARE_PREFIX) {
            continue;
        }
        let path = entry.path();
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let first = (bytes.len() > HEADER_LEN as usize && &bytes[..4] == LOG_MAGIC)
            .then(|| decode_record(&bytes[HEADER_LEN as usize..]))
            .and_then(|d| match d {
                Decoded::Record(rec, _) => Some(rec.zxid),
                _ => None,
            });
        match first {
            Some(zxid) => {
                let named = dir.join(format!("log.{:x}", zxid));
                tracing::warn!("Adopting {} as {}", path.display(), named.display());
                fs::rename(&path, &named).map_err(io_err(&named))?;
                sync_dir(dir).map_err(io_err(dir))?;
                out.push((zxid, named));
            }
            None => {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
    }
    Ok(out)
}

/// Keeps the newest `snap_retain_count` snapshots and the logs they need
/// (ZooKeeper's `PurgeTxnLog`).
pub fn purge(config: &StoreConfig) -> Result<usize, StoreError> {
    let snaps = list_zxid_files(&config.snap_dir, "snapshot")?;
    let keep = config.snap_retain_count.max(3);
    if snaps.len() <= keep {
        return Ok(0);
    }
    let oldest_kept = snaps[snaps.len() - keep].0;
    let mut removed = 0;
    for (_, path) in &snaps[..snaps.len() - keep] {
        fs::remove_file(path).map_err(io_err(path))?;
        removed += 1;
    }
    let logs = list_zxid_files(&config.log_dir, "log")?;
    // The newest log starting at or before the oldest kept snapshot is still needed.
    if let Some(needed) = logs.iter().rposition(|(z, _)| *z <= oldest_kept) {
        for (_, path) in &logs[..needed] {
            fs::remove_file(path).map_err(io_err(path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Total size of the logs and snapshots in `dir` (`dirs`, `conf`); hidden files (a spare
/// log, a snapshot being written) are ours, not ZooKeeper's, and are left out.
pub fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::tree::open_acl_unsafe;
    use crate::seeded::{self, SeededRng};

    fn config(dir: &Path) -> StoreConfig {
        let mut c = StoreConfig::new(dir, &dir.join("logs"));
        c.prealloc_bytes = 4096;
        c
    }

    fn rec(zxid: i64, txn: Txn) -> TxnRecord {
        TxnRecord {
            session: 7,
            cxid: 1,
            zxid,
            time_ms: 1000 + zxid,
            txn,
        }
    }

    fn create(zxid: i64, path: &str, pc: i32) -> TxnRecord {
        rec(
            zxid,
            Txn::Create {
                path: path.into(),
                data: Some(b"x".to_vec()),
                acl: open_acl_unsafe(),
                ephemeral_owner: 0,
                parent_cversion: pc,
            },
        )
    }

    #[test]
    fn every_txn_kind_round_trips_through_a_record() {
        let txns = vec![
            Txn::CreateSession { timeout_ms: 5000 },
            Txn::CloseSession {
                paths: vec!["/e".into()],
            },
            create(3, "/a", 1).txn,
            Txn::Delete { path: "/a".into() },
            Txn::SetData {
                path: "/a".into(),
                data: Some(vec![1, 2]),
                version: 3,
            },
            Txn::SetAcl {
                path: "/a".into(),
                acl: open_acl_unsafe(),
                version: 1,
            },
            Txn::Check { path: "/a".into() },
            Txn::Error { code: -101 },
            Txn::Multi(vec![
                Txn::Delete { path: "/a".into() },
                Txn::Check { path: "/b".into() },
            ]),
        ];
        for (i, txn) in txns.into_iter().enumerate() {
            let r = rec(i as i64 + 1, txn);
            let mut bytes = Vec::new();
            encode_record(&r, &mut bytes);
            match decode_record(&bytes) {
                Decoded::Record(back, used) => {
                    assert_eq!(back, r);
                    assert_eq!(used, bytes.len());
                }
                _ => panic!("record {i} did not decode"),
            }
            // Any cut or flipped byte is torn, never a wrong record.
            for cut in 1..bytes.len() {
                assert!(!matches!(decode_record(&bytes[..cut]), Decoded::Record(..)));
            }
            let mut flipped = bytes.clone();
            flipped[10] ^= 0x40;
            assert!(matches!(decode_record(&flipped), Decoded::Torn(_)));
        }
    }

    #[test]
    fn quorum_logs_cross_epochs_truncate_exactly_and_recover_a_tail() {
        use crate::coord::zab::make_zxid;
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::new(cfg.clone());
        // Epoch 1: three txns; epoch 2 starts at counter 1 (a zxid "gap" that is no gap).
        let e1: Vec<TxnRecord> = vec![
            rec(make_zxid(1, 1), Txn::CreateSession { timeout_ms: 4000 }),
            create(make_zxid(1, 2), "/a", 1),
            create(make_zxid(1, 3), "/b", 2),
        ];
        log.append(&e1).unwrap();
        let e2 = create(make_zxid(2, 1), "/c", 3);
        let encoded = e2.encode();
        assert_eq!(TxnRecord::decode(&encoded).unwrap().zxid, e2.zxid);
        log.append_encoded(&[(e2.zxid, &encoded)]).unwrap();
        log.sync().unwrap();
        let r = recover_up_to(&cfg, None, 10).unwrap();
        assert_eq!(r.last_zxid, make_zxid(2, 1));
        let tail: Vec<i64> = r.tail.iter().map(|t| t.zxid).collect();
        assert_eq!(
            tail,
            [
                make_zxid(1, 1),
                make_zxid(1, 2),
                make_zxid(1, 3),
                make_zxid(2, 1)
            ]
        );
        // A read bounded at (1, 2) sees that prefix only and changes nothing on disk.
        let r = recover_up_to(&cfg, Some(make_zxid(1, 2)), 1).unwrap();
        assert_eq!(r.last_zxid, make_zxid(1, 2));
        assert!(r.tree.get("/b").is_none());
        assert_eq!(r.tail.len(), 1);
        assert_eq!(recover(&cfg).unwrap().last_zxid, make_zxid(2, 1));

        // TRUNC to (1, 2): the tail goes durably, appends continue in a new file.
        log.truncate_after(make_zxid(1, 2)).unwrap();
        assert_eq!(recover(&cfg).unwrap().last_zxid, make_zxid(1, 2));
        log.append(&[create(make_zxid(3, 1), "/d", 2)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, make_zxid(3, 1));
        assert!(r.tree.get("/b").is_none() && r.tree.get("/c").is_none());
        assert!(r.tree.get("/d").is_some());
        // A history with a real hole is refused.
        let mut log = TxnLog::new(cfg.clone());
        log.roll().unwrap();
        log.append(&[create(make_zxid(3, 3), "/e", 3)]).unwrap();
        log.sync().unwrap();
        assert!(matches!(recover(&cfg), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn epoch_files_are_written_atomically_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        assert_eq!(read_epoch(&cfg, "acceptedEpoch").unwrap(), None);
        write_epoch(&cfg, "acceptedEpoch", 7).unwrap();
        write_epoch(&cfg, "acceptedEpoch", 8).unwrap();
        assert_eq!(read_epoch(&cfg, "acceptedEpoch").unwrap(), Some(8));
        assert!(!cfg.snap_dir.join("acceptedEpoch.tmp").exists());
        fs::write(cfg.snap_dir.join("currentEpoch"), "x1").unwrap();
        let err = read_epoch(&cfg, "currentEpoch").unwrap_err().to_string();
        assert!(
            err.contains("currentEpoch") && err.contains("not an epoch"),
            "{err}"
        );
    }

    #[test]
    fn logs_recover_and_torn_tails_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::new(cfg.clone());
        log.append(&[
            rec(1, Txn::CreateSession { timeout_ms: 4000 }),
            create(2, "/a", 1),
        ])
        .unwrap();
        log.append(&[create(3, "/b", 2)]).unwrap();
        log.sync().unwrap();
        let path = log.current_path().unwrap().to_path_buf();
        assert_eq!(path.file_name().unwrap(), "log.1");
        assert_eq!(fs::metadata(&path).unwrap().len(), 4096, "preallocated");
        drop(log);
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, 3);
        assert!(r.tree.get("/b").is_some());
        assert_eq!(r.sessions, [(7, 4000)]);
        let (resume_path, resume_pos) = r.resume.clone().unwrap();
        assert_eq!(resume_path, path);

        // A torn write of the 4th record: half of it on disk.
        let mut bytes = Vec::new();
        encode_record(&create(4, "/c", 3), &mut bytes);
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(resume_pos)).unwrap();
        f.write_all(&bytes[..bytes.len() / 2]).unwrap();
        drop(f);
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, 3);
        assert!(r.tree.get("/c").is_none());
        assert_eq!(fs::metadata(&path).unwrap().len(), resume_pos, "truncated");
        // Appending after the truncation continues the same log.
        let mut log = TxnLog::new(cfg.clone());
        log.resume(&path, resume_pos).unwrap();
        log.append(&[create(4, "/c", 3)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, 4);
        assert!(r.tree.get("/c").is_some());
    }

    #[test]
    fn snapshots_plus_later_logs_recover_and_purge_keeps_what_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::new(cfg.clone());
        let mut tree = DataTree::new();
        let mut zxid = 0i64;
        for round in 0..5 {
            let mut batch = Vec::new();
            for i in 0..3 {
                zxid += 1;
                let r = create(zxid, &format!("/n{round}-{i}"), zxid as i32);
                let mut ch = Vec::new();
                tree.apply(r.zxid, r.time_ms, &r.txn, &mut ch);
                batch.push(r);
            }
            log.append(&batch).unwrap();
            log.roll().unwrap();
            write_snapshot(&cfg, zxid, &serialize_snapshot(&tree, &[(9, 3000)], zxid)).unwrap();
        }
        // Txns after the last snapshot.
        zxid += 1;
        log.append(&[create(zxid, "/after", zxid as i32)]).unwrap();
        log.sync().unwrap();
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, 16);
        assert!(r.tree.get("/n4-2").is_some() && r.tree.get("/after").is_some());
        assert_eq!(r.sessions, [(9, 3000)]);
        assert_eq!(r.tree.stat("/").unwrap(), {
            let mut ch = Vec::new();
            let c = create(zxid, "/after", zxid as i32);
            tree.apply(c.zxid, c.time_ms, &c.txn, &mut ch);
            tree.stat("/").unwrap()
        });
        let removed = purge(&cfg).unwrap();
        assert_eq!(
            removed,
            2 + 2,
            "two old snapshots and the logs only they needed"
        );
        let r2 = recover(&cfg).unwrap();
        assert_eq!(r2.last_zxid, 16);
        // A damaged newest snapshot falls back to the previous one plus logs.
        let snaps = list_zxid_files(&cfg.snap_dir, "snapshot").unwrap();
        let newest = &snaps.last().unwrap().1;
        let mut bytes = fs::read(newest).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        fs::write(newest, bytes).unwrap();
        let r3 = recover(&cfg).unwrap();
        assert_eq!(r3.last_zxid, 16);
        assert!(r3.tree.get("/n4-0").is_some());
    }

    #[test]
    fn corruption_before_the_last_log_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::new(cfg.clone());
        log.append(&[create(1, "/a", 1), create(2, "/b", 2)])
            .unwrap();
        log.roll().unwrap();
        log.append(&[create(3, "/c", 3)]).unwrap();
        log.sync().unwrap();
        let first = cfg.log_dir.join("log.1");
        let mut bytes = fs::read(&first).unwrap();
        bytes[HEADER_LEN as usize + 12] ^= 0xff;
        fs::write(&first, bytes).unwrap();
        match recover(&cfg) {
            Err(StoreError::Corrupt { path, reason }) => {
                assert_eq!(path, first);
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("{:?}", other.map(|r| r.last_zxid)),
        }
        // A missing first log (txns 1..2) is refused, not treated as an empty database.
        fs::remove_file(&first).unwrap();
        assert!(matches!(recover(&cfg), Err(StoreError::Inconsistent(_))));
    }

    /// Snapshot walks interleaved with random txns, then recovery from the fuzzy snapshot
    /// plus the log, must equal the live tree exactly.
    #[test]
    fn fuzzy_snapshots_plus_replay_equal_the_live_tree() {
        use crate::coord::tree::split;
        for seed in seeded::seeds(1..=30) {
            seeded::announce(seed);
            let mut rng = SeededRng::new(seed);
            let mut rand = move |n: u64| rng.below(n);
            let dir = tempfile::tempdir().unwrap();
            let cfg = config(dir.path());
            let mut log = TxnLog::new(cfg.clone());
            let mut tree = DataTree::new();
            let mut zxid = 0i64;
            let step =
                |tree: &mut DataTree, log: &mut TxnLog, zxid: &mut i64, r: u64, pick: u64| {
                    // Paths under a few parents; creates, deletes and setData chosen at random.
                    let path = format!("/p{}/n{}", pick % 4, r % 30);
                    let parent = split(&path).0.to_string();
                    let txn = if tree.get(&parent).is_none() {
                        let pc = tree.get("/").unwrap().stat().cversion + 1;
                        Txn::Create {
                            path: parent,
                            data: Some(vec![1]),
                            acl: open_acl_unsafe(),
                            ephemeral_owner: 0,
                            parent_cversion: pc,
                        }
                    } else if tree.get(&path).is_none() {
                        let pc = tree.get(&parent).unwrap().stat().cversion + 1;
                        Txn::Create {
                            path,
                            data: Some(vec![2]),
                            acl: open_acl_unsafe(),
                            ephemeral_owner: 0,
                            parent_cversion: pc,
                        }
                    } else if r.is_multiple_of(3) {
                        Txn::Delete { path }
                    } else {
                        let v = tree.get(&path).unwrap().stat().version + 1;
                        Txn::SetData {
                            path,
                            data: Some(vec![r as u8; 3]),
                            version: v,
                        }
                    };
                    *zxid += 1;
                    let rec = rec(*zxid, txn);
                    let mut ch = Vec::new();
                    tree.apply(rec.zxid, rec.time_ms, &rec.txn, &mut ch);
                    log.append(&[rec]).unwrap();
                };
            for _ in 0..150 {
                let (r, pick) = (rand(1000), rand(1000));
                step(&mut tree, &mut log, &mut zxid, r, pick);
            }
            // Start a fuzzy snapshot; keep changing the tree between chunks.
            log.roll().unwrap();
            let mut writer = SnapshotWriter::create(&cfg, zxid, &[]).unwrap();
            let mut walk = TreeWalk::new();
            loop {
                let mut chunk = Vec::new();
                let done = walk.next_chunk(&tree, 3, &mut chunk);
                writer.append(&chunk).unwrap();
                for _ in 0..rand(6) {
                    let (r, pick) = (rand(1000), rand(1000));
                    step(&mut tree, &mut log, &mut zxid, r, pick);
                }
                if done {
                    break;
                }
            }
            log.sync().unwrap();
            writer.finish().unwrap();
            for _ in 0..20 {
                let (r, pick) = (rand(1000), rand(1000));
                step(&mut tree, &mut log, &mut zxid, r, pick);
            }
            log.sync().unwrap();
            let r = recover(&cfg).unwrap();
            assert_eq!(r.last_zxid, zxid, "seed {seed}");
            let mut live = Vec::new();
            tree.walk(|n| {
                live.push((
                    n.path().to_string(),
                    n.data().map(<[u8]>::to_vec),
                    n.client_stat(),
                ))
            });
            let mut back = Vec::new();
            r.tree.walk(|n| {
                back.push((
                    n.path().to_string(),
                    n.data().map(<[u8]>::to_vec),
                    n.client_stat(),
                ))
            });
            live.sort_by(|a, b| a.0.cmp(&b.0));
            back.sort_by(|a, b| a.0.cmp(&b.0));
            let differing: Vec<String> = live
                .iter()
                .filter(|l| !back.contains(l))
                .map(|l| format!("live {l:?}"))
                .chain(
                    back.iter()
                        .filter(|b| !live.contains(b))
                        .map(|b| format!("recovered {b:?}")),
                )
                .collect();
            assert!(
                differing.is_empty(),
                "seed {seed}:\n{}",
                differing.join("\n")
            );
        }
    }

    #[test]
    fn spare_logs_are_used_at_rolls_and_adopted_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let mut log = TxnLog::with_spares(cfg.clone());
        log.append(&[create(1, "/a", 1)]).unwrap();
        log.sync().unwrap();
        log.roll().unwrap();
        // The preparer works on its own thread; wait (with a deadline) for a spare.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !files_named(&cfg.log_dir, SPARE_PREFIX) {
            assert!(
                std::time::Instant::now() < deadline,
                "no spare log appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        log.append(&[create(2, "/b", 2)]).unwrap();
        log.sync().unwrap();
        drop(log);
        let second = cfg.log_dir.join("log.2");
        assert_eq!(
            fs::metadata(&second).unwrap().len(),
            4096,
            "the preallocated spare"
        );
        // A crash before the rename reached the disk: the file is still a spare.
        fs::rename(&second, cfg.log_dir.join(".log.spare.7")).unwrap();
        let r = recover(&cfg).unwrap();
        assert_eq!(r.last_zxid, 2);
        assert!(r.tree.get("/b").is_some());
        assert!(second.exists(), "adopted under its proper name");
        // A spare nothing was written to is removed.
        let empty = cfg.log_dir.join(".log.spare.99");
        let mut bytes = file_header(LOG_MAGIC);
        bytes.resize(4096, 0);
        fs::write(&empty, bytes).unwrap();
        assert_eq!(recover(&cfg).unwrap().last_zxid, 2);
        assert!(!empty.exists());
    }

    fn files_named(dir: &Path, prefix: &str) -> bool {
        fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
            })
            .unwrap_or(false)
    }
}
