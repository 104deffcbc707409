//! `DfsClient` and `hdfs dfs` against fake NameNodes: IPC servers in this process that serve
//! ClientNamenodeProtocol over a shared in-memory namespace, each either active or answering
//! every call with a StandbyException, recording every call's retry-cache ids. They show
//! ConfiguredFailoverProxyProvider's behaviour: failing over from a standby to the active,
//! skipping a dead NameNode, keeping a call's ids across a failover so the retry cache answers
//! a retried create once, giving up after `dfs.client.failover.max.attempts`, and the texts
//! and exit codes of the real `hdfs dfs` binary.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::run_with_timeout;
use hdfs_ha::conf::Configuration;
use hdfs_ha::ipc::RemoteException;
use hdfs_ha::ipc::server::{CallIds, Caller, ServerConf, serve_connection};
use hdfs_ha::namenode::client::{ClientError, DfsClient};
use hdfs_ha::namenode::namespace::{Namespace, NamespaceError, Writer};
use hdfs_ha::namenode::ops::{Attributes, EditOp};
use hdfs_ha::namenode::protocol::{ClientProtocol, ClientProtocolServer};
use hdfs_ha::namenode::rpc::status_proto;
use hdfs_ha::proto::hadoop_client as pb;
use tokio_util::sync::CancellationToken;

/// How long any one step may take before the test fails (never a sleep: a deadline).
const DEADLINE: Duration = Duration::from_secs(30);

const STANDBY_READ: &str = "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error";
const STANDBY_WRITE: &str = "Operation category WRITE is not supported in state standby. Visit https://s.apache.org/sbnn-error";

// ------------------------------------------------------------------ the fake NameNode

/// What every NameNode of a nameservice shares: the namespace (as if through the shared edit
/// log) and the retry cache (as a standby rebuilds it from the logged call ids).
struct Shared {
    namespace: Namespace,
    /// (client id, call id) → the answer of a create already done.
    retry_cache: HashMap<(Vec<u8>, i32), pb::CreateResponseProto>,
}

/// One call as a NameNode received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Received {
    method: &'static str,
    /// (client id, call id) of the IPC header: a retry cache's key.
    call: (Vec<u8>, i32),
    retry_count: i32,
    user: String,
}

struct FakeNameNode {
    shared: Arc<Mutex<Shared>>,
    standby: AtomicBool,
    /// When set, the next create is done and logged, but its answer is lost (the connection
    /// breaks), and this NameNode turns standby — a crash right after the edit was synced.
    lose_next_create_answer: AtomicBool,
    received: Mutex<Vec<Received>>,
    /// Cancelling it closes every open connection.
    connections: Mutex<CancellationToken>,
}

/// How many entries one getListing answer carries: small, so that listings come in batches.
const LS_LIMIT: usize = 2;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn refused(err: NamespaceError) -> RemoteException {
    RemoteException::new(err.class, err.message)
}

fn standby(message: &str) -> RemoteException {
    RemoteException::new("StandbyException", message)
}

impl FakeNameNode {
    /// Records a call; refuses it when standby.
    fn admit(
        &self,
        method: &'static str,
        caller: &Caller,
        ids: &CallIds,
        write: bool,
    ) -> Result<(), RemoteException> {
        self.received.lock().unwrap().push(Received {
            method,
            call: (ids.client_id.to_vec(), ids.call_id),
            retry_count: ids.retry_count,
            user: caller.user.clone(),
        });
        if self.standby.load(Ordering::SeqCst) {
            return Err(standby(if write { STANDBY_WRITE } else { STANDBY_READ }));
        }
        Ok(())
    }

    fn attrs(user: &str, permission: &pb::FsPermissionProto) -> Attributes {
        Attributes {
            permission: permission.perm as u16,
            owner: user.to_string(),
            group: "supergroup".to_string(),
            mtime: now_ms(),
        }
    }

