//! The namespace: a tree of directories and files (path, replication, permission, owner,
//! group, times, and blocks that exist only as ids and lengths: no DataNode holds them). Changes are *planned* against the current tree (checked,
//! with Hadoop's exceptions and messages) into edit ops, and *applied* from edit ops — the same
//! `apply` serves the active, the standby tailing edits, and loading at startup, so every
//! NameNode that applies the same ops holds the same tree.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::ops::{Attributes, Block, EditOp, UNCHANGED_TIME};

/// A refusal, as the Hadoop exception a client sees (`class` is its simple name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NamespaceError {
    pub class: &'static str,
    pub message: String,
}

impl NamespaceError {
    pub(crate) fn new(class: &'static str, message: impl Into<String>) -> Self {
        NamespaceError {
            class,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    /// The inode id (Hadoop's `INodeId`): the root's is 16385, others come from the op that
    /// made the inode and stay through renames.
    id: u64,
    permission: u16,
    owner: String,
    group: String,
    mtime: u64,
    atime: u64,
}

impl Meta {
    fn from_attrs(id: u64, attrs: &Attributes) -> Meta {
        Meta {
            id,
            permission: attrs.permission,
            owner: attrs.owner.clone(),
            group: attrs.group.clone(),
            mtime: attrs.mtime,
            atime: attrs.mtime,
        }
    }
}

/// A directory's children, in Hadoop's order.
type Children = BTreeMap<ChildName, INode>;

/// A child's name, ordered as Hadoop orders a directory's children (`INode.compareTo`): as
/// signed bytes, so `ü` (0xC3…) comes before `b` in a listing and in `startAfter` paging.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChildName(String);

impl ChildName {
    fn of(name: &str) -> ChildName {
        ChildName(name.to_string())
    }
}

impl Ord for ChildName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        hadoop_name_order(&self.0, &other.0)
    }
}

/// How Hadoop orders the children of a directory: names as signed bytes
/// (`DFSUtilClient.compareBytes`).
pub(super) fn hadoop_name_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes().map(|b| b as i8).cmp(b.bytes().map(|b| b as i8))
}

impl PartialOrd for ChildName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::ops::Deref for ChildName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChildName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum INode {
    Dir {
        meta: Meta,
        children: Children,
    },
    File {
        meta: Meta,
        blocks: Vec<Block>,
        replication: u16,
        block_size: u64,
    },
}

/// The root directory's inode id (Hadoop's `INodeId.ROOT_INODE_ID`).
pub const ROOT_INODE_ID: u64 = 16385;

/// The last inode id, block id and generation stamp handed out: new ones continue from
/// them, so that no id is ever reused (they travel in images and advance with every op).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub last_inode_id: u64,
    pub last_block_id: u64,
    pub last_genstamp: u64,
}

impl Default for Ids {
    /// Hadoop's starting points: the root is inode 16385 (`INodeId.ROOT_INODE_ID`), block ids
    /// start after 2^30 (`SequentialBlockIdGenerator.LAST_RESERVED_BLOCK_ID`) and generation
    /// stamps after 1000 (`GenerationStamp.LAST_RESERVED_STAMP`).
    fn default() -> Self {
        Ids {
            last_inode_id: ROOT_INODE_ID,
            last_block_id: 1 << 30,
            last_genstamp: 1000,
        }
    }
}

impl Ids {
    fn next_inode_id(&mut self) -> u64 {
        self.last_inode_id += 1;
        self.last_inode_id
    }

    /// Blocks that take a file from `blocks` to `new_length` bytes: the last block is filled
    /// up to `block_size`, then new blocks are allocated.
    fn grow(&mut self, blocks: &[Block], new_length: u64, block_size: u64) -> Vec<Block> {
        let block_size = block_size.max(1);
        let mut out = blocks.to_vec();
        let mut missing = new_length.saturating_sub(file_length(blocks));
        if let Some(last) = out.last_mut() {
            let room = block_size.saturating_sub(last.num_bytes).min(missing);
            last.num_bytes += room;
            missing -= room;
        }
        while missing > 0 {
            let num_bytes = missing.min(block_size);
            self.last_block_id += 1;
            self.last_genstamp += 1;
            out.push(Block {
                id: self.last_block_id,
                num_bytes,
                genstamp: self.last_genstamp,
            });
            missing -= num_bytes;
        }
        out
    }

    /// Advances past the ids an applied op used.
    fn saw_inode(&mut self, id: u64) {
        self.last_inode_id = self.last_inode_id.max(id);
    }

    fn saw_blocks(&mut self, blocks: &[Block]) {
        for block in blocks {
            self.last_block_id = self.last_block_id.max(block.id);
            self.last_genstamp = self.last_genstamp.max(block.genstamp);
        }
    }
}

fn file_length(blocks: &[Block]) -> u64 {
    blocks.iter().map(|b| b.num_bytes).sum()
}

/// Who writes a file: the client's name (`DFSClient_NONMAPREDUCE_…`, as its `create` says)
/// and the address it called from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer<'a> {
    pub name: &'a str,
    pub machine: &'a str,
}

/// Hadoop's limits on a path a client names (`NameNodeRpcServer.checkPathLength`).
const MAX_PATH_LENGTH: usize = 8000;
const MAX_PATH_DEPTH: usize = 1000;

/// Refuses a path over Hadoop's limits, as `call` (`mkdirs`, `create`, `rename`) does.
fn check_path_length(call: &str, path: &str, parts: &[&str]) -> Result<(), NamespaceError> {
    if path.encode_utf16().count() > MAX_PATH_LENGTH || parts.len() > MAX_PATH_DEPTH {
        return Err(NamespaceError::new(
            "IOException",
            format!(
                "{call}: Pathname too long.  Limit {MAX_PATH_LENGTH} characters, \
                 {MAX_PATH_DEPTH} levels."
            ),
        ));
    }
    Ok(())
}

impl INode {
    fn is_dir(&self) -> bool {
        matches!(self, INode::Dir { .. })
    }

    fn meta(&self) -> &Meta {
        match self {
            INode::Dir { meta, .. } | INode::File { meta, .. } => meta,
        }
    }

    fn status(&self, name: &str) -> FileStatus {
        let meta = self.meta();
        let (is_dir, length, replication, block_size, children) = match self {
            INode::Dir { children, .. } => (true, 0, 0, 0, children.len() as i32),
            INode::File {
                blocks,
                replication,
                block_size,
                ..
            } => (false, file_length(blocks), *replication, *block_size, 0),
        };
        FileStatus {
            name: name.to_string(),
            file_id: meta.id,
            is_dir,
            length,
            permission: meta.permission,
            owner: meta.owner.clone(),
            group: meta.group.clone(),
            mtime: meta.mtime,
            atime: meta.atime,
            replication,
            block_size,
            children_num: children,
        }
    }
}

/// What a client sees of an inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The last path component ("" for the root).
    pub name: String,
    /// The inode id (Hadoop's `fileId`); 0 where a client was not told one.
    pub file_id: u64,
    pub is_dir: bool,
    pub length: u64,
    pub permission: u16,
    pub owner: String,
    pub group: String,
    pub mtime: u64,
    pub atime: u64,
    pub replication: u16,
    pub block_size: u64,
    pub children_num: i32,
}

/// One batch of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub entries: Vec<FileStatus>,
    /// How many entries come after this batch.
    pub remaining: usize,
}

/// What `getContentSummary` counts under a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentSummary {
    pub length: u64,
    pub files: u64,
    pub directories: u64,
    /// The length times each file's replication.
    pub space_consumed: u64,
}

