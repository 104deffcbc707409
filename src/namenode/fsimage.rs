//! Hadoop's fsimage, as Hadoop 3.3.6's `FSImageFormatProtobuf` writes it, so that a real
//! NameNode, `hdfs oiv` and `-bootstrapStandby` read ours and we read theirs:
//!
//! ```text
//! file    := "HDFSIMG1" section* summary summary_length
//! section := delimited messages (proto/hadoop_fsimage.proto)
//! summary := FileSummary, length-delimited: on-disk version 1, the layout version, and each
//!            section's name, offset and length
//! summary_length := the delimited summary's length, u32 big-endian
//! ```
//!
//! We write, in Hadoop's order: `NS_INFO` (namespace id, generation stamps, last block id,
//! txid), `INODE` (every inode by id: name, times, replication, block size, blocks, and a
//! permission packing the user's and group's string ids with the mode), `INODE_DIR` (each
//! directory's children by id, in name order), `FILES_UNDERCONSTRUCTION`, `SNAPSHOT`,
//! `INODE_REFERENCE`, `SECRET_MANAGER` and `CACHE_MANAGER` (empty, as Hadoop writes them for a
//! namespace without snapshots, tokens or cache pools) and `STRING_TABLE` (users and groups in
//! tables of their own, `maskBits` 3, as 3.3 writes them). Sections are not compressed
//! (`dfs.image.compress` is off by default). Hadoop's `ERASURE_CODING` section is not written:
//! a NameNode that loads an image without it keeps its built-in policies.
//!
//! Reading is strict where this NameNode would lose what the image holds: ACLs, extended
//! attributes, quotas, snapshots, symlinks, striped files, storage policies, cache pools and
//! compressed images are refused with an error naming the inode or section, never dropped.
//! A file under construction is read as a closed file, as the tailing NameNode treats one.

use std::collections::{HashMap, HashSet};

use prost::Message;

use super::conf::LAYOUT_VERSION;
use super::namespace::{FileStatus, Ids, ImageEntry, ROOT_INODE_ID, hadoop_name_order};
use super::ops::Block;
use crate::proto::hadoop_client::{BlockProto, BlockTypeProto};
use crate::proto::hadoop_fsimage as pb;
use pb::i_node_section::{INode, INodeDirectory, INodeFile, i_node};

/// `FSImageUtil.MAGIC_HEADER`.
pub const MAGIC: &[u8; 8] = b"HDFSIMG1";
/// `FSImageUtil.FILE_VERSION`.
const FILE_VERSION: u32 = 1;
/// The oldest layout with the protobuf image (`Feature.PROTOBUF_FORMAT`, Hadoop 2.4).
const OLDEST_PROTOBUF_LAYOUT: i32 = -52;
/// `GenerationStamp.LAST_RESERVED_STAMP`: the legacy stamp of a namespace that never had one.
const LEGACY_GENSTAMP: u64 = 1000;
/// `SequentialBlockGroupIdGenerator`'s start (`Long.MIN_VALUE`): no striped block yet.
const NO_STRIPED_BLOCK: u64 = 1 << 63;
/// Hadoop's "no quota" (-1) and the root's namespace quota (`Long.MAX_VALUE`).
const QUOTA_RESET: u64 = u64::MAX;
const ROOT_NS_QUOTA: u64 = i64::MAX as u64;
/// `SerialNumberManager`: the table bits of a string id, and the tables of users and groups.
const STRING_TABLE_MASK_BITS: u32 = 3;
const USER_TABLE: u32 = 1;
const GROUP_TABLE: u32 = 2;
/// A permission's string ids are 24 bits (`PermissionStatusFormat`).
const STRING_ID_BITS: u32 = 24;

/// The namespace as of a txid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsImage {
    pub txid: u64,
    /// The namespace id (VERSION's `namespaceID`); the rest of the identity is VERSION's.
    pub namespace_id: u32,
    /// The layout version the image was written with.
    pub layout_version: i32,
    /// The last ids handed out (`Namespace::ids`).
    pub ids: Ids,
    /// Every inode, the root first and parents before children (`Namespace::entries`).
    pub entries: Vec<ImageEntry>,
}

/// Why bytes are not an image this NameNode can load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsImageError {
    #[error("not an fsimage: it does not start with HDFSIMG1")]
    BadMagic,
    #[error("fsimage is truncated: {len} bytes, {why}")]
    Truncated { len: usize, why: String },
    /// Hadoop's `FSImageUtil.loadSummary` texts.
    #[error("Unsupported file version {0}")]
    FileVersion(u32),
    #[error("Unsupported layout version {0}")]
    LayoutVersion(i32),
    #[error("Unrecognized section {0}")]
    UnknownSection(String),
    #[error("section {name} ({length} bytes at {offset}) is outside the sections of the file")]
    SectionBounds {
        name: String,
        offset: u64,
        length: u64,
    },
    #[error("{what} does not decode: {reason}")]
    Decode { what: String, reason: String },
    /// What the image holds that this NameNode would lose.
    #[error("the image holds {0}, which this NameNode does not keep")]
    Unsupported(String),
    /// Records that contradict each other (a child twice, a missing parent or string, ...).
    #[error("the image is inconsistent: {0}")]
    Inconsistent(String),
}

/// The hex MD5 of image bytes, as the `.md5` file and `X-MD5-Digest` carry it (Hadoop's
/// `MD5Hash.toString`).
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- writing ----------------------------------------------------------------------------

