//! hdfs-native (PyPI `hdfs-native`, Python bindings of the Rust HDFS client: a client we did
//! not write) against our NameNode pair through the nameservice `hdfs://ns1`, with both
//! NameNodes configured: `tests/data/hdfs_native_client.py` makes the namespace calls (mkdirs,
//! create, get_file_info, list_status, glob_status, rename, set_permission, set_owner,
//! set_replication, set_times, get_acl_status, recover_lease, get_content_summary, delete) and
//! checks their answers, and writing data fails with the NameNode's own exception — on the
//! first active NameNode, then with the same client after a kill -9 of it and the other taking
//! over, then with a fresh client whose first NameNode is the killed one, back in standby.
//! dev/test.sh installs hdfs-native; without it this test fails and says what is missing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cluster::{JournalNodes, NameNodes, format_and_start, listing};
use common::repo;
use hdfs_ha::zkfc::rpc::RequestSource;

/// How long one phase of the script may take (each is a few dozen calls).
const PHASE_DEADLINE: Duration = Duration::from_secs(120);

/// The script, killed when the test ends (also when it fails), with its output as lines.
struct Script {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Script {
    fn start(nns: &NameNodes, user: &str) -> Script {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/data/hdfs_native_client.py"))
            .arg(user)
            .env("HADOOP_CONF_DIR", nns.conf_dir.path())
            // hdfs-native takes its user from these before the OS user.
            .env_remove("HADOOP_USER_NAME")
            .env_remove("HADOOP_PROXY_USER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let stdin = child.stdin.take().unwrap();
        Script {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line starting with `prefix`; returns it.
    fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + PHASE_DEADLINE;
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "hdfs-native's script never printed {prefix:?}:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the end of `phase` and asserts that all its `checks` passed.
    fn expect_phase(&mut self, phase: &str, checks: usize) {
        let summary = self.expect(&format!("{phase}: "));
        assert_eq!(
            summary,
            format!("{phase}: {checks} passed, 0 failed"),
            "\n{}",
            self.seen.join("\n")
        );
    }

    fn go_on(&mut self) {
        writeln!(self.stdin, "go").unwrap();
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_native_works_against_our_namenodes_across_a_kill9_failover() {
    let probe = Command::new("python3")
        .args(["-c", "import hdfs_native"])
        .status()
        .expect("python3");
    assert!(
        probe.success(),
        "Python's hdfs-native is not installed (dev/test.sh installs it: pip install hdfs-native)"
    );
    let jns = JournalNodes::start(true);
    // hdfs-native finds the NameNodes from dfs.ha.namenodes.ns1 and
    // dfs.namenode.rpc-address.ns1.*, and backs off between them by dfs.client.failover.*
    // (NameNodes::configure keeps those short); it does not need the proxy provider, which
    // Hadoop's clients do, so it is set as a real deployment sets it.
    let mut nns = NameNodes::configure(
        &jns,
        &[(
            "dfs.client.failover.proxy.provider.ns1",
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
        )],
    );
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();

    // The NameNodes' own user, a superuser: the owner of everything the script makes.
    let user = hdfs_ha::host::current_user();
    let mut script = Script::start(&nns, &user);
    script.expect_phase("before", 10);
    script.expect("ready for failover");
    assert_eq!(listing(&nns, 0, "/before").await, ["logs", "renamed"]);

    // kill -9 the active; the other NameNode takes over and the same client follows it.
    nns.kill9(0);
    nns.transition(1, true, RequestSource::User).await.unwrap();
    script.go_on();
    script.expect_phase("after", 11);
    script.expect("ready for a fresh client");
    assert_eq!(listing(&nns, 1, "/").await, ["after", "before"]);

    // The killed NameNode is back, in standby, and first in dfs.ha.namenodes.ns1: a fresh
    // client meets its StandbyException and moves on to the active.
    nns.start(0);
    assert_eq!(nns.state(0).await, "standby");
    script.go_on();
    script.expect_phase("fresh", 11);
    let status = script.child.wait().unwrap();
    assert!(status.success(), "{status}\n{}", script.seen.join("\n"));
    assert_eq!(listing(&nns, 1, "/").await, ["after", "before", "fresh"]);
}
