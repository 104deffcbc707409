//! Fencing (reference §4): `NodeFencer` runs the configured methods in order until one
//! succeeds, with Hadoop's log lines; `shell(...)` runs a command with `bash -e -c`; and
//! `sshfence([user][:port])` kills the process listening on the target's RPC port over ssh.
//!
//! `shell(...)`: stdin is closed; the environment is ours plus every configuration entry of the
//! target (`.` and `-` turned into `_`) and `$target_host`, `$target_port`, `$target_address`,
//! `$target_namenodeid`, `$target_nameserviceid`; stdout lines are logged at INFO and stderr
//! lines at WARN, each prefixed `[PID <pid>] <command abbreviated>: `; exit status 0 means
//! fenced. Unlike Hadoop, which waits forever, a command still running after
//! `dfs.ha.fencing.shell.timeout.ms` has its whole process group killed (it runs in a group of
//! its own) and counts as a failed method, so that a hung script cannot stall a failover.
//!
//! `sshfence`: the system `ssh` client (batch mode, no host-key check, the keys of
//! `dfs.ha.fencing.ssh.private-key-files`, `ConnectTimeout` from
//! `dfs.ha.fencing.ssh.connect-timeout`) runs `PATH=$PATH:/sbin:/usr/sbin fuser -v -k -n tcp
//! <port>` on the target's RPC host; exit status 0 means killed; 1 means nothing was found or
//! it could not be killed, settled by `nc -z <host> <port>`: still listening means not fenced.
//! ssh's own failure (status 255) means we could not connect. Each remote command is also
//! bounded by the connect timeout plus the shell timeout.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::conf::FencerConf;
use super::target::{NnTarget, TargetError};
use crate::conf::FenceMethod;

const LOG: &str = "org.apache.hadoop.ha.NodeFencer";
const SHELL_LOG: &str = "org.apache.hadoop.ha.ShellCommandFencer";
const SSH_LOG: &str = "org.apache.hadoop.ha.SshFenceByTcpPort";

/// How much of a command the output prefix shows (`ShellCommandFencer.ABBREV_LENGTH`).
const ABBREV_LENGTH: usize = 20;

/// Why an old active NameNode was not fenced (`ZKFailoverController.doFence`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceError {
    /// The lock or breadcrumb names no NameNode of our configuration.
    #[error(transparent)]
    Target(#[from] TargetError),

    /// The old active has no fencing method configured.
    #[error("Unable to fence old active")]
    NotConfigured,

    /// Every configured method failed; names the target (`NameNode at host/ip:port`).
    #[error("Unable to fence {0}")]
    Failed(String),
}

/// The configured fencing methods of one target, run in order.
#[derive(Debug, Clone)]
pub struct NodeFencer {
    methods: Vec<FenceMethod>,
    conf: FencerConf,
}

impl NodeFencer {
    /// The fencer of `target`, or why it has none (Hadoop's `checkFencingConfigured`).
    pub fn for_target(target: &NnTarget, conf: &FencerConf) -> Result<NodeFencer, TargetError> {
        Ok(NodeFencer {
            methods: target.fence_methods()?.to_vec(),
            conf: conf.clone(),
        })
    }

    pub fn new(methods: Vec<FenceMethod>, conf: FencerConf) -> NodeFencer {
        NodeFencer { methods, conf }
    }

    /// Tries each method until one succeeds; `false` when none did.
    pub async fn fence(&self, target: &NnTarget) -> bool {
        tracing::info!(target: LOG, "====== Beginning Service Fencing Process... ======");
        let total = self.methods.len();
        for (i, method) in self.methods.iter().enumerate() {
            tracing::info!(target: LOG, "Trying method {}/{total}: {method}", i + 1);
            let fenced = match method {
                FenceMethod::Shell { command } => {
                    shell_fence(command, target, self.conf.shell_timeout).await
                }
                FenceMethod::Ssh { user, port } => {
                    ssh_fence(user.as_deref(), *port, target, &self.conf).await
                }
            };
            if fenced {
                tracing::info!(
                    target: LOG,
                    "====== Fencing successful by method {method} ======"
                );
                return true;
            }
            tracing::warn!(target: LOG, "Fencing method {method} was unsuccessful.");
        }
        tracing::error!(target: LOG, "Unable to fence service by any configured method.");
        false
    }
}

