//! The ZKFC daemon (`zkfc`, `hdfs zkfc`): the I/O around the [`Zkfc`] core. One loop owns the
//! core and carries out its actions; ZooKeeper sessions, the health monitor, the NameNode calls
//! and the ZKFC RPC server run beside it and feed it messages.
//!
//! - ZooKeeper: one task per session ([`super::zk`]); closing a session drops its task.
//! - The local NameNode's transitions and the fencing of an old active run one at a time, in
//!   order, on one worker (as Hadoop runs them under its locks).
//! - The health monitor ([`HealthMonitor`]) polls the NameNode and holds its health stream.
//! - ZKFCProtocol: `cedeActive` goes through the core; `gracefulFailover` is coordinated here
//!   (ask the others to cede, wait for our own election attempt, let them rejoin).
//!
//! On a fatal error or shutdown the RPC server stops and every session is closed (Hadoop's
//! `quitElection(needFence=true)`: the lock goes, the breadcrumb stays).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use zookeeper_client as zk;

use super::conf::ZkfcConf;
use super::controller::{Zkfc, ZkfcAction, ZkfcCoreConf, ZkfcInput};
use super::elector::{ClientId, ElectorConf, ElectorEvent, SessionId, ZkRequest};
use super::failover::FailoverController;
use super::fence::{FenceError, NodeFencer};
use super::health::{
    CheckOutcome, HealthAction, HealthInput, HealthMonitor, HealthState, ServiceState,
};
use super::rpc::{CallError, HaClient, RequestSource, ZKFC_PROTOCOL, ZkfcClient};
use super::target::{NnTarget, TargetError};
use super::zk::ZkError;
use crate::ipc::RemoteException;
use crate::ipc::server::{CallIds, Caller, DispatchError, ResponseFuture, ServerConf, Service};
use crate::proto::hadoop_zkfc as zp;
use prost::Message;

const LOG: &str = "org.apache.hadoop.ha.ZKFailoverController";

/// Why a running ZKFC stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("Problem binding to [{address}] java.net.BindException: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },

    /// The core gave up (`ZKFailoverController.fatalError`); its message.
    #[error("ZK Failover Controller failed: {0}")]
    Fatal(String),
}

/// Why `gracefulFailover` failed, and the exception its caller gets for it.
#[derive(Debug, thiserror::Error)]
enum GracefulError {
    /// Hadoop's `ServiceFailedException`.
    #[error("{0}")]
    ServiceFailed(String),

