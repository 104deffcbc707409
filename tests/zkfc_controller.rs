//! Hadoop's TestZKFailoverController scenarios: real `zkfc` processes and a real ZooKeeper,
//! electing between stand-in NameNodes whose health and behaviour the test controls.

mod common;

use std::time::{Duration, Instant};

use common::cluster::DEADLINE;
use common::zkfc::{DummyCluster, outcome, zk_client, znodes};
use common::zookeeper::ZkServerKind;
use hdfs_ha::zkfc::rpc::ZkfcClient;

/// Two stand-ins, nn1 active and nn2 standby, each with its ZKFC.
fn two_nodes(kind: ZkServerKind) -> DummyCluster {
    let mut cluster = DummyCluster::new(kind, 2, &[]);
    cluster.format();
    cluster.start_zkfc(0);
    cluster.wait_active(0);
    cluster.start_zkfc(1);
    cluster
        .zkfc(1)
        .wait_for_line("should become standby", DEADLINE);
    cluster
}

fn haadmin(cluster: &DummyCluster, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["haadmin"];
    all.extend_from_slice(args);
    outcome(&cluster.hdfs(&all, ""))
}

fn target(cluster: &DummyCluster, i: usize) -> String {
    let address = &cluster.nns[i].address;
    format!(
        "NameNode at {}/{address}",
        address.split(':').next().unwrap()
    )
}

