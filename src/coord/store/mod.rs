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
//!
//! Layout: `zab_store` (the [`ZabStore`] trait every driver and the ZAB simulator persist
//! through, and [`FileStore`], its implementation on these files), `mem` ([`MemStore`], the
//! same rules in memory), `conformance` (the checks both pass), `log` (records, log files,
//! spares, truncation), `snapshot` (writing and loading snapshots), `recovery` (snapshot
//! plus replay); this file holds the configuration, the errors, the epoch files and purging.

#[cfg(test)]
mod conformance;
mod log;
mod mem;
mod recovery;
mod snapshot;
#[cfg(test)]
mod tests;
mod zab_store;

pub use log::*;
pub use mem::*;
use recovery::*;
pub use snapshot::*;
pub use zab_store::*;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::jute::{self, Jute, Reader};
use super::tree::{DataTree, NodeRef, StatPersisted, WalkCursor};
use super::txn::{Txn, TxnRecord};
use super::zab::{self, Entry};

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
