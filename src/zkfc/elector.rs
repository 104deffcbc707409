//! `Elector`: Hadoop's `ActiveStandbyElector` as a state machine with no I/O. ZooKeeper results,
//! watch and session events, the application's answers and timers go in
//! ([`ElectorEvent`]); ZooKeeper requests, the application callbacks (become active / standby /
//! neutral, fence the old active, fatal error) and timers come out ([`ElectorAction`]).
//!
//! The rules it keeps (reference §3.2):
//! - the lock `<parent>/ActiveStandbyElectorLock` is EPHEMERAL: whoever created it in its current
//!   session is the one that may become active; a `NODEEXISTS` answer makes us standby, unless a
//!   retried create may have succeeded, in which case the lock's `ephemeralOwner` decides;
//! - before becoming active the breadcrumb `<parent>/ActiveBreadCrumb` (PERSISTENT, the last
//!   active's `ActiveNodeInfo`) is read and its holder fenced unless it is us, and the breadcrumb
//!   is then written *conditionally* (create, or setData with the version read), so two
//!   winners cannot both overwrite it;
//! - any failure while winning releases the lock by closing the session, sleeps 1 s
//!   ([`SLEEP_AFTER_FAILURE_TO_BECOME_ACTIVE`]) and rejoins with a brand new session;
//! - a disconnected session means NEUTRAL (we do not know who is active; the application keeps
//!   its state); an expired one means NEUTRAL and a new session;
//! - results and events from a session we have closed are ignored;
//! - like Hadoop's synchronized methods, while a multi-step operation is under way (connecting,
//!   winning, yielding, sleeping before a rejoin, the application becoming standby) every other
//!   event waits its turn, in order.
//!
//! Hadoop's log lines are kept, with Hadoop's logger name.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use super::fence::FenceError;
use super::rpc::CallError;
use super::zk::ZkError;

/// The ephemeral lock znode's name inside the parent znode.
pub const LOCK_FILENAME: &str = "ActiveStandbyElectorLock";
/// The persistent breadcrumb znode's name inside the parent znode.
pub const BREADCRUMB_FILENAME: &str = "ActiveBreadCrumb";
/// How long a node that failed to become active stays out before rejoining.
pub const SLEEP_AFTER_FAILURE_TO_BECOME_ACTIVE: Duration = Duration::from_millis(1000);
/// The pause between attempts to establish a ZooKeeper session (`reEstablishSession`).
pub const SLEEP_BETWEEN_SESSION_ATTEMPTS: Duration = Duration::from_millis(5000);

const LOG: &str = "org.apache.hadoop.ha.ActiveStandbyElector";

/// The driver's handle for one ZooKeeper session object (a new one for every new session).
pub type ClientId = u64;

/// A ZooKeeper session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub i64);

impl fmt::Display for SessionId {
    /// As Hadoop prints it (`String.format("0x%08x", id)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0 as u64)
    }
}

/// A ZooKeeper result code the elector distinguishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkCode {
    ConnectionLoss,
    OperationTimeout,
    SessionExpired,
    NoNode,
    NodeExists,
    BadVersion,
    NoAuth,
    NotEmpty,
    AuthFailed,
    /// Anything else, by Hadoop's `Code` name.
    Other(String),
}

impl ZkCode {
    /// Hadoop's `shouldRetry`: only a lost connection or a timed-out operation is retried.
    pub fn should_retry(&self) -> bool {
        matches!(self, ZkCode::ConnectionLoss | ZkCode::OperationTimeout)
    }

    /// The `KeeperException.Code` name (`CONNECTIONLOSS`), as in "code:CONNECTIONLOSS".
    pub fn name(&self) -> &str {
        match self {
            ZkCode::ConnectionLoss => "CONNECTIONLOSS",
            ZkCode::OperationTimeout => "OPERATIONTIMEOUT",
            ZkCode::SessionExpired => "SESSIONEXPIRED",
            ZkCode::NoNode => "NONODE",
            ZkCode::NodeExists => "NODEEXISTS",
            ZkCode::BadVersion => "BADVERSION",
            ZkCode::NoAuth => "NOAUTH",
            ZkCode::NotEmpty => "NOTEMPTY",
            ZkCode::AuthFailed => "AUTHFAILED",
            ZkCode::Other(name) => name,
        }
    }

    /// `KeeperException.getMessage()` for an operation on `path`
    /// (`KeeperErrorCode = ConnectionLoss for /hadoop-ha/ns1`).
    pub fn keeper_message(&self, path: &str) -> String {
        let camel = match self {
            ZkCode::ConnectionLoss => "ConnectionLoss",
            ZkCode::OperationTimeout => "OperationTimeout",
            ZkCode::SessionExpired => "Session expired",
            ZkCode::NoNode => "NoNode",
            ZkCode::NodeExists => "NodeExists",
            ZkCode::BadVersion => "BadVersion",
            ZkCode::NoAuth => "NoAuth",
            ZkCode::NotEmpty => "Directory not empty",
            ZkCode::AuthFailed => "AuthFailed",
            ZkCode::Other(name) => name,
        };
        format!("KeeperErrorCode = {camel} for {path}")
    }
}

impl fmt::Display for ZkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The elector's view of itself (Hadoop's `State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectorState {
    Init,
    Active,
    Standby,
    Neutral,
}

impl fmt::Display for ElectorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElectorState::Init => "INIT",
            ElectorState::Active => "ACTIVE",
            ElectorState::Standby => "STANDBY",
            ElectorState::Neutral => "NEUTRAL",
        })
    }
}

/// The state of the ZooKeeper connection (Hadoop's `ConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Disconnected,
    Connected,
    Terminated,
}

/// A change of the session's state, as a ZooKeeper watcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    SyncConnected,
    Disconnected,
    Expired,
    /// Any other state (`AuthFailed`, `ConnectedReadOnly`, …), by ZooKeeper's name: fatal.
    Unexpected(String),
}

/// What happened to the lock znode a watch was set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEvent {
    Created,
    Deleted,
    DataChanged,
    ChildrenChanged,
}

/// A request for the driver's ZooKeeper sessions. Every request names the session it must use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkRequest {
    /// Open a new session with the configured timeout and auth; answer with
    /// [`ElectorEvent::Connected`] or [`ElectorEvent::ConnectFailed`].
    Connect { client: ClientId },
    /// Close the session (its ephemeral lock, if any, disappears at once).
    Close { client: ClientId },
    /// Create the lock, EPHEMERAL, with our data and the configured ACL.
    CreateLock { client: ClientId, data: Vec<u8> },
    /// `exists` on the lock with a watch; answer with [`ElectorEvent::LockStat`], and later one
    /// [`ElectorEvent::LockWatch`] when the watch fires.
    WatchLock { client: ClientId },
    /// `getData` of the breadcrumb (no watch).
    GetBreadcrumb { client: ClientId },
    /// Create the breadcrumb, PERSISTENT, with the configured ACL.
    CreateBreadcrumb { client: ClientId, data: Vec<u8> },
    /// `setData` of the breadcrumb, only if its version is still `version`.
    SetBreadcrumb {
        client: ClientId,
        data: Vec<u8>,
        version: i32,
    },
    /// Delete the breadcrumb, only if its version is still `version`.
    DeleteBreadcrumb { client: ClientId, version: i32 },
}