/// Asserts that `i` stays the only active for `period`.
fn stays_active(cluster: &DummyCluster, i: usize, period: Duration) {
    let until = Instant::now() + period;
    while Instant::now() < until {
        assert_eq!(cluster.actives(), vec![i]);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_failover_on_bad_health_and_fail_back_fencing_the_unreachable() {
    for kind in ZkServerKind::all() {
        let mut cluster = two_nodes(kind);
        cluster.nns[0].set(|s| s.healthy = false);
        cluster.wait_active(1);
        // nn1 was reachable: the graceful fence made it standby, no method ran.
        assert_eq!(cluster.fence_count(0), 0);
        cluster
            .zkfc(0)
            .wait_for_line("Quitting master election for", DEADLINE);

        // nn2 dies; nn1 is healthy again: back to nn1, fencing nn2 by method.
        cluster.nns[1].stop();
        cluster.nns[0].set(|s| s.healthy = true);
        cluster.wait_active(0);
        assert_eq!(cluster.fence_count(1), 1);
        cluster.zkfc(0).wait_for_line(
            "====== Fencing successful by method org.apache.hadoop.ha.ShellCommandFencer(",
            DEADLINE,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_failover_when_the_active_changes_state_behind_our_back() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        cluster.nns[0]
            .set(|s| s.state = hdfs_ha::proto::hadoop_haservice::HaServiceStateProto::Standby);
        cluster.wait_active(1);
        cluster.zkfc(0).wait_for_line(
            &format!(
                "Local service {} has changed the serviceState to standby. Expected was active. Quitting election marking fencing necessary.",
                target(&cluster, 0)
            ),
            DEADLINE,
        );
        // After its one-second pause nn1 rejoins, as standby.
        cluster.zkfc(0).wait_for_line(
            "Would have joined master election, but this node is prohibited from doing so",
            DEADLINE,
        );
        stays_active(&cluster, 1, Duration::from_millis(1500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_failover_on_lost_zookeeper_sessions_twice() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        for (from, to) in [(0, 1), (1, 0)] {
            // Freezing a ZKFC past the session timeout expires its session.
            cluster.zkfc(from).signal("STOP");
            cluster.wait_active(to);
            let seen = cluster.zkfc(from).log_lines().len();
            cluster.zkfc(from).signal("CONT");
            // Woken, the ZKFC leaves the election — because its session expired, or first
            // because its health monitor saw its NameNode made standby or time out (each seen
            // under load) — and rejoins with a new session, as standby.
            cluster
                .zkfc(from)
                .wait_for_line_after("should become standby", seen, DEADLINE);
            stays_active(&cluster, to, Duration::from_millis(500));
        }
        // Every handover was a graceful fence: no method ran.
        assert_eq!(cluster.fence_count(0) + cluster.fence_count(1), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_failover_to_an_unhealthy_node() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        cluster.nns[1].set(|s| s.healthy = false);
        cluster
            .zkfc(1)
            .wait_for_line("Quitting master election for", DEADLINE);
        cluster.zkfc(0).signal("STOP");
        // The session expires; the unhealthy standby must not take the lock.
        let zk = zk_client(&cluster.zk).await;
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut released = false;
        while Instant::now() < deadline {
            let (lock, _) = znodes(&zk).await;
            if lock.is_none() {
                released = true;
            }
            assert_ne!(lock.as_deref(), Some("nn2"));
            assert!(!cluster.nns[1].is_active());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(released, "the frozen ZKFC's session never expired");
        // Back: nn1 takes the lock again (its own breadcrumb: no fencing).
        cluster.zkfc(0).signal("CONT");
        common::zkfc::wait_async("nn1 holds the lock", DEADLINE, || async {
            (znodes(&zk).await.0.as_deref() == Some("nn1")).then_some(())
        })
        .await;
        cluster.wait_active(0);
        assert_eq!(cluster.fence_count(0), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn becoming_active_fails_releases_the_lock() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        cluster.nns[1].set(|s| s.fail_to_become_active = true);
        cluster.nns[0].set(|s| s.healthy = false);
        let zkfc2 = cluster.zkfc(1);
        zkfc2.wait_for_line(
            &format!("Couldn't make {} active", target(&cluster, 1)),
            DEADLINE,
        );
        zkfc2.wait_for_line("Exception handling the winning of election", DEADLINE);
        zkfc2.wait_for_line("Trying to re-establish ZK session", DEADLINE);
        assert!(cluster.actives().is_empty());
        // nn1 recovers and wins (fencing nn2's stale breadcrumb gracefully).
        cluster.nns[0].set(|s| s.healthy = true);
        cluster.wait_active(0);
        stays_active(&cluster, 0, Duration::from_millis(1500));
        assert_eq!(cluster.fence_count(1), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_failure_changes_no_state() {
    for kind in ZkServerKind::all() {
        let mut cluster =
            DummyCluster::new(kind, 2, &[("ha.zookeeper.session-timeout.ms", "10000")]);
        cluster.format();
        cluster.start_zkfc(0);
        cluster.wait_active(0);
        cluster.start_zkfc(1);
        cluster
            .zkfc(1)
            .wait_for_line("should become standby", DEADLINE);
        let before = (cluster.nns[0].get(), cluster.nns[1].get());
        cluster.zk.kill9();
        for i in 0..2 {
            cluster
                .zkfc(i)
                .wait_for_line("Session disconnected. Entering neutral mode...", DEADLINE);
        }
        stays_active(&cluster, 0, Duration::from_secs(1));
        cluster.zk.launch();
        for i in 0..2 {
            common::wait_until("the session back", DEADLINE, || {
                (cluster
                    .zkfc(i)
                    .log_lines()
                    .iter()
                    .filter(|l| l.contains("ActiveStandbyElector: Session connected."))
                    .count()
                    >= 2)
                    .then_some(())
            });
        }
        stays_active(&cluster, 0, Duration::from_secs(2));
        let after = (cluster.nns[0].get(), cluster.nns[1].get());
        assert_eq!(after.0.active_transitions, before.0.active_transitions);
        assert_eq!(after.0.standby_transitions, before.0.standby_transitions);
        assert_eq!(after.1.active_transitions, before.1.active_transitions);
        assert_eq!(after.1.standby_transitions, before.1.standby_transitions);
        // The same sessions went on: nobody rejoined with a new one.
        for i in 0..2 {
            assert!(
                !cluster
                    .zkfc(i)
                    .log_lines()
                    .iter()
                    .any(|l| l.contains("Session expired")),
                "zkfc{} lost its session",
                i + 1
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cede_active_returns_promptly_and_rejoins_later() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        let address = hdfs_ha::conf::HostPort::new("127.0.0.1", cluster.zkfc_ports[0]);
        let client = ZkfcClient::connect(&address, Duration::from_secs(10))
            .await
            .unwrap();
        let started = Instant::now();
        client.cede_active(3000).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "cedeActive took {:?}",
            started.elapsed()
        );
        cluster.wait_active(1);
        cluster.zkfc(0).wait_for_line(
            "Would have joined master election, but this node is prohibited from doing so for",
            DEADLINE,
        );
        // After the three seconds nn1's ZKFC is back in the election, as standby.
        let lines_before = cluster.zkfc(0).log_lines().len();
        common::wait_until("nn1 rejoins as standby", DEADLINE, || {
            cluster.zkfc(0).log_lines()[lines_before..]
                .iter()
                .any(|l| l.contains("should become standby"))
                .then_some(())
        });
        assert!(started.elapsed() >= Duration::from_millis(2900));
        assert_eq!(cluster.fence_count(0), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_failover_back_and_forth_fences_nobody() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        let (code, out, err) = haadmin(&cluster, &["-failover", "nn1", "nn2"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            out.trim(),
            format!("Failover to {} successful", target(&cluster, 1))
        );
        cluster.wait_active(1);
        let (code, out, err) = haadmin(&cluster, &["-failover", "nn2", "nn1"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            out.trim(),
            format!("Failover to {} successful", target(&cluster, 0))
        );
        cluster.wait_active(0);
        assert_eq!(cluster.fence_count(0) + cluster.fence_count(1), 0);
        assert_eq!(cluster.nns[0].get().active_transitions, 2);
        assert_eq!(cluster.nns[1].get().active_transitions, 1);
        for i in 0..2 {
            assert!(
                !cluster
                    .zkfc(i)
                    .log_lines()
                    .iter()
                    .any(|l| l.contains("Beginning Service Fencing Process")),
                "zkfc{} ran a fencing method",
                i + 1
            );
        }
        // Failing over to the node that is already active is a success that changes nothing.
        let (code, _, err) = haadmin(&cluster, &["-failover", "nn2", "nn1"]);
        assert_eq!(code, Some(0), "{err}");
        cluster.zkfc(0).wait_for_line(
            "is already active. No need to failover. Returning success.",
            DEADLINE,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_failover_refusals_and_failures() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        // To an unhealthy node.
        cluster.nns[1].set(|s| s.healthy = false);
        cluster
            .zkfc(1)
            .wait_for_line("Quitting master election for", DEADLINE);
        let (code, _, err) = haadmin(&cluster, &["-failover", "nn1", "nn2"]);
        assert_eq!(code, Some(255));
        assert!(
            err.contains(&format!(
                "Failover failed: {} is not currently healthy. Cannot be failover target",
                target(&cluster, 1)
            )),
            "{err}"
        );
        let seen = cluster.zkfc(1).log_lines().len();
        cluster.nns[1].set(|s| s.healthy = true);
        cluster
            .zkfc(1)
            .wait_for_line_after("should become standby", seen, DEADLINE);

        // The target fails to become active: nobody is fenced, nn1 comes back.
        cluster.nns[1].set(|s| s.fail_to_become_active = true);
        let (code, _, err) = haadmin(&cluster, &["-failover", "nn1", "nn2"]);
        assert_eq!(code, Some(255));
        assert!(
            err.contains(&format!(
                "Failover failed: Failed to become active. Couldn't make {} active",
                target(&cluster, 1)
            )),
            "{err}"
        );
        cluster.wait_active(0);
        assert_eq!(cluster.fence_count(0) + cluster.fence_count(1), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_failover_when_the_old_active_cannot_become_standby() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        cluster.nns[0].set(|s| s.fail_to_become_standby = true);
        let (code, _, err) = haadmin(&cluster, &["-failover", "nn1", "nn2"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(cluster.nns[1].is_active());
        // It could not be made standby, so it was fenced by method, once (a stand-in stays
        // "active" in its own eyes: a real one would be dead).
        assert_eq!(cluster.fence_count(0), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_failover_when_the_old_active_can_be_neither_made_standby_nor_fenced() {
    for kind in ZkServerKind::all() {
        let cluster = two_nodes(kind);
        cluster.nns[0].set(|s| s.fail_to_become_standby = true);
        cluster.fail_to_fence(0, true);
        let (code, _, err) = haadmin(&cluster, &["-failover", "nn1", "nn2"]);
        assert_eq!(code, Some(255));
        assert!(
            err.contains(&format!(
                "Failover failed: Failed to become active. Unable to fence old active: Unable to fence {}",
                target(&cluster, 0)
            )),
            "{err}"
        );
        assert!(!cluster.nns[1].is_active());
        assert_eq!(cluster.fence_count(0), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_failover_round_robin_with_three_zkfcs() {
    for kind in ZkServerKind::all() {
        let mut cluster = DummyCluster::new(kind, 3, &[]);
        cluster.format();
        cluster.start_zkfc(0);
        cluster.wait_active(0);
        cluster.start_zkfc(1);
        cluster.start_zkfc(2);
        for i in 1..3 {
            cluster
                .zkfc(i)
                .wait_for_line("should become standby", DEADLINE);
        }
        for (from, to) in [(0, 1), (1, 2), (2, 0)] {
            let (code, _, err) = haadmin(
                &cluster,
                &[
                    "-failover",
                    &format!("nn{}", from + 1),
                    &format!("nn{}", to + 1),
                ],
            );
            assert_eq!(code, Some(0), "{err}");
            cluster.wait_active(to);
        }
        assert_eq!(
            cluster.fence_count(0) + cluster.fence_count(1) + cluster.fence_count(2),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breadcrumb_naming_an_address_we_do_not_know_is_never_trusted() {
    use prost::Message;
    for kind in ZkServerKind::all() {
        let mut cluster = DummyCluster::new(kind, 2, &[]);
        cluster.format();
        // The last active, as some other configuration saw it: nn2, at the wrong address.
        let stale = hdfs_ha::proto::hazkinfo::ActiveNodeInfo {
            nameservice_id: "ns1".into(),
            namenode_id: "nn2".into(),
            hostname: "127.0.0.9".into(),
            port: 8020,
            zkfc_port: 8019,
        }
        .encode_to_vec();
        let zk = zk_client(&cluster.zk).await;
        let persistent = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::anyone_all());
        zk.create("/hadoop-ha/ns1/ActiveBreadCrumb", &stale, &persistent)
            .await
            .unwrap();
        cluster.start_zkfc(0);
        // It wins the lock but cannot fence a NameNode it cannot identify: it must not
        // become active, and keeps retrying.
        let zkfc = cluster.zkfc(0);
        zkfc.wait_for_line(
            &format!(
                "Mismatched address stored in ZK for {}: Stored protobuf was nameserviceId: \"ns1\"",
                target(&cluster, 1)
            ),
            DEADLINE,
        );
        zkfc.wait_for_line("Exception handling the winning of election", DEADLINE);
        let rejoin = "Trying to re-establish ZK session";
        zkfc.wait_for_line(rejoin, DEADLINE);
        let seen = zkfc
            .log_lines()
            .iter()
            .position(|l| l.contains(rejoin))
            .expect("just seen");
        // Its next try, in a new session, meets the same record and refuses it again.
        zkfc.wait_for_line_after("Mismatched address stored in ZK", seen + 1, DEADLINE);
        assert!(cluster.actives().is_empty());
        // Garbage instead of a record: the same refusal, in Hadoop's words.
        zk.set_data("/hadoop-ha/ns1/ActiveBreadCrumb", b"\x00garbage", None)
            .await
            .unwrap();
        zkfc.wait_for_line("Invalid data in ZK: 00676172626167", DEADLINE);
        assert!(cluster.actives().is_empty());
        // An operator clears the stale record; the election proceeds.
        zk.delete("/hadoop-ha/ns1/ActiveBreadCrumb", None)
            .await
            .unwrap();
        cluster.wait_active(0);
    }
}
