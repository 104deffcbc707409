//! [`MemStore`]: a [`ZabStore`] in memory with the file store's rules (logs that start at a
//! roll, checksummed records, the same choice of what to replay), where a simulated crash
//! loses every append not yet synced. The ZAB simulator's disks, and fault tests.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
struct MemRecord {
    zxid: i64,
    payload: Bytes,
    /// crc32c of the payload as written: a torn or damaged record fails it.
    crc: u32,
}

/// One log: the records appended from `first` on until the next roll.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemLog {
    first: i64,
    records: Vec<MemRecord>,
    /// How many records a crash keeps.
    synced: usize,
}

impl MemLog {
    fn name(&self) -> PathBuf {
        PathBuf::from(format!("mem:log.{:x}", self.first))
    }
}

#[derive(Debug, Clone)]
pub struct MemStore {
    accepted_epoch: Option<u32>,
    current_epoch: Option<u32>,
    /// By first zxid.
    logs: Vec<MemLog>,
    /// The last log takes appends (false after a roll or truncation: the next append starts
    /// a new log, as a new file).
    open: bool,
    snapshots: BTreeMap<i64, Bytes>,
    snap_retain_count: usize,
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore::new()
    }
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore {
            accepted_epoch: None,
            current_epoch: None,
            logs: Vec::new(),
            open: false,
            snapshots: BTreeMap::new(),
            snap_retain_count: 3,
        }
    }

    /// A crash: appends that no sync covered are gone; the next append starts a new log.
    pub fn crash(&mut self) {
        for log in &mut self.logs {
            log.records.truncate(log.synced);
        }
        self.open = false;
    }

    /// A crash in the middle of writing txn `zxid`: part of it reached the disk, so it is
    /// there, synced, with a checksum that does not hold.
    pub fn crash_tearing(&mut self, zxid: i64, payload: &[u8]) {
        self.append(&[(zxid, payload)]).expect("in memory");
        self.sync().expect("in memory");
        if let Some(rec) = self.logs.last_mut().and_then(|l| l.records.last_mut()) {
            rec.payload = Bytes::copy_from_slice(&payload[..payload.len() / 2]);
        }
        self.crash();
    }

    /// Damages the stored bytes of txn `zxid` (bit rot); false if no log holds it.
    pub fn corrupt(&mut self, zxid: i64) -> bool {
        for log in &mut self.logs {
            if let Some(rec) = log.records.iter_mut().find(|r| r.zxid == zxid) {
                let mut bytes = rec.payload.to_vec();
                if let Some(b) = bytes.first_mut() {
                    *b ^= 0x40;
                }
                rec.payload = Bytes::from(bytes);
                return true;
            }
        }
        false
    }

    /// The newest snapshot image, if any.
    pub fn newest_snapshot(&self) -> Option<(i64, &Bytes)> {
        self.snapshots.iter().next_back().map(|(z, b)| (*z, b))
    }

    /// The first zxid of each log, oldest first.
    pub fn log_starts(&self) -> Vec<i64> {
        self.logs.iter().map(|l| l.first).collect()
    }
}

impl ZabStore for MemStore {
    fn read_epoch(&self, which: EpochFile) -> Result<Option<u32>, StoreError> {
        Ok(match which {
            EpochFile::Accepted => self.accepted_epoch,
            EpochFile::Current => self.current_epoch,
        })
    }

    fn write_epoch(&mut self, which: EpochFile, epoch: u32) -> Result<(), StoreError> {
        match which {
            EpochFile::Accepted => self.accepted_epoch = Some(epoch),
            EpochFile::Current => self.current_epoch = Some(epoch),
        }
        Ok(())
    }

