//! `hdfs dfs`: Hadoop's FsShell (`hadoop fs`) over [`DfsClient`] — `-cat`, `-help`, `-ls`,
//! `-mkdir`, `-mv`, `-put`, `-rm`, `-stat`, `-touchz`, `-usage` — with Hadoop 3.3's usage and
//! help texts, error lines (`` mkdir: `/x': File exists ``), listing columns and exit codes:
//! 0 on success, 1 when a command reported an error, 255 (Hadoop's -1) for no command, an
//! unknown command, or bad options and argument counts.
//!
//! Paths resolve as Hadoop's `PathData` does: `/x` is in `fs.defaultFS`, `hdfs://ns/x` names
//! its filesystem, `x` is relative to `/user/<user>`; arguments are globs (`*`, `?`, `[…]`,
//! `{a,b}`, `\` escapes); matches print the way they were asked for (absolute, relative,
//! with scheme) and arguments that match nothing print as typed.
//!
//! Where hdfs-ha differs from Hadoop, because the namespace holds no file contents and the
//! shell reaches only HDFS:
//! - `-cat` prints, for each file, the line `-ls` prints for it instead of its bytes;
//! - `-put` reads nothing: a local file's length is what it would write, and only an empty
//!   file can be written (a block for data is refused by a NameNode without DataNodes, and
//!   `put:` reports the NameNode's exception);
//! - `file://` and other schemes are refused (`No FileSystem for scheme "file"`), and `-rm`
//!   deletes at once (no trash, as with Hadoop's default `fs.trash.interval` of 0);
//! - options that need what the mock namespace lacks (`-put -p`, `-ls -e`, `-rm -safely`)
//!   are not offered, so they are `Illegal option`s; a `{a,b}` group stays within one path
//!   component.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::{Component, PathBuf};
use std::sync::Arc;

use super::{Context, GENERIC_USAGE, generic_and_conf};
use crate::conf::{ConfError, Configuration};
use crate::host::current_user;
use crate::namenode::client::{ClientError, DfsClient};
use crate::namenode::namespace::FileStatus;
use crate::wall_clock::WallClock;

/// Hadoop's FsShell exit status for a usage error (`-1`).
const USAGE_ERROR: i32 = 255;

const USAGE_PREFIX: &str = "Usage: hadoop fs [generic options]";

// PathIOException texts (Hadoop's `PathExceptions`).
const NOT_FOUND: &str = "No such file or directory";
const EXISTS: &str = "File exists";
const IS_DIR: &str = "Is a directory";
const NOT_DIR: &str = "Is not a directory";
const EIO: &str = "Input/output error";
const NOT_ZERO_LENGTH: &str = "Not a zero-length file";
const SUBDIRECTORY: &str = "is a subdirectory of itself";
const IDENTICAL: &str = "are identical";
const OTHER_FILESYSTEM: &str = "Does not match target filesystem";
const TOO_MANY_MATCHES: &str = "Too many matches";

/// One shell command: its name (without the dash), usage and help text (as `-help` prints
/// it, each line indented).
struct CommandSpec {
    name: &'static str,
    usage: &'static str,
    description: &'static str,
}

/// The commands, in Hadoop's (alphabetical) order.
const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cat",
        usage: "[-ignoreCrc] <src> ...",
        description:
            "  Fetch all files that match the file pattern <src> and display their content on
  stdout.
  hdfs-ha keeps no file contents: for each file, cat prints the line -ls prints
  for it.
",
    },
    CommandSpec {
        name: "help",
        usage: "[cmd ...]",
        description: "  Displays help for given command or all commands if none is specified.
",
    },
    CommandSpec {
        name: "ls",
        usage: "[-C] [-d] [-h] [-q] [-R] [-t] [-S] [-r] [-u] [<path> ...]",
        description: "  List the contents that match the specified file pattern. If path is not
  specified, the contents of /user/<currentUser> will be listed. For a directory a
  list of its direct children is returned (unless -d option is specified).

  Directory entries are of the form:
  \tpermissions - userId groupId sizeOfDirectory(in bytes)
  modificationDate(yyyy-MM-dd HH:mm) directoryName

  and file entries are of the form:
  \tpermissions numberOfReplicas userId groupId sizeOfFile(in bytes)
  modificationDate(yyyy-MM-dd HH:mm) fileName

    -C  Display the paths of files and directories only.
    -d  Directories are listed as plain files.
    -h  Formats the sizes of files in a human-readable fashion
        rather than a number of bytes.
    -q  Print ? instead of non-printable characters.
    -R  Recursively list the contents of directories.
    -t  Sort files by modification time (most recent first).
    -S  Sort files by size.
    -r  Reverse the order of the sort.
    -u  Use time of last access instead of modification for
        display and sorting.
",
    },
    CommandSpec {
        name: "mkdir",
        usage: "[-p] <path> ...",
        description: "  Create a directory in specified location.

  -p  Do not fail if the directory already exists
",
    },
    CommandSpec {
        name: "mv",
        usage: "<src> ... <dst>",
        description:
            "  Move files that match the specified file pattern <src> to a destination <dst>.
  When moving multiple files, the destination must be a directory.
",
    },
    CommandSpec {
        name: "put",
        usage: "[-f] [-l] [-d] <localsrc> ... <dst>",
        description:
            "  Copy files from the local file system into fs. Copying fails if the file already
  exists, unless the -f flag is given.
  Flags:

  -f  Overwrites the destination if it already exists.
  -l  Allow DataNode to lazily persist the file to disk. Forces
         replication factor of 1. This flag will result in reduced
         durability. Use with care.

  -d  Skip creation of temporary file(<dst>._COPYING_).
  hdfs-ha keeps no file contents: put records the length of each local file.
",
    },
    CommandSpec {
        name: "rm",
        usage: "[-f] [-r|-R] [-skipTrash] <src> ...",
        description:
            "  Delete all files that match the specified file pattern. Equivalent to the Unix
  command \"rm <src>\"

  -f          If the file does not exist, do not display a diagnostic message or
              modify the exit status to reflect an error.
  -[rR]       Recursively deletes directories.
  -skipTrash  option bypasses trash, if enabled, and immediately deletes <src>.
",
    },
    CommandSpec {
        name: "stat",
        usage: "[format] <path> ...",
        description: "  Print statistics about the file/directory at <path>
  in the specified format. Format accepts permissions in
  octal (%a) and symbolic (%A), filesize in
  bytes (%b), type (%F), group name of owner (%g),
  name (%n), block size (%o), replication (%r), user name
  of owner (%u), access date (%x, %X).
  modification date (%y, %Y).
  %x and %y show UTC date as \"yyyy-MM-dd HH:mm:ss\" and
  %X and %Y show milliseconds since January 1, 1970 UTC.
  If the format is not specified, %y is used by default.
",
    },
    CommandSpec {
        name: "touchz",
        usage: "<path> ...",
        description:
            "  Creates a file of zero length at <path> with current time as the timestamp of
  that <path>. An error is returned if the file exists with non-zero length
",
    },
    CommandSpec {
        name: "usage",
        usage: "[cmd ...]",
        description: "  Displays the usage for given command or all commands if none is specified.
",
    },
];

impl CommandSpec {
    /// `-mkdir [-p] <path> ...`
    fn usage_line(&self) -> String {
        format!("-{} {}", self.name, self.usage)
    }
}

fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Every command's usage and the generic options (`printUsage`).
fn full_usage() -> String {
    let mut text = format!("{USAGE_PREFIX}\n");
    for spec in COMMANDS {
        text.push_str(&format!("\t[{}]\n", spec.usage_line()));
    }
    text.push('\n');
    text.push_str(GENERIC_USAGE);
    text
}

/// One command's usage line (`printInstanceUsage`).
fn instance_usage(spec: &CommandSpec) -> String {
    format!("{USAGE_PREFIX} {}\n", spec.usage_line())
}

/// One command's help (`printInstanceHelp`).
fn instance_help(spec: &CommandSpec) -> String {
    format!("{} :\n{}", spec.usage_line(), spec.description)
}

/// `hdfs dfs …`
pub fn run(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    let (generic, conf) =
        match generic_and_conf(ctx, args, &format!("{USAGE_PREFIX}\n"), USAGE_ERROR) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    let settings = match ShellSettings::from_conf(&conf) {
        Ok(settings) => settings,
        Err(message) => {
            let _ = writeln!(ctx.err, "{message}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(ctx.err, "cannot start the client runtime: {err}");
            return 1;
        }
    };
    let filesystems = DfsFilesystems {
        conf,
        runtime,
        clients: HashMap::new(),
    };
    FsShell::new(filesystems, settings, ctx.out, ctx.err).run(&generic.rest)
}

// ------------------------------------------------------------------ filesystems

/// How a new file is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateSpec {
    pub permission: u16,
    pub overwrite: bool,
    pub replication: u16,
    pub length: u64,
}

/// The filesystems a shell reaches, each by its `hdfs://` authority. Hadoop's
/// `FileSystem.mkdirs` and `create` make missing parents, so these do too.
pub(crate) trait Filesystems {
    fn get_file_info(&mut self, fs: &str, path: &str) -> Result<Option<FileStatus>, ClientError>;
    fn list(&mut self, fs: &str, path: &str) -> Result<Option<Vec<FileStatus>>, ClientError>;
    fn mkdirs(&mut self, fs: &str, path: &str, permission: u16) -> Result<bool, ClientError>;
    fn create(
        &mut self,
        fs: &str,
        path: &str,
        spec: &CreateSpec,
    ) -> Result<FileStatus, ClientError>;
    fn delete(&mut self, fs: &str, path: &str, recursive: bool) -> Result<bool, ClientError>;
    fn rename(&mut self, fs: &str, src: &str, dst: &str) -> Result<bool, ClientError>;
}

/// The real filesystems: one [`DfsClient`] per authority, made on first use.
struct DfsFilesystems {
    conf: Configuration,
    runtime: tokio::runtime::Runtime,
    clients: HashMap<String, Arc<DfsClient>>,
}

impl DfsFilesystems {
    fn client(&mut self, fs: &str) -> Result<Arc<DfsClient>, ClientError> {
        if let Some(client) = self.clients.get(fs) {
            return Ok(client.clone());
        }
        let client = Arc::new(DfsClient::new(&self.conf, &format!("hdfs://{fs}"))?);
        self.clients.insert(fs.to_string(), client.clone());
        Ok(client)
    }
}

impl Filesystems for DfsFilesystems {
    fn get_file_info(&mut self, fs: &str, path: &str) -> Result<Option<FileStatus>, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.get_file_info(path))
    }

    fn list(&mut self, fs: &str, path: &str) -> Result<Option<Vec<FileStatus>>, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.list(path))
    }

    fn mkdirs(&mut self, fs: &str, path: &str, permission: u16) -> Result<bool, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.mkdirs(path, permission, true))
    }

    fn create(
        &mut self,
        fs: &str,
        path: &str,
        spec: &CreateSpec,
    ) -> Result<FileStatus, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.create(
            path,
            spec.permission,
            spec.overwrite,
            true,
            spec.replication,
            spec.length,
        ))
    }

    fn delete(&mut self, fs: &str, path: &str, recursive: bool) -> Result<bool, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.delete(path, recursive))
    }

    fn rename(&mut self, fs: &str, src: &str, dst: &str) -> Result<bool, ClientError> {
        let client = self.client(fs)?;
        self.runtime.block_on(client.rename(src, dst))
    }
}

// ------------------------------------------------------------------ settings

