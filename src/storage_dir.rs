//! Hadoop storage directories (Hadoop's `Storage.StorageDirectory`), shared by the JournalNode's
//! journals and the NameNode's name directories: the exclusive `in_use.lock`, the
//! `current/VERSION` file as Java properties, durable file replacement, number files
//! (Hadoop's `PersistentLongFile`), and the errors of storage operations.
//!
//! ```text
//! <root>/in_use.lock        exclusive flock for the life of the holder ("<pid>@<host>" inside)
//! <root>/current/VERSION    Java properties: #<date>, then the owner's keys in its order
//! ```
//!
//! Invariants this keeps:
//! - one holder per directory at a time, across processes and within one: an exclusive
//!   `flock` on `in_use.lock`, released when the [`StorageLock`] is dropped (or the process
//!   dies, so a crash never leaves a directory locked);
//! - [`replace_file`] (and so VERSION and every number file) is atomic and durable
//!   (`<name>.tmp`, fsync, rename, fsync the directory): a reader sees the old or the new
//!   content, never a mix, and a failed replacement leaves the old file in place and no temp
//!   file behind;
//! - [`clear_directory`] removes VERSION before anything else, so a crash mid-clear leaves an
//!   unformatted directory, never an old VERSION beside missing files;
//! - content that is not in its format is an `InvalidData` error naming the file, never a
//!   default value.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::SystemTime;

use crate::conf::properties::{PropertyError, parse_properties, store_properties};

/// Hadoop's `Storage.STORAGE_FILE_LOCK`.
pub(crate) const LOCK_FILE: &str = "in_use.lock";
/// Hadoop's `Storage.STORAGE_DIR_CURRENT`.
pub(crate) const CURRENT_DIR: &str = "current";
/// Hadoop's `Storage.STORAGE_FILE_VERSION`.
pub(crate) const VERSION_FILE: &str = "VERSION";
/// Hadoop's `AtomicFileOutputStream.TMP_EXTENSION`.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// A storage operation that failed, with the file it was on.
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct StorageError {
    pub op: &'static str,
    pub path: String,
    #[source]
    pub source: io::Error,
}

impl StorageError {
    pub fn new(op: &'static str, path: impl Into<String>, source: io::Error) -> Self {
        StorageError {
            op,
            path: path.into(),
            source,
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Attaches the operation and the path to an I/O error.
pub(crate) trait At<T> {
    fn at(self, op: &'static str, path: &Path) -> StorageResult<T>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, op: &'static str, path: &Path) -> StorageResult<T> {
        self.map_err(|source| StorageError::new(op, path.display().to_string(), source))
    }
}

/// An `InvalidData` error: `path` does not hold what it should. `why` stays reachable as the
/// I/O error's inner error (`get_ref`), and its text is the I/O error's text.
pub(crate) fn invalid(
    op: &'static str,
    path: &Path,
    why: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StorageError {
    StorageError::new(
        op,
        path.display().to_string(),
        io::Error::new(io::ErrorKind::InvalidData, why),
    )
}

/// Reads a whole file; `None` when it (or its directory) does not exist.
pub(crate) fn read_if_exists(path: &Path) -> StorageResult<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).at("read", path),
    }
}

/// Makes the entries of `dir` (creations, renames, deletions) durable.
pub(crate) fn sync_dir(dir: &Path) -> StorageResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .at("fsync directory", dir)
}

