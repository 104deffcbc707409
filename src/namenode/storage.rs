//! `NameNodeStorage`: the NameNode's local storage directories (`dfs.namenode.name.dir`), each
//! a Hadoop storage directory holding a copy of the same files:
//!
//! ```text
//! in_use.lock                       exclusive lock for the life of the storage
//! current/VERSION                   Java properties: #<date>, namespaceID, clusterID, cTime,
//!                                   storageType=NAME_NODE, blockpoolID, layoutVersion
//! current/fsimage_<19-digit txid>   the namespace as of txid, in Hadoop's format (`fsimage`)
//! current/fsimage_<txid>.md5        "<md5 hex> *fsimage_<txid>\n" (Hadoop's MD5FileUtils)
//! current/seen_txid                 "<decimal>\n": the highest txid known to be written
//! ```
//!
//! So a real NameNode starts on our directories, and ours on a real one's. An image is
//! checked against its `.md5` when there is one (Hadoop's "Image file … is corrupt with MD5
//! checksum of …" otherwise), and against VERSION's namespace id. Images of earlier hdfs-ha
//! releases (magic `HAIMAGE\0`, an `FsImageProto` with a crc32c trailer) are still read, and
//! their inodes numbered from the image's last inode id; they are written in Hadoop's format
//! from the next checkpoint on.
//!
//! Invariants this keeps:
//! - every directory is locked while the storage is open;
//! - a directory is formatted iff it has VERSION: `format` removes VERSION first and writes it
//!   last, so a crash mid-format leaves an unformatted directory, never a VERSION beside a
//!   missing image;
//! - an fsimage is written whole or not at all (`<name>.tmp`, fsync, rename, fsync the
//!   directory; its `.md5` after it), and is used only when it decodes whole and matches its
//!   `.md5`: a truncated or corrupt
//!   image is an error naming the file, never a partial namespace, and a valid copy in
//!   another directory (or an older valid image, for [`NameNodeStorage::latest_image_txid`])
//!   is used instead, with a warning naming the bad file;
//! - only images of the namespace the directories are formatted with are stored;
//! - the protobuf types of the image are converted here and go nowhere else.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use prost::Message;

pub use super::fsimage::FsImage;
use super::fsimage::{self, FsImageError, md5_hex, parent_path};
use super::namespace::{FileStatus, Ids, ImageEntry, ROOT_INODE_ID};
use super::ops::Block;
use crate::journal::NamespaceInfo;
use crate::proto::namenode as pb;
use crate::storage_dir::{
    At, CURRENT_DIR, LOCK_FILE, StorageError, StorageLock, StorageResult, TMP_SUFFIX, VERSION_FILE,
    VersionFile, VersionFileError, clear_directory, ensure_dir, invalid, namespace_id_property,
    read_long_file, read_version, replace_file, sync_dir, write_long_file, write_version,
};

/// The `storageType` of a name directory's VERSION (Hadoop's `NodeType.NAME_NODE`).
const STORAGE_TYPE: &str = "NAME_NODE";
/// Hadoop's `NNStorage.NameNodeFile.SEEN_TXID`.
const SEEN_TXID_FILE: &str = "seen_txid";
/// Hadoop's `NNStorage.NameNodeFile.IMAGE` prefix.
const IMAGE_PREFIX: &str = "fsimage_";
/// Hadoop's `MD5FileUtils.MD5_SUFFIX`.
const MD5_SUFFIX: &str = ".md5";
/// The magic of the images earlier hdfs-ha releases wrote.
const LEGACY_IMAGE_MAGIC: &[u8; 8] = b"HAIMAGE\0";
/// The legacy format version.
const LEGACY_FORMAT_VERSION: u32 = 1;
/// Legacy magic, format version, payload length.
const IMAGE_HEADER_LEN: usize = 8 + 4 + 8;
const IMAGE_CRC_LEN: usize = 4;

/// The namespace's identity (the VERSION file of a NameNode storage directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceIdentity {
    pub namespace_id: u32,
    pub cluster_id: String,
    pub block_pool_id: String,
    pub layout_version: i32,
    pub ctime: u64,
}

impl NamespaceIdentity {
    /// The part of it a JournalNode keeps and Hadoop's `NamespaceInfo` carries.
    pub fn namespace_info(&self) -> NamespaceInfo {
        NamespaceInfo {
            namespace_id: self.namespace_id,
            cluster_id: self.cluster_id.clone(),
            block_pool_id: self.block_pool_id.clone(),
            layout_version: self.layout_version,
            ctime: self.ctime,
        }
    }
}

impl From<&NamespaceInfo> for NamespaceIdentity {
    fn from(ns: &NamespaceInfo) -> Self {
        NamespaceIdentity {
            namespace_id: ns.namespace_id,
            cluster_id: ns.cluster_id.clone(),
            block_pool_id: ns.block_pool_id.clone(),
            layout_version: ns.layout_version,
            ctime: ns.ctime,
        }
    }
}

impl fmt::Display for NamespaceIdentity {
    /// As VERSION names the fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "namespaceID={}, clusterID={}, blockpoolID={}, layoutVersion={}, cTime={}",
            self.namespace_id, self.cluster_id, self.block_pool_id, self.layout_version, self.ctime
        )
    }
}

/// The name of the image of `txid` (Hadoop's `NNStorage.getImageFileName`).
pub fn image_file_name(txid: u64) -> String {
    format!("{IMAGE_PREFIX}{txid:019}")
}

/// The txid of an image file name; `None` for anything else (temp files, `.md5`, ...).
fn parse_image_file_name(name: &str) -> Option<u64> {
    name.strip_prefix(IMAGE_PREFIX)
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse().ok())
}

/// The NameNode's storage directories, locked.
#[derive(Debug)]
pub struct NameNodeStorage {
    /// `dfs.namenode.name.dir`, in configuration order: reads prefer the first.
    dirs: Vec<PathBuf>,
    /// One per directory, held until the storage is dropped.
    _locks: Vec<StorageLock>,
}