/// One inode of an image, by full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    pub path: String,
    pub status: FileStatus,
    /// A file's blocks (their lengths sum to `status.length`); none for a directory.
    pub blocks: Vec<Block>,
}

/// The path components of a valid absolute path (Hadoop's `DFSUtil.isValidName`): it starts
/// with `/`, and no component is `.`, `..`, empty (`//`) or contains `:`.
pub fn components(path: &str) -> Result<Vec<&str>, NamespaceError> {
    let invalid = || {
        NamespaceError::new(
            "InvalidPathException",
            format!("Invalid path name Invalid file name: {path}"),
        )
    };
    let body = path.strip_prefix('/').ok_or_else(invalid)?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    // One trailing slash names the same directory.
    let body = body.strip_suffix('/').unwrap_or(body);
    let parts: Vec<&str> = body.split('/').collect();
    let bad =
        |p: &&str| p.is_empty() || *p == "." || *p == ".." || p.contains(':') || p.contains('\0');
    if parts.iter().any(bad) {
        return Err(invalid());
    }
    Ok(parts)
}

/// The normal form of a valid path (`/a/b`, the root as `/`).
pub fn normalize(path: &str) -> Result<String, NamespaceError> {
    let parts = components(path)?;
    Ok(format!("/{}", parts.join("/")))
}

/// The limits a client's new names are held to (`dfs.namenode.fs-limits.*`); replayed edits
/// are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max-component-length`: the longest name, in UTF-8 bytes (0: no limit).
    pub max_component_length: usize,
    /// `max-directory-items`: the most children a directory holds.
    pub max_directory_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_component_length: 255,
            max_directory_items: 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    root: INode,
    ids: Ids,
    limits: Limits,
}

impl Namespace {
    /// A namespace holding only the root directory.
    pub fn new(root_attrs: &Attributes) -> Namespace {
        Namespace {
            root: INode::Dir {
                meta: Meta {
                    atime: 0,
                    ..Meta::from_attrs(ROOT_INODE_ID, root_attrs)
                },
                children: Children::new(),
            },
            ids: Ids::default(),
            limits: Limits::default(),
        }
    }