/// What the shell refuses before it asks any NameNode: its configuration, an option, a path
/// or a pattern it cannot read (FsShell's texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InputError {
    #[error(
        "Unable to parse configuration fs.permissions.umask-mode with value {0} as octal or symbolic umask."
    )]
    Umask(String),

    #[error("invalid value '{0}' for dfs.replication")]
    Replication(i32),

    #[error("Incomplete HDFS URI, no host: {0}")]
    NoHost(String),

    #[error("No FileSystem for scheme \"{0}\"")]
    NoFileSystem(String),

    #[error("Illegal option {0}")]
    IllegalOption(String),

    #[error("Not enough arguments: expected {expected} but got {got}")]
    NotEnoughArguments { expected: usize, got: usize },

    #[error("Too many arguments: expected {expected} but got {got}")]
    TooManyArguments { expected: usize, got: usize },

    /// A glob component that does not compile; `index` is the component's length, as Java's
    /// `PatternSyntaxException` reports it.
    #[error("Illegal file pattern: {what} near index {index}")]
    IllegalPattern { what: &'static str, index: usize },

    /// The configuration, as [`ConfError`] renders it.
    #[error("{0}")]
    Conf(String),
}

impl From<ConfError> for InputError {
    fn from(err: ConfError) -> Self {
        InputError::Conf(err.to_string())
    }
}

/// What the shell reads from the configuration, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellSettings {
    /// `fs.defaultFS`'s authority, or why paths without a scheme cannot be used.
    pub default_fs: Result<String, InputError>,
    /// `/user/<user>`: Hadoop's working directory, where relative paths start.
    pub home: String,
    /// `fs.permissions.umask-mode`, applied to new files (0666) and directories (0777).
    pub umask: u16,
    /// `dfs.replication`, given to new files.
    pub replication: u16,
}

impl ShellSettings {
    pub fn from_conf(conf: &Configuration) -> Result<ShellSettings, InputError> {
        let default_fs = conf
            .get_trimmed("fs.defaultFS")?
            .unwrap_or_else(|| "file:///".to_string());
        let umask_text = conf
            .get_trimmed("fs.permissions.umask-mode")?
            .unwrap_or_else(|| "022".to_string());
        let umask = u16::from_str_radix(&umask_text, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or(InputError::Umask(umask_text))?;
        let replication = conf.get_int("dfs.replication")?.unwrap_or(3);
        let replication =
            u16::try_from(replication).map_err(|_| InputError::Replication(replication))?;
        Ok(ShellSettings {
            default_fs: default_authority(&default_fs),
            home: format!("/user/{}", current_user()),
            umask,
            replication,
        })
    }

    fn file_permission(&self) -> u16 {
        0o666 & !self.umask
    }

    fn dir_permission(&self) -> u16 {
        0o777 & !self.umask
    }
}

/// The authority of `fs.defaultFS`, when it is an `hdfs://` URI.
fn default_authority(default_fs: &str) -> Result<String, InputError> {
    match split_scheme(default_fs) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("hdfs") => {
            let authority = rest
                .strip_prefix("//")
                .map(|r| r.split('/').next().unwrap_or_default())
                .unwrap_or_default();
            if authority.is_empty() {
                Err(InputError::NoHost(default_fs.to_string()))
            } else {
                Ok(authority.to_string())
            }
        }
        Some((scheme, _)) => Err(InputError::NoFileSystem(scheme.to_string())),
        None => Err(InputError::NoFileSystem("null".to_string())),
    }
}

/// `scheme` and the rest of `text`, when it starts with `scheme:/` (Hadoop's test: a colon
/// directly before the first slash).
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let rest = &text[colon + 1..];
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && rest.starts_with('/')).then_some((scheme, rest))
}

// ------------------------------------------------------------------ errors

/// Hadoop's `PathIOException` family: `` [operation ]`path'[ to `target']: text[: `qualified'] ``.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathError {
    operation: Option<&'static str>,
    path: String,
    target: Option<String>,
    text: &'static str,
    /// The fully qualified path, added when it differs from `path` (`touchz`).
    qualified: Option<String>,
}

impl PathError {
    fn new(path: &str, text: &'static str) -> PathError {
        PathError {
            operation: None,
            path: path.to_string(),
            target: None,
            text,
            qualified: None,
        }
    }
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(operation) = self.operation {
            write!(f, "{operation} ")?;
        }
        write!(f, "`{}'", self.path)?;
        if let Some(target) = &self.target {
            write!(f, " to `{target}'")?;
        }
        write!(f, ": {}", self.text)?;
        match &self.qualified {
            Some(qualified) if *qualified != self.path => write!(f, ": `{qualified}'"),
            _ => Ok(()),
        }
    }
}

/// What a step of a command can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ShellError {
    #[error("{0}")]
    Path(PathError),
    /// A NameNode's exception, or an unreachable NameNode: its message.
    #[error("{0}")]
    Client(ClientError),
    /// A path, scheme or pattern the shell cannot use.
    #[error("{0}")]
    Input(InputError),
    /// A local file or stdin that cannot be read, with its name.
    #[error("{0}")]
    Io(String),
    /// Hadoop's `IllegalArgumentException`: it ends the command with its usage (255).
    #[error("{0}")]
    Illegal(String),
}

impl From<PathError> for ShellError {
    fn from(err: PathError) -> Self {
        ShellError::Path(err)
    }
}

impl From<ClientError> for ShellError {
    fn from(err: ClientError) -> Self {
        match err {
            // A filesystem that cannot be made (`java.net.UnknownHostException: mycluster`)
            // is an IllegalArgumentException in Hadoop.
            ClientError::Config(message) => ShellError::Illegal(message),
            other => ShellError::Client(other),
        }
    }
}

fn not_found(path: &str) -> ShellError {
    PathError::new(path, NOT_FOUND).into()
}

/// An error that ends the command: the message of an IllegalArgumentException.
#[derive(Debug)]
struct Escape(String);

impl From<InputError> for Escape {
    fn from(err: InputError) -> Self {
        Escape(err.to_string())
    }
}

// ------------------------------------------------------------------ paths

/// How a path argument was written, which decides how Hadoop prints what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathForm {
    /// `hdfs://ns/x`
    WithAuthority,
    /// `hdfs:/x`
    SchemeOnly,
    /// `/x`
    Absolute,
    /// `x`
    Relative,
}

/// One path the shell works on (Hadoop's `PathData`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathData {
    /// The filesystem's authority.
    fs: String,
    /// The absolute, normalized path in it.
    path: String,
    /// How the shell prints it: as typed, or as Hadoop derives it for matches and children.
    shown: String,
    /// `None` when it does not exist.
    stat: Option<FileStatus>,
}

impl PathData {
    fn exists(&self) -> bool {
        self.stat.is_some()
    }

    fn is_dir(&self) -> bool {
        self.stat.as_ref().is_some_and(|s| s.is_dir)
    }

    fn qualified(&self) -> String {
        format!("hdfs://{}{}", self.fs, self.path)
    }

    fn name(&self) -> &str {
        base_name(&self.path)
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent of an absolute normalized path (`None` for the root).
fn parent_of(path: &str) -> Option<String> {
    if path == "/" {
        return None;
    }
    let cut = path.rfind('/')?;
    Some(if cut == 0 {
        "/".to_string()
    } else {
        path[..cut].to_string()
    })
}

/// The path part of a shown path (`hdfs://ns/a` → `/a`).
fn uri_path(shown: &str) -> &str {
    let rest = split_scheme(shown).map_or(shown, |(_, rest)| rest);
    match rest.strip_prefix("//") {
        Some(after) if !after.is_empty() => after.find('/').map_or("", |i| &after[i..]),
        _ => rest,
    }
}

/// Whether a shown path names a directory by its form: a trailing `/`, `.` or `..`.
fn represents_directory(shown: &str) -> bool {
    let name = base_name(uri_path(shown));
    name.is_empty() || name == "." || name == ".."
}

/// How Hadoop names a child of a shown directory (`getStringForChildPath`).
fn child_shown(parent: &str, name: &str) -> String {
    if parent == "." {
        name.to_string()
    } else if uri_path(parent).ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// `path` relative to the working directory `cwd` (Hadoop's `PathData.relativize`).
fn relativize(cwd: &str, path: &str, is_dir: bool) -> String {
    if cwd == path {
        return ".".to_string();
    }
    let cwd_sep = if cwd.ends_with('/') {
        cwd.to_string()
    } else {
        format!("{cwd}/")
    };
    let path_sep = if is_dir && !path.ends_with('/') {
        format!("{path}/")
    } else {
        path.to_string()
    };
    let mut last_sep: Option<usize> = None;
    for (i, (a, b)) in cwd_sep.bytes().zip(path_sep.bytes()).enumerate() {
        if a != b {
            break;
        }
        if a == b'/' {
            last_sep = Some(i);
        }
    }
    let start = last_sep.map_or(0, |i| i + 1);
    let mut relative = path.get(start..).unwrap_or_default().to_string();
    if last_sep.is_none_or(|i| i < cwd.len()) {
        let mut at = last_sep;
        while let Some(i) = at {
            relative = if relative.is_empty() {
                "..".to_string()
            } else {
                format!("../{relative}")
            };
            at = cwd[i + 1..].find('/').map(|j| i + 1 + j);
        }
    }
    relative
}

/// The components of an absolute path with `.` and `..` resolved (glob escapes kept).
fn normalize_components(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_string()),
        }
    }
    parts
}

fn absolute(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

/// `pattern` with glob escapes removed (`\*` → `*`).
fn unescape(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------ globs

/// Whether a path component is a glob (an unescaped `*`, `?`, `[` or `{`).
fn has_wildcard(component: &str) -> bool {
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' | '{' => return true,
            _ => {}
        }
    }
    false
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobToken {
    Literal(char),
    AnyChar,
    AnyString,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// One path component's glob (Hadoop's `GlobPattern`): its brace alternatives, each a token
/// list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GlobPattern {
    alternatives: Vec<Vec<GlobToken>>,
}

impl GlobPattern {
    /// Compiles a component; the error is Hadoop's `Illegal file pattern: …` text.
    fn new(component: &str) -> Result<GlobPattern, InputError> {
        let illegal = |what| InputError::IllegalPattern {
            what,
            index: component.chars().count(),
        };
        let alternatives = expand_braces(component).ok_or_else(|| illegal("Unclosed group"))?;
        let alternatives = alternatives
            .iter()
            .map(|a| tokens(a).ok_or_else(|| illegal("Unclosed character class")))
            .collect::<Result<_, _>>()?;
        Ok(GlobPattern { alternatives })
    }

    fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        self.alternatives.iter().any(|t| match_tokens(t, &name))
    }
}

/// `a{b,c}d` → `abd`, `acd` (nested groups too); `None` for an unclosed group.
fn expand_braces(pattern: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut open = None;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                open = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let Some(open) = open else {
        return Some(vec![pattern.to_string()]);
    };
    let (mut depth, mut j) = (0usize, open);
    let mut options = Vec::new();
    let mut start = open + 1;
    let mut close = None;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    options.push(chars[start..j].iter().collect::<String>());
                    close = Some(j);
                    break;
                }
            }
            ',' if depth == 1 => {
                options.push(chars[start..j].iter().collect::<String>());
                start = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    let close = close?;
    let prefix: String = chars[..open].iter().collect();
    let suffix: String = chars[close + 1..].iter().collect();
    let mut out = Vec::new();
    for option in options {
        out.extend(expand_braces(&format!("{prefix}{option}{suffix}"))?);
    }
    Some(out)
}