/// The bytes of `image` in Hadoop's format.
pub fn encode(image: &FsImage) -> Vec<u8> {
    let mut out = ImageWriter::new();
    out.section("NS_INFO", |b| {
        put(
            b,
            &pb::NameSystemSection {
                namespace_id: Some(image.namespace_id),
                genstamp_v1: Some(LEGACY_GENSTAMP),
                genstamp_v2: Some(image.ids.last_genstamp),
                genstamp_v1_limit: Some(0),
                last_allocated_block_id: Some(image.ids.last_block_id),
                transaction_id: Some(image.txid),
                rolling_upgrade_start_time: None,
                last_allocated_striped_block_id: Some(NO_STRIPED_BLOCK),
            },
        )
    });

    let mut strings = StringTables::default();
    let mut children: HashMap<&str, Vec<(&str, u64)>> = HashMap::new();
    out.section("INODE", |b| {
        let header = pb::INodeSection {
            last_inode_id: Some(image.ids.last_inode_id),
            num_inodes: Some(image.entries.len() as u64),
        };
        put(b, &header);
        for entry in &image.entries {
            put(b, &inode(entry, &mut strings));
            if let Some(parent) = parent_path(&entry.path) {
                let child = (entry.status.name.as_str(), entry.status.file_id);
                children.entry(parent).or_default().push(child);
            }
        }
    });
    // A loading NameNode appends each child (`addChildAtLoading`): they must come in its
    // order, names compared as signed bytes.
    out.section("INODE_DIR", |b| {
        for dir in &image.entries {
            let Some(mut kids) = children.remove(dir.path.as_str()) else {
                continue;
            };
            kids.sort_by(|x, y| hadoop_name_order(x.0, y.0));
            let entry = pb::i_node_directory_section::DirEntry {
                parent: Some(dir.status.file_id),
                children: kids.into_iter().map(|(_, id)| id).collect(),
                ref_children: Vec::new(),
            };
            put(b, &entry);
        }
    });
    // What Hadoop writes for a namespace without leases, snapshots, tokens or cache pools.
    out.section("FILES_UNDERCONSTRUCTION", |_| {});
    out.section("SNAPSHOT", |b| {
        put(
            b,
            &pb::SnapshotSection {
                snapshot_counter: Some(0),
                snapshottable_dir: Vec::new(),
                num_snapshots: Some(0),
            },
        )
    });
    out.section("INODE_REFERENCE", |_| {});
    out.section("SECRET_MANAGER", |b| {
        put(
            b,
            &pb::SecretManagerSection {
                current_id: Some(0),
                token_sequence_number: Some(0),
                num_keys: Some(0),
                num_tokens: Some(0),
            },
        )
    });
    out.section("CACHE_MANAGER", |b| {
        put(
            b,
            &pb::CacheManagerSection {
                next_directive_id: 1,
                num_pools: 0,
                num_directives: 0,
            },
        )
    });
    out.section("STRING_TABLE", |b| {
        let table = strings.entries();
        let header = pb::StringTableSection {
            num_entry: Some(table.len() as u32),
            mask_bits: Some(STRING_TABLE_MASK_BITS),
        };
        put(b, &header);
        for entry in &table {
            put(b, entry);
        }
    });
    out.finish(image.layout_version as u32)
}

/// Appends `message`, length-delimited.
fn put<M: Message>(buf: &mut Vec<u8>, message: &M) {
    message
        .encode_length_delimited(buf)
        .expect("a Vec grows as needed");
}

/// The file being written: sections after the magic, each recorded in the summary.
struct ImageWriter {
    bytes: Vec<u8>,
    sections: Vec<pb::file_summary::Section>,
}

impl ImageWriter {
    fn new() -> ImageWriter {
        ImageWriter {
            bytes: MAGIC.to_vec(),
            sections: Vec::new(),
        }
    }

    /// A section `write` appends, recorded under `name`.
    fn section(&mut self, name: &str, write: impl FnOnce(&mut Vec<u8>)) {
        let offset = self.bytes.len();
        write(&mut self.bytes);
        self.sections.push(pb::file_summary::Section {
            name: Some(name.to_string()),
            length: Some((self.bytes.len() - offset) as u64),
            offset: Some(offset as u64),
        });
    }

    fn finish(mut self, layout_version: u32) -> Vec<u8> {
        let summary = pb::FileSummary {
            ondisk_version: FILE_VERSION,
            layout_version,
            codec: None,
            sections: self.sections,
        };
        let start = self.bytes.len();
        put(&mut self.bytes, &summary);
        let length = (self.bytes.len() - start) as u32;
        self.bytes.extend_from_slice(&length.to_be_bytes());
        self.bytes
    }
}

/// Users and groups by serial number (from 1), each table its own, as `SerialNumberManager`.
#[derive(Default)]
struct StringTables {
    users: HashMap<String, u32>,
    groups: HashMap<String, u32>,
}

impl StringTables {
    fn serial(table: &mut HashMap<String, u32>, name: &str) -> u64 {
        let next = table.len() as u32 + 1;
        u64::from(*table.entry(name.to_string()).or_insert(next))
    }

    /// `PermissionStatusFormat`: user << 40 | group << 16 | mode.
    fn permission(&mut self, status: &FileStatus) -> u64 {
        let user = Self::serial(&mut self.users, &status.owner);
        let group = Self::serial(&mut self.groups, &status.group);
        user << 40 | group << 16 | u64::from(status.permission)
    }

