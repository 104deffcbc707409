//! Clients we did not write against the real `zkserver`: Apache ZooKeeper's own `zkCli.sh`
//! (Debian's `zookeeper` package) and Python's kazoo with its recipes. dev/test.sh installs
//! both; without them these tests fail and say what is missing.

#[path = "zk/harness.rs"]
mod harness;
#[path = "zk/raw.rs"]
mod raw;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness::{ZkServer, repo, run_with_timeout};

const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";

#[test]
fn kazoo_crud_sessions_watches_acls_and_recipes() {
    let probe = Command::new("python3")
        .args(["-c", "import kazoo"])
        .status()
        .expect("python3");
    assert!(
        probe.success(),
        "Python's kazoo is not installed (dev/test.sh installs it: pip install kazoo)"
    );
    let server = ZkServer::start("4lw.commands.whitelist=srvr,envi,ruok\n");
    let script = repo().join("tests/zk/kazoo_suite.py");
    let (code, stdout, stderr) = run_with_timeout(
        Command::new("python3").arg(&script).arg(server.addr()),
        Duration::from_secs(280),
    );
    println!("{stdout}");
    assert_eq!(
        code,
        Some(0),
        "kazoo suite failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.log()
    );
    assert!(stdout.contains("16 passed, 0 failed"), "{stdout}");
}

#[test]
fn apache_zkcli_sh_drives_zkserver() {
    assert!(
        Path::new(ZKCLI).exists(),
        "{ZKCLI} is missing: install Debian's zookeeper package (dev/test.sh does)"
    );
    let server = ZkServer::start("");
    let script = "create /zc hello\n\
                  create -s /zc/s- x\n\
                  create -e /zc/e y\n\
                  ls /zc\n\
                  get -s /zc\n\
                  set /zc world\n\
                  get /zc\n\
                  create /zc hello\n\
                  delete /zc\n\
                  stat /nope\n\
                  addauth digest u:p\n\
                  create /zd d auth::cdrwa\n\
                  getAcl /zd\n\
                  setAcl /zc world:anyone:r\n\
                  set /zc denied\n\
                  deleteall /zd\n\
                  ls /\n\
                  sync /zc\n\
                  quit\n";
    let input = server.dir.join("zkcli-input.txt");
    std::fs::write(&input, script).unwrap();
    let (code, stdout, stderr) = run_with_timeout(
        Command::new("sh").arg("-c").arg(format!(
            "{ZKCLI} -server {} < {} 2>&1",
            server.addr(),
            input.display()
        )),
        Duration::from_secs(120),
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("SLF4J") && !l.starts_with("WATCHER::"))
        .filter(|l| !l.starts_with("WatchedEvent state:"))
        .collect();
    let expect_in_order = [
        "Created /zc",
        "Created /zc/s-0000000000",
        "Created /zc/e",
        "[e, s-0000000000]",
        "hello",
        "cversion = 2",
        "dataVersion = 0",
        "numChildren = 2",
        "world",
        "Node already exists: /zc",
        "Node not empty: /zc",
        "Node does not exist: /nope",
        "Created /zd",
        "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=",
        ": cdrwa",
        "Insufficient permission : /zc",
        "[zc, zookeeper]",
        "Sync is OK",
    ];
    let mut at = 0;
    for want in expect_in_order {
        match lines[at..].iter().position(|l| *l == want) {
            Some(i) => at += i + 1,
            None => panic!("zkCli.sh output lacks {want:?} (after line {at}):\n{stdout}\n{stderr}"),
        }
    }
}

/// Apache's Java client keeps its session across a server restart and re-arms its watches
/// with SetWatches; the watch then fires for a change made after the restart.
#[test]
fn zkcli_sh_keeps_its_session_and_watch_across_a_server_restart() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;

    assert!(
        Path::new(ZKCLI).exists(),
        "{ZKCLI} is missing: install Debian's zookeeper package (dev/test.sh does)"
    );
    let mut server = ZkServer::start("4lw.commands.whitelist=srvr,wchs\n");
    let addr = server.addr();
    let mut cli = Command::new(ZKCLI)
        .args(["-server", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zkCli.sh");
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
    let mut seen = Vec::new();
    let mut expect = |want: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if seen.iter().any(|l: &String| l.contains(want)) {
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("zkCli.sh never printed {want:?}:\n{}", seen.join("\n")),
            }
        }
    };
    writeln!(stdin, "create /watched v1").unwrap();
    expect("Created /watched");
    writeln!(stdin, "get -w /watched").unwrap();
    expect("v1");
    let watching =
        || harness::four_letter(&addr, "wchs").starts_with("1 connections watching 1 paths");
    harness::wait_for("the watch on the server", Duration::from_secs(30), || {
        watching().then_some(())
    });

    server.kill9();
    server.launch();
    // The client reconnects with its session and re-registers the watch (SetWatches).
    harness::wait_for(
        "the watch re-armed after the restart",
        Duration::from_secs(60),
        || watching().then_some(()),
    );
    let mut c = raw::Raw::new_session(&addr, 10_000);
    assert_eq!(c.call(&raw::set_data("/watched", b"v2")).0, 0);
    expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/watched");
    writeln!(stdin, "quit").unwrap();
}
