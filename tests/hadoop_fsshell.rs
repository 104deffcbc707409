//! Hadoop 3.3.6's own FsShell and DFSAdmin (`java -cp … org.apache.hadoop.fs.FsShell`, with
//! `ConfiguredFailoverProxyProvider`) against our NameNode pair over ClientNamenodeProtocol:
//! the namespace commands work, before and after a kill -9 failover, and a file with data is
//! refused with the NameNode's own exception; and the same commands print the same against
//! our pair as against a real Hadoop NameNode pair.

mod common;

use common::cluster::{JournalNodes, NameNodes, format_and_start, wait_txid};
use common::hadoop::{format_and_start_real, java_with, prepare_daemon_conf, real_pair_props};
use hdfs_ha::zkfc::rpc::RequestSource;

use common::hadoop::FSSHELL as FS_SHELL;
const DFS_ADMIN: &str = "org.apache.hadoop.hdfs.tools.DFSAdmin";
const STORAGE_POLICY_ADMIN: &str = "org.apache.hadoop.hdfs.tools.StoragePolicyAdmin";

/// What one real tool printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(nns: &NameNodes, class: &str, args: &[&str]) -> Run {
    run_as(nns, None, class, args)
}

/// Runs a tool as `user` (else as this process's user, the NameNodes' own: a superuser).
fn run_as(nns: &NameNodes, user: Option<&str>, class: &str, args: &[&str]) -> Run {
    let prop = user.map(|u| format!("-DHADOOP_USER_NAME={u}"));
    let props: Vec<&str> = prop.iter().map(String::as_str).collect();
    let out = java_with(nns.conf_dir.path(), &props, class, args);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs FsShell and expects exit 0; returns its stdout.
fn fs(nns: &NameNodes, args: &[&str]) -> String {
    let out = run(nns, FS_SHELL, args);
    assert_eq!(
        out.code,
        Some(0),
        "hadoop fs {args:?}\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// The listing lines of `-ls` without their modification times: permission, replication,
/// owner, group, length and path.
fn ls_columns(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|l| !l.starts_with("Found "))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(cols.len(), 8, "{l}");
            [cols[0], cols[1], cols[2], cols[3], cols[4], cols[7]].join(" ")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hadoops_fsshell_works_against_our_namenodes_across_a_failover() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(
        &jns,
        &[
            (
                "dfs.client.failover.proxy.provider.ns1",
                "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
            ),
            // The NameNode's trash interval, which FsShell asks for (getServerDefaults).
            ("fs.trash.interval", "60"),
        ],
    );
    format_and_start(&mut nns);
    // Hadoop's tools read fs.defaultFS from core-site.xml only.
    std::fs::write(
        nns.conf_dir.path().join("core-site.xml"),
        hdfs_ha::conf::site_xml(&[
            ("fs.defaultFS", "hdfs://ns1"),
            ("hadoop.security.authentication", "simple"),
        ]),
    )
    .unwrap();
    prepare_daemon_conf(nns.conf_dir.path());
    nns.transition(0, true, RequestSource::User).await.unwrap();

    fs(&nns, &["-mkdir", "-p", "/data/logs/2026", "/data/tmp"]);
    fs(&nns, &["-touchz", "/data/empty", "/data/tmp/x"]);
    fs(&nns, &["-mv", "/data/empty", "/data/renamed"]);
    fs(&nns, &["-chmod", "750", "/data/logs"]);
    fs(&nns, &["-chown", "alice:staff", "/data/tmp/x"]);
    fs(&nns, &["-chgrp", "-R", "ops", "/data/logs"]);
    fs(&nns, &["-setrep", "2", "/data/renamed"]);
    fs(
        &nns,
        &["-touch", "-m", "-t", "20260102:030405", "/data/renamed"],
    );
    assert_eq!(
        fs(&nns, &["-stat", "%F %b %r %n %u:%g", "/data/renamed"]),
        format!("regular file 0 2 renamed {}:supergroup\n", whoami())
    );
    let mtime = fs(&nns, &["-stat", "%Y", "/data/renamed"]);
    let expected = chrono_millis("2026-01-02T03:04:05");
    assert_eq!(mtime.trim(), expected.to_string());
    assert_eq!(fs(&nns, &["-stat", "%F", "/data/logs"]), "directory\n");
    fs(&nns, &["-test", "-e", "/data/renamed"]);
    fs(&nns, &["-test", "-d", "/data/logs"]);
    let missing = run(&nns, FS_SHELL, &["-test", "-e", "/data/nope"]);
    assert_eq!(missing.code, Some(1), "{}", missing.stderr);
    let user = whoami();
    let listing = fs(&nns, &["-ls", "-R", "/data"]);
    assert_eq!(
        ls_columns(&listing),
        [
            format!("drwxr-x--- - {user} ops 0 /data/logs"),
            format!("drwxr-xr-x - {user} ops 0 /data/logs/2026"),
            format!("-rw-r--r-- 2 {user} supergroup 0 /data/renamed"),
            format!("drwxr-xr-x - {user} supergroup 0 /data/tmp"),
            "-rw-r--r-- 3 alice staff 0 /data/tmp/x".to_string(),
        ],
        "{listing}"
    );
    let count = fs(&nns, &["-count", "/data"]);
    assert_eq!(
        count.split_whitespace().collect::<Vec<_>>(),
        ["4", "2", "0", "/data"],
        "{count}"
    );
    let du = fs(&nns, &["-du", "-s", "/data"]);
    assert_eq!(
        du.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "/data"],
        "{du}"
    );
    let safemode = run(&nns, DFS_ADMIN, &["-safemode", "get"]);
    assert_eq!(safemode.code, Some(0), "{}", safemode.stderr);
    assert!(
        safemode.stdout.contains("Safe mode is OFF"),
        "{}",
        safemode.stdout
    );

    // Safe mode by hand: DFSAdmin enters it on both NameNodes, changes are refused with
    // Hadoop's text, reads go on, and leaving it lets changes through again.
    let admin = |args: &[&str]| {
        let out = run(&nns, DFS_ADMIN, args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        out.stdout
    };
    let entered = admin(&["-safemode", "enter"]);
    assert_eq!(entered.matches("Safe mode is ON").count(), 2, "{entered}");
    let out = run(&nns, FS_SHELL, &["-mkdir", "/data/in-safe-mode"]);
    assert_eq!(
        (out.code, last_line(&out.stderr)),
        (
            Some(1),
            "mkdir: Cannot create directory /data/in-safe-mode. Name node is in safe mode."
                .to_string()
        )
    );
    fs(&nns, &["-ls", "/data"]);
    let left = admin(&["-safemode", "leave"]);
    assert_eq!(left.matches("Safe mode is OFF").count(), 2, "{left}");
    fs(&nns, &["-mkdir", "/data/in-safe-mode"]);
    fs(&nns, &["-rm", "-r", "-skipTrash", "/data/in-safe-mode"]);

    // Another user is held to the permissions: no writing into another's directory, no
    // giving files away, no safe mode; reading what others may read is fine.
    let bob = |args: &[&str]| run_as(&nns, Some("bob"), FS_SHELL, args);
    let out = bob(&["-mkdir", "/data/bobs"]);
    assert_eq!(
        (out.code, last_line(&out.stderr)),
        (
            Some(1),
            format!(
                "mkdir: Permission denied: user=bob, access=WRITE, inode=\"/data\":{user}:supergroup:drwxr-xr-x"
            )
        )
    );
    let out = bob(&["-ls", "/data/logs"]);
    assert_eq!(
        (out.code, last_line(&out.stderr)),
        (
            Some(1),
            format!(
                "ls: Permission denied: user=bob, access=READ_EXECUTE, inode=\"/data/logs\":{user}:ops:drwxr-x---"
            )
        )
    );
    let out = bob(&["-chown", "bob", "/data/renamed"]);
    assert_eq!(
        (out.code, last_line(&out.stderr)),
        (
            Some(1),
            "chown: changing ownership of '/data/renamed': Permission denied. user=bob is not the owner of inode=/data/renamed".to_string()
        )
    );
    let out = run_as(&nns, Some("bob"), DFS_ADMIN, &["-safemode", "enter"]);
    assert_eq!(out.code, Some(255), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Access denied for user bob. Superuser privilege is required"),
        "{}",
        out.stderr
    );
    let out = bob(&["-ls", "/data/tmp"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // A name over dfs.namenode.fs-limits.max-component-length (255 bytes).
    let long = format!("/data/{}", "n".repeat(256));
    let out = run(&nns, FS_SHELL, &["-mkdir", &long]);
    assert_eq!(
        (out.code, last_line(&out.stderr)),
        (
            Some(1),
            format!(
                "mkdir: The maximum path component name limit of {} in directory /data is exceeded: limit=255 length=256",
                "n".repeat(256)
            )
        )
    );

    // Data needs a block: the NameNode's exception, and no file left behind.
    let local = nns.data.path().join("local.txt");
    std::fs::write(&local, "some bytes\n").unwrap();
    let put = run(
        &nns,
        FS_SHELL,
        &["-put", local.to_str().unwrap(), "/data/with-bytes"],
    );
    assert_eq!(put.code, Some(1), "{}", put.stderr);
    assert!(
        put.stderr.contains("this NameNode keeps a namespace only"),
        "{}",
        put.stderr
    );
    fs(&nns, &["-rm", "-r", "-skipTrash", "/data/tmp"]);
    // Without -skipTrash the file moves to the trash (mkdirs, then rename2 TO_TRASH).
    fs(&nns, &["-rm", "/data/renamed"]);
    let trash = format!("/user/{user}/.Trash/Current/data/renamed");
    fs(&nns, &["-test", "-e", &trash]);
    let gone = run(&nns, FS_SHELL, &["-test", "-e", "/data/renamed"]);
    assert_eq!(gone.code, Some(1), "{}", gone.stderr);

    // kill -9 the active; the other NameNode takes over and the shell follows it.
    let written = nns.txid(0).await;
    wait_txid(&nns, 1, written).await;
    nns.kill9(0);
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let after = fs(&nns, &["-ls", "-R", "/data"]);
    assert_eq!(
        ls_columns(&after),
        [
            format!("drwxr-x--- - {user} ops 0 /data/logs"),
            format!("drwxr-xr-x - {user} ops 0 /data/logs/2026"),
        ],
        "{after}"
    );
    fs(&nns, &["-test", "-e", &trash]);
    fs(&nns, &["-mkdir", "/data/after"]);
    fs(&nns, &["-test", "-d", "/data/after"]);
}

/// The last line a tool printed to stderr.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with("SLF4J:") && !l.starts_with("log4j:"))
        .unwrap_or_default()
        .to_string()
}

/// Milliseconds since the epoch of a local time `YYYY-MM-DDTHH:MM:SS` (FsShell's `-touch -t`
/// reads its time in the local zone), as `date` computes it.
fn chrono_millis(local: &str) -> u64 {
    let out = std::process::Command::new("date")
        .args(["-d", local, "+%s"])
        .output()
        .unwrap();
    let seconds: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    seconds * 1000
}

fn whoami() -> String {
    std::env::var("HADOOP_USER_NAME")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(hdfs_ha::host::current_user)
}

/// The commands of [`same_outputs_as_a_real_namenode_pair`], run in order; `!` marks a
/// DFSAdmin command and `policies` a StoragePolicyAdmin one (`hdfs storagepolicies`).
const SESSION: &[&[&str]] = &[
    &["-mkdir", "-p", "/data/logs/2026", "/data/tmp"],
    &["-mkdir", "/data"],
    &["-mkdir", "/nope/x"],
    &["-touchz", "/data/empty", "/data/tmp/x"],
    &["-touchz", "/data/logs"],
    &["-mv", "/data/empty", "/data/renamed"],
    &["-mv", "/data/gone", "/data/x"],
    &["-mv", "/data/logs", "/data/logs/2026"],
    &["-chmod", "750", "/data/logs"],
    &["-chmod", "-R", "go-rx", "/data/tmp"],
    &["-chown", "alice:staff", "/data/tmp/x"],
    &["-chgrp", "-R", "ops", "/data/logs"],
    &["-setrep", "2", "/data/renamed"],
    &["-touch", "-m", "-t", "20260102:030405", "/data/renamed"],
    &["-stat", "%F|%b|%r|%n|%u|%g|%Y|%o", "/data/renamed"],
    &["-stat", "%F|%b|%r|%n|%u|%g|%o", "/data/logs"],
    &["-test", "-e", "/data/renamed"],
    &["-test", "-d", "/data/renamed"],
    &["-test", "-z", "/data/renamed"],
    &["-ls", "/data"],
    &["-ls", "-R", "/data"],
    &["-ls", "-d", "/data", "/nope"],
    &["-count", "/data"],
    &["-count", "-q", "-h", "/data"],
    &["-count", "-u", "/data"],
    &["-count", "-q", "-u", "-v", "/data"],
    &["-du", "-s", "/data"],
    &["-du", "/data"],
    &["-rm", "/data/logs"],
    &["-rm", "/nope"],
    &["-rm", "-r", "-skipTrash", "/data/tmp"],
    &["!", "-safemode", "get"],
    &["policies", "-listPolicies"],
    &["policies", "-getStoragePolicy", "-path", "/data/renamed"],
    &["policies", "-getStoragePolicy", "-path", "/nope"],
    &["-ls", "-R", "/"],
];

/// What a session printed, each command's exit code, stdout and last stderr line, with what
/// differs from run to run by nature (ports, `-ls` modification times) masked.
fn transcript(nns: &NameNodes, commands: &[&[&str]]) -> Vec<String> {
    let date = |line: &str| -> String {
        // `-ls` columns: permission, replication, owner, group, size, date, time, path.
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() == 8 && cols[5].len() == 10 && cols[5].as_bytes()[4] == b'-' {
            let at = line.find(cols[5]).unwrap();
            let end = line.find(cols[7]).unwrap();
            format!("{}<date> {}", &line[..at], &line[end..])
        } else {
            line.to_string()
        }
    };
    let port = regex_lite_port();
    commands
        .iter()
        .map(|command| {
            let (class, args) = match command.split_first() {
                Some((&"!", rest)) => (DFS_ADMIN, rest),
                Some((&"policies", rest)) => (STORAGE_POLICY_ADMIN, rest),
                _ => (FS_SHELL, *command),
            };
            let out = run(nns, class, args);
            let stdout: Vec<String> = out.stdout.lines().map(date).collect();
            port(&format!(
                "$ {}\nexit {:?}\n{}\n{}",
                command.join(" "),
                out.code,
                stdout.join("\n"),
                last_line(&out.stderr)
            ))
        })
        .collect()
}

/// Masks `:<port>` after an address (DFSAdmin names each NameNode by address).
fn regex_lite_port() -> impl Fn(&str) -> String {
    |text: &str| {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(':') {
            out.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            // Ports are ephemeral (4-5 digits); `HOT:7` is a storage policy's id.
            if digits >= 4 {
                out.push_str("<port>");
                rest = &rest[digits..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// A NameNode pair on fresh JournalNodes, ours or Hadoop's, nn1 active, with the conf dir
/// Hadoop's tools need.
async fn pair(real: bool) -> (JournalNodes, NameNodes, tempfile::TempDir) {
    let jns = JournalNodes::start(true);
    let data = tempfile::tempdir().unwrap();
    let mut props = real_pair_props(data.path());
    props.push(("fs.trash.interval".into(), "0".into()));
    let refs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nns = NameNodes::configure(&jns, &refs);
    if real {
        format_and_start_real(&mut nns);
    } else {
        format_and_start(&mut nns);
    }
    std::fs::write(
        nns.conf_dir.path().join("core-site.xml"),
        hdfs_ha::conf::site_xml(&[("fs.defaultFS", "hdfs://ns1")]),
    )
    .unwrap();
    prepare_daemon_conf(nns.conf_dir.path());
    nns.transition(0, true, RequestSource::User).await.unwrap();
    (jns, nns, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_outputs_as_a_real_namenode_pair() {
    let mut transcripts = Vec::new();
    for real in [true, false] {
        let (_jns, mut nns, _data) = pair(real).await;
        let mut lines = transcript(&nns, SESSION);
        // kill -9 the active: the other takes over, and the shell follows it.
        let written = nns.txid(0).await;
        wait_txid(&nns, 1, written).await;
        nns.kill9(0);
        nns.transition(1, true, RequestSource::User).await.unwrap();
        lines.extend(transcript(
            &nns,
            &[&["-mkdir", "/data/after"], &["-ls", "-R", "/data"]],
        ));
        transcripts.push(lines);
    }
    let (real, ours) = (&transcripts[0], &transcripts[1]);
    assert_eq!(real.len(), ours.len());
    let differences: Vec<String> = real
        .iter()
        .zip(ours)
        .filter(|(r, o)| r != o)
        .map(|(r, o)| format!("real:\n{r}\nours:\n{o}\n"))
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} commands differ:\n{}",
        differences.len(),
        real.len(),
        differences.join("\n")
    );
}
