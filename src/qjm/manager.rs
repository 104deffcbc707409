//! `QuorumJournalManager`: the NameNode's client of the JournalNode quorum (Hadoop's
//! `QuorumJournalManager` + `AsyncLoggerSet`).
//!
//! A writer's lifetime: `recover_unfinalized_segments` (a new epoch above every promise a
//! majority reports, then Paxos-style recovery of the newest segment), then segments written
//! through [`EditLogWriter`] and finalized. Every step needs a majority; format needs all.
//! Readers list segments (`get_edit_log_manifest`) and read edits (`read_edits`), from the
//! JournalNodes' in-memory cache when in-progress tailing is on, from segment files otherwise.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::call::{Needed, QuorumOutcome, quorum_call};
use super::channel::{ChannelResult, JournalChannel};
use super::error::{LoggerError, QjmError, quorum_exception};
use super::ipc_channel::IpcChannel;
use super::logger::Logger;
use super::recovery::{RecoveryDecision, decide};
use super::writer::EditLogWriter;
use crate::conf::{ConfError, Configuration, QjournalUri, TimeUnit};
use crate::journal::edits::{EditRecord, decode_records};
use crate::journal::{NamespaceInfo, RemoteEditLog};
use crate::majority::majority_reached;

/// Timeouts and limits of the quorum journal client (`dfs.qjournal.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QjmConf {
    pub start_segment_timeout: Duration,
    pub prepare_recovery_timeout: Duration,
    pub accept_recovery_timeout: Duration,
    pub finalize_segment_timeout: Duration,
    pub select_input_streams_timeout: Duration,
    pub get_journal_state_timeout: Duration,
    pub new_epoch_timeout: Duration,
    pub write_txns_timeout: Duration,
    /// Format and other operations that need every JournalNode (`dfs.qjm.operations.timeout`).
    pub operations_timeout: Duration,
    /// Edits that may wait for one JournalNode before it counts as failed.
    pub queued_edits_limit_bytes: usize,
    /// Whether readers may tail in-progress segments from the JournalNodes' caches.
    pub in_progress_tailing: bool,
    /// Most edits asked for per `getJournaledEdits`.
    pub max_txns_per_rpc: u32,
    pub connect_timeout: Duration,
}

impl Default for QjmConf {
    /// Hadoop's defaults.
    fn default() -> Self {
        QjmConf {
            start_segment_timeout: Duration::from_millis(20_000),
            prepare_recovery_timeout: Duration::from_millis(120_000),
            accept_recovery_timeout: Duration::from_millis(120_000),
            finalize_segment_timeout: Duration::from_millis(120_000),
            select_input_streams_timeout: Duration::from_millis(20_000),
            get_journal_state_timeout: Duration::from_millis(120_000),
            new_epoch_timeout: Duration::from_millis(120_000),
            write_txns_timeout: Duration::from_millis(20_000),
            operations_timeout: Duration::from_secs(60),
            queued_edits_limit_bytes: 10 << 20,
            in_progress_tailing: false,
            max_txns_per_rpc: 5000,
            connect_timeout: Duration::from_millis(20_000),
        }
    }
}

impl QjmConf {
    pub fn from_conf(conf: &Configuration) -> Result<QjmConf, ConfError> {
        let ms = |key: &str| conf.get_duration(key, TimeUnit::Milliseconds);
        let queued_mb = conf
            .get_int("dfs.qjournal.queued-edits.limit.mb")?
            .unwrap_or(10)
            .max(1) as usize;
        Ok(QjmConf {
            start_segment_timeout: ms("dfs.qjournal.start-segment.timeout.ms")?,
            prepare_recovery_timeout: ms("dfs.qjournal.prepare-recovery.timeout.ms")?,
            accept_recovery_timeout: ms("dfs.qjournal.accept-recovery.timeout.ms")?,
            finalize_segment_timeout: ms("dfs.qjournal.finalize-segment.timeout.ms")?,
            select_input_streams_timeout: ms("dfs.qjournal.select-input-streams.timeout.ms")?,
            get_journal_state_timeout: ms("dfs.qjournal.get-journal-state.timeout.ms")?,
            new_epoch_timeout: ms("dfs.qjournal.new-epoch.timeout.ms")?,
            write_txns_timeout: ms("dfs.qjournal.write-txns.timeout.ms")?,
            operations_timeout: ms("dfs.qjm.operations.timeout")?,
            queued_edits_limit_bytes: queued_mb << 20,
            in_progress_tailing: conf.get_bool("dfs.ha.tail-edits.in-progress", false)?,
            max_txns_per_rpc: 5000,
            connect_timeout: ms("ipc.client.connect.timeout")?,
        })
    }
}

