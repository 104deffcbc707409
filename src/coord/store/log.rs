//! The txn log: record framing and checksums, `log.<zxid>` files with their header and
//! preallocation, spare files prepared ahead, appends with group fsync, and truncation.

use super::*;

/// Frames a payload as a log record: checksum, length, payload, end marker.
pub(super) fn frame_record(payload: &[u8], out: &mut Vec<u8>) {
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
pub(super) enum Decoded<'a> {
    /// A whole record: the zxid in its txn header, its payload (the txn's bytes) and how many
    /// bytes of `buf` it took.
    Record {
        zxid: i64,
        payload: &'a [u8],
        used: usize,
    },
    /// Zeros: the preallocated end of the log.
    End,
    /// A partial or damaged record.
    Torn(String),
}

pub(super) fn decode_record(buf: &[u8]) -> Decoded<'_> {
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
    match TxnRecord::zxid_of(payload) {
        Ok(zxid) => Decoded::Record {
            zxid,
            payload,
            used: 8 + len + 1,
        },
        Err(e) => Decoded::Torn(e.to_string()),
    }
}

pub(super) fn file_header(magic: &[u8; 4]) -> Vec<u8> {
    let mut h = Vec::with_capacity(16);
    h.extend_from_slice(magic);
    h.extend_from_slice(&VERSION.to_be_bytes());
    h.extend_from_slice(&0i64.to_be_bytes());
    h
}

/// Files `<prefix>.<hex zxid>` in `dir`, sorted by zxid.
pub(super) fn list_zxid_files(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>, StoreError> {
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
pub(super) struct Spare {
    file: File,
    path: PathBuf,
}

/// Prefix of spare log files.
pub(super) const SPARE_PREFIX: &str = ".log.spare.";

/// A new (or emptied) log file at `path` holding only its header; not yet synced.
fn create_log_file(path: &Path) -> Result<File, StoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_err(path))?;
    file.write_all(&file_header(LOG_MAGIC))
        .map_err(io_err(path))?;
    Ok(file)
}

pub(super) fn make_spare(config: &StoreConfig, n: u64) -> Result<Spare, StoreError> {
    let dir = &config.log_dir;
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(format!("{SPARE_PREFIX}{n}"));
    let file = create_log_file(&path)?;
    file.set_len(config.prealloc_bytes.max(4096))
        .map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    sync_dir(dir).map_err(io_err(dir))?;
    Ok(Spare { file, path })
}

/// Prepares spare log files on its own thread, one at a time, on request.
pub(super) struct SparePreparer {
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
        let file = create_log_file(&path)?;
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
        while let Decoded::Record { zxid: at, used, .. } = decode_record(&bytes[pos..]) {
            if at > zxid {
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