/// A timer the elector asked for; only the latest of its kind counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectorTimer {
    /// The pause before rejoining after a failed activation.
    Rejoin(u64),
    /// The pause between attempts to open a session.
    Reconnect(u64),
}

/// Why the application could not take the active role the elector won for it; the elector
/// logs it, releases the lock and rejoins later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The old active could not be fenced.
    #[error(transparent)]
    Fence(#[from] FenceError),

    /// The local NameNode refused or missed `transitionToActive`.
    #[error("Couldn't transition to active: {0}")]
    Transition(#[source] CallError),
}

/// An input to the elector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectorEvent {
    /// `joinElection(data)`: take part with this `ActiveNodeInfo`.
    Join(Vec<u8>),
    /// `quitElection(needFence)`.
    Quit {
        need_fence: bool,
    },
    Connected {
        client: ClientId,
        session: SessionId,
    },
    ConnectFailed {
        client: ClientId,
        error: ZkError,
    },
    LockCreated {
        client: ClientId,
        result: Result<(), ZkCode>,
    },
    /// The lock's `ephemeralOwner`, or why `exists` failed (`NONODE` when it is gone).
    LockStat {
        client: ClientId,
        result: Result<SessionId, ZkCode>,
    },
    /// The breadcrumb's data and version.
    BreadcrumbRead {
        client: ClientId,
        result: Result<(Vec<u8>, i32), ZkCode>,
    },
    BreadcrumbWritten {
        client: ClientId,
        result: Result<(), ZkCode>,
    },
    BreadcrumbDeleted {
        client: ClientId,
        result: Result<(), ZkCode>,
    },
    /// The watch on the lock fired; `None` is an event without a path.
    LockWatch {
        client: ClientId,
        event: Option<NodeEvent>,
    },
    Session {
        client: ClientId,
        event: SessionEvent,
    },
    /// The application's answer to [`ElectorAction::FenceOldActive`].
    Fenced(Result<(), AppError>),
    /// The application's answer to [`ElectorAction::BecomeActive`].
    AppActive(Result<(), AppError>),
    /// The application finished [`ElectorAction::BecomeStandby`].
    AppStandby,
    Timer(ElectorTimer),
}

/// An output of the elector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectorAction {
    Zk(ZkRequest),
    /// Make the local service active; answer with [`ElectorEvent::AppActive`].
    BecomeActive,
    /// Make the local service standby; answer with [`ElectorEvent::AppStandby`].
    BecomeStandby,
    /// We no longer know who is active; the service keeps its state.
    EnterNeutralMode,
    /// Fence the node described by this breadcrumb; answer with [`ElectorEvent::Fenced`].
    FenceOldActive(Vec<u8>),
    /// The elector cannot go on (Hadoop's `notifyFatalError`).
    Fatal(String),
    /// Deliver [`ElectorEvent::Timer`] after this long.
    Schedule {
        timer: ElectorTimer,
        after: Duration,
    },
}

/// How the elector is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectorConf {
    /// The working znode, `ha.zookeeper.parent-znode` + `/` + nameservice
    /// (`/hadoop-ha/mycluster`).
    pub parent_znode: String,
    /// `ha.failover-controller.active-standby-elector.zk.op.retries`.
    pub max_retries: u32,
}

/// Where a win came from: a successful create monitors the lock afterwards; an `exists` that
/// found us the owner already holds a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WinOrigin {
    Create,
    Stat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    ReadBreadcrumb { attempt: u32 },
    Fencing { version: i32 },
    WriteBreadcrumb { version: Option<i32>, attempt: u32 },
    AppActive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Yielding {
    ReadBreadcrumb,
    Delete { version: i32, attempt: u32 },
}

/// A multi-step operation under way; other events wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Connecting { client: ClientId, attempt: u32 },
    ReconnectSleep { generation: u64, attempt: u32 },
    Activating { step: Activation, origin: WinOrigin },
    Yielding { step: Yielding },
    RejoinSleep { generation: u64 },
    AwaitingStandby,
}

/// The elector. See the module documentation.
#[derive(Debug)]
pub struct Elector {
    conf: ElectorConf,
    lock_path: String,
    breadcrumb_path: String,
    state: ElectorState,
    connection: ConnectionState,
    /// The session in use, and its id once known.
    client: Option<ClientId>,
    session: Option<SessionId>,
    /// Session ids of closed clients, to name them in "stale result" warnings.
    old_sessions: HashMap<ClientId, SessionId>,
    next_client: ClientId,
    /// Our `ActiveNodeInfo`; set by the first join and kept across sessions.
    app_data: Option<Vec<u8>>,
    want_to_be_in_election: bool,
    create_retry_count: u32,
    stat_retry_count: u32,
    /// The client an `exists` is outstanding on (Hadoop's `monitorLockNodePending`).
    monitor_pending: Option<ClientId>,
    busy: Option<Busy>,
    timer_gen: u64,
    deferred: VecDeque<ElectorEvent>,
    actions: Vec<ElectorAction>,
}

impl Elector {
    /// A new elector. `initial` is a session the driver already opened (Hadoop's constructor
    /// connects at once); without one, the first join opens a session.
    pub fn new(conf: ElectorConf, initial: Option<(ClientId, SessionId)>) -> Elector {
        let parent = conf.parent_znode.trim_end_matches('/').to_string();
        let mut elector = Elector {
            lock_path: format!("{parent}/{LOCK_FILENAME}"),
            breadcrumb_path: format!("{parent}/{BREADCRUMB_FILENAME}"),
            conf,
            state: ElectorState::Init,
            connection: ConnectionState::Terminated,
            client: None,
            session: None,
            old_sessions: HashMap::new(),
            next_client: 1,
            app_data: None,
            want_to_be_in_election: false,
            create_retry_count: 0,
            stat_retry_count: 0,
            monitor_pending: None,
            busy: None,
            timer_gen: 0,
            deferred: VecDeque::new(),
            actions: Vec::new(),
        };
        if let Some((client, session)) = initial {
            elector.client = Some(client);
            elector.session = Some(session);
            elector.connection = ConnectionState::Connected;
            elector.next_client = client + 1;
        }
        elector
    }

    pub fn state(&self) -> ElectorState {
        self.state
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.connection
    }

    pub fn want_to_be_in_election(&self) -> bool {
        self.want_to_be_in_election
    }