/// The tokens of a brace-free glob; `None` for an unclosed character class.
fn tokens(pattern: &str) -> Option<Vec<GlobToken>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                out.push(GlobToken::Literal(*chars.get(i)?));
            }
            '*' => out.push(GlobToken::AnyString),
            '?' => out.push(GlobToken::AnyChar),
            '[' => {
                i += 1;
                let negated = matches!(chars.get(i), Some('!' | '^'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *chars.get(i)?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let low = if c == '\\' {
                        i += 1;
                        *chars.get(i)?
                    } else {
                        c
                    };
                    if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|c| *c != ']')
                    {
                        ranges.push((low, chars[i + 2]));
                        i += 3;
                    } else {
                        ranges.push((low, low));
                        i += 1;
                    }
                }
                out.push(GlobToken::Class { negated, ranges });
            }
            c => out.push(GlobToken::Literal(c)),
        }
        i += 1;
    }
    Some(out)
}

fn match_tokens(tokens: &[GlobToken], name: &[char]) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((GlobToken::AnyString, rest)) => {
            (0..=name.len()).any(|skip| match_tokens(rest, &name[skip..]))
        }
        Some((token, rest)) => {
            let Some((c, tail)) = name.split_first() else {
                return false;
            };
            let ok = match token {
                GlobToken::Literal(l) => l == c,
                GlobToken::AnyChar => true,
                GlobToken::Class { negated, ranges } => {
                    ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
                }
                GlobToken::AnyString => unreachable!("handled above"),
            };
            ok && match_tokens(rest, tail)
        }
    }
}

// ------------------------------------------------------------------ formatting

/// Permission bits as `rwxr-xr-x` (Hadoop's `FsPermission.toString`, sticky bit as `t`/`T`).
pub(crate) fn symbolic_permission(permission: u16) -> String {
    let mut text = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (permission >> shift) & 0o7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    if permission & 0o1000 != 0 {
        let other_execute = permission & 0o1 != 0;
        text.pop();
        text.push(if other_execute { 't' } else { 'T' });
    }
    text
}

/// Milliseconds since the epoch as `-stat`'s `%x` and `%y` print them: `yyyy-MM-dd HH:mm:ss`
/// in UTC (Hadoop's `Stat` formats in UTC, unlike `-ls`).
pub(crate) fn utc_seconds(millis: u64) -> String {
    WallClock::utc(millis as i64).seconds()
}

/// A size as `ls -h` prints it (Hadoop's `TraditionalBinaryPrefix.long2String(n, "", 1)`):
/// `8`, `1 K`, `1.5 M`, rounding half up.
pub(crate) fn human_size(n: u64) -> String {
    const PREFIXES: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    if n < 1024 {
        return n.to_string();
    }
    let mut i = 0;
    while i + 1 < PREFIXES.len() && n >= 1u64 << (10 * (i + 2)) {
        i += 1;
    }
    // (whole units, text) of `n` in prefix `i`, with one decimal unless it divides exactly.
    let render = |i: usize| -> (u128, String) {
        let unit = 1u128 << (10 * (i + 1));
        let n = u128::from(n);
        if n % unit == 0 {
            (n / unit, (n / unit).to_string())
        } else {
            let tenths = (n * 20 + unit) / (2 * unit);
            (tenths / 10, format!("{}.{}", tenths / 10, tenths % 10))
        }
    };
    let (whole, mut text) = render(i);
    // Rounding may reach 1024 of a prefix: Hadoop then uses the next one.
    if whole >= 1024 && i + 1 < PREFIXES.len() {
        i += 1;
        text = render(i).1;
    }
    format!("{text} {}", PREFIXES[i])
}

/// `-stat`'s format (Hadoop's `Stat.processPath`): `%` codes replaced, unknown codes print
/// their letter, a trailing `%` is dropped.
pub(crate) fn format_stat(format: &str, name: &str, stat: &FileStatus) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(code) = chars.next() else { break };
        match code {
            'a' => out.push_str(&format!("{:o}", stat.permission)),
            'A' => out.push_str(&symbolic_permission(stat.permission)),
            'b' => out.push_str(&stat.length.to_string()),
            'F' => out.push_str(if stat.is_dir {
                "directory"
            } else {
                "regular file"
            }),
            'g' => out.push_str(&stat.group),
            'n' => out.push_str(name),
            'o' => out.push_str(&stat.block_size.to_string()),
            'r' => out.push_str(&stat.replication.to_string()),
            'u' => out.push_str(&stat.owner),
            'x' => out.push_str(&utc_seconds(stat.atime)),
            'X' => out.push_str(&stat.atime.to_string()),
            'y' => out.push_str(&utc_seconds(stat.mtime)),
            'Y' => out.push_str(&stat.mtime.to_string()),
            other => out.push(other),
        }
    }
    out
}

/// The column widths of `-ls` (Hadoop's `Ls.adjustColumnWidths`): they start at
/// replication 3, size 10, owner and group 0, and only grow during one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LsColumns {
    max_repl: usize,
    max_len: usize,
    max_owner: usize,
    max_group: usize,
}

impl Default for LsColumns {
    fn default() -> Self {
        LsColumns {
            max_repl: 3,
            max_len: 10,
            max_owner: 0,
            max_group: 0,
        }
    }
}

impl LsColumns {
    /// Widens the columns to fit `statuses` (sizes count as plain numbers, even with `-h`).
    pub fn adjust<'s>(&mut self, statuses: impl IntoIterator<Item = &'s FileStatus>) {
        for s in statuses {
            self.max_repl = self.max_repl.max(s.replication.to_string().len());
            self.max_len = self.max_len.max(s.length.to_string().len());
            self.max_owner = self.max_owner.max(s.owner.chars().count());
            self.max_group = self.max_group.max(s.group.chars().count());
        }
    }

    /// One listing line: type and permission, replication (`-` for directories), owner,
    /// group, size, date, path.
    pub fn line(&self, stat: &FileStatus, size: &str, date: &str, path: &str) -> String {
        let mut line = String::new();
        line.push(if stat.is_dir { 'd' } else { '-' });
        line.push_str(&symbolic_permission(stat.permission));
        line.push(' ');
        let replication = if stat.is_dir {
            "-".to_string()
        } else {
            stat.replication.to_string()
        };
        line.push_str(&format!("{replication:>w$} ", w = self.max_repl));
        // Hadoop's format has no column (and no space) for an owner or group of width 0.
        if self.max_owner > 0 {
            line.push_str(&format!("{:<w$} ", stat.owner, w = self.max_owner));
        } else {
            line.push_str(&stat.owner);
        }
        if self.max_group > 0 {
            line.push_str(&format!("{:<w$} ", stat.group, w = self.max_group));
        } else {
            line.push_str(&stat.group);
        }
        line.push_str(&format!("{size:>w$} {date} {path}", w = self.max_len));
        line
    }
}

/// What `-ls` was asked for.
#[derive(Debug, Clone, Default)]
struct LsOptions {
    path_only: bool,
    dir_recurse: bool,
    recursive: bool,
    human: bool,
    hide_non_printable: bool,
    reverse: bool,
    by_time: bool,
    by_size: bool,
    atime: bool,
}

impl LsOptions {
    fn line(&self, columns: &LsColumns, item: &PathData, stat: &FileStatus) -> String {
        let size = if self.human {
            human_size(stat.length)
        } else {
            stat.length.to_string()
        };
        let time = if self.atime { stat.atime } else { stat.mtime };
        let shown = if self.hide_non_printable {
            printable(&item.shown)
        } else {
            item.shown.clone()
        };
        columns.line(
            stat,
            &size,
            &WallClock::local(time as i64).minutes(),
            &shown,
        )
    }

    fn sort(&self, items: &mut [PathData]) {
        let time = |p: &PathData| {
            p.stat
                .as_ref()
                .map_or(0, |s| if self.atime { s.atime } else { s.mtime })
        };
        let length = |p: &PathData| p.stat.as_ref().map_or(0, |s| s.length);
        items.sort_by(|a, b| {
            let order = if self.by_time {
                time(b).cmp(&time(a))
            } else if self.by_size {
                length(b).cmp(&length(a))
            } else {
                a.path.cmp(&b.path)
            };
            if self.reverse { order.reverse() } else { order }
        });
    }
}

/// `?` for each non-printable character (`ls -q`).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

// ------------------------------------------------------------------ options

/// Hadoop's `CommandFormat.parse`: leading `-x` options from `known` (no bundling), stopping
/// at the first argument that is not one, at `-` or after `--`; then the argument count.
pub(crate) fn parse_options(
    args: &[String],
    min: usize,
    max: usize,
    known: &[&str],
) -> Result<(BTreeSet<String>, Vec<String>), InputError> {
    let mut options = BTreeSet::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        if arg == "--" {
            i += 1;
            break;
        }
        let name = &arg[1..];
        if !known.contains(&name) {
            return Err(InputError::IllegalOption(arg.clone()));
        }
        options.insert(name.to_string());
        i += 1;
    }
    let rest = args[i..].to_vec();
    if rest.len() < min {
        return Err(InputError::NotEnoughArguments {
            expected: min,
            got: rest.len(),
        });
    }
    if rest.len() > max {
        return Err(InputError::TooManyArguments {
            expected: max,
            got: rest.len(),
        });
    }
    Ok((options, rest))
}

// ------------------------------------------------------------------ local files

/// A local source of `-put`.
#[derive(Debug)]
struct LocalPath {
    path: PathBuf,
    shown: String,
    /// `Ok(None)` when it does not exist.
    meta: Result<Option<std::fs::Metadata>, std::io::Error>,
}

impl LocalPath {
    fn open(shown: &str) -> LocalPath {
        let path = PathBuf::from(shown);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        };
        LocalPath {
            path,
            shown: shown.to_string(),
            meta,
        }
    }

    /// A local argument: `file:` URIs give their path; anything else is a local path.
    fn from_argument(arg: &str) -> LocalPath {
        let shown = match split_scheme(arg) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => {
                match rest.strip_prefix("//") {
                    Some(after) => after.find('/').map_or("/", |i| &after[i..]),
                    None => rest,
                }
            }
            _ => arg,
        };
        LocalPath::open(shown)
    }

    /// The last component of the absolute, lexically normalized path.
    fn name(&self) -> String {
        let absolute = std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone());
        let mut parts: Vec<String> = Vec::new();
        for component in absolute.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts.pop().unwrap_or_default()
    }

    /// A local file that cannot be read, as FsShell reports it: `name (cause)`.
    fn unreadable(&self, e: &std::io::Error) -> ShellError {
        ShellError::Io(format!("{} ({e})", self.shown))
    }

    fn children(&self) -> Result<Vec<LocalPath>, ShellError> {
        let entries = std::fs::read_dir(&self.path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                ShellError::Path(PathError::new(&self.shown, "Permission denied"))
            } else {
                self.unreadable(&e)
            }
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names
            .iter()
            .map(|name| LocalPath::open(&child_shown(&self.shown, name)))
            .collect())
    }
}

// ------------------------------------------------------------------ the shell

/// FsShell: runs one command over `F`, writing as Hadoop does.
pub(crate) struct FsShell<'a, F: Filesystems> {
    fs: F,
    settings: ShellSettings,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// The command's name (without the dash), which prefixes its error lines.
    name: &'static str,
    /// Errors the command reported; its exit status is 1 when there are any.
    errors: usize,
}

impl<'a, F: Filesystems> FsShell<'a, F> {
    pub fn new(
        fs: F,
        settings: ShellSettings,
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
    ) -> Self {
        FsShell {
            fs,
            settings,
            out,
            err,
            name: "",
            errors: 0,
        }
    }

