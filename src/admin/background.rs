//! `hdfs --daemon (start|stop|status) <daemon>`: a daemon in the background with a pid file
//! and log files, as Hadoop's `hadoop-functions.sh` manages them.
//!
//! - pid file `$HADOOP_PID_DIR/hadoop-$HADOOP_IDENT_STRING-<daemon>.pid` (`HADOOP_PID_DIR`
//!   defaults to `/tmp`, the ident to the user name);
//! - `$HADOOP_LOG_DIR/hadoop-<ident>-<daemon>-<host>.log` gets the daemon's log lines and
//!   `….out` its standard output (the previous five `.out` files are kept as `.out.1`…`.5`);
//!   `HADOOP_LOG_DIR` defaults to `$HADOOP_HOME/logs`, else `logs/` of the install that holds
//!   the configuration directory;
//! - start refuses while the pid file names a live daemon, removes a stale one, starts the
//!   daemon in a process group of its own with standard input closed, and fails (exit 1) when
//!   the daemon is gone a second later;
//! - stop sends SIGTERM, waits up to `HADOOP_STOP_TIMEOUT` seconds (5), then SIGKILL; the pid
//!   file is removed only if it still names the stopped process;
//! - status prints nothing: 0 running, 1 a pid file but no daemon, 3 not running.
//!
//! Unlike Hadoop's scripts, a pid file is trusted only when its process is still running this
//! daemon (its command line names it): a reused pid is never signalled. And a daemon that dies
//! at once is reported with its log file, where Hadoop's scripts exit 1 silently.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Why `--daemon` cannot do what it was asked (the texts of Hadoop's shell scripts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackgroundError {
    #[error("ERROR: --daemon must be followed by either \"start\", \"stop\", or \"status\".")]
    BadMode,

    #[error("ERROR: Unable to write in {}. Aborting.", .0.display())]
    Unwritable(PathBuf),
}

/// What `--daemon` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Start,
    Stop,
    Status,
}

impl Mode {
    /// Parses the word after `--daemon`.
    pub fn parse(word: Option<&str>) -> Result<Mode, BackgroundError> {
        match word {
            Some("start") => Ok(Mode::Start),
            Some("stop") => Ok(Mode::Stop),
            Some("status") => Ok(Mode::Status),
            _ => Err(BackgroundError::BadMode),
        }
    }
}

/// How long a started daemon must stay up to count as started (Hadoop's `sleep 1`).
const STARTUP_GRACE: Duration = Duration::from_secs(1);

/// How many old `.out` files are kept (Hadoop's `hadoop_rotate_log` default).
const OUT_FILES_KEPT: u32 = 5;

/// The files of one daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonFiles {
    pub pid: PathBuf,
    pub log: PathBuf,
    pub out: PathBuf,
}

impl DaemonFiles {
    /// The files of `daemon` from the environment (`HADOOP_PID_DIR`, `HADOOP_LOG_DIR`,
    /// `HADOOP_IDENT_STRING`, `HADOOP_HOME`) and the configuration directory.
    pub fn from_env(daemon: &str, conf_dir: &Path) -> DaemonFiles {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let pid_dir = var("HADOOP_PID_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        let log_dir = var("HADOOP_LOG_DIR")
            .map(PathBuf::from)
            .or_else(|| var("HADOOP_HOME").map(|h| Path::new(&h).join("logs")))
            .unwrap_or_else(|| install_root(conf_dir).join("logs"));
        let ident = var("HADOOP_IDENT_STRING").unwrap_or_else(crate::host::user_name);
        DaemonFiles::new(&pid_dir, &log_dir, &ident, daemon, crate::host::host_name())
    }

    pub fn new(pid_dir: &Path, log_dir: &Path, ident: &str, daemon: &str, host: &str) -> Self {
        let base = format!("hadoop-{ident}-{daemon}");
        DaemonFiles {
            pid: pid_dir.join(format!("{base}.pid")),
            log: log_dir.join(format!("{base}-{host}.log")),
            out: log_dir.join(format!("{base}-{host}.out")),
        }
    }
}

/// The install a configuration directory belongs to: `<root>/etc/hadoop` → `<root>`.
fn install_root(conf_dir: &Path) -> PathBuf {
    let parent = conf_dir.parent();
    match parent {
        Some(etc) if conf_dir.ends_with("etc/hadoop") => etc.parent().unwrap_or(etc).to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What the pid file says about the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running(i32),
    /// A pid file whose process is gone (or runs something else now).
    Dead,
    NotRunning,
}

impl Status {
    /// Hadoop's (LSB) exit status for `--daemon status`.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Running(_) => 0,
            Status::Dead => 1,
            Status::NotRunning => 3,
        }
    }
}

