//! The DataTree: znodes with ZooKeeper's exact `Stat` semantics, the ephemeral, container and
//! TTL bookkeeping, ACL checks and path validation.
//!
//! Invariants: every node but `/` has its parent in the tree and is listed in the parent's
//! children; a node's stored `cversion` counts child *creations* (the client sees
//! `2 * stored - numChildren`, creations plus deletions); `pzxid` only rises; an ephemeral node
//! is listed under its owner session and has no children. Applying a txn is idempotent, so
//! replaying a log over a snapshot that already holds some of its effects converges.

mod acl;
mod path;
#[cfg(test)]
mod tests;

pub use acl::*;
pub use path::*;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;
use std::sync::Arc;

use base64::Engine;
use sha1::{Digest, Sha1};

use super::Code;
use super::jute::{Acl, Id, Stat};
use super::txn::Txn;

/// Permission bits.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = 31;
}

/// `ephemeralOwner` of a container node.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte marking a TTL node's `ephemeralOwner` (the TTL in ms sits in the low 40 bits).
const TTL_MARK: i64 = 0xff00_0000_0000_0000u64 as i64;
/// The largest TTL ZooKeeper accepts (`EphemeralType.MAX_TTL`, 40 bits of milliseconds).
pub const MAX_TTL: i64 = 0x00ff_ffff_ffff;

/// The system nodes every database starts with.
pub const ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA: &str = "/zookeeper/quota";
pub const CONFIG: &str = "/zookeeper/config";

/// What an `ephemeralOwner` value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    None,
    Session(i64),
    Container,
    Ttl(i64),
}

impl Owner {
    pub fn decode(raw: i64) -> Owner {
        if raw == 0 {
            Owner::None
        } else if raw == CONTAINER_OWNER {
            Owner::Container
        } else if raw & TTL_MARK == TTL_MARK {
            Owner::Ttl(raw & MAX_TTL)
        } else {
            Owner::Session(raw)
        }
    }

    pub fn encode(self) -> i64 {
        match self {
            Owner::None => 0,
            Owner::Session(id) => id,
            Owner::Container => CONTAINER_OWNER,
            Owner::Ttl(ms) => TTL_MARK | (ms & MAX_TTL),
        }
    }

    /// What a client sees: 0 for containers and TTL nodes.
    pub fn client_visible(self) -> i64 {
        match self {
            Owner::Session(id) => id,
            _ => 0,
        }
    }
}

/// The stat fields a node stores (ZooKeeper's `StatPersisted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    /// Child creations (not the client-visible value).
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// One znode as stored: its full path (the key of the path index), data, interned ACL, stat
/// and the slots of its children. Kept small: a tree holds millions of them.
#[derive(Debug, Clone)]
struct Node {
    /// The path's bytes followed by the data's: one allocation per node.
    bytes: Box<[u8]>,
    path_len: u32,
    /// Length of the data, or -1 for null data (ZooKeeper keeps null apart from empty).
    data_len: i32,
    /// Index of the node's ACL list among the tree's interned lists.
    acl: u32,
    stat: StatPersisted,
    /// Slots of the children, keyed by child name; `None` for a leaf.
    children: Option<Box<HashTable<Entry>>>,
}

impl Node {
    fn new(path: &str, data: Option<&[u8]>, acl: u32, stat: StatPersisted) -> Node {
        let mut bytes = Vec::with_capacity(path.len() + data.map_or(0, <[u8]>::len));
        bytes.extend_from_slice(path.as_bytes());
        bytes.extend_from_slice(data.unwrap_or_default());
        Node {
            bytes: bytes.into_boxed_slice(),
            path_len: path.len() as u32,
            data_len: data.map_or(-1, |d| d.len() as i32),
            acl,
            stat,
            children: None,
        }
    }

    fn path_bytes(&self) -> &[u8] {
        &self.bytes[..self.path_len as usize]
    }

    fn path(&self) -> &str {
        // Built from a &str in `new`, so always UTF-8.
        std::str::from_utf8(self.path_bytes()).expect("node paths are UTF-8")
    }

    fn data(&self) -> Option<&[u8]> {
        (self.data_len >= 0).then(|| &self.bytes[self.path_len as usize..])
    }

    fn set_data(&mut self, data: Option<&[u8]>) {
        let mut bytes = Vec::with_capacity(self.path_len as usize + data.map_or(0, <[u8]>::len));
        bytes.extend_from_slice(self.path_bytes());
        bytes.extend_from_slice(data.unwrap_or_default());
        self.bytes = bytes.into_boxed_slice();
        self.data_len = data.map_or(-1, |d| d.len() as i32);
    }
}