/// The loggers and settings shared by the manager and its writers.
pub(crate) struct Core<C: JournalChannel> {
    pub conf: QjmConf,
    pub loggers: Vec<Arc<Logger<C>>>,
    pub names: Vec<String>,
}

type BoxedCall<T> = Pin<Box<dyn Future<Output = ChannelResult<T>> + Send>>;

impl<C: JournalChannel> Core<C> {
    /// Sends `make(logger)` to every JournalNode and waits per `needed`.
    pub async fn call<T, F, Fut>(
        &self,
        operation: &str,
        needed: Needed,
        timeout: Duration,
        make: F,
    ) -> Result<QuorumOutcome<T>, QjmError>
    where
        T: Send + fmt::Debug + 'static,
        F: Fn(Arc<Logger<C>>) -> Fut,
        Fut: Future<Output = ChannelResult<T>> + Send + 'static,
    {
        let calls: Vec<BoxedCall<T>> = self
            .loggers
            .iter()
            .map(|l| Box::pin(make(l.clone())) as BoxedCall<T>)
            .collect();
        quorum_call(operation, &self.names, calls, needed, timeout).await
    }
}

#[derive(Debug, Default)]
struct WriterPhase {
    epoch: Option<u64>,
    /// Recovery is done: segments may be started.
    active: bool,
}

pub struct QuorumJournalManager<C: JournalChannel> {
    core: Arc<Core<C>>,
    jid: String,
    ns: Option<NamespaceInfo>,
    phase: Mutex<WriterPhase>,
}

impl<C: JournalChannel> fmt::Display for QuorumJournalManager<C> {
    /// `QJM to [127.0.0.1:8485, 127.0.0.2:8485, 127.0.0.3:8485]`, as Hadoop names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QJM to [{}]", self.core.names.join(", "))
    }
}

impl QuorumJournalManager<IpcChannel> {
    /// A manager for the JournalNodes of `uri`. Every host is resolved now, as Hadoop does, so
    /// a misspelled name fails at start rather than at the first write.
    pub fn connect(
        conf: QjmConf,
        uri: &QjournalUri,
        ns: Option<NamespaceInfo>,
        name_service_id: Option<String>,
    ) -> Result<Self, QjmError> {
        let mut channels = Vec::new();
        for node in &uri.journal_nodes {
            node.resolve().map_err(|_| {
                QjmError::IllegalState(format!(
                    "Unable to construct journal, {uri}: java.net.UnknownHostException: {}",
                    node.host
                ))
            })?;
            channels.push(IpcChannel::new(
                &node.host,
                node.port,
                &uri.journal_id,
                name_service_id.clone(),
                ns.clone(),
                conf.connect_timeout,
            ));
        }
        if let Some(warning) = uri.even_count_warning() {
            tracing::warn!("{warning}");
        }
        Ok(Self::new(conf, &uri.journal_id, ns, channels))
    }
}

impl<C: JournalChannel> QuorumJournalManager<C> {
    pub fn new(conf: QjmConf, jid: &str, ns: Option<NamespaceInfo>, channels: Vec<C>) -> Self {
        let names = channels.iter().map(|c| c.address()).collect();
        let limit = conf.queued_edits_limit_bytes;
        QuorumJournalManager {
            core: Arc::new(Core {
                conf,
                loggers: channels
                    .into_iter()
                    .map(|c| Arc::new(Logger::new(c, limit)))
                    .collect(),
                names,
            }),
            jid: jid.to_string(),
            ns,
            phase: Mutex::new(WriterPhase::default()),
        }
    }