    fn entries(&self) -> Vec<pb::string_table_section::Entry> {
        let mut entries: Vec<_> = [(USER_TABLE, &self.users), (GROUP_TABLE, &self.groups)]
            .into_iter()
            .flat_map(|(table, names)| {
                names
                    .iter()
                    .map(move |(name, &serial)| pb::string_table_section::Entry {
                        id: Some(table << (32 - STRING_TABLE_MASK_BITS) | serial),
                        str: Some(name.clone()),
                    })
            })
            .collect();
        entries.sort_by_key(|e| e.id);
        entries
    }
}

fn inode(entry: &ImageEntry, strings: &mut StringTables) -> INode {
    let status = &entry.status;
    let permission = Some(strings.permission(status));
    let (kind, file, directory) = if status.is_dir {
        let root = entry.path == "/";
        let directory = INodeDirectory {
            modification_time: Some(status.mtime),
            ns_quota: Some(if root { ROOT_NS_QUOTA } else { QUOTA_RESET }),
            ds_quota: Some(QUOTA_RESET),
            permission,
            ..Default::default()
        };
        (i_node::Type::Directory, None, Some(directory))
    } else {
        let file = INodeFile {
            replication: Some(u32::from(status.replication)),
            modification_time: Some(status.mtime),
            access_time: Some(status.atime),
            preferred_block_size: Some(status.block_size),
            permission,
            blocks: entry
                .blocks
                .iter()
                .map(|b| BlockProto {
                    block_id: b.id,
                    gen_stamp: b.genstamp,
                    num_bytes: Some(b.num_bytes),
                })
                .collect(),
            storage_policy_id: Some(0),
            block_type: Some(BlockTypeProto::Contiguous as i32),
            ..Default::default()
        };
        (i_node::Type::File, Some(file), None)
    };
    INode {
        r#type: kind as i32,
        id: status.file_id,
        name: Some(status.name.as_bytes().to_vec()),
        file,
        directory,
        symlink: None,
    }
}

/// The parent of a full path (`None` for the root or a path that is not absolute).
pub(super) fn parent_path(path: &str) -> Option<&str> {
    match path.rfind('/')? {
        _ if path == "/" => None,
        0 => Some("/"),
        end => Some(&path[..end]),
    }
}

// ---- reading ----------------------------------------------------------------------------

/// Reads an image in Hadoop's format; see the module's notes for what is refused.
pub fn decode(bytes: &[u8]) -> Result<FsImage, FsImageError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(FsImageError::BadMagic);
    }
    let truncated = |why: String| FsImageError::Truncated {
        len: bytes.len(),
        why,
    };
    if bytes.len() < MAGIC.len() + 4 {
        return Err(truncated(
            "too short for the magic and a summary length".into(),
        ));
    }
    let end = bytes.len() - 4;
    let summary_len = u32::from_be_bytes(bytes[end..].try_into().expect("4 bytes")) as usize;
    let summary_start = end
        .checked_sub(summary_len)
        .filter(|start| *start >= MAGIC.len() && summary_len > 0)
        .ok_or_else(|| truncated(format!("but its summary is {summary_len} bytes long")))?;
    let summary = pb::FileSummary::decode_length_delimited(&bytes[summary_start..end])
        .map_err(|e| decode_error("the file summary", e))?;
    if summary.ondisk_version != FILE_VERSION {
        return Err(FsImageError::FileVersion(summary.ondisk_version));
    }
    let layout_version = summary.layout_version as i32;
    if !(LAYOUT_VERSION..=OLDEST_PROTOBUF_LAYOUT).contains(&layout_version) {
        return Err(FsImageError::LayoutVersion(layout_version));
    }
    if let Some(codec) = summary.codec.as_deref().filter(|c| !c.is_empty()) {
        return Err(FsImageError::Unsupported(format!(
            "sections compressed with {codec}"
        )));
    }

    let mut reader = ImageReader::default();
    for section in &summary.sections {
        let name = section.name();
        let body = usize::try_from(section.offset())
            .ok()
            .zip(usize::try_from(section.length()).ok())
            .and_then(|(offset, length)| Some(offset..offset.checked_add(length)?))
            .filter(|range| range.start >= MAGIC.len() && range.end <= summary_start)
            .map(|range| &bytes[range])
            .ok_or_else(|| FsImageError::SectionBounds {
                name: name.to_string(),
                offset: section.offset(),
                length: section.length(),
            })?;
        reader.section(name, body)?;
    }
    reader.into_image(layout_version)
}

/// What the sections said, gathered before the tree is built.
#[derive(Default)]
struct ImageReader {
    ns_info: Option<pb::NameSystemSection>,
    last_inode_id: u64,
    inodes: HashMap<u64, INode>,
    children: HashMap<u64, Vec<u64>>,
    strings: HashMap<u32, String>,
    mask_bits: u32,
}

/// The delimited messages of a section body, in order.
fn records<M: Message + Default>(name: &str, mut body: &[u8]) -> Result<Vec<M>, FsImageError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        out.push(
            M::decode_length_delimited(&mut body)
                .map_err(|e| decode_error(&format!("section {name}"), e))?,
        );
    }
    Ok(out)
}

/// The first message of a section (its header).
fn first<H: Message + Default>(name: &str, mut body: &[u8]) -> Result<H, FsImageError> {
    H::decode_length_delimited(&mut body)
        .map_err(|e| decode_error(&format!("the header of section {name}"), e))
}

/// The header of a section, then the records after it.
fn header_and_records<H: Message + Default, M: Message + Default>(
    name: &str,
    mut body: &[u8],
) -> Result<(H, Vec<M>), FsImageError> {
    let header = H::decode_length_delimited(&mut body)
        .map_err(|e| decode_error(&format!("the header of section {name}"), e))?;
    Ok((header, records(name, body)?))
}

