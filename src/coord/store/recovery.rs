//! Recovery: the newest snapshot that loads, then every later txn in zxid order, a torn tail
//! of the last log truncated; spare log files a crash left are adopted. The rules that pick
//! and check what is replayed are shared with [`MemStore`].

use super::*;

/// What [`load_files`] found besides the database: the log to continue appending to and
/// where, if its tail is usable.
pub(super) type Resume = Option<(PathBuf, u64)>;

/// Loads the newest snapshot at or below `limit` that `R` accepts and replays the logs after
/// it, keeping the last `tail_len` records after that snapshot. With a limit this reads the
/// files of a running server (whose log may be appended past the limit) and changes nothing
/// on disk; without, a torn tail of the last log is truncated and spares are adopted.
pub(super) fn load_files<R: Replica>(
    config: &StoreConfig,
    limit: Option<i64>,
    tail_len: usize,
) -> Result<(Loaded<R>, Resume), StoreError> {
    let live = limit.is_some();
    let limit = limit.unwrap_or(i64::MAX);
    let mut tail: std::collections::VecDeque<Entry> = std::collections::VecDeque::new();
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
    let mut base: Option<(i64, R)> = None;
    for (zxid, path) in snaps.iter().rev() {
        let bytes = fs::read(path).map_err(io_err(path))?;
        match R::from_image(*zxid, &bytes) {
            Ok(db) => {
                tracing::info!("Reading snapshot {}", path.display());
                base = Some((*zxid, db));
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
    if base.is_none() && !snaps.is_empty() {
        return Err(StoreError::Inconsistent(format!(
            "no valid snapshot among {} snapshot files in {}",
            snaps.len(),
            config.snap_dir.display()
        )));
    }
    let (snapshot_zxid, mut db) = base.unwrap_or_else(|| (0, R::empty()));
    let mut last_zxid = snapshot_zxid;
    let first = first_log_needed(logs.iter().map(|(z, _)| *z), last_zxid);
    let wanted = &logs[first.min(logs.len())..];
    if let Some((z, path)) = wanted.first() {
        check_starts_in_time(*z, last_zxid, &path.display().to_string())?;
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
                Decoded::Record {
                    zxid,
                    payload,
                    used,
                } => {
                    let corrupt = |reason: ReplayError| StoreError::Corrupt {
                        path: path.clone(),
                        reason: format!("{reason} at offset {pos}"),
                    };
                    if zxid <= limit {
                        let step = replay_one(&mut db, &mut last_zxid, zxid, payload);
                        replayed += u64::from(step.map_err(corrupt)?);
                        if tail_len > 0 && zxid > snapshot_zxid {
                            push_tail(&mut tail, tail_len, zxid, payload);
                        }
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
    let loaded = Loaded {
        db,
        last_zxid,
        snapshot_zxid,
        replayed,
        tail: usable_tail(tail, last_zxid),
    };
    Ok((loaded, resume))
}

/// Which log the replay after a snapshot at `last_zxid` starts from (logs by first zxid,
/// sorted): the last one starting at or before the txn after it may hold later txns, earlier
/// ones cannot. Failing that, a log may start right after it in a later epoch (a quorum's
/// first txn of an epoch is (epoch, 1), and a database may start empty at zxid 0).
pub(super) fn first_log_needed(firsts: impl Iterator<Item = i64> + Clone, last_zxid: i64) -> usize {
    let firsts: Vec<i64> = firsts.collect();
    firsts
        .iter()
        .rposition(|z| *z <= last_zxid + 1)
        .or_else(|| firsts.iter().position(|z| zab::follows(last_zxid, *z)))
        .unwrap_or(0)
}

/// Refuses a first log to replay that starts after a hole.
pub(super) fn check_starts_in_time(
    first: i64,
    last_zxid: i64,
    name: &str,
) -> Result<(), StoreError> {
    if first > last_zxid + 1 && !zab::follows(last_zxid, first) {
        return Err(StoreError::Inconsistent(format!(
            "{name} starts at zxid 0x{first:x} but the database ends at 0x{last_zxid:x}: txns are missing"
        )));
    }
    Ok(())
}

/// Applies a logged txn if it is newer than the database (true), refusing gaps; older ones
/// are already in a fuzzy snapshot (false).
pub(super) fn replay_one<R: Replica>(
    db: &mut R,
    last_zxid: &mut i64,
    zxid: i64,
    payload: &[u8],
) -> Result<bool, ReplayError> {
    if zxid <= *last_zxid {
        return Ok(false);
    }
    if !zab::follows(*last_zxid, zxid) {
        return Err(ReplayError::Gap {
            zxid,
            after: *last_zxid,
        });
    }
    db.apply(zxid, payload)?;
    *last_zxid = zxid;
    Ok(true)
}

pub(super) fn push_tail(
    tail: &mut std::collections::VecDeque<Entry>,
    tail_len: usize,
    zxid: i64,
    payload: &[u8],
) {
    tail.push_back(Entry {
        zxid,
        data: bytes::Bytes::copy_from_slice(payload),
    });
    if tail.len() > tail_len {
        tail.pop_front();
    }
}

/// Only records of the history that ends at `last_zxid`, contiguous, make a usable tail.
pub(super) fn usable_tail(
    mut tail: std::collections::VecDeque<Entry>,
    last_zxid: i64,
) -> Vec<Entry> {
    while tail.back().is_some_and(|r| r.zxid > last_zxid) {
        tail.pop_back();
    }
    let mut tail: Vec<Entry> = tail.into_iter().collect();
    if let Some(i) = (1..tail.len())
        .rev()
        .find(|i| !zab::follows(tail[i - 1].zxid, tail[*i].zxid))
    {
        tail.drain(..i);
    }
    tail
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
                Decoded::Record { zxid, .. } => Some(zxid),
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
