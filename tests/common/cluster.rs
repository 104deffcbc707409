//! A cluster on loopback for tests: JournalNodes on 127.0.0.1-3 and NameNodes on 127.0.0.1-2,
//! real processes, a generated conf dir, clients for the NameNodes' protocols (all over Hadoop IPC).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Daemon, STARTUP_DEADLINE, binary};
use hdfs_ha::conf::HostPort;
use hdfs_ha::conf::site_xml;
use hdfs_ha::ipc::frame::DEFAULT_MAX_RESPONSE_LENGTH;
use hdfs_ha::namenode::peer::PeerClient;
use hdfs_ha::namenode::protocol::{ClientProtocolClient, connection_context};
use hdfs_ha::proto::hadoop_client as pb;
use hdfs_ha::zkfc::rpc::{CallError, HaClient, RequestSource};

/// A free TCP port on `host` for a daemon to bind (see [`hdfs_ha::local_cluster::free_port`]).
pub fn free_port(host: &str) -> u16 {
    hdfs_ha::local_cluster::free_port(host).expect("a free port")
}

pub struct JournalNodes {
    pub root: tempfile::TempDir,
    pub nodes: Vec<Option<Daemon>>,
    /// `host:port` of each node's RPC server (fixed after the first start).
    pub addresses: Vec<String>,
    conf_dir: tempfile::TempDir,
    cache: bool,
    /// `-D` properties every node starts with beside its own.
    extra: Vec<String>,
}

impl JournalNodes {
    /// Three JournalNodes on 127.0.0.1-3, with the edits cache when `cache`.
    pub fn start(cache: bool) -> JournalNodes {
        let mut jns = JournalNodes {
            root: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
            addresses: Vec::new(),
            conf_dir: tempfile::tempdir().unwrap(),
            cache,
            extra: Vec::new(),
        };
        for i in 0..3 {
            let (d, a) = jns.launch(i, &format!("127.0.0.{}:0", i + 1));
            jns.nodes.push(Some(d));
            jns.addresses.push(a);
        }
        jns
    }

    /// Three JournalNodes (with the edits cache) that know each other through
    /// `dfs.namenode.shared.edits.dir` (journal `jid`) and sync every `sync_interval_ms`.
    pub fn start_synced(jid: &str, sync_interval_ms: u64) -> JournalNodes {
        let addresses: Vec<String> = (1..=3)
            .map(|i| {
                let host = format!("127.0.0.{i}");
                format!("{host}:{}", free_port(&host))
            })
            .collect();
        let mut jns = JournalNodes {
            root: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
            addresses,
            conf_dir: tempfile::tempdir().unwrap(),
            cache: true,
            extra: Vec::new(),
        };
        jns.extra = vec![
            format!("dfs.namenode.shared.edits.dir={}", jns.qjournal_uri(jid)),
            format!("dfs.journalnode.sync.interval={sync_interval_ms}"),
        ];
        for i in 0..3 {
            let address = jns.addresses[i].clone();
            let (d, bound) = jns.launch(i, &address);
            assert_eq!(bound, address);
            jns.nodes.push(Some(d));
        }
        jns
    }

    pub fn edits_dir(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("jn{i}"))
    }

    fn launch(&self, i: usize, rpc: &str) -> (Daemon, String) {
        let args: Vec<String> = [
            format!("dfs.journalnode.rpc-address={rpc}"),
            format!("dfs.journalnode.http-address=127.0.0.{}:0", i + 1),
            format!("dfs.journalnode.edits.dir={}", self.edits_dir(i).display()),
            format!("dfs.ha.tail-edits.in-progress={}", self.cache),
        ]
        .into_iter()
        .chain(self.extra.iter().cloned())
        .flat_map(|d| ["-D".to_string(), d])
        .collect();
        let d = Daemon::start(
            &format!("jn{i}"),
            &binary("journalnode"),
            &args,
            &[(
                "HADOOP_CONF_DIR",
                self.conf_dir.path().display().to_string(),
            )],
        );
        let a = d.wait_for_address("JournalNode RPC server is listening on");
        (d, a)
    }

    pub fn kill9(&mut self, i: usize) {
        if let Some(mut d) = self.nodes[i].take() {
            d.kill9();
        }
    }

    /// Starts JournalNode `i` again on its address and edits directory.
    pub fn restart(&mut self, i: usize) -> &Daemon {
        let address = self.addresses[i].clone();
        let (daemon, bound) = self.launch(i, &address);
        assert_eq!(bound, address);
        self.nodes[i] = Some(daemon);
        self.nodes[i].as_ref().unwrap()
    }

    pub fn qjournal_uri(&self, jid: &str) -> String {
        format!("qjournal://{}/{jid}", self.addresses.join(";"))
    }
}