/// A slot number with 32 bits of its key's hash, so that growing a table never has to
/// re-read (and re-hash) a million path strings, which would stall the write path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    slot: u32,
    hash: u32,
}

impl Entry {
    /// The table hash: the stored 32 bits spread over 64 (hashbrown uses the top bits).
    fn table_hash(hash: u32) -> u64 {
        u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn rehash(&self) -> u64 {
        Entry::table_hash(self.hash)
    }
}

/// A node in the tree, with what it needs to answer questions about its children.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    tree: &'a DataTree,
    node: &'a Node,
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("path", &self.node.path())
            .field("stat", &self.node.stat)
            .finish()
    }
}

impl<'a> NodeRef<'a> {
    pub fn path(&self) -> &'a str {
        self.node.path()
    }

    pub fn data(&self) -> Option<&'a [u8]> {
        self.node.data()
    }

    pub fn acl(&self) -> &'a Arc<[Acl]> {
        &self.tree.acls[self.node.acl as usize]
    }

    pub fn stat(&self) -> &'a StatPersisted {
        &self.node.stat
    }

    pub fn num_children(&self) -> usize {
        self.node.children.as_ref().map_or(0, |c| c.len())
    }

    /// Child names, in no particular order.
    pub fn children(&self) -> impl Iterator<Item = &'a str> + 'a {
        let tree = self.tree;
        self.node
            .children
            .iter()
            .flat_map(|c| c.iter())
            .map(move |e| split(tree.slot(e.slot).path()).1)
    }

    pub fn has_child(&self, name: &str) -> bool {
        let Some(children) = &self.node.children else {
            return false;
        };
        let tree = self.tree;
        children
            .find(Entry::table_hash(tree.hash(name)), |e| {
                split(tree.slot(e.slot).path()).1 == name
            })
            .is_some()
    }

    /// The Stat a client sees.
    pub fn client_stat(&self) -> Stat {
        let stat = &self.node.stat;
        let n = self.num_children() as i32;
        Stat {
            czxid: stat.czxid,
            mzxid: stat.mzxid,
            ctime: stat.ctime,
            mtime: stat.mtime,
            version: stat.version,
            cversion: stat.cversion.wrapping_mul(2).wrapping_sub(n),
            aversion: stat.aversion,
            ephemeral_owner: Owner::decode(stat.ephemeral_owner).client_visible(),
            data_length: self.data().map_or(0, <[u8]>::len) as i32,
            num_children: n,
            pzxid: stat.pzxid,
        }
    }
}

/// The kinds of change a txn makes, for the watch manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
}

/// A change to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub event: EventType,
}

/// Who is asking: the identities a connection has proven.
#[derive(Debug, Clone, Default)]
pub struct AuthInfo {
    /// `ip:<addr>` first, then every `addauth`.
    pub ids: Vec<Id>,
    /// Authenticated as the superDigest user.
    pub is_super: bool,
    /// The server's rules the ids are judged by (not the connection's: set where it asks).
    pub rules: AclRules,
}

/// How a server judges ACLs, from its settings (the same names as Apache's system properties).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AclRules {
    /// `zookeeper.skipACL=yes`: no permission is ever checked (ACLs are still validated).
    pub skip_acl: bool,
    /// `zookeeper.DigestAuthenticationProvider.enabled=false`: no `digest` provider, so
    /// digest credentials fail and digest ACLs are invalid.
    pub digest_disabled: bool,
}

/// Where a resumable walk is: for each parent on the current path, its children's slots.
#[derive(Debug, Default)]
pub struct WalkCursor {
    started: bool,
    stack: Vec<WalkFrame>,
}

#[derive(Debug)]
struct WalkFrame {
    parent: Box<str>,
    slots: Vec<u32>,
    next: usize,
}

impl WalkCursor {
    fn push(&mut self, node: &Node) {
        if let Some(children) = &node.children {
            self.stack.push(WalkFrame {
                parent: node.path().into(),
                slots: children.iter().map(|e| e.slot).collect(),
                next: 0,
            });
        }
    }
}

