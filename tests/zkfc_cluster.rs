//! The whole HA stack as real processes on loopback — ZooKeeper, three JournalNodes, two
//! NameNodes and a ZKFC beside each — under the failures automatic failover exists for:
//! the active NameNode killed, the active host frozen past the session timeout, ZooKeeper
//! down, and operator failovers back and forth. Every acknowledged write must survive, and no
//! two NameNodes may serve at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::cluster::DEADLINE;
use common::zkfc::{HaCluster, wait_async, zk_client, znodes};
use common::zookeeper::ZkServerKind;
use hdfs_ha::conf::Configuration;
use hdfs_ha::namenode::client::DfsClient;

fn client(cluster: &HaCluster) -> DfsClient {
    let conf = Configuration::load(cluster.nns.conf_dir.path(), &[], &[]).unwrap();
    DfsClient::new(&conf, "hdfs://ns1").unwrap()
}

/// Writes `/load/<n>` until stopped; returns the acknowledged paths.
fn write_load(
    client: Arc<DfsClient>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut acked = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::Acquire) {
            let path = format!("/load/f{n}");
            n += 1;
            if client.mkdirs(&path, 0o755, true).await.is_ok() {
                acked.push(path);
            }
        }
        acked
    })
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
        let stop = Arc::new(AtomicBool::new(false));
        let load = write_load(client.clone(), stop.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;
        cluster.nns.kill9(active);
        cluster.wait_state(standby, "active").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Release);
        let acked = load.await.unwrap();
        assert_all_present(&client, &acked).await;
        // The new active holds the lock and the breadcrumb; the old one was fenced.
        let name = format!("nn{}", standby + 1);
        let (lock, crumb) = znodes(&zk).await;
        assert_eq!(lock.as_deref(), Some(name.as_str()));
        assert_eq!(crumb.as_deref(), Some(name.as_str()));
        cluster
            .zkfc(standby)
            .wait_for_line("Should fence: NameNode at", DEADLINE);
        // The dead NameNode's ZKFC keeps running and waits for it.
        assert!(
            wait_async("old zkfc still alive", Duration::from_secs(1), || async {
                Some(cluster.zkfcs[active].is_some())
            })
            .await
        );
    }
}
