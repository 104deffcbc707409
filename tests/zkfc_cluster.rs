//! The whole HA stack as real processes on loopback — ZooKeeper, three JournalNodes, two
//! NameNodes and a ZKFC beside each — under the failures automatic failover exists for:
//! the active NameNode killed, the active host frozen past the session timeout, ZooKeeper
//! down, and operator failovers back and forth. Every acknowledged write must survive, and no
//! two NameNodes may serve at once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::{DEADLINE, mkdirs_request};
use common::zkfc::{HaCluster, zk_client, znodes};
use common::zookeeper::ZkServerKind;
use hdfs_ha::conf::Configuration;
use hdfs_ha::namenode::client::DfsClient;

fn client(cluster: &HaCluster) -> DfsClient {
    let conf = Configuration::load(cluster.nns.conf_dir.path(), &[], &[]).unwrap();
    DfsClient::new(&conf, "hdfs://ns1").unwrap()
}

/// Writes `/load/<n>` one after another until stopped, keeping the acknowledged paths.
struct WriteLoad {
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl WriteLoad {
    fn start(client: Arc<DfsClient>) -> WriteLoad {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (acked, stop) = (acked.clone(), stop.clone());
            async move {
                let mut n = 0;
                while !stop.load(Ordering::Acquire) {
                    let path = format!("/load/f{n}");
                    n += 1;
                    if client.mkdirs(&path, 0o755, true).await.is_ok() {
                        acked.lock().unwrap().push(path);
                    }
                }
            }
        });
        WriteLoad { acked, stop, task }
    }

    /// Waits until `n` more writes than now are acknowledged (by whichever NameNode is
    /// active then).
    async fn wait_for_more(&self, n: usize) {
        let want = self.acked.lock().unwrap().len() + n;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while self.acked.lock().unwrap().len() < want {
            assert!(
                tokio::time::Instant::now() < deadline,
                "fewer than {n} writes acknowledged in {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the writer; the acknowledged paths.
    async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        self.task.await.unwrap();
        Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap()
    }
}

async fn assert_all_present(client: &DfsClient, acked: &[String]) {
    assert!(!acked.is_empty(), "no write was acknowledged");
    for path in acked {
        assert!(
            client.get_file_info(path).await.unwrap().is_some(),
            "acknowledged {path} is missing after the failover"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_active_namenode_fails_over_with_every_acknowledged_write() {
    for kind in ZkServerKind::all() {
        let mut cluster = HaCluster::start(kind, &[]).await;
        let active = cluster.wait_one_active().await;
        let standby = 1 - active;
        let zk = zk_client(&cluster.zk).await;
        let (lock, crumb) = znodes(&zk).await;
        let name = format!("nn{}", active + 1);
        assert_eq!(lock.as_deref(), Some(name.as_str()));
        assert_eq!(crumb.as_deref(), Some(name.as_str()));

        let client = Arc::new(client(&cluster));
        let load = WriteLoad::start(client.clone());
        load.wait_for_more(20).await;
        cluster.nns.kill9(active);
        cluster.wait_state(standby, "active").await;
        load.wait_for_more(20).await;
        let acked = load.finish().await;
        assert_all_present(&client, &acked).await;
        // The new active holds the lock and the breadcrumb; the old one was fenced.
        let name = format!("nn{}", standby + 1);
        let (lock, crumb) = znodes(&zk).await;
        assert_eq!(lock.as_deref(), Some(name.as_str()));
        assert_eq!(crumb.as_deref(), Some(name.as_str()));
        cluster
            .zkfc(standby)
            .wait_for_line("Should fence: NameNode at", DEADLINE);
        cluster
            .zkfc(standby)
            .wait_for_line("====== Fencing successful by method", DEADLINE);
        // The dead NameNode's ZKFC noticed through the broken health stream, left the election
        // marking fencing necessary, and keeps waiting for its NameNode.
        let old = cluster.zkfc(active);
        old.wait_for_line("Entering state SERVICE_NOT_RESPONDING", DEADLINE);
        old.wait_for_line("and marking that fencing is necessary", DEADLINE);
        old.wait_for_line(
            "Could not connect to local service at NameNode at",
            DEADLINE,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_active_host_is_fenced_and_the_old_namenode_refused_by_the_journalnodes() {
    for kind in ZkServerKind::all() {
        let mut cluster = HaCluster::start(
            kind,
            &[
                ("ha.zookeeper.session-timeout.ms", "3000"),
                (
                    "ha.failover-controller.graceful-fence.rpc-timeout.ms",
                    "1000",
                ),
            ],
        )
        .await;
        let active = cluster.wait_one_active().await;
        let other = 1 - active;
        let mut acked = Vec::new();
        for i in 0..20 {
            let path = format!("/before/d{i}");
            let reply = cluster
                .nns
                .client(active)
                .await
                .attempt(i, 0)
                .mkdirs(&mkdirs_request(&path))
                .await;
            assert!(reply.unwrap().result);
            acked.push(path);
        }
        // The whole active host freezes (a long GC pause, a stuck VM): NameNode and ZKFC.
        cluster.nns.nodes[active].as_ref().unwrap().signal("STOP");
        cluster.zkfc(active).signal("STOP");
        cluster.wait_state(other, "active").await;
        cluster
            .zkfc(other)
            .wait_for_line("====== Fencing successful by method", DEADLINE);
        for i in 0..20 {
            let path = format!("/after/d{i}");
            let reply = cluster
                .nns
                .client_as(other, 2)
                .await
                .attempt(i, 0)
                .mkdirs(&mkdirs_request(&path))
                .await;
            assert!(reply.unwrap().result);
            acked.push(path);
        }
        // The old NameNode wakes up still thinking it is active: the JournalNodes refuse its
        // writes (a newer epoch was promised), so it acknowledges nothing and stops. (The
        // graceful transitionToStandby the new ZKFC sent it while frozen is answered first:
        // its end of segment is refused too, so it may be gone before the write arrives.)
        cluster.nns.nodes[active].as_ref().unwrap().signal("CONT");
        let late = match cluster.nns.try_client_as(active, 3).await {
            Ok(client) => client
                .attempt(1, 0)
                .mkdirs(&mkdirs_request("/split/brain"))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        assert!(
            late.is_err(),
            "the old active acknowledged a write: {late:?}"
        );
        let old = cluster.nns.nodes[active].as_mut().unwrap();
        old.wait_for_line("less than the last promised epoch", DEADLINE);
        assert_eq!(old.wait_exit(DEADLINE), Some(1));
        // Its ZKFC wakes to a dead NameNode and a lost session: it stays out of the election.
        let seen = cluster.zkfc(active).log_lines().len();
        cluster.zkfc(active).signal("CONT");
        cluster.zkfc(active).wait_for_line_after(
            "Entering state SERVICE_NOT_RESPONDING",
            seen,
            DEADLINE,
        );
        cluster
            .zkfc(active)
            .wait_for_line_after("Quitting master election for", seen, DEADLINE);
        assert_eq!(cluster.state(other).await.as_deref(), Some("active"));
        let zk = zk_client(&cluster.zk).await;
        let name = format!("nn{}", other + 1);
        assert_eq!(znodes(&zk).await, (Some(name.clone()), Some(name)));
        let client = client(&cluster);
        assert_all_present(&client, &acked).await;
        assert!(
            client
                .get_file_info("/split/brain")
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// How many lines of ZKFC `i`'s log contain every one of `needles`.
fn zkfc_lines(cluster: &HaCluster, i: usize, needles: &[&str]) -> usize {
    cluster
        .zkfc(i)
        .log_lines()
        .iter()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

/// How many HA transitions a NameNode has logged.
fn transitions(cluster: &HaCluster, i: usize) -> usize {
    cluster.nns.nodes[i]
        .as_ref()
        .unwrap()
        .log_lines()
        .iter()
        .filter(|l| l.contains("Stopping services started for"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_down_changes_no_ha_state_and_its_return_makes_no_transition() {
    for kind in ZkServerKind::all() {
        let mut cluster =
            HaCluster::start(kind, &[("ha.zookeeper.session-timeout.ms", "10000")]).await;
        let active = cluster.wait_one_active().await;
        let other = 1 - active;
        cluster
            .zkfc(other)
            .wait_for_line("should become standby", DEADLINE);
        let before = [transitions(&cluster, 0), transitions(&cluster, 1)];
        let activated = zkfc_lines(
            &cluster,
            active,
            &["Successfully transitioned", "to active"],
        );
        let stood_by = zkfc_lines(
            &cluster,
            other,
            &["Successfully transitioned", "to standby"],
        );
        cluster.zk.kill9();
        for i in 0..2 {
            cluster
                .zkfc(i)
                .wait_for_line("Session disconnected. Entering neutral mode...", DEADLINE);
        }
        // HDFS goes on without ZooKeeper; only automatic failover is unavailable.
        let client = client(&cluster);
        assert!(client.mkdirs("/while/zk/down", 0o755, true).await.unwrap());
        assert_eq!(cluster.state(active).await.as_deref(), Some("active"));
        assert_eq!(cluster.state(other).await.as_deref(), Some("standby"));
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
        cluster.zkfc(active).wait_for_line(
            "But old node has our own data, so don't need to fence it.",
            DEADLINE,
        );
        // Both ZKFCs finish their election: the winner asks its NameNode to be active again,
        // the other asks its own to stay standby. Neither request may change a state.
        common::wait_until("the election done again", DEADLINE, || {
            (zkfc_lines(
                &cluster,
                active,
                &["Successfully transitioned", "to active"],
            ) > activated
                && zkfc_lines(
                    &cluster,
                    other,
                    &["Successfully transitioned", "to standby"],
                ) > stood_by)
                .then_some(())
        });
        assert_eq!(cluster.state(active).await.as_deref(), Some("active"));
        assert_eq!(cluster.state(other).await.as_deref(), Some("standby"));
        assert_eq!(
            [transitions(&cluster, 0), transitions(&cluster, 1)],
            before,
            "a NameNode changed state"
        );
        for i in 0..2 {
            assert!(
                !cluster
                    .zkfc(i)
                    .log_lines()
                    .iter()
                    .any(|l| l.contains("Session expired"))
            );
        }
        assert!(
            client
                .get_file_info("/while/zk/down")
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haadmin_failover_back_and_forth_fences_nobody_and_loses_no_write() {
    for kind in ZkServerKind::all() {
        let cluster = HaCluster::start(kind, &[]).await;
        let first = cluster.wait_one_active().await;
        let second = 1 - first;
        let client = Arc::new(client(&cluster));
        let load = WriteLoad::start(client.clone());
        load.wait_for_more(20).await;
        for (from, to) in [(first, second), (second, first), (first, second)] {
            let from_id = format!("nn{}", from + 1);
            let to_id = format!("nn{}", to + 1);
            let out = cluster.hdfs(&["haadmin", "-failover", &from_id, &to_id], "");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.starts_with(&format!(
                    "Failover to NameNode at {0}/{0}:",
                    if to == 0 { "127.0.0.1" } else { "127.0.0.2" }
                )) && stdout.trim_end().ends_with(" successful"),
                "{stdout}"
            );
            cluster.wait_state(to, "active").await;
            cluster.wait_state(from, "standby").await;
            let state = cluster.hdfs(&["haadmin", "-getServiceState", &to_id], "");
            assert_eq!(String::from_utf8_lossy(&state.stdout), "active\n");
            load.wait_for_more(10).await;
        }
        let acked = load.finish().await;
        assert_all_present(&client, &acked).await;
        for i in 0..2 {
            assert!(
                !cluster
                    .zkfc(i)
                    .log_lines()
                    .iter()
                    .any(|l| l.contains("Beginning Service Fencing Process")
                        || l.contains("Should fence")),
                "zkfc{} fenced during a graceful failover",
                i + 1
            );
        }
        let all = cluster.hdfs(&["haadmin", "-getAllServiceState"], "");
        let text = String::from_utf8_lossy(&all.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let expected: Vec<String> = (0..2)
            .map(|i| {
                let state = if i == second { "active" } else { "standby" };
                format!(
                    "{:<50} {:<10}",
                    common::java_named(&cluster.nns.rpc[i]),
                    state
                )
            })
            .collect();
        assert_eq!(lines, expected);
    }
}