/// The DataTree. Nodes live in a slab; a hash index keyed by full path and each parent's
/// table keyed by child name hold slot numbers, so a path is stored once.
#[derive(Debug, Clone)]
pub struct DataTree {
    slots: Vec<Option<Node>>,
    free: Vec<u32>,
    index: HashTable<Entry>,
    hasher: RandomState,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: HashSet<String>,
    ttls: HashSet<String>,
    /// Interned ACL lists (never freed: a tree uses a handful).
    acls: Vec<Arc<[Acl]>>,
    acl_ids: HashMap<Arc<[Acl]>, u32>,
    /// Sum of path and data bytes (mntr's `zk_approximate_data_size`).
    approximate_data_size: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

pub fn open_acl_unsafe() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

pub fn read_acl_unsafe() -> Vec<Acl> {
    vec![Acl {
        perms: perms::READ,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

impl DataTree {
    /// A fresh database: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`.
    pub fn new() -> Self {
        let mut tree = DataTree::empty();
        let open: Arc<[Acl]> = open_acl_unsafe().into();
        let read: Arc<[Acl]> = read_acl_unsafe().into();
        for (path, acl) in [
            ("/", &open),
            (ZOOKEEPER, &open),
            (QUOTA, &open),
            (CONFIG, &read),
        ] {
            // ZooKeeper sets the config node's ACL with version -1 at startup.
            let aversion = if path == CONFIG { -1 } else { 0 };
            tree.insert_raw(
                path,
                Some(Vec::new()),
                acl.clone(),
                StatPersisted {
                    aversion,
                    ..StatPersisted::default()
                },
            );
        }
        tree
    }

    /// An empty tree for loading a snapshot into.
    pub fn empty() -> Self {
        DataTree {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            ephemerals: HashMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
            acls: Vec::new(),
            acl_ids: HashMap::new(),
            approximate_data_size: 0,
        }
    }

    /// 32 bits of the key's hash (stored in the table entries).
    fn hash(&self, s: &str) -> u32 {
        (self.hasher.hash_one(s) >> 32) as u32
    }

    fn slot(&self, slot: u32) -> &Node {
        self.slots[slot as usize]
            .as_ref()
            .expect("indexed slots hold nodes")
    }

    fn slot_mut(&mut self, slot: u32) -> &mut Node {
        self.slots[slot as usize]
            .as_mut()
            .expect("indexed slots hold nodes")
    }

    fn find(&self, path: &str) -> Option<u32> {
        // ZooKeeper keeps the root under "" too: reads of "" see it.
        let path = if path.is_empty() { "/" } else { path };
        self.index
            .find(Entry::table_hash(self.hash(path)), |e| {
                self.slot(e.slot).path_bytes() == path.as_bytes()
            })
            .map(|e| e.slot)
    }

    /// The index of an ACL list, added if new.
    fn intern(&mut self, acl: &[Acl]) -> u32 {
        if let Some(id) = self.acl_ids.get(acl) {
            return *id;
        }
        let arc: Arc<[Acl]> = Arc::from(acl);
        let id = self.acls.len() as u32;
        self.acls.push(arc.clone());
        self.acl_ids.insert(arc, id);
        id
    }

    /// Puts a node in a slot and indexes it under its path and in its parent's children.
    fn link(&mut self, node: Node) -> u32 {
        let path_hash = self.hash(node.path());
        let name_hash = self.hash(split(node.path()).1);
        let parent = (node.path() != "/").then(|| split(node.path()).0.to_string());
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(node);
                s
            }
            None => {
                self.slots.push(Some(node));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert_unique(
            Entry::table_hash(path_hash),
            Entry {
                slot,
                hash: path_hash,
            },
            Entry::rehash,
        );
        if let Some(parent) = parent
            && let Some(p) = self.find(&parent)
        {
            self.slot_mut(p)
                .children
                .get_or_insert_with(Default::default)
                .insert_unique(
                    Entry::table_hash(name_hash),
                    Entry {
                        slot,
                        hash: name_hash,
                    },
                    Entry::rehash,
                );
        }
        slot
    }

    /// Removes the node at `path` from the index, its parent and the slab.
    fn unlink(&mut self, path: &str) -> Option<Node> {
        let slot = self.find(path)?;
        let path_hash = self.hash(path);
        if let Ok(entry) = self
            .index
            .find_entry(Entry::table_hash(path_hash), |e| e.slot == slot)
        {
            entry.remove();
        }
        if path != "/" {
            let (parent, name) = split(path);
            let name_hash = self.hash(name);
            if let Some(p) = self.find(parent) {
                let parent = self.slot_mut(p);
                if let Some(table) = parent.children.as_mut() {
                    if let Ok(entry) =
                        table.find_entry(Entry::table_hash(name_hash), |e| e.slot == slot)
                    {
                        entry.remove();
                    }
                    if table.is_empty() {
                        parent.children = None;
                    }
                }
            }
        }
        self.free.push(slot);
        self.slots[slot as usize].take()
    }

    /// Inserts a node whose parent is already present (snapshot loading, system nodes).
    pub fn insert_raw(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: Arc<[Acl]>,
        stat: StatPersisted,
    ) {
        if self.find(path).is_some() {
            return;
        }
        self.track_owner(path, stat.ephemeral_owner);
        self.approximate_data_size += (path.len() + data_len(&data)) as i64;
        let acl = self.intern(&acl);
        self.link(Node::new(path, data.as_deref(), acl, stat));
    }

    fn track_owner(&mut self, path: &str, owner: i64) {
        match Owner::decode(owner) {
            Owner::Session(id) => {
                self.ephemerals
                    .entry(id)
                    .or_default()
                    .insert(path.to_string());
            }
            Owner::Container => {
                self.containers.insert(path.to_string());
            }
            Owner::Ttl(_) => {
                self.ttls.insert(path.to_string());
            }
            Owner::None => {}
        }
    }

    fn untrack_owner(&mut self, path: &str, owner: i64) {
        match Owner::decode(owner) {
            Owner::Session(id) => {
                if let Some(set) = self.ephemerals.get_mut(&id) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&id);
                    }
                }
            }
            Owner::Container => {
                self.containers.remove(path);
            }
            Owner::Ttl(_) => {
                self.ttls.remove(path);
            }
            Owner::None => {}
        }
    }

    pub fn get(&self, path: &str) -> Option<NodeRef<'_>> {
        let slot = self.find(path)?;
        Some(NodeRef {
            tree: self,
            node: self.slot(slot),
        })
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.get(path).map(|n| n.client_stat())
    }