    #[error(transparent)]
    Zk(#[from] ZkError),

    #[error(transparent)]
    Target(#[from] TargetError),

    #[error(transparent)]
    Call(CallError),
}

impl GracefulError {
    fn remote(self) -> RemoteException {
        let class = match self {
            GracefulError::ServiceFailed(_) => "ServiceFailedException",
            _ => "IOException",
        };
        RemoteException::new(class, self.to_string())
    }
}

/// Everything that reaches the core's loop.
enum Msg {
    Input(ZkfcInput),
    /// A session the core asked for is open (or could not be opened).
    Opened {
        client: ClientId,
        result: Result<zk::Client, ZkError>,
    },
    /// `cedeActive(millis)` from the RPC server.
    Cede {
        millis: i32,
        reply: oneshot::Sender<()>,
    },
}

impl From<ElectorEvent> for Msg {
    fn from(event: ElectorEvent) -> Msg {
        Msg::Input(ZkfcInput::Elector(event))
    }
}

/// A job for the NameNode worker.
enum NnJob {
    Active,
    Standby,
    CedeStandby(u64),
    Fence(Vec<u8>),
}

/// The outcome of an attempt to become active (`ActiveAttemptRecord`).
#[derive(Debug, Clone)]
struct ActiveAttempt {
    at: Instant,
    succeeded: bool,
    status: String,
}

/// What the graceful failover reads of the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CoreStatus {
    health: HealthState,
    service: ServiceState,
}

/// The session used for reads outside the election (`getActiveData`), reopened when lost.
struct AdminSession {
    conf: Arc<ZkfcConf>,
    client: tokio::sync::Mutex<Option<zk::Client>>,
}

impl AdminSession {
    async fn active_data(&self) -> Result<Option<Vec<u8>>, ZkError> {
        let mut slot = self.client.lock().await;
        for _ in 0..2 {
            if slot.is_none() {
                *slot = Some(super::zk::connect(&self.conf.zk).await?);
            }
            let client = slot.as_ref().expect("just set");
            match super::zk::active_data(client, &self.conf.zk).await {
                Ok(data) => return Ok(data),
                Err(zk::Error::SessionExpired) | Err(zk::Error::ClientClosed) => *slot = None,
                Err(e) => return Err(ZkError::ActiveData(e)),
            }
        }
        Err(ZkError::ActiveData(zk::Error::SessionExpired))
    }
}

/// Shared by the RPC service.
struct Shared {
    conf: Arc<ZkfcConf>,
    tx: mpsc::UnboundedSender<Msg>,
    status: watch::Receiver<CoreStatus>,
    attempts: watch::Receiver<Option<ActiveAttempt>>,
    admin: AdminSession,
}

/// Runs a ZKFC until `shutdown` completes (Ok) or a fatal error (Err, Hadoop's
/// `ZK Failover Controller failed: <error>`). `admin` is the session opened at startup.
pub async fn run(
    conf: ZkfcConf,
    admin: zk::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DaemonError> {
    let conf = Arc::new(conf);
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (status_tx, status_rx) = watch::channel(CoreStatus {
        health: HealthState::Initializing,
        service: ServiceState::Initializing,
    });
    let (attempt_tx, attempt_rx) = watch::channel(None);

    tracing::info!(target: LOG, "ZKFC RpcServer binding to {}", conf.rpc_bind);
    let listener = tokio::net::TcpListener::bind(conf.rpc_bind)
        .await
        .map_err(|source| DaemonError::Bind {
            address: conf.rpc_bind,
            source,
        })?;
    let shared = Arc::new(Shared {
        conf: conf.clone(),
        tx: tx.clone(),
        status: status_rx,
        attempts: attempt_rx,
        admin: AdminSession {
            conf: conf.clone(),
            client: tokio::sync::Mutex::new(Some(admin)),
        },
    });
    let stop_rpc = CancellationToken::new();
    let rpc = tokio::spawn(crate::ipc::accept::accept_ipc(
        listener,
        Arc::new(ZkfcRpc { shared }),
        ServerConf::default(),
        stop_rpc.clone(),
    ));

    let (nn_tx, nn_rx) = mpsc::unbounded_channel();
    let nn_worker = tokio::spawn(nn_worker(conf.clone(), nn_rx, tx.clone()));
    let monitor = tokio::spawn(health_monitor(conf.clone(), tx.clone()));
    let stop_monitor = monitor.abort_handle();
    let monitor_failed = tx.clone();
    let health = tokio::spawn(async move {
        // The monitor runs until the ZKFC stops; ending any other way is HEALTH_MONITOR_FAILED.
        let outcome = monitor.await;
        tracing::error!(target: LOG, "Health monitor failed: {outcome:?}");
        let _ = monitor_failed.send(Msg::Input(ZkfcInput::HealthChanged(
            HealthState::HealthMonitorFailed,
        )));
    });

    let core = Zkfc::new(
        ZkfcCoreConf {
            elector: ElectorConf {
                parent_znode: conf.zk.parent_znode.clone(),
                max_retries: conf.zk.op_retries,
            },
            local: conf.local.to_string(),
            local_data: conf.local.to_active_node_info(),
        },
        None,
        Instant::now(),
    );
    let mut driver = Driver {
        conf: conf.clone(),
        core,
        tx,
        nn: nn_tx,
        sessions: HashMap::new(),
        cede_waiters: HashMap::new(),
        next_cede: 1,
        status: status_tx,
        attempts: attempt_tx,
    };

    tokio::pin!(shutdown);
    let outcome = loop {
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else { break Ok(()) };
                if let Err(fatal) = driver.handle(message) {
                    break Err(fatal);
                }
            }
            _ = &mut shutdown => break Ok(()),
        }
    };
    // On the way out: stop the RPC server, leave the election (the lock goes with the
    // sessions; the breadcrumb stays, so the next active fences us), stop the monitor.
    stop_rpc.cancel();
    let _ = rpc.await;
    driver.sessions.clear();
    health.abort();
    stop_monitor.abort();
    nn_worker.abort();
    outcome
}