    /// Runs `argv` (`-cmd args…`); returns the exit status.
    pub fn run(&mut self, argv: &[String]) -> i32 {
        let Some(cmd) = argv.first() else {
            let _ = write!(self.err, "{}", full_usage());
            return USAGE_ERROR;
        };
        let Some(spec) = cmd.strip_prefix('-').and_then(command) else {
            self.top_level_error(cmd, "Unknown command");
            let _ = write!(self.err, "{}", full_usage());
            return USAGE_ERROR;
        };
        self.name = spec.name;
        match self.run_command(&argv[1..]) {
            Ok(()) if self.errors == 0 => 0,
            Ok(()) => 1,
            Err(Escape(message)) => {
                self.top_level_error(cmd, &message);
                let _ = write!(self.err, "{}{}", full_usage(), instance_usage(spec));
                USAGE_ERROR
            }
        }
    }

    /// FsShell's `displayError`, for errors outside a command.
    fn top_level_error(&mut self, cmd: &str, message: &str) {
        for line in message.split('\n') {
            let _ = writeln!(self.err, "{cmd}: {line}");
            if !cmd.starts_with('-') && command(cmd).is_some() {
                let _ = writeln!(
                    self.err,
                    "Did you mean -{cmd}?  This command begins with a dash."
                );
            }
        }
    }

    fn run_command(&mut self, args: &[String]) -> Result<(), Escape> {
        match self.name {
            "cat" => self.cat(args),
            "help" => self.help(args, true),
            "usage" => self.help(args, false),
            "ls" => self.ls(args),
            "mkdir" => self.mkdir(args),
            "mv" => self.mv(args),
            "put" => self.put(args),
            "rm" => self.rm(args),
            "stat" => self.stat(args),
            "touchz" => self.touchz(args),
            other => Err(Escape(format!("`{other}': Unknown command"))),
        }
    }

    /// Command's `displayError`: `cmd: <first line of the message>`, counted.
    fn report(&mut self, err: ShellError) -> Result<(), Escape> {
        if let ShellError::Illegal(message) = err {
            return Err(Escape(message));
        }
        let message = err.to_string();
        let first = message.split('\n').next().unwrap_or_default();
        let _ = writeln!(self.err, "{}: {first}", self.name);
        self.errors += 1;
        Ok(())
    }

    fn check(&mut self, result: Result<(), ShellError>) -> Result<(), Escape> {
        match result {
            Ok(()) => Ok(()),
            Err(err) => self.report(err),
        }
    }

    // -------------------------------------------------------------- paths

