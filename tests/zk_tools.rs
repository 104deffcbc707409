//! The operator's tools around the coordination server: `zkserver`'s command line and exit
//! codes, `sbin/zkServer.sh start|status|stop`, and the `zkcli` shell.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::cluster::free_port;
use common::zookeeper::{ZkServer, four_letter};
use common::{binary, repo, run_with_timeout};

fn zkserver(args: &[&str]) -> (Option<i32>, String, String) {
    run_with_timeout(
        Command::new(binary("zkserver"))
            .args(args)
            .env("RUST_LOG", "info"),
        Duration::from_secs(30),
    )
}

#[test]
fn zkserver_exit_codes_and_messages_follow_quorum_peer_main() {
    let (code, _, err) = zkserver(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("Usage: QuorumPeerMain configfile"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(&cfg, "clientPort=2181\n").unwrap();
    let (code, _, err) = zkserver(&[cfg.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("Invalid config, exiting abnormally"), "{err}");
    assert!(err.contains("dataDir is not set"), "{err}");

    let (code, _, err) = zkserver(&[dir.path().join("missing.cfg").to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("file is missing"), "{err}");

    // A data directory that cannot be created.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    std::fs::write(
        &cfg,
        format!(
            "dataDir={}/sub\nclientPort={}\nclientPortAddress=127.0.0.1\n",
            blocker.display(),
            free_port("127.0.0.1")
        ),
    )
    .unwrap();
    let (code, _, err) = zkserver(&[cfg.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("Unable to access datadir, exiting abnormally"),
        "{err}"
    );
}

/// Stops a daemon started by zkServer.sh even when the test fails.
struct PidGuard(PathBuf);

impl Drop for PidGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
    }
}

#[test]
fn zkserver_sh_start_status_stop() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port("127.0.0.1");
    let data = dir.path().join("data");
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nmetricsProvider.httpPort={}\n",
            data.display(),
            free_port("127.0.0.1")
        ),
    )
    .unwrap();
    let _guard = PidGuard(data.join("zookeeper_server.pid"));
    let script = repo().join("sbin/zkServer.sh");
    let run = |cmd: &str| {
        run_with_timeout(
            Command::new("bash")
                .arg(&script)
                .arg(cmd)
                .arg(&cfg)
                .env("ZKSERVER", binary("zkserver"))
                .env("ZOO_LOG_DIR", dir.path().join("logs")),
            Duration::from_secs(60),
        )
    };
    let (code, out, err) = run("start");
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "Starting zookeeper ... STARTED\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!("Using config: {}", cfg.display())),
        "{err}"
    );
    let addr = format!("127.0.0.1:{port}");
    assert!(four_letter(&addr, "srvr").contains("Mode: standalone"));

    let (code, out, _) = run("status");
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        format!(
            "Client port found: {port}. Client address: 127.0.0.1. Client SSL: false.\nMode: standalone\n"
        )
    );
    let (code, out, _) = run("start");
    assert_eq!(code, Some(1));
    assert!(out.contains("already running as process"), "{out}");

    let (code, out, _) = run("stop");
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "Stopping zookeeper ... STOPPED\n")
    );
    assert_eq!(four_letter(&addr, "srvr"), "");
    let (code, out, _) = run("status");
    assert_eq!(code, Some(1));
    assert!(
        out.ends_with("Error contacting service. It is probably not running.\n"),
        "{out}"
    );
    let (_, out, _) = run("stop");
    assert!(
        out.contains("no zookeeper to stop (could not find file"),
        "{out}"
    );
}

#[test]
fn zkcli_one_shot_and_scripted() {
    let server = ZkServer::ours("");
    let addr = server.addr();
    let zkcli = |args: &[&str]| {
        run_with_timeout(
            Command::new(env!("CARGO_BIN_EXE_zkcli"))
                .arg("-server")
                .arg(&addr)
                .args(args),
            Duration::from_secs(30),
        )
    };
    let (code, _, err) = zkcli(&["create", "/cli", "hello"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("Created /cli"), "{err}");
    let (code, _, err) = zkcli(&["create", "-s", "/cli/s-", "x"]);
    assert_eq!(code, Some(0));
    assert!(err.contains("Created /cli/s-0000000000"), "{err}");
    let (code, out, _) = zkcli(&["ls", "/"]);
    assert_eq!((code, out.as_str()), (Some(0), "[cli, zookeeper]\n"));
    let (_, out, _) = zkcli(&["get", "-s", "/cli"]);
    assert!(out.starts_with("hello\ncZxid = 0x2\nctime = "), "{out}");
    assert!(out.contains("\ncversion = 1\ndataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 1\n"), "{out}");
    let (code, _, err) = zkcli(&["get", "/nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("Node does not exist: /nope"), "{err}");
    let (code, _, err) = zkcli(&["delete", "/cli"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("Node not empty: /cli"), "{err}");

    // Interactive use, commands on stdin.
    let script = "addauth digest u:p\ncreate /cli/p x auth::cdrwa\ngetAcl /cli/p\nset -v 0 /cli world\nset -v 0 /cli again\nsync /cli\nls -R /cli\ndeleteall /cli\nstat /cli\nquit\n";
    let input = server.dir.join("zkcli.txt");
    std::fs::write(&input, script).unwrap();
    let (code, out, err) = run_with_timeout(
        Command::new("sh").arg("-c").arg(format!(
            "{} -server {addr} < {}",
            env!("CARGO_BIN_EXE_zkcli"),
            input.display()
        )),
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=\n: cdrwa\nSync is OK\n/cli\n/cli/p\n/cli/s-0000000000\n"
    );
    assert!(err.contains("version No is not valid : /cli"), "{err}");
    assert!(err.contains("Node does not exist: /cli"), "{err}");
}

#[test]
fn zkcli_reports_a_watch_while_waiting_for_input() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;

    let server = ZkServer::ours("");
    let addr = server.addr();
    let mut cli = Command::new(env!("CARGO_BIN_EXE_zkcli"))
        .args(["-server", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zkcli");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdin = cli.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        Box::new(cli.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(cli.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let _cli = Kill(cli);
    let mut seen: Vec<String> = Vec::new();
    let mut expect = |want: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !seen.iter().any(|l| l == want) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("zkcli never printed {want:?}:\n{}", seen.join("\n")),
            }
        }
    };
    writeln!(stdin, "create /w first").unwrap();
    expect("Created /w");
    writeln!(stdin, "get -w /w").unwrap();
    expect("first");
    writeln!(stdin, "stat -w /later").unwrap();
    expect("Node does not exist: /later");
    // Another client changes /w and creates /later while zkcli waits for input.
    let other = run_with_timeout(
        Command::new(env!("CARGO_BIN_EXE_zkcli")).args(["-server", &addr, "set", "/w", "second"]),
        Duration::from_secs(30),
    );
    assert_eq!(other.0, Some(0), "{}", other.2);
    expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/w");
    let other = run_with_timeout(
        Command::new(env!("CARGO_BIN_EXE_zkcli")).args(["-server", &addr, "create", "/later"]),
        Duration::from_secs(30),
    );
    assert_eq!(other.0, Some(0), "{}", other.2);
    expect("WatchedEvent state:SyncConnected type:NodeCreated path:/later");
    writeln!(stdin, "quit").unwrap();
}