struct Driver {
    conf: Arc<ZkfcConf>,
    core: Zkfc,
    tx: mpsc::UnboundedSender<Msg>,
    nn: mpsc::UnboundedSender<NnJob>,
    sessions: HashMap<ClientId, mpsc::UnboundedSender<ZkRequest>>,
    cede_waiters: HashMap<u64, oneshot::Sender<()>>,
    next_cede: u64,
    status: watch::Sender<CoreStatus>,
    attempts: watch::Sender<Option<ActiveAttempt>>,
}

impl Driver {
    fn handle(&mut self, message: Msg) -> Result<(), DaemonError> {
        match message {
            Msg::Input(input) => self.step(input),
            Msg::Opened { client, result } => match result {
                Ok(session) => {
                    let id = SessionId(session.session_id().0);
                    tracing::info!(target: LOG, "Opened ZooKeeper session {id}");
                    let requests =
                        super::zk::spawn_session(client, session, &self.conf.zk, self.tx.clone());
                    self.sessions.insert(client, requests);
                    self.step(ZkfcInput::Elector(ElectorEvent::Connected {
                        client,
                        session: id,
                    }))
                }
                Err(error) => self.step(ZkfcInput::Elector(ElectorEvent::ConnectFailed {
                    client,
                    error,
                })),
            },
            Msg::Cede { millis, reply } => {
                let id = self.next_cede;
                self.next_cede += 1;
                self.cede_waiters.insert(id, reply);
                self.step(ZkfcInput::Cede {
                    id,
                    millis: i64::from(millis),
                })
            }
        }
    }

    fn step(&mut self, input: ZkfcInput) -> Result<(), DaemonError> {
        let actions = self.core.step(Instant::now(), input);
        self.status.send_if_modified(|s| {
            let now = CoreStatus {
                health: self.core.last_health(),
                service: self.core.service_state(),
            };
            let changed = *s != now;
            *s = now;
            changed
        });
        for action in actions {
            self.execute(action)?;
        }
        Ok(())
    }

    fn execute(&mut self, action: ZkfcAction) -> Result<(), DaemonError> {
        match action {
            ZkfcAction::Zk(ZkRequest::Connect { client }) => {
                let tx = self.tx.clone();
                let conf = self.conf.clone();
                tokio::spawn(async move {
                    let result = super::zk::connect(&conf.zk).await;
                    let _ = tx.send(Msg::Opened { client, result });
                });
            }
            ZkfcAction::Zk(ZkRequest::Close { client }) => {
                self.sessions.remove(&client);
            }
            ZkfcAction::Zk(request) => {
                let client = match &request {
                    ZkRequest::CreateLock { client, .. }
                    | ZkRequest::WatchLock { client }
                    | ZkRequest::GetBreadcrumb { client }
                    | ZkRequest::CreateBreadcrumb { client, .. }
                    | ZkRequest::SetBreadcrumb { client, .. }
                    | ZkRequest::DeleteBreadcrumb { client, .. } => *client,
                    ZkRequest::Connect { client } | ZkRequest::Close { client } => *client,
                };
                if let Some(session) = self.sessions.get(&client) {
                    let _ = session.send(request);
                }
            }
            ZkfcAction::Schedule { timer, after } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(Msg::Input(ZkfcInput::Timer(timer)));
                });
            }
            ZkfcAction::TransitionToActive => {
                let _ = self.nn.send(NnJob::Active);
            }
            ZkfcAction::TransitionToStandby => {
                let _ = self.nn.send(NnJob::Standby);
            }
            ZkfcAction::CedeToStandby { id } => {
                let _ = self.nn.send(NnJob::CedeStandby(id));
            }
            ZkfcAction::FenceOldActive(data) => {
                let _ = self.nn.send(NnJob::Fence(data));
            }
            ZkfcAction::ActiveAttempt { succeeded, status } => {
                self.attempts.send_replace(Some(ActiveAttempt {
                    at: Instant::now(),
                    succeeded,
                    status,
                }));
            }
            ZkfcAction::CedeDone { id } => {
                if let Some(reply) = self.cede_waiters.remove(&id) {
                    let _ = reply.send(());
                }
            }
            ZkfcAction::Fatal(message) => return Err(DaemonError::Fatal(message)),
        }
        Ok(())
    }
}