impl NameNodeStorage {
    /// Opens and locks every storage directory (`dfs.namenode.name.dir`), creating missing ones.
    pub fn open(dirs: &[PathBuf]) -> Result<NameNodeStorage, StorageError> {
        if dirs.is_empty() {
            return Err(StorageError::new(
                "open",
                "dfs.namenode.name.dir",
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no NameNode storage directories are configured",
                ),
            ));
        }
        // A failure releases the locks taken so far (they are dropped).
        let locks = dirs
            .iter()
            .map(|dir| StorageLock::acquire(dir))
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(NameNodeStorage {
            dirs: dirs.to_vec(),
            _locks: locks,
        })
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn current_dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.dirs.iter().map(|dir| dir.join(CURRENT_DIR))
    }

    /// The directories that hold anything (what `-format` asks about before clearing): anything
    /// but the lock file and an empty `current/`.
    pub fn dirs_with_data(&self) -> Result<Vec<PathBuf>, StorageError> {
        let mut with_data = Vec::new();
        for dir in &self.dirs {
            if has_data(dir)? {
                with_data.push(dir.clone());
            }
        }
        Ok(with_data)
    }

    /// The VERSION identity; `None` when unformatted. Directories that disagree are an error
    /// naming them. A directory without VERSION beside formatted ones (a replaced disk) does
    /// not count: the next saved image formats it.
    pub fn identity(&self) -> Result<Option<NamespaceIdentity>, StorageError> {
        let mut found: Option<(&Path, NamespaceIdentity)> = None;
        for dir in &self.dirs {
            let path = dir.join(CURRENT_DIR).join(VERSION_FILE);
            let Some(identity) = read_version(&path, identity_from_version)? else {
                continue;
            };
            match &found {
                None => found = Some((dir.as_path(), identity)),
                Some((first, expected)) if *expected != identity => {
                    return Err(invalid(
                        "read",
                        &path,
                        format!(
                            "storage directories disagree: {} has {identity}, but {} has {expected}",
                            dir.display(),
                            first.display()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(found.map(|(_, identity)| identity))
    }

    /// Clears every directory, then writes the image `bytes` as `fsimage_<txid>` (with its
    /// `.md5`), `seen_txid` and VERSION of `identity`. The bytes are checked first: a new
    /// namespace's image, or one transferred from the other NameNode, stored as it came.
    pub fn format(
        &mut self,
        identity: &NamespaceIdentity,
        bytes: &[u8],
    ) -> Result<FsImage, StorageError> {
        let image = Self::decode_image(bytes, "the image to format with")?;
        let name = image_file_name(image.txid);
        check_image_of(identity, &image, &name)?;
        for dir in &self.dirs {
            let current = dir.join(CURRENT_DIR);
            // Unformat first: VERSION goes first and comes back last.
            clear_directory(&current)?;
            write_image(&current, &name, bytes)?;
            write_long_file(&current, SEEN_TXID_FILE, image.txid)?;
            write_version(&current, &version_fields(identity))?;
            tracing::info!(
                "Storage directory {} has been successfully formatted.",
                dir.display()
            );
        }
        Ok(image)
    }

    /// The txid of the newest valid fsimage in any directory.
    pub fn latest_image_txid(&self) -> Result<Option<u64>, StorageError> {
        let mut txids = BTreeSet::new();
        for current in self.current_dirs() {
            txids.extend(list_images(&current)?);
        }
        for &txid in txids.iter().rev() {
            // Each bad copy was logged; an older image is the fallback, as in Hadoop.
            if self.read_valid_image(txid).is_ok() {
                return Ok(Some(txid));
            }
        }
        Ok(None)
    }

    /// Reads and checks `fsimage_<txid>` (from the first directory that has a valid copy).
    pub fn load_image(&self, txid: u64) -> Result<FsImage, StorageError> {
        let (path, _, image) = self.read_valid_image(txid)?;
        tracing::info!("Loaded image for txid {txid} from {}", path.display());
        Ok(image)
    }

    /// Writes `fsimage_<txid>` durably to every directory, then keeps only the newest `retain`
    /// images (at least one).
    /// Returns the bytes written (what a checkpoint uploads), so that they need not be read
    /// back.
    pub fn save_image(&mut self, image: &FsImage, retain: usize) -> Result<Vec<u8>, StorageError> {
        let identity = self.identity_for(image, &image_file_name(image.txid))?;
        let bytes = fsimage::encode(image);
        self.store_image(&identity, image.txid, &bytes, retain)?;
        Ok(bytes)
    }

    /// The stored bytes of `fsimage_<txid>` (for transfer to the other NameNode).
    pub fn image_bytes(&self, txid: u64) -> Result<Vec<u8>, StorageError> {
        self.read_valid_image(txid).map(|(_, bytes, _)| bytes)
    }

    /// Checks transferred image bytes and stores them as `fsimage_<txid>` in every directory.
    pub fn save_image_bytes(
        &mut self,
        txid: u64,
        bytes: &[u8],
        retain: usize,
    ) -> Result<FsImage, StorageError> {
        let source = format!("transferred {}", image_file_name(txid));
        let image = Self::decode_image(bytes, &source)?;
        if image.txid != txid {
            return Err(corrupt(
                &source,
                format!("it holds the image of txid {}", image.txid),
            ));
        }
        let identity = self.identity_for(&image, &source)?;
        self.store_image(&identity, txid, bytes, retain)?;
        Ok(image)
    }

    /// Decodes and checks image bytes (Hadoop's format, or an earlier hdfs-ha release's)
    /// without storing them; `source` names them in errors.
    pub fn decode_image(bytes: &[u8], source: &str) -> Result<FsImage, StorageError> {
        if bytes.starts_with(LEGACY_IMAGE_MAGIC) {
            return decode_legacy_image(bytes, source);
        }
        fsimage::decode(bytes).map_err(|err| match err {
            FsImageError::Truncated { .. } => StorageError::new(
                "read",
                source,
                io::Error::new(io::ErrorKind::InvalidData, err.to_string()),
            ),
            err => corrupt(source, err),
        })
    }

    /// `current/seen_txid`: the highest txid this NameNode knows was written (0 when absent).
    /// With several directories, the highest of theirs (Hadoop's `getMaxSeenTxId`).
    pub fn seen_txid(&self) -> Result<u64, StorageError> {
        let mut seen = 0;
        for current in self.current_dirs() {
            if let Some(txid) = read_long_file(&current.join(SEEN_TXID_FILE))? {
                seen = seen.max(txid);
            }
        }
        Ok(seen)
    }

    pub fn write_seen_txid(&mut self, txid: u64) -> Result<(), StorageError> {
        for current in self.current_dirs() {
            ensure_dir(&current)?;
            write_long_file(&current, SEEN_TXID_FILE, txid)?;
        }
        Ok(())
    }

    /// The identity of the directories, when `image` is of their namespace; refuses any image
    /// before they are formatted.
    fn identity_for(&self, image: &FsImage, source: &str) -> StorageResult<NamespaceIdentity> {
        let identity = self.identity()?.ok_or_else(|| {
            StorageError::new(
                "write",
                source,
                io::Error::new(io::ErrorKind::NotFound, "NameNode is not formatted."),
            )
        })?;
        check_image_of(&identity, image, source)?;
        Ok(identity)
    }

    /// Writes the (checked) bytes of `fsimage_<txid>` and its `.md5` to every directory,
    /// formats a directory that has no VERSION yet, and purges old images.
    fn store_image(
        &mut self,
        identity: &NamespaceIdentity,
        txid: u64,
        bytes: &[u8],
        retain: usize,
    ) -> StorageResult<()> {
        let name = image_file_name(txid);
        for current in self.current_dirs() {
            let started = Instant::now();
            ensure_dir(&current)?;
            write_image(&current, &name, bytes)?;
            tracing::info!(
                "Image file {} of size {} bytes saved in {} seconds.",
                current.join(&name).display(),
                bytes.len(),
                started.elapsed().as_secs()
            );
            if !current.join(VERSION_FILE).exists() {
                write_version(&current, &version_fields(identity))?;
                tracing::info!(
                    "Storage directory {} was not formatted: wrote VERSION",
                    current.display()
                );
            }
        }
        self.purge_images(retain.max(1))
    }

    /// Keeps the newest `retain` images in each directory (Hadoop's
    /// `NNStorageRetentionManager`), and removes temp files a crashed save left.
    fn purge_images(&mut self, retain: usize) -> StorageResult<()> {
        for current in self.current_dirs() {
            let mut txids = list_images(&current)?;
            txids.sort_unstable_by(|a, b| b.cmp(a));
            let mut purged = false;
            if let Some(&oldest_kept) = txids.get(retain - 1).filter(|_| txids.len() > retain) {
                tracing::info!("Going to retain {retain} images with txid >= {oldest_kept}");
            }
            for &txid in txids.iter().skip(retain) {
                let path = current.join(image_file_name(txid));
                tracing::info!("Purging old image {}", path.display());
                fs::remove_file(&path).at("remove", &path)?;
                remove_if_present(&md5_path(&path))?;
                purged = true;
            }
            for entry in fs::read_dir(&current).at("list", &current)? {
                let entry = entry.at("list", &current)?;
                let name = entry.file_name();
                // A crashed save's temp files, and a .md5 whose image is gone.
                let is_leftover = name
                    .to_str()
                    .is_some_and(|n| match n.strip_suffix(TMP_SUFFIX) {
                        Some(saved) => {
                            parse_image_file_name(saved.strip_suffix(MD5_SUFFIX).unwrap_or(saved))
                                .is_some()
                        }
                        None => n.strip_suffix(MD5_SUFFIX).is_some_and(|image| {
                            parse_image_file_name(image).is_some() && !current.join(image).exists()
                        }),
                    });
                if is_leftover {
                    let path = entry.path();
                    fs::remove_file(&path).at("remove", &path)?;
                    purged = true;
                }
            }
            if purged {
                sync_dir(&current)?;
            }
        }
        Ok(())
    }

    /// The first valid copy of `fsimage_<txid>`: its path, bytes and image. Every bad copy is
    /// logged; the error is the first bad copy's, or that no directory holds the image.
    fn read_valid_image(&self, txid: u64) -> StorageResult<(PathBuf, Vec<u8>, FsImage)> {
        let name = image_file_name(txid);
        let mut first_error = None;
        for current in self.current_dirs() {
            let path = current.join(&name);
            let read = match fs::read(&path) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                read => read.at("read", &path),
            };
            let checked = read.and_then(|bytes| {
                check_md5(&path, &bytes)?;
                let image = Self::decode_image(&bytes, &path.display().to_string())?;
                if image.txid != txid {
                    return Err(corrupt(
                        &path.display().to_string(),
                        format!("it holds the image of txid {}", image.txid),
                    ));
                }
                Ok((bytes, image))
            });
            match checked {
                Ok((bytes, image)) => return Ok((path, bytes, image)),
                Err(err) => {
                    tracing::warn!(
                        "Failed to load image from {}: {}",
                        path.display(),
                        err.source
                    );
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            StorageError::new(
                "read",
                name.clone(),
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no storage directory holds {name}"),
                ),
            )
        }))
    }
}

/// Whether a storage directory holds anything but its lock file and an empty `current/`.
fn has_data(dir: &Path) -> StorageResult<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err).at("list", dir),
    };
    for entry in entries {
        let entry = entry.at("list", dir)?;
        let name = entry.file_name();
        if name == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        if name == CURRENT_DIR && entry.file_type().at("stat", &path)?.is_dir() {
            let mut inside = fs::read_dir(&path).at("list", &path)?;
            if inside.next().is_none() {
                continue;
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// The txids of the image files in `current` (unordered); none when it does not exist.
fn list_images(current: &Path) -> StorageResult<Vec<u64>> {
    let entries = match fs::read_dir(current) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).at("list", current),
    };
    let mut txids = Vec::new();
    for entry in entries {
        let name = entry.at("list", current)?.file_name();
        if let Some(txid) = name.to_str().and_then(parse_image_file_name) {
            txids.push(txid);
        }
    }
    Ok(txids)
}

/// An `InvalidData` error for image bytes that are not a whole, intact image.
fn corrupt(source: &str, why: impl fmt::Display) -> StorageError {
    StorageError::new(
        "read",
        source,
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("fsimage is corrupt: {why}"),
        ),
    )
}

// ---- VERSION ------------------------------------------------------------------------------

/// A name directory's VERSION fields, in Hadoop's order.
fn version_fields(identity: &NamespaceIdentity) -> [(&'static str, String); 6] {
    [
        ("namespaceID", namespace_id_property(identity.namespace_id)),
        ("clusterID", identity.cluster_id.clone()),
        ("cTime", identity.ctime.to_string()),
        ("storageType", STORAGE_TYPE.to_string()),
        ("blockpoolID", identity.block_pool_id.clone()),
        ("layoutVersion", identity.layout_version.to_string()),
    ]
}

fn identity_from_version(version: &VersionFile) -> Result<NamespaceIdentity, VersionFileError> {
    version.check_storage_type(STORAGE_TYPE)?;
    Ok(NamespaceIdentity {
        namespace_id: version.namespace_id()?,
        cluster_id: version.get("clusterID")?.to_string(),
        block_pool_id: version.get("blockpoolID")?.to_string(),
        layout_version: version.layout_version()?,
        ctime: version.ctime()?,
    })
}

// ---- fsimage files ------------------------------------------------------------------------

/// Refuses an image of another namespace than `identity`'s.
fn check_image_of(
    identity: &NamespaceIdentity,
    image: &FsImage,
    source: &str,
) -> StorageResult<()> {
    if image.namespace_id == identity.namespace_id {
        return Ok(());
    }
    Err(StorageError::new(
        "write",
        source,
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the image is of another namespace (namespaceID={}) than the storage directories ({identity})",
                image.namespace_id
            ),
        ),
    ))
}