    /// `srvr`'s node count: ZooKeeper stores the root twice (as "" and "/").
    pub fn node_count(&self) -> usize {
        self.index.len() + 1
    }

    pub fn approximate_data_size(&self) -> i64 {
        self.approximate_data_size
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// The ephemerals of `session`, sorted.
    pub fn ephemerals_of(&self, session: i64) -> Vec<String> {
        self.ephemerals
            .get(&session)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sessions that own ephemerals (to close those a snapshot left without a session).
    pub fn ephemeral_owners(&self) -> Vec<i64> {
        self.ephemerals.keys().copied().collect()
    }

    /// Child names of `path` in no particular order.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.get(path)
            .map(|n| n.children().map(str::to_string).collect())
    }

    /// Every descendant of `path` (getAllChildrenNumber).
    pub fn descendant_count(&self, path: &str) -> Option<i32> {
        let root = self.find(path)?;
        let mut count = 0i32;
        let mut stack = vec![root];
        while let Some(slot) = stack.pop() {
            if let Some(children) = &self.slot(slot).children {
                count += children.len() as i32;
                stack.extend(children.iter().map(|e| e.slot));
            }
        }
        Some(count)
    }

    /// Containers that had a child and have none now, and TTL nodes without children whose
    /// mtime is more than their TTL ago (`ContainerManager`'s candidates).
    pub fn reapable(&self, now_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        for path in &self.containers {
            if let Some(n) = self.get(path)
                && n.num_children() == 0
                && n.stat().cversion > 0
            {
                out.push(path.clone());
            }
        }
        for path in &self.ttls {
            if let Some(n) = self.get(path)
                && n.num_children() == 0
                && let Owner::Ttl(ttl) = Owner::decode(n.stat().ephemeral_owner)
                && now_ms.saturating_sub(n.stat().mtime) > ttl
            {
                out.push(path.clone());
            }
        }
        out.sort();
        out
    }

    /// Every node, parents before children (for snapshots).
    pub fn walk(&self, visit: impl FnMut(NodeRef<'_>)) {
        self.walk_some(&mut WalkCursor::default(), usize::MAX, visit);
    }

    /// Visits up to `max` more nodes of a parents-first walk that can be resumed after the
    /// tree changed (a fuzzy snapshot walks between batches of requests). Each parent's
    /// children are taken as a list of slots when it is visited, so a node with a million
    /// children costs one copy of the list, not a million path strings. A node deleted since
    /// is skipped; a slot reused meanwhile is visited only if the node in it still has this
    /// parent, so every node comes after its parent and at most once. Returns true when done.
    pub fn walk_some(
        &self,
        cursor: &mut WalkCursor,
        max: usize,
        mut visit: impl FnMut(NodeRef<'_>),
    ) -> bool {
        let mut n = 0;
        if !cursor.started {
            cursor.started = true;
            let Some(root) = self.find("/") else {
                return true;
            };
            let node = self.slot(root);
            visit(NodeRef { tree: self, node });
            n += 1;
            cursor.push(node);
        }
        while n < max {
            let Some(frame) = cursor.stack.last_mut() else {
                return true;
            };
            let Some(slot) = frame.slots.get(frame.next).copied() else {
                cursor.stack.pop();
                continue;
            };
            frame.next += 1;
            let Some(node) = self.slots.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            if split(node.path()).0 != &*frame.parent || node.path() == "/" {
                continue;
            }
            visit(NodeRef { tree: self, node });
            n += 1;
            cursor.push(node);
        }
        cursor.stack.is_empty()
    }

    /// Applies a txn at `zxid` stamped `time_ms`, returning the changes to notify. Failures
    /// (a node already there or already gone) are skipped so that replay is idempotent.
    pub fn apply(&mut self, zxid: i64, time_ms: i64, txn: &Txn, changes: &mut Vec<Change>) {
        match txn {
            Txn::Create {
                path,
                data,
                acl,
                ephemeral_owner,
                parent_cversion,
            } => self.create(
                path,
                data.clone(),
                acl,
                *ephemeral_owner,
                *parent_cversion,
                zxid,
                time_ms,
                changes,
            ),
            Txn::Delete { path } => self.delete(path, zxid, changes),
            Txn::SetData {
                path,
                data,
                version,
            } => {
                if let Some(slot) = self.find(path) {
                    let node = self.slot_mut(slot);
                    let old = node.data().map_or(0, <[u8]>::len);
                    node.set_data(data.as_deref());
                    node.stat.version = *version;
                    node.stat.mzxid = zxid;
                    node.stat.mtime = time_ms;
                    self.approximate_data_size += data_len(data) as i64 - old as i64;
                    changes.push(Change {
                        path: path.clone(),
                        event: EventType::NodeDataChanged,
                    });
                }
            }
            Txn::SetAcl { path, acl, version } => {
                let acl = self.intern(acl);
                if let Some(slot) = self.find(path) {
                    let node = self.slot_mut(slot);
                    node.acl = acl;
                    node.stat.aversion = *version;
                }
            }
            Txn::CloseSession { paths } => {
                for path in paths {
                    self.delete(path, zxid, changes);
                }
            }
            Txn::Multi(txns) => {
                for t in txns {
                    self.apply(zxid, time_ms, t, changes);
                }
            }
            Txn::CreateSession { .. } | Txn::Check { .. } | Txn::Error { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time_ms: i64,
        changes: &mut Vec<Change>,
    ) {
        let (parent_path, _) = split(path);
        let Some(parent) = self.find(parent_path) else {
            return;
        };
        // Counters only move forward, whether or not the child is (still) there, so that
        // replaying the log over a fuzzy snapshot converges on the same parent stat.
        let parent = self.slot_mut(parent);
        parent.stat.cversion = parent.stat.cversion.max(parent_cversion);
        parent.stat.pzxid = parent.stat.pzxid.max(zxid);
        if self.find(path).is_some() {
            return;
        }
        let stat = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
        };
        let acl = self.intern(acl);
        self.approximate_data_size += (path.len() + data_len(&data)) as i64;
        self.track_owner(path, owner);
        self.link(Node::new(path, data.as_deref(), acl, stat));
        changes.push(Change {
            path: path.to_string(),
            event: EventType::NodeCreated,
        });
        changes.push(Change {
            path: parent_path.to_string(),
            event: EventType::NodeChildrenChanged,
        });
    }

    fn delete(&mut self, path: &str, zxid: i64, changes: &mut Vec<Change>) {
        if path == "/" {
            return;
        }
        let Some(node) = self.unlink(path) else {
            // Replay of a delete the snapshot already reflects: the parent's pzxid still
            // records it.
            if let Some(p) = self.find(split(path).0) {
                let parent = self.slot_mut(p);
                parent.stat.pzxid = parent.stat.pzxid.max(zxid);
            }
            return;
        };
        self.approximate_data_size -= (path.len() + node.data().map_or(0, <[u8]>::len)) as i64;
        self.untrack_owner(path, node.stat.ephemeral_owner);
        let (parent_path, _) = split(path);
        if let Some(p) = self.find(parent_path) {
            let parent = self.slot_mut(p);
            if zxid > parent.stat.pzxid {
                parent.stat.pzxid = zxid;
            }
        }
        changes.push(Change {
            path: path.to_string(),
            event: EventType::NodeDeleted,
        });
        changes.push(Change {
            path: parent_path.to_string(),
            event: EventType::NodeChildrenChanged,
        });
    }
}