/// Reads the pid file and checks that its process is alive and is `daemon`.
pub fn status(files: &DaemonFiles, daemon: &str) -> Status {
    let Ok(text) = fs::read_to_string(&files.pid) else {
        return Status::NotRunning;
    };
    match text.trim().parse::<i32>() {
        Ok(pid) if runs(pid, daemon) => Status::Running(pid),
        _ => Status::Dead,
    }
}

/// Whether process `pid` is alive (not a zombie) and its command line names `daemon`.
fn runs(pid: i32, daemon: &str) -> bool {
    if pid <= 0 || !alive(pid) {
        return false;
    }
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| {
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == daemon.as_bytes())
        })
        .unwrap_or(false)
}

/// Whether `pid` exists and is not a zombie waiting to be reaped.
fn alive(pid: i32) -> bool {
    if kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    // `/proc/<pid>/stat`: "pid (comm) S …"; the state follows the last ')'.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = &stat[stat.rfind(')')? + 1..];
            after
                .split_whitespace()
                .next()
                .map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(true)
}

/// Makes `dir` and checks it can be written, with Hadoop's message when it cannot.
fn verify_dir(dir: &Path) -> Result<(), BackgroundError> {
    let probe = dir.join(std::process::id().to_string());
    fs::create_dir_all(dir)
        .and_then(|()| File::create(&probe).map(drop))
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|_| BackgroundError::Unwritable(dir.to_path_buf()))
}

/// Keeps the last [`OUT_FILES_KEPT`] `.out` files as `.out.1` (newest) … `.out.5`.
fn rotate(out: &Path) {
    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", out.display()));
    for n in (1..OUT_FILES_KEPT).rev() {
        let _ = fs::rename(numbered(n), numbered(n + 1));
    }
    let _ = fs::rename(out, numbered(1));
}

/// `--daemon start`: `command` is the program and arguments that run the daemon in the
/// foreground. Returns the exit status; messages go to `err`.
pub fn start(files: &DaemonFiles, daemon: &str, command: &[String], err: &mut dyn Write) -> i32 {
    for dir in [files.pid.parent(), files.log.parent()]
        .into_iter()
        .flatten()
    {
        if let Err(message) = verify_dir(dir) {
            let _ = writeln!(err, "{message}");
            return 1;
        }
    }
    match status(files, daemon) {
        Status::Running(pid) => {
            let _ = writeln!(
                err,
                "{daemon} is running as process {pid}.  Stop it first and ensure {} file is empty before retry.",
                files.pid.display()
            );
            return 1;
        }
        Status::Dead => {
            let _ = fs::remove_file(&files.pid);
        }
        Status::NotRunning => {}
    }
    rotate(&files.out);
    let append = |path: &Path| OpenOptions::new().create(true).append(true).open(path);
    let (out, log) = match (append(&files.out), append(&files.log)) {
        (Ok(out), Ok(log)) => (out, log),
        (Err(e), _) | (_, Err(e)) => {
            let _ = writeln!(err, "ERROR: Cannot open the log files of {daemon}: {e}");
            return 1;
        }
    };
    let Some((program, args)) = command.split_first() else {
        let _ = writeln!(err, "ERROR: no command to run {daemon}");
        return 1;
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let _ = writeln!(err, "ERROR: Cannot start {daemon} ({program}): {e}");
            return 1;
        }
    };
    let pid = child.id();
    if fs::write(&files.pid, format!("{pid}\n")).is_err() {
        let _ = writeln!(
            err,
            "ERROR:  Cannot write {daemon} pid {}.",
            files.pid.display()
        );
    }
    let deadline = Instant::now() + STARTUP_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(exit)) = child.try_wait() {
            let _ = writeln!(
                err,
                "ERROR: {daemon} exited ({exit}) as it started; see {}",
                files.log.display()
            );
            return 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    0
}

/// `--daemon stop`.
pub fn stop(files: &DaemonFiles, daemon: &str, err: &mut dyn Write) -> i32 {
    let pid = match status(files, daemon) {
        Status::Running(pid) => pid,
        Status::Dead => {
            let _ = fs::remove_file(&files.pid);
            return 0;
        }
        Status::NotRunning => return 0,
    };
    let timeout = std::env::var("HADOOP_STOP_TIMEOUT")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(5);
    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    if !wait_gone(pid, Duration::from_secs(timeout)) {
        let _ = writeln!(
            err,
            "WARNING: {daemon} did not stop gracefully after {timeout} seconds: Trying to kill with kill -9"
        );
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        if !wait_gone(pid, Duration::from_secs(5)) {
            let _ = writeln!(err, "ERROR: Unable to kill {pid}");
            return 1;
        }
    }
    let current = fs::read_to_string(&files.pid).ok();
    if current.as_deref().map(str::trim) == Some(pid.to_string().as_str()) {
        let _ = fs::remove_file(&files.pid);
    } else {
        let _ = writeln!(
            err,
            "WARNING: pid has changed for {daemon}, skip deleting pid file"
        );
    }
    0
}