/// `<image>.md5`.
fn md5_path(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(MD5_SUFFIX);
    PathBuf::from(name)
}

/// Writes `current/<name>` durably, then its `.md5` as Hadoop's `MD5FileUtils.saveMD5File`.
fn write_image(current: &Path, name: &str, bytes: &[u8]) -> StorageResult<()> {
    replace_file(current, name, bytes)?;
    let digest = md5_hex(bytes);
    replace_file(
        current,
        &format!("{name}{MD5_SUFFIX}"),
        format!("{digest} *{name}\n").as_bytes(),
    )
}

/// Holds `bytes` of the image at `path` to its `.md5`, when there is one (as Hadoop, an image
/// without one is read unchecked).
fn check_md5(path: &Path, bytes: &[u8]) -> StorageResult<()> {
    let md5 = md5_path(path);
    let line = match fs::read_to_string(&md5) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        read => read.at("read", &md5)?,
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let expected = line
        .trim_end_matches('\n')
        .split_once(' ')
        .filter(|(hex, rest)| {
            hex.len() == 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
                && rest.strip_prefix(['*', ' ']) == Some(name)
        })
        .map(|(hex, _)| hex.to_ascii_lowercase())
        .ok_or_else(|| {
            invalid(
                "read",
                &md5,
                format!(
                    "Invalid MD5 file at {} (it is not \"<md5> *{name}\")",
                    md5.display()
                ),
            )
        })?;
    let computed = md5_hex(bytes);
    if computed != expected {
        return Err(invalid(
            "read",
            path,
            format!(
                "Image file {} is corrupt with MD5 checksum of {computed} but expecting {expected}",
                path.display()
            ),
        ));
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> StorageResult<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        removed => removed.at("remove", path),
    }
}

