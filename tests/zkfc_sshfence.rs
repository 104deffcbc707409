//! `sshfence` against a real OpenSSH server on loopback (TestSshFenceByTcpPort): it kills a
//! real NameNode process — a frozen active the ZKFC could not make standby, and an old active
//! an operator's `-failover --forcefence` fences — finds a stopped service down, and gives up
//! on an unreachable host within its connect timeout.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{DEADLINE, JournalNodes, NameNodes, format_and_start};
use common::sshd::Sshd;
use common::zkfc::{HaCluster, outcome};
use common::zookeeper::ZkServerKind;
use hdfs_ha::conf::{Configuration, parse_fence_methods};
use hdfs_ha::zkfc::conf::FencerConf;
use hdfs_ha::zkfc::fence::NodeFencer;
use hdfs_ha::zkfc::target::NnTarget;

fn user() -> String {
    hdfs_ha::host::current_user()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshfence_kills_a_frozen_active_namenode_for_the_zkfc() {
    let Some(sshd) = Sshd::start(&["127.0.0.1", "127.0.0.2"]) else {
        return;
    };
    for kind in ZkServerKind::all() {
        let methods = format!("sshfence({}:{})", user(), sshd.port);
        let key = sshd.key().display().to_string();
        let mut cluster = HaCluster::start(
            kind,
            &[
                ("dfs.ha.fencing.methods", &methods),
                ("dfs.ha.fencing.ssh.private-key-files", &key),
                ("dfs.ha.fencing.ssh.connect-timeout", "5000"),
                ("ha.health-monitor.rpc-timeout.ms", "1000"),
                (
                    "ha.failover-controller.graceful-fence.rpc-timeout.ms",
                    "1000",
                ),
            ],
        )
        .await;
        let active = cluster.wait_one_active().await;
        let other = 1 - active;
        // A frozen NameNode: its ZKFC gives up on it after the health RPC timeout, the other
        // ZKFC cannot make it standby, so ssh kills it.
        cluster.nns.nodes[active].as_ref().unwrap().signal("STOP");
        cluster.wait_state(other, "active").await;
        let zkfc = cluster.zkfc(other);
        zkfc.wait_for_line(
            "Successfully killed process that was listening on port",
            DEADLINE,
        );
        zkfc.wait_for_line(
            &format!(
                "====== Fencing successful by method org.apache.hadoop.ha.SshFenceByTcpPort({}:{}) ======",
                user(),
                sshd.port
            ),
            DEADLINE,
        );
        let code = cluster.nns.nodes[active]
            .as_mut()
            .unwrap()
            .wait_exit(DEADLINE);
        assert_eq!(code, None, "the frozen NameNode was killed by a signal");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_fencing_of_a_manual_failover_kills_the_old_active() {
    let Some(sshd) = Sshd::start(&["127.0.0.1", "127.0.0.2"]) else {
        return;
    };
    let jns = JournalNodes::start(true);
    let methods = format!("sshfence({}:{})", user(), sshd.port);
    let key = sshd.key().display().to_string();
    let mut nns = NameNodes::configure(
        &jns,
        &[
            ("dfs.ha.fencing.methods", &methods),
            ("dfs.ha.fencing.ssh.private-key-files", &key),
        ],
    );
    format_and_start(&mut nns);
    let (code, _, err) = outcome(&nns.hdfs(&["haadmin", "-transitionToActive", "nn1"], ""));
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) =
        outcome(&nns.hdfs(&["haadmin", "-failover", "--forcefence", "nn1", "nn2"], ""));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "Failover from nn1 to nn2 successful");
    assert_eq!(nns.state(1).await, "active");
    assert_eq!(
        nns.nodes[0].as_mut().unwrap().wait_exit(DEADLINE),
        None,
        "nn1 was killed by the fencer"
    );
}

fn target(rpc: &str) -> NnTarget {
    let mut c = Configuration::new();
    for (k, v) in [
        ("dfs.nameservices", "ns1"),
        ("dfs.ha.namenodes.ns1", "nn1,nn2"),
        ("dfs.namenode.rpc-address.ns1.nn1", rpc),
        ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
    ] {
        c.set(k, v);
    }
    NnTarget::resolve(&c, "ns1", "nn1").unwrap()
}

fn fencer(sshd_port: u16, key: &std::path::Path, connect_ms: u64) -> NodeFencer {
    NodeFencer::new(
        parse_fence_methods(&format!("sshfence({}:{sshd_port})", user())).unwrap(),
        FencerConf {
            shell_timeout: Duration::from_secs(30),
            ssh_key_files: vec![key.display().to_string()],
            ssh_connect_timeout: Duration::from_millis(connect_ms),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_already_down_counts_as_fenced_and_an_unreachable_host_does_not() {
    let Some(sshd) = Sshd::start(&["127.0.0.1"]) else {
        return;
    };
    // Nothing listens on this port: fuser finds nothing, nc confirms it is down.
    let port = common::cluster::free_port("127.0.0.1");
    let down = target(&format!("127.0.0.1:{port}"));
    assert!(fencer(sshd.port, &sshd.key(), 5000).fence(&down).await);

    // Something listens and fuser can kill it.
    let mut sleeper = std::process::Command::new("nc")
        .args(["-lk", "127.0.0.1", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    common::wait_until("the listener", DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    assert!(fencer(sshd.port, &sshd.key(), 5000).fence(&down).await);
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "the listener was killed");

    // A host nobody answers for: the connect timeout bounds the attempt.
    let unreachable = target("192.0.2.1:8020");
    let started = Instant::now();
    assert!(!fencer(22, &sshd.key(), 1000).fence(&unreachable).await);
    assert!(started.elapsed() < Duration::from_secs(20));
    // A wrong key: ssh cannot log in.
    let wrong = sshd.dir.path().join("host_key");
    assert!(!fencer(sshd.port, &wrong, 5000).fence(&down).await);
}