    /// Whether a multi-step operation is under way (other events wait).
    pub fn is_busy(&self) -> bool {
        self.busy.is_some()
    }

    /// The session in use.
    pub fn client(&self) -> Option<ClientId> {
        self.client
    }

    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    pub fn lock_path(&self) -> &str {
        &self.lock_path
    }

    pub fn breadcrumb_path(&self) -> &str {
        &self.breadcrumb_path
    }

    /// Feeds one event; returns what to do, in order.
    pub fn step(&mut self, event: ElectorEvent) -> Vec<ElectorAction> {
        self.handle(event);
        while self.busy.is_none() {
            match self.deferred.pop_front() {
                Some(event) => self.handle(event),
                None => break,
            }
        }
        std::mem::take(&mut self.actions)
    }

    fn emit(&mut self, action: ElectorAction) {
        self.actions.push(action);
    }

    fn zk(&mut self, request: ZkRequest) {
        self.emit(ElectorAction::Zk(request));
    }

    /// Whether the operation under way is waiting for exactly this event.
    fn awaited(&self, event: &ElectorEvent) -> bool {
        let current = |c: &ClientId| self.client == Some(*c);
        match (self.busy, event) {
            (None, _) => true,
            (Some(Busy::Connecting { client, .. }), ElectorEvent::Connected { client: c, .. })
            | (
                Some(Busy::Connecting { client, .. }),
                ElectorEvent::ConnectFailed { client: c, .. },
            ) => client == *c,
            (
                Some(Busy::ReconnectSleep { generation, .. }),
                ElectorEvent::Timer(ElectorTimer::Reconnect(g)),
            )
            | (
                Some(Busy::RejoinSleep { generation }),
                ElectorEvent::Timer(ElectorTimer::Rejoin(g)),
            ) => generation == *g,
            (
                Some(Busy::Activating {
                    step: Activation::ReadBreadcrumb { .. },
                    ..
                }),
                ElectorEvent::BreadcrumbRead { client, .. },
            )
            | (
                Some(Busy::Activating {
                    step: Activation::WriteBreadcrumb { .. },
                    ..
                }),
                ElectorEvent::BreadcrumbWritten { client, .. },
            )
            | (
                Some(Busy::Yielding {
                    step: Yielding::ReadBreadcrumb,
                }),
                ElectorEvent::BreadcrumbRead { client, .. },
            )
            | (
                Some(Busy::Yielding {
                    step: Yielding::Delete { .. },
                }),
                ElectorEvent::BreadcrumbDeleted { client, .. },
            ) => current(client),
            (
                Some(Busy::Activating {
                    step: Activation::Fencing { .. },
                    ..
                }),
                ElectorEvent::Fenced(_),
            )
            | (
                Some(Busy::Activating {
                    step: Activation::AppActive,
                    ..
                }),
                ElectorEvent::AppActive(_),
            )
            | (Some(Busy::AwaitingStandby), ElectorEvent::AppStandby) => true,
            _ => false,
        }
    }

    fn handle(&mut self, event: ElectorEvent) {
        if !self.awaited(&event) {
            self.deferred.push_back(event);
            return;
        }
        match event {
            ElectorEvent::Join(data) => self.join_election(data),
            ElectorEvent::Quit { need_fence } => self.quit_election(need_fence),
            ElectorEvent::Connected { client, session } => self.on_connected(client, session),
            ElectorEvent::ConnectFailed { client, error } => self.on_connect_failed(client, error),
            ElectorEvent::LockCreated { client, result } => {
                if !self.is_stale(client) {
                    self.on_create_result(result);
                }
            }
            ElectorEvent::LockStat { client, result } => {
                if !self.is_stale(client) {
                    self.on_stat_result(result);
                }
            }
            ElectorEvent::BreadcrumbRead { client, result } => {
                if !self.is_stale(client) {
                    self.on_breadcrumb_read(result);
                }
            }
            ElectorEvent::BreadcrumbWritten { client, result } => {
                if !self.is_stale(client) {
                    self.on_breadcrumb_written(result);
                }
            }
            ElectorEvent::BreadcrumbDeleted { client, result } => {
                if !self.is_stale(client) {
                    self.on_breadcrumb_deleted(result);
                }
            }
            ElectorEvent::LockWatch { client, event } => {
                if !self.is_stale(client) {
                    self.on_lock_watch(event);
                }
            }
            ElectorEvent::Session { client, event } => {
                if !self.is_stale(client) {
                    self.on_session_event(event);
                }
            }
            ElectorEvent::Fenced(result) => self.on_fenced(result),
            ElectorEvent::AppActive(result) => self.on_app_active(result),
            ElectorEvent::AppStandby => {
                if self.busy == Some(Busy::AwaitingStandby) {
                    self.busy = None;
                }
            }
            ElectorEvent::Timer(timer) => self.on_timer(timer),
        }
    }

