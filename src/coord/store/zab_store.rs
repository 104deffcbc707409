//! `ZabStore`: what a coordination server keeps durable, as the operations ZAB and the
//! standalone pipeline are written against — two epoch numbers, a txn log with group sync,
//! snapshots, truncation, and loading what survived. Two implementations: [`FileStore`] (the
//! `version-2/` layout ZooKeeper writes) and [`MemStore`] (in memory, losing what was not
//! synced at a simulated crash, for the ZAB simulator and fault tests). One conformance suite
//! (`conformance`) runs against both.
//!
//! Durability contract: `write_epoch`, `sync`, `roll`, `truncate_after`, `write_snapshot`,
//! `remove_logs_covered_by` and `install_snapshot` return only once what they changed
//! survives a crash; `append` is durable once a later `sync` returned. `load` sees every
//! synced txn, never one that was torn, and refuses a history with a hole.

use std::collections::BTreeMap;

use super::*;
use crate::coord::txn::TxnError;
use crate::coord::zab::{Entry, StoreOp};

/// The two numbers a quorum member persists beside its snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EpochFile {
    /// `acceptedEpoch`: the highest epoch this server acknowledged a NEWEPOCH for.
    Accepted,
    /// `currentEpoch`: the epoch of the last NEWLEADER this server acknowledged.
    Current,
}

impl EpochFile {
    pub fn file_name(self) -> &'static str {
        match self {
            EpochFile::Accepted => "acceptedEpoch",
            EpochFile::Current => "currentEpoch",
        }
    }
}

/// The state machine a store rebuilds: a snapshot image, then logged txns in zxid order.
pub trait Replica: Sized {
    /// The database before any txn (zxid 0).
    fn empty() -> Self;
    /// The database a snapshot image at `zxid` holds; an error makes recovery fall back to
    /// an older snapshot.
    fn from_image(zxid: i64, image: &[u8]) -> Result<Self, SnapshotError>;
    /// Applies one logged txn (its bytes as logged); an error is corruption.
    fn apply(&mut self, zxid: i64, payload: &[u8]) -> Result<(), ReplayError>;
}

/// A logged txn that cannot be replayed onto the database: the log is corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Txn(#[from] TxnError),

    #[error("record 0x{record:x} holds txn 0x{holds:x}")]
    Misnumbered { record: i64, holds: i64 },

    #[error("zxid gap: 0x{zxid:x} after 0x{after:x}")]
    Gap { zxid: i64, after: i64 },
}

/// What a store holds, as of its last durable txn (or of a limit).
pub struct Loaded<R> {
    pub db: R,
    pub last_zxid: i64,
    /// The zxid of the snapshot the database started from (0 without one): a quorum's log
    /// cannot be truncated below it.
    pub snapshot_zxid: i64,
    /// Txns replayed from the log (to decide when the next snapshot is due).
    pub replayed: u64,
    /// The last logged txns after the snapshot, contiguous, ending at `last_zxid` when the
    /// log reaches it (a quorum leader syncs learners from them).
    pub tail: Vec<Entry>,
}

pub trait ZabStore {
    fn read_epoch(&self, which: EpochFile) -> Result<Option<u32>, StoreError>;
    fn write_epoch(&mut self, which: EpochFile, epoch: u32) -> Result<(), StoreError>;
    /// Appends txns (zxid and bytes, in zxid order); durable after the next [`Self::sync`].
    fn append(&mut self, txns: &[(i64, &[u8])]) -> Result<(), StoreError>;
    /// Makes every append durable (one fsync for all of them when `forceSync`).
    fn sync(&mut self) -> Result<(), StoreError>;
    /// Syncs, then starts a new log with the next append (a snapshot begins here).
    fn roll(&mut self) -> Result<(), StoreError>;
    /// Drops every logged txn after `zxid` and every snapshot after it, durably.
    fn truncate_after(&mut self, zxid: i64) -> Result<(), StoreError>;
    /// Stores a whole snapshot image at `zxid` durably.
    fn write_snapshot(&mut self, zxid: i64, image: &[u8]) -> Result<(), StoreError>;
    /// Drops the logs that start at or before `zxid` (a snapshot at `zxid` covers them); the
    /// next append starts a new log.
    fn remove_logs_covered_by(&mut self, zxid: i64) -> Result<(), StoreError>;
    /// The newest snapshot at or below `limit` that `R` accepts, plus the synced txns after
    /// it up to `limit`, keeping the last `tail_len` of them. Without a limit a torn tail is
    /// removed; with one nothing changes.
    fn load<R: Replica>(
        &mut self,
        limit: Option<i64>,
        tail_len: usize,
    ) -> Result<Loaded<R>, StoreError>;
    /// Keeps the newest `snapRetainCount` (at least 3) snapshots and the logs they need;
    /// the number of files (or snapshots and logs) removed.
    fn purge(&mut self) -> Result<usize, StoreError>;