    /// The filesystem, normalized components and form of a path argument.
    fn resolve(&self, arg: &str) -> Result<(String, Vec<String>, PathForm), ShellError> {
        let default_fs = || self.settings.default_fs.clone().map_err(ShellError::Input);
        let (fs, path, form) = match split_scheme(arg) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("hdfs") => {
                match rest.strip_prefix("//").filter(|r| !r.is_empty()) {
                    Some(after) => {
                        let end = after.find('/').unwrap_or(after.len());
                        (
                            after[..end].to_string(),
                            after[end..].to_string(),
                            PathForm::WithAuthority,
                        )
                    }
                    None => (
                        default_fs()
                            .map_err(|_| ShellError::Input(InputError::NoHost(arg.to_string())))?,
                        rest.to_string(),
                        PathForm::SchemeOnly,
                    ),
                }
            }
            Some((scheme, _)) => {
                return Err(ShellError::Input(InputError::NoFileSystem(
                    scheme.to_string(),
                )));
            }
            None if arg.starts_with('/') => (default_fs()?, arg.to_string(), PathForm::Absolute),
            None => (
                default_fs()?,
                format!("{}/{arg}", self.settings.home),
                PathForm::Relative,
            ),
        };
        Ok((fs, normalize_components(&path), form))
    }

    /// How a matched path prints, given how its argument was written.
    fn shown_for(&self, fs: &str, path: &str, form: PathForm, is_dir: bool) -> String {
        match form {
            PathForm::WithAuthority => format!("hdfs://{fs}{path}"),
            PathForm::SchemeOnly => format!("hdfs://{path}"),
            PathForm::Absolute => path.to_string(),
            PathForm::Relative => relativize(&self.settings.home, path, is_dir),
        }
    }

    /// Hadoop's `PathData.expandAsGlob`: the matches of `arg`, sorted; a plain path that does
    /// not exist is one item without status; a glob that matches nothing is an error.
    fn expand(&mut self, arg: &str) -> Result<Vec<PathData>, ShellError> {
        let (fs, parts, form) = self.resolve(arg)?;
        if !parts.iter().any(|p| has_wildcard(p)) {
            let literal: Vec<String> = parts.iter().map(|p| unescape(p)).collect();
            let path = absolute(&literal);
            let stat = self.fs.get_file_info(&fs, &path)?;
            let shown = match &stat {
                Some(s) => self.shown_for(&fs, &path, form, s.is_dir),
                None => unescape(arg),
            };
            return Ok(vec![PathData {
                fs,
                path,
                shown,
                stat,
            }]);
        }
        let matches = self.glob(&fs, &parts)?;
        if matches.is_empty() {
            return Err(not_found(arg));
        }
        Ok(matches
            .into_iter()
            .map(|(path, stat)| PathData {
                shown: self.shown_for(&fs, &path, form, stat.is_dir),
                fs: fs.clone(),
                path,
                stat: Some(stat),
            })
            .collect())
    }

    /// The existing paths matching the glob `parts`, sorted.
    fn glob(
        &mut self,
        fs: &str,
        parts: &[String],
    ) -> Result<Vec<(String, FileStatus)>, ShellError> {
        let mut candidates: Vec<(String, Option<FileStatus>)> = vec![("/".to_string(), None)];
        for part in parts {
            let mut next = Vec::new();
            if !has_wildcard(part) {
                let name = unescape(part);
                for (dir, _) in candidates {
                    next.push((join(&dir, &name), None));
                }
            } else {
                let pattern = GlobPattern::new(part).map_err(ShellError::Input)?;
                for (dir, stat) in candidates {
                    let stat = match stat {
                        Some(stat) => Some(stat),
                        None if dir == "/" => None,
                        None => match self.fs.get_file_info(fs, &dir)? {
                            Some(stat) => Some(stat),
                            None => continue,
                        },
                    };
                    if stat.as_ref().is_some_and(|s| !s.is_dir) {
                        continue;
                    }
                    let Some(children) = self.fs.list(fs, &dir)? else {
                        continue;
                    };
                    for child in children {
                        if pattern.matches(&child.name) {
                            next.push((join(&dir, &child.name), Some(child)));
                        }
                    }
                }
            }
            candidates = next;
        }
        let mut found = Vec::new();
        for (path, stat) in candidates {
            let stat = match stat {
                Some(stat) => Some(stat),
                None => self.fs.get_file_info(fs, &path)?,
            };
            if let Some(stat) = stat {
                found.push((path, stat));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        Ok(found)
    }

    /// Command's `expandArguments`: every argument's matches; an argument that fails is
    /// reported and skipped (with `ignore_unmatched`, a glob matching nothing is skipped
    /// silently, as `rm -f` does).
    fn expand_arguments(
        &mut self,
        args: &[String],
        ignore_unmatched: bool,
    ) -> Result<Vec<PathData>, Escape> {
        let mut items = Vec::new();
        for arg in args {
            match self.expand(arg) {
                Ok(found) => items.extend(found),
                Err(ShellError::Path(p)) if ignore_unmatched && p.text == NOT_FOUND => {}
                Err(err) => self.report(err)?,
            }
        }
        Ok(items)
    }

    /// The children of a directory, sorted by name.
    fn children(&mut self, dir: &PathData) -> Result<Vec<PathData>, ShellError> {
        let Some(mut listing) = self.fs.list(&dir.fs, &dir.path)? else {
            return Err(not_found(&dir.shown));
        };
        listing.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listing
            .into_iter()
            .map(|stat| PathData {
                fs: dir.fs.clone(),
                path: join(&dir.path, &stat.name),
                shown: child_shown(&dir.shown, &stat.name),
                stat: Some(stat),
            })
            .collect())
    }

    /// `PathData.parentExists`.
    fn parent_exists(&mut self, item: &PathData) -> Result<bool, ShellError> {
        let path = if represents_directory(&item.shown) {
            Some(item.path.clone())
        } else {
            parent_of(&item.path)
        };
        match path {
            None => Ok(true),
            Some(path) => Ok(self.fs.get_file_info(&item.fs, &path)?.is_some()),
        }
    }

    /// `PathData.getPathDataForChild`: `name` inside the directory `dir`.
    fn child_of(&mut self, dir: &PathData, name: &str) -> Result<PathData, ShellError> {
        if !dir.exists() {
            return Err(not_found(&dir.shown));
        }
        if !dir.is_dir() {
            return Err(PathError::new(&dir.shown, NOT_DIR).into());
        }
        let path = join(&dir.path, name);
        let stat = self.fs.get_file_info(&dir.fs, &path)?;
        Ok(PathData {
            fs: dir.fs.clone(),
            path,
            shown: child_shown(&dir.shown, name),
            stat,
        })
    }

    /// `CommandWithDestination.getTargetPath` for a top-level source named `name`.
    fn target_path(&mut self, dst: &PathData, name: &str) -> Result<PathData, ShellError> {
        if dst.is_dir() || represents_directory(&dst.shown) {
            self.child_of(dst, name)
        } else {
            Ok(dst.clone())
        }
    }

    /// `CommandWithDestination.processArguments`' checks of the destination.
    fn check_destination(
        &mut self,
        dst: &PathData,
        sources: usize,
        overwrite: bool,
    ) -> Result<(), ShellError> {
        if sources > 1 {
            if !dst.exists() {
                return Err(not_found(&dst.shown));
            }
            if !dst.is_dir() {
                return Err(PathError::new(&dst.shown, NOT_DIR).into());
            }
        } else if dst.exists() {
            if !dst.is_dir() && !overwrite {
                return Err(PathError::new(&dst.shown, EXISTS).into());
            }
        } else if !self.parent_exists(dst)? {
            return Err(not_found(&dst.shown));
        }
        Ok(())
    }

    /// `getRemoteDestination`: the last argument, which must match one path.
    fn destination(&mut self, arg: &str) -> Result<PathData, ShellError> {
        let mut items = self.expand(arg)?;
        match items.len() {
            0 => Err(not_found(arg)),
            1 => Ok(items.remove(0)),
            _ => Err(PathError::new(arg, TOO_MANY_MATCHES).into()),
        }
    }

    // -------------------------------------------------------------- commands

    fn help(&mut self, args: &[String], show_help: bool) -> Result<(), Escape> {
        if args.is_empty() {
            let mut text = format!("{USAGE_PREFIX}\n");
            for spec in COMMANDS {
                text.push_str(&format!("\t[{}]\n", spec.usage_line()));
            }
            if show_help {
                for spec in COMMANDS {
                    text.push('\n');
                    text.push_str(&instance_help(spec));
                }
            }
            text.push('\n');
            text.push_str(GENERIC_USAGE);
            let _ = write!(self.out, "{text}");
            return Ok(());
        }
        for arg in args {
            let Some(spec) = command(arg) else {
                return Err(Escape(format!("`{arg}': Unknown command")));
            };
            let text = if show_help {
                instance_help(spec)
            } else {
                instance_usage(spec)
            };
            let _ = write!(self.out, "{text}");
        }
        Ok(())
    }

    fn ls(&mut self, args: &[String]) -> Result<(), Escape> {
        let (opts, mut paths) = parse_options(
            args,
            0,
            usize::MAX,
            &["C", "d", "h", "q", "R", "r", "t", "S", "u"],
        )?;
        let on = |o: &str| opts.contains(o);
        let options = LsOptions {
            path_only: on("C"),
            dir_recurse: !on("d"),
            recursive: on("R") && !on("d"),
            human: on("h"),
            hide_non_printable: on("q"),
            reverse: on("r"),
            by_time: on("t"),
            by_size: !on("t") && on("S"),
            atime: on("u"),
        };
        if paths.is_empty() {
            paths.push(".".to_string());
        }
        let mut columns = LsColumns::default();
        for item in self.expand_arguments(&paths, false)? {
            if !item.exists() {
                self.report(not_found(&item.shown))?;
            } else if options.dir_recurse && item.is_dir() {
                self.ls_directory(&item, &options, &mut columns)?;
            } else {
                self.ls_entries(false, vec![item], &options, &mut columns)?;
            }
        }
        Ok(())
    }

    fn ls_directory(
        &mut self,
        dir: &PathData,
        options: &LsOptions,
        columns: &mut LsColumns,
    ) -> Result<(), Escape> {
        match self.children(dir) {
            Ok(children) => self.ls_entries(true, children, options, columns),
            Err(err) => self.report(err),
        }
    }

    /// `Ls.processPaths`: the header and sort for a directory's children (not with `-R`),
    /// the columns, the lines, and recursion.
    fn ls_entries(
        &mut self,
        children: bool,
        mut items: Vec<PathData>,
        options: &LsOptions,
        columns: &mut LsColumns,
    ) -> Result<(), Escape> {
        if children && !options.recursive && !items.is_empty() {
            if !options.path_only {
                let _ = writeln!(self.out, "Found {} items", items.len());
            }
            options.sort(&mut items);
        }
        if !options.path_only {
            columns.adjust(items.iter().filter_map(|i| i.stat.as_ref()));
        }
        for item in &items {
            let Some(stat) = &item.stat else { continue };
            let line = if options.path_only {
                item.shown.clone()
            } else {
                options.line(columns, item, stat)
            };
            let _ = writeln!(self.out, "{line}");
            if options.recursive && stat.is_dir {
                self.ls_directory(item, options, columns)?;
            }
        }
        Ok(())
    }

    fn stat(&mut self, args: &[String]) -> Result<(), Escape> {
        let (mut opts, mut rest) = parse_options(args, 1, usize::MAX, &["R"])?;
        let mut format = "%y".to_string();
        if rest[0].contains('%') {
            format = rest.remove(0);
            let (more, remaining) = parse_options(&rest, 1, usize::MAX, &["R"])?;
            opts.extend(more);
            rest = remaining;
        }
        let recursive = opts.contains("R");
        for item in self.expand_arguments(&rest, false)? {
            if !item.exists() {
                self.report(not_found(&item.shown))?;
            } else {
                self.stat_tree(&item, &format, recursive)?;
            }
        }
        Ok(())
    }

    fn stat_tree(&mut self, item: &PathData, format: &str, recursive: bool) -> Result<(), Escape> {
        let Some(stat) = &item.stat else {
            return Ok(());
        };
        let line = format_stat(format, item.name(), stat);
        let _ = writeln!(self.out, "{line}");
        if recursive && stat.is_dir {
            match self.children(item) {
                Ok(children) => {
                    for child in &children {
                        self.stat_tree(child, format, recursive)?;
                    }
                }
                Err(err) => self.report(err)?,
            }
        }
        Ok(())
    }

    fn cat(&mut self, args: &[String]) -> Result<(), Escape> {
        let (_, rest) = parse_options(args, 1, usize::MAX, &["ignoreCrc"])?;
        for item in self.expand_arguments(&rest, false)? {
            let result = match &item.stat {
                None => Err(not_found(&item.shown)),
                Some(stat) if stat.is_dir => Err(PathError::new(&item.shown, IS_DIR).into()),
                Some(stat) => {
                    let mut columns = LsColumns::default();
                    columns.adjust([stat]);
                    let line = LsOptions::default().line(&columns, &item, stat);
                    let _ = writeln!(self.out, "{line}");
                    Ok(())
                }
            };
            self.check(result)?;
        }
        Ok(())
    }

    fn mkdir(&mut self, args: &[String]) -> Result<(), Escape> {
        let (opts, rest) = parse_options(args, 1, usize::MAX, &["p"])?;
        let create_parents = opts.contains("p");
        for item in self.expand_arguments(&rest, false)? {
            let result = match &item.stat {
                Some(stat) if stat.is_dir && create_parents => Ok(()),
                Some(stat) if stat.is_dir => Err(PathError::new(&item.shown, EXISTS).into()),
                Some(_) => Err(PathError::new(&item.shown, NOT_DIR).into()),
                None => self.mkdir_missing(&item, create_parents),
            };
            self.check(result)?;
        }
        Ok(())
    }

    fn mkdir_missing(&mut self, item: &PathData, create_parents: bool) -> Result<(), ShellError> {
        if !create_parents
            && let Some(parent) = parent_of(&item.path).filter(|p| p != "/")
            && self.fs.get_file_info(&item.fs, &parent)?.is_none()
        {
            return Err(not_found(&item.shown));
        }
        let permission = self.settings.dir_permission();
        if !self.fs.mkdirs(&item.fs, &item.path, permission)? {
            return Err(PathError::new(&item.shown, EIO).into());
        }
        Ok(())
    }

    fn touchz(&mut self, args: &[String]) -> Result<(), Escape> {
        let (_, rest) = parse_options(args, 1, usize::MAX, &[])?;
        for item in self.expand_arguments(&rest, false)? {
            let result = match &item.stat {
                Some(stat) if stat.is_dir => Err(PathError::new(&item.shown, IS_DIR).into()),
                Some(stat) if stat.length != 0 => {
                    Err(PathError::new(&item.shown, NOT_ZERO_LENGTH).into())
                }
                Some(_) => self.touch(&item),
                None => match self.parent_exists(&item) {
                    Ok(true) => self.touch(&item),
                    Ok(false) => Err(PathError {
                        qualified: Some(item.qualified()),
                        ..PathError::new(&item.shown, NOT_FOUND)
                    }
                    .into()),
                    Err(err) => Err(err),
                },
            };
            self.check(result)?;
        }
        Ok(())
    }

    /// `FileSystem.create(path)`: an empty file, replacing an empty one.
    fn touch(&mut self, item: &PathData) -> Result<(), ShellError> {
        let spec = CreateSpec {
            permission: self.settings.file_permission(),
            overwrite: true,
            replication: self.settings.replication,
            length: 0,
        };
        self.fs.create(&item.fs, &item.path, &spec)?;
        Ok(())
    }

    fn rm(&mut self, args: &[String]) -> Result<(), Escape> {
        let (opts, rest) = parse_options(args, 1, usize::MAX, &["f", "r", "R", "skipTrash"])?;
        let ignore_missing = opts.contains("f");
        let recursive = opts.contains("r") || opts.contains("R");
        for item in self.expand_arguments(&rest, ignore_missing)? {
            let result = match &item.stat {
                None if ignore_missing => Ok(()),
                None => Err(not_found(&item.shown)),
                Some(stat) if stat.is_dir && !recursive => {
                    Err(PathError::new(&item.shown, IS_DIR).into())
                }
                Some(_) => match self.fs.delete(&item.fs, &item.path, recursive) {
                    Ok(true) => {
                        let _ = writeln!(self.out, "Deleted {}", item.shown);
                        Ok(())
                    }
                    Ok(false) => Err(PathError::new(&item.shown, EIO).into()),
                    Err(err) => Err(err.into()),
                },
            };
            self.check(result)?;
        }
        Ok(())
    }

    fn mv(&mut self, args: &[String]) -> Result<(), Escape> {
        let (_, mut rest) = parse_options(args, 2, usize::MAX, &[])?;
        let dst_arg = rest.pop().unwrap_or_default();
        let dst = match self.destination(&dst_arg) {
            Ok(dst) => dst,
            Err(err) => return self.report(err),
        };
        let sources = self.expand_arguments(&rest, false)?;
        if let Err(err) = self.check_destination(&dst, sources.len(), false) {
            return self.report(err);
        }
        for src in &sources {
            let result = self.move_one(src, &dst);
            self.check(result)?;
        }
        Ok(())
    }

    fn move_one(&mut self, src: &PathData, dst: &PathData) -> Result<(), ShellError> {
        if !src.exists() {
            return Err(not_found(&src.shown));
        }
        let target = self.target_path(dst, src.name())?;
        if src.is_dir() && src.fs == target.fs {
            let (src_path, dst_path) = (src.qualified(), target.qualified());
            if dst_path == src_path {
                return Err(PathError {
                    target: Some(dst_path),
                    ..PathError::new(&src.shown, IDENTICAL)
                }
                .into());
            }
            if dst_path.starts_with(&format!("{src_path}/")) {
                return Err(PathError {
                    target: Some(target.shown.clone()),
                    ..PathError::new(&src.shown, SUBDIRECTORY)
                }
                .into());
            }
        }
        if src.fs != target.fs {
            return Err(PathError::new(&src.shown, OTHER_FILESYSTEM).into());
        }
        if target.exists() {
            return Err(PathError::new(&target.shown, EXISTS).into());
        }
        if !self.fs.rename(&src.fs, &src.path, &target.path)? {
            return Err(PathError::new(&src.shown, EIO).into());
        }
        Ok(())
    }

    fn put(&mut self, args: &[String]) -> Result<(), Escape> {
        let (opts, mut rest) = parse_options(args, 1, usize::MAX, &["f", "l", "d"])?;
        let overwrite = opts.contains("f");
        let replication = if opts.contains("l") {
            1
        } else {
            self.settings.replication
        };
        let dst_arg = if rest.len() < 2 {
            ".".to_string()
        } else {
            rest.pop().unwrap_or_default()
        };
        let dst = match self.destination(&dst_arg) {
            Ok(dst) => dst,
            Err(err) => return self.report(err),
        };
        let copy = PutOptions {
            overwrite,
            replication,
            direct: opts.contains("d"),
        };
        if rest.len() == 1 && rest[0] == "-" {
            let result = self.put_stdin(&dst, &copy);
            return self.check(result);
        }
        let sources: Vec<LocalPath> = rest.iter().map(|a| LocalPath::from_argument(a)).collect();
        if let Err(err) = self.check_destination(&dst, sources.len(), overwrite) {
            return self.report(err);
        }
        for src in &sources {
            match &src.meta {
                Ok(Some(_)) => match self.target_path(&dst, &src.name()) {
                    Ok(target) => self.put_tree(src, target, &copy)?,
                    Err(err) => self.report(err)?,
                },
                Ok(None) => self.report(not_found(&src.shown))?,
                Err(e) => self.report(src.unreadable(e))?,
            }
        }
        Ok(())
    }

    fn put_stdin(&mut self, dst: &PathData, copy: &PutOptions) -> Result<(), ShellError> {
        let target = self.target_path(dst, "-")?;
        let mut length = 0u64;
        let mut buf = [0u8; 64 * 1024];
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => length += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ShellError::Io(format!("stdin: {e}"))),
            }
        }
        self.copy_to_target(&target, length, copy)
    }

    /// Copies one local file or directory tree to `target` (`CommandWithDestination`'s
    /// `processPath` and `recursePath`); errors are reported per path.
    fn put_tree(
        &mut self,
        src: &LocalPath,
        target: PathData,
        copy: &PutOptions,
    ) -> Result<(), Escape> {
        let meta = match &src.meta {
            Ok(Some(meta)) => meta,
            Ok(None) => return self.report(not_found(&src.shown)),
            Err(e) => return self.report(src.unreadable(e)),
        };
        if !meta.is_dir() {
            let result = self.copy_to_target(&target, meta.len(), copy);
            return self.check(result);
        }
        let (dir, children) = match self.put_directory(src, target) {
            Ok(prepared) => prepared,
            Err(err) => return self.report(err),
        };
        for child in &children {
            match self.child_of(&dir, &child.name()) {
                Ok(child_target) => self.put_tree(child, child_target, copy)?,
                Err(err) => self.report(err)?,
            }
        }
        Ok(())
    }

    /// Makes the target directory of a local directory; returns it and the local children.
    fn put_directory(
        &mut self,
        src: &LocalPath,
        mut target: PathData,
    ) -> Result<(PathData, Vec<LocalPath>), ShellError> {
        if target.exists() {
            if !target.is_dir() {
                return Err(PathError::new(&target.shown, NOT_DIR).into());
            }
        } else {
            let permission = self.settings.dir_permission();
            if !self.fs.mkdirs(&target.fs, &target.path, permission)? {
                return Err(PathError {
                    operation: Some("mkdir"),
                    ..PathError::new(&target.shown, EIO)
                }
                .into());
            }
            target.stat = self.fs.get_file_info(&target.fs, &target.path)?;
        }
        Ok((target, src.children()?))
    }

    /// `copyStreamToTarget`: refuses an existing target unless overwriting a file; writes
    /// `<target>._COPYING_` (deleted again when the write fails) and renames it to the
    /// target, or with `-d` writes the target itself.
    fn copy_to_target(
        &mut self,
        target: &PathData,
        length: u64,
        copy: &PutOptions,
    ) -> Result<(), ShellError> {
        if target.exists() && (target.is_dir() || !copy.overwrite) {
            return Err(PathError::new(&target.shown, EXISTS).into());
        }
        let mut spec = CreateSpec {
            permission: self.settings.file_permission(),
            overwrite: copy.overwrite,
            replication: copy.replication,
            length,
        };
        if copy.direct {
            self.fs.create(&target.fs, &target.path, &spec)?;
            return Ok(());
        }
        let temp = format!("{}._COPYING_", target.path);
        spec.overwrite = true;
        if let Err(err) = self.fs.create(&target.fs, &temp, &spec) {
            let _ = self.fs.delete(&target.fs, &temp, false);
            return Err(err.into());
        }
        let failed = |operation| {
            ShellError::from(PathError {
                operation: Some(operation),
                ..PathError::new(&target.shown, EIO)
            })
        };
        if target.exists() && !self.fs.delete(&target.fs, &target.path, false)? {
            return Err(failed("delete"));
        }
        if !self.fs.rename(&target.fs, &temp, &target.path)? {
            return Err(failed("rename"));
        }
        Ok(())
    }
}