/// Makes a new entry of `path`'s parent durable.
fn sync_parent(path: &Path) -> StorageResult<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Creates the directory `dir` if missing, durably; `true` when it was created.
pub(crate) fn ensure_dir(dir: &Path) -> StorageResult<bool> {
    match fs::create_dir(dir) {
        Ok(()) => {
            sync_parent(dir)?;
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(err) => Err(err).at("create directory", dir),
    }
}

/// Replaces `dir/name` with `contents` atomically and durably (Hadoop's
/// `AtomicFileOutputStream`, plus the directory fsync it leaves out).
pub(crate) fn replace_file(dir: &Path, name: &str, contents: &[u8]) -> StorageResult<()> {
    let target = dir.join(name);
    let temp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .at("create", &temp)?;
        file.write_all(contents).at("write", &temp)?;
        file.sync_all().at("fsync", &temp)?;
        fs::rename(&temp, &target).map_err(|source| {
            StorageError::new(
                "rename",
                format!("{} to {}", temp.display(), target.display()),
                source,
            )
        })
    })();
    if let Err(err) = written {
        // The target still holds its old content; do not leave the partial temp file around.
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(dir)
}

/// Reads a number file as Hadoop's `PersistentLongFile` reads it (the first line, as a
/// decimal); `None` when there is no file.
pub(crate) fn read_long_file(path: &Path) -> StorageResult<Option<u64>> {
    let Some(bytes) = read_if_exists(path)? else {
        return Ok(None);
    };
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    std::str::from_utf8(line)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            invalid(
                "read",
                path,
                format!(
                    "{name} does not hold a number: {:?}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
                ),
            )
        })
}

/// Replaces `dir/name` with `"<value>\n"` (Hadoop's `PersistentLongFile.writeFile`),
/// atomically and durably.
pub(crate) fn write_long_file(dir: &Path, name: &str, value: u64) -> StorageResult<()> {
    replace_file(dir, name, format!("{value}\n").as_bytes())
}

/// Removes everything in `current` (creating it if missing), VERSION first, durably
/// (Hadoop's `StorageDirectory.clearDirectory`). From the moment VERSION is gone until the
/// caller writes a new one, the directory reads as unformatted.
pub(crate) fn clear_directory(current: &Path) -> StorageResult<()> {
    ensure_dir(current)?;
    let version = current.join(VERSION_FILE);
    match fs::remove_file(&version) {
        Ok(()) => sync_dir(current)?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).at("remove", &version),
    }
    let mut removed = Vec::new();
    for entry in fs::read_dir(current).at("list", current)? {
        let entry = entry.at("list", current)?;
        let path = entry.path();
        if entry.file_type().at("stat", &path)?.is_dir() {
            fs::remove_dir_all(&path).at("remove", &path)?;
        } else {
            fs::remove_file(&path).at("remove", &path)?;
        }
        removed.push(entry.file_name().to_string_lossy().into_owned());
    }
    if !removed.is_empty() {
        tracing::info!("Will remove files: {removed:?} from {}", current.display());
        sync_dir(current)?;
    }
    Ok(())
}

// ---- in_use.lock ---------------------------------------------------------------------------

/// The exclusive lock on a storage directory, held until dropped.
#[derive(Debug)]
pub(crate) struct StorageLock {
    /// Closing the file (when the lock is dropped, or the process dies) releases the lock.
    _file: File,
}

impl StorageLock {
    /// Creates `root` if missing, then locks it (`<root>/in_use.lock`). Fails with Hadoop's
    /// `Cannot lock storage <root>. The directory is already locked` while another holder, in
    /// this process or another, has it.
    pub(crate) fn acquire(root: &Path) -> StorageResult<StorageLock> {
        if !root.is_dir() {
            fs::create_dir_all(root).at("create directory", root)?;
            sync_parent(root)?;
        }
        let lock_path = root.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .at("open", &lock_path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path).unwrap_or_default();
                tracing::error!(
                    "It appears that another node {holder} has already locked the storage directory: {}",
                    root.display()
                );
                return Err(StorageError::new(
                    "lock",
                    lock_path.display().to_string(),
                    io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "Cannot lock storage {}. The directory is already locked",
                            root.display()
                        ),
                    ),
                ));
            }
            Err(fs::TryLockError::Error(err)) => return Err(err).at("lock", &lock_path),
        }
        // Who holds the lock, as Hadoop records it (the JVM name, `<pid>@<host>`).
        let holder = format!("{}@{}", std::process::id(), crate::host::host_name());
        file.set_len(0).at("truncate", &lock_path)?;
        file.write_all_at(holder.as_bytes(), 0)
            .at("write", &lock_path)?;
        tracing::info!(
            "Lock on {} acquired by nodename {holder}",
            lock_path.display()
        );
        Ok(StorageLock { _file: file })
    }
}