// ---- the local NameNode and fencing

async fn nn_worker(
    conf: Arc<ZkfcConf>,
    mut jobs: mpsc::UnboundedReceiver<NnJob>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    while let Some(job) = jobs.recv().await {
        let input = match job {
            NnJob::Active => ZkfcInput::LocalActive(
                local_transition(&conf, conf.timeouts.new_active, true).await,
            ),
            NnJob::Standby => ZkfcInput::LocalStandby(
                local_transition(&conf, conf.timeouts.graceful_fence, false).await,
            ),
            NnJob::CedeStandby(id) => ZkfcInput::CedeStandby {
                id,
                result: local_transition(&conf, conf.timeouts.graceful_fence, false).await,
            },
            NnJob::Fence(data) => ZkfcInput::Fenced(fence_old_active(&conf, &data).await),
        };
        if tx.send(Msg::Input(input)).is_err() {
            return;
        }
    }
}

async fn local_transition(
    conf: &ZkfcConf,
    timeout: Duration,
    active: bool,
) -> Result<(), CallError> {
    let client = HaClient::connect(&conf.local.address, timeout, 0).await?;
    if active {
        client.transition_to_active(RequestSource::Zkfc).await
    } else {
        client.transition_to_standby(RequestSource::Zkfc).await
    }
}

/// `fenceOldActive` / `doFence`: a graceful fence first, then the configured methods.
async fn fence_old_active(conf: &ZkfcConf, data: &[u8]) -> Result<(), FenceError> {
    let target = NnTarget::from_active_node_info(&conf.base, data)?;
    tracing::info!(target: LOG, "Should fence: {target}");
    let controller = FailoverController {
        timeouts: conf.timeouts,
        fencer: conf.fencer.clone(),
        source: RequestSource::Zkfc,
    };
    if controller.try_graceful_fence(&target).await {
        tracing::info!(
            target: LOG,
            "Successfully transitioned {target} to standby state without fencing"
        );
        return Ok(());
    }
    let fencer = NodeFencer::for_target(&target, &conf.fencer).map_err(|e| {
        tracing::error!(target: LOG, "Couldn't fence old active {target}: {e}");
        FenceError::NotConfigured
    })?;
    if !fencer.fence(&target).await {
        return Err(FenceError::Failed(target.to_string()));
    }
    Ok(())
}

// ---- the health monitor

/// What reaches the health monitor's loop.
enum HealthMsg {
    Input(HealthInput),
    /// A connection the monitor asked for is open.
    Client(u64, HaClient),
}

async fn health_monitor(conf: Arc<ZkfcConf>, tx: mpsc::UnboundedSender<Msg>) {
    let (hm_tx, mut messages) = mpsc::unbounded_channel::<HealthMsg>();
    let mut monitor = HealthMonitor::new(conf.health, conf.local.to_string());
    let mut clients: HashMap<u64, HaClient> = HashMap::new();
    let mut streams: HashMap<u64, tokio::task::JoinHandle<()>> = HashMap::new();
    let _ = hm_tx.send(HealthMsg::Input(HealthInput::Start));
    while let Some(message) = messages.recv().await {
        let input = match message {
            HealthMsg::Input(input) => input,
            HealthMsg::Client(conn, client) => {
                clients.insert(conn, client);
                HealthInput::Connected { conn }
            }
        };
        for action in monitor.step(input) {
            let send = {
                let hm_tx = hm_tx.clone();
                move |input: HealthInput| {
                    let _ = hm_tx.send(HealthMsg::Input(input));
                }
            };
            match action {
                HealthAction::Connect { conn } => {
                    let conf = conf.clone();
                    let hm_tx = hm_tx.clone();
                    tokio::spawn(async move {
                        let address = &conf.local.health_address;
                        let message =
                            match HaClient::connect(address, conf.health_rpc_timeout, 0).await {
                                Ok(client) => HealthMsg::Client(conn, client),
                                Err(e) => HealthMsg::Input(HealthInput::ConnectFailed {
                                    conn,
                                    error: e.to_string(),
                                }),
                            };
                        let _ = hm_tx.send(message);
                    });
                }
                HealthAction::WatchStream { conn } => {
                    let Some(client) = clients.get(&conn).cloned() else {
                        continue;
                    };
                    let changed = send.clone();
                    let stream = tokio::spawn(async move {
                        let error = client
                            .watch_health(|| changed(HealthInput::StreamChanged { conn }))
                            .await;
                        send(HealthInput::StreamBroken { conn, error });
                    });
                    streams.insert(conn, stream);
                }
                HealthAction::Check { conn } => {
                    let Some(client) = clients.get(&conn).cloned() else {
                        continue;
                    };
                    tokio::spawn(async move {
                        let outcome = check(&client).await;
                        send(HealthInput::Checked { conn, outcome });
                    });
                }
                HealthAction::Disconnect { conn } => {
                    clients.remove(&conn);
                    if let Some(stream) = streams.remove(&conn) {
                        stream.abort();
                    }
                }
                HealthAction::Schedule { timer, after } => {
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        send(HealthInput::Timer(timer));
                    });
                }
                HealthAction::Entered(state) => {
                    let _ = tx.send(Msg::Input(ZkfcInput::HealthChanged(state)));
                }
                HealthAction::ServiceStatus(state) => {
                    let _ = tx.send(Msg::Input(ZkfcInput::ServiceStatus(state)));
                }
            }
        }
    }
}

