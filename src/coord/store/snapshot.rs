//! Snapshots: the fuzzy walk of the tree written in batches, whole images, loading one and
//! refusing what is not a snapshot.

use super::*;

/// The snapshot's head: magic, the zxid the walk started at, the session table.
pub(super) fn snapshot_head(sessions: &[(i64, i32)], zxid: i64) -> Vec<u8> {
    let mut out = file_header(SNAP_MAGIC);
    zxid.write(&mut out);
    (sessions.len() as i32).write(&mut out);
    for (id, timeout) in sessions {
        id.write(&mut out);
        timeout.write(&mut out);
    }
    out
}

pub(super) fn write_node(node: NodeRef<'_>, out: &mut Vec<u8>) {
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
pub(super) const SNAPSHOT_SYNC_STEP: usize = 4 << 20;

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
    let mut image = ImageBuilder::new(sessions, zxid);
    image.step(tree, usize::MAX);
    image.finish()
}

/// A snapshot image built in memory in steps between batches of requests, as a fuzzy
/// snapshot is written to disk: a leader's SNAP for a learner, which replays the txns after
/// `zxid` over it.
pub struct ImageBuilder {
    out: Vec<u8>,
    walk: TreeWalk,
}

impl ImageBuilder {
    /// An image of the tree as of `zxid`, with the sessions open then.
    pub fn new(sessions: &[(i64, i32)], zxid: i64) -> ImageBuilder {
        ImageBuilder {
            out: snapshot_head(sessions, zxid),
            walk: TreeWalk::new(),
        }
    }

    /// Adds up to `max_nodes` more nodes; true when every node is in.
    pub fn step(&mut self, tree: &DataTree, max_nodes: usize) -> bool {
        self.walk.next_chunk(tree, max_nodes, &mut self.out)
    }

    /// Ends the node list and adds the checksum.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(0);
        let crc = crc32c::crc32c(&self.out);
        self.out.extend_from_slice(&crc.to_be_bytes());
        self.out
    }
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
        if path != "/" && tree.get(crate::coord::tree::split(&path).0).is_none() {
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