    /// Creates a file once per (client id, call id): a retried call gets the first answer.
    fn create_file(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: &pb::CreateRequestProto,
    ) -> Result<pb::CreateResponseProto, RemoteException> {
        let key = (ids.client_id.to_vec(), ids.call_id);
        let mut shared = self.shared.lock().unwrap();
        if let Some(answer) = shared.retry_cache.get(&key) {
            return Ok(answer.clone());
        }
        let attrs = FakeNameNode::attrs(&caller.user, &r.masked);
        let ops = shared
            .namespace
            .plan_create(
                &r.src,
                &attrs,
                r.create_flag & 2 != 0,
                r.create_parent,
                r.replication as u16,
                0,
                r.block_size,
                Writer {
                    name: &r.client_name,
                    machine: "127.0.0.1",
                },
            )
            .map_err(refused)?;
        FakeNameNode::apply(&mut shared.namespace, ops)?;
        let status = shared.namespace.get_file_info(&r.src).map_err(refused)?;
        let answer = pb::CreateResponseProto {
            fs: status.map(|s| status_proto(&s, "")),
        };
        shared.retry_cache.insert(key, answer.clone());
        Ok(answer)
    }

    fn apply(ns: &mut Namespace, ops: Vec<EditOp>) -> Result<(), RemoteException> {
        for op in ops {
            ns.apply(&op).map_err(refused)?;
        }
        Ok(())
    }
}

impl ClientProtocol for FakeNameNode {
    async fn mkdirs(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::MkdirsRequestProto,
    ) -> Result<pb::MkdirsResponseProto, RemoteException> {
        self.admit("mkdirs", caller, ids, true)?;
        let mut shared = self.shared.lock().unwrap();
        let attrs = FakeNameNode::attrs(&caller.user, &r.masked);
        let ops = shared
            .namespace
            .plan_mkdirs(&r.src, &attrs, r.create_parent)
            .map_err(refused)?;
        FakeNameNode::apply(&mut shared.namespace, ops)?;
        Ok(pb::MkdirsResponseProto { result: true })
    }

    async fn create(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::CreateRequestProto,
    ) -> Result<pb::CreateResponseProto, RemoteException> {
        self.admit("create", caller, ids, true)?;
        let answer = self.create_file(caller, ids, &r)?;
        if self.lose_next_create_answer.swap(false, Ordering::SeqCst) {
            // Crash: standby from now on, every connection closed, no answer ever.
            self.standby.store(true, Ordering::SeqCst);
            self.connections.lock().unwrap().cancel();
            return std::future::pending().await;
        }
        Ok(answer)
    }

    async fn add_block(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::AddBlockRequestProto,
    ) -> Result<pb::AddBlockResponseProto, RemoteException> {
        self.admit("addBlock", caller, ids, true)?;
        Err(RemoteException::new(
            "IOException",
            format!("no DataNode takes a block of {}", r.src),
        ))
    }

    async fn complete(
        &self,
        caller: &Caller,
        ids: &CallIds,
        _: pb::CompleteRequestProto,
    ) -> Result<pb::CompleteResponseProto, RemoteException> {
        self.admit("complete", caller, ids, true)?;
        Ok(pb::CompleteResponseProto { result: true })
    }

    async fn delete(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::DeleteRequestProto,
    ) -> Result<pb::DeleteResponseProto, RemoteException> {
        self.admit("delete", caller, ids, true)?;
        let mut shared = self.shared.lock().unwrap();
        let op = shared
            .namespace
            .plan_delete(&r.src, r.recursive, now_ms())
            .map_err(refused)?;
        let result = op.is_some();
        FakeNameNode::apply(&mut shared.namespace, op.into_iter().collect())?;
        Ok(pb::DeleteResponseProto { result })
    }

    async fn rename(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::RenameRequestProto,
    ) -> Result<pb::RenameResponseProto, RemoteException> {
        self.admit("rename", caller, ids, true)?;
        let mut shared = self.shared.lock().unwrap();
        let op = shared
            .namespace
            .plan_rename(&r.src, &r.dst, now_ms())
            .map_err(refused)?;
        let result = op.is_some();
        FakeNameNode::apply(&mut shared.namespace, op.into_iter().collect())?;
        Ok(pb::RenameResponseProto { result })
    }

    async fn get_listing(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::GetListingRequestProto,
    ) -> Result<pb::GetListingResponseProto, RemoteException> {
        self.admit("getListing", caller, ids, false)?;
        let shared = self.shared.lock().unwrap();
        let after = String::from_utf8(r.start_after).unwrap();
        let listing = shared
            .namespace
            .list_after(&r.src, &after, LS_LIMIT)
            .map_err(refused)?;
        Ok(pb::GetListingResponseProto {
            dir_list: listing.map(|listing| pb::DirectoryListingProto {
                partial_listing: listing
                    .entries
                    .into_iter()
                    .map(|s| status_proto(&s, &s.name))
                    .collect(),
                remaining_entries: listing.remaining as u32,
            }),
        })
    }