/// `ShellCommandFencer.abbreviate`: the head and tail of a long command around `...`.
pub fn abbreviate(command: &str, len: usize) -> String {
    let chars: Vec<char> = command.chars().collect();
    if chars.len() > len && len >= 5 {
        let first_half = (len - 3) / 2;
        let rest = len - first_half - 3;
        let head: String = chars[..first_half].iter().collect();
        let tail: String = chars[chars.len() - rest..].iter().collect();
        format!("{head}...{tail}")
    } else {
        command.to_string()
    }
}

/// The environment a `shell(...)` command runs with, besides ours.
pub fn shell_environment(target: &NnTarget) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = target
        .conf
        .entries()
        .into_iter()
        .map(|(key, value)| (key.replace(['.', '-'], "_"), value))
        .collect();
    for (key, value) in target.fencing_parameters() {
        env.push((format!("target_{key}"), value));
    }
    env
}

/// Logs each line of `stream` with `prefix`, at INFO (stdout) or WARN (stderr).
async fn pump(stream: impl AsyncRead + Unpin, log: &'static str, prefix: String, warn: bool) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match (log, warn) {
            (SHELL_LOG, false) => tracing::info!(target: SHELL_LOG, "{prefix}{line}"),
            (SHELL_LOG, true) => tracing::warn!(target: SHELL_LOG, "{prefix}{line}"),
            (_, false) => tracing::info!(target: SSH_LOG, "{prefix}{line}"),
            (_, true) => tracing::warn!(target: SSH_LOG, "{prefix}{line}"),
        }
    }
}

/// Kills a process group we started.
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Runs `program args` in a process group of its own, pumping its output into the log with
/// `prefix_of(pid)`; its exit status, or `None` when it had to be killed after `timeout`.
async fn run_logged(
    mut command: tokio::process::Command,
    log: &'static str,
    prefix_of: impl Fn(u32) -> String,
    timeout: Duration,
    what: &str,
) -> std::io::Result<Option<i32>> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    if log == SHELL_LOG {
        tracing::info!(target: SHELL_LOG, "Launched fencing command '{what}' with pid {pid}");
    }
    let prefix = prefix_of(pid);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let pumps = async {
        let out = async {
            if let Some(s) = stdout {
                pump(s, log, prefix.clone(), false).await
            }
        };
        let err = async {
            if let Some(s) = stderr {
                pump(s, log, prefix.clone(), true).await
            }
        };
        tokio::join!(out, err);
    };
    // The command's exit and the end of its output, both within the timeout.
    let finished = tokio::time::timeout(timeout, async {
        let (status, ()) = tokio::join!(child.wait(), pumps);
        status
    })
    .await;
    match finished {
        Ok(Ok(status)) => Ok(Some(status.code().unwrap_or(-1))),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            tracing::warn!(
                target: SHELL_LOG,
                "Fencing command '{what}' (pid {pid}) did not finish within {} ms (dfs.ha.fencing.shell.timeout.ms); killing its process group",
                timeout.as_millis()
            );
            kill_group(pid);
            let _ = child.wait().await;
            Ok(None)
        }
    }
}

/// `shell(command)`.
async fn shell_fence(command: &str, target: &NnTarget, timeout: Duration) -> bool {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-e").arg("-c").arg(command);
    for (key, value) in shell_environment(target) {
        cmd.env(key, value);
    }
    let abbreviated = abbreviate(command, ABBREV_LENGTH);
    match run_logged(
        cmd,
        SHELL_LOG,
        |pid| format!("[PID {pid}] {abbreviated}: "),
        timeout,
        command,
    )
    .await
    {
        Ok(Some(code)) => code == 0,
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(target: SHELL_LOG, "Unable to execute {command}: {e}");
            false
        }
    }
}

/// ssh's exit status when ssh itself failed (connection, authentication).
const SSH_FAILED: i32 = 255;

async fn ssh_run(
    user: &str,
    ssh_port: u16,
    host: &str,
    remote: &str,
    conf: &FencerConf,
) -> std::io::Result<Option<i32>> {
    let connect_secs = conf.ssh_connect_timeout.as_millis().div_ceil(1000).max(1);
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
    ])
    .arg(format!("ConnectTimeout={connect_secs}"))
    .arg("-p")
    .arg(ssh_port.to_string())
    .arg("-l")
    .arg(user);
    for key in &conf.ssh_key_files {
        cmd.arg("-i").arg(key);
    }
    cmd.arg(host).arg(remote);
    let prefix = format!("{remote} via ssh: ");
    run_logged(
        cmd,
        SSH_LOG,
        |_| prefix.clone(),
        conf.ssh_connect_timeout + conf.shell_timeout,
        remote,
    )
    .await
}