// ---- ZKFCProtocol

struct ZkfcRpc {
    shared: Arc<Shared>,
}

impl Service for ZkfcRpc {
    fn protocols(&self) -> &'static [&'static str] {
        &[ZKFC_PROTOCOL]
    }

    fn call(
        &self,
        caller: &Arc<Caller>,
        _ids: CallIds,
        _protocol: &str,
        method: &str,
        payload: bytes::Bytes,
    ) -> Result<ResponseFuture, DispatchError> {
        let shared = self.shared.clone();
        match method {
            "cedeActive" => {
                let request = zp::CedeActiveRequestProto::decode(payload)
                    .map_err(DispatchError::Undecodable)?;
                // Java reads the uint32 field into an int.
                let millis = request.millis_to_cede as i32;
                let caller = caller.clone();
                Ok(Box::pin(async move {
                    cede_active(&shared, &caller, millis).await?;
                    Ok(zp::CedeActiveResponseProto {}.encode_to_vec())
                }))
            }
            "gracefulFailover" => {
                zp::GracefulFailoverRequestProto::decode(payload)
                    .map_err(DispatchError::Undecodable)?;
                Ok(Box::pin(async move {
                    graceful_failover(&shared)
                        .await
                        .map_err(GracefulError::remote)?;
                    Ok(zp::GracefulFailoverResponseProto {}.encode_to_vec())
                }))
            }
            _ => Err(DispatchError::NoSuchMethod),
        }
    }
}

/// `cedeActive(millis)`: goes through the core.
async fn cede_active(shared: &Shared, caller: &Caller, millis: i32) -> Result<(), RemoteException> {
    if millis > 0 {
        let user = if caller.user.is_empty() {
            crate::host::current_user()
        } else {
            caller.user.clone()
        };
        tracing::info!(
            target: LOG,
            "Requested by {user} (auth:SIMPLE) at /{} to cede active role.",
            caller.address
        );
    }
    let stopping = || RemoteException::new("IOException", "The ZK failover controller is stopping");
    let (reply, done) = oneshot::channel();
    shared
        .tx
        .send(Msg::Cede { millis, reply })
        .map_err(|_| stopping())?;
    done.await.map_err(|_| stopping())
}