// ---- current/VERSION -----------------------------------------------------------------------

/// The text of a VERSION file, as Hadoop writes it (`Properties.store`: a date comment, then
/// `key=value` lines), with the fields in the order given.
pub(crate) fn render_version(fields: &[(&str, String)], now: SystemTime) -> String {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    store_properties(&pairs, now)
}

/// Writes `current/VERSION` atomically and durably.
pub(crate) fn write_version(current: &Path, fields: &[(&str, String)]) -> StorageResult<()> {
    replace_file(
        current,
        VERSION_FILE,
        render_version(fields, SystemTime::now()).as_bytes(),
    )
}

/// Reads `path` (a VERSION file) and its fields with `fields`; `None` when there is no file.
/// Whatever `fields` refuses is an `InvalidData` error naming the file.
pub(crate) fn read_version<T>(
    path: &Path,
    fields: impl FnOnce(&VersionFile) -> Result<T, VersionFileError>,
) -> StorageResult<Option<T>> {
    let Some(bytes) = read_if_exists(path)? else {
        return Ok(None);
    };
    // Java reads properties as ISO-8859-1 (and writes anything else as \u escapes).
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    VersionFile::parse(&text)
        .and_then(|version| fields(&version))
        .map(Some)
        .map_err(|why| invalid("read", path, why))
}

/// `namespaceID` as Hadoop writes it: Java keeps it in an int (the wire carries it as uint32),
/// so an id above `i32::MAX` is written negative, which a Java reader can parse.
pub(crate) fn namespace_id_property(namespace_id: u32) -> String {
    (namespace_id as i32).to_string()
}

/// Why a VERSION file's properties are not what its owner needs. The texts are Hadoop's where
/// it has one (`StorageInfo.getProperty`, `checkStorageType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VersionFileError {
    /// The text is not Java properties (`Properties.load` refuses it).
    #[error(transparent)]
    Properties(#[from] PropertyError),
    #[error("file {file} has {name} missing.", file = VERSION_FILE)]
    Missing { name: String },
    #[error("file {file} has {name}={value}, not a number", file = VERSION_FILE)]
    NotANumber { name: String, value: String },
    #[error("file {file} has {name}={value}, out of range", file = VERSION_FILE)]
    OutOfRange { name: &'static str, value: i64 },
    /// The directory belongs to another kind of node (a JournalNode's under a NameNode...).
    #[error("Incompatible node types: storageType={expected} but StorageDirectory type={found}")]
    IncompatibleStorageType { expected: String, found: String },
}

/// The properties of a VERSION file, with typed readers whose messages are Hadoop's where it
/// has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionFile {
    /// In file order; a later duplicate replaced an earlier one, as in `Properties.load`.
    properties: Vec<(String, String)>,
}

impl VersionFile {
    pub(crate) fn parse(text: &str) -> Result<VersionFile, VersionFileError> {
        let mut properties: Vec<(String, String)> = Vec::new();
        for line in parse_properties(text)? {
            properties.retain(|(key, _)| *key != line.key);
            properties.push((line.key, line.value));
        }
        Ok(VersionFile { properties })
    }

    /// The properties in file order.
    #[cfg(test)]
    pub(crate) fn properties(&self) -> &[(String, String)] {
        &self.properties
    }

