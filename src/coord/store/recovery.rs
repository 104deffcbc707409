//! Recovery: the newest snapshot whose checksum holds, then every later txn in zxid order,
//! a torn tail of the last log truncated; spare log files a crash left are adopted.

use super::*;

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

/// Spare log files a crash left: one holding records was in use before its rename became
/// durable and counts as the log starting at its first record; an empty one is removed.
pub(super) fn adopt_spares(dir: &Path) -> Result<Vec<(i64, PathBuf)>, StoreError> {
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