fn decode_error(what: &str, err: prost::DecodeError) -> FsImageError {
    FsImageError::Decode {
        what: what.to_string(),
        reason: err.to_string(),
    }
}

impl ImageReader {
    fn section(&mut self, name: &str, body: &[u8]) -> Result<(), FsImageError> {
        match name {
            "NS_INFO" => self.ns_info = Some(first(name, body)?),
            "STRING_TABLE" => {
                let (header, entries): (
                    pb::StringTableSection,
                    Vec<pb::string_table_section::Entry>,
                ) = header_and_records(name, body)?;
                self.mask_bits = header.mask_bits();
                if self.mask_bits > STRING_TABLE_MASK_BITS {
                    return Err(FsImageError::Inconsistent(format!(
                        "String table bits {} > {STRING_TABLE_MASK_BITS}",
                        self.mask_bits
                    )));
                }
                self.strings = entries
                    .into_iter()
                    .map(|e| (e.id(), e.str().to_string()))
                    .collect();
            }
            "INODE" => {
                let (header, inodes): (pb::INodeSection, Vec<INode>) =
                    header_and_records(name, body)?;
                self.last_inode_id = header.last_inode_id();
                for inode in inodes {
                    let id = inode.id;
                    if self.inodes.insert(id, inode).is_some() {
                        return Err(FsImageError::Inconsistent(format!(
                            "inode {id} appears twice"
                        )));
                    }
                }
            }
            "INODE_DIR" => {
                for entry in records::<pb::i_node_directory_section::DirEntry>(name, body)? {
                    if !entry.ref_children.is_empty() {
                        return Err(FsImageError::Unsupported(format!(
                            "inode references in directory {}",
                            entry.parent()
                        )));
                    }
                    self.children
                        .entry(entry.parent())
                        .or_default()
                        .extend(entry.children);
                }
            }
            "INODE_REFERENCE" | "SNAPSHOT_DIFF" if !body.is_empty() => {
                return Err(FsImageError::Unsupported(format!("a {name} section")));
            }
            "SNAPSHOT" => {
                let header = first::<pb::SnapshotSection>(name, body)?;
                if !header.snapshottable_dir.is_empty() || header.num_snapshots() > 0 {
                    return Err(FsImageError::Unsupported(format!(
                        "{} snapshottable directories and {} snapshots",
                        header.snapshottable_dir.len(),
                        header.num_snapshots()
                    )));
                }
            }
            "CACHE_MANAGER" => {
                let header = first::<pb::CacheManagerSection>(name, body)?;
                if header.num_pools > 0 || header.num_directives > 0 {
                    return Err(FsImageError::Unsupported(format!(
                        "{} cache pools and {} cache directives",
                        header.num_pools, header.num_directives
                    )));
                }
            }
            // Leases come from the inodes; delegation keys and tokens are not kept across a
            // restart without security; erasure coding policies are the NameNode's own; the
            // _SUB sections index parts of the sections above, for loading in parallel.
            "INODE_REFERENCE"
            | "SNAPSHOT_DIFF"
            | "FILES_UNDERCONSTRUCTION"
            | "SECRET_MANAGER"
            | "ERASURE_CODING"
            | "INODE_SUB"
            | "INODE_DIR_SUB"
            | "INODE_REFERENCE_SUB"
            | "SNAPSHOT_DIFF_SUB" => {}
            "EXTENDED_ACL" if body.is_empty() => {}
            "EXTENDED_ACL" => return Err(FsImageError::Unsupported("extended ACLs".into())),
            other => return Err(FsImageError::UnknownSection(other.to_string())),
        }
        Ok(())
    }

    /// A string id of a permission, in `table`.
    fn string(&self, table: u32, id: u64, inode: u64) -> Result<String, FsImageError> {
        let mut key = id as u32;
        if self.mask_bits != 0 {
            key |= table << (32 - self.mask_bits);
        }
        self.strings.get(&key).cloned().ok_or_else(|| {
            FsImageError::Inconsistent(format!(
                "inode {inode} names string {id} of table {table}, which the string table lacks"
            ))
        })
    }

    /// Owner, group and mode of a packed permission.
    fn permission(&self, packed: u64, inode: u64) -> Result<(String, String, u16), FsImageError> {
        let mask = (1u64 << STRING_ID_BITS) - 1;
        let owner = self.string(USER_TABLE, packed >> 40 & mask, inode)?;
        let group = self.string(GROUP_TABLE, packed >> 16 & mask, inode)?;
        Ok((owner, group, (packed & 0xffff) as u16))
    }