    async fn get_file_info(
        &self,
        caller: &Caller,
        ids: &CallIds,
        r: pb::GetFileInfoRequestProto,
    ) -> Result<pb::GetFileInfoResponseProto, RemoteException> {
        self.admit("getFileInfo", caller, ids, false)?;
        let shared = self.shared.lock().unwrap();
        let status = shared.namespace.get_file_info(&r.src).map_err(refused)?;
        Ok(pb::GetFileInfoResponseProto {
            fs: status.map(|s| status_proto(&s, "")),
        })
    }
}

/// A fake NameNode serving on an ephemeral loopback port until dropped.
struct Running {
    node: Arc<FakeNameNode>,
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Running {
    fn set_standby(&self, standby: bool) {
        self.node.standby.store(standby, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.node.received.lock().unwrap().clone()
    }

    fn methods(&self) -> Vec<&'static str> {
        self.received().iter().map(|r| r.method).collect()
    }
}

async fn start(shared: &Arc<Mutex<Shared>>, standby: bool) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let node = Arc::new(FakeNameNode {
        shared: shared.clone(),
        standby: AtomicBool::new(standby),
        lose_next_create_answer: AtomicBool::new(false),
        received: Mutex::new(Vec::new()),
        connections: Mutex::new(CancellationToken::new()),
    });
    let service = Arc::new(ClientProtocolServer(node.clone()));
    let accepting = node.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let closed = {
                let mut token = accepting.connections.lock().unwrap();
                if token.is_cancelled() {
                    *token = CancellationToken::new();
                }
                token.clone()
            };
            tokio::spawn(serve_connection(
                stream,
                service.clone(),
                ServerConf::default(),
                closed,
            ));
        }
    });
    Running {
        node,
        address,
        server,
    }
}

fn shared_namespace() -> Arc<Mutex<Shared>> {
    let root = Attributes {
        permission: 0o755,
        owner: "hdfs".into(),
        group: "supergroup".into(),
        mtime: now_ms(),
    };
    Arc::new(Mutex::new(Shared {
        namespace: Namespace::new(&root),
        retry_cache: HashMap::new(),
    }))
}

/// An address nothing listens on (a port just released).
async fn dead_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// The `hdfs-site.xml` settings of nameservice `testns` over `namenodes`, failing over with
/// 1 ms sleeps and at most `max_attempts` failovers.
fn site(namenodes: &[SocketAddr], max_attempts: u32) -> Vec<(String, String)> {
    let ids: Vec<String> = (1..=namenodes.len()).map(|i| format!("nn{i}")).collect();
    let mut settings = vec![
        ("fs.defaultFS".to_string(), "hdfs://testns".to_string()),
        ("dfs.nameservices".to_string(), "testns".to_string()),
        ("dfs.ha.namenodes.testns".to_string(), ids.join(",")),
        (
            "dfs.client.failover.proxy.provider.testns".to_string(),
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider".to_string(),
        ),
        (
            "dfs.client.failover.max.attempts".to_string(),
            max_attempts.to_string(),
        ),
        (
            "dfs.client.failover.sleep.base.millis".to_string(),
            "1".to_string(),
        ),
        (
            "dfs.client.failover.sleep.max.millis".to_string(),
            "1".to_string(),
        ),
    ];
    for (id, address) in ids.iter().zip(namenodes) {
        settings.push((
            format!("dfs.namenode.rpc-address.testns.{id}"),
            address.to_string(),
        ));
    }
    settings
}

fn configuration(settings: &[(String, String)]) -> Configuration {
    let mut conf = Configuration::new();
    for (k, v) in settings {
        conf.set(k, v);
    }
    conf
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {DEADLINE:?}"))
}

// ------------------------------------------------------------------ DfsClient