    pub fn journal_id(&self) -> &str {
        &self.jid
    }

    pub fn loggers(&self) -> &[Arc<Logger<C>>] {
        &self.core.loggers
    }

    /// The epoch this writer holds, once established.
    pub fn epoch(&self) -> Option<u64> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner()).epoch
    }

    fn ns(&self) -> Result<NamespaceInfo, QjmError> {
        self.ns.clone().ok_or_else(|| {
            QjmError::IllegalState("no namespace info: this manager is a reader only".to_string())
        })
    }

    /// Formats every JournalNode (all must succeed).
    pub async fn format(&self, force: bool) -> Result<(), QjmError> {
        let ns = self.ns()?;
        let result = self
            .core
            .call(
                "format",
                Needed::All,
                self.core.conf.operations_timeout,
                |l| {
                    let ns = ns.clone();
                    async move { l.channel().format(&ns, force).await }
                },
            )
            .await;
        self.require_all(result, "Could not format one or more JournalNodes")
    }

    /// Whether any JournalNode is formatted (all must answer).
    pub async fn has_some_data(&self) -> Result<bool, QjmError> {
        let outcome = self
            .core
            .call(
                "isFormatted",
                Needed::All,
                self.core.conf.operations_timeout,
                |l| async move { l.channel().is_formatted().await },
            )
            .await
            .map_err(|e| match e {
                QjmError::Quorum(msg) => QjmError::AllRequired(msg.replacen(
                    "Got too many exceptions to achieve quorum size",
                    "Unable to check if JNs are ready for formatting. Got too many exceptions to achieve quorum size",
                    1,
                )),
                other => other,
            })?;
        Ok(outcome.successes.iter().any(|(_, formatted)| *formatted))
    }

    fn require_all<T: fmt::Debug>(
        &self,
        result: Result<QuorumOutcome<T>, QjmError>,
        simple: &str,
    ) -> Result<(), QjmError> {
        match result {
            Ok(_) => Ok(()),
            Err(QjmError::Quorum(msg)) => {
                let detail = msg.split_once(". ").map_or(msg.as_str(), |(_, d)| d);
                Err(QjmError::AllRequired(format!("{simple}. {detail}")))
            }
            Err(other) => Err(other),
        }
    }

    /// Establishes a new epoch: one above every promise a majority reports, promised by a
    /// majority. Returns each responder's newest segment start.
    pub async fn create_new_unique_epoch(&self) -> Result<Vec<(usize, Option<u64>)>, QjmError> {
        if self.epoch().is_some() {
            return Err(QjmError::IllegalState("epoch already created".to_string()));
        }
        let ns = self.ns()?;
        let promises = self
            .core
            .call(
                "getJournalState()",
                Needed::Majority,
                self.core.conf.get_journal_state_timeout,
                |l| async move { l.channel().get_journal_state().await },
            )
            .await?;
        let max_promised = promises
            .successes
            .iter()
            .map(|(_, e)| *e)
            .max()
            .unwrap_or(0);
        let my_epoch = max_promised + 1;
        let responses = self
            .core
            .call(
                &format!("newEpoch({my_epoch})"),
                Needed::Majority,
                self.core.conf.new_epoch_timeout,
                |l| {
                    let ns = ns.clone();
                    async move { l.channel().new_epoch(&ns, my_epoch).await }
                },
            )
            .await?;
        for logger in &self.core.loggers {
            logger.set_epoch(my_epoch).await;
        }
        self.phase.lock().unwrap_or_else(|p| p.into_inner()).epoch = Some(my_epoch);
        Ok(responses.successes)
    }

    /// Becomes the writer: a new epoch, then recovery of the newest segment, which ends
    /// finalized on a majority with one agreed length. Returns that segment's last txid.
    pub async fn recover_unfinalized_segments(&self) -> Result<Option<u64>, QjmError> {
        if self.phase.lock().unwrap_or_else(|p| p.into_inner()).active {
            return Err(QjmError::IllegalState("already active writer".to_string()));
        }
        tracing::info!("Starting recovery process for unclosed journal segments...");
        let responses = self.create_new_unique_epoch().await?;
        tracing::info!(
            "Successfully started new epoch {}",
            self.epoch().unwrap_or_default()
        );
        let most_recent = responses.iter().filter_map(|(_, s)| *s).max();
        let recovered = match most_recent {
            Some(segment) => self.recover_unclosed_segment(segment).await?,
            None => None,
        };
        self.phase.lock().unwrap_or_else(|p| p.into_inner()).active = true;
        Ok(recovered)
    }

    async fn recover_unclosed_segment(&self, segment_txid: u64) -> Result<Option<u64>, QjmError> {
        tracing::info!("Beginning recovery of unclosed segment starting at txid {segment_txid}");
        let prepared = self
            .core
            .call(
                &format!("prepareRecovery({segment_txid})"),
                Needed::Majority,
                self.core.conf.prepare_recovery_timeout,
                |l| async move { l.prepare_recovery(segment_txid).await },
            )
            .await?;
        tracing::info!(
            "Recovery prepare phase complete. Responses:\n{}",
            prepared
                .successes
                .iter()
                .map(|(i, r)| format!("{}: {r:?}", self.core.names[*i]))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let (source, segment) = match decide(&prepared.successes)? {
            RecoveryDecision::NothingToRecover => {
                tracing::info!("None of the responders had a log to recover");
                return Ok(None);
            }
            RecoveryDecision::Synchronize { source, segment } => (source, segment),
        };
        tracing::info!(
            "Using the log of {} to recover segment {segment_txid}: {segment}",
            self.core.names[source]
        );
        let url = self.core.loggers[source]
            .channel()
            .segment_url(segment_txid)
            .await
            .map_err(|e| {
                QjmError::IllegalState(format!(
                    "no URL for segment {segment_txid} on {}: {e}",
                    self.core.names[source]
                ))
            })?;
        self.core
            .call(
                &format!("acceptRecovery({segment})"),
                Needed::Majority,
                self.core.conf.accept_recovery_timeout,
                |l| {
                    let url = url.clone();
                    async move { l.accept_recovery(segment, url).await }
                },
            )
            .await?;
        // A JournalNode that missed the accept validates its copy before finalizing, so it
        // cannot finalize to a wrong length.
        self.finalize_log_segment(segment.start_txid, segment.end_txid)
            .await?;
        Ok(Some(segment.end_txid))
    }

    /// Opens segment `txid` on a majority and returns the writer for it.
    pub async fn start_log_segment(
        &self,
        txid: u64,
        layout_version: i32,
    ) -> Result<EditLogWriter<C>, QjmError> {
        if !self.phase.lock().unwrap_or_else(|p| p.into_inner()).active {
            return Err(QjmError::IllegalState(
                "must recover segments before starting a new one".to_string(),
            ));
        }
        self.core
            .call(
                &format!("startLogSegment({txid})"),
                Needed::Majority,
                self.core.conf.start_segment_timeout,
                |l| async move { l.start_log_segment(txid, layout_version).await },
            )
            .await?;
        Ok(EditLogWriter::new(self.core.clone(), txid))
    }

    /// Finalizes `[start, end]` on a majority.
    pub async fn finalize_log_segment(&self, start: u64, end: u64) -> Result<(), QjmError> {
        self.core
            .call(
                &format!("finalizeLogSegment({start}-{end})"),
                Needed::Majority,
                self.core.conf.finalize_segment_timeout,
                |l| async move { l.finalize_log_segment(start, end).await },
            )
            .await?;
        Ok(())
    }

    /// Asks every JournalNode to delete what lies wholly before `min_txid_to_keep`, without
    /// waiting (Hadoop fires and forgets).
    pub fn purge_logs_older_than(&self, min_txid_to_keep: u64) {
        for logger in &self.core.loggers {
            let logger = logger.clone();
            tokio::spawn(async move {
                if let Err(err) = logger.purge_logs(min_txid_to_keep).await {
                    tracing::warn!("Unable to purge old logs on {}: {err}", logger.address());
                }
            });
        }
    }

    /// The segments a majority lists from `since_txid` on, one per start txid (the longest
    /// copy), each with the JournalNodes that hold it; the committed txid is the highest any
    /// responder reports.
    pub async fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> Result<(Vec<(RemoteEditLog, Vec<usize>)>, Option<u64>), QjmError> {
        let outcome = self
            .core
            .call(
                &format!("getEditLogManifest({since_txid})"),
                Needed::Majority,
                self.core.conf.select_input_streams_timeout,
                |l| async move {
                    l.channel()
                        .get_edit_log_manifest(since_txid, in_progress_ok)
                        .await
                },
            )
            .await?;
        let committed = outcome
            .successes
            .iter()
            .filter_map(|(_, m)| m.committed_txid)
            .max();
        let mut by_start: BTreeMap<u64, (RemoteEditLog, Vec<usize>)> = BTreeMap::new();
        for (index, manifest) in &outcome.successes {
            for log in &manifest.logs {
                let entry = by_start
                    .entry(log.start_txid)
                    .or_insert_with(|| (*log, Vec::new()));
                let better = (!log.in_progress && entry.0.in_progress)
                    || (log.in_progress == entry.0.in_progress && log.end_txid > entry.0.end_txid);
                if better {
                    entry.0 = *log;
                }
                entry.1.push(*index);
            }
        }
        Ok((by_start.into_values().collect(), committed))
    }

    /// Up to `max_txns` edits from `since_txid` on. With `durable_only`, only edits known to
    /// be on a majority. Tails the JournalNodes' caches when in-progress tailing is on and
    /// falls back to reading segments.
    pub async fn read_edits(
        &self,
        since_txid: u64,
        max_txns: usize,
        durable_only: bool,
    ) -> Result<Vec<EditRecord>, QjmError> {
        if self.core.conf.in_progress_tailing {
            match self.read_via_rpc(since_txid, max_txns, durable_only).await {
                Ok(records) => return Ok(records),
                Err(err) => tracing::debug!(
                    "Falling back to reading segments from txid {since_txid}: {err}"
                ),
            }
        }
        self.read_via_segments(since_txid, max_txns, durable_only)
            .await
    }

    /// Reads edits from `since_txid` on from the segments on the JournalNodes, never from
    /// their caches: a new writer's catch-up after recovery. A Hadoop JournalNode that
    /// recovery synchronized holds the recovered txns in its segment but not in its cache,
    /// and answers an RPC read beyond the cache with no edits rather than a miss.
    pub async fn read_segments(
        &self,
        since_txid: u64,
        max_txns: usize,
    ) -> Result<Vec<EditRecord>, QjmError> {
        self.read_via_segments(since_txid, max_txns, true).await
    }

    async fn read_via_rpc(
        &self,
        since_txid: u64,
        max_txns: usize,
        durable_only: bool,
    ) -> Result<Vec<EditRecord>, QjmError> {
        let max = (max_txns as u32)
            .min(self.core.conf.max_txns_per_rpc)
            .max(1);
        let outcome = self
            .core
            .call(
                &format!("getJournaledEdits({since_txid})"),
                Needed::Majority,
                self.core.conf.select_input_streams_timeout,
                |l| async move { l.channel().get_journaled_edits(since_txid, max).await },
            )
            .await?;
        let counts: Vec<u64> = outcome
            .successes
            .iter()
            .map(|(_, (c, _))| u64::from(*c))
            .collect();
        let allowed = if durable_only {
            majority_reached(self.core.loggers.len(), &counts).unwrap_or(0)
        } else {
            counts.iter().copied().max().unwrap_or(0)
        } as usize;
        let Some((_, (_, bytes))) = outcome.successes.iter().max_by_key(|(_, (c, _))| *c) else {
            return Ok(Vec::new());
        };
        let mut records = decode_records(bytes)
            .map_err(|p| QjmError::Read(format!("bad edits from a JournalNode: {p}")))?;
        records.truncate(allowed);
        check_starts_at(&records, since_txid)?;
        Ok(records)
    }

    async fn read_via_segments(
        &self,
        since_txid: u64,
        max_txns: usize,
        durable_only: bool,
    ) -> Result<Vec<EditRecord>, QjmError> {
        let (segments, committed) = self.get_edit_log_manifest(since_txid, true).await?;
        let mut out: Vec<EditRecord> = Vec::new();
        let mut next = since_txid;
        for (log, holders) in segments {
            if out.len() >= max_txns {
                break;
            }
            let mut end = log.end_txid;
            if log.in_progress && durable_only {
                match committed {
                    Some(c) => end = end.min(c),
                    None => break,
                }
            }
            if end < next {
                continue;
            }
            if log.start_txid > next {
                return Err(QjmError::Gap {
                    expected: next,
                    got: log.start_txid,
                });
            }
            let records = self.fetch_segment(&log, &holders, next).await?;
            for record in records {
                if record.txid > end || out.len() >= max_txns {
                    break;
                }
                if record.txid != next {
                    return Err(QjmError::Gap {
                        expected: next,
                        got: record.txid,
                    });
                }
                next += 1;
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Reads segment `log` from `since` on from the first holder that can serve it whole.
    async fn fetch_segment(
        &self,
        log: &RemoteEditLog,
        holders: &[usize],
        since: u64,
    ) -> Result<Vec<EditRecord>, QjmError> {
        let mut errors = Vec::new();
        for &holder in holders {
            let logger = &self.core.loggers[holder];
            match logger.channel().get_segment(log.start_txid, since).await {
                Ok((_, bytes)) => match decode_records(&bytes) {
                    Ok(records) => return Ok(records),
                    Err(problem) => errors.push((
                        logger.address(),
                        LoggerError::Remote {
                            class: "IOException".into(),
                            message: format!("bad segment data: {problem}"),
                        },
                    )),
                },
                Err(err) => errors.push((logger.address(), err)),
            }
        }
        Err(quorum_exception::<String>(
            &format!(
                "Unable to read segment {} from any JournalNode",
                log.start_txid
            ),
            &[],
            &errors,
        ))
    }
}

fn check_starts_at(records: &[EditRecord], since_txid: u64) -> Result<(), QjmError> {
    if let Some(first) = records.first()
        && first.txid != since_txid
    {
        return Err(QjmError::Gap {
            expected: since_txid,
            got: first.txid,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qjm_conf_reads_hadoops_keys_with_hadoops_defaults() {
        let mut conf = Configuration::new();
        assert_eq!(
            QjmConf::from_conf(&conf).unwrap(),
            QjmConf {
                connect_timeout: Duration::from_millis(20_000),
                ..QjmConf::default()
            }
        );
        conf.set("dfs.qjournal.write-txns.timeout.ms", "90000");
        conf.set("dfs.qjournal.start-segment.timeout.ms", "1m");
        conf.set("dfs.qjm.operations.timeout", "30s");
        conf.set("dfs.qjournal.queued-edits.limit.mb", "2");
        conf.set("dfs.ha.tail-edits.in-progress", "true");
        let q = QjmConf::from_conf(&conf).unwrap();
        assert_eq!(q.write_txns_timeout, Duration::from_secs(90));
        assert_eq!(q.start_segment_timeout, Duration::from_secs(60));
        assert_eq!(q.operations_timeout, Duration::from_secs(30));
        assert_eq!(q.queued_edits_limit_bytes, 2 << 20);
        assert!(q.in_progress_tailing);
        conf.set("dfs.qjournal.new-epoch.timeout.ms", "soon");
        let err = QjmConf::from_conf(&conf).unwrap_err().to_string();
        assert!(err.contains("dfs.qjournal.new-epoch.timeout.ms"), "{err}");
    }
}