/// A nameservice `ns1` with NameNodes nn1 (127.0.0.1) and nn2 (127.0.0.2).
pub struct NameNodes {
    pub conf_dir: tempfile::TempDir,
    pub data: tempfile::TempDir,
    pub rpc: [String; 2],
    pub http: [String; 2],
    pub nodes: [Option<Daemon>; 2],
}

pub const NN_IDS: [&str; 2] = ["nn1", "nn2"];

impl NameNodes {
    /// Writes the conf dir; `extra` adds properties to hdfs-site.xml.
    pub fn configure(jns: &JournalNodes, extra: &[(&str, &str)]) -> NameNodes {
        NameNodes::configure_on(jns.qjournal_uri("ns1"), extra)
    }

    /// As [`NameNodes::configure`], with the shared edits dir `qjournal_uri` (any
    /// JournalNodes: ours, Hadoop's, or both).
    pub fn configure_on(qjournal_uri: String, extra: &[(&str, &str)]) -> NameNodes {
        let conf_dir = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let rpc = [
            format!("127.0.0.1:{}", free_port("127.0.0.1")),
            format!("127.0.0.2:{}", free_port("127.0.0.2")),
        ];
        let http = [
            format!("127.0.0.1:{}", free_port("127.0.0.1")),
            format!("127.0.0.2:{}", free_port("127.0.0.2")),
        ];
        let mut props: Vec<(String, String)> = vec![
            ("dfs.nameservices".into(), "ns1".into()),
            ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
            ("dfs.namenode.shared.edits.dir".into(), qjournal_uri),
            ("dfs.ha.tail-edits.in-progress".into(), "true".into()),
            ("dfs.ha.tail-edits.period".into(), "10ms".into()),
            ("fs.defaultFS".into(), "hdfs://ns1".into()),
            ("dfs.client.failover.sleep.base.millis".into(), "20".into()),
            ("dfs.client.failover.sleep.max.millis".into(), "100".into()),
        ];
        for i in 0..2 {
            props.push((
                format!("dfs.namenode.rpc-address.ns1.{}", NN_IDS[i]),
                rpc[i].clone(),
            ));
            props.push((
                format!("dfs.namenode.http-address.ns1.{}", NN_IDS[i]),
                http[i].clone(),
            ));
            props.push((
                format!("dfs.namenode.name.dir.ns1.{}", NN_IDS[i]),
                data.path().join(NN_IDS[i]).display().to_string(),
            ));
        }
        for (k, v) in extra {
            props.retain(|(key, _)| key != k);
            props.push((k.to_string(), v.to_string()));
        }
        std::fs::write(conf_dir.path().join("hdfs-site.xml"), site_xml(&props)).unwrap();
        NameNodes {
            conf_dir,
            data,
            rpc,
            http,
            nodes: [None, None],
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![(
            "HADOOP_CONF_DIR",
            self.conf_dir.path().display().to_string(),
        )]
    }

    /// Runs `hdfs <args>` with this conf dir; `input` is its stdin.
    pub fn hdfs(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(binary("hdfs"))
            .args(args)
            .env("HADOOP_CONF_DIR", self.conf_dir.path())
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

    /// `hdfs namenode -D dfs.ha.namenode.id=<nn> <args>`.
    pub fn namenode_cmd(&self, i: usize, args: &[&str], input: &str) -> std::process::Output {
        let id = format!("dfs.ha.namenode.id={}", NN_IDS[i]);
        let mut all = vec!["namenode", "-D", &id];
        all.extend_from_slice(args);
        self.hdfs(&all, input)
    }

    pub fn start(&mut self, i: usize) -> &Daemon {
        let args = vec![
            "-D".to_string(),
            format!("dfs.ha.namenode.id={}", NN_IDS[i]),
        ];
        let d = Daemon::start(NN_IDS[i], &binary("namenode"), &args, &self.env());
        d.wait_for_line("NameNode RPC up at", STARTUP_DEADLINE);
        d.wait_for_line("is in standby state", STARTUP_DEADLINE);
        self.nodes[i] = Some(d);
        self.nodes[i].as_ref().unwrap()
    }

    pub fn kill9(&mut self, i: usize) {
        if let Some(mut d) = self.nodes[i].take() {
            d.kill9();
        }
    }

    /// An HAServiceProtocol client of NameNode `i` (the one our ZKFC and haadmin use).
    pub async fn ha(&self, i: usize) -> HaClient {
        let address = HostPort::parse(&self.rpc[i], None).unwrap();
        HaClient::connect(&address, Duration::from_secs(20), 0)
            .await
            .unwrap()
    }

    /// A ClientNamenodeProtocol client of NameNode `i` on a connection of its own, as
    /// client `[1; 16]`.
    pub async fn client(&self, i: usize) -> ClientProtocolClient {
        self.client_as(i, 1).await
    }

    /// As [`NameNodes::client`], as client `[client; 16]`: every call on the connection
    /// carries that client id (with `attempt`'s call id, a retry cache key).
    pub async fn client_as(&self, i: usize, client: u8) -> ClientProtocolClient {
        self.try_client_as(i, client).await.unwrap()
    }

    /// As [`NameNodes::client_as`], for a NameNode that may be gone.
    pub async fn try_client_as(
        &self,
        i: usize,
        client: u8,
    ) -> std::io::Result<ClientProtocolClient> {
        let (host, port) = self.rpc[i].rsplit_once(':').unwrap();
        // As the NameNodes' own user, the superuser, as Hadoop's own tests call.
        let user = hdfs_ha::host::current_user();
        let context = connection_context(&user, [client; 16], DEFAULT_MAX_RESPONSE_LENGTH);
        ClientProtocolClient::connect(host, port.parse().unwrap(), context).await
    }

    /// A NamenodeProtocol client, as the other NameNode connects.
    pub async fn nn_protocol(&self, i: usize) -> PeerClient {
        let address = HostPort::parse(&self.rpc[i], None).unwrap();
        PeerClient::connect(&address, Duration::from_secs(20))
            .await
            .unwrap()
    }

    pub async fn state(&self, i: usize) -> String {
        let status = self.ha(i).await.get_service_status().await.unwrap();
        status.state.to_string()
    }

    /// Asks NameNode `i` to become active or standby. A real NameNode whose RPC server is up
    /// before its startup ends answers `RetriableException` ("NameNode still not started"):
    /// that is asked again, as the exception says, until the startup deadline.
    pub async fn transition(
        &self,
        i: usize,
        active: bool,
        source: RequestSource,
    ) -> Result<(), CallError> {
        let client = self.ha(i).await;
        let deadline = tokio::time::Instant::now() + STARTUP_DEADLINE;
        loop {
            let result = if active {
                client.transition_to_active(source).await
            } else {
                client.transition_to_standby(source).await
            };
            match result {
                Err(CallError::Remote { class, .. })
                    if class == "RetriableException" && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn txid(&self, i: usize) -> u64 {
        self.nn_protocol(i).await.transaction_id().await.unwrap()
    }

    pub fn name_dir(&self, i: usize) -> PathBuf {
        self.data.path().join(NN_IDS[i])
    }
}

/// Formats nn1, starts it, bootstraps and starts nn2; both standby.
pub fn format_and_start(nns: &mut NameNodes) {
    let out = nns.namenode_cmd(0, &["-format", "-nonInteractive"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "format: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    nns.start(0);
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-nonInteractive"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "bootstrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    nns.start(1);
}

pub fn path_exists(path: &Path) -> bool {
    path.exists()
}

pub const DEADLINE: Duration = STARTUP_DEADLINE;

/// A `mkdirs -p` of `src` (the call's retry-cache ids travel in its IPC header: see
/// [`NameNodes::client_as`] and `ClientProtocolClient::attempt`).
pub fn mkdirs_request(src: &str) -> pb::MkdirsRequestProto {
    pb::MkdirsRequestProto {
        src: src.into(),
        masked: pb::FsPermissionProto { perm: 0o755 },
        create_parent: true,
        unmasked: None,
    }
}

/// A create of the empty file `src`.
pub fn create_request(src: &str) -> pb::CreateRequestProto {
    pb::CreateRequestProto {
        src: src.into(),
        masked: pb::FsPermissionProto { perm: 0o644 },
        client_name: "DFSClient_NONMAPREDUCE_tester_1".into(),
        create_flag: 1,
        create_parent: true,
        replication: 3,
        block_size: 0,
        ..Default::default()
    }
}

/// The names in directory `path` on NameNode `i`.
pub async fn listing(nns: &NameNodes, i: usize, path: &str) -> Vec<String> {
    let resp = nns
        .client(i)
        .await
        .get_listing(&pb::GetListingRequestProto {
            src: path.into(),
            start_after: Vec::new(),
            need_location: false,
        })
        .await
        .unwrap();
    resp.dir_list
        .map(|l| {
            l.partial_listing
                .into_iter()
                .map(|s| String::from_utf8(s.path).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (with a deadline) until NameNode `i` has applied txid `at_least`.
pub async fn wait_txid(nns: &NameNodes, i: usize, at_least: u64) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while nns.txid(i).await < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nn{} did not reach txid {at_least}",
            i + 1
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