    /// Hadoop's `isStaleClient`: results from a session we closed are dropped.
    fn is_stale(&self, client: ClientId) -> bool {
        if self.client == Some(client) {
            return false;
        }
        let session = self
            .old_sessions
            .get(&client)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "0x00000000".to_string());
        tracing::warn!(target: LOG, "Ignoring stale result from old client with sessionId {session}");
        true
    }

    // ---- joining and quitting

    fn join_election(&mut self, data: Vec<u8>) {
        if self.want_to_be_in_election {
            tracing::info!(target: LOG, "Already in election. Not re-connecting.");
            return;
        }
        self.app_data = Some(data);
        tracing::debug!(target: LOG, "Attempting active election for {}", self.describe());
        self.join_election_internal();
    }

    fn join_election_internal(&mut self) {
        if self.app_data.is_none() {
            self.fatal_error("trying to join election without any app data".to_string());
            return;
        }
        if self.client.is_none() {
            // reEstablishSession: the join goes on once a session is open.
            self.connect_attempt(1);
            return;
        }
        self.create_retry_count = 0;
        self.want_to_be_in_election = true;
        self.create_lock_node();
    }

    fn quit_election(&mut self, need_fence: bool) {
        tracing::info!(target: LOG, "Yielding from election");
        if !need_fence && self.state == ElectorState::Active && self.client.is_some() {
            // An active going back to standby gracefully removes its breadcrumb, so that
            // nobody fences it.
            tracing::info!(target: LOG, "Deleting bread-crumb of active node...");
            self.busy = Some(Busy::Yielding {
                step: Yielding::ReadBreadcrumb,
            });
            self.get_breadcrumb();
            return;
        }
        self.finish_quit();
    }

    fn finish_quit(&mut self) {
        self.busy = None;
        self.reset();
        self.want_to_be_in_election = false;
    }

    fn breadcrumb_not_deleted(&mut self, cause: &str) {
        tracing::warn!(
            target: LOG,
            "Unable to delete our own bread-crumb of being active at {}.. Expecting to be fenced by the next active. {cause}",
            self.breadcrumb_path
        );
        self.finish_quit();
    }

    // ---- sessions

    fn connect_attempt(&mut self, attempt: u32) {
        let client = self.next_client;
        self.next_client += 1;
        tracing::debug!(target: LOG, "Establishing zookeeper connection for {}", self.describe());
        self.busy = Some(Busy::Connecting { client, attempt });
        self.zk(ZkRequest::Connect { client });
    }

    fn on_connected(&mut self, client: ClientId, session: SessionId) {
        match self.busy {
            Some(Busy::Connecting { client: c, .. }) if c == client => {}
            _ => {
                // A session nobody waits for any more: do not leak it.
                self.zk(ZkRequest::Close { client });
                return;
            }
        }
        self.busy = None;
        self.client = Some(client);
        self.session = Some(session);
        self.connection = ConnectionState::Connected;
        tracing::info!(target: LOG, "Session connected.");
        self.create_retry_count = 0;
        self.want_to_be_in_election = true;
        self.create_lock_node();
    }

    fn on_connect_failed(&mut self, client: ClientId, error: ZkError) {
        let Some(Busy::Connecting { client: c, attempt }) = self.busy else {
            return;
        };
        if c != client {
            return;
        }
        tracing::warn!(target: LOG, "{error}");
        self.timer_gen += 1;
        let generation = self.timer_gen;
        self.busy = Some(Busy::ReconnectSleep {
            generation,
            attempt,
        });
        self.emit(ElectorAction::Schedule {
            timer: ElectorTimer::Reconnect(generation),
            after: SLEEP_BETWEEN_SESSION_ATTEMPTS,
        });
    }

    fn on_timer(&mut self, timer: ElectorTimer) {
        match (self.busy, timer) {
            (
                Some(Busy::ReconnectSleep {
                    generation,
                    attempt,
                }),
                ElectorTimer::Reconnect(g),
            ) if generation == g => {
                self.busy = None;
                if attempt >= self.conf.max_retries {
                    self.fatal_error("Failed to reEstablish connection with ZooKeeper".to_string());
                } else {
                    self.connect_attempt(attempt + 1);
                }
            }
            (Some(Busy::RejoinSleep { generation }), ElectorTimer::Rejoin(g))
                if generation == g =>
            {
                self.busy = None;
                self.finish_rejoin();
            }
            _ => {}
        }
    }

    /// Closes the session (its ephemeral lock goes with it).
    fn terminate_connection(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        tracing::debug!(target: LOG, "Terminating ZK connection for {}", self.describe());
        if let Some(session) = self.session.take() {
            self.old_sessions.insert(client, session);
        }
        self.zk(ZkRequest::Close { client });
        self.connection = ConnectionState::Terminated;
        self.want_to_be_in_election = false;
        self.monitor_pending = None;
    }

    fn reset(&mut self) {
        self.state = ElectorState::Init;
        self.terminate_connection();
    }

    fn re_join_election(&mut self, sleep: Duration) {
        tracing::info!(target: LOG, "Trying to re-establish ZK session");
        self.terminate_connection();
        if sleep.is_zero() {
            self.finish_rejoin();
        } else {
            self.timer_gen += 1;
            let generation = self.timer_gen;
            self.busy = Some(Busy::RejoinSleep { generation });
            self.emit(ElectorAction::Schedule {
                timer: ElectorTimer::Rejoin(generation),
                after: sleep,
            });
        }
    }

    fn finish_rejoin(&mut self) {
        // Never join before the service was once reported healthy.
        if self.app_data.is_some() {
            self.join_election_internal();
        } else {
            tracing::info!(
                target: LOG,
                "Not joining election since service has not yet been reported as healthy."
            );
        }
    }

    fn fatal_error(&mut self, message: String) {
        tracing::error!(target: LOG, "{message}");
        self.busy = None;
        self.reset();
        self.emit(ElectorAction::Fatal(message));
    }

    // ---- the lock

    fn create_lock_node(&mut self) {
        let (Some(client), Some(data)) = (self.client, self.app_data.clone()) else {
            return;
        };
        self.zk(ZkRequest::CreateLock { client, data });
    }

    fn on_create_result(&mut self, result: Result<(), ZkCode>) {
        let code = match result {
            Ok(()) => {
                // We created the lock: we are the leader.
                self.become_active(WinOrigin::Create);
                return;
            }
            Err(code) => code,
        };
        if code == ZkCode::NodeExists {
            if self.create_retry_count == 0 {
                // Somebody else holds the lock.
                self.become_standby();
            }
            // After a retry the lock may be ours from a lost first attempt: the owner check
            // in the stat result decides.
            self.monitor_active_status();
            return;
        }
        let mut message = format!(
            "Received create error from Zookeeper. code:{code} for path {}",
            self.lock_path
        );
        tracing::debug!(target: LOG, "{message}");
        if code.should_retry() {
            if self.create_retry_count < self.conf.max_retries {
                tracing::debug!(
                    target: LOG,
                    "Retrying createNode createRetryCount: {}",
                    self.create_retry_count
                );
                self.create_retry_count += 1;
                self.create_lock_node();
                return;
            }
            message.push_str(". Not retrying further znode create connection errors.");
        } else if code == ZkCode::SessionExpired {
            // The session watcher rejoins.
            tracing::warn!(target: LOG, "Lock acquisition failed because session was lost");
            return;
        }
        self.fatal_error(message);
    }

    fn monitor_active_status(&mut self) {
        tracing::debug!(target: LOG, "Monitoring active leader for {}", self.describe());
        self.stat_retry_count = 0;
        self.monitor_lock_node();
    }

    fn monitor_lock_node(&mut self) {
        let Some(client) = self.client else {
            return;
        };
        if self.monitor_pending == Some(client) {
            tracing::info!(target: LOG, "Ignore duplicate monitor lock-node request.");
            return;
        }
        self.monitor_pending = Some(client);
        self.zk(ZkRequest::WatchLock { client });
    }

    fn on_stat_result(&mut self, result: Result<SessionId, ZkCode>) {
        self.monitor_pending = None;
        let code = match result {
            Ok(owner) => {
                if Some(owner) == self.session {
                    self.become_active(WinOrigin::Stat);
                } else {
                    self.become_standby();
                }
                return;
            }
            Err(code) => code,
        };
        if code == ZkCode::NoNode {
            // The lock vanished before we could watch it.
            self.enter_neutral_mode();
            self.join_election_internal();
            return;
        }
        let mut message = format!("Received stat error from Zookeeper. code:{code}");
        tracing::debug!(target: LOG, "{message}");
        if code.should_retry() {
            if self.stat_retry_count < self.conf.max_retries {
                self.stat_retry_count += 1;
                self.monitor_lock_node();
                return;
            }
            message.push_str(". Not retrying further znode monitoring connection errors.");
        } else if code == ZkCode::SessionExpired {
            tracing::warn!(target: LOG, "Lock monitoring failed because session was lost");
            return;
        }
        self.fatal_error(message);
    }

    fn on_lock_watch(&mut self, event: Option<NodeEvent>) {
        match event {
            None => self.fatal_error("Unexpected watch error from Zookeeper".to_string()),
            Some(NodeEvent::Deleted) => {
                if self.state == ElectorState::Active {
                    self.enter_neutral_mode();
                }
                self.join_election_internal();
            }
            Some(NodeEvent::DataChanged) => self.monitor_active_status(),
            Some(other) => {
                tracing::debug!(
                    target: LOG,
                    "Unexpected node event: {other:?} for path: {}",
                    self.lock_path
                );
                self.monitor_active_status();
            }
        }
    }

    fn on_session_event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::SyncConnected => {
                tracing::info!(target: LOG, "Session connected.");
                let previous = self.connection;
                self.connection = ConnectionState::Connected;
                if previous == ConnectionState::Disconnected && self.want_to_be_in_election {
                    self.monitor_active_status();
                }
            }
            SessionEvent::Disconnected => {
                tracing::info!(target: LOG, "Session disconnected. Entering neutral mode...");
                self.connection = ConnectionState::Disconnected;
                self.enter_neutral_mode();
            }
            SessionEvent::Expired => {
                tracing::info!(target: LOG, "Session expired. Entering neutral mode and rejoining...");
                self.enter_neutral_mode();
                self.re_join_election(Duration::ZERO);
            }
            SessionEvent::Unexpected(state) => {
                self.fatal_error(format!("Unexpected Zookeeper watch event state: {state}"));
            }
        }
    }

    // ---- winning

    fn become_active(&mut self, origin: WinOrigin) {
        if self.state == ElectorState::Active {
            self.after_win(origin);
            return;
        }
        tracing::info!(target: LOG, "Checking for any old active which needs to be fenced...");
        self.busy = Some(Busy::Activating {
            step: Activation::ReadBreadcrumb { attempt: 1 },
            origin,
        });
        self.get_breadcrumb();
    }

    fn after_win(&mut self, origin: WinOrigin) {
        if origin == WinOrigin::Create {
            self.monitor_active_status();
        }
    }

    fn get_breadcrumb(&mut self) {
        if let Some(client) = self.client {
            self.zk(ZkRequest::GetBreadcrumb { client });
        }
    }

    fn activation_step(&mut self, step: Activation) {
        if let Some(Busy::Activating { origin, .. }) = self.busy {
            self.busy = Some(Busy::Activating { step, origin });
        }
    }

    fn on_breadcrumb_read(&mut self, result: Result<(Vec<u8>, i32), ZkCode>) {
        match self.busy {
            Some(Busy::Activating {
                step: Activation::ReadBreadcrumb { attempt },
                ..
            }) => match result {
                Ok((data, version)) => {
                    tracing::info!(target: LOG, "Old node exists: {}", hex(&data));
                    if Some(&data) == self.app_data.as_ref() {
                        tracing::info!(
                            target: LOG,
                            "But old node has our own data, so don't need to fence it."
                        );
                        self.write_breadcrumb(Some(version));
                    } else {
                        self.activation_step(Activation::Fencing { version });
                        self.emit(ElectorAction::FenceOldActive(data));
                    }
                }
                Err(ZkCode::NoNode) => {
                    tracing::info!(target: LOG, "No old node to fence");
                    self.write_breadcrumb(None);
                }
                Err(code) if code.should_retry() && attempt < self.conf.max_retries => {
                    self.activation_step(Activation::ReadBreadcrumb {
                        attempt: attempt + 1,
                    });
                    self.get_breadcrumb();
                }
                Err(code) => {
                    let cause = code.keeper_message(&self.breadcrumb_path);
                    self.activation_failed(&cause);
                }
            },
            Some(Busy::Yielding {
                step: Yielding::ReadBreadcrumb,
            }) => match result {
                Ok((data, version)) if Some(&data) == self.app_data.as_ref() => {
                    self.busy = Some(Busy::Yielding {
                        step: Yielding::Delete {
                            version,
                            attempt: 1,
                        },
                    });
                    self.delete_breadcrumb(version);
                }
                Ok((data, version)) => {
                    let cause = format!(
                        "We thought we were active, but in fact the active znode had the wrong data: {} (version={version})",
                        hex(&data)
                    );
                    self.breadcrumb_not_deleted(&cause);
                }
                Err(code) => {
                    let cause = code.keeper_message(&self.breadcrumb_path);
                    self.breadcrumb_not_deleted(&cause);
                }
            },
            _ => {}
        }
    }

    fn delete_breadcrumb(&mut self, version: i32) {
        if let Some(client) = self.client {
            self.zk(ZkRequest::DeleteBreadcrumb { client, version });
        }
    }

    fn on_breadcrumb_deleted(&mut self, result: Result<(), ZkCode>) {
        let Some(Busy::Yielding {
            step: Yielding::Delete { version, attempt },
        }) = self.busy
        else {
            return;
        };
        match result {
            Ok(()) => self.finish_quit(),
            Err(code) if code.should_retry() && attempt < self.conf.max_retries => {
                self.busy = Some(Busy::Yielding {
                    step: Yielding::Delete {
                        version,
                        attempt: attempt + 1,
                    },
                });
                self.delete_breadcrumb(version);
            }
            Err(code) => {
                let cause = code.keeper_message(&self.breadcrumb_path);
                self.breadcrumb_not_deleted(&cause);
            }
        }
    }

    fn write_breadcrumb(&mut self, version: Option<i32>) {
        tracing::info!(
            target: LOG,
            "Writing znode {} to indicate that the local node is the most recent active...",
            self.breadcrumb_path
        );
        self.activation_step(Activation::WriteBreadcrumb {
            version,
            attempt: 1,
        });
        self.send_breadcrumb_write(version);
    }

    fn send_breadcrumb_write(&mut self, version: Option<i32>) {
        let (Some(client), Some(data)) = (self.client, self.app_data.clone()) else {
            return;
        };
        match version {
            None => self.zk(ZkRequest::CreateBreadcrumb { client, data }),
            Some(version) => self.zk(ZkRequest::SetBreadcrumb {
                client,
                data,
                version,
            }),
        }
    }

    fn on_breadcrumb_written(&mut self, result: Result<(), ZkCode>) {
        let Some(Busy::Activating {
            step: Activation::WriteBreadcrumb { version, attempt },
            ..
        }) = self.busy
        else {
            return;
        };
        match result {
            Ok(()) => {
                tracing::debug!(target: LOG, "Becoming active for {}", self.describe());
                self.activation_step(Activation::AppActive);
                self.emit(ElectorAction::BecomeActive);
            }
            Err(code) if code.should_retry() && attempt < self.conf.max_retries => {
                self.activation_step(Activation::WriteBreadcrumb {
                    version,
                    attempt: attempt + 1,
                });
                self.send_breadcrumb_write(version);
            }
            Err(code) => {
                let cause = code.keeper_message(&self.breadcrumb_path);
                self.activation_failed(&cause);
            }
        }
    }

    fn on_fenced(&mut self, result: Result<(), AppError>) {
        let Some(Busy::Activating {
            step: Activation::Fencing { version },
            ..
        }) = self.busy
        else {
            return;
        };
        match result {
            Ok(()) => self.write_breadcrumb(Some(version)),
            Err(cause) => self.activation_failed(&cause),
        }
    }

    fn on_app_active(&mut self, result: Result<(), AppError>) {
        let Some(Busy::Activating {
            step: Activation::AppActive,
            origin,
        }) = self.busy
        else {
            return;
        };
        match result {
            Ok(()) => {
                self.busy = None;
                self.state = ElectorState::Active;
                self.after_win(origin);
            }
            Err(cause) => self.activation_failed(&cause),
        }
    }

    /// Winning failed: release the lock (close the session), and rejoin after a pause with a
    /// new session so that another node gets its chance.
    fn activation_failed(&mut self, cause: &dyn fmt::Display) {
        tracing::warn!(target: LOG, "Exception handling the winning of election: {cause}");
        self.busy = None;
        self.re_join_election(SLEEP_AFTER_FAILURE_TO_BECOME_ACTIVE);
    }

    fn become_standby(&mut self) {
        if self.state != ElectorState::Standby {
            tracing::debug!(target: LOG, "Becoming standby for {}", self.describe());
            self.state = ElectorState::Standby;
            self.busy = Some(Busy::AwaitingStandby);
            self.emit(ElectorAction::BecomeStandby);
        }
    }

    fn enter_neutral_mode(&mut self) {
        if self.state != ElectorState::Neutral {
            tracing::debug!(target: LOG, "Entering neutral mode for {}", self.describe());
            self.state = ElectorState::Neutral;
            self.emit(ElectorAction::EnterNeutralMode);
        }
    }

    fn describe(&self) -> String {
        format!(
            "elector appData={}",
            self.app_data
                .as_deref()
                .map(hex)
                .unwrap_or_else(|| "null".to_string())
        )
    }
}