#[tokio::test(flavor = "multi_thread")]
async fn standby_first_then_active_and_the_next_call_starts_at_the_active() {
    let shared = shared_namespace();
    let nn1 = start(&shared, true).await;
    let nn2 = start(&shared, false).await;
    let conf = configuration(&site(&[nn1.address, nn2.address], 15));
    let client = DfsClient::new(&conf, "hdfs://testns").unwrap();
    assert_eq!(
        client.namenodes(),
        [
            format!("nn1/{}", nn1.address),
            format!("nn2/{}", nn2.address)
        ]
    );

    assert!(
        within("mkdirs", client.mkdirs("/user/alice", 0o755, true))
            .await
            .unwrap()
    );
    assert_eq!(nn1.methods(), ["mkdirs"]);
    assert_eq!(nn2.methods(), ["mkdirs"]);
    // The call kept its ids across the failover (a retry count apart), and carried the user.
    let (tried, answered) = (&nn1.received()[0], &nn2.received()[0]);
    assert_eq!(tried.call, answered.call);
    assert_eq!((tried.retry_count, answered.retry_count), (0, 1));
    assert_eq!(tried.call.0, client.client_id().to_vec());
    assert_eq!(answered.user, client.user());

    // Later calls go to the NameNode that answered last.
    let status = within("getFileInfo", client.get_file_info("/user/alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(status.is_dir);
    assert_eq!(status.name, "alice");
    let created = within(
        "create",
        client.create("/user/alice/f", 0o644, false, true, 2, 0),
    )
    .await
    .unwrap();
    assert_eq!(
        (created.name.as_str(), created.length, created.replication),
        ("f", 0, 2)
    );
    assert_eq!(nn1.methods(), ["mkdirs"]);
    assert_eq!(
        nn2.methods(),
        ["mkdirs", "getFileInfo", "create", "complete"]
    );
    // Each logical call has a new, larger call id.
    let ids: Vec<i32> = nn2.received().iter().map(|r| r.call.1).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");

    // Data needs a block, which a NameNode without DataNodes does not give: the file stays
    // empty and the error is the NameNode's.
    let err = within(
        "create",
        client.create("/user/alice/data", 0o644, false, true, 2, 8),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.class(), err.to_string().as_str()),
        (
            "IOException",
            "no DataNode takes a block of /user/alice/data"
        )
    );
    assert_eq!(nn2.methods().last(), Some(&"addBlock"));
    assert!(
        within("delete", client.delete("/user/alice/data", false))
            .await
            .unwrap()
    );
    // Listings come in batches of LS_LIMIT, asked for from the last name of each.
    for name in ["g1", "g2", "g3"] {
        within(
            "mkdirs",
            client.mkdirs(&format!("/user/alice/{name}"), 0o755, false),
        )
        .await
        .unwrap();
    }
    let before = nn2.methods().len();
    let names: Vec<String> = within("list", client.list("/user/alice"))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["f", "g1", "g2", "g3"]);
    assert_eq!(nn2.methods()[before..], ["getListing", "getListing"]);
    for name in ["g1", "g2", "g3"] {
        within(
            "delete",
            client.delete(&format!("/user/alice/{name}"), false),
        )
        .await
        .unwrap();
    }
    // A file lists itself, under its own name.
    let listed = within("list", client.list("/user/alice/f"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].is_dir), ("f", false));
    let listing = within("list", client.list("/user/alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].name, "f");
    assert!(
        within("rename", client.rename("/user/alice/f", "/user/alice/g"))
            .await
            .unwrap()
    );
    assert!(
        !within("rename", client.rename("/nope", "/x"))
            .await
            .unwrap()
    );
    assert!(
        within("delete", client.delete("/user", true))
            .await
            .unwrap()
    );
    assert_eq!(within("list", client.list("/user")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_namenode_is_skipped_and_remote_exceptions_are_not_retried() {
    let shared = shared_namespace();
    let dead = dead_address().await;
    let nn2 = start(&shared, false).await;
    let conf = configuration(&site(&[dead, nn2.address], 15));
    let client = DfsClient::new(&conf, "hdfs://testns").unwrap();
    assert!(
        within("mkdirs", client.mkdirs("/d", 0o755, false))
            .await
            .unwrap()
    );

    // FileAlreadyExistsException, FileNotFoundException, ParentNotDirectoryException: the
    // answer, once, with the NameNode's class and message.
    within("create", client.create("/d/f", 0o644, false, false, 3, 0))
        .await
        .unwrap();
    let calls_before = nn2.received().len();
    let err = within("create", client.create("/d/f", 0o644, false, false, 3, 0))
        .await
        .unwrap_err();
    assert_eq!(err.class(), "FileAlreadyExistsException");
    assert!(err.to_string().starts_with("/d/f for client "), "{err}");
    let err = within(
        "create",
        client.create("/missing/f", 0o644, false, false, 3, 0),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.class(), err.to_string().as_str()),
        (
            "FileNotFoundException",
            "Parent directory doesn't exist: /missing"
        )
    );
    let err = within("mkdirs", client.mkdirs("/d/f/g", 0o755, true))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ClientError::Remote {
            class: "ParentNotDirectoryException".into(),
            message: "/d/f (is not a directory)".into()
        }
    );
    assert_eq!(nn2.received().len(), calls_before + 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_retry_cache_answers_a_create_whose_answer_was_lost_in_a_failover() {
    let shared = shared_namespace();
    let nn1 = start(&shared, false).await;
    let nn2 = start(&shared, true).await;
    let conf = configuration(&site(&[nn1.address, nn2.address], 15));
    let client = DfsClient::new(&conf, "hdfs://testns").unwrap();
    within("mkdirs", client.mkdirs("/d", 0o755, true))
        .await
        .unwrap();

    // nn1 does the create, then "crashes" before answering; nn2 takes over.
    nn1.node
        .lose_next_create_answer
        .store(true, Ordering::SeqCst);
    nn2.set_standby(false);
    let status = within("create", client.create("/d/f", 0o644, false, false, 3, 0))
        .await
        .expect("the retried create is answered from the retry cache, not refused");
    assert_eq!(status.name, "f");
    let first = nn1.received().last().unwrap().clone();
    let retried = nn2.received()[0].clone();
    assert_eq!((first.method, retried.method), ("create", "create"));
    assert_eq!(first.call, retried.call, "one logical call, one call id");
    assert!(retried.retry_count > first.retry_count);
    assert_eq!(nn2.methods(), ["create", "complete"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn gives_up_after_max_failovers_with_the_last_error() {
    let shared = shared_namespace();
    let nn1 = start(&shared, true).await;
    let nn2 = start(&shared, true).await;
    let conf = configuration(&site(&[nn1.address, nn2.address], 3));
    let client = DfsClient::new(&conf, "hdfs://testns").unwrap();
    let started = Instant::now();
    let err = within("getFileInfo", client.get_file_info("/"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ClientError::Remote {
            class: "StandbyException".into(),
            message: STANDBY_READ.into()
        }
    );
    // Three failovers: four attempts, alternating.
    assert_eq!(nn1.methods().len() + nn2.methods().len(), 4);
    assert_eq!((nn1.methods().len(), nn2.methods().len()), (2, 2));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Every NameNode dead: the connection error, after the same number of tries.
    let conf = configuration(&site(&[dead_address().await, dead_address().await], 2));
    let client = DfsClient::new(&conf, "hdfs://testns").unwrap();
    let err = within("mkdirs", client.mkdirs("/x", 0o755, true))
        .await
        .unwrap_err();
    assert_eq!(err.class(), "ConnectException");
    assert!(err.to_string().contains("failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_namenode_by_address_does_not_fail_over() {
    let shared = shared_namespace();
    let nn = start(&shared, true).await;
    let conf = configuration(&site(&[dead_address().await], 15));
    let client = DfsClient::new(&conf, &format!("hdfs://{}", nn.address)).unwrap();
    let err = within("getFileInfo", client.get_file_info("/"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), "StandbyException");
    assert_eq!(nn.methods(), ["getFileInfo"]);
    nn.set_standby(false);
    assert!(
        within("getFileInfo", client.get_file_info("/"))
            .await
            .unwrap()
            .is_some()
    );
}

// ------------------------------------------------------------------ hdfs dfs

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A conf dir for the `hdfs` binary.
fn conf_dir(settings: &[(String, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let properties: String = settings
        .iter()
        .map(|(k, v)| format!("  <property><name>{k}</name><value>{v}</value></property>\n"))
        .collect();
    std::fs::write(
        dir.path().join("hdfs-site.xml"),
        format!("<?xml version=\"1.0\"?>\n<configuration>\n{properties}</configuration>\n"),
    )
    .unwrap();
    dir
}

/// Runs `hdfs dfs <args>` as alice, within the deadline.
async fn hdfs_dfs(conf: &Path, log_level: &str, args: &[&str]) -> Outcome {
    let conf = conf.to_path_buf();
    let log_level = log_level.to_string();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let (code, stdout, stderr) = run_with_timeout(
            Command::new(env!("CARGO_BIN_EXE_hdfs"))
                .arg("dfs")
                .args(&args)
                .env("HADOOP_CONF_DIR", &conf)
                .env("HADOOP_USER_NAME", "alice")
                .env("HADOOP_ROOT_LOGGER", format!("{log_level},console"))
                .env_remove("RUST_LOG")
                .env_remove("HADOOP_HOME"),
            DEADLINE,
        );
        Outcome {
            code,
            stdout,
            stderr,
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hdfs_dfs_through_a_standby_and_a_dead_namenode() {
    let shared = shared_namespace();
    let nn1 = start(&shared, true).await;
    let dead = dead_address().await;
    let nn3 = start(&shared, false).await;
    let conf = conf_dir(&site(&[nn1.address, dead, nn3.address], 15));

    let out = hdfs_dfs(conf.path(), "INFO", &["-mkdir", "-p", "/user/alice/dir"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // A client that never succeeded logs the first failure at each NameNode at DEBUG only.
    assert_eq!(out.stderr, "");
    assert_eq!(nn1.methods(), ["getFileInfo"]);

    // -put writes `<target>._COPYING_` and renames it. A file with data needs a block, which
    // the NameNode refuses: the error is its own, and the temporary file is deleted again.
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), b"a b c\n\n").unwrap();
    let local = local.path().to_str().unwrap().to_string();
    let before = nn3.methods().len();
    let out = hdfs_dfs(conf.path(), "INFO", &["-put", &local, "dir/abc.txt"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            Some(1),
            "put: no DataNode takes a block of /user/alice/dir/abc.txt._COPYING_\n"
        )
    );
    let calls = nn3.methods()[before..].to_vec();
    assert_eq!(
        calls[calls.len() - 3..],
        ["create", "addBlock", "delete"],
        "{calls:?}"
    );
    std::fs::write(&local, b"").unwrap();
    let before = nn3.methods().len();
    let out = hdfs_dfs(conf.path(), "INFO", &["-put", &local, "dir/abc.txt"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), ""),
        "{}",
        out.stderr
    );
    let calls = nn3.methods()[before..].to_vec();
    assert_eq!(
        calls[calls.len() - 3..],
        ["create", "complete", "rename"],
        "{calls:?}"
    );

    let out = hdfs_dfs(conf.path(), "INFO", &["-ls", "/user/alice/dir"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0], "Found 1 items");
    assert!(
        lines[1].starts_with("-rw-r--r--   3 alice supergroup          0 ")
            && lines[1].ends_with(" /user/alice/dir/abc.txt"),
        "{}",
        lines[1]
    );

    // At DEBUG, the first failover is logged as Hadoop logs it.
    let out = hdfs_dfs(conf.path(), "DEBUG", &["-stat", "%n %b %r", "dir/abc.txt"]).await;
    assert_eq!(out.stdout, "abc.txt 0 3\n", "{}", out.stderr);
    let expected = format!(
        "DEBUG retry.RetryInvocationHandler: org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.ipc.StandbyException): {STANDBY_READ}, while invoking ClientNamenodeProtocolTranslatorPB.getFileInfo over nn1/{}. Trying to failover immediately.",
        nn1.address
    );
    assert!(
        out.stderr.lines().any(|l| l.ends_with(&expected)),
        "no line ending with {expected:?} in:\n{}",
        out.stderr
    );
    let refused = "DEBUG retry.RetryInvocationHandler: java.net.ConnectException: Call From ";
    assert!(
        out.stderr.lines().any(|l| l.contains(refused)
            && l.contains(&format!(" to {dead} failed on connection exception"))
            && l.contains(&format!(
                "over nn2/{dead} after 1 failover attempts. Trying to failover "
            ))),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hdfs_dfs_gives_up_and_reports_the_last_error() {
    let shared = shared_namespace();
    let nn1 = start(&shared, true).await;
    let nn2 = start(&shared, true).await;
    let conf = conf_dir(&site(&[nn1.address, nn2.address], 3));
    let out = hdfs_dfs(conf.path(), "INFO", &["-ls", "/"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    // Failovers 0 and 1 are each NameNode's first failure (DEBUG); failover 2 is at INFO.
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].contains(&format!(
            " INFO retry.RetryInvocationHandler: org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.ipc.StandbyException): {STANDBY_READ}, while invoking ClientNamenodeProtocolTranslatorPB.getFileInfo over nn1/{} after 2 failover attempts. Trying to failover ",
            nn1.address
        )),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], format!("ls: {STANDBY_READ}"));
    assert_eq!(nn1.methods().len() + nn2.methods().len(), 4);

    // Every NameNode dead.
    let conf = conf_dir(&site(&[dead_address().await, dead_address().await], 1));
    let out = hdfs_dfs(conf.path(), "WARN", &["-mkdir", "/x"]).await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with("mkdir: Call From ")
            && out.stderr.ends_with(" failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused\n"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hdfs_dfs_texts_and_exit_codes_over_the_wire() {
    let shared = shared_namespace();
    let nn = start(&shared, false).await;
    let conf = conf_dir(&site(&[nn.address], 15));
    let run = |args: &'static [&'static str]| hdfs_dfs(conf.path(), "WARN", args);

    let out = run(&["-mkdir", "/x"]).await;
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let out = run(&["-mkdir", "/x"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (Some(1), "mkdir: `/x': File exists\n")
    );
    let out = run(&["-mkdir", "/a/b"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (Some(1), "mkdir: `/a/b': No such file or directory\n")
    );
    let out = run(&["-touchz", "/f"]).await;
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let out = run(&["-mkdir", "-p", "/f/g"]).await;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (Some(1), "mkdir: /f (is not a directory)\n")
    );
    let out = run(&["-mv", "/f", "/x"]).await;
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let out = run(&["-mv", "/x", "/x/y"]).await;
    assert_eq!(
        out.stderr,
        "mv: `/x' to `/x/y': is a subdirectory of itself\n"
    );
    let out = run(&["-rm", "/x"]).await;
    assert_eq!(out.stderr, "rm: `/x': Is a directory\n");
    let out = run(&["-rm", "-r", "/x", "/nope"]).await;
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            Some(1),
            "Deleted /x\n",
            "rm: `/nope': No such file or directory\n"
        )
    );
    let out = run(&["-ls", "hdfs://testns/"]).await;
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), ""));

    // Usage errors exit 255 with the usage on stderr.
    let out = run(&[]).await;
    assert_eq!(out.code, Some(255));
    assert!(
        out.stderr
            .starts_with("Usage: hadoop fs [generic options]\n")
    );
    let out = run(&["-foo"]).await;
    assert_eq!(out.code, Some(255));
    assert!(
        out.stderr
            .starts_with("-foo: Unknown command\nUsage: hadoop fs [generic options]\n")
    );
    let out = run(&["-ls", "-z"]).await;
    assert_eq!(out.code, Some(255));
    assert!(out.stderr.starts_with("-ls: Illegal option -z\n"));
    assert!(out.stderr.ends_with(
        "Usage: hadoop fs [generic options] -ls [-C] [-d] [-h] [-q] [-R] [-t] [-S] [-r] [-u] [<path> ...]\n"
    ));
    // An authority that is neither a nameservice nor a host.
    let out = run(&["-ls", "hdfs://no-such-nameservice.invalid/"]).await;
    assert_eq!(out.code, Some(255));
    assert!(
        out.stderr
            .starts_with("-ls: java.net.UnknownHostException: no-such-nameservice.invalid\n")
    );
    // Generic options come before the command.
    let out = run(&["-D", "fs.defaultFS=hdfs://elsewhere.invalid", "-ls", "/"]).await;
    assert_eq!(out.code, Some(255));
    assert!(
        out.stderr
            .starts_with("-ls: java.net.UnknownHostException: elsewhere.invalid\n")
    );
}

#[test]
fn hdfs_usage_lists_dfs() {
    let out = Command::new(env!("CARGO_BIN_EXE_hdfs"))
        .arg("--help")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("dfs ")
            && l.ends_with("   run a filesystem command on the file system")),
        "{text}"
    );
}
