//! ZKFCs and NameNodes from both sides over Hadoop IPC (HAServiceProtocol and ZKFCProtocol with
//! Hadoop's messages), through our coordination server:
//! - real Hadoop 3.3.6 ZKFCs (DFSZKFailoverController, from the jars `dev/hadoop-jars.sh`
//!   fetched) driving our NameNodes: the real `-formatZK`, one of ours elected active, and a
//!   kill -9 of it failed over to the other;
//! - our ZKFCs driving real NameNodes (their edits on our JournalNodes): our `-formatZK`, a
//!   kill -9 of the active real NameNode failed over with every acknowledged directory, and a
//!   graceful failover asked by the real `hdfs haadmin -failover` through our ZKFCs' port.

mod common;

use std::time::Duration;

use common::cluster::{JournalNodes, NN_IDS, NameNodes, format_and_start};
use common::hadoop::{format_and_start_real, java, real_pair_props, start_daemon, start_real_nn};
use common::zkfc::{auto_failover_props, start_zkfc, zkfc_ports};
use common::zookeeper::{ZkServer, ZkServerKind};

const ZKFC: &str = "org.apache.hadoop.hdfs.tools.DFSZKFailoverController";

/// Our NameNode `i`'s HA state, as our `hdfs haadmin` reads it.
fn state(nns: &NameNodes, i: usize) -> String {
    let out = nns.hdfs(&["haadmin", "-getServiceState", NN_IDS[i]], "");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `NameNode at host/ip:port`, as Hadoop names a NameNode of `ip:port`.
fn java_target(address: &str) -> String {
    let (ip, port) = address.rsplit_once(':').unwrap();
    format!(
        "NameNode at {}/{ip}:{port}",
        hdfs_ha::host::display_host(ip)
    )
}

/// Whether NameNode `i` is active before `deadline` passes.
fn active_within(nns: &NameNodes, i: usize, deadline: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < deadline {
        if state(nns, i) == "active" {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn wait_active(nns: &NameNodes, i: usize) {
    common::wait_until(
        &format!("{} active", NN_IDS[i]),
        Duration::from_secs(60),
        || (state(nns, i) == "active").then_some(()),
    );
}

#[test]
fn real_zkfcs_elect_and_fail_over_our_namenodes() {
    let zk = ZkServer::start(ZkServerKind::Ours, 100);
    let jns = JournalNodes::start(true);
    let props = auto_failover_props(&zk, zkfc_ports());
    let refs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nns = NameNodes::configure(&jns, &refs);
    format_and_start(&mut nns);

    let out = java(
        nns.conf_dir.path(),
        ZKFC,
        &[
            "-D",
            "dfs.ha.namenode.id=nn1",
            "-formatZK",
            "-force",
            "-nonInteractive",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "formatZK: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _zkfcs: Vec<common::Daemon> = NN_IDS
        .iter()
        .map(|id| {
            start_daemon(
                &format!("real-zkfc-{id}"),
                nns.conf_dir.path(),
                ZKFC,
                &["-D", &format!("dfs.ha.namenode.id={id}")],
            )
        })
        .collect();
    let first = common::wait_until("a NameNode elected active", Duration::from_secs(60), || {
        (0..2).find(|&i| state(&nns, i) == "active")
    });
    let other = 1 - first;
    assert_eq!(state(&nns, other), "standby");
    // Writes go to the active, through our client.
    let out = nns.hdfs(&["dfs", "-mkdir", "-p", "/elected/by/hadoop"], "");
    assert_eq!(out.status.code(), Some(0));

    nns.kill9(first);
    wait_active(&nns, other);
    let out = nns.hdfs(&["dfs", "-ls", "/elected/by"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/elected/by/hadoop"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real FsShell on the nameservice (Hadoop's failover proxy): its stdout, once it
/// succeeded.
fn real_dfs(nns: &NameNodes, args: &[&str]) -> String {
    let out = java(nns.conf_dir.path(), "org.apache.hadoop.fs.FsShell", args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "real hdfs dfs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn our_zkfcs_fail_over_real_namenodes_killed_or_asked_by_the_real_haadmin() {
    let zk = ZkServer::start(ZkServerKind::Ours, 100);
    let jns = JournalNodes::start(true);
    let data = tempfile::tempdir().unwrap();
    let mut props = auto_failover_props(&zk, zkfc_ports());
    props.extend(real_pair_props(data.path()));
    let refs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nns = NameNodes::configure(&jns, &refs);
    format_and_start_real(&mut nns);

    let out = nns.hdfs(
        &[
            "zkfc",
            "-D",
            "dfs.ha.namenode.id=nn1",
            "-formatZK",
            "-force",
            "-nonInteractive",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "formatZK: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf_dir = nns.conf_dir.path().to_path_buf();
    let zkfcs: Vec<common::Daemon> = (0..2).map(|i| start_zkfc(&conf_dir, i)).collect();
    let first = common::wait_until("a NameNode elected active", Duration::from_secs(60), || {
        (0..2).find(|&i| state(&nns, i) == "active")
    });
    let other = 1 - first;
    assert_eq!(state(&nns, other), "standby");
    real_dfs(&nns, &["-mkdir", "-p", "/by/our/zkfc"]);

    // kill -9 of the active real NameNode: our ZKFC beside it sees the connection close, the
    // other one takes the lock, fences and makes its real NameNode active.
    nns.kill9(first);
    if !active_within(&nns, other, Duration::from_secs(60)) {
        for (i, zkfc) in zkfcs.iter().enumerate() {
            eprintln!(
                "--- our zkfc of {}:\n{}",
                NN_IDS[i],
                zkfc.log_lines().join("\n")
            );
        }
        if let Some(nn) = &nns.nodes[other] {
            eprintln!("--- real {}:\n{}", NN_IDS[other], nn.log_lines().join("\n"));
        }
        panic!(
            "{} not active after the kill -9 of {}",
            NN_IDS[other], NN_IDS[first]
        );
    }
    let listing = real_dfs(&nns, &["-ls", "/by/our"]);
    assert!(listing.contains("/by/our/zkfc"), "{listing}");
    real_dfs(&nns, &["-mkdir", "/by/our/second"]);

    // The killed one comes back as standby and its ZKFC rejoins the election.
    let seen = zkfcs[first].log_lines().len();
    start_real_nn(&mut nns, first);
    zkfcs[first].wait_for_line_after("should become standby", seen, Duration::from_secs(60));

    // The real haadmin's graceful failover goes through our ZKFCs (ZKFCProtocol).
    let out = java(
        nns.conf_dir.path(),
        "org.apache.hadoop.hdfs.tools.DFSHAAdmin",
        &["-failover", NN_IDS[other], NN_IDS[first]],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "real haadmin -failover: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Failover to {} successful", java_target(&nns.rpc[first]))
    );
    assert_eq!(state(&nns, first), "active");
    assert_eq!(state(&nns, other), "standby");
    // And back through our haadmin, with the real one's words.
    let out = nns.hdfs(&["haadmin", "-failover", NN_IDS[first], NN_IDS[other]], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Failover to {} successful", java_target(&nns.rpc[other]))
    );
    assert_eq!(state(&nns, other), "active");
    assert_eq!(state(&nns, first), "standby");
    let listing = real_dfs(&nns, &["-ls", "/by/our"]);
    assert!(
        listing.contains("/by/our/zkfc") && listing.contains("/by/our/second"),
        "{listing}"
    );
}