    /// Holds new names to `limits` from now on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Refuses a new entry `name` in the directory `parent` over Hadoop's limits
    /// (`verifyMaxComponentLength`, `verifyMaxDirItems`); `adds` when the directory gains an
    /// entry (a rename within one directory does not).
    fn check_new_entry(
        &self,
        parent: &[&str],
        name: &str,
        adds: bool,
    ) -> Result<(), NamespaceError> {
        let parent_path = format!("/{}", parent.join("/"));
        let limit = self.limits.max_component_length;
        if limit > 0 && name.len() > limit {
            return Err(NamespaceError::new(
                "org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException",
                format!(
                    "The maximum path component name limit of {name} in directory {parent_path} is exceeded: limit={limit} length={}",
                    name.len()
                ),
            ));
        }
        if let (true, Some(INode::Dir { children, .. })) = (adds, self.lookup(parent)) {
            let limit = self.limits.max_directory_items;
            if children.len() >= limit {
                return Err(NamespaceError::new(
                    "org.apache.hadoop.hdfs.protocol.FSLimitException$MaxDirectoryItemsExceededException",
                    format!(
                        "The directory item limit of {parent_path} is exceeded: limit={limit} items={}",
                        children.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The last ids handed out (they go into images).
    pub fn ids(&self) -> Ids {
        self.ids
    }

    fn lookup(&self, parts: &[&str]) -> Option<&INode> {
        let mut node = &self.root;
        for part in parts {
            match node {
                INode::Dir { children, .. } => node = children.get(&ChildName::of(part))?,
                INode::File { .. } => return None,
            }
        }
        Some(node)
    }

    fn lookup_mut(&mut self, parts: &[&str]) -> Option<&mut INode> {
        let mut node = &mut self.root;
        for part in parts {
            match node {
                INode::Dir { children, .. } => node = children.get_mut(&ChildName::of(part))?,
                INode::File { .. } => return None,
            }
        }
        Some(node)
    }

    /// The first ancestor of `parts` (a proper prefix) that is a file, if any.
    fn file_ancestor(&self, parts: &[&str]) -> Option<String> {
        let mut node = &self.root;
        for (i, part) in parts.iter().enumerate() {
            match node {
                INode::Dir { children, .. } => match children.get(&ChildName::of(part)) {
                    Some(child) => node = child,
                    None => return None,
                },
                INode::File { .. } => return Some(format!("/{}", parts[..i].join("/"))),
            }
        }
        None
    }

    /// The status of `path`, or `None` when it does not exist.
    pub fn get_file_info(&self, path: &str) -> Result<Option<FileStatus>, NamespaceError> {
        let parts = components(path)?;
        Ok(self
            .lookup(&parts)
            .map(|n| n.status(parts.last().copied().unwrap_or(""))))
    }

    /// The children of a directory (or the file itself), or `None` when `path` does not exist.
    pub fn list(&self, path: &str) -> Result<Option<Vec<FileStatus>>, NamespaceError> {
        let parts = components(path)?;
        Ok(self.lookup(&parts).map(|node| match node {
            INode::Dir { children, .. } => {
                children.iter().map(|(name, n)| n.status(name)).collect()
            }
            file => vec![file.status(parts.last().copied().unwrap_or(""))],
        }))
    }

    /// One batch of `getListing`: the children of a directory after `start_after` (by name,
    /// in order), at most `limit` of them, and how many follow the batch. A file lists itself
    /// under the empty name, as Hadoop answers. `None` when `path` does not exist.
    pub fn list_after(
        &self,
        path: &str,
        start_after: &str,
        limit: usize,
    ) -> Result<Option<Listing>, NamespaceError> {
        let parts = components(path)?;
        Ok(self.lookup(&parts).map(|node| match node {
            INode::Dir { children, .. } => {
                let mut after = children
                    .range((
                        Bound::Excluded(ChildName::of(start_after)),
                        Bound::Unbounded,
                    ))
                    .map(|(name, n)| n.status(name));
                let entries: Vec<FileStatus> = after.by_ref().take(limit).collect();
                Listing {
                    entries,
                    remaining: after.count(),
                }
            }
            file => Listing {
                entries: vec![file.status("")],
                remaining: 0,
            },
        }))
    }

    /// `getContentSummary`: the length, files and directories under `path` (itself included).
    pub fn content_summary(&self, path: &str) -> Result<ContentSummary, NamespaceError> {
        fn walk(node: &INode, sum: &mut ContentSummary) {
            match node {
                INode::Dir { children, .. } => {
                    sum.directories += 1;
                    children.values().for_each(|child| walk(child, sum));
                }
                INode::File {
                    blocks,
                    replication,
                    ..
                } => {
                    let length = file_length(blocks);
                    sum.files += 1;
                    sum.length += length;
                    sum.space_consumed += length * u64::from(*replication);
                }
            }
        }
        let parts = components(path)?;
        let node = self.lookup(&parts).ok_or_else(|| {
            NamespaceError::new(
                "FileNotFoundException",
                format!(
                    "File does not exist: {}",
                    normalize(path).unwrap_or_default()
                ),
            )
        })?;
        let mut sum = ContentSummary::default();
        walk(node, &mut sum);
        Ok(sum)
    }

    /// Plans `mkdirs`: one op per directory to create; none when it already exists.
    pub fn plan_mkdirs(
        &self,
        path: &str,
        attrs: &Attributes,
        create_parent: bool,
    ) -> Result<Vec<EditOp>, NamespaceError> {
        let parts = components(path)?;
        check_path_length("mkdirs", path, &parts)?;
        let mut ids = self.ids;
        self.mkdir_ops(path, attrs, create_parent, &mut ids)
    }

    /// The ops of `mkdirs`, with inode ids from `ids`.
    fn mkdir_ops(
        &self,
        path: &str,
        attrs: &Attributes,
        create_parent: bool,
        ids: &mut Ids,
    ) -> Result<Vec<EditOp>, NamespaceError> {
        let parts = components(path)?;
        if let Some(file) = self.file_ancestor(&parts) {
            return Err(NamespaceError::new(
                "ParentNotDirectoryException",
                format!("{file} (is not a directory)"),
            ));
        }
        match self.lookup(&parts) {
            Some(node) if node.is_dir() => return Ok(Vec::new()),
            Some(_) => {
                return Err(NamespaceError::new(
                    "FileAlreadyExistsException",
                    format!("Path is not a directory: {}", normalize(path)?),
                ));
            }
            None => {}
        }
        let existing = (0..parts.len())
            .take_while(|i| self.lookup(&parts[..=*i]).is_some())
            .count();
        if !create_parent && existing + 1 < parts.len() {
            return Err(NamespaceError::new(
                "FileNotFoundException",
                format!(
                    "Parent directory doesn't exist: /{}",
                    parts[..parts.len() - 1].join("/")
                ),
            ));
        }
        for i in existing..parts.len() {
            // Only the first new directory joins an existing one; the others are new and empty.
            self.check_new_entry(&parts[..i], parts[i], i == existing)?;
        }
        Ok((existing..parts.len())
            .map(|i| EditOp::Mkdir {
                inode_id: ids.next_inode_id(),
                path: format!("/{}", parts[..=i].join("/")),
                attrs: Attributes {
                    // Parents made on the way get write+execute for the owner, as Hadoop does.
                    permission: if i + 1 == parts.len() {
                        attrs.permission
                    } else {
                        attrs.permission | 0o300
                    },
                    ..attrs.clone()
                },
            })
            .collect())
    }

    /// Plans `create`.
    // One argument per field of Hadoop's `create` call.
    #[allow(clippy::too_many_arguments)]
    pub fn plan_create(
        &self,
        path: &str,
        attrs: &Attributes,
        overwrite: bool,
        create_parent: bool,
        replication: u16,
        length: u64,
        block_size: u64,
        client: Writer<'_>,
    ) -> Result<Vec<EditOp>, NamespaceError> {
        let parts = components(path)?;
        check_path_length("create", path, &parts)?;
        let path = normalize(path)?;
        if parts.is_empty() {
            return Err(NamespaceError::new(
                "FileAlreadyExistsException",
                "/ already exists as a directory",
            ));
        }
        if let Some(file) = self.file_ancestor(&parts) {
            return Err(NamespaceError::new(
                "ParentNotDirectoryException",
                format!("Parent path is not a directory: {file}"),
            ));
        }
        match self.lookup(&parts) {
            Some(node) if node.is_dir() => {
                return Err(NamespaceError::new(
                    "FileAlreadyExistsException",
                    format!("{path} already exists as a directory"),
                ));
            }
            Some(_) if !overwrite => {
                return Err(NamespaceError::new(
                    "FileAlreadyExistsException",
                    format!("{path} for client {} already exists", client.machine),
                ));
            }
            _ => {}
        }
        let mut ops = Vec::new();
        let mut ids = self.ids;
        let parent = &parts[..parts.len() - 1];
        let name = parts[parts.len() - 1];
        let replacing = self.lookup(&parts).is_some();
        self.check_new_entry(parent, name, !replacing)?;
        if self.lookup(parent).is_none() {
            if !create_parent {
                return Err(NamespaceError::new(
                    "FileNotFoundException",
                    format!("Parent directory doesn't exist: /{}", parent.join("/")),
                ));
            }
            let dir_attrs = Attributes {
                permission: 0o755,
                ..attrs.clone()
            };
            let parent = format!("/{}", parent.join("/"));
            ops.extend(self.mkdir_ops(&parent, &dir_attrs, true, &mut ids)?);
        }
        // Hadoop logs a create as the file opened (OP_ADD), then, when the writer is done,
        // closed with its blocks (OP_CLOSE); the mock writes all of it at once.
        ops.push(EditOp::Add {
            inode_id: ids.next_inode_id(),
            path: path.clone(),
            attrs: attrs.clone(),
            replication,
            block_size,
            overwrite,
            client_name: client.name.to_string(),
            client_machine: client.machine.to_string(),
        });
        ops.push(EditOp::Close {
            path,
            attrs: attrs.clone(),
            atime: attrs.mtime,
            replication,
            block_size,
            blocks: ids.grow(&[], length, block_size),
        });
        Ok(ops)
    }

    /// Plans `delete`: `None` when there is nothing to delete (Hadoop answers `false`).
    pub fn plan_delete(
        &self,
        path: &str,
        recursive: bool,
        mtime: u64,
    ) -> Result<Option<EditOp>, NamespaceError> {
        let parts = components(path)?;
        let path = normalize(path)?;
        if parts.is_empty() {
            // The root cannot be deleted.
            return Ok(None);
        }
        match self.lookup(&parts) {
            None => Ok(None),
            Some(INode::Dir { children, .. }) if !children.is_empty() && !recursive => {
                Err(NamespaceError::new(
                    "PathIsNotEmptyDirectoryException",
                    format!("`{path} is non empty': Directory is not empty"),
                ))
            }
            Some(_) => Ok(Some(EditOp::Delete { path, mtime })),
        }
    }

    /// Plans `rename` (Hadoop's rename that answers a boolean): into an existing directory the
    /// source keeps its name. `None` when the rename cannot happen (Hadoop answers `false`).
    pub fn plan_rename(
        &self,
        src: &str,
        dst: &str,
        mtime: u64,
    ) -> Result<Option<EditOp>, NamespaceError> {
        let src_parts = components(src)?;
        let dst_parts = components(dst)?;
        check_path_length("rename", dst, &dst_parts)?;
        let src = normalize(src)?;
        let mut dst = normalize(dst)?;
        if src_parts.is_empty() || self.lookup(&src_parts).is_none() {
            return Ok(None);
        }
        let mut target = dst_parts.clone();
        let name = *src_parts.last().expect("not the root");
        if let Some(INode::Dir { .. }) = self.lookup(&dst_parts) {
            target.push(name);
            dst = format!("/{}", target.join("/"));
        }
        if dst == src {
            // Renaming to itself succeeds without a change (Hadoop answers true).
            return Ok(Some(EditOp::Rename { src, dst, mtime }));
        }
        if target.len() > src_parts.len() && target[..src_parts.len()] == src_parts[..] {
            return Err(NamespaceError::new(
                "IOException",
                format!("Rename destination {dst} is a directory or file under source {src}"),
            ));
        }
        if self.lookup(&target).is_some() {
            return Ok(None);
        }
        match self.lookup(&target[..target.len() - 1]) {
            Some(INode::Dir { .. }) => {
                let (name, parent) = target.split_last().expect("not the root");
                let moves = parent != &src_parts[..src_parts.len() - 1];
                self.check_new_entry(parent, name, moves)?;
                Ok(Some(EditOp::Rename { src, dst, mtime }))
            }
            _ => Ok(None),
        }
    }

    /// Plans `rename2`: Hadoop's rules for a rename that fails with an exception, not `false`.
    /// With `overwrite`, an existing destination of the same kind (an empty directory, or a
    /// file) is replaced.
    pub fn plan_rename2(
        &self,
        src: &str,
        dst: &str,
        overwrite: bool,
        to_trash: bool,
        mtime: u64,
    ) -> Result<EditOp, NamespaceError> {
        let src_parts = components(src)?;
        let dst_parts = components(dst)?;
        check_path_length("rename", dst, &dst_parts)?;
        let src = normalize(src)?;
        let dst = normalize(dst)?;
        let io = |message: String| NamespaceError::new("IOException", message);
        let Some(source) = self.lookup(&src_parts) else {
            return Err(NamespaceError::new(
                "FileNotFoundException",
                format!("rename source {src} is not found."),
            ));
        };
        if src_parts.is_empty() {
            return Err(io(format!("rename source {src} is the root")));
        }
        if dst == src {
            return Err(NamespaceError::new(
                "FileAlreadyExistsException",
                format!("The source {src} and destination {dst} are the same"),
            ));
        }
        if dst_parts.len() > src_parts.len() && dst_parts[..src_parts.len()] == src_parts[..] {
            return Err(io(format!(
                "Rename destination {dst} is a directory or file under source {src}"
            )));
        }
        if dst_parts.is_empty() {
            return Err(io(format!("rename destination {dst} is the root")));
        }
        if let Some(existing) = self.lookup(&dst_parts) {
            if !overwrite {
                return Err(NamespaceError::new(
                    "FileAlreadyExistsException",
                    format!("rename destination {dst} already exists"),
                ));
            }
            match (source.is_dir(), existing) {
                (true, INode::Dir { children, .. }) if !children.is_empty() => {
                    return Err(io(format!(
                        "rename destination directory is not empty: {dst}"
                    )));
                }
                (true, INode::File { .. }) => {
                    return Err(io(format!(
                        "Source {src} and destination {dst} must both be directories"
                    )));
                }
                (false, INode::Dir { .. }) => {
                    return Err(io(format!(
                        "Source {src} and destination {dst} must both be files"
                    )));
                }
                _ => {}
            }
        }
        match self.lookup(&dst_parts[..dst_parts.len() - 1]) {
            Some(INode::Dir { .. }) => {}
            Some(INode::File { .. }) => {
                return Err(NamespaceError::new(
                    "ParentNotDirectoryException",
                    format!("rename destination parent {dst} is a file."),
                ));
            }
            None => {
                return Err(NamespaceError::new(
                    "FileNotFoundException",
                    format!("rename destination parent {dst} not found."),
                ));
            }
        }
        let (name, parent) = dst_parts.split_last().expect("not the root");
        let adds = parent != &src_parts[..src_parts.len() - 1] && self.lookup(&dst_parts).is_none();
        self.check_new_entry(parent, name, adds)?;
        Ok(EditOp::RenameWithOptions {
            src,
            dst,
            mtime,
            overwrite,
            to_trash,
        })
    }

    /// The normal form of an existing `path`, or Hadoop's `File does not exist`.
    fn existing(&self, path: &str) -> Result<String, NamespaceError> {
        let parts = components(path)?;
        let path = normalize(path)?;
        match self.lookup(&parts) {
            Some(_) => Ok(path),
            None => Err(NamespaceError::new(
                "FileNotFoundException",
                format!("File does not exist: {path}"),
            )),
        }
    }

    /// Plans `setPermission`.
    pub fn plan_set_permission(
        &self,
        path: &str,
        permission: u16,
    ) -> Result<EditOp, NamespaceError> {
        let path = self.existing(path)?;
        Ok(EditOp::SetPermissions {
            path,
            permission: permission & 0o7777,
        })
    }

    /// Plans `setOwner`: `None` (or empty) leaves the owner or group as it is.
    pub fn plan_set_owner(
        &self,
        path: &str,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<EditOp, NamespaceError> {
        let path = self.existing(path)?;
        let given = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(String::from);
        Ok(EditOp::SetOwner {
            path,
            owner: given(owner),
            group: given(group),
        })
    }

    /// Plans `setTimes` ([`UNCHANGED_TIME`] leaves a time as it is).
    pub fn plan_set_times(
        &self,
        path: &str,
        mtime: u64,
        atime: u64,
    ) -> Result<EditOp, NamespaceError> {
        let parts = components(path)?;
        let path = normalize(path)?;
        if self.lookup(&parts).is_none() {
            return Err(NamespaceError::new(
                "FileNotFoundException",
                format!("File/Directory {path} does not exist."),
            ));
        }
        Ok(EditOp::Times { path, mtime, atime })
    }

    /// Plans `setReplication`: `None` (Hadoop answers `false`) unless `path` is a file.
    pub fn plan_set_replication(
        &self,
        path: &str,
        replication: u16,
    ) -> Result<Option<EditOp>, NamespaceError> {
        let parts = components(path)?;
        let path = normalize(path)?;
        Ok(match self.lookup(&parts) {
            Some(INode::File { .. }) => Some(EditOp::SetReplication { path, replication }),
            _ => None,
        })
    }

    /// Applies an op. An op that does not fit the tree means the edits and the tree
    /// diverged: the error says which op and why.
    pub fn apply(&mut self, op: &EditOp) -> Result<(), NamespaceError> {
        let diverged =
            |what: &str| NamespaceError::new("IOException", format!("cannot apply {op:?}: {what}"));
        match op {
            EditOp::StartLogSegment | EditOp::EndLogSegment => Ok(()),
            EditOp::Mkdir {
                inode_id,
                path,
                attrs,
            } => {
                let parts = components(path)?;
                let (name, parent) = parts
                    .split_last()
                    .ok_or_else(|| diverged("mkdir of the root"))?;
                let parent = self
                    .lookup_mut(parent)
                    .ok_or_else(|| diverged("no parent"))?;
                let INode::Dir { meta, children } = parent else {
                    return Err(diverged("parent is a file"));
                };
                if let Some(existing) = children.get(&ChildName::of(name)) {
                    return if existing.is_dir() {
                        Ok(())
                    } else {
                        Err(diverged("a file is in the way"))
                    };
                }
                children.insert(
                    ChildName::of(name),
                    INode::Dir {
                        // Hadoop keeps no access time for a directory: it reports 0.
                        meta: Meta {
                            atime: 0,
                            ..Meta::from_attrs(*inode_id, attrs)
                        },
                        children: Children::new(),
                    },
                );
                meta.mtime = attrs.mtime;
                self.ids.saw_inode(*inode_id);
                Ok(())
            }
            EditOp::Add {
                inode_id,
                path,
                attrs,
                replication,
                block_size,
                ..
            } => {
                let parts = components(path)?;
                let (name, parent) = parts
                    .split_last()
                    .ok_or_else(|| diverged("a file as the root"))?;
                let parent = self
                    .lookup_mut(parent)
                    .ok_or_else(|| diverged("no parent"))?;
                let INode::Dir { meta, children } = parent else {
                    return Err(diverged("parent is a file"));
                };
                if children
                    .get(&ChildName::of(name))
                    .is_some_and(INode::is_dir)
                {
                    return Err(diverged("a directory is in the way"));
                }
                children.insert(
                    ChildName::of(name),
                    INode::File {
                        meta: Meta::from_attrs(*inode_id, attrs),
                        blocks: Vec::new(),
                        replication: *replication,
                        block_size: *block_size,
                    },
                );
                meta.mtime = attrs.mtime;
                self.ids.saw_inode(*inode_id);
                Ok(())
            }
            EditOp::Close {
                path,
                attrs,
                atime,
                replication,
                block_size,
                blocks,
            } => {
                let parts = components(path)?;
                let Some(INode::File {
                    meta,
                    blocks: current,
                    replication: current_replication,
                    block_size: current_block_size,
                }) = self.lookup_mut(&parts)
                else {
                    return Err(diverged("no such file"));
                };
                *meta = Meta {
                    atime: *atime,
                    ..Meta::from_attrs(meta.id, attrs)
                };
                current.clone_from(blocks);
                *current_replication = *replication;
                *current_block_size = *block_size;
                self.ids.saw_blocks(blocks);
                Ok(())
            }
            EditOp::Append { path, .. } => {
                let parts = components(path)?;
                match self.lookup(&parts) {
                    Some(INode::File { .. }) => Ok(()),
                    _ => Err(diverged("no such file")),
                }
            }
            EditOp::Delete { path, mtime } => {
                let parts = components(path)?;
                let (name, parent) = parts
                    .split_last()
                    .ok_or_else(|| diverged("delete of the root"))?;
                let Some(INode::Dir { meta, children }) = self.lookup_mut(parent) else {
                    return Err(diverged("no parent"));
                };
                children
                    .remove(&ChildName::of(name))
                    .ok_or_else(|| diverged("no such path"))?;
                meta.mtime = *mtime;
                Ok(())
            }
            EditOp::Rename { src, dst, mtime } => {
                self.move_node(src, dst, *mtime, false, &diverged)
            }
            EditOp::RenameWithOptions {
                src,
                dst,
                mtime,
                overwrite,
                ..
            } => self.move_node(src, dst, *mtime, *overwrite, &diverged),
            EditOp::SetPermissions { path, permission } => {
                self.meta_mut(path, &diverged)?.permission = *permission;
                Ok(())
            }
            EditOp::SetOwner { path, owner, group } => {
                let meta = self.meta_mut(path, &diverged)?;
                if let Some(owner) = owner {
                    meta.owner.clone_from(owner);
                }
                if let Some(group) = group {
                    meta.group.clone_from(group);
                }
                Ok(())
            }
            EditOp::Times { path, mtime, atime } => {
                let meta = self.meta_mut(path, &diverged)?;
                if *mtime != UNCHANGED_TIME {
                    meta.mtime = *mtime;
                }
                if *atime != UNCHANGED_TIME {
                    meta.atime = *atime;
                }
                Ok(())
            }
            EditOp::SetReplication { path, replication } => {
                let parts = components(path)?;
                match self.lookup_mut(&parts) {
                    Some(INode::File {
                        replication: current,
                        ..
                    }) => {
                        *current = *replication;
                        Ok(())
                    }
                    _ => Err(diverged("no such file")),
                }
            }
        }
    }

    /// The attributes of an existing inode, for an op that changes them.
    fn meta_mut(
        &mut self,
        path: &str,
        diverged: &impl Fn(&str) -> NamespaceError,
    ) -> Result<&mut Meta, NamespaceError> {
        let parts = components(path)?;
        match self.lookup_mut(&parts) {
            Some(INode::Dir { meta, .. } | INode::File { meta, .. }) => Ok(meta),
            None => Err(diverged("no such path")),
        }
    }

    /// Moves `src` to `dst` (replacing an existing `dst` when `replace`).
    fn move_node(
        &mut self,
        src: &str,
        dst: &str,
        mtime: u64,
        replace: bool,
        diverged: &impl Fn(&str) -> NamespaceError,
    ) -> Result<(), NamespaceError> {
        if src == dst {
            return Ok(());
        }
        let src_parts = components(src)?;
        let dst_parts = components(dst)?;
        let (src_name, src_parent) = src_parts
            .split_last()
            .ok_or_else(|| diverged("rename of the root"))?;
        let (dst_name, dst_parent) = dst_parts
            .split_last()
            .ok_or_else(|| diverged("rename onto the root"))?;
        if !matches!(self.lookup(dst_parent), Some(INode::Dir { .. })) {
            return Err(diverged("no destination parent"));
        }
        if self.lookup(&src_parts).is_none() {
            return Err(diverged("no source"));
        }
        if self.lookup(&dst_parts).is_some() {
            if !replace {
                return Err(diverged("destination exists"));
            }
            let Some(INode::Dir { children, .. }) = self.lookup_mut(dst_parent) else {
                return Err(diverged("no destination parent"));
            };
            children.remove(&ChildName::of(dst_name));
        }
        let Some(INode::Dir { meta, children }) = self.lookup_mut(src_parent) else {
            return Err(diverged("no source parent"));
        };
        let node = children
            .remove(&ChildName::of(src_name))
            .ok_or_else(|| diverged("no source"))?;
        meta.mtime = mtime;
        let Some(INode::Dir { meta, children }) = self.lookup_mut(dst_parent) else {
            return Err(diverged("no destination parent"));
        };
        children.insert(ChildName::of(dst_name), node);
        meta.mtime = mtime;
        Ok(())
    }

    /// Every inode, parents before children (the root first).
    pub fn entries(&self) -> Vec<ImageEntry> {
        self.entries_under("/").unwrap_or_default()
    }

    /// The inodes at and under `path` (itself first, parents before children); none when it
    /// does not exist.
    pub fn entries_under(&self, path: &str) -> Result<Vec<ImageEntry>, NamespaceError> {
        fn walk(node: &INode, path: String, name: &str, out: &mut Vec<ImageEntry>) {
            out.push(ImageEntry {
                path: path.clone(),
                status: node.status(name),
                blocks: match node {
                    INode::File { blocks, .. } => blocks.clone(),
                    INode::Dir { .. } => Vec::new(),
                },
            });
            if let INode::Dir { children, .. } = node {
                for (child, n) in children {
                    let child_path = if path == "/" {
                        format!("/{child}")
                    } else {
                        format!("{path}/{child}")
                    };
                    walk(n, child_path, child, out);
                }
            }
        }
        let parts = components(path)?;
        let mut out = Vec::new();
        if let Some(node) = self.lookup(&parts) {
            let name = parts.last().copied().unwrap_or("");
            walk(node, normalize(path)?, name, &mut out);
        }
        Ok(out)
    }

    /// The inodes along `path` that exist, the root first, each with its path: what a
    /// permission check walks. Shorter than the path when a component is missing (or a file
    /// is in the way).
    pub fn chain(&self, path: &str) -> Result<Vec<(String, FileStatus)>, NamespaceError> {
        let parts = components(path)?;
        let mut out = vec![("/".to_string(), self.root.status(""))];
        let mut node = &self.root;
        for (i, part) in parts.iter().enumerate() {
            let INode::Dir { children, .. } = node else {
                break;
            };
            let Some(child) = children.get(&ChildName::of(part)) else {
                break;
            };
            out.push((format!("/{}", parts[..=i].join("/")), child.status(part)));
            node = child;
        }
        Ok(out)
    }

    /// Rebuilds a namespace from image entries (the root first, parents before children) and
    /// the image's last ids.
    pub fn from_entries(entries: &[ImageEntry], ids: Ids) -> Result<Namespace, NamespaceError> {
        let bad = |what: String| NamespaceError::new("IOException", format!("bad image: {what}"));
        let (root, rest) = entries.split_first().ok_or_else(|| bad("no root".into()))?;
        if root.path != "/" || !root.status.is_dir {
            return Err(bad(format!("the first inode is {}", root.path)));
        }
        let meta_of = |s: &FileStatus| Meta {
            id: s.file_id,
            permission: s.permission,
            owner: s.owner.clone(),
            group: s.group.clone(),
            mtime: s.mtime,
            atime: s.atime,
        };
        let mut ns = Namespace {
            root: INode::Dir {
                meta: meta_of(&root.status),
                children: Children::new(),
            },
            ids,
            limits: Limits::default(),
        };
        for entry in rest {
            let parts = components(&entry.path)?;
            let (name, parent) = parts
                .split_last()
                .ok_or_else(|| bad("a second root".into()))?;
            let Some(INode::Dir { children, .. }) = ns.lookup_mut(parent) else {
                return Err(bad(format!("{} comes before its parent", entry.path)));
            };
            let s = &entry.status;
            let meta = meta_of(s);
            let node = if s.is_dir {
                INode::Dir {
                    meta,
                    children: Children::new(),
                }
            } else {
                if file_length(&entry.blocks) != s.length {
                    return Err(bad(format!(
                        "{} is {} bytes but its blocks hold {}",
                        entry.path,
                        s.length,
                        file_length(&entry.blocks)
                    )));
                }
                INode::File {
                    meta,
                    blocks: entry.blocks.clone(),
                    replication: s.replication,
                    block_size: s.block_size,
                }
            };
            if children.insert(ChildName::of(name), node).is_some() {
                return Err(bad(format!("{} appears twice", entry.path)));
            }
        }
        // Directory times are restored last: adding children above did not touch them.
        let mut restored = ns;
        for entry in entries.iter().filter(|e| e.status.is_dir) {
            let parts = components(&entry.path)?;
            if let Some(INode::Dir { meta, .. }) = restored.lookup_mut(&parts) {
                meta.mtime = entry.status.mtime;
            }
        }
        Ok(restored)
    }
}

/// The attributes most tests create with: hdfs:supergroup, 0755, at `mtime`.
#[cfg(test)]
pub(crate) fn test_attrs(mtime: u64) -> Attributes {
    Attributes {
        permission: 0o755,
        owner: "hdfs".into(),
        group: "supergroup".into(),
        mtime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_attrs as attrs;

    fn writer() -> Writer<'static> {
        Writer {
            name: "DFSClient_c",
            machine: "c",
        }
    }

    fn file_attrs() -> Attributes {
        Attributes {
            permission: 0o644,
            ..attrs(2)
        }
    }

    /// Plans and applies, as the active does.
    fn run(ns: &mut Namespace, ops: Vec<EditOp>) {
        for op in ops {
            ns.apply(&op).unwrap();
        }
    }

    fn sample() -> Namespace {
        let mut ns = Namespace::new(&attrs(0));
        let ops = ns.plan_mkdirs("/a/b", &attrs(1), true).unwrap();
        run(&mut ns, ops);
        let ops = ns
            .plan_create("/a/f", &file_attrs(), false, false, 3, 10, 128, writer())
            .unwrap();
        run(&mut ns, ops);
        ns
    }

    #[test]
    fn children_list_and_page_in_hadoops_signed_byte_order() {
        let mut ns = Namespace::new(&attrs(0));
        for name in ["b", "üñí", "B", "a", "ab"] {
            let ops = ns
                .plan_mkdirs(&format!("/d/{name}"), &attrs(1), true)
                .unwrap();
            run(&mut ns, ops);
        }
        let names = |entries: &[FileStatus]| -> Vec<String> {
            entries.iter().map(|e| e.name.clone()).collect()
        };
        // 0xC3 is negative as a signed byte: ü comes first, as Hadoop lists it.
        let all = ns.list("/d").unwrap().unwrap();
        assert_eq!(names(&all), ["üñí", "B", "a", "ab", "b"]);
        let page = ns.list_after("/d", "", 2).unwrap().unwrap();
        assert_eq!(
            (names(&page.entries), page.remaining),
            (vec!["üñí".into(), "B".into()], 3)
        );
        let page = ns.list_after("/d", "B", 2).unwrap().unwrap();
        assert_eq!(
            (names(&page.entries), page.remaining),
            (vec!["a".into(), "ab".into()], 1)
        );
        let page = ns.list_after("/d", "üñí", 10).unwrap().unwrap();
        assert_eq!(names(&page.entries), ["B", "a", "ab", "b"]);
        let order: Vec<String> = ns.entries().into_iter().map(|e| e.path).collect();
        assert_eq!(
            order,
            ["/", "/d", "/d/üñí", "/d/B", "/d/a", "/d/ab", "/d/b"]
        );
    }

    #[test]
    fn rename2_refuses_as_hadoop_does_and_overwrites_only_when_asked() {
        let mut ns = sample();
        let ops = ns.plan_mkdirs("/c/d", &attrs(1), true).unwrap();
        run(&mut ns, ops);
        let refused = |src: &str, dst: &str, overwrite: bool| {
            let err = ns.plan_rename2(src, dst, overwrite, false, 5).unwrap_err();
            (err.class, err.message)
        };
        let expect = |class: &'static str, message: &str| (class, message.to_string());
        assert_eq!(
            refused("/nope", "/x", false),
            expect("FileNotFoundException", "rename source /nope is not found.")
        );
        assert_eq!(
            refused("/a/f", "/a/f", true),
            expect(
                "FileAlreadyExistsException",
                "The source /a/f and destination /a/f are the same"
            )
        );
        assert_eq!(
            refused("/a", "/a/b/c", false),
            expect(
                "IOException",
                "Rename destination /a/b/c is a directory or file under source /a"
            )
        );
        assert_eq!(
            refused("/a/b", "/a/f", false),
            expect(
                "FileAlreadyExistsException",
                "rename destination /a/f already exists"
            )
        );
        assert_eq!(
            refused("/a/b", "/a/f", true),
            expect(
                "IOException",
                "Source /a/b and destination /a/f must both be directories"
            )
        );
        assert_eq!(
            refused("/a/f", "/a/b", true),
            expect(
                "IOException",
                "Source /a/f and destination /a/b must both be files"
            )
        );
        assert_eq!(
            refused("/a/b", "/c", true),
            expect(
                "IOException",
                "rename destination directory is not empty: /c"
            )
        );
        assert_eq!(
            refused("/a/f", "/z/y", false),
            expect(
                "FileNotFoundException",
                "rename destination parent /z/y not found."
            )
        );
        assert_eq!(
            refused("/a/b", "/a/f/g", false),
            expect(
                "ParentNotDirectoryException",
                "rename destination parent /a/f/g is a file."
            )
        );
        // Overwriting a file: the source takes its place.
        let ops = ns
            .plan_create("/g", &file_attrs(), false, false, 2, 3, 128, writer())
            .unwrap();
        run(&mut ns, ops);
        let op = ns.plan_rename2("/g", "/a/f/", true, true, 9).unwrap();
        assert_eq!(
            op,
            EditOp::RenameWithOptions {
                src: "/g".into(),
                dst: "/a/f".into(),
                mtime: 9,
                overwrite: true,
                to_trash: true,
            }
        );
        ns.apply(&op).unwrap();
        assert!(ns.get_file_info("/g").unwrap().is_none());
        let moved = ns.get_file_info("/a/f").unwrap().unwrap();
        assert_eq!((moved.length, moved.replication), (3, 2));
        assert_eq!(ns.get_file_info("/a").unwrap().unwrap().mtime, 9);
        // An empty directory is replaced by a directory.
        let op = ns.plan_rename2("/c/d", "/a/b", true, false, 10).unwrap();
        ns.apply(&op).unwrap();
        assert!(ns.get_file_info("/c/d").unwrap().is_none());
    }

    #[test]
    fn new_names_are_held_to_the_component_length_and_directory_item_limits() {
        let mut ns = sample();
        ns.set_limits(Limits {
            max_component_length: 5,
            max_directory_items: 2,
        });
        let err = ns.plan_mkdirs("/a/toolong", &attrs(1), false).unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException",
                "The maximum path component name limit of toolong in directory /a is exceeded: limit=5 length=7"
            )
        );
        // /a holds b and f: full.
        let err = ns
            .plan_create("/a/g", &file_attrs(), false, false, 3, 0, 128, writer())
            .unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "org.apache.hadoop.hdfs.protocol.FSLimitException$MaxDirectoryItemsExceededException",
                "The directory item limit of /a is exceeded: limit=2 items=2"
            )
        );
        assert!(ns.plan_rename2("/a/f", "/a/b/ok", false, false, 1).is_ok());
        let err = ns
            .plan_rename2("/a/f", "/a/f123456", false, false, 1)
            .unwrap_err();
        assert!(err.message.contains("limit=5 length=7"), "{}", err.message);
        // Within one directory a rename adds nothing; replacing a file adds nothing either.
        assert!(ns.plan_rename("/a/f", "/a/g", 1).unwrap().is_some());
        assert!(
            ns.plan_create("/a/f", &file_attrs(), true, false, 3, 0, 128, writer())
                .is_ok()
        );
        assert!(ns.plan_mkdirs("/a/b", &attrs(1), false).unwrap().is_empty());
        // Replayed edits are not checked.
        let op = EditOp::Mkdir {
            inode_id: 99,
            path: "/a/replayed".into(),
            attrs: attrs(1),
        };
        ns.apply(&op).unwrap();
    }

    #[test]
    fn attribute_changes_apply_to_existing_paths_only() {
        let mut ns = sample();
        let op = ns.plan_set_permission("/a/f/", 0o101640).unwrap();
        assert_eq!(
            op,
            EditOp::SetPermissions {
                path: "/a/f".into(),
                permission: 0o1640
            }
        );
        ns.apply(&op).unwrap();
        let op = ns.plan_set_owner("/a/f", Some("bob"), None).unwrap();
        ns.apply(&op).unwrap();
        let op = ns.plan_set_owner("/a/f", Some(""), Some("staff")).unwrap();
        assert_eq!(
            op,
            EditOp::SetOwner {
                path: "/a/f".into(),
                owner: None,
                group: Some("staff".into())
            }
        );
        ns.apply(&op).unwrap();
        let op = ns.plan_set_times("/a/f", 77, UNCHANGED_TIME).unwrap();
        ns.apply(&op).unwrap();
        let op = ns.plan_set_replication("/a/f", 5).unwrap().unwrap();
        ns.apply(&op).unwrap();
        let f = ns.get_file_info("/a/f").unwrap().unwrap();
        assert_eq!(
            (f.permission, f.owner.as_str(), f.group.as_str()),
            (0o1640, "bob", "staff")
        );
        assert_eq!((f.mtime, f.atime, f.replication), (77, 2, 5));
        // A directory has no replication: false, nothing logged.
        assert_eq!(ns.plan_set_replication("/a", 2).unwrap(), None);
        assert_eq!(ns.plan_set_replication("/nope", 2).unwrap(), None);
        for err in [
            ns.plan_set_permission("/nope", 0o755).unwrap_err(),
            ns.plan_set_owner("/nope", Some("u"), None).unwrap_err(),
        ] {
            assert_eq!(
                (err.class, err.message.as_str()),
                ("FileNotFoundException", "File does not exist: /nope")
            );
        }
        let err = ns.plan_set_times("/nope", 1, 1).unwrap_err();
        assert_eq!(err.message, "File/Directory /nope does not exist.");
        // An op for a path that is gone means the edits and the tree diverged.
        assert!(
            ns.apply(&EditOp::SetReplication {
                path: "/a".into(),
                replication: 1
            })
            .is_err()
        );
    }

    #[test]
    fn path_rules() {
        assert_eq!(components("/").unwrap(), Vec::<&str>::new());
        assert_eq!(components("/a/b").unwrap(), vec!["a", "b"]);
        assert_eq!(components("/a/b/").unwrap(), vec!["a", "b"]);
        for bad in [
            "", "a", "a/b", "/a/../b", "/a/./b", "/a//b", "/a:b", "//", "/..", "/a/b//",
        ] {
            let err = components(bad).unwrap_err();
            assert_eq!(err.class, "InvalidPathException", "{bad}");
            assert_eq!(
                err.message,
                format!("Invalid path name Invalid file name: {bad}")
            );
        }
        assert_eq!(normalize("/a/b/").unwrap(), "/a/b");
        assert_eq!(normalize("/").unwrap(), "/");
    }

    #[test]
    fn mkdirs_creates_each_missing_parent_once() {
        let ns = Namespace::new(&attrs(0));
        let ops = ns.plan_mkdirs("/x/y/z", &attrs(1), true).unwrap();
        assert_eq!(ops.len(), 3);
        let err = ns.plan_mkdirs("/x/y/z", &attrs(1), false).unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "FileNotFoundException",
                "Parent directory doesn't exist: /x/y"
            )
        );
        let ns = sample();
        assert!(ns.plan_mkdirs("/a/b", &attrs(3), false).unwrap().is_empty());
        let err = ns.plan_mkdirs("/a/f", &attrs(3), true).unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "FileAlreadyExistsException",
                "Path is not a directory: /a/f"
            )
        );
        let err = ns.plan_mkdirs("/a/f/g", &attrs(3), true).unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            ("ParentNotDirectoryException", "/a/f (is not a directory)")
        );
    }

    #[test]
    fn create_rules() {
        let ns = sample();
        let err = ns
            .plan_create("/a/b", &file_attrs(), true, true, 3, 0, 128, writer())
            .unwrap_err();
        assert_eq!(err.message, "/a/b already exists as a directory");
        let err = ns
            .plan_create(
                "/a/f",
                &file_attrs(),
                false,
                true,
                3,
                0,
                128,
                Writer {
                    name: "DFSClient_1",
                    machine: "127.0.0.1",
                },
            )
            .unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "FileAlreadyExistsException",
                "/a/f for client 127.0.0.1 already exists"
            )
        );
        assert_eq!(
            ns.plan_create("/a/f", &file_attrs(), true, true, 3, 0, 128, writer())
                .unwrap()
                .iter()
                .map(EditOp::name)
                .collect::<Vec<_>>(),
            ["OP_ADD", "OP_CLOSE"]
        );
        let err = ns
            .plan_create("/n/f", &file_attrs(), false, false, 3, 0, 128, writer())
            .unwrap_err();
        assert_eq!(err.message, "Parent directory doesn't exist: /n");
        assert_eq!(
            ns.plan_create("/n/m/f", &file_attrs(), false, true, 3, 0, 128, writer())
                .unwrap()
                .iter()
                .map(EditOp::name)
                .collect::<Vec<_>>(),
            ["OP_MKDIR", "OP_MKDIR", "OP_ADD", "OP_CLOSE"]
        );
        let err = ns
            .plan_create("/a/f/g", &file_attrs(), false, true, 3, 0, 128, writer())
            .unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "ParentNotDirectoryException",
                "Parent path is not a directory: /a/f"
            )
        );
    }

    #[test]
    fn listing_and_status() {
        let ns = sample();
        let listing = ns.list("/a").unwrap().unwrap();
        let names: Vec<_> = listing
            .iter()
            .map(|s| (s.name.as_str(), s.is_dir))
            .collect();
        assert_eq!(names, vec![("b", true), ("f", false)]);
        let f = ns.get_file_info("/a/f").unwrap().unwrap();
        assert_eq!(
            (f.length, f.replication, f.permission, f.owner.as_str()),
            (10, 3, 0o644, "hdfs")
        );
        assert_eq!(ns.list("/a/f").unwrap().unwrap()[0].name, "f");
        assert_eq!(ns.list("/nope").unwrap(), None);
        assert_eq!(ns.get_file_info("/a/f/x").unwrap(), None);
        let root = ns.get_file_info("/").unwrap().unwrap();
        assert_eq!(
            (root.name.as_str(), root.is_dir, root.children_num),
            ("", true, 1)
        );
    }

    #[test]
    fn delete_rules() {
        let mut ns = sample();
        assert_eq!(ns.plan_delete("/nope", false, 5).unwrap(), None);
        assert_eq!(ns.plan_delete("/", true, 5).unwrap(), None);
        let err = ns.plan_delete("/a", false, 5).unwrap_err();
        assert_eq!(
            (err.class, err.message.as_str()),
            (
                "PathIsNotEmptyDirectoryException",
                "`/a is non empty': Directory is not empty"
            )
        );
        let op = ns.plan_delete("/a", true, 5).unwrap().unwrap();
        ns.apply(&op).unwrap();
        assert_eq!(ns.get_file_info("/a").unwrap(), None);
        assert_eq!(ns.get_file_info("/").unwrap().unwrap().mtime, 5);
    }

    #[test]
    fn rename_rules() {
        let mut ns = sample();
        // Into an existing directory: keeps its name.
        let op = ns.plan_rename("/a/f", "/a/b", 6).unwrap().unwrap();
        assert_eq!(
            op,
            EditOp::Rename {
                src: "/a/f".into(),
                dst: "/a/b/f".into(),
                mtime: 6
            }
        );
        ns.apply(&op).unwrap();
        assert!(ns.get_file_info("/a/b/f").unwrap().is_some());
        assert_eq!(ns.plan_rename("/nope", "/x", 7).unwrap(), None);
        assert_eq!(ns.plan_rename("/a/b/f", "/none/x", 7).unwrap(), None);
        let ops = ns
            .plan_create("/g", &file_attrs(), false, false, 3, 1, 128, writer())
            .unwrap();
        run(&mut ns, ops);
        assert_eq!(ns.plan_rename("/g", "/a/b/f", 7).unwrap(), None);
        let err = ns.plan_rename("/a", "/a/b/c", 7).unwrap_err();
        assert_eq!(
            err.message,
            "Rename destination /a/b/c is a directory or file under source /a"
        );
        let err = ns.plan_rename("/a", "/a/b", 7).unwrap_err();
        assert_eq!(
            err.message,
            "Rename destination /a/b/a is a directory or file under source /a"
        );
        let op = ns.plan_rename("/a", "/z", 8).unwrap().unwrap();
        ns.apply(&op).unwrap();
        assert!(ns.get_file_info("/z/b/f").unwrap().is_some());
    }

    #[test]
    fn file_lengths_are_blocks_that_fill_up_before_new_ones_are_allocated() {
        let mut ns = Namespace::new(&attrs(0));
        let ops = ns
            .plan_create("/f", &file_attrs(), false, false, 3, 250, 100, writer())
            .unwrap();
        let EditOp::Close { blocks, .. } = &ops[1] else {
            panic!("{ops:?}")
        };
        let first = Ids::default().last_block_id + 1;
        assert_eq!(
            blocks
                .iter()
                .map(|b| (b.id, b.num_bytes))
                .collect::<Vec<_>>(),
            [(first, 100), (first + 1, 100), (first + 2, 50)]
        );
        run(&mut ns, ops);
        assert_eq!(ns.get_file_info("/f").unwrap().unwrap().length, 250);
        assert_eq!(ns.ids().last_block_id, first + 2);
        // A file created empty has no blocks, and ids never go back after a delete.
        let op = ns.plan_delete("/f", false, 4).unwrap().unwrap();
        ns.apply(&op).unwrap();
        let ops = ns
            .plan_create("/g", &file_attrs(), false, false, 3, 1, 100, writer())
            .unwrap();
        let EditOp::Close { blocks, .. } = &ops[1] else {
            panic!("{ops:?}")
        };
        assert_eq!(blocks[0].id, first + 3);
    }

    #[test]
    fn new_inodes_take_the_next_ids_and_replay_restores_them() {
        let mut ns = Namespace::new(&attrs(0));
        let ops = ns
            .plan_create("/a/b/f", &file_attrs(), false, true, 3, 0, 100, writer())
            .unwrap();
        let ids: Vec<u64> = ops
            .iter()
            .filter_map(|op| match op {
                EditOp::Mkdir { inode_id, .. } | EditOp::Add { inode_id, .. } => Some(*inode_id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [16386, 16387, 16388]);
        let mut replica = Namespace::new(&attrs(0));
        run(&mut ns, ops.clone());
        run(&mut replica, ops);
        assert_eq!(replica.ids(), ns.ids());
        assert_eq!(ns.ids().last_inode_id, 16388);
    }

    #[test]
    fn paths_over_hadoops_limits_are_refused() {
        let ns = Namespace::new(&attrs(0));
        let long = format!("/{}", "x".repeat(8000));
        let err = ns.plan_mkdirs(&long, &attrs(1), true).unwrap_err();
        assert_eq!(
            err.message,
            "mkdirs: Pathname too long.  Limit 8000 characters, 1000 levels."
        );
        let deep = "/d".repeat(1001);
        let err = ns
            .plan_create(&deep, &file_attrs(), false, true, 3, 0, 100, writer())
            .unwrap_err();
        assert!(
            err.message.starts_with("create: Pathname too long."),
            "{err}"
        );
        assert!(ns.plan_mkdirs(&"/d".repeat(1000), &attrs(1), true).is_ok());
    }

    #[test]
    fn ops_that_do_not_fit_the_tree_are_refused() {
        let mut ns = sample();
        for op in [
            EditOp::Delete {
                path: "/zz".into(),
                mtime: 1,
            },
            EditOp::Append {
                path: "/a".into(),
                client_name: "c".into(),
                client_machine: "c".into(),
            },
            EditOp::Close {
                path: "/a/nope".into(),
                attrs: attrs(1),
                atime: 1,
                replication: 1,
                block_size: 1,
                blocks: Vec::new(),
            },
            EditOp::Mkdir {
                inode_id: 1 << 20,
                path: "/a/f/x".into(),
                attrs: attrs(1),
            },
            EditOp::Rename {
                src: "/a/f".into(),
                dst: "/q/r".into(),
                mtime: 1,
            },
        ] {
            let before = ns.clone();
            assert!(ns.apply(&op).is_err(), "{op:?}");
            assert_eq!(ns, before, "a refused op changed the tree");
        }
    }

    #[test]
    fn entries_round_trip() {
        let mut ns = sample();
        let ops = ns.plan_mkdirs("/a/b/c/d", &attrs(4), true).unwrap();
        run(&mut ns, ops);
        let entries = ns.entries();
        assert_eq!(entries[0].path, "/");
        assert_eq!(Namespace::from_entries(&entries, ns.ids()).unwrap(), ns);
        assert!(Namespace::from_entries(&entries[1..], ns.ids()).is_err());
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        assert!(Namespace::from_entries(&swapped, ns.ids()).is_err());
        // A file whose blocks do not add up to its length is a bad image.
        let mut short = entries.clone();
        let file = short.iter_mut().find(|e| !e.status.is_dir).unwrap();
        file.status.length += 1;
        assert!(Namespace::from_entries(&short, ns.ids()).is_err());
    }
}
