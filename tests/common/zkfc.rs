//! ZKFC test helpers: a full HA stack on loopback (ZooKeeper, 3 JournalNodes, NameNodes nn1 on
//! 127.0.0.1 and nn2 on 127.0.0.2, a ZKFC beside each), and small tools to read ZooKeeper and
//! wait for HA states with deadlines.

#![allow(dead_code)]

use std::time::Duration;

use super::cluster::{DEADLINE, JournalNodes, NN_IDS, NameNodes, format_and_start, free_port};
use super::zookeeper::{ZKFC_SETTINGS, ZkServer, ZkServerKind};
use super::{Daemon, binary};

/// The ZKFC port of each NameNode host.
pub fn zkfc_ports() -> [u16; 2] {
    [free_port("127.0.0.1"), free_port("127.0.0.2")]
}

/// The properties that turn on automatic failover through `zk`.
pub fn auto_failover_props(zk: &ZkServer, ports: [u16; 2]) -> Vec<(String, String)> {
    vec![
        ("dfs.ha.automatic-failover.enabled".into(), "true".into()),
        ("ha.zookeeper.quorum".into(), zk.addr()),
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
        let zk = ZkServer::start(kind, ZKFC_SETTINGS);
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
        let address = hdfs_ha::conf::HostPort::parse(&self.nns.rpc[i], None).ok()?;
        let client = hdfs_ha::zkfc::rpc::HaClient::connect(&address, Duration::from_secs(2), 0)
            .await
            .ok()?;
        Some(client.get_service_status().await.ok()?.state.to_string())
    }

    /// Waits until exactly one NameNode is active; returns it.
    pub async fn wait_one_active(&self) -> usize {
        self.wait_or_show_logs("one active NameNode", || async {
            let states = [self.state(0).await, self.state(1).await];
            let active: Vec<usize> = (0..2)
                .filter(|&i| states[i].as_deref() == Some("active"))
                .collect();
            (active.len() == 1).then(|| active[0])
        })
        .await
    }

    /// Polls `check` like [`wait_async`]; on timeout the failure shows the last log lines of
    /// every NameNode and ZKFC, so that a failover that did not happen can be read.
    async fn wait_or_show_logs<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let polled = tokio::time::timeout(DEADLINE, async {
            loop {
                if let Some(v) = check().await {
                    return v;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        polled.unwrap_or_else(|_| {
            let daemons = self.nns.nodes.iter().chain(&self.zkfcs).flatten();
            let tails: Vec<String> = daemons
                .map(|d| {
                    let lines = d.log_lines();
                    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                    format!(
                        "--- {} (last {} lines)\n{tail}",
                        d.name,
                        lines.len().min(40)
                    )
                })
                .collect();
            panic!(
                "timed out after {DEADLINE:?} waiting for {what}\n{}",
                tails.join("\n")
            )
        })
    }

    /// Waits until NameNode `i` is in `state`.
    pub async fn wait_state(&self, i: usize, state: &str) {
        self.wait_or_show_logs(&format!("nn{} {state}", i + 1), || async {
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
    zookeeper_client::Client::connect(&zk.addr())
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

/// Writes `hdfs-site.xml` with `props` into `dir`.
pub fn write_site(dir: &std::path::Path, props: &[(String, String)]) {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (k, v) in props {
        let v = v
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        xml.push_str(&format!(
            "  <property><name>{k}</name><value>{v}</value></property>\n"
        ));
    }
    xml.push_str("</configuration>\n");
    std::fs::write(dir.join("hdfs-site.xml"), xml).unwrap();
}

/// Runs `hdfs <args>` with `conf_dir`, `input` on stdin.
pub fn run_hdfs(conf_dir: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(binary("hdfs"))
        .args(args)
        .env("HADOOP_CONF_DIR", conf_dir)
        .env("HADOOP_ROOT_LOGGER", "INFO,console")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Output of a command as (exit code, stdout, stderr).
pub fn outcome(out: &std::process::Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stand-in NameNodes (see [`super::dummy_nn`]) with a ZKFC each, through one ZooKeeper.
/// Fencing appends the fenced NameNode's id to `fenced` in `fence_dir`, and fails for a
/// NameNode whose `nofence.<id>` file exists there.
pub struct DummyCluster {
    pub zk: ZkServer,
    pub nns: Vec<super::dummy_nn::DummyNn>,
    pub conf_dir: tempfile::TempDir,
    pub fence_dir: tempfile::TempDir,
    pub zkfc_ports: Vec<u16>,
    pub zkfcs: Vec<Option<Daemon>>,
}

impl DummyCluster {
    /// `n` stand-ins on 127.0.0.1..n, serving; the configuration written; no ZKFC yet.
    pub fn new(kind: ZkServerKind, n: usize, extra: &[(&str, &str)]) -> DummyCluster {
        let zk = ZkServer::start(kind, ZKFC_SETTINGS);
        let mut nns = Vec::new();
        let mut zkfc_ports = Vec::new();
        for i in 0..n {
            let host = format!("127.0.0.{}", i + 1);
            let mut nn = super::dummy_nn::DummyNn::new(&host);
            nn.start();
            nns.push(nn);
            zkfc_ports.push(free_port(&host));
        }
        let fence_dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = (1..=n).map(|i| format!("nn{i}")).collect();
        let mut props: Vec<(String, String)> = vec![
            ("dfs.nameservices".into(), "ns1".into()),
            ("dfs.ha.namenodes.ns1".into(), ids.join(",")),
            ("dfs.ha.automatic-failover.enabled".into(), "true".into()),
            ("ha.zookeeper.quorum".into(), zk.addr()),
            ("ha.zookeeper.session-timeout.ms".into(), "3000".into()),
            ("ha.health-monitor.check-interval.ms".into(), "200".into()),
            (
                "ha.health-monitor.connect-retry-interval.ms".into(),
                "200".into(),
            ),
            (
                "ha.health-monitor.sleep-after-disconnect.ms".into(),
                "200".into(),
            ),
            ("ha.health-monitor.rpc-timeout.ms".into(), "2000".into()),
            (
                "ha.failover-controller.graceful-fence.rpc-timeout.ms".into(),
                "1000".into(),
            ),
            (
                "dfs.ha.fencing.methods".into(),
                format!(
                    "shell(test ! -e {dir}/nofence.$target_namenodeid && echo $target_namenodeid >> {dir}/fenced)",
                    dir = fence_dir.path().display()
                ),
            ),
        ];
        for i in 0..n {
            props.push((
                format!("dfs.namenode.rpc-address.ns1.nn{}", i + 1),
                nns[i].address.clone(),
            ));
            props.push((
                format!("dfs.ha.zkfc.port.ns1.nn{}", i + 1),
                zkfc_ports[i].to_string(),
            ));
        }
        for (k, v) in extra {
            props.retain(|(key, _)| key != k);
            props.push((k.to_string(), v.to_string()));
        }
        let conf_dir = tempfile::tempdir().unwrap();
        write_site(conf_dir.path(), &props);
        DummyCluster {
            zk,
            nns,
            conf_dir,
            fence_dir,
            zkfc_ports,
            zkfcs: (0..n).map(|_| None).collect(),
        }
    }

    pub fn hdfs(&self, args: &[&str], input: &str) -> std::process::Output {
        run_hdfs(self.conf_dir.path(), args, input)
    }

    /// `hdfs zkfc -formatZK -force` as nn1's host.
    pub fn format(&self) {
        let out = self.hdfs(
            &[
                "zkfc",
                "-D",
                "dfs.ha.namenode.id=nn1",
                "-formatZK",
                "-force",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(0), "{:?}", outcome(&out));
    }

    pub fn start_zkfc(&mut self, i: usize) {
        let args = vec!["-D".to_string(), format!("dfs.ha.namenode.id=nn{}", i + 1)];
        let d = Daemon::start(
            &format!("zkfc{}", i + 1),
            &binary("zkfc"),
            &args,
            &[(
                "HADOOP_CONF_DIR",
                self.conf_dir.path().display().to_string(),
            )],
        );
        d.wait_for_line("ZKFC RpcServer binding to", DEADLINE);
        self.zkfcs[i] = Some(d);
    }

    pub fn zkfc(&self, i: usize) -> &Daemon {
        self.zkfcs[i].as_ref().expect("zkfc running")
    }

    /// How many times NameNode `i` was fenced by a fencing method.
    pub fn fence_count(&self, i: usize) -> usize {
        let id = format!("nn{}", i + 1);
        std::fs::read_to_string(self.fence_dir.path().join("fenced"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.trim() == id)
            .count()
    }

    /// Makes fencing NameNode `i` fail (or work again).
    pub fn fail_to_fence(&self, i: usize, fail: bool) {
        let path = self.fence_dir.path().join(format!("nofence.nn{}", i + 1));
        if fail {
            std::fs::write(path, "").unwrap();
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Which stand-ins are active now.
    pub fn actives(&self) -> Vec<usize> {
        (0..self.nns.len())
            .filter(|&i| self.nns[i].is_active())
            .collect()
    }

    /// Waits until `i` is the only active stand-in.
    pub fn wait_active(&self, i: usize) {
        super::wait_until(&format!("nn{} the only active", i + 1), DEADLINE, || {
            (self.actives() == vec![i]).then_some(())
        });
    }
}
