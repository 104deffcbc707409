//! ZKFC test helpers: a full HA stack on loopback (ZooKeeper, 3 JournalNodes, NameNodes nn1 on
//! 127.0.0.1 and nn2 on 127.0.0.2, a ZKFC beside each), and small tools to read ZooKeeper and
//! wait for HA states with deadlines.

#![allow(dead_code)]

use std::time::Duration;

use super::cluster::{DEADLINE, JournalNodes, NN_IDS, NameNodes, format_and_start, free_port};
use super::zookeeper::{ZkServer, ZkServerKind};
use super::{Daemon, binary};

/// The ZKFC port of each NameNode host.
pub fn zkfc_ports() -> [u16; 2] {
    [free_port("127.0.0.1"), free_port("127.0.0.2")]
}

/// The properties that turn on automatic failover through `zk`.
pub fn auto_failover_props(zk: &ZkServer, ports: [u16; 2]) -> Vec<(String, String)> {
    vec![
        ("dfs.ha.automatic-failover.enabled".into(), "true".into()),
        ("ha.zookeeper.quorum".into(), zk.connect_string()),
        ("ha.zookeeper.session-timeout.ms".into(), "4000".into()),
        ("ha.health-monitor.check-interval.ms".into(), "500".into()),
        (
            "ha.health-monitor.connect-retry-interval.ms".into(),
            "200".into(),
        ),
        (
            "ha.health-monitor.sleep-after-disconnect.ms".into(),
            "200".into(),
        ),
        ("dfs.ha.fencing.methods".into(), "shell(true)".into()),
        ("dfs.ha.zkfc.port.ns1.nn1".into(), ports[0].to_string()),
        ("dfs.ha.zkfc.port.ns1.nn2".into(), ports[1].to_string()),
    ]
}

/// Starts the ZKFC of NameNode `i` and waits until its RPC server is up.
pub fn start_zkfc(conf_dir: &std::path::Path, i: usize) -> Daemon {
    let args = vec![
        "-D".to_string(),
        format!("dfs.ha.namenode.id={}", NN_IDS[i]),
    ];
    let d = Daemon::start(
        &format!("zkfc{}", i + 1),
        &binary("zkfc"),
        &args,
        &[("HADOOP_CONF_DIR", conf_dir.display().to_string())],
    );
    d.wait_for_line("ZKFC RpcServer binding to", DEADLINE);
    d
}

/// A whole HA stack.
pub struct HaCluster {
    pub zk: ZkServer,
    pub jns: JournalNodes,
    pub nns: NameNodes,
    pub zkfcs: [Option<Daemon>; 2],
    pub zkfc_ports: [u16; 2],
}

impl HaCluster {
    /// ZooKeeper, JournalNodes, both NameNodes formatted and started, the parent znode
    /// formatted, both ZKFCs started; returns once one NameNode is active. `extra`
    /// overrides properties.
    pub async fn start(kind: ZkServerKind, extra: &[(&str, &str)]) -> HaCluster {
        let zk = ZkServer::start(kind, 100);
        let jns = JournalNodes::start(true);
        let zkfc_ports = zkfc_ports();
        let mut props = auto_failover_props(&zk, zkfc_ports);
        for (k, v) in extra {
            props.retain(|(key, _)| key != k);
            props.push((k.to_string(), v.to_string()));
        }
        let refs: Vec<(&str, &str)> = props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut nns = NameNodes::configure(&jns, &refs);
        format_and_start(&mut nns);
        let out = nns.hdfs(
            &[
                "zkfc",
                "-D",
                "dfs.ha.namenode.id=nn1",
                "-formatZK",
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
        let mut cluster = HaCluster {
            zk,
            jns,
            nns,
            zkfcs: [None, None],
            zkfc_ports,
        };
        cluster.start_zkfc(0);
        cluster.start_zkfc(1);
        cluster.wait_one_active().await;
        cluster
    }

    pub fn start_zkfc(&mut self, i: usize) {
        self.zkfcs[i] = Some(start_zkfc(self.nns.conf_dir.path(), i));
    }

    pub fn zkfc(&self, i: usize) -> &Daemon {
        self.zkfcs[i].as_ref().expect("zkfc running")
    }

    /// The HA state of NameNode `i`, or `None` when it does not answer.
    pub async fn state(&self, i: usize) -> Option<String> {
        use hdfs_ha::proto::haservice as ha;
        let mut client =
            ha::ha_service_protocol_service_client::HaServiceProtocolServiceClient::connect(
                format!("http://{}", self.nns.rpc[i]),
            )
            .await
            .ok()?;
        let status = tokio::time::timeout(
            Duration::from_secs(2),
            client.get_service_status(ha::GetServiceStatusRequestProto {}),
        )
        .await
        .ok()?
        .ok()?
        .into_inner();
        Some(status.state().display_name().to_string())
    }

    /// Waits until exactly one NameNode is active; returns it.
    pub async fn wait_one_active(&self) -> usize {
        wait_async("one active NameNode", DEADLINE, || async {
            let states = [self.state(0).await, self.state(1).await];
            let active: Vec<usize> = (0..2)
                .filter(|&i| states[i].as_deref() == Some("active"))
                .collect();
            (active.len() == 1).then(|| active[0])
        })
        .await
    }

    /// Waits until NameNode `i` is in `state`.
    pub async fn wait_state(&self, i: usize, state: &str) {
        wait_async(&format!("nn{} {state}", i + 1), DEADLINE, || async {
            (self.state(i).await.as_deref() == Some(state)).then_some(())
        })
        .await
    }

    /// `hdfs <args>` with the cluster's configuration.
    pub fn hdfs(&self, args: &[&str], input: &str) -> std::process::Output {
        self.nns.hdfs(args, input)
    }
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `deadline`.
pub async fn wait_async<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A ZooKeeper client for looking at znodes.
pub async fn zk_client(zk: &ZkServer) -> zookeeper_client::Client {
    zookeeper_client::Client::connect(&zk.connect_string())
        .await
        .expect("connect to ZooKeeper")
}

/// The `namenodeId` in an ActiveNodeInfo record.
pub fn namenode_of(data: &[u8]) -> String {
    use prost::Message;
    hdfs_ha::proto::hazkinfo::ActiveNodeInfo::decode(data)
        .map(|i| i.namenode_id)
        .unwrap_or_else(|_| "<garbage>".into())
}

/// The holder of the lock and of the breadcrumb of `ns1`.
pub async fn znodes(client: &zookeeper_client::Client) -> (Option<String>, Option<String>) {
    let lock = client
        .get_data("/hadoop-ha/ns1/ActiveStandbyElectorLock")
        .await
        .ok()
        .map(|(d, _)| namenode_of(&d));
    let crumb = client
        .get_data("/hadoop-ha/ns1/ActiveBreadCrumb")
        .await
        .ok()
        .map(|(d, _)| namenode_of(&d));
    (lock, crumb)
}