    /// Makes a leader's snapshot this server's state: everything logged before it is synced
    /// first, then the snapshot is durable before the logs after and below it go (they are
    /// another history, which must never be replayed or served).
    fn install_snapshot(&mut self, zxid: i64, image: &[u8]) -> Result<(), StoreError> {
        self.sync()?;
        self.write_snapshot(zxid, image)?;
        self.truncate_after(zxid)?;
        self.remove_logs_covered_by(zxid)
    }

    /// Carries out a ZAB peer's store op; an `Append` is durable after the next `sync`.
    fn perform(&mut self, op: &StoreOp) -> Result<(), StoreError> {
        match op {
            StoreOp::AcceptedEpoch(epoch) => self.write_epoch(EpochFile::Accepted, *epoch),
            StoreOp::CurrentEpoch(epoch) => self.write_epoch(EpochFile::Current, *epoch),
            StoreOp::Append(entry) => self.append(&[(entry.zxid, &entry.data)]),
            StoreOp::Truncate(zxid) => self.truncate_after(*zxid),
            StoreOp::Snapshot { zxid, data } => self.install_snapshot(*zxid, data),
        }
    }
}

/// The coordination database: the tree and the session table.
pub struct Database {
    pub tree: DataTree,
    /// Session id → negotiated timeout (ms).
    pub sessions: BTreeMap<i64, i32>,
}

impl Database {
    pub fn session_list(&self) -> Vec<(i64, i32)> {
        self.sessions.iter().map(|(id, t)| (*id, *t)).collect()
    }

    /// The tree and the sessions, as a processor is restored from them.
    pub fn into_parts(self) -> (DataTree, Vec<(i64, i32)>) {
        let sessions = self.session_list();
        (self.tree, sessions)
    }
}

impl Replica for Database {
    fn empty() -> Self {
        Database {
            tree: DataTree::new(),
            sessions: BTreeMap::new(),
        }
    }

    fn from_image(_zxid: i64, image: &[u8]) -> Result<Self, SnapshotError> {
        let s = deserialize_snapshot(image)?;
        Ok(Database {
            tree: s.tree,
            sessions: s.sessions.into_iter().collect(),
        })
    }

    fn apply(&mut self, zxid: i64, payload: &[u8]) -> Result<(), ReplayError> {
        let rec = TxnRecord::decode(payload)?;
        if rec.zxid != zxid {
            return Err(ReplayError::Misnumbered {
                record: zxid,
                holds: rec.zxid,
            });
        }
        let mut changes = Vec::new();
        self.tree
            .apply(rec.zxid, rec.time_ms, &rec.txn, &mut changes);
        match &rec.txn {
            Txn::CreateSession { timeout_ms } => {
                self.sessions.insert(rec.session, *timeout_ms);
            }
            Txn::CloseSession { .. } => {
                self.sessions.remove(&rec.session);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The `version-2/` directories: [`TxnLog`] for the log, snapshot files, epoch files.
pub struct FileStore {
    config: StoreConfig,
    log: TxnLog,
}

impl FileStore {
    /// A store whose log makes its files when needed.
    pub fn new(config: StoreConfig) -> FileStore {
        FileStore {
            log: TxnLog::new(config.clone()),
            config,
        }
    }

    /// A store whose log prepares its next file on a thread of its own, so that rolling the
    /// log after a snapshot does not stall the write path. Load with a plain store before:
    /// a load without a limit removes the spare files it finds unused.
    pub fn with_spares(config: StoreConfig) -> FileStore {
        FileStore {
            log: TxnLog::with_spares(config.clone()),
            config,
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }
}

impl ZabStore for FileStore {
    fn read_epoch(&self, which: EpochFile) -> Result<Option<u32>, StoreError> {
        read_epoch(&self.config, which.file_name())
    }

    fn write_epoch(&mut self, which: EpochFile, epoch: u32) -> Result<(), StoreError> {
        write_epoch(&self.config, which.file_name(), epoch)
    }

    fn append(&mut self, txns: &[(i64, &[u8])]) -> Result<(), StoreError> {
        self.log.append_encoded(txns)
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.log.sync()
    }

    fn roll(&mut self) -> Result<(), StoreError> {
        self.log.roll()
    }

    fn truncate_after(&mut self, zxid: i64) -> Result<(), StoreError> {
        self.log.truncate_after(zxid)
    }

    fn write_snapshot(&mut self, zxid: i64, image: &[u8]) -> Result<(), StoreError> {
        write_snapshot(&self.config, zxid, image).map(|_| ())
    }

    fn remove_logs_covered_by(&mut self, zxid: i64) -> Result<(), StoreError> {
        // The open file may be one of them: appends must not go on into a removed file.
        self.log.roll()?;
        remove_logs_covered_by(&self.config, zxid)
    }

    fn load<R: Replica>(
        &mut self,
        limit: Option<i64>,
        tail_len: usize,
    ) -> Result<Loaded<R>, StoreError> {
        if limit.is_some() {
            // What the limit reads must be on disk, not in our buffers.
            self.log.sync()?;
        }
        load_files(&self.config, limit, tail_len).map(|(loaded, _)| loaded)
    }

    fn purge(&mut self) -> Result<usize, StoreError> {
        purge(&self.config)
    }
}