/// Hadoop's `StringUtils.byteToHexString`: lowercase, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `transitionToActive` that got no answer.
    fn refused(why: &str) -> AppError {
        AppError::Transition(CallError::Unreachable(why.into()))
    }
    use ElectorAction as A;
    use ElectorEvent as E;

    const DATA: &[u8] = b"me";
    const OTHER: &[u8] = b"other";
    const C: ClientId = 1;
    const MINE: SessionId = SessionId(0x100);
    const THEIRS: SessionId = SessionId(0x200);

    fn elector() -> Elector {
        Elector::new(
            ElectorConf {
                parent_znode: "/hadoop-ha/ns1".into(),
                max_retries: 3,
            },
            Some((C, MINE)),
        )
    }

    fn create(client: ClientId) -> A {
        A::Zk(ZkRequest::CreateLock {
            client,
            data: DATA.to_vec(),
        })
    }

    fn watch(client: ClientId) -> A {
        A::Zk(ZkRequest::WatchLock { client })
    }

    fn get_breadcrumb(client: ClientId) -> A {
        A::Zk(ZkRequest::GetBreadcrumb { client })
    }

    fn created(result: Result<(), ZkCode>) -> E {
        E::LockCreated { client: C, result }
    }

    fn stat(result: Result<SessionId, ZkCode>) -> E {
        E::LockStat { client: C, result }
    }

    fn read(result: Result<(Vec<u8>, i32), ZkCode>) -> E {
        E::BreadcrumbRead { client: C, result }
    }

    fn written() -> E {
        E::BreadcrumbWritten {
            client: C,
            result: Ok(()),
        }
    }

    /// Joins and wins with no old breadcrumb; the elector ends ACTIVE, monitoring the lock.
    fn win(e: &mut Elector) {
        assert_eq!(e.step(E::Join(DATA.to_vec())), vec![create(C)]);
        assert_eq!(e.step(created(Ok(()))), vec![get_breadcrumb(C)]);
        assert_eq!(
            e.step(read(Err(ZkCode::NoNode))),
            vec![A::Zk(ZkRequest::CreateBreadcrumb {
                client: C,
                data: DATA.to_vec()
            })]
        );
        assert_eq!(e.step(written()), vec![A::BecomeActive]);
        assert_eq!(e.step(E::AppActive(Ok(()))), vec![watch(C)]);
        assert_eq!(e.state(), ElectorState::Active);
        // Our own stat result afterwards changes nothing.
        assert_eq!(e.step(stat(Ok(MINE))), vec![]);
    }

    /// Joins and loses; the elector ends STANDBY, watching the lock.
    fn lose(e: &mut Elector) {
        assert_eq!(e.step(E::Join(DATA.to_vec())), vec![create(C)]);
        assert_eq!(
            e.step(created(Err(ZkCode::NodeExists))),
            vec![A::BecomeStandby, watch(C)]
        );
        assert_eq!(e.step(E::AppStandby), vec![]);
        assert_eq!(e.step(stat(Ok(THEIRS))), vec![]);
        assert_eq!(e.state(), ElectorState::Standby);
    }

    #[test]
    fn create_ok_becomes_active_and_watches_the_lock() {
        let mut e = elector();
        win(&mut e);
        assert!(e.want_to_be_in_election());
        assert_eq!(e.state(), ElectorState::Active);
    }

    #[test]
    fn an_old_breadcrumb_is_fenced_then_overwritten_by_version() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        assert_eq!(
            e.step(read(Ok((OTHER.to_vec(), 7)))),
            vec![A::FenceOldActive(OTHER.to_vec())]
        );
        assert_eq!(
            e.step(E::Fenced(Ok(()))),
            vec![A::Zk(ZkRequest::SetBreadcrumb {
                client: C,
                data: DATA.to_vec(),
                version: 7
            })]
        );
        assert_eq!(e.step(written()), vec![A::BecomeActive]);
        assert_eq!(e.step(E::AppActive(Ok(()))), vec![watch(C)]);
    }

    #[test]
    fn our_own_breadcrumb_needs_no_fencing() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        assert_eq!(
            e.step(read(Ok((DATA.to_vec(), 3)))),
            vec![A::Zk(ZkRequest::SetBreadcrumb {
                client: C,
                data: DATA.to_vec(),
                version: 3
            })]
        );
    }

    #[test]
    fn failing_to_become_active_releases_the_lock_and_rejoins_after_a_sleep() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        e.step(read(Err(ZkCode::NoNode)));
        e.step(written());
        assert_eq!(
            e.step(E::AppActive(Err(refused("Couldn't make NameNode active")))),
            vec![
                A::Zk(ZkRequest::Close { client: C }),
                A::Schedule {
                    timer: ElectorTimer::Rejoin(1),
                    after: SLEEP_AFTER_FAILURE_TO_BECOME_ACTIVE
                }
            ]
        );
        assert!(e.is_busy());
        // While sleeping, a quit waits; the rejoin opens a brand new session first.
        assert_eq!(e.step(E::Quit { need_fence: true }), vec![]);
        assert_eq!(
            e.step(E::Timer(ElectorTimer::Rejoin(1))),
            vec![A::Zk(ZkRequest::Connect { client: 2 })]
        );
        assert_eq!(
            e.step(E::Connected {
                client: 2,
                session: SessionId(0x300)
            }),
            // The rejoin creates the lock, then the deferred quit closes the session.
            vec![create(2), A::Zk(ZkRequest::Close { client: 2 })]
        );
        assert!(!e.want_to_be_in_election());
        assert_eq!(e.state(), ElectorState::Init);
    }

    #[test]
    fn failing_to_fence_fails_the_activation_too() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        e.step(read(Ok((OTHER.to_vec(), 1))));
        let actions = e.step(E::Fenced(Err(AppError::Fence(FenceError::Failed(
            "NameNode at nn1".into(),
        )))));
        assert_eq!(actions[0], A::Zk(ZkRequest::Close { client: C }));
        assert!(matches!(actions[1], A::Schedule { after, .. } if after.as_millis() == 1000));
    }

    #[test]
    fn a_stat_that_finds_us_the_owner_wins_and_failure_there_rejoins_too() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        // The first create's reply was lost; the retry finds the lock (ours).
        assert_eq!(
            e.step(created(Err(ZkCode::ConnectionLoss))),
            vec![create(C)]
        );
        assert_eq!(e.step(created(Err(ZkCode::NodeExists))), vec![watch(C)]);
        assert_eq!(e.step(stat(Ok(MINE))), vec![get_breadcrumb(C)]);
        e.step(read(Err(ZkCode::NoNode)));
        e.step(written());
        let actions = e.step(E::AppActive(Err(refused("no"))));
        assert_eq!(actions[0], A::Zk(ZkRequest::Close { client: C }));
        assert!(matches!(actions[1], A::Schedule { .. }));
    }

    #[test]
    fn retried_create_that_finds_another_owner_becomes_standby() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Err(ZkCode::ConnectionLoss)));
        // No standby transition on the NODEEXISTS of a retry: the stat decides.
        assert_eq!(e.step(created(Err(ZkCode::NodeExists))), vec![watch(C)]);
        assert_eq!(e.step(stat(Ok(THEIRS))), vec![A::BecomeStandby]);
    }

    #[test]
    fn node_exists_makes_us_standby_once() {
        let mut e = elector();
        lose(&mut e);
        // The lock's data changes: re-monitor; still not ours: no second becomeStandby.
        assert_eq!(
            e.step(E::LockWatch {
                client: C,
                event: Some(NodeEvent::DataChanged)
            }),
            vec![watch(C)]
        );
        assert_eq!(e.step(stat(Ok(THEIRS))), vec![]);
    }

    #[test]
    fn create_connection_loss_is_retried_then_fatal() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        for _ in 0..3 {
            assert_eq!(
                e.step(created(Err(ZkCode::ConnectionLoss))),
                vec![create(C)]
            );
        }
        let message = "Received create error from Zookeeper. code:CONNECTIONLOSS for path /hadoop-ha/ns1/ActiveStandbyElectorLock. Not retrying further znode create connection errors.";
        assert_eq!(
            e.step(created(Err(ZkCode::ConnectionLoss))),
            vec![
                A::Zk(ZkRequest::Close { client: C }),
                A::Fatal(message.into())
            ]
        );
    }

    #[test]
    fn other_create_errors_are_fatal_and_session_expiry_is_not() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        assert_eq!(e.step(created(Err(ZkCode::SessionExpired))), vec![]);
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        assert_eq!(
            e.step(created(Err(ZkCode::NoAuth))),
            vec![
                A::Zk(ZkRequest::Close { client: C }),
                A::Fatal(
                    "Received create error from Zookeeper. code:NOAUTH for path /hadoop-ha/ns1/ActiveStandbyElectorLock"
                        .into()
                )
            ]
        );
    }

    #[test]
    fn stat_connection_loss_is_retried_then_fatal() {
        let mut e = elector();
        lose(&mut e);
        e.step(E::LockWatch {
            client: C,
            event: Some(NodeEvent::DataChanged),
        });
        for _ in 0..3 {
            assert_eq!(e.step(stat(Err(ZkCode::ConnectionLoss))), vec![watch(C)]);
        }
        let actions = e.step(stat(Err(ZkCode::ConnectionLoss)));
        assert_eq!(
            actions.last(),
            Some(&A::Fatal(
                "Received stat error from Zookeeper. code:CONNECTIONLOSS. Not retrying further znode monitoring connection errors."
                    .into()
            ))
        );
    }

    #[test]
    fn the_lock_vanishing_before_the_stat_means_neutral_and_create_again() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Err(ZkCode::NodeExists)));
        e.step(E::AppStandby);
        assert_eq!(
            e.step(stat(Err(ZkCode::NoNode))),
            vec![A::EnterNeutralMode, create(C)]
        );
    }

    #[test]
    fn disconnect_is_neutral_once_and_reconnect_re_monitors() {
        let mut e = elector();
        win(&mut e);
        let disconnected = E::Session {
            client: C,
            event: SessionEvent::Disconnected,
        };
        assert_eq!(e.step(disconnected.clone()), vec![A::EnterNeutralMode]);
        assert_eq!(e.step(disconnected), vec![]);
        assert_eq!(e.state(), ElectorState::Neutral);
        assert_eq!(
            e.step(E::Session {
                client: C,
                event: SessionEvent::SyncConnected
            }),
            vec![watch(C)]
        );
        // Still our lock: re-win (the breadcrumb is ours: no fencing), no new session.
        assert_eq!(e.step(stat(Ok(MINE))), vec![get_breadcrumb(C)]);
        e.step(read(Ok((DATA.to_vec(), 0))));
        assert_eq!(e.step(written()), vec![A::BecomeActive]);
        assert_eq!(e.step(E::AppActive(Ok(()))), vec![]);
        assert_eq!(e.state(), ElectorState::Active);
    }

    #[test]
    fn expiry_means_neutral_and_a_new_session() {
        let mut e = elector();
        lose(&mut e);
        assert_eq!(
            e.step(E::Session {
                client: C,
                event: SessionEvent::Expired
            }),
            vec![
                A::EnterNeutralMode,
                A::Zk(ZkRequest::Close { client: C }),
                A::Zk(ZkRequest::Connect { client: 2 })
            ]
        );
        assert_eq!(
            e.step(E::Connected {
                client: 2,
                session: SessionId(0x300)
            }),
            vec![create(2)]
        );
        // Late results of the expired session are ignored.
        assert_eq!(e.step(stat(Ok(THEIRS))), vec![]);
    }

    #[test]
    fn expiry_before_the_service_was_ever_healthy_does_not_join() {
        let mut e = elector();
        assert_eq!(
            e.step(E::Session {
                client: C,
                event: SessionEvent::Expired
            }),
            vec![A::EnterNeutralMode, A::Zk(ZkRequest::Close { client: C })]
        );
        assert!(!e.want_to_be_in_election());
    }

    #[test]
    fn auth_failure_and_pathless_events_are_fatal() {
        let mut e = elector();
        win(&mut e);
        let actions = e.step(E::Session {
            client: C,
            event: SessionEvent::Unexpected("AuthFailed".into()),
        });
        assert_eq!(
            actions.last(),
            Some(&A::Fatal(
                "Unexpected Zookeeper watch event state: AuthFailed".into()
            ))
        );
        let mut e = elector();
        win(&mut e);
        let actions = e.step(E::LockWatch {
            client: C,
            event: None,
        });
        assert_eq!(
            actions.last(),
            Some(&A::Fatal("Unexpected watch error from Zookeeper".into()))
        );
    }

    #[test]
    fn node_deleted_while_standby_recreates_without_neutral() {
        let mut e = elector();
        lose(&mut e);
        assert_eq!(
            e.step(E::LockWatch {
                client: C,
                event: Some(NodeEvent::Deleted)
            }),
            vec![create(C)]
        );
    }

    #[test]
    fn node_deleted_while_active_goes_neutral_then_recreates() {
        let mut e = elector();
        win(&mut e);
        assert_eq!(
            e.step(E::LockWatch {
                client: C,
                event: Some(NodeEvent::Deleted)
            }),
            vec![A::EnterNeutralMode, create(C)]
        );
    }

    #[test]
    fn quitting_without_fencing_deletes_our_breadcrumb_by_version() {
        let mut e = elector();
        win(&mut e);
        assert_eq!(
            e.step(E::Quit { need_fence: false }),
            vec![get_breadcrumb(C)]
        );
        assert_eq!(
            e.step(read(Ok((DATA.to_vec(), 4)))),
            vec![A::Zk(ZkRequest::DeleteBreadcrumb {
                client: C,
                version: 4
            })]
        );
        assert_eq!(
            e.step(E::BreadcrumbDeleted {
                client: C,
                result: Ok(())
            }),
            vec![A::Zk(ZkRequest::Close { client: C })]
        );
        assert_eq!(e.state(), ElectorState::Init);
        // A later join uses a new session.
        assert_eq!(
            e.step(E::Join(DATA.to_vec())),
            vec![A::Zk(ZkRequest::Connect { client: 2 })]
        );
    }

    #[test]
    fn a_breadcrumb_with_someone_elses_data_is_left_alone() {
        let mut e = elector();
        win(&mut e);
        e.step(E::Quit { need_fence: false });
        assert_eq!(
            e.step(read(Ok((OTHER.to_vec(), 4)))),
            vec![A::Zk(ZkRequest::Close { client: C })]
        );
    }

    #[test]
    fn quitting_with_fencing_keeps_the_breadcrumb() {
        let mut e = elector();
        win(&mut e);
        assert_eq!(
            e.step(E::Quit { need_fence: true }),
            vec![A::Zk(ZkRequest::Close { client: C })]
        );
        assert!(!e.want_to_be_in_election());
    }

    #[test]
    fn joining_twice_is_ignored() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        assert_eq!(e.step(E::Join(OTHER.to_vec())), vec![]);
    }

    #[test]
    fn events_during_activation_wait_their_turn() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        // A disconnect while reading the breadcrumb is handled after the win.
        assert_eq!(
            e.step(E::Session {
                client: C,
                event: SessionEvent::Disconnected
            }),
            vec![]
        );
        e.step(read(Err(ZkCode::NoNode)));
        e.step(written());
        assert_eq!(
            e.step(E::AppActive(Ok(()))),
            vec![watch(C), A::EnterNeutralMode]
        );
    }

    #[test]
    fn breadcrumb_reads_are_retried_on_connection_loss() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        assert_eq!(
            e.step(read(Err(ZkCode::ConnectionLoss))),
            vec![get_breadcrumb(C)]
        );
        assert_eq!(
            e.step(read(Err(ZkCode::ConnectionLoss))),
            vec![get_breadcrumb(C)]
        );
        // The third failure (op retries = 3 attempts) fails the activation.
        let actions = e.step(read(Err(ZkCode::ConnectionLoss)));
        assert_eq!(actions[0], A::Zk(ZkRequest::Close { client: C }));
    }

    #[test]
    fn a_conditional_breadcrumb_write_that_loses_fails_the_activation() {
        let mut e = elector();
        e.step(E::Join(DATA.to_vec()));
        e.step(created(Ok(())));
        e.step(read(Ok((DATA.to_vec(), 2))));
        let actions = e.step(E::BreadcrumbWritten {
            client: C,
            result: Err(ZkCode::BadVersion),
        });
        assert_eq!(actions[0], A::Zk(ZkRequest::Close { client: C }));
    }

    #[test]
    fn no_zookeeper_after_the_retries_is_fatal() {
        let mut e = Elector::new(
            ElectorConf {
                parent_znode: "/hadoop-ha/ns1".into(),
                max_retries: 2,
            },
            None,
        );
        assert_eq!(
            e.step(E::Join(DATA.to_vec())),
            vec![A::Zk(ZkRequest::Connect { client: 1 })]
        );
        assert_eq!(
            e.step(E::ConnectFailed {
                client: 1,
                error: ZkError::ConnectTimeout(Duration::from_millis(5000))
            }),
            vec![A::Schedule {
                timer: ElectorTimer::Reconnect(1),
                after: SLEEP_BETWEEN_SESSION_ATTEMPTS
            }]
        );
        assert_eq!(
            e.step(E::Timer(ElectorTimer::Reconnect(1))),
            vec![A::Zk(ZkRequest::Connect { client: 2 })]
        );
        e.step(E::ConnectFailed {
            client: 2,
            error: ZkError::ConnectTimeout(Duration::from_millis(5000)),
        });
        assert_eq!(
            e.step(E::Timer(ElectorTimer::Reconnect(2))),
            vec![A::Fatal(
                "Failed to reEstablish connection with ZooKeeper".into()
            )]
        );
    }

    #[test]
    fn session_ids_print_like_hadoop() {
        assert_eq!(SessionId(0x1f).to_string(), "0x0000001f");
        assert_eq!(
            SessionId(0x1000_0523_96f0_0001).to_string(),
            "0x1000052396f00001"
        );
        assert_eq!(hex(b"\x0a\xff"), "0aff");
    }
}