/// `doGracefulFailover`: make the local NameNode active by asking every other ZKFC to cede,
/// the active one last, and waiting for our own election attempt.
async fn graceful_failover(shared: &Shared) -> Result<(), GracefulError> {
    let failed = GracefulError::ServiceFailed;
    let conf = &shared.conf;
    let local = &conf.local;
    let timeout = conf.timeouts.graceful_fence * 2;

    // Phase 1: this node must be a candidate.
    let status = *shared.status.borrow();
    if status.health != HealthState::ServiceHealthy {
        return Err(failed(format!(
            "{local} is not currently healthy. Cannot be failover target"
        )));
    }
    if status.service == ServiceState::Observer {
        return Err(failed(format!(
            "{local} is in observer state. Cannot be failover target"
        )));
    }

    // Phase 2: who is active now.
    let data = shared.admin.active_data().await?;
    let Some(data) = data else {
        return Err(failed("No other node is currently active.".into()));
    };
    let old_active = NnTarget::from_active_node_info(&conf.base, &data)?;
    if old_active.same_address(local) {
        tracing::info!(
            target: LOG,
            "Local node {local} is already active. No need to failover. Returning success."
        );
        return Ok(());
    }

    // Phase 3: everyone else steps aside, the active one last.
    let started = Instant::now();
    let mut order: Vec<&NnTarget> = conf
        .others
        .iter()
        .filter(|t| !t.same_address(&old_active))
        .collect();
    let active = conf
        .others
        .iter()
        .find(|t| t.same_address(&old_active))
        .unwrap_or(&old_active);
    order.push(active);
    let mut ceded = Vec::new();
    for remote in order {
        tracing::info!(
            target: LOG,
            "Asking {remote} to cede its active state for {}ms",
            timeout.as_millis()
        );
        let client = ZkfcClient::connect(&remote.zkfc_address, timeout)
            .await
            .map_err(GracefulError::Call)?;
        client
            .cede_active(timeout.as_millis() as i32)
            .await
            .map_err(|e| match e {
                CallError::Remote { class, message } if class == "ServiceFailedException" => {
                    failed(message)
                }
                other => GracefulError::Call(other),
            })?;
        ceded.push(client);
    }

    // Phase 4: the normal election makes us active (or not).
    let attempt =
        wait_for_active_attempt(shared, timeout + Duration::from_millis(60_000), started).await;

    // Phase 5: the others may rejoin, so that a quick failback stays possible.
    for client in &ceded {
        if let Err(e) = client.cede_active(-1).await {
            tracing::warn!(target: LOG, "Unable to let a ZKFC rejoin the election: {e}");
        }
    }

    let Some(attempt) = attempt else {
        if shared.status.borrow().health != HealthState::ServiceHealthy {
            return Err(failed(
                "Unable to become active. Service became unhealthy while trying to failover."
                    .into(),
            ));
        }
        return Err(failed(
            "Unable to become active. Local node did not get an opportunity to do so from ZooKeeper, or the local node took too long to transition to active."
                .into(),
        ));
    };
    if attempt.succeeded {
        tracing::info!(target: LOG, "Successfully became active. {}", attempt.status);
        Ok(())
    } else {
        Err(failed(format!(
            "Failed to become active. {}",
            attempt.status
        )))
    }
}

/// Waits for an attempt to become active made after `since`; `None` when the service turns
/// unhealthy or the time runs out.
async fn wait_for_active_attempt(
    shared: &Shared,
    timeout: Duration,
    since: Instant,
) -> Option<ActiveAttempt> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = shared.attempts.clone();
    let mut status = shared.status.clone();
    loop {
        if status.borrow_and_update().health != HealthState::ServiceHealthy {
            return None;
        }
        if let Some(attempt) = attempts.borrow_and_update().as_ref()
            && attempt.at >= since
        {
            return Some(attempt.clone());
        }
        tokio::select! {
            _ = attempts.changed() => {}
            _ = status.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tokio::time::sleep_until(deadline) => {
                tracing::warn!(
                    target: LOG,
                    "{}ms timeout elapsed waiting for an attempt to become active",
                    timeout.as_millis()
                );
                return None;
            }
        }
    }
}

/// One health check: the status, then the health.
async fn check(client: &HaClient) -> CheckOutcome {
    let status = match client.get_service_status().await {
        Ok(status) => status.state,
        Err(e) if e.is_health_check_failure() => {
            return CheckOutcome::Unhealthy {
                status: None,
                message: e.to_string(),
            };
        }
        Err(e) => return CheckOutcome::Failed(e.to_string()),
    };
    match client.monitor_health().await {
        Ok(()) => CheckOutcome::Healthy(status),
        Err(e) if e.is_health_check_failure() => CheckOutcome::Unhealthy {
            status: Some(status),
            message: e.to_string(),
        },
        Err(e) => CheckOutcome::Failed(e.to_string()),
    }
}