    fn into_image(self, layout_version: i32) -> Result<FsImage, FsImageError> {
        let ns_info = self
            .ns_info
            .as_ref()
            .ok_or_else(|| FsImageError::Inconsistent("it has no NS_INFO section".into()))?;
        let ids = Ids {
            last_inode_id: self.last_inode_id.max(Ids::default().last_inode_id),
            last_block_id: ns_info
                .last_allocated_block_id()
                .max(Ids::default().last_block_id),
            last_genstamp: ns_info.genstamp_v2().max(Ids::default().last_genstamp),
        };
        let mut entries = Vec::with_capacity(self.inodes.len());
        let mut placed = HashSet::new();
        // Depth first from the root: parents before children, siblings in Hadoop's order.
        let mut stack = vec![(ROOT_INODE_ID, "/".to_string())];
        while let Some((id, path)) = stack.pop() {
            if !placed.insert(id) {
                return Err(FsImageError::Inconsistent(format!(
                    "inode {id} is in two directories"
                )));
            }
            let inode = self.inodes.get(&id).ok_or_else(|| {
                FsImageError::Inconsistent(format!("{path} is inode {id}, which is not in INODE"))
            })?;
            let children = self.children.get(&id).map_or(&[][..], Vec::as_slice);
            let entry = self.entry(inode, &path, children.len())?;
            if !children.is_empty() && !entry.status.is_dir {
                return Err(FsImageError::Inconsistent(format!(
                    "file {path} has children"
                )));
            }
            let mut named = Vec::with_capacity(children.len());
            for &child in children {
                let name = self
                    .inodes
                    .get(&child)
                    .map(|c| String::from_utf8_lossy(c.name()).into_owned())
                    .ok_or_else(|| {
                        FsImageError::Inconsistent(format!(
                            "directory {path} holds inode {child}, which is not in INODE"
                        ))
                    })?;
                if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                    return Err(FsImageError::Inconsistent(format!(
                        "inode {child} in {path} is named {name:?}"
                    )));
                }
                named.push((name, child));
            }
            named.sort_by(|x, y| hadoop_name_order(&x.0, &y.0));
            if let Some(w) = named.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(FsImageError::Inconsistent(format!(
                    "{path} holds {} twice",
                    w[0].0
                )));
            }
            // Pushed in reverse so that they pop in name order.
            for (name, child) in named.into_iter().rev() {
                let child_path = if path == "/" {
                    format!("/{name}")
                } else {
                    format!("{path}/{name}")
                };
                stack.push((child, child_path));
            }
            entries.push(entry);
        }
        if let Some(orphan) = self.inodes.keys().find(|id| !placed.contains(id)) {
            return Err(FsImageError::Inconsistent(format!(
                "inode {orphan} is in no directory"
            )));
        }
        if !entries.first().is_some_and(|root| root.status.is_dir) {
            return Err(FsImageError::Inconsistent(
                "the root is not a directory".into(),
            ));
        }
        Ok(FsImage {
            txid: ns_info.transaction_id(),
            namespace_id: ns_info.namespace_id(),
            layout_version,
            ids,
            entries,
        })
    }

    fn entry(
        &self,
        inode: &INode,
        path: &str,
        children: usize,
    ) -> Result<ImageEntry, FsImageError> {
        let id = inode.id;
        let unsupported = |what: &str| FsImageError::Unsupported(format!("{what} on {path}"));
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        match (inode.r#type(), &inode.file, &inode.directory) {
            (i_node::Type::Directory, _, Some(d)) => {
                if d.acl.is_some() {
                    return Err(unsupported("an ACL"));
                }
                if d.x_attrs.is_some() {
                    return Err(unsupported("extended attributes"));
                }
                let root = id == ROOT_INODE_ID;
                let ns_ok = d.ns_quota() == QUOTA_RESET || (root && d.ns_quota() == ROOT_NS_QUOTA);
                let typed = d
                    .type_quotas
                    .as_ref()
                    .is_some_and(|q| q.quotas.iter().any(|e| e.quota != QUOTA_RESET));
                if !ns_ok || d.ds_quota() != QUOTA_RESET || typed {
                    return Err(unsupported("a quota"));
                }
                let (owner, group, permission) = self.permission(d.permission(), id)?;
                Ok(ImageEntry {
                    path: path.to_string(),
                    status: FileStatus {
                        name,
                        file_id: id,
                        is_dir: true,
                        length: 0,
                        permission,
                        owner,
                        group,
                        mtime: d.modification_time(),
                        atime: 0,
                        replication: 0,
                        block_size: 0,
                        children_num: i32::try_from(children).unwrap_or(i32::MAX),
                    },
                    blocks: Vec::new(),
                })
            }
            (i_node::Type::File, Some(f), _) => {
                if f.acl.is_some() {
                    return Err(unsupported("an ACL"));
                }
                if f.x_attrs.is_some() {
                    return Err(unsupported("extended attributes"));
                }
                if f.erasure_coding_policy_id.is_some() || f.block_type() == BlockTypeProto::Striped
                {
                    return Err(unsupported("an erasure coded file"));
                }
                if f.storage_policy_id() != 0 {
                    return Err(unsupported(&format!(
                        "storage policy {}",
                        f.storage_policy_id()
                    )));
                }
                let replication = u16::try_from(f.replication()).map_err(|_| {
                    FsImageError::Inconsistent(format!(
                        "{path} has replication {}",
                        f.replication()
                    ))
                })?;
                let (owner, group, permission) = self.permission(f.permission(), id)?;
                let blocks: Vec<Block> = f
                    .blocks
                    .iter()
                    .map(|b| Block {
                        id: b.block_id,
                        num_bytes: b.num_bytes(),
                        genstamp: b.gen_stamp,
                    })
                    .collect();
                Ok(ImageEntry {
                    path: path.to_string(),
                    status: FileStatus {
                        name,
                        file_id: id,
                        is_dir: false,
                        length: blocks.iter().map(|b| b.num_bytes).sum(),
                        permission,
                        owner,
                        group,
                        mtime: f.modification_time(),
                        atime: f.access_time(),
                        replication,
                        block_size: f.preferred_block_size(),
                        children_num: 0,
                    },
                    blocks,
                })
            }
            (i_node::Type::Symlink, ..) => Err(unsupported("a symlink")),
            (kind, ..) => Err(FsImageError::Inconsistent(format!(
                "inode {id} ({path}) is a {kind:?} without its record"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namenode::namespace::{Namespace, Writer, test_attrs as attrs};
    use crate::namenode::ops::{Attributes, EditOp};

    /// `hdfs dfsadmin -saveNamespace` of a real Hadoop 3.3.6 NameNode after
    /// `-mkdir -p /user/alice/data /tmp/x /a/b/c`, `-touchz /user/alice/data/f1 /a/b/c/empty
    /// /a/üñí`, `-chmod 1777 /tmp`, `-chown alice:staff /user/alice`, `-chmod 640
    /// /user/alice/data/f1`, `-setrep 3 /a/b/c/empty`, `-chown bob:staff /a/b/c/empty`.
    const HADOOP_IMAGE: &[u8] = include_bytes!("../../tests/data/hadoop-3.3.6-fsimage.bin");

    fn namespace() -> Namespace {
        let mut ns = Namespace::new(&attrs(1));
        let mut apply = |ops: Vec<EditOp>| {
            for op in ops {
                ns.apply(&op).unwrap();
            }
        };
        apply(
            Namespace::new(&attrs(1))
                .plan_mkdirs("/a/b", &attrs(2), true)
                .unwrap(),
        );
        ns
    }

    fn busy() -> Namespace {
        let mut ns = namespace();
        for (path, owner) in [("/a/b/f", "alice"), ("/a/ü", "bob"), ("/a/c", "alice")] {
            let file = Attributes {
                permission: 0o640,
                owner: owner.into(),
                group: "staff".into(),
                mtime: 5,
            };
            let writer = Writer {
                name: "DFSClient_x",
                machine: "h",
            };
            for op in ns
                .plan_create(path, &file, false, true, 2, 300, 128, writer)
                .unwrap()
            {
                ns.apply(&op).unwrap();
            }
        }
        let op = ns.plan_mkdirs("/a/d", &attrs(9), true).unwrap();
        for op in op {
            ns.apply(&op).unwrap();
        }
        ns
    }

    fn image_of(ns: &Namespace) -> FsImage {
        FsImage {
            txid: 42,
            namespace_id: 7,
            layout_version: LAYOUT_VERSION,
            ids: ns.ids(),
            entries: ns.entries(),
        }
    }

    fn paths(image: &FsImage) -> Vec<&str> {
        image.entries.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn a_real_hadoop_image_reads_whole() {
        let image = decode(HADOOP_IMAGE).unwrap();
        assert_eq!(image.txid, 23);
        assert_eq!(image.namespace_id, 188_091_966);
        assert_eq!(image.layout_version, -66);
        assert_eq!(image.ids.last_inode_id, 16396);
        assert_eq!(image.ids.last_block_id, 1 << 30);
        assert_eq!(image.ids.last_genstamp, 1000);
        assert_eq!(
            paths(&image),
            [
                "/",
                "/a",
                "/a/üñí",
                "/a/b",
                "/a/b/c",
                "/a/b/c/empty",
                "/tmp",
                "/tmp/x",
                "/user",
                "/user/alice",
                "/user/alice/data",
                "/user/alice/data/f1"
            ]
        );
        let by_path = |p: &str| &image.entries.iter().find(|e| e.path == p).unwrap().status;
        let root = by_path("/");
        assert_eq!(
            (root.file_id, root.children_num, root.owner.as_str()),
            (ROOT_INODE_ID, 3, "root")
        );
        let tmp = by_path("/tmp");
        assert_eq!((tmp.permission, tmp.group.as_str()), (0o1777, "supergroup"));
        let alice = by_path("/user/alice");
        assert_eq!(
            (alice.owner.as_str(), alice.group.as_str()),
            ("alice", "staff")
        );
        let empty = by_path("/a/b/c/empty");
        assert_eq!(
            (
                empty.file_id,
                empty.is_dir,
                empty.replication,
                empty.block_size,
                empty.owner.as_str(),
                empty.permission
            ),
            (16395, false, 3, 128 << 20, "bob", 0o644)
        );
        assert_eq!(by_path("/user/alice/data/f1").permission, 0o640);
        // A namespace builds from it, and says the same again.
        let ns = Namespace::from_entries(&image.entries, image.ids).unwrap();
        assert_eq!(ns.entries(), image.entries);
    }

    #[test]
    fn what_we_write_reads_back_the_same() {
        for ns in [namespace(), busy()] {
            let image = image_of(&ns);
            let bytes = encode(&image);
            assert!(bytes.starts_with(MAGIC));
            assert_eq!(decode(&bytes).unwrap(), image);
            let rebuilt = Namespace::from_entries(&image.entries, image.ids).unwrap();
            assert_eq!(rebuilt, ns);
        }
        // Hadoop's image, read and written again by us, reads the same.
        let theirs = decode(HADOOP_IMAGE).unwrap();
        assert_eq!(decode(&encode(&theirs)).unwrap(), theirs);
    }

    #[test]
    fn the_file_is_laid_out_as_hadoop_lays_it_out() {
        let image = image_of(&busy());
        let bytes = encode(&image);
        let end = bytes.len() - 4;
        let length = u32::from_be_bytes(bytes[end..].try_into().unwrap()) as usize;
        let summary = pb::FileSummary::decode_length_delimited(&bytes[end - length..end]).unwrap();
        assert_eq!(summary.ondisk_version, 1);
        assert_eq!(summary.layout_version as i32, -66);
        assert_eq!(summary.codec, None);
        let names: Vec<_> = summary.sections.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "NS_INFO",
                "INODE",
                "INODE_DIR",
                "FILES_UNDERCONSTRUCTION",
                "SNAPSHOT",
                "INODE_REFERENCE",
                "SECRET_MANAGER",
                "CACHE_MANAGER",
                "STRING_TABLE"
            ]
        );
        // Sections follow each other from the magic to the summary.
        let mut at = MAGIC.len() as u64;
        for section in &summary.sections {
            assert_eq!(section.offset(), at, "{}", section.name());
            at += section.length();
        }
        assert_eq!(at as usize, end - length);
        let body = |name: &str| {
            let s = summary.sections.iter().find(|s| s.name() == name).unwrap();
            &bytes[s.offset() as usize..(s.offset() + s.length()) as usize]
        };
        // Users and groups in tables of their own, as 3.3 writes them.
        let (header, strings): (pb::StringTableSection, Vec<pb::string_table_section::Entry>) =
            header_and_records("STRING_TABLE", body("STRING_TABLE")).unwrap();
        assert_eq!(header.mask_bits(), 3);
        let ids: Vec<_> = strings.iter().map(|e| (e.id(), e.str())).collect();
        assert_eq!(
            ids,
            [
                (0x2000_0001, "hdfs"),
                (0x2000_0002, "bob"),
                (0x2000_0003, "alice"),
                (0x4000_0001, "supergroup"),
                (0x4000_0002, "staff")
            ]
        );
        // /a's children as Hadoop orders them: signed bytes put ü (0xC3) first.
        let dirs: Vec<pb::i_node_directory_section::DirEntry> =
            records("INODE_DIR", body("INODE_DIR")).unwrap();
        let a = image.entries.iter().find(|e| e.path == "/a").unwrap();
        let names_of = |ids: &[u64]| -> Vec<String> {
            ids.iter()
                .map(|id| {
                    let e = image
                        .entries
                        .iter()
                        .find(|e| e.status.file_id == *id)
                        .unwrap();
                    e.status.name.clone()
                })
                .collect()
        };
        let listed = dirs
            .iter()
            .find(|d| d.parent() == a.status.file_id)
            .unwrap();
        assert_eq!(names_of(&listed.children), ["ü", "b", "c", "d"]);
        // The root's quota as Hadoop's root carries it; others none.
        let (_, inodes): (pb::INodeSection, Vec<INode>) =
            header_and_records("INODE", body("INODE")).unwrap();
        let root = inodes.iter().find(|i| i.id == ROOT_INODE_ID).unwrap();
        let dir = root.directory.as_ref().unwrap();
        assert_eq!(
            (dir.ns_quota(), dir.ds_quota()),
            (i64::MAX as u64, u64::MAX)
        );
        assert_eq!(
            inodes[1].directory.as_ref().unwrap().ns_quota(),
            u64::MAX,
            "{:?}",
            inodes[1]
        );
    }

    /// The real image with one inode changed by `change`.
    fn hadoop_image_with(change: impl Fn(&mut INode)) -> Vec<u8> {
        rewrite(HADOOP_IMAGE, |name, body| {
            if name != "INODE" {
                return body.to_vec();
            }
            let (header, mut inodes): (pb::INodeSection, Vec<INode>) =
                header_and_records(name, body).unwrap();
            for inode in &mut inodes {
                change(inode);
            }
            let mut out = header.encode_length_delimited_to_vec();
            for inode in inodes {
                inode.encode_length_delimited(&mut out).unwrap();
            }
            out
        })
    }

    /// An image's sections, each rewritten by `f(name, body)`, laid out again.
    fn rewrite(bytes: &[u8], f: impl Fn(&str, &[u8]) -> Vec<u8>) -> Vec<u8> {
        let end = bytes.len() - 4;
        let length = u32::from_be_bytes(bytes[end..].try_into().unwrap()) as usize;
        let mut summary =
            pb::FileSummary::decode_length_delimited(&bytes[end - length..end]).unwrap();
        let mut out = MAGIC.to_vec();
        for section in &mut summary.sections {
            let body =
                &bytes[section.offset() as usize..(section.offset() + section.length()) as usize];
            let new = f(section.name(), body);
            section.offset = Some(out.len() as u64);
            section.length = Some(new.len() as u64);
            out.extend_from_slice(&new);
        }
        let start = out.len();
        summary.encode_length_delimited(&mut out).unwrap();
        let length = (out.len() - start) as u32;
        out.extend_from_slice(&length.to_be_bytes());
        out
    }

    fn refusal(bytes: &[u8]) -> String {
        decode(bytes).unwrap_err().to_string()
    }

    #[test]
    fn what_this_namenode_would_lose_is_refused_naming_the_inode() {
        let on = |id: u64, change: fn(&mut INode)| {
            hadoop_image_with(move |inode| {
                if inode.id == id {
                    change(inode)
                }
            })
        };
        for (bytes, says) in [
            (
                on(16389, |i| {
                    i.directory.as_mut().unwrap().acl = Some(Default::default());
                }),
                "the image holds an ACL on /tmp, which this NameNode does not keep",
            ),
            (
                on(16394, |i| {
                    i.file.as_mut().unwrap().x_attrs = Some(Default::default());
                }),
                "extended attributes on /user/alice/data/f1",
            ),
            (
                on(16386, |i| {
                    i.directory.as_mut().unwrap().ns_quota = Some(100);
                }),
                "a quota on /user",
            ),
            (
                on(16395, |i| {
                    i.file.as_mut().unwrap().storage_policy_id = Some(12);
                }),
                "storage policy 12 on /a/b/c/empty",
            ),
            (
                on(16395, |i| {
                    i.file.as_mut().unwrap().erasure_coding_policy_id = Some(1);
                }),
                "an erasure coded file on /a/b/c/empty",
            ),
            (
                on(16396, |i| {
                    i.r#type = i_node::Type::Symlink as i32;
                }),
                "a symlink on /a/üñí",
            ),
        ] {
            assert!(
                refusal(&bytes).contains(says),
                "{} vs {says}",
                refusal(&bytes)
            );
        }
        // Sections this NameNode cannot keep.
        let snapshots = rewrite(HADOOP_IMAGE, |name, body| match name {
            "SNAPSHOT" => pb::SnapshotSection {
                snapshot_counter: Some(1),
                snapshottable_dir: vec![16386],
                num_snapshots: Some(0),
            }
            .encode_length_delimited_to_vec(),
            _ => body.to_vec(),
        });
        assert_eq!(
            refusal(&snapshots),
            "the image holds 1 snapshottable directories and 0 snapshots, which this NameNode \
             does not keep"
        );
        let pools = rewrite(HADOOP_IMAGE, |name, body| match name {
            "CACHE_MANAGER" => pb::CacheManagerSection {
                next_directive_id: 2,
                num_pools: 1,
                num_directives: 0,
            }
            .encode_length_delimited_to_vec(),
            _ => body.to_vec(),
        });
        assert!(refusal(&pools).contains("1 cache pools and 0 cache directives"));
        // A file under construction is read as a closed file.
        let uc = on(16394, |i| {
            i.file.as_mut().unwrap().file_uc = Some(Default::default());
        });
        assert_eq!(decode(&uc).unwrap(), decode(HADOOP_IMAGE).unwrap());
    }

    #[test]
    fn a_broken_file_is_a_clear_error() {
        let whole = HADOOP_IMAGE;
        assert_eq!(decode(b"HAIMAGE\0...."), Err(FsImageError::BadMagic));
        assert!(refusal(&whole[..10]).starts_with("fsimage is truncated: 10 bytes"));
        // The summary length points before the magic, or is 0.
        let mut long = whole.to_vec();
        let n = long.len();
        long[n - 4..].copy_from_slice(&(n as u32).to_be_bytes());
        assert!(
            refusal(&long).contains("its summary is"),
            "{}",
            refusal(&long)
        );
        long[n - 4..].copy_from_slice(&0u32.to_be_bytes());
        assert!(refusal(&long).contains("its summary is 0 bytes"));
        // A summary of another version or layout, or compressed sections.
        let with_summary = |f: fn(&mut pb::FileSummary)| {
            let end = whole.len() - 4;
            let length = u32::from_be_bytes(whole[end..].try_into().unwrap()) as usize;
            let mut summary =
                pb::FileSummary::decode_length_delimited(&whole[end - length..end]).unwrap();
            f(&mut summary);
            let mut out = whole[..end - length].to_vec();
            let start = out.len();
            summary.encode_length_delimited(&mut out).unwrap();
            let length = (out.len() - start) as u32;
            out.extend_from_slice(&length.to_be_bytes());
            out
        };
        assert_eq!(
            refusal(&with_summary(|s| s.ondisk_version = 2)),
            "Unsupported file version 2"
        );
        assert_eq!(
            refusal(&with_summary(|s| s.layout_version = -67i32 as u32)),
            "Unsupported layout version -67"
        );
        assert!(
            refusal(&with_summary(
                |s| s.codec = Some("org.apache.hadoop.io.compress.GzipCodec".into())
            ))
            .contains("sections compressed with org.apache.hadoop.io.compress.GzipCodec")
        );
        assert_eq!(
            refusal(&with_summary(
                |s| s.sections[0].name = Some("NEW_THING".into())
            )),
            "Unrecognized section NEW_THING"
        );
        let bounds = refusal(&with_summary(|s| s.sections[1].length = Some(1 << 20)));
        assert!(
            bounds.contains("is outside the sections of the file"),
            "{bounds}"
        );
        // A section body that does not decode.
        let garbled = rewrite(whole, |name, body| match name {
            "INODE_DIR" => vec![0x05, 0xff, 0xff],
            _ => body.to_vec(),
        });
        assert!(refusal(&garbled).starts_with("section INODE_DIR does not decode"));
        // Records that contradict each other.
        let orphan = rewrite(whole, |name, body| match name {
            "INODE_DIR" => {
                let mut dirs: Vec<pb::i_node_directory_section::DirEntry> =
                    records(name, body).unwrap();
                dirs.retain(|d| d.parent() != 16389);
                dirs.iter()
                    .flat_map(|d| d.encode_length_delimited_to_vec())
                    .collect()
            }
            _ => body.to_vec(),
        });
        assert_eq!(
            refusal(&orphan),
            "the image is inconsistent: inode 16390 is in no directory"
        );
        let twice = rewrite(whole, |name, body| match name {
            "INODE_DIR" => {
                let mut dirs: Vec<pb::i_node_directory_section::DirEntry> =
                    records(name, body).unwrap();
                dirs[1].children.push(16390);
                dirs.iter()
                    .flat_map(|d| d.encode_length_delimited_to_vec())
                    .collect()
            }
            _ => body.to_vec(),
        });
        assert!(refusal(&twice).contains("inode 16390 is in two directories"));
        let nameless = hadoop_image_with(|i| {
            if i.id == 16390 {
                i.name = Some(b"a/b".to_vec());
            }
        });
        assert!(refusal(&nameless).contains("inode 16390 in /tmp is named \"a/b\""));
        let no_strings = rewrite(whole, |name, body| match name {
            "STRING_TABLE" => pb::StringTableSection {
                num_entry: Some(0),
                mask_bits: Some(3),
            }
            .encode_length_delimited_to_vec(),
            _ => body.to_vec(),
        });
        assert!(refusal(&no_strings).contains("which the string table lacks"));
    }
}
