//! `Journal`: one journal's rules (Hadoop's `Journal.java`), over any [`JournalStorage`].
//!
//! Invariants this keeps:
//! - a write is accepted only from the current writer epoch, and no request from an epoch
//!   below the last promise is ever accepted (this is how an old active is fenced);
//! - a promise, a writer epoch and an accepted recovery decision are on disk before the
//!   request that made them is answered; edits are synced before `journal` returns unless
//!   the batch is already committed on a majority;
//! - a finalized segment is never rewritten, and recovery never discards a txid this journal
//!   knows to be committed;
//! - acceptRecovery is atomic: the persisted paxos decision is the commit point, and a
//!   half-done accept is rolled forward by the next prepareRecovery.
//!
//! Every method runs to completion under the caller's lock (the JournalNode serializes the
//! requests of one journal, as Hadoop's synchronized methods do). The one thing done apart
//! from it is JournalNode sync's download ([`SegmentDownload::fetch`]), into a detached temp
//! file that the steps before and after it, under the lock, decide about.

use std::time::Instant;

use super::JournalError;
use super::cache::EditsCache;
use super::edits::scan_records;
use super::metrics::JournalMetrics;
use super::storage::{
    DetachedEditFile, EditFile, EditFileScan, JournalStorage, PaxosData, PersistedLong,
    SegmentState, StorageError, StorageInfo,
};

/// Hadoop's threshold for logging a slow sync.
const WARN_SYNC_MILLIS: u128 = 1000;

/// The writer's identity and position, sent with every writer request (`RequestInfoProto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub epoch: u64,
    /// Strictly increasing per writer epoch.
    pub ipc_serial: u64,
    /// The highest txid the writer knows to be on a majority.
    pub committed_txid: Option<u64>,
    /// Who sent it (an address), for messages.
    pub client: String,
}

/// The namespace a writer works for (`NamespaceInfoProto`, the part a journal keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub namespace_id: u32,
    pub cluster_id: String,
    pub block_pool_id: String,
    pub layout_version: i32,
    pub ctime: u64,
}

impl NamespaceInfo {
    pub fn storage_info(&self) -> StorageInfo {
        StorageInfo {
            layout_version: self.layout_version,
            namespace_id: self.namespace_id,
            cluster_id: self.cluster_id.clone(),
            ctime: self.ctime,
        }
    }
}

impl std::fmt::Display for NamespaceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lv={};cid={};nsid={};c={};bpid={}",
            self.layout_version, self.cluster_id, self.namespace_id, self.ctime, self.block_pool_id
        )
    }
}

/// The namespace the journal tests format with.
#[cfg(test)]
pub(crate) fn test_namespace() -> NamespaceInfo {
    NamespaceInfo {
        namespace_id: 12345,
        cluster_id: "mycluster".into(),
        block_pool_id: "BP-1".into(),
        layout_version: -66,
        ctime: 0,
    }
}

/// One `journal` request: a batch of encoded records for the open segment.
#[derive(Debug, Clone)]
pub struct JournalBatch<'a> {
    pub req: RequestInfo,
    pub segment_txid: u64,
    pub first_txid: u64,
    pub num_txns: u32,
    pub records: &'a [u8],
}

/// `prepareRecovery`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareRecoveryResponse {
    pub segment_state: Option<SegmentState>,
    pub accepted_in_epoch: Option<u64>,
    pub last_writer_epoch: u64,
    pub last_committed_txid: Option<u64>,
}

/// One segment in a manifest (`RemoteEditLogProto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteEditLog {
    pub start_txid: u64,
    pub end_txid: u64,
    pub in_progress: bool,
}

/// `getEditLogManifest`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditLogManifest {
    pub logs: Vec<RemoteEditLog>,
    pub committed_txid: Option<u64>,
}

/// Receives a segment fetched from another JournalNode during acceptRecovery.
pub trait SegmentSink {
    /// The segment's layout version, before any records.
    fn begin(&mut self, layout_version: i32) -> Result<(), JournalError>;
    /// Record bytes, in order.
    fn write(&mut self, records: &[u8]) -> Result<(), JournalError>;
}

/// A snapshot of a journal's state, for metrics and status pages.
#[derive(Debug, Clone)]
pub struct JournalStatus {
    pub formatted: bool,
    pub last_promised_epoch: u64,
    pub last_writer_epoch: u64,
    pub committed_txid: Option<u64>,
    pub highest_written_txid: u64,
    pub current_segment: Option<u64>,
    pub metrics: JournalMetrics,
}

/// The segment this journal is writing.
#[derive(Debug, Clone, Copy)]
struct OpenSegment {
    start: u64,
}

pub struct Journal<S: JournalStorage> {
    jid: String,
    storage: S,
    storage_info: Option<StorageInfo>,
    last_promised_epoch: u64,
    last_writer_epoch: u64,
    committed_txid: Option<u64>,
    /// Highest ipc serial seen in the current epoch (`None` = none yet, Hadoop's -1).
    current_epoch_ipc_serial: Option<u64>,
    cur_segment: Option<OpenSegment>,
    /// Next txid expected in the open segment.
    next_txid: u64,
    /// Highest txid written to this journal (0 = none).
    highest_written_txid: u64,
    cache: Option<EditsCache>,
    metrics: JournalMetrics,
}

impl<S: JournalStorage> Journal<S> {
    /// Opens a journal over `storage`, scanning its newest segment (truncating a torn tail
    /// and moving empty segments aside). `cache_capacity` enables the edits cache.
    pub fn open(
        jid: &str,
        storage: S,
        cache_capacity: Option<usize>,
    ) -> Result<Self, JournalError> {
        let mut journal = Journal {
            jid: jid.to_string(),
            storage,
            storage_info: None,
            last_promised_epoch: 0,
            last_writer_epoch: 0,
            committed_txid: None,
            current_epoch_ipc_serial: None,
            cur_segment: None,
            next_txid: 0,
            highest_written_txid: 0,
            cache: cache_capacity.map(EditsCache::new),
            metrics: JournalMetrics::default(),
        };
        journal.refresh_cached_data()?;
        if journal.storage_info.is_some()
            && let Some((_, scan)) = journal.scan_storage_for_latest_edits()?
        {
            journal.highest_written_txid = scan.last_txid.unwrap_or(0);
        }
        Ok(journal)
    }