    fn append(&mut self, txns: &[(i64, &[u8])]) -> Result<(), StoreError> {
        let Some((first, _)) = txns.first() else {
            return Ok(());
        };
        if !self.open || self.logs.is_empty() {
            self.logs.push(MemLog {
                first: *first,
                records: Vec::new(),
                synced: 0,
            });
            self.open = true;
        }
        let log = self.logs.last_mut().expect("pushed above");
        log.records
            .extend(txns.iter().map(|(zxid, payload)| MemRecord {
                zxid: *zxid,
                payload: Bytes::copy_from_slice(payload),
                crc: crc32c::crc32c(payload),
            }));
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        for log in &mut self.logs {
            log.synced = log.records.len();
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), StoreError> {
        self.sync()?;
        self.open = false;
        Ok(())
    }

    fn truncate_after(&mut self, zxid: i64) -> Result<(), StoreError> {
        self.sync()?;
        self.open = false;
        self.snapshots.retain(|z, _| *z <= zxid);
        self.logs.retain(|l| l.first <= zxid);
        for log in &mut self.logs {
            if let Some(cut) = log.records.iter().position(|r| r.zxid > zxid) {
                log.records.truncate(cut);
                log.synced = cut;
            }
        }
        Ok(())
    }

    fn write_snapshot(&mut self, zxid: i64, image: &[u8]) -> Result<(), StoreError> {
        self.snapshots.insert(zxid, Bytes::copy_from_slice(image));
        Ok(())
    }

    fn remove_logs_covered_by(&mut self, zxid: i64) -> Result<(), StoreError> {
        self.roll()?;
        self.logs.retain(|l| l.first > zxid);
        Ok(())
    }

    fn load<R: Replica>(
        &mut self,
        limit: Option<i64>,
        tail_len: usize,
    ) -> Result<Loaded<R>, StoreError> {
        let live = limit.is_some();
        let limit = limit.unwrap_or(i64::MAX);
        let candidates: Vec<(&i64, &Bytes)> = self.snapshots.range(..=limit).rev().collect();
        let base = candidates
            .iter()
            .find_map(|(z, image)| R::from_image(**z, image).ok().map(|db| (**z, db)));
        if base.is_none() && !candidates.is_empty() {
            return Err(StoreError::Inconsistent(format!(
                "no valid snapshot among {} snapshots in memory",
                candidates.len()
            )));
        }
        let (snapshot_zxid, mut db) = base.unwrap_or_else(|| (0, R::empty()));
        let mut last_zxid = snapshot_zxid;
        let first = first_log_needed(self.logs.iter().map(|l| l.first), last_zxid);
        let wanted = &self.logs[first.min(self.logs.len())..];
        if let Some(log) = wanted.first() {
            check_starts_in_time(log.first, last_zxid, &log.name().display().to_string())?;
        }
        let mut tail = std::collections::VecDeque::new();
        let mut replayed = 0u64;
        let mut torn_at = None;
        for (i, log) in wanted.iter().enumerate() {
            let is_last = i + 1 == wanted.len();
            for (at, rec) in log.records.iter().enumerate() {
                if crc32c::crc32c(&rec.payload) != rec.crc {
                    if live {
                        break;
                    }
                    if !is_last {
                        return Err(StoreError::Corrupt {
                            path: log.name(),
                            reason: format!("checksum mismatch at record {at}"),
                        });
                    }
                    tracing::warn!(
                        "Truncating torn tail of {} at record {at}",
                        log.name().display()
                    );
                    torn_at = Some(at);
                    break;
                }
                if rec.zxid > limit {
                    continue;
                }
                let step = replay_one(&mut db, &mut last_zxid, rec.zxid, &rec.payload);
                let step = step.map_err(|reason| StoreError::Corrupt {
                    path: log.name(),
                    reason: format!("{reason} at record {at}"),
                })?;
                replayed += u64::from(step);
                if tail_len > 0 && rec.zxid > snapshot_zxid {
                    push_tail(&mut tail, tail_len, rec.zxid, &rec.payload);
                }
            }
        }
        if let (Some(at), Some(log)) = (torn_at, self.logs.last_mut()) {
            log.records.truncate(at);
            log.synced = at;
        }
        Ok(Loaded {
            db,
            last_zxid,
            snapshot_zxid,
            replayed,
            tail: usable_tail(tail, last_zxid),
        })
    }

    fn purge(&mut self) -> Result<usize, StoreError> {
        let keep = self.snap_retain_count.max(3);
        if self.snapshots.len() <= keep {
            return Ok(0);
        }
        let drop: Vec<i64> = self
            .snapshots
            .keys()
            .take(self.snapshots.len() - keep)
            .copied()
            .collect();
        for z in &drop {
            self.snapshots.remove(z);
        }
        let oldest_kept = *self.snapshots.keys().next().expect("kept some");
        let mut removed = drop.len();
        if let Some(needed) = self.logs.iter().rposition(|l| l.first <= oldest_kept) {
            self.logs.drain(..needed);
            removed += needed;
        }
        Ok(removed)
    }
}