/// How `-put` writes its files.
struct PutOptions {
    overwrite: bool,
    replication: u16,
    /// `-d`: straight to the target, not through `<target>._COPYING_`.
    direct: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namenode::namespace::{Namespace, NamespaceError, Writer};
    use crate::namenode::ops::Attributes;

    const WRITER: Writer<'static> = Writer {
        name: "DFSClient_test",
        machine: "127.0.0.1",
    };

    // ---------------------------------------------------------------- a fake filesystem

    /// Namespaces by authority; every call is recorded.
    struct MemFs {
        spaces: HashMap<String, Namespace>,
        clock: u64,
        calls: Vec<String>,
        /// Returned by every call when set.
        failure: Option<ClientError>,
    }

    fn remote(e: NamespaceError) -> ClientError {
        ClientError::Remote {
            class: e.class.to_string(),
            message: e.message,
        }
    }

    impl MemFs {
        fn new() -> MemFs {
            let root = Attributes {
                permission: 0o755,
                owner: "hdfs".into(),
                group: "supergroup".into(),
                mtime: 0,
            };
            let mut spaces = HashMap::new();
            spaces.insert("mycluster".to_string(), Namespace::new(&root));
            spaces.insert("other".to_string(), Namespace::new(&root));
            MemFs {
                spaces,
                clock: 1_686_670_020_000,
                calls: Vec::new(),
                failure: None,
            }
        }

        fn space(&mut self, fs: &str, call: String) -> Result<&mut Namespace, ClientError> {
            self.calls.push(call);
            if let Some(failure) = &self.failure {
                return Err(failure.clone());
            }
            self.spaces
                .get_mut(fs)
                .ok_or_else(|| ClientError::Config(format!("java.net.UnknownHostException: {fs}")))
        }

        fn attrs(&mut self, permission: u16) -> Attributes {
            self.clock += 60_000;
            Attributes {
                permission,
                owner: "alice".into(),
                group: "supergroup".into(),
                mtime: self.clock,
            }
        }
    }

    impl Filesystems for MemFs {
        fn get_file_info(
            &mut self,
            fs: &str,
            path: &str,
        ) -> Result<Option<FileStatus>, ClientError> {
            self.space(fs, format!("getFileInfo {path}"))?
                .get_file_info(path)
                .map_err(remote)
        }

        fn list(&mut self, fs: &str, path: &str) -> Result<Option<Vec<FileStatus>>, ClientError> {
            self.space(fs, format!("getListing {path}"))?
                .list(path)
                .map_err(remote)
        }

        fn mkdirs(&mut self, fs: &str, path: &str, permission: u16) -> Result<bool, ClientError> {
            let attrs = self.attrs(permission);
            let ns = self.space(fs, format!("mkdirs {path} {permission:o}"))?;
            for op in ns.plan_mkdirs(path, &attrs, true).map_err(remote)? {
                ns.apply(&op).map_err(remote)?;
            }
            Ok(true)
        }

        fn create(
            &mut self,
            fs: &str,
            path: &str,
            spec: &CreateSpec,
        ) -> Result<FileStatus, ClientError> {
            let attrs = self.attrs(spec.permission);
            let ns = self.space(fs, format!("create {path} {spec:?}"))?;
            let ops = ns
                .plan_create(
                    path,
                    &attrs,
                    spec.overwrite,
                    true,
                    spec.replication,
                    spec.length,
                    134_217_728,
                    WRITER,
                )
                .map_err(remote)?;
            for op in ops {
                ns.apply(&op).map_err(remote)?;
            }
            Ok(ns.get_file_info(path).map_err(remote)?.expect("created"))
        }

        fn delete(&mut self, fs: &str, path: &str, recursive: bool) -> Result<bool, ClientError> {
            let mtime = self.attrs(0).mtime;
            let ns = self.space(fs, format!("delete {path} {recursive}"))?;
            match ns.plan_delete(path, recursive, mtime).map_err(remote)? {
                Some(op) => ns.apply(&op).map(|_| true).map_err(remote),
                None => Ok(false),
            }
        }

        fn rename(&mut self, fs: &str, src: &str, dst: &str) -> Result<bool, ClientError> {
            let mtime = self.attrs(0).mtime;
            let ns = self.space(fs, format!("rename {src} {dst}"))?;
            match ns.plan_rename(src, dst, mtime).map_err(remote)? {
                Some(op) => ns.apply(&op).map(|_| true).map_err(remote),
                None => Ok(false),
            }
        }
    }

    fn settings() -> ShellSettings {
        ShellSettings {
            default_fs: Ok("mycluster".into()),
            home: "/user/alice".into(),
            umask: 0o022,
            replication: 3,
        }
    }

    struct Outcome {
        code: i32,
        out: String,
        err: String,
    }

    /// Runs one command line against `fs`.
    fn sh(fs: &mut MemFs, line: &str) -> Outcome {
        sh_args(fs, &line.split_whitespace().collect::<Vec<_>>())
    }

    fn sh_args(fs: &mut MemFs, args: &[&str]) -> Outcome {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = FsShell::new(&mut *fs, settings(), &mut out, &mut err).run(&args);
        Outcome {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
        }
    }

    impl Filesystems for &mut MemFs {
        fn get_file_info(
            &mut self,
            fs: &str,
            path: &str,
        ) -> Result<Option<FileStatus>, ClientError> {
            (**self).get_file_info(fs, path)
        }
        fn list(&mut self, fs: &str, path: &str) -> Result<Option<Vec<FileStatus>>, ClientError> {
            (**self).list(fs, path)
        }
        fn mkdirs(&mut self, fs: &str, path: &str, permission: u16) -> Result<bool, ClientError> {
            (**self).mkdirs(fs, path, permission)
        }
        fn create(
            &mut self,
            fs: &str,
            path: &str,
            spec: &CreateSpec,
        ) -> Result<FileStatus, ClientError> {
            (**self).create(fs, path, spec)
        }
        fn delete(&mut self, fs: &str, path: &str, recursive: bool) -> Result<bool, ClientError> {
            (**self).delete(fs, path, recursive)
        }
        fn rename(&mut self, fs: &str, src: &str, dst: &str) -> Result<bool, ClientError> {
            (**self).rename(fs, src, dst)
        }
    }

    fn ok(fs: &mut MemFs, line: &str) -> String {
        let outcome = sh(fs, line);
        assert_eq!(outcome.code, 0, "{line}: {}", outcome.err);
        assert_eq!(outcome.err, "", "{line}");
        outcome.out
    }

    fn fails(fs: &mut MemFs, line: &str, code: i32, err: &str) {
        let outcome = sh(fs, line);
        assert_eq!((outcome.code, outcome.err.as_str()), (code, err), "{line}");
    }

    fn file(name: &str, length: u64, replication: u16, owner: &str) -> FileStatus {
        FileStatus {
            file_id: 0,
            name: name.into(),
            is_dir: false,
            length,
            permission: 0o644,
            owner: owner.into(),
            group: "supergroup".into(),
            mtime: 1_686_670_020_000,
            atime: 1_686_670_000_000,
            replication,
            block_size: 134_217_728,
            children_num: 0,
        }
    }

    // ---------------------------------------------------------------- formatting

    #[test]
    fn permission_strings() {
        assert_eq!(symbolic_permission(0o755), "rwxr-xr-x");
        assert_eq!(symbolic_permission(0o644), "rw-r--r--");
        assert_eq!(symbolic_permission(0o000), "---------");
        assert_eq!(symbolic_permission(0o1777), "rwxrwxrwt");
        assert_eq!(symbolic_permission(0o1776), "rwxrwxrwT");
    }

    #[test]
    fn ls_columns_match_hadoops_example() {
        let stat = file("abc.txt", 8, 2, "ubuntu");
        let mut columns = LsColumns::default();
        columns.adjust([&stat]);
        assert_eq!(
            columns.line(&stat, "8", "2023-06-13 15:27", "/tmp/abc.txt"),
            "-rw-r--r--   2 ubuntu supergroup          8 2023-06-13 15:27 /tmp/abc.txt"
        );
        // Directories show `-` for replication; widths grow to the widest value and stay.
        let dir = FileStatus {
            file_id: 0,
            is_dir: true,
            permission: 0o755,
            replication: 0,
            length: 0,
            ..file("d", 0, 0, "hdfs")
        };
        let big = file("big", 123_456_789_012, 1000, "someone-long");
        columns.adjust([&dir, &big]);
        assert_eq!(
            columns.line(&dir, "0", "2023-06-13 15:27", "/d"),
            "drwxr-xr-x    - hdfs         supergroup            0 2023-06-13 15:27 /d"
        );
        columns.adjust([&stat]);
        assert_eq!(
            columns.line(&stat, "8", "2023-06-13 15:27", "/tmp/abc.txt"),
            "-rw-r--r--    2 ubuntu       supergroup            8 2023-06-13 15:27 /tmp/abc.txt"
        );
        // An empty owner or group has no column at all, as in Hadoop's format.
        let anonymous = FileStatus {
            file_id: 0,
            owner: String::new(),
            group: String::new(),
            ..stat.clone()
        };
        let mut columns = LsColumns::default();
        columns.adjust([&anonymous]);
        assert_eq!(
            columns.line(&anonymous, "8", "D", "p"),
            "-rw-r--r--   2          8 D p"
        );
    }

    #[test]
    fn dates_and_sizes() {
        assert_eq!(utc_seconds(1_686_670_026_123), "2023-06-13 15:27:06");
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00");
        assert_eq!(human_size(0), "0");
        assert_eq!(human_size(1023), "1023");
        assert_eq!(human_size(1024), "1 K");
        assert_eq!(human_size(1536), "1.5 K");
        assert_eq!(human_size(1280), "1.3 K", "half up, as Java's %.1f");
        assert_eq!(human_size(134_217_728), "128 M");
        assert_eq!(
            human_size(1024 * 1024 - 1),
            "1.0 M",
            "1024.0 K moves up a prefix"
        );
        assert_eq!(human_size(u64::MAX), "16.0 E");
    }

    #[test]
    fn stat_formats() {
        let stat = file("abcd.txt", 8, 2, "ubuntu");
        assert_eq!(
            format_stat(
                "type:%F perm:%a %u:%g size:%b mtime:%y atime:%x name:%n",
                "abcd.txt",
                &stat
            ),
            "type:regular file perm:644 ubuntu:supergroup size:8 mtime:2023-06-13 15:27:00 atime:2023-06-13 15:26:40 name:abcd.txt"
        );
        assert_eq!(
            format_stat("%b %o %r %u %n", "abc.txt", &stat),
            "8 134217728 2 ubuntu abc.txt"
        );
        assert_eq!(
            format_stat("%A %X %Y", "x", &stat),
            "rw-r--r-- 1686670000000 1686670020000"
        );
        // Unknown codes print their letter; a trailing % is dropped.
        assert_eq!(format_stat("%q%%%", "x", &stat), "q%");
        let dir = FileStatus {
            file_id: 0,
            is_dir: true,
            permission: 0o1777,
            ..stat
        };
        assert_eq!(
            format_stat("%F %a %A", "", &dir),
            "directory 1777 rwxrwxrwt"
        );
    }

    #[test]
    fn option_parsing_is_hadoops_command_format() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let (opts, rest) = parse_options(&args("-p -p /a /b"), 1, usize::MAX, &["p"]).unwrap();
        assert_eq!((opts.len(), rest), (1, args("/a /b")));
        assert_eq!(
            parse_options(&args("-rf /a"), 1, usize::MAX, &["r", "f"])
                .unwrap_err()
                .to_string(),
            "Illegal option -rf",
            "options are not bundled"
        );
        assert_eq!(
            parse_options(&args("-p"), 1, usize::MAX, &["p"])
                .unwrap_err()
                .to_string(),
            "Not enough arguments: expected 1 but got 0"
        );
        assert_eq!(
            parse_options(&args("a b c"), 1, 2, &[]).unwrap_err(),
            InputError::TooManyArguments {
                expected: 2,
                got: 3
            }
        );
        let (_, rest) = parse_options(&args("-- -p"), 1, 1, &["p"]).unwrap();
        assert_eq!(rest, args("-p"));
        let (_, rest) = parse_options(&args("- x"), 1, 2, &[]).unwrap();
        assert_eq!(rest, args("- x"));
    }

    #[test]
    fn path_helpers() {
        assert_eq!(relativize("/user/u", "/user/u", true), ".");
        assert_eq!(relativize("/user/u", "/user/u/a", false), "a");
        assert_eq!(relativize("/user/u", "/user/u/d", true), "d");
        assert_eq!(relativize("/user/u", "/tmp/x", false), "../../tmp/x");
        assert_eq!(relativize("/user/u", "/user", true), "..");
        assert_eq!(child_shown(".", "a"), "a");
        assert_eq!(child_shown("/", "a"), "/a");
        assert_eq!(child_shown("hdfs://ns", "a"), "hdfs://ns/a");
        assert_eq!(child_shown("hdfs://ns/", "a"), "hdfs://ns/a");
        assert_eq!(child_shown("d", "a"), "d/a");
        assert!(represents_directory("x/"));
        assert!(represents_directory("hdfs://ns"));
        assert!(represents_directory(".."));
        assert!(!represents_directory("hdfs://ns/x"));
        assert_eq!(split_scheme("hdfs://ns/x"), Some(("hdfs", "//ns/x")));
        assert_eq!(split_scheme("a:b/c"), None);
        assert_eq!(normalize_components("/a/./b/../c//d/"), ["a", "c", "d"]);
        assert_eq!(
            default_authority("hdfs://mycluster/"),
            Ok("mycluster".into())
        );
        assert_eq!(
            default_authority("file:///"),
            Err(InputError::NoFileSystem("file".into()))
        );
        assert_eq!(
            default_authority("file:///").unwrap_err().to_string(),
            "No FileSystem for scheme \"file\""
        );
    }

    #[test]
    fn globs() {
        let m = |p: &str, name: &str| GlobPattern::new(p).unwrap().matches(name);
        assert!(m("*", "anything") && m("*", ""));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("*.txt", "x.txt") && !m("*.txt", "x.txt2"));
        assert!(m("[a-c]x", "bx") && !m("[a-c]x", "dx"));
        assert!(m("[!a-c]x", "dx") && m("[^a]x", "bx") && !m("[^a]x", "ax"));
        assert!(m("{foo,ba{r,z}}", "baz") && m("{foo,ba{r,z}}", "foo") && !m("{foo,bar}", "ba"));
        assert!(m("a\\*", "a*") && !m("a\\*", "ab"));
        assert!(has_wildcard("a*") && !has_wildcard("a\\*") && !has_wildcard("plain"));
        assert_eq!(
            GlobPattern::new("{a,b").unwrap_err().to_string(),
            "Illegal file pattern: Unclosed group near index 4"
        );
        assert!(GlobPattern::new("[ab").is_err());
    }

    // ---------------------------------------------------------------- commands

    #[test]
    fn usage_and_unknown_commands() {
        let mut fs = MemFs::new();
        let outcome = sh(&mut fs, "");
        assert_eq!(outcome.code, 255);
        assert!(
            outcome.err.starts_with(
                "Usage: hadoop fs [generic options]\n\t[-cat [-ignoreCrc] <src> ...]\n"
            )
        );
        assert!(
            outcome
                .err
                .contains("\t[-usage [cmd ...]]\n\nGeneric options supported are:\n")
        );

        let outcome = sh(&mut fs, "-foo /x");
        assert_eq!(outcome.code, 255);
        assert!(
            outcome
                .err
                .starts_with("-foo: Unknown command\nUsage: hadoop fs [generic options]\n")
        );

        let outcome = sh(&mut fs, "ls /");
        assert!(outcome.err.starts_with(
            "ls: Unknown command\nDid you mean -ls?  This command begins with a dash.\n"
        ));

        let outcome = sh(&mut fs, "-mkdir");
        assert_eq!(outcome.code, 255);
        assert!(outcome.err.starts_with("-mkdir: Not enough arguments: expected 1 but got 0\nUsage: hadoop fs [generic options]\n"));
        assert!(
            outcome
                .err
                .ends_with("\nUsage: hadoop fs [generic options] -mkdir [-p] <path> ...\n")
        );

        let outcome = sh(&mut fs, "-rm -rf /x");
        assert_eq!(outcome.code, 255);
        assert!(outcome.err.starts_with("-rm: Illegal option -rf\n"));
    }

    #[test]
    fn help_and_usage() {
        let mut fs = MemFs::new();
        assert_eq!(
            ok(&mut fs, "-usage mkdir"),
            "Usage: hadoop fs [generic options] -mkdir [-p] <path> ...\n"
        );
        assert_eq!(
            ok(&mut fs, "-help mkdir"),
            "-mkdir [-p] <path> ... :\n  Create a directory in specified location.\n\n  -p  Do not fail if the directory already exists\n"
        );
        let all = ok(&mut fs, "-help");
        assert!(all.contains("\n-touchz <path> ... :\n  Creates a file of zero length"));
        assert!(all.ends_with("command [genericOptions] [commandOptions]\n"));
        let outcome = sh(&mut fs, "-help nope");
        assert_eq!(outcome.code, 255);
        assert!(outcome.err.starts_with("-help: `nope': Unknown command\n"));
    }

    #[test]
    fn mkdir_rules() {
        let mut fs = MemFs::new();
        assert_eq!(ok(&mut fs, "-mkdir /x"), "");
        fails(&mut fs, "-mkdir /x", 1, "mkdir: `/x': File exists\n");
        assert_eq!(ok(&mut fs, "-mkdir -p /x /x/y/z"), "");
        fails(
            &mut fs,
            "-mkdir /a/b",
            1,
            "mkdir: `/a/b': No such file or directory\n",
        );
        ok(&mut fs, "-touchz /f");
        fails(&mut fs, "-mkdir /f", 1, "mkdir: `/f': Is not a directory\n");
        fails(
            &mut fs,
            "-mkdir -p /f/g",
            1,
            "mkdir: /f (is not a directory)\n",
        );
        // Each argument is tried; the status reflects any failure.
        fails(&mut fs, "-mkdir /x /new", 1, "mkdir: `/x': File exists\n");
        assert!(
            fs.spaces["mycluster"]
                .get_file_info("/new")
                .unwrap()
                .is_some()
        );
        // The umask applies: 0777 & ~022.
        assert!(fs.calls.iter().any(|c| c == "mkdirs /new 755"));
        // Relative paths are under /user/<user>.
        ok(&mut fs, "-mkdir -p rel/dir");
        assert!(
            fs.spaces["mycluster"]
                .get_file_info("/user/alice/rel/dir")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn ls_listings() {
        let mut fs = MemFs::new();
        ok(&mut fs, "-mkdir -p /tmp/sub");
        ok(&mut fs, "-touchz /tmp/b.txt /tmp/a.txt");
        let out = ok(&mut fs, "-ls /tmp");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Found 3 items");
        assert!(
            lines[1].starts_with("-rw-r--r--   3 alice supergroup          0 ")
                && lines[1].ends_with(" /tmp/a.txt"),
            "{out}"
        );
        assert!(lines[2].ends_with(" /tmp/b.txt"));
        assert!(
            lines[3].starts_with("drwxr-xr-x   - alice supergroup          0 ")
                && lines[3].ends_with(" /tmp/sub")
        );
        // A file argument: its line only.
        let out = ok(&mut fs, "-ls /tmp/a.txt");
        assert_eq!(out.lines().count(), 1);
        assert!(out.trim_end().ends_with(" /tmp/a.txt"));
        // An empty directory prints nothing; -R has no header and recurses.
        assert_eq!(ok(&mut fs, "-ls /tmp/sub"), "");
        let out = ok(&mut fs, "-ls -R /");
        let paths: Vec<&str> = out.lines().map(|l| l.rsplit(' ').next().unwrap()).collect();
        assert_eq!(paths, ["/tmp", "/tmp/a.txt", "/tmp/b.txt", "/tmp/sub"]);
        // -C prints paths; -d lists a directory as itself; a scheme is kept.
        assert_eq!(
            ok(&mut fs, "-ls -C hdfs://mycluster/tmp"),
            "hdfs://mycluster/tmp/a.txt\nhdfs://mycluster/tmp/b.txt\nhdfs://mycluster/tmp/sub\n"
        );
        let out = ok(&mut fs, "-ls -d /tmp");
        assert!(out.starts_with("drwxr-xr-x") && out.trim_end().ends_with(" /tmp"));
        // Globs print their matches; -r reverses.
        assert_eq!(ok(&mut fs, "-ls -C /tmp/*.txt"), "/tmp/a.txt\n/tmp/b.txt\n");
        assert_eq!(
            ok(&mut fs, "-ls -C -r /tmp"),
            "/tmp/sub\n/tmp/b.txt\n/tmp/a.txt\n"
        );
        fails(
            &mut fs,
            "-ls /nope",
            1,
            "ls: `/nope': No such file or directory\n",
        );
        fails(
            &mut fs,
            "-ls /tmp/*.doc",
            1,
            "ls: `/tmp/*.doc': No such file or directory\n",
        );
        // No argument lists the home directory, by relative names.
        fails(&mut fs, "-ls", 1, "ls: `.': No such file or directory\n");
        ok(&mut fs, "-mkdir -p d");
        ok(&mut fs, "-touchz d/f");
        let out = ok(&mut fs, "-ls");
        assert!(
            out.starts_with("Found 1 items\n") && out.trim_end().ends_with(" d"),
            "{out}"
        );
        assert!(ok(&mut fs, "-ls d").trim_end().ends_with(" d/f"));
        assert_eq!(
            ok(&mut fs, "-ls -C /user/alice/d/../d/f"),
            "/user/alice/d/f\n"
        );
    }

    #[test]
    fn rm_rules() {
        let mut fs = MemFs::new();
        ok(&mut fs, "-mkdir -p /dir/sub");
        ok(&mut fs, "-touchz /f");
        assert_eq!(ok(&mut fs, "-rm /f"), "Deleted /f\n");
        fails(
            &mut fs,
            "-rm /f",
            1,
            "rm: `/f': No such file or directory\n",
        );
        assert_eq!(ok(&mut fs, "-rm -f /f"), "");
        assert_eq!(ok(&mut fs, "-rm -f /nothing*"), "");
        fails(&mut fs, "-rm /dir", 1, "rm: `/dir': Is a directory\n");
        assert_eq!(ok(&mut fs, "-rm -r /dir"), "Deleted /dir\n");
        // The root cannot be deleted: the call answers false.
        fails(&mut fs, "-rm -r /", 1, "rm: `/': Input/output error\n");
    }

    #[test]
    fn mv_rules() {
        let mut fs = MemFs::new();
        ok(&mut fs, "-mkdir -p /a/x /d");
        ok(&mut fs, "-touchz /f /b");
        fails(&mut fs, "-mv /f /b", 1, "mv: `/b': File exists\n");
        fails(
            &mut fs,
            "-mv /f /x/b",
            1,
            "mv: `/x/b': No such file or directory\n",
        );
        fails(
            &mut fs,
            "-mv /nope /z",
            1,
            "mv: `/nope': No such file or directory\n",
        );
        fails(
            &mut fs,
            "-mv /a /a/b",
            1,
            "mv: `/a' to `/a/b': is a subdirectory of itself\n",
        );
        fails(
            &mut fs,
            "-mv /a /a/x",
            1,
            "mv: `/a' to `/a/x/a': is a subdirectory of itself\n",
        );
        fails(
            &mut fs,
            "-mv /a /",
            1,
            "mv: `/a' to `hdfs://mycluster/a': are identical\n",
        );
        assert_eq!(ok(&mut fs, "-mv /f /g"), "");
        // Into an existing directory, keeping the name.
        ok(&mut fs, "-mv /g /d");
        assert!(
            fs.spaces["mycluster"]
                .get_file_info("/d/g")
                .unwrap()
                .is_some()
        );
        ok(&mut fs, "-touchz /g");
        fails(&mut fs, "-mv /g /d", 1, "mv: `/d/g': File exists\n");
        // Several sources need a directory.
        fails(
            &mut fs,
            "-mv /g /b /nodir",
            1,
            "mv: `/nodir': No such file or directory\n",
        );
        fails(&mut fs, "-mv /g /b /g", 1, "mv: `/g': Is not a directory\n");
        ok(&mut fs, "-mv /g /b /a");
        assert_eq!(ok(&mut fs, "-ls -C /a"), "/a/b\n/a/g\n/a/x\n");
        // Across filesystems.
        ok(&mut fs, "-mkdir hdfs://other/t");
        fails(
            &mut fs,
            "-mv /a/b hdfs://other/t",
            1,
            "mv: `/a/b': Does not match target filesystem\n",
        );
        fails(
            &mut fs,
            "-mv",
            255,
            &format!(
                "-mv: Not enough arguments: expected 2 but got 0\n{}{}",
                full_usage(),
                "Usage: hadoop fs [generic options] -mv <src> ... <dst>\n"
            ),
        );
    }

    #[test]
    fn touchz_rules() {
        let mut fs = MemFs::new();
        assert_eq!(ok(&mut fs, "-touchz /e"), "");
        assert_eq!(
            ok(&mut fs, "-touchz /e"),
            "",
            "an empty file may be touched again"
        );
        ok(&mut fs, "-mkdir /d");
        fails(&mut fs, "-touchz /d", 1, "touchz: `/d': Is a directory\n");
        let attrs = Attributes {
            permission: 0o644,
            owner: "alice".into(),
            group: "supergroup".into(),
            mtime: 1,
        };
        let ns = fs.spaces.get_mut("mycluster").unwrap();
        for op in ns
            .plan_create("/full", &attrs, false, false, 3, 5, 1, WRITER)
            .unwrap()
        {
            ns.apply(&op).unwrap();
        }
        fails(
            &mut fs,
            "-touchz /full",
            1,
            "touchz: `/full': Not a zero-length file\n",
        );
        fails(
            &mut fs,
            "-touchz /no/x",
            1,
            "touchz: `/no/x': No such file or directory: `hdfs://mycluster/no/x'\n",
        );
        let stat = fs.spaces["mycluster"].get_file_info("/e").unwrap().unwrap();
        assert_eq!(
            (stat.permission, stat.replication, stat.length),
            (0o644, 3, 0)
        );
    }

    #[test]
    fn stat_and_cat() {
        let mut fs = MemFs::new();
        ok(&mut fs, "-mkdir /d");
        ok(&mut fs, "-touchz /d/f");
        let mtime = fs.spaces["mycluster"]
            .get_file_info("/d/f")
            .unwrap()
            .unwrap()
            .mtime;
        assert_eq!(
            ok(&mut fs, "-stat /d/f"),
            format!("{}\n", utc_seconds(mtime))
        );
        assert_eq!(
            ok(&mut fs, "-stat %n:%F:%r:%o:%u:%g:%a /d /d/f"),
            "d:directory:0:0:alice:supergroup:755\nf:regular file:3:134217728:alice:supergroup:644\n"
        );
        assert_eq!(ok(&mut fs, "-stat -R %n /d"), "d\nf\n");
        fails(
            &mut fs,
            "-stat %n /nope",
            1,
            "stat: `/nope': No such file or directory\n",
        );
        fails(
            &mut fs,
            "-stat %n",
            255,
            &format!(
                "-stat: Not enough arguments: expected 1 but got 0\n{}Usage: hadoop fs [generic options] -stat [format] <path> ...\n",
                full_usage()
            ),
        );
        let cat = ok(&mut fs, "-cat /d/f");
        assert_eq!(
            cat,
            ok(&mut fs, "-ls /d/f"),
            "cat prints the file's ls line"
        );
        fails(&mut fs, "-cat /d", 1, "cat: `/d': Is a directory\n");
    }

    #[test]
    fn put_records_local_lengths() {
        let mut fs = MemFs::new();
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("abc.txt");
        std::fs::write(&local, b"a b c\n\n").unwrap();
        std::fs::create_dir(dir.path().join("tree")).unwrap();
        std::fs::write(dir.path().join("tree/one"), b"1").unwrap();
        std::fs::create_dir(dir.path().join("tree/sub")).unwrap();
        std::fs::write(dir.path().join("tree/sub/two"), b"22").unwrap();
        let local = local.to_str().unwrap();
        ok(&mut fs, "-mkdir /tmp");
        assert_eq!(ok(&mut fs, &format!("-put {local} /tmp/abc.txt")), "");
        let stat = fs.spaces["mycluster"]
            .get_file_info("/tmp/abc.txt")
            .unwrap()
            .unwrap();
        assert_eq!(
            (stat.length, stat.replication, stat.permission),
            (7, 3, 0o644)
        );
        fails(
            &mut fs,
            &format!("-put {local} /tmp/abc.txt"),
            1,
            "put: `/tmp/abc.txt': File exists\n",
        );
        ok(&mut fs, &format!("-put -f -l {local} /tmp/abc.txt"));
        let stat = fs.spaces["mycluster"]
            .get_file_info("/tmp/abc.txt")
            .unwrap()
            .unwrap();
        assert_eq!(stat.replication, 1);
        // Into a directory, keeping the names; file: URIs; a whole tree.
        let second = dir.path().join("second");
        std::fs::write(&second, b"").unwrap();
        ok(&mut fs, "-mkdir /user");
        ok(
            &mut fs,
            &format!("-put file://{local} {} /user", second.display()),
        );
        assert_eq!(ok(&mut fs, "-ls -C /user"), "/user/abc.txt\n/user/second\n");
        ok(
            &mut fs,
            &format!("-put {} /tmp", dir.path().join("tree").display()),
        );
        assert_eq!(
            ok(&mut fs, "-ls -R -C /tmp"),
            "/tmp/abc.txt\n/tmp/tree\n/tmp/tree/one\n/tmp/tree/sub\n/tmp/tree/sub/two\n"
        );
        let two = fs.spaces["mycluster"]
            .get_file_info("/tmp/tree/sub/two")
            .unwrap()
            .unwrap();
        assert_eq!(two.length, 2);
        fails(
            &mut fs,
            "-put /no/such/file /tmp/x",
            1,
            "put: `/no/such/file': No such file or directory\n",
        );
        fails(
            &mut fs,
            &format!("-put {local} /none/x"),
            1,
            "put: `/none/x': No such file or directory\n",
        );
        // One argument puts into the home directory.
        ok(&mut fs, "-mkdir -p /user/alice");
        ok(&mut fs, &format!("-put {local}"));
        assert!(
            fs.spaces["mycluster"]
                .get_file_info("/user/alice/abc.txt")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn client_errors_print_their_message() {
        let mut fs = MemFs::new();
        fs.failure = Some(ClientError::Remote {
            class: "StandbyException".into(),
            message: "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error\nsecond line".into(),
        });
        fails(
            &mut fs,
            "-ls /",
            1,
            "ls: Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error\n",
        );
        // A filesystem that cannot be made is an IllegalArgumentException: usage, 255.
        fs.failure = None;
        let outcome = sh(&mut fs, "-ls hdfs://nowhere/");
        assert_eq!(outcome.code, 255);
        assert!(
            outcome
                .err
                .starts_with("-ls: java.net.UnknownHostException: nowhere\nUsage: hadoop fs")
        );
        fails(
            &mut fs,
            "-ls file:///tmp",
            1,
            "ls: No FileSystem for scheme \"file\"\n",
        );
    }
}
