//! Real Hadoop 3.3.6 ZKFCs (DFSZKFailoverController, from the jars `dev/hadoop-jars.sh`
//! fetched) driving our NameNodes over Hadoop IPC (HAServiceProtocol with Hadoop's messages)
//! through our coordination server: the real `-formatZK`, one of our NameNodes elected
//! active, and a kill -9 of it failed over to the other.

mod common;

use std::time::Duration;

use common::cluster::{JournalNodes, NN_IDS, NameNodes, format_and_start};
use common::hadoop::{java, start_daemon};
use common::zkfc::{auto_failover_props, zkfc_ports};
use common::zookeeper::{ZkServer, ZkServerKind};

const ZKFC: &str = "org.apache.hadoop.hdfs.tools.DFSZKFailoverController";

/// Our NameNode `i`'s HA state, as our `hdfs haadmin` reads it.
fn state(nns: &NameNodes, i: usize) -> String {
    let out = nns.hdfs(&["haadmin", "-getServiceState", NN_IDS[i]], "");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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