/// Waits until `pid` is gone, at most `limit`.
fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> DaemonFiles {
        DaemonFiles::new(
            &dir.join("pids"),
            &dir.join("logs"),
            "tester",
            "sleeper",
            "h1",
        )
    }

    /// A stand-in daemon: `sh -c 'exec -a sleeper sleep 600'` makes "sleeper" its argv[0].
    fn sleeper(seconds: u32) -> Vec<String> {
        ["bash", "-c", &format!("exec -a sleeper sleep {seconds}")]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn names_follow_hadoop() {
        let f = DaemonFiles::new(Path::new("/p"), Path::new("/l"), "hdfs", "namenode", "m1");
        assert_eq!(f.pid, Path::new("/p/hadoop-hdfs-namenode.pid"));
        assert_eq!(f.log, Path::new("/l/hadoop-hdfs-namenode-m1.log"));
        assert_eq!(f.out, Path::new("/l/hadoop-hdfs-namenode-m1.out"));
        assert_eq!(
            install_root(Path::new("/opt/x/etc/hadoop")),
            Path::new("/opt/x")
        );
        assert_eq!(
            Mode::parse(Some("restart")).unwrap_err().to_string(),
            "ERROR: --daemon must be followed by either \"start\", \"stop\", or \"status\"."
        );
    }

    #[test]
    fn start_status_stop_and_a_second_start_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let mut err = Vec::new();
        assert_eq!(status(&f, "sleeper"), Status::NotRunning);
        assert_eq!(start(&f, "sleeper", &sleeper(600), &mut err), 0);
        let Status::Running(pid) = status(&f, "sleeper") else {
            panic!("not running: {}", String::from_utf8_lossy(&err));
        };
        assert_eq!(start(&f, "sleeper", &sleeper(600), &mut err), 1);
        let text = String::from_utf8_lossy(&err).to_string();
        assert!(
            text.starts_with(&format!(
                "sleeper is running as process {pid}.  Stop it first"
            )),
            "{text}"
        );
        assert_eq!(stop(&f, "sleeper", &mut err), 0);
        assert!(!alive(pid));
        assert!(!f.pid.exists());
        assert_eq!(status(&f, "sleeper").exit_code(), 3);
        // Stopping what is not running is quiet.
        let mut quiet = Vec::new();
        assert_eq!(stop(&f, "sleeper", &mut quiet), 0);
        assert!(quiet.is_empty());
    }

    #[test]
    fn a_daemon_that_dies_at_once_fails_the_start_and_leaves_a_dead_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let mut err = Vec::new();
        let command: Vec<String> = ["bash", "-c", "echo broken config >&2; exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(start(&f, "sleeper", &command, &mut err), 1);
        let text = String::from_utf8_lossy(&err);
        assert!(text.contains("exited (exit status: 3)"), "{text}");
        assert!(text.contains(&f.log.display().to_string()), "{text}");
        assert_eq!(fs::read_to_string(&f.log).unwrap(), "broken config\n");
        assert_eq!(status(&f, "sleeper").exit_code(), 1);
    }

    #[test]
    fn a_reused_pid_is_never_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        fs::create_dir_all(f.pid.parent().unwrap()).unwrap();
        // Our own pid: alive, but not running "sleeper".
        fs::write(&f.pid, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(status(&f, "sleeper"), Status::Dead);
        let mut err = Vec::new();
        assert_eq!(stop(&f, "sleeper", &mut err), 0);
        assert!(!f.pid.exists());
    }

    #[test]
    fn out_files_rotate_keeping_five() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d.out");
        for n in 0..7 {
            fs::write(&out, format!("{n}")).unwrap();
            rotate(&out);
        }
        let kept: Vec<String> = (1..=6)
            .map(|n| fs::read_to_string(format!("{}.{n}", out.display())).unwrap_or_default())
            .collect();
        assert_eq!(kept, ["6", "5", "4", "3", "2", ""]);
    }

    #[test]
    fn an_unwritable_pid_dir_is_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("pids"), b"a file").unwrap();
        let f = files(dir.path());
        let mut err = Vec::new();
        assert_eq!(start(&f, "sleeper", &sleeper(1), &mut err), 1);
        assert_eq!(
            String::from_utf8_lossy(&err).trim(),
            format!(
                "ERROR: Unable to write in {}. Aborting.",
                dir.path().join("pids").display()
            )
        );
    }
}