/// `sshfence([user][:port])`.
async fn ssh_fence(
    user: Option<&str>,
    ssh_port: u16,
    target: &NnTarget,
    conf: &FencerConf,
) -> bool {
    let user = user
        .map(str::to_string)
        .unwrap_or_else(crate::host::current_user);
    let host = target.address.host.clone();
    let port = target.address.port;
    tracing::info!(target: SSH_LOG, "Connecting to {host}...");
    tracing::info!(target: SSH_LOG, "Looking for process running on port {port}");
    let kill = format!("PATH=$PATH:/sbin:/usr/sbin fuser -v -k -n tcp {port}");
    let unable = |why: &dyn std::fmt::Display| {
        tracing::warn!(target: SSH_LOG, "Unable to connect to {host} as user {user}: {why}");
        false
    };
    let rc = match ssh_run(&user, ssh_port, &host, &kill, conf).await {
        Ok(Some(SSH_FAILED)) => return unable(&"ssh exited with status 255"),
        Ok(Some(rc)) => rc,
        Ok(None) => return unable(&"timed out"),
        Err(e) => return unable(&e),
    };
    tracing::info!(target: SSH_LOG, "Connected to {host}");
    match rc {
        0 => {
            tracing::info!(
                target: SSH_LOG,
                "Successfully killed process that was listening on port {port}"
            );
            true
        }
        1 => {
            tracing::info!(
                target: SSH_LOG,
                "Indeterminate response from trying to kill service. Verifying whether it is running using nc..."
            );
            let check = format!("nc -z {host} {port}");
            match ssh_run(&user, ssh_port, &host, &check, conf).await {
                Ok(Some(0)) => {
                    tracing::warn!(
                        target: SSH_LOG,
                        "Unable to fence - it is running but we cannot kill it"
                    );
                    false
                }
                Ok(Some(SSH_FAILED)) => unable(&"ssh exited with status 255"),
                Ok(Some(_)) => {
                    tracing::info!(target: SSH_LOG, "Verified that the service is down.");
                    true
                }
                Ok(None) => unable(&"timed out"),
                Err(e) => unable(&e),
            }
        }
        rc => {
            tracing::info!(target: SSH_LOG, "rc: {rc}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::Configuration;

    #[test]
    fn commands_are_abbreviated_like_hadoop() {
        assert_eq!(abbreviate("abcdef", 5), "a...f");
        assert_eq!(abbreviate("abcdefgh", 7), "ab...gh");
        assert_eq!(abbreviate("abc", 5), "abc");
        assert_eq!(abbreviate("abcdef", 4), "abcdef");
        assert_eq!(
            abbreviate("/usr/local/bin/fence.sh --host nn1", 20),
            "/usr/loc...-host nn1"
        );
    }

    #[test]
    fn the_environment_carries_the_configuration_and_the_target() {
        let c = Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:8020"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
            ("in.fencing.tests", "yessir"),
        ]);
        let target = NnTarget::resolve(&c, "ns1", "nn2").unwrap();
        let env = shell_environment(&target);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("in_fencing_tests").as_deref(), Some("yessir"));
        // The target's scoped keys are promoted: the generic key holds its address.
        assert_eq!(
            get("dfs_namenode_rpc_address").as_deref(),
            Some("127.0.0.2:8020")
        );
        assert_eq!(get("target_host").as_deref(), Some("127.0.0.2"));
        assert_eq!(get("target_port").as_deref(), Some("8020"));
        assert_eq!(get("target_namenodeid").as_deref(), Some("nn2"));
        assert_eq!(get("target_nameserviceid").as_deref(), Some("ns1"));
        assert_eq!(
            get("target_address").as_deref(),
            Some("127.0.0.2/127.0.0.2:8020")
        );
    }

    /// Log lines written while `f` runs, as `LEVEL target: message`.
    fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_max_level(tracing::Level::INFO)
            .finish();
        // Interest is cached per callsite across threads: a callsite first hit by another test,
        // with no subscriber of its own, would otherwise stay silent here.
        let out = tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            f()
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        (out, text.lines().map(|l| l.trim().to_string()).collect())
    }

    fn target(extra: &[(&str, &str)]) -> NnTarget {
        let mut c = Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "dummyhost:1234"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
        ]);
        for (k, v) in extra {
            c.set(k, v);
        }
        NnTarget::resolve(&c, "ns1", "nn1").unwrap()
    }

    fn fencer(methods: &str, timeout_ms: u64) -> NodeFencer {
        NodeFencer::new(
            crate::conf::parse_fence_methods(methods).unwrap(),
            FencerConf {
                shell_timeout: Duration::from_millis(timeout_ms),
                ssh_key_files: Vec::new(),
                ssh_connect_timeout: Duration::from_millis(1000),
            },
        )
    }

    /// Runs the fencer on a single-threaded runtime (so that the capture sees every line).
    fn run_fence(f: &NodeFencer, t: &NnTarget) -> (bool, Vec<String>) {
        capture_logs(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f.fence(t))
        })
    }

    fn has(lines: &[String], needle: &str) -> bool {
        lines.iter().any(|l| l.contains(needle))
    }

    #[test]
    fn shell_success_failure_and_missing_binary() {
        let t = target(&[]);
        let (ok, lines) = run_fence(&fencer("shell(echo hello)", 10_000), &t);
        assert!(ok, "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("INFO") && l.contains("] echo hello: hello")),
            "{lines:#?}"
        );
        assert!(has(
            &lines,
            "Launched fencing command 'echo hello' with pid "
        ));
        assert!(has(
            &lines,
            "====== Fencing successful by method org.apache.hadoop.ha.ShellCommandFencer(echo hello) ======"
        ));
        let (ok, lines) = run_fence(&fencer("shell(exit 1)", 10_000), &t);
        assert!(!ok);
        assert!(has(
            &lines,
            "Fencing method org.apache.hadoop.ha.ShellCommandFencer(exit 1) was unsuccessful."
        ));
        assert!(has(
            &lines,
            "Unable to fence service by any configured method."
        ));
        let (ok, _) = run_fence(&fencer("shell(xxxxxxxxxxxx)", 10_000), &t);
        assert!(!ok);
    }

    #[test]
    fn stderr_is_logged_at_warn() {
        let t = target(&[]);
        let (ok, lines) = run_fence(&fencer("shell(echo oops >&2)", 10_000), &t);
        assert!(ok);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("WARN") && l.contains("] echo oops >&2: oops")),
            "{lines:#?}"
        );
    }

    #[test]
    fn configuration_and_target_are_in_the_environment() {
        let t = target(&[("in.fencing.tests", "yessir")]);
        let (ok, lines) = run_fence(
            &fencer(
                "shell(echo $in_fencing_tests $target_host $target_port)",
                10_000,
            ),
            &t,
        );
        assert!(ok);
        assert!(has(&lines, ": yessir dummyhost 1234"), "{lines:#?}");
    }

    #[test]
    fn stdin_is_closed() {
        let t = target(&[]);
        let (ok, _) = run_fence(&fencer("shell(read)", 10_000), &t);
        assert!(!ok, "read must fail on a closed stdin");
    }

    #[test]
    fn methods_fall_through_in_order() {
        let t = target(&[]);
        let (ok, lines) = run_fence(&fencer("shell(false)\nshell(true)", 10_000), &t);
        assert!(ok);
        let interesting: Vec<&String> = lines.iter().filter(|l| l.contains("NodeFencer")).collect();
        let expected = [
            "====== Beginning Service Fencing Process... ======",
            "Trying method 1/2: org.apache.hadoop.ha.ShellCommandFencer(false)",
            "Fencing method org.apache.hadoop.ha.ShellCommandFencer(false) was unsuccessful.",
            "Trying method 2/2: org.apache.hadoop.ha.ShellCommandFencer(true)",
            "====== Fencing successful by method org.apache.hadoop.ha.ShellCommandFencer(true) ======",
        ];
        assert_eq!(interesting.len(), expected.len(), "{lines:#?}");
        for (line, want) in interesting.iter().zip(expected) {
            assert!(line.ends_with(want), "{line} vs {want}");
        }
    }

    #[test]
    fn a_hung_command_is_killed_with_its_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let t = target(&[]);
        let started = std::time::Instant::now();
        let (ok, lines) = run_fence(
            &fencer(
                &format!("shell(sleep 30 & echo $! > {}; wait)", pidfile.display()),
                400,
            ),
            &t,
        );
        assert!(!ok);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(has(&lines, "did not finish within 400 ms"), "{lines:#?}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background child was in the group: it is gone (or a zombie being reaped).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let status = std::fs::read_to_string(format!("/proc/{pid}/stat"));
            let gone = match status {
                Err(_) => true,
                Ok(s) => s.split_whitespace().nth(2) == Some("Z"),
            };
            if gone {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "pid {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
