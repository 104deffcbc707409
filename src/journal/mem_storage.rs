//! `MemStorage`: a journal's storage in memory, for fault-injection tests. Clones share one
//! simulated disk, so a test can "crash" a JournalNode (`crash()` drops everything that was
//! not synced) and open a new `Journal` over what survived. Faults can be armed to fail the
//! next append or the paxos write, before or after it reaches the disk.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use super::edits::segment_header;
use super::storage::{
    DetachedEditFile, EditFile, EditFileScan, JournalStorage, PaxosData, PersistedLong,
    StorageError, StorageInfo, StorageResult, expected_first_txid, scan_edit_bytes,
};

/// When an armed paxos-write fault strikes (Hadoop's `JournalFaultInjector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaxosFault {
    /// Fail without writing the decision.
    BeforePersist,
    /// Write the decision, then fail.
    AfterPersist,
}

#[derive(Debug, Default)]
struct MemFile {
    data: Vec<u8>,
    /// Bytes that survive a crash.
    synced_len: usize,
}

#[derive(Debug, Default)]
struct Disk {
    version: Option<StorageInfo>,
    longs: BTreeMap<PersistedLong, u64>,
    /// The best-effort committed txid as last written but not necessarily durable.
    committed_unsynced: Option<u64>,
    paxos: BTreeMap<u64, PaxosData>,
    files: BTreeMap<EditFile, MemFile>,
    paxos_fault: Option<PaxosFault>,
    fail_next_append: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    disk: Arc<Mutex<Disk>>,
    name: String,
}