// ---- images of earlier hdfs-ha releases: FsImageProto --------------------------------------

/// Reads an image of an earlier hdfs-ha release: `HAIMAGE\0`, format version, payload
/// length, `FsImageProto`, crc32c.
fn decode_legacy_image(bytes: &[u8], source: &str) -> Result<FsImage, StorageError> {
    let truncated = |expected: usize| {
        StorageError::new(
            "read",
            source,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "fsimage is truncated: {} bytes, expected {expected}",
                    bytes.len()
                ),
            ),
        )
    };
    if bytes.len() < IMAGE_HEADER_LEN + IMAGE_CRC_LEN {
        return Err(truncated(IMAGE_HEADER_LEN + IMAGE_CRC_LEN));
    }
    let version = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != LEGACY_FORMAT_VERSION {
        return Err(corrupt(
            source,
            format!("format version {version}, this NameNode reads {LEGACY_FORMAT_VERSION}"),
        ));
    }
    let payload_len = u64::from_be_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let expected = usize::try_from(payload_len)
        .ok()
        .and_then(|len| len.checked_add(IMAGE_HEADER_LEN + IMAGE_CRC_LEN))
        .ok_or_else(|| corrupt(source, format!("payload length {payload_len}")))?;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(corrupt(
            source,
            format!("{} bytes after the checksum", bytes.len() - expected),
        ));
    }
    let (checked, trailer) = bytes.split_at(expected - IMAGE_CRC_LEN);
    let stored = u32::from_be_bytes(trailer.try_into().expect("4 bytes"));
    let computed = crc32c::crc32c(checked);
    if stored != computed {
        return Err(corrupt(
            source,
            format!("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    let proto = pb::FsImageProto::decode(&checked[IMAGE_HEADER_LEN..])
        .map_err(|err| corrupt(source, format!("the image does not decode: {err}")))?;
    image_from_proto(proto).map_err(|why| corrupt(source, why))
}

/// Why a decoded `FsImageProto` is not a namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ImageError {
    /// A field the image stores wider than a status holds it (permission, replication).
    #[error("inode {path} has {what} {value}")]
    OutOfRange {
        path: String,
        what: &'static str,
        value: u32,
    },
}

/// The namespace of a legacy image. Those images kept no inode ids: the root gets Hadoop's,
/// the others are numbered after the image's last inode id, in the image's order.
fn image_from_proto(proto: pb::FsImageProto) -> Result<FsImage, ImageError> {
    // What an image does not store but a status carries: the name, and the number of
    // children (counted here, whatever the order of the inodes).
    let mut children = vec![0i32; proto.inodes.len()];
    {
        let index: HashMap<&str, usize> = proto
            .inodes
            .iter()
            .enumerate()
            .map(|(i, inode)| (inode.path.as_str(), i))
            .collect();
        for inode in &proto.inodes {
            if let Some(&parent) = parent_path(&inode.path).and_then(|p| index.get(p)) {
                children[parent] = children[parent].saturating_add(1);
            }
        }
    }
    let mut last_inode_id = proto.last_inode_id.max(Ids::default().last_inode_id);
    let entries = proto
        .inodes
        .into_iter()
        .zip(children)
        .map(|(inode, children_num)| {
            let narrow = |what: &'static str, value: u32| {
                u16::try_from(value).map_err(|_| ImageError::OutOfRange {
                    path: inode.path.clone(),
                    what,
                    value,
                })
            };
            let file_id = if inode.path == "/" {
                ROOT_INODE_ID
            } else {
                last_inode_id += 1;
                last_inode_id
            };
            let status = FileStatus {
                name: inode
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                file_id,
                is_dir: inode.is_dir,
                length: inode.length,
                permission: narrow("permission", inode.permission)?,
                owner: inode.owner,
                group: inode.group,
                mtime: inode.mtime,
                atime: inode.atime,
                replication: narrow("replication", inode.replication)?,
                block_size: inode.block_size,
                children_num: if inode.is_dir { children_num } else { 0 },
            };
            Ok(ImageEntry {
                path: inode.path,
                status,
                blocks: inode
                    .blocks
                    .iter()
                    .map(|b| Block {
                        id: b.block_id,
                        num_bytes: b.num_bytes,
                        genstamp: b.gen_stamp,
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, ImageError>>()?;
    Ok(FsImage {
        txid: proto.txid,
        namespace_id: proto.namespace_id,
        layout_version: proto.layout_version,
        // Never below Hadoop's starting points, whatever an image says.
        ids: Ids {
            last_inode_id,
            last_block_id: proto.last_block_id.max(Ids::default().last_block_id),
            last_genstamp: proto.last_gen_stamp.max(Ids::default().last_genstamp),
        },
        entries,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::namenode::namespace::{Namespace, Writer, test_attrs as attrs};
    use crate::namenode::ops::{Attributes, EditOp};

    fn identity() -> NamespaceIdentity {
        NamespaceIdentity {
            namespace_id: 1_633_807_959,
            cluster_id: "CID-161b976f-3c2b".into(),
            block_pool_id: "BP-1068911744-10.0.0.1-1721815136000".into(),
            layout_version: -66,
            ctime: 0,
        }
    }

    fn empty_image() -> FsImage {
        FsImage {
            txid: 0,
            namespace_id: identity().namespace_id,
            layout_version: identity().layout_version,
            ids: Ids::default(),
            entries: Namespace::new(&attrs(0)).entries(),
        }
    }

    /// A namespace built as the active builds it: planned, then applied.
    fn busy_namespace(files: usize) -> Namespace {
        let mut ns = Namespace::new(&attrs(0));
        let apply = |ns: &mut Namespace, ops: Vec<EditOp>| {
            for op in ops {
                ns.apply(&op).unwrap();
            }
        };
        let ops = ns.plan_mkdirs("/user/alice/logs", &attrs(1), true).unwrap();
        apply(&mut ns, ops);
        for i in 0..files {
            let file_attrs = Attributes {
                permission: 0o644,
                ..attrs(10 + i as u64)
            };
            let path = format!("/user/alice/data/part-{i:05}");
            let ops = ns
                .plan_create(
                    &path,
                    &file_attrs,
                    false,
                    true,
                    3,
                    1000 + i as u64,
                    128 << 20,
                    Writer {
                        name: "DFSClient_c",
                        machine: "c",
                    },
                )
                .unwrap();
            apply(&mut ns, ops);
        }
        let op = ns
            .plan_rename("/user/alice/logs", "/user/logs", 100)
            .unwrap()
            .unwrap();
        apply(&mut ns, vec![op]);
        ns
    }

    fn image_of(txid: u64, ns: &Namespace) -> FsImage {
        FsImage {
            txid,
            namespace_id: identity().namespace_id,
            layout_version: identity().layout_version,
            ids: ns.ids(),
            entries: ns.entries(),
        }
    }

    fn formatted(dirs: &[PathBuf]) -> NameNodeStorage {
        let mut storage = NameNodeStorage::open(dirs).unwrap();
        storage
            .format(&identity(), &fsimage::encode(&empty_image()))
            .unwrap();
        storage
    }

    fn image_path(dir: &Path, txid: u64) -> PathBuf {
        dir.join(CURRENT_DIR).join(image_file_name(txid))
    }

    fn file_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir.join(CURRENT_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn assert_invalid(err: &StorageError, path: &str, says: &[&str]) {
        let text = err.to_string();
        assert_eq!(err.source.kind(), io::ErrorKind::InvalidData, "{text}");
        assert!(text.contains(path), "{text}");
        for s in says {
            assert!(text.contains(s), "{text} does not say {s}");
        }
    }

    /// What `f` logs (INFO and above), as the log lines read.
    fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        // Interest is cached per callsite across threads: a callsite first hit by another test,
        // with no subscriber of its own, would otherwise stay silent here.
        let out = tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            f()
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    #[test]
    fn format_then_open_again_reads_the_identity_and_image_0() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let (_, logs) = logs_of(|| drop(formatted(std::slice::from_ref(&dir))));
        assert!(
            logs.contains(&format!(
                "Storage directory {} has been successfully formatted.",
                dir.display()
            )),
            "{logs}"
        );
        assert_eq!(
            file_names(&dir),
            [
                "VERSION",
                "fsimage_0000000000000000000",
                "fsimage_0000000000000000000.md5",
                "seen_txid"
            ]
        );

        let storage = NameNodeStorage::open(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(storage.dirs(), std::slice::from_ref(&dir));
        assert_eq!(storage.identity().unwrap(), Some(identity()));
        assert_eq!(storage.latest_image_txid().unwrap(), Some(0));
        assert_eq!(storage.seen_txid().unwrap(), 0);
        let image = storage.load_image(0).unwrap();
        assert_eq!(image, empty_image());
        assert_eq!(
            Namespace::from_entries(&image.entries, image.ids).unwrap(),
            Namespace::new(&attrs(0))
        );
    }

    #[test]
    fn an_unformatted_storage_has_no_identity_image_or_seen_txid() {
        let root = tempfile::tempdir().unwrap();
        let mut storage = NameNodeStorage::open(&[root.path().join("name")]).unwrap();
        assert_eq!(storage.identity().unwrap(), None);
        assert_eq!(storage.latest_image_txid().unwrap(), None);
        assert_eq!(storage.seen_txid().unwrap(), 0);
        let err = storage.load_image(0).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string()
                .contains("no storage directory holds fsimage_0000000000000000000"),
            "{err}"
        );
        let err = storage.save_image(&empty_image(), 2).unwrap_err();
        assert!(
            err.to_string().ends_with("NameNode is not formatted."),
            "{err}"
        );
        assert!(NameNodeStorage::open(&[]).is_err());
    }

    #[test]
    fn save_latest_and_load_round_trip_a_real_namespace() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let mut storage = formatted(std::slice::from_ref(&dir));
        let ns = busy_namespace(20);
        let image = image_of(27, &ns);
        storage.save_image(&image, 2).unwrap();
        assert_eq!(storage.latest_image_txid().unwrap(), Some(27));
        let loaded = storage.load_image(27).unwrap();
        assert_eq!(loaded, image);
        let rebuilt = Namespace::from_entries(&loaded.entries, loaded.ids).unwrap();
        assert_eq!(rebuilt, ns);
        let status = rebuilt
            .get_file_info("/user/alice/data/part-00000")
            .unwrap()
            .unwrap();
        assert_eq!((status.length, status.mtime), (1000, 10));
        assert_eq!(
            rebuilt
                .get_file_info("/user/alice")
                .unwrap()
                .unwrap()
                .children_num,
            1
        );
        // The older image is still there, and still itself.
        assert_eq!(storage.load_image(0).unwrap(), empty_image());

        // After a restart, the same.
        drop(storage);
        let storage = NameNodeStorage::open(&[dir]).unwrap();
        assert_eq!(storage.latest_image_txid().unwrap(), Some(27));
        assert_eq!(storage.load_image(27).unwrap(), image);
    }

    #[test]
    fn retention_keeps_the_newest_n_images() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let mut storage = formatted(std::slice::from_ref(&dir));
        let ns = busy_namespace(2);
        // Temp files a crashed save left behind, and an .md5 without its image.
        for leftover in [
            "fsimage_0000000000000000004.tmp",
            "fsimage_0000000000000000004.md5.tmp",
            "fsimage_0000000000000000005.md5",
        ] {
            fs::write(dir.join(CURRENT_DIR).join(leftover), b"half").unwrap();
        }
        for txid in [10, 20, 30, 40] {
            storage.save_image(&image_of(txid, &ns), 2).unwrap();
        }
        assert_eq!(
            file_names(&dir),
            [
                "VERSION",
                "fsimage_0000000000000000030",
                "fsimage_0000000000000000030.md5",
                "fsimage_0000000000000000040",
                "fsimage_0000000000000000040.md5",
                "seen_txid"
            ]
        );
        storage.save_image(&image_of(50, &ns), 1).unwrap();
        storage.save_image(&image_of(60, &ns), 0).unwrap();
        assert_eq!(
            file_names(&dir),
            [
                "VERSION",
                "fsimage_0000000000000000060",
                "fsimage_0000000000000000060.md5",
                "seen_txid"
            ]
        );
        assert_eq!(storage.latest_image_txid().unwrap(), Some(60));
    }

    #[test]
    fn a_truncated_or_flipped_image_is_a_clear_error_and_latest_falls_back() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let mut storage = formatted(std::slice::from_ref(&dir));
        let ns = busy_namespace(5);
        storage.save_image(&image_of(5, &ns), 3).unwrap();
        storage.save_image(&image_of(9, &ns), 3).unwrap();
        let path = image_path(&dir, 9);
        let shown = path.display().to_string();
        let whole = fs::read(&path).unwrap();
        let md5 = md5_path(&path);
        let md5_line = fs::read_to_string(&md5).unwrap();
        assert_eq!(
            md5_line,
            format!("{} *fsimage_0000000000000000009\n", md5_hex(&whole))
        );

        // Against its .md5: any cut or flipped bit, in Hadoop's words.
        let cuts = [0, 3, 8, 12, whole.len() / 2, whole.len() - 1];
        let flips = [0, 9, whole.len() / 2, whole.len() - 5, whole.len() - 1];
        let damaged = cuts
            .iter()
            .map(|&cut| whole[..cut].to_vec())
            .chain(flips.iter().map(|&at| {
                let mut flipped = whole.clone();
                flipped[at] ^= 0x10;
                flipped
            }))
            .chain([[whole.as_slice(), &[0]].concat()]);
        for bytes in damaged.clone() {
            fs::write(&path, &bytes).unwrap();
            let err = storage.load_image(9).unwrap_err();
            assert_invalid(
                &err,
                &shown,
                &[
                    &format!("Image file {shown} is corrupt with MD5 checksum of"),
                    &format!("but expecting {}", md5_hex(&whole)),
                ],
            );
            let (latest, logs) = logs_of(|| storage.latest_image_txid().unwrap());
            assert_eq!(latest, Some(5), "{} bytes", bytes.len());
            assert!(
                logs.contains("WARN")
                    && logs.contains(&format!("Failed to load image from {shown}")),
                "{logs}"
            );
        }
        // Without the .md5 (as Hadoop, it is then not required), the decoder refuses what
        // breaks the file's structure: cuts, a bad magic, a byte after the summary length.
        fs::remove_file(&md5).unwrap();
        let mut bad_magic = whole.clone();
        bad_magic[0] ^= 0x10;
        let structural = cuts
            .iter()
            .map(|&cut| whole[..cut].to_vec())
            .chain([bad_magic, [whole.as_slice(), &[0]].concat()]);
        for bytes in structural {
            fs::write(&path, &bytes).unwrap();
            let err = storage.load_image(9).unwrap_err();
            assert_invalid(&err, &shown, &["fsimage"]);
        }
        // A bad .md5 is named.
        fs::write(&path, &whole).unwrap();
        fs::write(&md5, "not a digest\n").unwrap();
        assert_invalid(
            &storage.load_image(9).unwrap_err(),
            &md5.display().to_string(),
            &["Invalid MD5 file"],
        );
        // An image stored under another txid's name.
        fs::remove_file(&md5).unwrap();
        fs::write(&path, fs::read(image_path(&dir, 5)).unwrap()).unwrap();
        assert_invalid(
            &storage.load_image(9).unwrap_err(),
            &shown,
            &["fsimage is corrupt: it holds the image of txid 5"],
        );

        fs::write(&path, &whole).unwrap();
        fs::write(&md5, md5_line).unwrap();
        assert_eq!(storage.latest_image_txid().unwrap(), Some(9));
        assert_eq!(storage.load_image(9).unwrap(), image_of(9, &ns));
    }

    #[test]
    fn two_dirs_are_both_written_and_a_corrupt_copy_is_read_from_the_other() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        let mut storage = formatted(&dirs);
        let ns = busy_namespace(3);
        storage.save_image(&image_of(3, &ns), 2).unwrap();
        storage.write_seen_txid(7).unwrap();
        for dir in &dirs {
            assert_eq!(
                file_names(dir),
                [
                    "VERSION",
                    "fsimage_0000000000000000000",
                    "fsimage_0000000000000000000.md5",
                    "fsimage_0000000000000000003",
                    "fsimage_0000000000000000003.md5",
                    "seen_txid"
                ]
            );
        }
        let whole = fs::read(image_path(&dirs[1], 3)).unwrap();
        assert_eq!(fs::read(image_path(&dirs[0], 3)).unwrap(), whole);

        // The first directory's copy goes bad: the second one serves.
        let mut flipped = whole.clone();
        flipped[40] ^= 0xff;
        fs::write(image_path(&dirs[0], 3), &flipped).unwrap();
        let (loaded, logs) = logs_of(|| storage.load_image(3).unwrap());
        assert_eq!(loaded, image_of(3, &ns));
        assert!(
            logs.contains(&format!(
                "Failed to load image from {}",
                image_path(&dirs[0], 3).display()
            )),
            "{logs}"
        );
        assert!(
            logs.contains(&format!(
                "Loaded image for txid 3 from {}",
                image_path(&dirs[1], 3).display()
            )),
            "{logs}"
        );
        assert_eq!(storage.image_bytes(3).unwrap(), whole);
        assert_eq!(storage.latest_image_txid().unwrap(), Some(3));
        // A copy missing from the first directory is read from the second too.
        fs::remove_file(image_path(&dirs[0], 3)).unwrap();
        assert_eq!(storage.load_image(3).unwrap(), image_of(3, &ns));

        // No good copy anywhere: the error is the first bad copy's; latest falls back.
        fs::write(image_path(&dirs[0], 3), &flipped).unwrap();
        fs::write(image_path(&dirs[1], 3), &whole[..whole.len() - 2]).unwrap();
        assert_invalid(
            &storage.load_image(3).unwrap_err(),
            &image_path(&dirs[0], 3).display().to_string(),
            &["is corrupt with MD5 checksum"],
        );
        assert_eq!(storage.latest_image_txid().unwrap(), Some(0));

        // The next save writes both directories whole again.
        storage.save_image(&image_of(3, &ns), 2).unwrap();
        for dir in &dirs {
            assert_eq!(fs::read(image_path(dir, 3)).unwrap(), whole);
        }
    }

    #[test]
    fn version_has_hadoops_keys_and_reads_what_java_writes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let storage = formatted(std::slice::from_ref(&dir));
        let version = dir.join(CURRENT_DIR).join(VERSION_FILE);
        let text = fs::read_to_string(&version).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            crate::conf::properties::is_date_comment_of_now(lines[0]),
            "{text}"
        );
        assert_eq!(
            lines[1..],
            [
                "namespaceID=1633807959",
                "clusterID=CID-161b976f-3c2b",
                "cTime=0",
                "storageType=NAME_NODE",
                "blockpoolID=BP-1068911744-10.0.0.1-1721815136000",
                "layoutVersion=-66"
            ]
        );

        // As a Java NameNode leaves it: its own order, CRLF, a namespaceID above i32::MAX.
        fs::write(
            &version,
            "#Wed Jul 24 10:13:56 UTC 2019\r\nnamespaceID=-2\r\nclusterID=CID-x\r\ncTime=0\r\n\
             storageType=NAME_NODE\r\nblockpoolID=BP-7-10.0.0.1-1\r\nlayoutVersion=-64\r\n",
        )
        .unwrap();
        assert_eq!(
            storage.identity().unwrap(),
            Some(NamespaceIdentity {
                namespace_id: u32::MAX - 1,
                cluster_id: "CID-x".into(),
                block_pool_id: "BP-7-10.0.0.1-1".into(),
                layout_version: -64,
                ctime: 0,
            })
        );
        let shown = version.display().to_string();
        for (content, says) in [
            (
                "namespaceID=1\nclusterID=c\ncTime=0\nstorageType=JOURNAL_NODE\nblockpoolID=b\nlayoutVersion=-66\n",
                "Incompatible node types: storageType=NAME_NODE but StorageDirectory type=JOURNAL_NODE",
            ),
            (
                "namespaceID=1\nclusterID=c\ncTime=0\nstorageType=NAME_NODE\nlayoutVersion=-66\n",
                "file VERSION has blockpoolID missing.",
            ),
        ] {
            fs::write(&version, content).unwrap();
            assert_invalid(&storage.identity().unwrap_err(), &shown, &[says]);
        }
    }

    #[test]
    fn directories_that_disagree_are_an_error_naming_both() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        let mut storage = formatted(&dirs);
        let other = NamespaceIdentity {
            cluster_id: "CID-other".into(),
            ..identity()
        };
        write_version(&dirs[1].join(CURRENT_DIR), &version_fields(&other)).unwrap();
        let err = storage.identity().unwrap_err();
        assert_invalid(
            &err,
            &dirs[1].display().to_string(),
            &[
                "storage directories disagree",
                &format!(
                    "{} has namespaceID=1633807959, clusterID=CID-other",
                    dirs[1].display()
                ),
                &format!("but {} has", dirs[0].display()),
            ],
        );

        // A directory without VERSION (a replaced disk) does not disagree; the next save
        // formats it.
        clear_directory(&dirs[1].join(CURRENT_DIR)).unwrap();
        assert_eq!(storage.identity().unwrap(), Some(identity()));
        storage
            .save_image(&image_of(4, &busy_namespace(1)), 2)
            .unwrap();
        assert_eq!(
            file_names(&dirs[1]),
            [
                "VERSION",
                "fsimage_0000000000000000004",
                "fsimage_0000000000000000004.md5"
            ]
        );
        let fields = |dir: &Path| {
            let text = fs::read_to_string(dir.join(CURRENT_DIR).join(VERSION_FILE)).unwrap();
            // All but the date line.
            text.lines().skip(1).map(String::from).collect::<Vec<_>>()
        };
        assert_eq!(fields(&dirs[0]), fields(&dirs[1]));

        // An image of another namespace is refused.
        let foreign = FsImage {
            namespace_id: 7,
            ..image_of(5, &busy_namespace(1))
        };
        let err = storage.save_image(&foreign, 2).unwrap_err();
        assert!(
            err.to_string()
                .contains("the image is of another namespace"),
            "{err}"
        );
        assert_eq!(storage.latest_image_txid().unwrap(), Some(4));
    }

    #[test]
    fn a_second_open_fails_with_cannot_lock_storage() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        let first = NameNodeStorage::open(&dirs).unwrap();
        for locked in [&dirs[..], &dirs[1..]] {
            let err = NameNodeStorage::open(locked).unwrap_err();
            assert!(
                err.to_string().contains(&format!(
                    "Cannot lock storage {}. The directory is already locked",
                    locked[0].display()
                )),
                "{err}"
            );
        }
        drop(first);
        // The failed opens released what they had locked.
        let again = NameNodeStorage::open(&dirs).unwrap();
        drop(again);
        // The same directory twice is the same lock.
        let err = NameNodeStorage::open(&[dirs[0].clone(), dirs[0].clone()]).unwrap_err();
        assert!(err.to_string().contains("Cannot lock storage"), "{err}");
    }

    #[test]
    fn seen_txid_round_trips_as_hadoops_decimal_text() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        let mut storage = NameNodeStorage::open(&dirs).unwrap();
        assert_eq!(storage.seen_txid().unwrap(), 0);
        storage.write_seen_txid(42).unwrap();
        assert_eq!(storage.seen_txid().unwrap(), 42);
        for dir in &dirs {
            assert_eq!(
                fs::read(dir.join(CURRENT_DIR).join(SEEN_TXID_FILE)).unwrap(),
                b"42\n"
            );
        }
        // The highest of the directories' (one may have missed a write).
        fs::write(dirs[0].join(CURRENT_DIR).join(SEEN_TXID_FILE), b"40\n").unwrap();
        assert_eq!(storage.seen_txid().unwrap(), 42);
        // As Java writes it without a newline, too.
        fs::write(dirs[1].join(CURRENT_DIR).join(SEEN_TXID_FILE), b"43").unwrap();
        assert_eq!(storage.seen_txid().unwrap(), 43);
        let path = dirs[1].join(CURRENT_DIR).join(SEEN_TXID_FILE);
        fs::write(&path, b"forty-two\n").unwrap();
        assert_invalid(
            &storage.seen_txid().unwrap_err(),
            &path.display().to_string(),
            &["seen_txid does not hold a number"],
        );
    }

    #[test]
    fn dirs_with_data_ignore_the_lock_and_an_empty_current() {
        let root = tempfile::tempdir().unwrap();
        let dirs = [root.path().join("a"), root.path().join("b")];
        let mut storage = NameNodeStorage::open(&dirs).unwrap();
        assert_eq!(storage.dirs_with_data().unwrap(), Vec::<PathBuf>::new());
        fs::create_dir(dirs[0].join(CURRENT_DIR)).unwrap();
        assert_eq!(storage.dirs_with_data().unwrap(), Vec::<PathBuf>::new());
        fs::write(dirs[1].join("lost+found"), b"").unwrap();
        assert_eq!(storage.dirs_with_data().unwrap(), vec![dirs[1].clone()]);
        storage
            .format(&identity(), &fsimage::encode(&empty_image()))
            .unwrap();
        assert_eq!(storage.dirs_with_data().unwrap(), dirs.to_vec());
        // Format clears `current/` only, as Hadoop's clearDirectory.
        assert!(dirs[1].join("lost+found").exists());
    }

    #[test]
    fn image_bytes_transfer_to_another_storage() {
        let root = tempfile::tempdir().unwrap();
        let mut active = formatted(&[root.path().join("nn1")]);
        let ns = busy_namespace(4);
        active.save_image(&image_of(12, &ns), 2).unwrap();
        let bytes = active.image_bytes(12).unwrap();

        // bootstrapStandby: the other NameNode formats with the transferred image.
        let mut standby = NameNodeStorage::open(&[root.path().join("nn2")]).unwrap();
        let image = standby.format(&identity(), &bytes).unwrap();
        assert_eq!(image, image_of(12, &ns));
        assert_eq!(standby.identity().unwrap(), Some(identity()));
        assert_eq!(standby.seen_txid().unwrap(), 12);
        assert_eq!(standby.image_bytes(12).unwrap(), bytes);

        // A checkpoint: the standby's image, stored by the active as it arrived.
        let ns = busy_namespace(6);
        standby.save_image(&image_of(20, &ns), 2).unwrap();
        let checkpoint = standby.image_bytes(20).unwrap();
        assert_eq!(
            active.save_image_bytes(20, &checkpoint, 2).unwrap(),
            image_of(20, &ns)
        );
        assert_eq!(active.image_bytes(20).unwrap(), checkpoint);
        assert_eq!(active.latest_image_txid().unwrap(), Some(20));

        // Bytes that are not what they claim are refused, and nothing is stored.
        let err = active.save_image_bytes(21, &checkpoint, 2).unwrap_err();
        assert_invalid(
            &err,
            "transferred fsimage_0000000000000000021",
            &["it holds the image of txid 20"],
        );
        let err = active
            .save_image_bytes(30, &checkpoint[..checkpoint.len() - 1], 2)
            .unwrap_err();
        assert_invalid(
            &err,
            "transferred fsimage_0000000000000000030",
            &["fsimage is truncated"],
        );
        assert_eq!(active.latest_image_txid().unwrap(), Some(20));
    }

    #[test]
    fn an_inode_wider_than_a_status_is_refused_with_its_path() {
        let inode = |path: &str, permission: u32, replication: u32| pb::INodeProto {
            path: path.into(),
            is_dir: path == "/",
            permission,
            replication,
            ..Default::default()
        };
        let proto = |inodes| pb::FsImageProto {
            inodes,
            ..Default::default()
        };
        let err =
            image_from_proto(proto(vec![inode("/", 0o755, 0), inode("/f", 70000, 3)])).unwrap_err();
        assert_eq!(
            err,
            ImageError::OutOfRange {
                path: "/f".into(),
                what: "permission",
                value: 70000
            }
        );
        assert_eq!(err.to_string(), "inode /f has permission 70000");
        let err = image_from_proto(proto(vec![inode("/", 0o755, 65536)])).unwrap_err();
        assert_eq!(err.to_string(), "inode / has replication 65536");
    }

    /// An image as earlier hdfs-ha releases wrote it (`HAIMAGE\0`, `FsImageProto`, crc32c).
    fn legacy_bytes(txid: u64, ns: &Namespace) -> Vec<u8> {
        let ids = ns.ids();
        let proto = pb::FsImageProto {
            txid,
            namespace_id: identity().namespace_id,
            cluster_id: identity().cluster_id,
            block_pool_id: identity().block_pool_id,
            layout_version: identity().layout_version,
            c_time: 0,
            inodes: ns
                .entries()
                .iter()
                .map(|e| pb::INodeProto {
                    path: e.path.clone(),
                    is_dir: e.status.is_dir,
                    length: e.status.length,
                    replication: e.status.replication.into(),
                    permission: e.status.permission.into(),
                    owner: e.status.owner.clone(),
                    group: e.status.group.clone(),
                    mtime: e.status.mtime,
                    atime: e.status.atime,
                    block_size: e.status.block_size,
                    blocks: e
                        .blocks
                        .iter()
                        .map(|b| pb::BlockProto {
                            block_id: b.id,
                            num_bytes: b.num_bytes,
                            gen_stamp: b.genstamp,
                        })
                        .collect(),
                })
                .collect(),
            last_inode_id: ids.last_inode_id,
            last_block_id: ids.last_block_id,
            last_gen_stamp: ids.last_genstamp,
        };
        let payload = proto.encode_to_vec();
        let mut bytes = LEGACY_IMAGE_MAGIC.to_vec();
        bytes.extend_from_slice(&LEGACY_FORMAT_VERSION.to_be_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        bytes.extend_from_slice(&payload);
        let crc = crc32c::crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn an_image_of_an_earlier_release_loads_with_fresh_inode_ids() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("name");
        let mut storage = formatted(std::slice::from_ref(&dir));
        let ns = busy_namespace(3);
        let last = ns.ids().last_inode_id;
        fs::write(image_path(&dir, 8), legacy_bytes(8, &ns)).unwrap();
        let image = storage.load_image(8).unwrap();
        let ids: Vec<u64> = image.entries.iter().map(|e| e.status.file_id).collect();
        let fresh: Vec<u64> = (1..image.entries.len() as u64).map(|i| last + i).collect();
        assert_eq!(ids[0], ROOT_INODE_ID);
        assert_eq!(ids[1..], fresh[..]);
        assert_eq!(
            image.ids.last_inode_id,
            last + image.entries.len() as u64 - 1
        );
        let paths = |entries: &[ImageEntry]| -> Vec<String> {
            entries.iter().map(|e| e.path.clone()).collect()
        };
        assert_eq!(paths(&image.entries), paths(&ns.entries()));
        // The next checkpoint of it is in Hadoop's format.
        let rebuilt = Namespace::from_entries(&image.entries, image.ids).unwrap();
        storage.save_image(&image_of(9, &rebuilt), 3).unwrap();
        assert!(
            fs::read(image_path(&dir, 9))
                .unwrap()
                .starts_with(b"HDFSIMG1")
        );
        assert_eq!(storage.load_image(9).unwrap(), image_of(9, &rebuilt));
        // A flipped bit in it is still caught by its checksum.
        let mut bytes = legacy_bytes(8, &ns);
        let at = bytes.len() / 2;
        bytes[at] ^= 0x10;
        fs::write(image_path(&dir, 8), &bytes).unwrap();
        assert_invalid(
            &storage.load_image(8).unwrap_err(),
            "fsimage_0000000000000000008",
            &["checksum mismatch"],
        );
    }
}