    /// A property that must be there.
    pub(crate) fn get(&self, name: &str) -> Result<&str, VersionFileError> {
        self.properties
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| VersionFileError::Missing {
                name: name.to_string(),
            })
    }

    fn number(&self, name: &str) -> Result<i64, VersionFileError> {
        let value = self.get(name)?;
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| VersionFileError::NotANumber {
                name: name.to_string(),
                value: value.to_string(),
            })
    }

    fn out_of_range(name: &'static str, value: i64) -> VersionFileError {
        VersionFileError::OutOfRange { name, value }
    }

    /// Hadoop's `StorageInfo.checkStorageType`.
    pub(crate) fn check_storage_type(&self, expected: &str) -> Result<(), VersionFileError> {
        let storage_type = self.get("storageType")?;
        if storage_type != expected {
            return Err(VersionFileError::IncompatibleStorageType {
                expected: expected.to_string(),
                found: storage_type.to_string(),
            });
        }
        Ok(())
    }

    /// `namespaceID`, written by Java as an int (see [`namespace_id_property`]) or unsigned.
    pub(crate) fn namespace_id(&self) -> Result<u32, VersionFileError> {
        let value = self.number("namespaceID")?;
        i32::try_from(value)
            .map(|id| id as u32)
            .or_else(|_| u32::try_from(value))
            .map_err(|_| Self::out_of_range("namespaceID", value))
    }

    pub(crate) fn layout_version(&self) -> Result<i32, VersionFileError> {
        let value = self.number("layoutVersion")?;
        i32::try_from(value).map_err(|_| Self::out_of_range("layoutVersion", value))
    }

    pub(crate) fn ctime(&self) -> Result<u64, VersionFileError> {
        let value = self.number("cTime")?;
        u64::try_from(value).map_err(|_| Self::out_of_range("cTime", value))
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn a_second_lock_fails_with_cannot_lock_storage_and_keeps_the_holders_record() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        let first = StorageLock::acquire(&dir).unwrap();
        let holder = fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert!(
            holder.starts_with(&format!("{}@", std::process::id())),
            "{holder}"
        );
        let err = StorageLock::acquire(&dir).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(
            err.to_string(),
            format!(
                "lock {}: Cannot lock storage {}. The directory is already locked",
                dir.join(LOCK_FILE).display(),
                dir.display()
            )
        );
        assert_eq!(fs::read_to_string(dir.join(LOCK_FILE)).unwrap(), holder);
        drop(first);
        let _again = StorageLock::acquire(&dir).unwrap();
    }

    #[test]
    fn replace_file_replaces_whole_and_leaves_no_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        assert_eq!(read_if_exists(&dir.join("f")).unwrap(), None);
        assert_eq!(read_if_exists(&dir.join("nodir/f")).unwrap(), None);
        replace_file(dir, "f", b"one").unwrap();
        replace_file(dir, "f", b"two").unwrap();
        assert_eq!(
            read_if_exists(&dir.join("f")).unwrap(),
            Some(b"two".to_vec())
        );
        assert!(!dir.join("f.tmp").exists());
        // A replacement that cannot happen leaves the old file and no temp file.
        fs::create_dir(dir.join("d")).unwrap();
        let err = replace_file(dir, "d", b"x").unwrap_err();
        assert!(err.to_string().starts_with("rename "), "{err}");
        assert!(!dir.join("d.tmp").exists());
        assert!(dir.join("d").is_dir());
    }

    #[test]
    fn clear_directory_empties_current_and_creates_it_if_missing() {
        let root = tempfile::tempdir().unwrap();
        let current = root.path().join(CURRENT_DIR);
        clear_directory(&current).unwrap();
        assert!(current.is_dir());
        fs::write(current.join(VERSION_FILE), "x").unwrap();
        fs::write(current.join("f"), "x").unwrap();
        fs::create_dir_all(current.join("d/e")).unwrap();
        clear_directory(&current).unwrap();
        assert_eq!(fs::read_dir(&current).unwrap().count(), 0);
    }

    #[test]
    fn version_keeps_the_owners_order_and_reads_back() {
        let fields = [
            ("namespaceID", namespace_id_property(u32::MAX)),
            ("clusterID", "CID-1 =x".to_string()),
            ("cTime", "0".to_string()),
            ("storageType", "NAME_NODE".to_string()),
            ("layoutVersion", "-66".to_string()),
        ];
        let text = render_version(&fields, UNIX_EPOCH);
        assert_eq!(
            text,
            format!("#{}\n", crate::wall_clock::WallClock::local(0).java_date())
                + "namespaceID=-1\nclusterID=CID-1 \\=x\ncTime=0\n\
                   storageType=NAME_NODE\nlayoutVersion=-66\n"
        );
        let version = VersionFile::parse(&text).unwrap();
        let names: Vec<&str> = version
            .properties()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "namespaceID",
                "clusterID",
                "cTime",
                "storageType",
                "layoutVersion"
            ]
        );
        assert_eq!(version.namespace_id(), Ok(u32::MAX));
        assert_eq!(version.get("clusterID"), Ok("CID-1 =x"));
        assert_eq!(version.ctime(), Ok(0));
        assert_eq!(version.layout_version(), Ok(-66));
        assert_eq!(version.check_storage_type("NAME_NODE"), Ok(()));
        let refused = version.check_storage_type("JOURNAL_NODE").unwrap_err();
        assert_eq!(
            refused,
            VersionFileError::IncompatibleStorageType {
                expected: "JOURNAL_NODE".into(),
                found: "NAME_NODE".into()
            }
        );
        assert_eq!(
            refused.to_string(),
            "Incompatible node types: storageType=JOURNAL_NODE but StorageDirectory type=NAME_NODE"
        );
        let missing = version.get("blockpoolID").unwrap_err();
        assert_eq!(
            missing,
            VersionFileError::Missing {
                name: "blockpoolID".into()
            }
        );
        assert_eq!(missing.to_string(), "file VERSION has blockpoolID missing.");
        // A later duplicate wins, as in Java.
        let version = VersionFile::parse("cTime=1\ncTime=2\n").unwrap();
        assert_eq!(version.ctime(), Ok(2));
        let bad = |text: &str| VersionFile::parse(text).unwrap();
        let text = |err: VersionFileError| err.to_string();
        assert_eq!(
            bad("cTime=-1").ctime().map_err(text),
            Err("file VERSION has cTime=-1, out of range".to_string())
        );
        assert_eq!(
            bad("layoutVersion=x").layout_version(),
            Err(VersionFileError::NotANumber {
                name: "layoutVersion".into(),
                value: "x".into()
            })
        );
        assert_eq!(
            bad("layoutVersion=x").layout_version().map_err(text),
            Err("file VERSION has layoutVersion=x, not a number".to_string())
        );
        assert_eq!(
            bad("namespaceID=4294967296").namespace_id(),
            Err(VersionFileError::OutOfRange {
                name: "namespaceID",
                value: 4294967296
            })
        );
        assert_eq!(
            bad("namespaceID=4294967296").namespace_id().map_err(text),
            Err("file VERSION has namespaceID=4294967296, out of range".to_string())
        );
        assert_eq!(bad("namespaceID=4294967295").namespace_id(), Ok(u32::MAX));
    }

    #[test]
    fn read_version_names_the_file_in_every_refusal() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join(VERSION_FILE);
        assert_eq!(read_version(&path, |_| Ok(())).unwrap(), None);
        fs::write(&path, "a=\\u12\n").unwrap();
        let err = read_version(&path, |_| Ok(())).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            format!(
                "read {}: Malformed \\uxxxx encoding. (line 1)",
                path.display()
            )
        );
        // The refusal stays typed under the I/O error.
        assert!(matches!(
            err.source
                .get_ref()
                .and_then(|e| e.downcast_ref::<VersionFileError>()),
            Some(VersionFileError::Properties(_))
        ));
        // ISO-8859-1, as Java reads it.
        fs::write(&path, b"clusterID=caf\xe9\n").unwrap();
        let cluster = read_version(&path, |v| v.get("clusterID").map(str::to_string)).unwrap();
        assert_eq!(cluster.as_deref(), Some("caf\u{e9}"));
    }
}