impl MemStorage {
    pub fn new(name: impl Into<String>) -> Self {
        MemStorage {
            disk: Arc::default(),
            name: name.into(),
        }
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Loses everything that was not synced, as a power cut would.
    pub fn crash(&self) {
        let mut disk = self.disk();
        for file in disk.files.values_mut() {
            file.data.truncate(file.synced_len);
        }
        disk.committed_unsynced = None;
    }

    /// Arms a fault for the next paxos write.
    pub fn arm_paxos_fault(&self, fault: PaxosFault) {
        self.disk().paxos_fault = Some(fault);
    }

    /// Disarms every armed fault.
    pub fn clear_faults(&self) {
        let mut disk = self.disk();
        disk.paxos_fault = None;
        disk.fail_next_append = false;
    }

    /// Makes the next append fail with EIO without writing anything.
    pub fn arm_append_failure(&self) {
        self.disk().fail_next_append = true;
    }

    /// Overwrites bytes of a file in place (a test's bit rot), synced.
    pub fn corrupt(&self, file: &EditFile, offset: usize, bytes: &[u8]) {
        let mut disk = self.disk();
        let f = disk.files.get_mut(file).expect("file to corrupt exists");
        f.data[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn missing(&self, op: &'static str, file: &EditFile) -> StorageError {
        StorageError::new(
            op,
            format!("{}/current/{file}", self.name),
            io::Error::new(io::ErrorKind::NotFound, "No such file or directory"),
        )
    }
}

impl JournalStorage for MemStorage {
    fn dir(&self) -> String {
        self.name.clone()
    }

    fn read_storage_info(&self) -> StorageResult<Option<StorageInfo>> {
        Ok(self.disk().version.clone())
    }

    fn has_data(&self) -> StorageResult<bool> {
        let disk = self.disk();
        Ok(disk.version.is_some()
            || !disk.files.is_empty()
            || !disk.longs.is_empty()
            || !disk.paxos.is_empty())
    }

    fn format(&mut self, info: &StorageInfo) -> StorageResult<()> {
        let mut disk = self.disk();
        disk.files.clear();
        disk.longs.clear();
        disk.paxos.clear();
        disk.committed_unsynced = None;
        disk.version = Some(info.clone());
        Ok(())
    }

    fn read_long(&self, which: PersistedLong) -> StorageResult<Option<u64>> {
        let disk = self.disk();
        if which == PersistedLong::CommittedTxid
            && let Some(value) = disk.committed_unsynced
        {
            return Ok(Some(value));
        }
        Ok(disk.longs.get(&which).copied())
    }

    fn write_long(&mut self, which: PersistedLong, value: u64) -> StorageResult<()> {
        let mut disk = self.disk();
        if which == PersistedLong::CommittedTxid {
            // Best effort, as in Hadoop: written but never synced, so a crash loses it.
            disk.committed_unsynced = Some(value);
        } else {
            disk.longs.insert(which, value);
        }
        Ok(())
    }

    fn read_paxos(&self, segment_start: u64) -> StorageResult<Option<PaxosData>> {
        Ok(self.disk().paxos.get(&segment_start).copied())
    }

    fn write_paxos(&mut self, segment_start: u64, data: &PaxosData) -> StorageResult<()> {
        let mut disk = self.disk();
        let injected = || {
            StorageError::new(
                "write paxos data",
                segment_start.to_string(),
                io::Error::other("injected fault"),
            )
        };
        match disk.paxos_fault.take() {
            Some(PaxosFault::BeforePersist) => Err(injected()),
            Some(PaxosFault::AfterPersist) => {
                disk.paxos.insert(segment_start, *data);
                Err(injected())
            }
            None => {
                disk.paxos.insert(segment_start, *data);
                Ok(())
            }
        }
    }

    fn delete_paxos(&mut self, segment_start: u64) -> StorageResult<()> {
        self.disk().paxos.remove(&segment_start);
        Ok(())
    }

    fn list_paxos(&self) -> StorageResult<Vec<u64>> {
        Ok(self.disk().paxos.keys().copied().collect())
    }

    fn list_edit_files(&self) -> StorageResult<Vec<EditFile>> {
        Ok(self.disk().files.keys().cloned().collect())
    }

    fn create(&mut self, file: &EditFile, layout_version: i32) -> StorageResult<()> {
        let header = segment_header(layout_version).to_vec();
        let synced_len = header.len();
        self.disk().files.insert(
            file.clone(),
            MemFile {
                data: header,
                synced_len,
            },
        );
        Ok(())
    }

    fn append(&mut self, file: &EditFile, bytes: &[u8], sync: bool) -> StorageResult<()> {
        let mut disk = self.disk();
        if std::mem::take(&mut disk.fail_next_append) {
            return Err(StorageError::new(
                "append to",
                file.file_name(),
                io::Error::from_raw_os_error(5),
            ));
        }
        let Some(f) = disk.files.get_mut(file) else {
            drop(disk);
            return Err(self.missing("append to", file));
        };
        f.data.extend_from_slice(bytes);
        if sync {
            f.synced_len = f.data.len();
        }
        Ok(())
    }

    fn scan(&mut self, file: &EditFile, repair: bool) -> StorageResult<EditFileScan> {
        let mut disk = self.disk();
        let Some(f) = disk.files.get_mut(file) else {
            drop(disk);
            return Err(self.missing("scan", file));
        };
        let scan = scan_edit_bytes(&f.data, expected_first_txid(file));
        if repair && scan.tail_len > 0 {
            f.data.truncate(scan.valid_len as usize);
            f.synced_len = f.synced_len.min(f.data.len());
        }
        Ok(scan)
    }

    fn read(&self, file: &EditFile, offset: u64, max_len: usize) -> StorageResult<Vec<u8>> {
        let disk = self.disk();
        let Some(f) = disk.files.get(file) else {
            drop(disk);
            return Err(self.missing("read", file));
        };
        let start = (offset as usize).min(f.data.len());
        let end = start.saturating_add(max_len).min(f.data.len());
        Ok(f.data[start..end].to_vec())
    }

    fn len(&self, file: &EditFile) -> StorageResult<u64> {
        let disk = self.disk();
        let Some(f) = disk.files.get(file) else {
            drop(disk);
            return Err(self.missing("stat", file));
        };
        Ok(f.data.len() as u64)
    }

    fn rename(&mut self, from: &EditFile, to: &EditFile) -> StorageResult<()> {
        let mut disk = self.disk();
        let Some(mut f) = disk.files.remove(from) else {
            drop(disk);
            return Err(self.missing("rename", from));
        };
        // A rename is durable along with the bytes already synced; unsynced bytes move with
        // the file and are still lost in a crash.
        f.synced_len = f.synced_len.min(f.data.len());
        disk.files.insert(to.clone(), f);
        Ok(())
    }

    fn delete(&mut self, file: &EditFile) -> StorageResult<()> {
        self.disk().files.remove(file);
        Ok(())
    }

    fn detached(&self, file: &EditFile) -> Box<dyn DetachedEditFile> {
        Box::new(MemDetached {
            storage: self.clone(),
            file: file.clone(),
        })
    }
}

/// A detached file on the simulated disk: the same disk, written without `&mut` access to the
/// storage.
struct MemDetached {
    storage: MemStorage,
    file: EditFile,
}

impl DetachedEditFile for MemDetached {
    fn create(&mut self, layout_version: i32) -> StorageResult<()> {
        self.storage.clone().create(&self.file, layout_version)
    }

    fn append(&mut self, bytes: &[u8]) -> StorageResult<()> {
        self.storage.clone().append(&self.file, bytes, false)
    }

    fn finish(&mut self) -> StorageResult<EditFileScan> {
        let mut storage = self.storage.clone();
        let scan = storage.scan(&self.file, true)?;
        storage.append(&self.file, &[], true)?;
        Ok(scan)
    }
}

/// Journals kept in memory, one fresh `MemStorage` per journal id, for tests of the services.
#[cfg(test)]
pub(crate) struct MemFactory;

#[cfg(test)]
impl super::journals::JournalStorageFactory for MemFactory {
    type Storage = MemStorage;
    fn open(&self, jid: &str) -> Result<MemStorage, StorageError> {
        Ok(MemStorage::new(format!("/jn/{jid}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::encode_batch;
    use crate::journal::storage::conformance;

    #[test]
    fn mem_storage_passes_the_conformance_suite() {
        conformance::run_all(|| MemStorage::new("mem"));
    }

    #[test]
    fn a_crash_loses_exactly_the_unsynced_bytes() {
        let mut s = MemStorage::new("mem");
        s.format(&conformance::info()).unwrap();
        let file = EditFile::InProgress { start: 1 };
        s.create(&file, -66).unwrap();
        s.append(&file, &encode_batch(1, [b"a".as_slice()]), true)
            .unwrap();
        s.append(&file, &encode_batch(2, [b"b".as_slice()]), false)
            .unwrap();
        let survivor = s.clone();
        s.crash();
        assert_eq!(
            survivor.clone().scan(&file, false).unwrap().last_txid,
            Some(1)
        );
    }

    #[test]
    fn armed_faults_strike_once() {
        let mut s = MemStorage::new("mem");
        s.format(&conformance::info()).unwrap();
        let data = PaxosData {
            segment: crate::journal::storage::SegmentState {
                start_txid: 1,
                end_txid: 2,
                in_progress: true,
            },
            accepted_in_epoch: 1,
        };
        s.arm_paxos_fault(PaxosFault::BeforePersist);
        assert!(s.write_paxos(1, &data).is_err());
        assert_eq!(s.read_paxos(1).unwrap(), None);
        s.arm_paxos_fault(PaxosFault::AfterPersist);
        assert!(s.write_paxos(1, &data).is_err());
        assert_eq!(s.read_paxos(1).unwrap(), Some(data));
        s.write_paxos(1, &data).unwrap();
        let file = EditFile::InProgress { start: 1 };
        s.create(&file, -66).unwrap();
        s.arm_append_failure();
        assert!(s.append(&file, b"", true).is_err());
        s.append(&file, b"", true).unwrap();
    }
}