    fn refresh_cached_data(&mut self) -> Result<(), JournalError> {
        self.storage_info = self.storage.read_storage_info()?;
        self.last_promised_epoch = self
            .storage
            .read_long(PersistedLong::LastPromisedEpoch)?
            .unwrap_or(0);
        self.last_writer_epoch = self
            .storage
            .read_long(PersistedLong::LastWriterEpoch)?
            .unwrap_or(0);
        self.committed_txid = self.storage.read_long(PersistedLong::CommittedTxid)?;
        Ok(())
    }

    pub fn journal_id(&self) -> &str {
        &self.jid
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    pub fn is_formatted(&self) -> bool {
        self.storage_info.is_some()
    }

    pub fn last_promised_epoch(&self) -> Result<u64, JournalError> {
        self.check_formatted()?;
        Ok(self.last_promised_epoch)
    }

    pub fn storage_info(&self) -> Option<&StorageInfo> {
        self.storage_info.as_ref()
    }

    pub fn status(&self) -> JournalStatus {
        JournalStatus {
            formatted: self.is_formatted(),
            last_promised_epoch: self.last_promised_epoch,
            last_writer_epoch: self.last_writer_epoch,
            committed_txid: self.committed_txid,
            highest_written_txid: self.highest_written_txid,
            current_segment: self.cur_segment.map(|s| s.start),
            metrics: self.metrics.clone(),
        }
    }

    fn suffix(&self) -> String {
        format!(" ; journal id: {}", self.jid)
    }

    fn check_formatted(&self) -> Result<(), JournalError> {
        if self.storage_info.is_none() {
            return Err(JournalError::NotFormatted {
                dir: self.storage.dir(),
                jid: self.jid.clone(),
            });
        }
        Ok(())
    }

    fn out_of_sync(&self, message: String) -> JournalError {
        JournalError::OutOfSync(format!("{message}{}", self.suffix()))
    }

    /// `format(nsInfo, force)`: clears the journal and writes VERSION.
    pub fn format(&mut self, ns: &NamespaceInfo, force: bool) -> Result<(), JournalError> {
        if ns.namespace_id == 0 {
            return Err(JournalError::UninitializedNamespace(ns.to_string()));
        }
        if !force && self.storage.has_data()? {
            return Err(JournalError::NotEmpty {
                dir: format!("{}/current", self.storage.dir()),
            });
        }
        tracing::info!(
            jid = %self.jid,
            "Formatting journal {} with nsid: {}",
            self.storage.dir(),
            ns.namespace_id
        );
        self.abort_cur_segment();
        self.storage.format(&ns.storage_info())?;
        self.refresh_cached_data()?;
        self.current_epoch_ipc_serial = None;
        self.highest_written_txid = 0;
        if let Some(cache) = &mut self.cache {
            cache.clear();
        }
        Ok(())
    }

    fn check_consistent_namespace(&self, ns: &NamespaceInfo) -> Result<(), JournalError> {
        let Some(mine) = &self.storage_info else {
            return Err(JournalError::NotFormatted {
                dir: self.storage.dir(),
                jid: self.jid.clone(),
            });
        };
        let dir = self.storage.dir();
        if mine.namespace_id != ns.namespace_id {
            return Err(JournalError::IncompatibleNamespace(format!(
                "Incompatible namespaceID for journal Storage Directory root= {dir}; location= null: NameNode has nsId {} but storage has nsId {}",
                ns.namespace_id, mine.namespace_id
            )));
        }
        if mine.cluster_id != ns.cluster_id {
            return Err(JournalError::IncompatibleNamespace(format!(
                "Incompatible clusterID for journal Storage Directory root= {dir}; location= null: NameNode has clusterId '{}' but storage has clusterId '{}'",
                ns.cluster_id, mine.cluster_id
            )));
        }
        Ok(())
    }

    /// `newEpoch(nsInfo, epoch)`: promises `epoch` and reports the first txid of the newest
    /// segment.
    pub fn new_epoch(
        &mut self,
        ns: &NamespaceInfo,
        epoch: u64,
        client: &str,
    ) -> Result<Option<u64>, JournalError> {
        self.check_formatted()?;
        self.check_consistent_namespace(ns)?;
        if epoch <= self.last_promised_epoch {
            return Err(JournalError::EpochNotNewer {
                epoch,
                promised: self.last_promised_epoch,
                jid: self.jid.clone(),
            });
        }
        self.update_last_promised_epoch(epoch, client)?;
        self.abort_cur_segment();
        Ok(self
            .scan_storage_for_latest_edits()?
            .map(|(file, _)| file.start()))
    }

    fn update_last_promised_epoch(&mut self, epoch: u64, client: &str) -> Result<(), JournalError> {
        tracing::info!(
            jid = %self.jid,
            "Updating lastPromisedEpoch from {} to {epoch} for client {client}{}",
            self.last_promised_epoch,
            self.suffix()
        );
        self.storage
            .write_long(PersistedLong::LastPromisedEpoch, epoch)?;
        self.last_promised_epoch = epoch;
        // A new epoch starts its own ipc serial numbering.
        self.current_epoch_ipc_serial = None;
        Ok(())
    }

    fn check_request(&mut self, req: &RequestInfo) -> Result<(), JournalError> {
        if req.epoch < self.last_promised_epoch {
            return Err(JournalError::EpochTooLow {
                epoch: req.epoch,
                promised: self.last_promised_epoch,
                jid: self.jid.clone(),
            });
        }
        if req.epoch > self.last_promised_epoch {
            // A newer writer: fence the previous ones by promising its epoch.
            self.update_last_promised_epoch(req.epoch, &req.client)?;
        }
        if self
            .current_epoch_ipc_serial
            .is_some_and(|prior| req.ipc_serial <= prior)
        {
            return Err(self.out_of_sync(format!(
                "IPC serial {} from client {} was not higher than prior highest IPC serial {}",
                req.ipc_serial,
                req.client,
                self.current_epoch_ipc_serial.unwrap_or_default()
            )));
        }
        self.current_epoch_ipc_serial = Some(req.ipc_serial);
        if let Some(committed) = req.committed_txid {
            if let Some(current) = self.committed_txid
                && committed < current
            {
                return Err(JournalError::IllegalArgument(format!(
                    "Client trying to move committed txid backward from {current} to {committed}{}",
                    self.suffix()
                )));
            }
            if self.committed_txid != Some(committed) {
                self.storage
                    .write_long(PersistedLong::CommittedTxid, committed)?;
                self.committed_txid = Some(committed);
            }
        }
        Ok(())
    }

    fn check_write_request(&mut self, req: &RequestInfo) -> Result<(), JournalError> {
        self.check_request(req)?;
        if req.epoch != self.last_writer_epoch {
            return Err(JournalError::NotWriterEpoch {
                epoch: req.epoch,
                writer: self.last_writer_epoch,
                jid: self.jid.clone(),
            });
        }
        Ok(())
    }

    /// `heartbeat`: only the request checks (which carry the committed txid).
    pub fn heartbeat(&mut self, req: &RequestInfo) -> Result<(), JournalError> {
        self.check_formatted()?;
        self.check_request(req)
    }

    /// `journal`: appends a batch of `num_txns` records starting at `first_txid` to the open
    /// segment `segment_txid`. `num_txns == 0` only advances the committed txid.
    pub fn journal(
        &mut self,
        req: &RequestInfo,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: &[u8],
    ) -> Result<(), JournalError> {
        let batch = JournalBatch {
            req: req.clone(),
            segment_txid,
            first_txid,
            num_txns,
            records,
        };
        self.journal_group(std::slice::from_ref(&batch))
            .pop()
            .expect("one result per batch")
    }

    /// Several `journal` batches in the order given, with one sync for all of them (group
    /// commit): each batch is checked and appended as `journal` does, then the appended edits
    /// are synced once, and only then is any batch reported durable. If the sync fails, every
    /// batch of the group fails and the segment is aborted.
    pub fn journal_group(&mut self, batches: &[JournalBatch<'_>]) -> Vec<Result<(), JournalError>> {
        let before = (self.highest_written_txid, self.next_txid);
        let mut results = Vec::with_capacity(batches.len());
        let mut unsynced: Option<(EditFile, u64, u64)> = None;
        for batch in batches {
            let result = self.append_batch(batch);
            if let Ok(Some(appended)) = &result {
                unsynced = match unsynced {
                    Some((file, first, _)) => Some((file, first, appended.1)),
                    None => Some(appended.clone()),
                };
            }
            results.push(result.map(|_| ()));
        }
        let Some((file, first, last)) = unsynced else {
            return results;
        };
        let started = Instant::now();
        if let Err(err) = self.storage.append(&file, &[], true) {
            tracing::error!(jid = %self.jid, "Failed to sync txids {first}-{last}: {err}");
            self.abort_cur_segment();
            (self.highest_written_txid, self.next_txid) = before;
            if let Some(cache) = &mut self.cache {
                cache.truncate_from(first);
            }
            return results
                .into_iter()
                .map(|r| {
                    r.and_then(|()| {
                        Err(JournalError::Storage(StorageError::new(
                            err.op,
                            err.path.clone(),
                            std::io::Error::new(err.source.kind(), err.source.to_string()),
                        )))
                    })
                })
                .collect();
        }
        let elapsed = started.elapsed();
        self.metrics.record_sync(elapsed.as_micros() as u64);
        if elapsed.as_millis() > WARN_SYNC_MILLIS {
            tracing::warn!(
                jid = %self.jid,
                "Sync of transaction range {first}-{last} took {}ms{}",
                elapsed.as_millis(),
                self.suffix()
            );
        }
        results
    }

    /// Checks and appends one batch without syncing; returns the file and txid range that
    /// still need a sync (`None` for an empty batch or one already committed elsewhere).
    fn append_batch(
        &mut self,
        batch: &JournalBatch<'_>,
    ) -> Result<Option<(EditFile, u64, u64)>, JournalError> {
        let JournalBatch {
            req,
            segment_txid,
            first_txid,
            num_txns,
            records,
        } = batch;
        let (segment_txid, first_txid, num_txns) = (*segment_txid, *first_txid, *num_txns);
        self.check_formatted()?;
        self.check_write_request(req)?;
        if num_txns == 0 {
            return Ok(None);
        }
        let Some(segment) = self.cur_segment else {
            return Err(self.out_of_sync("Can't write, no segment open".to_string()));
        };
        if segment.start != segment_txid {
            let err = self.out_of_sync(format!(
                "Writer out of sync: it thinks it is writing segment {segment_txid} but current segment is {}",
                segment.start
            ));
            self.abort_cur_segment();
            return Err(err);
        }
        if first_txid != self.next_txid {
            return Err(self.out_of_sync(format!(
                "Can't write txid {first_txid} expecting nextTxId={}",
                self.next_txid
            )));
        }
        let last_txid = first_txid + u64::from(num_txns) - 1;
        let scan = scan_records(records, Some(first_txid));
        if scan.problem.is_some() || scan.num_records != u64::from(num_txns) {
            return Err(JournalError::BadBatch(format!(
                "Bad batch of edits for txids {first_txid}-{last_txid}: found {} valid records{}{}",
                scan.num_records,
                scan.problem
                    .map(|p| format!(", then {p}"))
                    .unwrap_or_default(),
                self.suffix()
            )));
        }
        // Already committed on a majority: this journal is catching up and need not sync.
        let lagging = self.committed_txid.is_some_and(|c| last_txid <= c);
        let file = EditFile::InProgress {
            start: segment.start,
        };
        if let Err(err) = self.storage.append(&file, records, false) {
            // The file's tail is now unknown: stop writing it until the writer starts anew.
            tracing::error!(jid = %self.jid, "Failed to write txids {first_txid}-{last_txid}: {err}");
            self.abort_cur_segment();
            return Err(err.into());
        }
        if lagging {
            self.metrics.batches_written_while_lagging += 1;
        }
        self.metrics.batches_written += 1;
        self.metrics.bytes_written += records.len() as u64;
        self.metrics.txns_written += u64::from(num_txns);
        if let Some(cache) = &mut self.cache {
            cache.store(records);
        }
        self.highest_written_txid = self.highest_written_txid.max(last_txid);
        self.next_txid = last_txid + 1;
        Ok((!lagging).then_some((file, first_txid, last_txid)))
    }

    /// `startLogSegment`: opens `edits_inprogress_<txid>` and makes the caller the writer.
    pub fn start_log_segment(
        &mut self,
        req: &RequestInfo,
        txid: u64,
        layout_version: i32,
    ) -> Result<(), JournalError> {
        self.check_formatted()?;
        self.check_request(req)?;
        if let Some(open) = self.cur_segment {
            tracing::warn!(
                jid = %self.jid,
                "Client is requesting a new log segment {txid} though we are already writing {}. Aborting the current segment in order to begin the new one.{}",
                EditFile::InProgress { start: open.start },
                self.suffix()
            );
            self.abort_cur_segment();
        }
        // Never overwrite a finalized segment, nor an in-progress one with real edits in it
        // (one edit is allowed: a writer that died right after opening the segment).
        if let Some(existing) = self.segment_file(txid)? {
            if let EditFile::Finalized { .. } = existing {
                return Err(JournalError::IllegalState(format!(
                    "Already have a finalized segment {} beginning at {txid}{}",
                    self.file_path(&existing),
                    self.suffix()
                )));
            }
            let scan = self.storage.scan(&existing, false)?;
            if scan.num_txns > 1 {
                return Err(JournalError::IllegalState(format!(
                    "The log file {} seems to contain valid transactions{}",
                    self.file_path(&existing),
                    self.suffix()
                )));
            }
        }
        if self.last_writer_epoch != req.epoch {
            tracing::info!(
                jid = %self.jid,
                "Updating lastWriterEpoch from {} to {} for client {}{}",
                self.last_writer_epoch,
                req.epoch,
                req.client,
                self.suffix()
            );
            self.storage
                .write_long(PersistedLong::LastWriterEpoch, req.epoch)?;
            self.last_writer_epoch = req.epoch;
        }
        // Starting this segment means any earlier recovery of it was abandoned.
        self.storage.delete_paxos(txid)?;
        self.storage
            .create(&EditFile::InProgress { start: txid }, layout_version)?;
        if let Some(cache) = &mut self.cache {
            cache.begin_segment(layout_version);
        }
        self.cur_segment = Some(OpenSegment { start: txid });
        self.next_txid = txid;
        Ok(())
    }

    /// `finalizeLogSegment`: closes the segment `[start, end]` and renames it.
    pub fn finalize_log_segment(
        &mut self,
        req: &RequestInfo,
        start: u64,
        end: u64,
    ) -> Result<(), JournalError> {
        self.check_formatted()?;
        self.check_request(req)?;
        let mut needs_validation = true;
        if self.cur_segment.is_some_and(|s| s.start == start) {
            self.cur_segment = None;
            if self.next_txid != end + 1 {
                return Err(self.out_of_sync(format!(
                    "Trying to finalize in-progress log segment {start} to end at txid {end} but only written up to txid {}",
                    self.next_txid - 1
                )));
            }
            // The segment the writer was just writing: no need to re-read it.
            needs_validation = false;
        }
        let Some(file) = self.segment_file(start)? else {
            return Err(
                self.out_of_sync(format!("No log file to finalize at transaction ID {start}"))
            );
        };
        match file {
            EditFile::InProgress { .. } => {
                if needs_validation {
                    tracing::info!(
                        jid = %self.jid,
                        "Validating log segment {} about to be finalized{}",
                        self.file_path(&file),
                        self.suffix()
                    );
                    let scan = self.storage.scan(&file, false)?;
                    if scan.last_txid != Some(end) {
                        return Err(self.out_of_sync(format!(
                            "Trying to finalize in-progress log segment {start} to end at txid {end} but log {} on disk only contains up to txid {}",
                            self.file_path(&file),
                            scan.last_txid.map_or(-12345i128, i128::from)
                        )));
                    }
                }
                self.storage
                    .rename(&file, &EditFile::Finalized { start, end })?;
            }
            EditFile::Finalized {
                end: existing_end, ..
            } => {
                if existing_end != end {
                    return Err(JournalError::IllegalArgument(format!(
                        "Trying to re-finalize already finalized log {} with different endTxId {end}{}",
                        self.file_path(&file),
                        self.suffix()
                    )));
                }
            }
            _ => unreachable!("segment_file returns segments only"),
        }
        // A finalized segment supersedes any accepted recovery of it.
        self.storage.delete_paxos(start)?;
        Ok(())
    }

    /// `purgeLogs`: deletes segments and paxos decisions wholly before `min_txid_to_keep`.
    /// Best effort, as in Hadoop: failures are logged.
    pub fn purge_logs_older_than(
        &mut self,
        req: &RequestInfo,
        min_txid_to_keep: u64,
    ) -> Result<(), JournalError> {
        self.check_formatted()?;
        self.check_request(req)?;
        for file in self.storage.list_edit_files()? {
            let purge = match &file {
                EditFile::Finalized { end, .. } => *end < min_txid_to_keep,
                other => other.start() < min_txid_to_keep,
            };
            if purge {
                tracing::info!(jid = %self.jid, "Purging {}", self.file_path(&file));
                if let Err(err) = self.storage.delete(&file) {
                    tracing::warn!(jid = %self.jid, "Unable to purge {}: {err}", file);
                }
            }
        }
        for start in self.storage.list_paxos()? {
            if start < min_txid_to_keep
                && let Err(err) = self.storage.delete_paxos(start)
            {
                tracing::warn!(jid = %self.jid, "Unable to purge paxos/{start}: {err}");
            }
        }
        Ok(())
    }

    /// `prepareRecovery`: phase 1 of recovering the segment starting at `segment_txid`.
    pub fn prepare_recovery(
        &mut self,
        req: &RequestInfo,
        segment_txid: u64,
    ) -> Result<PrepareRecoveryResponse, JournalError> {
        self.check_formatted()?;
        self.check_request(req)?;
        self.abort_cur_segment();
        let previously_accepted = self.storage.read_paxos(segment_txid)?;
        self.complete_half_done_accept_recovery(previously_accepted.as_ref())?;
        let seg_info = self.segment_info(segment_txid)?;
        let has_finalized = seg_info.is_some_and(|s| !s.in_progress);
        let mut response = PrepareRecoveryResponse {
            segment_state: None,
            accepted_in_epoch: None,
            last_writer_epoch: self.last_writer_epoch,
            last_committed_txid: self.committed_txid,
        };
        match previously_accepted {
            Some(accepted) if !has_finalized => {
                if seg_info.map(|s| s.end_txid) != Some(accepted.segment.end_txid) {
                    return Err(JournalError::Assertion(format!(
                        "prev accepted: {accepted}\non disk:       {}",
                        seg_info.map_or("none".to_string(), |s| s.to_string())
                    )));
                }
                response.accepted_in_epoch = Some(accepted.accepted_in_epoch);
                response.segment_state = Some(accepted.segment);
            }
            _ => response.segment_state = seg_info,
        }
        tracing::info!(
            jid = %self.jid,
            "Prepared recovery for segment {segment_txid}: {response:?}{}",
            self.suffix()
        );
        Ok(response)
    }

    /// Finishes an acceptRecovery that persisted its decision but crashed before renaming the
    /// downloaded segment into place.
    fn complete_half_done_accept_recovery(
        &mut self,
        paxos: Option<&PaxosData>,
    ) -> Result<(), JournalError> {
        let Some(paxos) = paxos else {
            return Ok(());
        };
        let start = paxos.segment.start_txid;
        let temp = EditFile::RecoveryTemp {
            start,
            epoch: paxos.accepted_in_epoch,
        };
        if self.storage.list_edit_files()?.contains(&temp) {
            let dst = EditFile::InProgress { start };
            tracing::info!(
                jid = %self.jid,
                "Rolling forward previously half-completed synchronization: {} -> {}{}",
                self.file_path(&temp),
                self.file_path(&dst),
                self.suffix()
            );
            self.storage.rename(&temp, &dst)?;
        }
        Ok(())
    }

    /// `acceptRecovery`: phase 2 — make the segment `segment.start_txid` exactly `segment`,
    /// fetching it through `fetch` when this journal's copy differs, and persist the decision.
    pub fn accept_recovery(
        &mut self,
        req: &RequestInfo,
        segment: SegmentState,
        fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.check_formatted()?;
        self.check_request(req)?;
        self.abort_cur_segment();
        let start = segment.start_txid;
        if segment.end_txid == 0 || segment.end_txid < start {
            return Err(JournalError::IllegalArgument(format!(
                "bad recovery state for segment {start}: {segment}{}",
                self.suffix()
            )));
        }
        let new_data = PaxosData {
            segment,
            accepted_in_epoch: req.epoch,
        };
        if let Some(old) = self.storage.read_paxos(start)?
            && old.accepted_in_epoch > req.epoch
        {
            return Err(JournalError::Assertion(format!(
                "Bad paxos transition, out-of-order epochs.\nOld: {old}\nNew: {new_data}\n"
            )));
        }
        let current = self.segment_info(start)?;
        let mut synced = None;
        if current.map(|c| c.end_txid) != Some(segment.end_txid) {
            match current {
                None => tracing::info!(
                    jid = %self.jid,
                    "Synchronizing log {segment}: no current segment in place{}",
                    self.suffix()
                ),
                Some(current) => {
                    tracing::info!(
                        jid = %self.jid,
                        "Synchronizing log {segment}: old segment {current} is not the right length{}",
                        self.suffix()
                    );
                    if let Some(committed) = self.committed_txid
                        && (current.start_txid..=current.end_txid).contains(&committed)
                        && !(segment.start_txid..=segment.end_txid).contains(&committed)
                    {
                        return Err(JournalError::Assertion(format!(
                            "Cannot replace segment {current} with new segment {segment}: would discard already-committed txn {committed}{}",
                            self.suffix()
                        )));
                    }
                    if !current.in_progress {
                        return Err(JournalError::Assertion(format!(
                            "Should never be asked to synchronize a different log on top of an already-finalized segment{}",
                            self.suffix()
                        )));
                    }
                }
            }
            synced = Some(self.sync_log(req, &segment, fetch)?);
        } else {
            tracing::info!(
                jid = %self.jid,
                "Skipping download of log {segment}: already have up-to-date logs{}",
                self.suffix()
            );
        }
        // The commit point: once the decision is on disk, the accept has happened, and a
        // crash before the rename below is rolled forward by the next prepareRecovery.
        self.storage.write_paxos(start, &new_data)?;
        if let Some(temp) = synced {
            self.storage
                .rename(&temp, &EditFile::InProgress { start })?;
            if let Some(cache) = &mut self.cache {
                cache.truncate_from(segment.end_txid + 1);
            }
            // Keep the highest written txid (the lag metric, the manifest) true to the disk.
            match current {
                None => self.highest_written_txid = self.highest_written_txid.max(segment.end_txid),
                Some(c) if (c.start_txid..=c.end_txid).contains(&self.highest_written_txid) => {
                    self.highest_written_txid = segment.end_txid
                }
                Some(_) => {}
            }
        }
        tracing::info!(
            jid = %self.jid,
            "Accepted recovery for segment {start}: {new_data}{}",
            self.suffix()
        );
        Ok(())
    }

    /// Downloads the accepted segment into `edits_inprogress_<start>.epoch=<epoch>` and checks
    /// that it holds exactly the accepted txids.
    fn sync_log(
        &mut self,
        req: &RequestInfo,
        segment: &SegmentState,
        fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
    ) -> Result<EditFile, JournalError> {
        let temp = EditFile::RecoveryTemp {
            start: segment.start_txid,
            epoch: req.epoch,
        };
        self.download_segment(temp, segment, fetch)
    }

    /// Downloads a copy of `segment` into `temp`, fsyncs it and checks that it holds exactly
    /// the segment's txids; a copy that does not is deleted.
    fn download_segment(
        &mut self,
        temp: EditFile,
        segment: &SegmentState,
        fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
    ) -> Result<EditFile, JournalError> {
        let mut file = self.storage.detached(&temp);
        let mut started = false;
        let fetched = fetch_segment(&mut *file, &mut started, segment, &self.suffix(), fetch);
        if let Err(err) = fetched {
            if started {
                let _ = self.storage.delete(&temp);
            }
            return Err(err);
        }
        Ok(temp)
    }

    /// Whether JournalNode sync may install `log`, a finalized segment another JournalNode
    /// holds, here: only when every txid of it is at or below this journal's committed txid
    /// (Hadoop's rule: a committed txid is final on a majority, so the copy cannot disagree
    /// with what this journal would have written) and when no segment here overlaps it (sync
    /// fills gaps), but for a stale in-progress prefix of it, which the copy replaces.
    fn sync_gap(&mut self, log: &RemoteEditLog) -> Result<Option<SyncGap>, JournalError> {
        self.check_formatted()?;
        let segment = synced_state(log);
        if log.in_progress || log.end_txid < log.start_txid {
            return Ok(None);
        }
        if self.committed_txid.is_none_or(|c| log.end_txid > c) {
            tracing::debug!(
                jid = %self.jid,
                "Not syncing segment {segment}: beyond the committed txid {:?}{}",
                self.committed_txid,
                self.suffix()
            );
            return Ok(None);
        }
        let mut stale = None;
        for file in self.storage.list_edit_files()? {
            let range = match file {
                EditFile::Finalized { start, end } => start..=end,
                EditFile::InProgress { start } => {
                    let last = self.storage.scan(&file, false)?.last_txid;
                    start..=last.unwrap_or(start).max(start)
                }
                _ => continue,
            };
            if *range.end() < log.start_txid || log.end_txid < *range.start() {
                continue;
            }
            // An in-progress segment left by a writer that went away, holding no more than a
            // prefix of the committed segment, is the one thing sync replaces (moved aside as
            // `.stale`): its txids past the committed ones, if any, were never committed.
            let open = self.cur_segment.as_ref().map(|c| c.start);
            if matches!(file, EditFile::InProgress { start } if start == log.start_txid)
                && *range.end() <= log.end_txid
                && open != Some(log.start_txid)
            {
                stale = Some(file);
                continue;
            }
            tracing::debug!(
                jid = %self.jid,
                "Not syncing segment {segment}: {file} overlaps it{}",
                self.suffix()
            );
            return Ok(None);
        }
        Ok(Some(SyncGap { stale }))
    }

    /// JournalNode sync (Hadoop's `JournalNodeSyncer`), step 1 of 3, under the journal's
    /// lock: whether `log` fills a gap here (the rules of `sync_gap`), and if so the
    /// download of it, into `edits_inprogress_<start>.sync`, that step 2
    /// ([`SegmentDownload::fetch`]) runs without the lock. `None` when it is not taken.
    pub fn prepare_synced_segment(
        &mut self,
        log: &RemoteEditLog,
    ) -> Result<Option<SegmentDownload>, JournalError> {
        if self.sync_gap(log)?.is_none() {
            return Ok(None);
        }
        let temp = EditFile::Aside {
            start: log.start_txid,
            suffix: "sync".to_string(),
        };
        Ok(Some(SegmentDownload {
            log: *log,
            file: self.storage.detached(&temp),
            temp,
            suffix: self.suffix(),
            started: false,
            fetched: None,
        }))
    }

    /// JournalNode sync, step 3, under the lock again (Hadoop's `moveTmpSegmentToCurrent`):
    /// the rules of step 1 are checked again — a writer may have written or finalized that
    /// range meanwhile, a rollback lowered the committed txid, a format cleared the journal —
    /// and the downloaded copy is renamed into place, or deleted. `Ok(false)` when it is not
    /// taken; a failed download is deleted and its error returned.
    pub fn complete_synced_segment(
        &mut self,
        mut download: SegmentDownload,
    ) -> Result<bool, JournalError> {
        let fetched = download.fetched.take().unwrap_or_else(|| {
            Err(JournalError::Assertion(format!(
                "segment {} was never downloaded{}",
                download.log.start_txid,
                self.suffix()
            )))
        });
        let gap = match fetched.and_then(|()| self.sync_gap(&download.log)) {
            Ok(Some(gap)) => gap,
            refused => {
                if download.started {
                    let _ = self.storage.delete(&download.temp);
                }
                if matches!(refused, Ok(None)) {
                    tracing::info!(
                        jid = %self.jid,
                        "Not installing synced segment {}: the journal changed during its download{}",
                        synced_state(&download.log),
                        self.suffix()
                    );
                }
                return refused.map(|_| false);
            }
        };
        if let Some(stale) = gap.stale {
            self.move_aside(&stale, "stale")?;
        }
        let finalized = EditFile::Finalized {
            start: download.log.start_txid,
            end: download.log.end_txid,
        };
        self.storage.rename(&download.temp, &finalized)?;
        self.metrics.num_edit_logs_synced += 1;
        tracing::info!(
            jid = %self.jid,
            "Synced segment {} from another JournalNode{}",
            self.file_path(&finalized),
            self.suffix()
        );
        Ok(true)
    }

    /// JournalNode sync's three steps at once, all under the caller's lock (for callers that
    /// hold no lock worth releasing: tests and simulations). `Ok(false)` when the segment is
    /// not taken.
    pub fn install_synced_segment(
        &mut self,
        log: &RemoteEditLog,
        fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
    ) -> Result<bool, JournalError> {
        let Some(mut download) = self.prepare_synced_segment(log)? else {
            return Ok(false);
        };
        download.fetch(fetch);
        self.complete_synced_segment(download)
    }

    /// `getEditLogManifest`: the segments from `since_txid` on (anyone may ask).
    pub fn get_edit_log_manifest(
        &mut self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> Result<EditLogManifest, JournalError> {
        self.check_formatted()?;
        let mut logs = Vec::new();
        let mut latest_in_progress = None;
        for file in self.storage.list_edit_files()? {
            match file {
                EditFile::Finalized { start, end } if end >= since_txid => {
                    logs.push(RemoteEditLog {
                        start_txid: start,
                        end_txid: end,
                        in_progress: false,
                    })
                }
                EditFile::InProgress { start } => latest_in_progress = Some(start),
                _ => {}
            }
        }
        if in_progress_ok
            && let Some(start) = latest_in_progress
            && self.highest_written_txid >= start
            && self.highest_written_txid >= since_txid
            && logs.last().is_none_or(|l| l.end_txid < start)
        {
            logs.push(RemoteEditLog {
                start_txid: start,
                end_txid: self.highest_written_txid,
                in_progress: true,
            });
        }
        Ok(EditLogManifest {
            logs,
            committed_txid: self.committed_txid,
        })
    }

    /// `getJournaledEdits`: up to `max_txns` edits from `since_txid`, from the cache.
    pub fn get_journaled_edits(
        &mut self,
        since_txid: u64,
        max_txns: usize,
    ) -> Result<(usize, Vec<u8>), JournalError> {
        self.check_formatted()?;
        let highest = self.highest_written_txid;
        let Some(cache) = &self.cache else {
            return Err(JournalError::CacheDisabled);
        };
        if since_txid == highest + 1 {
            self.metrics.rpc_empty_responses += 1;
            return Ok((0, Vec::new()));
        }
        if since_txid > highest + 1 {
            self.metrics.rpc_empty_responses += 1;
            return Err(JournalError::NewerTxnId {
                highest,
                requested: since_txid,
            });
        }
        match cache.retrieve(since_txid, max_txns) {
            Ok((count, bytes)) => {
                self.metrics.txns_served_via_rpc += count as u64;
                self.metrics.bytes_served_via_rpc += bytes.len() as u64;
                Ok((count, bytes))
            }
            Err(err) => {
                self.metrics.rpc_request_cache_misses += 1;
                Err(err)
            }
        }
    }

    /// The layout version of the edits `get_journaled_edits` serves (none before a segment
    /// began since this JournalNode started, when the cache is empty anyway).
    pub fn journaled_edits_layout(&self) -> Option<i32> {
        self.cache.as_ref().and_then(|c| c.layout_version())
    }

    /// Raw bytes of the segment starting at `start` (in progress or finalized), for readers and
    /// for other JournalNodes' recovery: `(layout version, record bytes from offset)`.
    pub fn read_segment(
        &mut self,
        start: u64,
        record_offset: u64,
        max_len: usize,
    ) -> Result<Option<(i32, Vec<u8>)>, JournalError> {
        self.check_formatted()?;
        let Some(file) = self.segment_file(start)? else {
            return Ok(None);
        };
        let header = self.storage.read(&file, 0, super::edits::HEADER_LEN)?;
        let layout = super::edits::parse_segment_header(&header).map_err(|reason| {
            JournalError::BadBatch(format!("{}: {reason}", self.file_path(&file)))
        })?;
        let bytes = self.storage.read(
            &file,
            super::edits::HEADER_LEN as u64 + record_offset,
            max_len,
        )?;
        Ok(Some((layout, bytes)))
    }

    /// `discardSegments`: removes every segment from `start_txid` on (rolling-upgrade
    /// rollback); they are moved aside as `.trash`.
    pub fn discard_segments(&mut self, start_txid: u64) -> Result<(), JournalError> {
        self.check_formatted()?;
        if self.cur_segment.is_some_and(|s| s.start >= start_txid) {
            self.abort_cur_segment();
        }
        let files = self.storage.list_edit_files()?;
        for file in &files {
            if let EditFile::Finalized { start, end } = file
                && *start < start_txid
                && *end >= start_txid
            {
                return Err(JournalError::IllegalArgument(format!(
                    "Cannot discard segments from txid {start_txid}: it falls inside the finalized segment {}{}",
                    self.file_path(file),
                    self.suffix()
                )));
            }
        }
        for file in files {
            if file.is_segment() && file.start() >= start_txid {
                let trash = EditFile::Aside {
                    start: file.start(),
                    suffix: "trash".to_string(),
                };
                self.storage.rename(&file, &trash)?;
            }
        }
        let committed = start_txid.saturating_sub(1);
        self.storage
            .write_long(PersistedLong::CommittedTxid, committed)?;
        self.committed_txid = Some(committed);
        self.highest_written_txid = self.highest_written_txid.min(committed);
        if let Some(cache) = &mut self.cache {
            cache.truncate_from(start_txid);
        }
        Ok(())
    }

    fn abort_cur_segment(&mut self) {
        self.cur_segment = None;
    }

    fn file_path(&self, file: &EditFile) -> String {
        format!("{}/current/{file}", self.storage.dir())
    }

    /// The in-progress or finalized segment starting at `start`.
    fn segment_file(&self, start: u64) -> Result<Option<EditFile>, JournalError> {
        Ok(self
            .storage
            .list_edit_files()?
            .into_iter()
            .find(|f| f.is_segment() && f.start() == start))
    }

    /// The state of the segment starting at `start`; an empty one is moved aside and counts
    /// as absent.
    fn segment_info(&mut self, start: u64) -> Result<Option<SegmentState>, JournalError> {
        let Some(file) = self.segment_file(start)? else {
            return Ok(None);
        };
        let (end, in_progress) = match file {
            EditFile::Finalized { end, .. } => (Some(end), false),
            _ => (self.storage.scan(&file, false)?.last_txid, true),
        };
        let Some(end) = end else {
            tracing::info!(
                jid = %self.jid,
                "Edit log file {} appears to be empty. Moving it aside...{}",
                self.file_path(&file),
                self.suffix()
            );
            self.move_aside(&file, "empty")?;
            return Ok(None);
        };
        Ok(Some(SegmentState {
            start_txid: start,
            end_txid: end,
            in_progress,
        }))
    }

    fn move_aside(&mut self, file: &EditFile, suffix: &str) -> Result<(), JournalError> {
        let aside = EditFile::Aside {
            start: file.start(),
            suffix: suffix.to_string(),
        };
        self.storage.rename(file, &aside)?;
        Ok(())
    }

    /// Finds the newest segment holding edits. In-progress segments are scanned with repair
    /// (a torn tail is truncated); those without edits are moved aside.
    fn scan_storage_for_latest_edits(
        &mut self,
    ) -> Result<Option<(EditFile, EditFileScan)>, JournalError> {
        let mut files: Vec<EditFile> = self
            .storage
            .list_edit_files()?
            .into_iter()
            .filter(EditFile::is_segment)
            .collect();
        while let Some(latest) = files.pop() {
            let scan = self
                .storage
                .scan(&latest, matches!(latest, EditFile::InProgress { .. }))?;
            if scan.tail_is_padding {
                tracing::info!(
                    jid = %self.jid,
                    "Dropped {} bytes of OP_INVALID preallocation at the end of {}{}",
                    scan.tail_len,
                    self.file_path(&latest),
                    self.suffix()
                );
            } else if scan.tail_len > 0 {
                tracing::warn!(
                    jid = %self.jid,
                    "Truncated {} bytes at the end of {} ({}){}",
                    scan.tail_len,
                    self.file_path(&latest),
                    scan.tail_problem.as_deref().unwrap_or("torn write"),
                    self.suffix()
                );
            }
            if scan.last_txid.is_none() {
                let suffix = if scan.has_bad_header() && scan.tail_len > 0 {
                    "corrupt"
                } else {
                    "empty"
                };
                tracing::warn!(
                    jid = %self.jid,
                    "Latest log {} has no transactions. moving it aside and looking for previous log{}",
                    self.file_path(&latest),
                    self.suffix()
                );
                self.move_aside(&latest, suffix)?;
                continue;
            }
            tracing::info!(jid = %self.jid, "Latest log is {}{}", self.file_path(&latest), self.suffix());
            return Ok(Some((latest, scan)));
        }
        Ok(None)
    }
}

/// What [`Journal::sync_gap`] found: the gap a synced segment fills.
struct SyncGap {
    /// A stale in-progress prefix of the segment, moved aside when the copy is installed.
    stale: Option<EditFile>,
}

/// The state of a finalized segment another JournalNode offers.
fn synced_state(log: &RemoteEditLog) -> SegmentState {
    SegmentState {
        start_txid: log.start_txid,
        end_txid: log.end_txid,
        in_progress: false,
    }
}

/// A segment JournalNode sync is taking: made under the journal's lock by
/// [`Journal::prepare_synced_segment`], downloaded by [`SegmentDownload::fetch`] into a
/// detached temp file without it, installed (or deleted) by
/// [`Journal::complete_synced_segment`] under it again. The temp file is an aside file
/// (`edits_inprogress_<start>.sync`), which no scan takes for a segment, so a crash at any
/// step leaves the journal as it was, and the next download of the segment truncates it.
pub struct SegmentDownload {
    log: RemoteEditLog,
    temp: EditFile,
    file: Box<dyn DetachedEditFile>,
    /// `" ; journal id: <jid>"`, for messages.
    suffix: String,
    /// Whether the temp file was created (and is to be deleted if the copy is not taken).
    started: bool,
    /// What the download came to; `None` before it ran.
    fetched: Option<Result<(), JournalError>>,
}

impl SegmentDownload {
    /// The segment being taken.
    pub fn log(&self) -> &RemoteEditLog {
        &self.log
    }

    /// Step 2 of JournalNode sync, without the journal's lock: downloads the segment through
    /// `fetch` into the temp file, fsyncs it and checks that it holds exactly the segment's
    /// txids. The outcome is for [`Journal::complete_synced_segment`].
    pub fn fetch(
        &mut self,
        fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
    ) {
        let segment = synced_state(&self.log);
        self.fetched = Some(fetch_segment(
            &mut *self.file,
            &mut self.started,
            &segment,
            &self.suffix,
            fetch,
        ));
    }
}

/// Downloads a copy of `segment` through `fetch` into `file`, makes it durable (a padded or
/// torn tail cut off) and checks that it holds exactly the segment's txids. `started` tells
/// whether the file was created, for the caller to delete when this fails.
fn fetch_segment(
    file: &mut dyn DetachedEditFile,
    started: &mut bool,
    segment: &SegmentState,
    suffix: &str,
    fetch: &mut dyn FnMut(&mut dyn SegmentSink) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    let mut sink = DetachedSink { file, started };
    fetch(&mut sink)?;
    if !*sink.started {
        return Err(JournalError::Download(format!(
            "The source of segment {} sent no data{suffix}",
            segment.start_txid
        )));
    }
    // A copy of a Hadoop JournalNode's in-progress segment ends in its preallocation
    // padding: that is dropped (and the drop made durable), anything else is refused.
    let scan = sink.file.finish()?;
    if scan.first_txid != Some(segment.start_txid)
        || scan.last_txid != Some(segment.end_txid)
        || (scan.tail_len != 0 && !scan.tail_is_padding)
    {
        return Err(JournalError::Download(format!(
            "Downloaded copy of segment {segment} holds txids {:?}-{:?} ({} bad trailing bytes), not the accepted range{suffix}",
            scan.first_txid, scan.last_txid, scan.tail_len,
        )));
    }
    Ok(())
}

/// Writes a fetched segment into a detached temp file.
struct DetachedSink<'a> {
    file: &'a mut dyn DetachedEditFile,
    started: &'a mut bool,
}

impl SegmentSink for DetachedSink<'_> {
    fn begin(&mut self, layout_version: i32) -> Result<(), JournalError> {
        *self.started = true;
        self.file.create(layout_version)?;
        Ok(())
    }

    fn write(&mut self, records: &[u8]) -> Result<(), JournalError> {
        if !*self.started {
            return Err(JournalError::Download(
                "segment data arrived before its header".to_string(),
            ));
        }
        self.file.append(records)?;
        Ok(())
    }
}
