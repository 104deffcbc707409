//! A seeded simulation of several ZKFC cores ([`Zkfc`]) electing through a fake ZooKeeper,
//! with fake NameNodes, under random faults: lost connections, session expiry, health flaps,
//! NameNode crashes, failed transitions, fencers that fail, cedes, ZKFC restarts after a fatal
//! error. Deliveries are reordered between sessions and NameNodes but stay in order within
//! one session (ZooKeeper's guarantee) and within one NameNode's RPC queue.
//!
//! Invariants checked after every step: never two NameNodes active at once; after the faults
//! stop, the cluster converges to exactly one active NameNode whose ZKFC holds the lock.
//!
//! Model choices (the conditions under which Hadoop's protocol is safe without QJM's help):
//! - an RPC to a NameNode takes effect when it is sent; its answer arrives later;
//! - a session expires only after its client has been disconnected for the session timeout,
//!   and an answer in flight when a connection drops is lost (the client sees CONNECTIONLOSS);
//!   requests made while disconnected wait for the reconnection (as with `zookeeper-client`).
//!
//! The seed is printed; replay one with `HDFS_HA_SEED=<seed>`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::controller::{Zkfc, ZkfcAction, ZkfcCoreConf, ZkfcInput};
use super::elector::{
    ClientId, ElectorConf, ElectorEvent, ElectorState, NodeEvent, SessionEvent, SessionId, ZkCode,
    ZkRequest,
};
use super::fence::FenceError;
use super::health::{HealthState, ServiceState};
use super::rpc::CallError;
use crate::seeded::{self, SeededRng};

const SESSION_TIMEOUT: Duration = Duration::from_millis(2000);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Chan {
    Zk(usize, ClientId),
    Nn(usize),
    Local(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nn {
    Standby,
    Active,
    Dead,
}

struct Client {
    session: i64,
    connected: bool,
    disconnected_since: Option<Instant>,
    /// Requests made while disconnected.
    held_requests: Vec<ZkRequest>,
    /// Watch notifications that fired while disconnected.
    held_events: Vec<ZkfcInput>,
}

struct Node {
    core: Zkfc,
    nn: Nn,
    clients: HashMap<ClientId, Client>,
    next_client: ClientId,
    restart_nn_at: Option<Instant>,
    next_status_at: Instant,
}

#[derive(Default)]
struct FakeZk {
    next_session: i64,
    alive: HashMap<i64, bool>,
    lock: Option<(Vec<u8>, i64)>,
    breadcrumb: Option<(Vec<u8>, i32)>,
    watchers: Vec<(usize, ClientId)>,
}

struct Sim {
    rng: SeededRng,
    now: Instant,
    nodes: Vec<Node>,
    zk: FakeZk,
    queues: BTreeMap<Chan, VecDeque<ZkfcInput>>,
    timers: Vec<(Instant, usize, ZkfcInput)>,
    next_cede: u64,
    trace: VecDeque<String>,
    faults: bool,
    /// Lost connections and when they come back.
    reconnects: Vec<(Instant, usize, ClientId)>,
    stats: Stats,
}

/// What a run exercised, printed so that a quiet schedule shows.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    activations: u64,
    fences: u64,
    faults: u64,
    zkfc_restarts: u64,
}

fn data_of(node: usize) -> Vec<u8> {
    format!("nn{node}").into_bytes()
}

fn node_of(data: &[u8]) -> usize {
    String::from_utf8_lossy(&data[2..]).parse().unwrap()
}

fn core_conf(node: usize) -> ZkfcCoreConf {
    ZkfcCoreConf {
        elector: ElectorConf {
            parent_znode: "/hadoop-ha/sim".into(),
            max_retries: 3,
        },
        local: format!("NameNode at nn{node}"),
        local_data: data_of(node),
    }
}

impl Sim {
    fn new(seed: u64, nodes: usize) -> Sim {
        let now = Instant::now();
        let mut sim = Sim {
            rng: SeededRng::new(seed),
            now,
            nodes: Vec::new(),
            zk: FakeZk::default(),
            queues: BTreeMap::new(),
            timers: Vec::new(),
            next_cede: 1,
            trace: VecDeque::new(),
            faults: true,
            reconnects: Vec::new(),
            stats: Stats::default(),
        };
        for i in 0..nodes {
            let session = sim.new_session();
            let mut clients = HashMap::new();
            clients.insert(1, Self::client(session));
            sim.nodes.push(Node {
                core: Zkfc::new(core_conf(i), Some((1, SessionId(session))), now),
                nn: Nn::Standby,
                clients,
                next_client: 2,
                restart_nn_at: None,
                next_status_at: now,
            });
            sim.push(
                Chan::Local(i),
                ZkfcInput::HealthChanged(HealthState::ServiceHealthy),
            );
        }
        sim
    }

    fn client(session: i64) -> Client {
        Client {
            session,
            connected: true,
            disconnected_since: None,
            held_requests: Vec::new(),
            held_events: Vec::new(),
        }
    }

    fn new_session(&mut self) -> i64 {
        self.zk.next_session += 1;
        let session = 0x1000 + self.zk.next_session;
        self.zk.alive.insert(session, true);
        session
    }

    fn log(&mut self, line: String) {
        if self.trace.len() == 400 {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }

    fn push(&mut self, chan: Chan, input: ZkfcInput) {
        self.queues.entry(chan).or_default().push_back(input);
    }

    fn check_invariant(&self, seed: u64) {
        let active: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].nn == Nn::Active)
            .collect();
        if active.len() > 1 {
            let trace: Vec<&String> = self.trace.iter().collect();
            panic!(
                "seed {seed}: two active NameNodes {active:?}\nlast events:\n{}",
                trace
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    // ---- ZooKeeper

    fn notify_lock(&mut self, event: NodeEvent) {
        for (node, client) in std::mem::take(&mut self.zk.watchers) {
            let input = ZkfcInput::Elector(ElectorEvent::LockWatch {
                client,
                event: Some(event),
            });
            match self.nodes[node].clients.get_mut(&client) {
                Some(c) if c.connected => self.push(Chan::Zk(node, client), input),
                Some(c) => c.held_events.push(input),
                None => {}
            }
        }
    }

    fn end_session(&mut self, session: i64) {
        self.zk.alive.insert(session, false);
        if self
            .zk
            .lock
            .as_ref()
            .is_some_and(|(_, owner)| *owner == session)
        {
            self.zk.lock = None;
            self.notify_lock(NodeEvent::Deleted);
        }
    }

    fn zk_request(&mut self, node: usize, request: ZkRequest) {
        let client = match &request {
            ZkRequest::Connect { client }
            | ZkRequest::Close { client }
            | ZkRequest::CreateLock { client, .. }
            | ZkRequest::WatchLock { client }
            | ZkRequest::GetBreadcrumb { client }
            | ZkRequest::CreateBreadcrumb { client, .. }
            | ZkRequest::SetBreadcrumb { client, .. }
            | ZkRequest::DeleteBreadcrumb { client, .. } => *client,
        };
        match request {
            ZkRequest::Connect { client } => {
                let session = self.new_session();
                self.nodes[node]
                    .clients
                    .insert(client, Self::client(session));
                self.push(
                    Chan::Zk(node, client),
                    ZkfcInput::Elector(ElectorEvent::Connected {
                        client,
                        session: SessionId(session),
                    }),
                );
            }
            ZkRequest::Close { client } => {
                if let Some(c) = self.nodes[node].clients.remove(&client) {
                    self.zk.watchers.retain(|w| *w != (node, client));
                    if self.zk.alive.get(&c.session) == Some(&true) {
                        self.end_session(c.session);
                    }
                }
            }
            request => {
                let Some(c) = self.nodes[node].clients.get_mut(&client) else {
                    return;
                };
                if !c.connected {
                    c.held_requests.push(request);
                    return;
                }
                let session = c.session;
                let answer = if self.zk.alive.get(&session) != Some(&true) {
                    self.answer(&request, client, Err(ZkCode::SessionExpired))
                } else {
                    self.apply(node, client, session, request)
                };
                self.push(Chan::Zk(node, client), answer);
            }
        }
    }

    fn answer(
        &self,
        request: &ZkRequest,
        client: ClientId,
        error: Result<(), ZkCode>,
    ) -> ZkfcInput {
        let e = error.unwrap_err();
        ZkfcInput::Elector(match request {
            ZkRequest::CreateLock { .. } => ElectorEvent::LockCreated {
                client,
                result: Err(e),
            },
            ZkRequest::WatchLock { .. } => ElectorEvent::LockStat {
                client,
                result: Err(e),
            },
            ZkRequest::GetBreadcrumb { .. } => ElectorEvent::BreadcrumbRead {
                client,
                result: Err(e),
            },
            ZkRequest::CreateBreadcrumb { .. } | ZkRequest::SetBreadcrumb { .. } => {
                ElectorEvent::BreadcrumbWritten {
                    client,
                    result: Err(e),
                }
            }
            ZkRequest::DeleteBreadcrumb { .. } => ElectorEvent::BreadcrumbDeleted {
                client,
                result: Err(e),
            },
            ZkRequest::Connect { .. } | ZkRequest::Close { .. } => unreachable!(),
        })
    }

    fn apply(
        &mut self,
        node: usize,
        client: ClientId,
        session: i64,
        request: ZkRequest,
    ) -> ZkfcInput {
        let event = match request {
            ZkRequest::CreateLock { data, .. } => {
                let result = if self.zk.lock.is_some() {
                    Err(ZkCode::NodeExists)
                } else {
                    self.zk.lock = Some((data, session));
                    Ok(())
                };
                if result.is_ok() {
                    self.notify_lock(NodeEvent::Created);
                }
                ElectorEvent::LockCreated { client, result }
            }
            ZkRequest::WatchLock { .. } => {
                if !self.zk.watchers.contains(&(node, client)) {
                    self.zk.watchers.push((node, client));
                }
                ElectorEvent::LockStat {
                    client,
                    result: match &self.zk.lock {
                        Some((_, owner)) => Ok(SessionId(*owner)),
                        None => Err(ZkCode::NoNode),
                    },
                }
            }
            ZkRequest::GetBreadcrumb { .. } => ElectorEvent::BreadcrumbRead {
                client,
                result: self.zk.breadcrumb.clone().ok_or(ZkCode::NoNode),
            },
            ZkRequest::CreateBreadcrumb { data, .. } => ElectorEvent::BreadcrumbWritten {
                client,
                result: if self.zk.breadcrumb.is_some() {
                    Err(ZkCode::NodeExists)
                } else {
                    self.zk.breadcrumb = Some((data, 0));
                    Ok(())
                },
            },
            ZkRequest::SetBreadcrumb { data, version, .. } => ElectorEvent::BreadcrumbWritten {
                client,
                result: match &self.zk.breadcrumb {
                    None => Err(ZkCode::NoNode),
                    Some((_, v)) if *v != version => Err(ZkCode::BadVersion),
                    Some(_) => {
                        self.zk.breadcrumb = Some((data, version + 1));
                        Ok(())
                    }
                },
            },
            ZkRequest::DeleteBreadcrumb { version, .. } => ElectorEvent::BreadcrumbDeleted {
                client,
                result: match &self.zk.breadcrumb {
                    None => Err(ZkCode::NoNode),
                    Some((_, v)) if *v != version => Err(ZkCode::BadVersion),
                    Some(_) => {
                        self.zk.breadcrumb = None;
                        Ok(())
                    }
                },
            },
            ZkRequest::Connect { .. } | ZkRequest::Close { .. } => unreachable!(),
        };
        ZkfcInput::Elector(event)
    }

    fn disconnect(&mut self, node: usize, client: ClientId) {
        let Some(c) = self.nodes[node].clients.get_mut(&client) else {
            return;
        };
        if !c.connected {
            return;
        }
        c.connected = false;
        c.disconnected_since = Some(self.now);
        // Answers in flight are lost; watch notifications come back after the reconnection.
        let queued = self
            .queues
            .remove(&Chan::Zk(node, client))
            .unwrap_or_default();
        let mut out = VecDeque::new();
        for input in queued {
            let lost = match input {
                ZkfcInput::Elector(ElectorEvent::LockCreated { client, .. }) => {
                    ElectorEvent::LockCreated {
                        client,
                        result: Err(ZkCode::ConnectionLoss),
                    }
                }
                ZkfcInput::Elector(ElectorEvent::LockStat { client, .. }) => {
                    ElectorEvent::LockStat {
                        client,
                        result: Err(ZkCode::ConnectionLoss),
                    }
                }
                ZkfcInput::Elector(ElectorEvent::BreadcrumbRead { client, .. }) => {
                    ElectorEvent::BreadcrumbRead {
                        client,
                        result: Err(ZkCode::ConnectionLoss),
                    }
                }
                ZkfcInput::Elector(ElectorEvent::BreadcrumbWritten { client, .. }) => {
                    ElectorEvent::BreadcrumbWritten {
                        client,
                        result: Err(ZkCode::ConnectionLoss),
                    }
                }
                ZkfcInput::Elector(ElectorEvent::BreadcrumbDeleted { client, .. }) => {
                    ElectorEvent::BreadcrumbDeleted {
                        client,
                        result: Err(ZkCode::ConnectionLoss),
                    }
                }
                ZkfcInput::Elector(event @ ElectorEvent::LockWatch { .. }) => {
                    c.held_events.push(ZkfcInput::Elector(event));
                    continue;
                }
                other => {
                    out.push_back(other);
                    continue;
                }
            };
            out.push_back(ZkfcInput::Elector(lost));
        }
        out.push_back(ZkfcInput::Elector(ElectorEvent::Session {
            client,
            event: SessionEvent::Disconnected,
        }));
        self.queues.insert(Chan::Zk(node, client), out);
    }

    fn reconnect(&mut self, node: usize, client: ClientId) {
        let Some(c) = self.nodes[node].clients.get_mut(&client) else {
            return;
        };
        if c.connected {
            return;
        }
        let alive = self.zk.alive.get(&c.session) == Some(&true);
        let held_requests = std::mem::take(&mut c.held_requests);
        let held_events = std::mem::take(&mut c.held_events);
        if alive {
            c.connected = true;
            c.disconnected_since = None;
            self.push(
                Chan::Zk(node, client),
                ZkfcInput::Elector(ElectorEvent::Session {
                    client,
                    event: SessionEvent::SyncConnected,
                }),
            );
            for event in held_events {
                self.push(Chan::Zk(node, client), event);
            }
            for request in held_requests {
                self.zk_request(node, request);
            }
        } else {
            self.push(
                Chan::Zk(node, client),
                ZkfcInput::Elector(ElectorEvent::Session {
                    client,
                    event: SessionEvent::Expired,
                }),
            );
            for request in held_requests {
                let answer = self.answer(&request, client, Err(ZkCode::SessionExpired));
                self.push(Chan::Zk(node, client), answer);
            }
        }
    }

    fn expire_sessions(&mut self) {
        let mut expired = Vec::new();
        for node in &self.nodes {
            for c in node.clients.values() {
                if let Some(since) = c.disconnected_since
                    && self.now >= since + SESSION_TIMEOUT
                    && self.zk.alive.get(&c.session) == Some(&true)
                {
                    expired.push(c.session);
                }
            }
        }
        for session in expired {
            self.log(format!("session {session:#x} expires"));
            self.end_session(session);
        }
    }

    // ---- NameNodes

    fn set_nn(&mut self, node: usize, nn: Nn, seed: u64) {
        self.nodes[node].nn = nn;
        self.check_invariant(seed);
    }

    fn kill_nn(&mut self, node: usize, seed: u64) {
        if self.nodes[node].nn == Nn::Dead {
            return;
        }
        self.log(format!("nn{node} dies"));
        self.set_nn(node, Nn::Dead, seed);
        let restart = self.now + Duration::from_millis(500 + self.rng.below(2500));
        self.nodes[node].restart_nn_at = Some(restart);
        self.push(
            Chan::Local(node),
            ZkfcInput::HealthChanged(HealthState::ServiceNotResponding),
        );
    }

    fn fence(&mut self, target: usize, seed: u64) -> Result<(), FenceError> {
        let faults = self.faults;
        if self.nodes[target].nn != Nn::Dead && (!faults || self.rng.chance(0.7)) {
            self.set_nn(target, Nn::Standby, seed);
            return Ok(());
        }
        if !faults || self.rng.chance(0.8) {
            self.kill_nn(target, seed);
            return Ok(());
        }
        Err(FenceError::Failed(format!("NameNode at nn{target}")))
    }

    fn carry_out(&mut self, node: usize, actions: Vec<ZkfcAction>, seed: u64) {
        for action in actions {
            self.log(format!("nn{node} -> {action:?}"));
            match action {
                ZkfcAction::Zk(request) => self.zk_request(node, request),
                ZkfcAction::Schedule { timer, after } => {
                    self.timers
                        .push((self.now + after, node, ZkfcInput::Timer(timer)));
                }
                ZkfcAction::TransitionToActive => {
                    self.stats.activations += 1;
                    let fail = self.faults && self.rng.chance(0.05);
                    let result = match self.nodes[node].nn {
                        Nn::Dead => Err(CallError::Unreachable("Connection refused".into())),
                        _ if fail => Err(CallError::Unreachable("injected failure".into())),
                        _ => {
                            self.set_nn(node, Nn::Active, seed);
                            Ok(())
                        }
                    };
                    self.push(Chan::Nn(node), ZkfcInput::LocalActive(result));
                }
                ZkfcAction::TransitionToStandby => {
                    let result = self.standby(node, seed);
                    self.push(Chan::Nn(node), ZkfcInput::LocalStandby(result));
                }
                ZkfcAction::CedeToStandby { id } => {
                    let result = self.standby(node, seed);
                    self.push(Chan::Nn(node), ZkfcInput::CedeStandby { id, result });
                }
                ZkfcAction::FenceOldActive(data) => {
                    self.stats.fences += 1;
                    let result = self.fence(node_of(&data), seed);
                    self.push(Chan::Nn(node), ZkfcInput::Fenced(result));
                }
                ZkfcAction::ActiveAttempt { .. } | ZkfcAction::CedeDone { .. } => {}
                ZkfcAction::Fatal(_) => self.restart_zkfc(node),
            }
        }
    }

    fn standby(&mut self, node: usize, seed: u64) -> Result<(), CallError> {
        if self.nodes[node].nn == Nn::Dead {
            return Err(CallError::Unreachable("Connection refused".into()));
        }
        self.set_nn(node, Nn::Standby, seed);
        Ok(())
    }

    /// A supervisor restarts a ZKFC that exited: its old sessions linger until they expire.
    fn restart_zkfc(&mut self, node: usize) {
        self.log(format!("zkfc{node} restarts"));
        self.stats.zkfc_restarts += 1;
        let clients: Vec<ClientId> = self.nodes[node].clients.keys().copied().collect();
        // The old process's connections are gone for good.
        self.reconnects
            .retain(|(_, n, c)| *n != node || !clients.contains(c));
        for client in clients {
            self.disconnect(node, client);
            self.queues.remove(&Chan::Zk(node, client));
            if let Some(c) = self.nodes[node].clients.get_mut(&client) {
                c.held_requests.clear();
                c.held_events.clear();
            }
        }
        let session = self.new_session();
        let client = self.nodes[node]
            .next_client
            .max(self.nodes[node].clients.keys().max().copied().unwrap_or(0) + 1)
            + 100;
        self.nodes[node].next_client = client + 1;
        self.nodes[node]
            .clients
            .insert(client, Self::client(session));
        self.nodes[node].core = Zkfc::new(
            core_conf(node),
            Some((client, SessionId(session))),
            self.now,
        );
        self.queues.remove(&Chan::Local(node));
        self.queues.remove(&Chan::Nn(node));
        self.timers.retain(|(_, n, _)| *n != node);
        let health = if self.nodes[node].nn == Nn::Dead {
            HealthState::ServiceNotResponding
        } else {
            HealthState::ServiceHealthy
        };
        self.push(Chan::Local(node), ZkfcInput::HealthChanged(health));
    }

    // ---- the schedule

    fn inject_fault(&mut self, seed: u64) {
        let n = self.nodes.len();
        let node = self.rng.index(n);
        self.stats.faults += 1;
        match self.rng.below(7) {
            0 => {
                if let Some(client) = self.nodes[node].core.elector().client() {
                    self.log(format!("zkfc{node} loses its connection"));
                    self.disconnect(node, client);
                    let back = self.now + Duration::from_millis(100 + self.rng.below(4000));
                    self.reconnects.push((back, node, client));
                }
            }
            1 => self.kill_nn(node, seed),
            2 => {
                if self.nodes[node].nn != Nn::Dead {
                    self.log(format!("nn{node} unhealthy for a while"));
                    self.push(
                        Chan::Local(node),
                        ZkfcInput::HealthChanged(HealthState::ServiceUnhealthy),
                    );
                    let back = self.now + Duration::from_millis(self.rng.below(3000));
                    self.timers.push((
                        back,
                        node,
                        ZkfcInput::HealthChanged(HealthState::ServiceHealthy),
                    ));
                }
            }
            3 => {
                let id = self.next_cede;
                self.next_cede += 1;
                let millis = 500 + self.rng.below(3000) as i64;
                self.log(format!("zkfc{node} asked to cede for {millis} ms"));
                self.push(Chan::Local(node), ZkfcInput::Cede { id, millis });
            }
            4 => {
                let id = self.next_cede;
                self.next_cede += 1;
                self.push(Chan::Local(node), ZkfcInput::Cede { id, millis: -1 });
            }
            5 => {
                // Someone forces the NameNode's state by hand.
                if self.nodes[node].nn == Nn::Active {
                    self.log(format!("nn{node} made standby by hand"));
                    self.set_nn(node, Nn::Standby, seed);
                }
            }
            _ => self.restart_zkfc(node),
        }
    }
}

impl Sim {
    fn run(seed: u64, steps: usize) -> Stats {
        let mut sim = Sim::new(seed, 3);
        sim.run_phase(seed, steps, true);
        // Quiet: no more faults; dead NameNodes come back; everything settles.
        sim.faults = false;
        let reconnect: Vec<(usize, ClientId)> =
            sim.reconnects.iter().map(|(_, n, c)| (*n, *c)).collect();
        for (node, client) in reconnect {
            sim.reconnect(node, client);
        }
        sim.reconnects.clear();
        let settle_until = sim.now + Duration::from_secs(60);
        while sim.now < settle_until {
            sim.run_phase(seed, 200, false);
        }
        let active: Vec<usize> = (0..3).filter(|&i| sim.nodes[i].nn == Nn::Active).collect();
        assert_eq!(
            active.len(),
            1,
            "seed {seed}: no single active after the faults stopped: {:?}\n{}",
            sim.nodes.iter().map(|n| n.nn).collect::<Vec<_>>(),
            sim.trace.iter().cloned().collect::<Vec<_>>().join("\n")
        );
        let holder = sim.zk.lock.as_ref().map(|(data, _)| node_of(data));
        assert_eq!(
            holder,
            Some(active[0]),
            "seed {seed}: the lock holder is not the active"
        );
        assert_eq!(
            sim.nodes[active[0]].core.elector_state(),
            ElectorState::Active,
            "seed {seed}"
        );
        sim.stats
    }

    fn run_phase(&mut self, seed: u64, steps: usize, faults: bool) {
        for _ in 0..steps {
            self.now += Duration::from_millis(self.rng.below(25));
            self.expire_sessions();
            // Due timers, reconnections, NameNode restarts and health reports.
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
                .into_iter()
                .partition(|(at, _, _)| *at <= now);
            self.timers = later;
            for (_, node, input) in due {
                self.push(Chan::Local(node), input);
            }
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reconnects)
                .into_iter()
                .partition(|(at, _, _)| *at <= now);
            self.reconnects = later;
            for (_, node, client) in due {
                self.reconnect(node, client);
            }
            for node in 0..self.nodes.len() {
                if let Some(at) = self.nodes[node].restart_nn_at
                    && at <= now
                {
                    self.nodes[node].restart_nn_at = None;
                    self.log(format!("nn{node} restarts"));
                    self.set_nn(node, Nn::Standby, seed);
                    self.push(
                        Chan::Local(node),
                        ZkfcInput::HealthChanged(HealthState::ServiceHealthy),
                    );
                }
                if self.nodes[node].next_status_at <= now {
                    self.nodes[node].next_status_at = now + Duration::from_millis(1000);
                    let status = match self.nodes[node].nn {
                        Nn::Active => Some(ServiceState::Active),
                        Nn::Standby => Some(ServiceState::Standby),
                        Nn::Dead => None,
                    };
                    if let Some(status) = status {
                        self.push(Chan::Local(node), ZkfcInput::ServiceStatus(status));
                    }
                }
            }
            if faults && self.rng.chance(0.01) {
                self.inject_fault(seed);
            }
            // Deliver a few queued inputs, in random order across queues.
            for _ in 0..1 + self.rng.below(3) {
                let ready: Vec<Chan> = self
                    .queues
                    .iter()
                    .filter(|(_, q)| !q.is_empty())
                    .map(|(c, _)| *c)
                    .collect();
                if ready.is_empty() {
                    break;
                }
                let chan = ready[self.rng.index(ready.len())];
                let Some(input) = self.queues.get_mut(&chan).and_then(|q| q.pop_front()) else {
                    continue;
                };
                let node = match chan {
                    Chan::Zk(n, _) | Chan::Nn(n) | Chan::Local(n) => n,
                };
                self.log(format!("nn{node} <- {input:?}"));
                let actions = self.nodes[node].core.step(self.now, input);
                self.carry_out(node, actions, seed);
            }
        }
    }
}

#[test]
fn randomized_elections_never_make_two_actives_and_converge() {
    let seed = seeded::seed();
    let runs: u64 = std::env::var("ZKFC_SIM_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    seeded::announce(seed);
    println!("zkfc simulation: {runs} runs from seed {seed}");
    let mut total = Stats::default();
    for run in 0..runs {
        let stats = Sim::run(seed.wrapping_add(run), 4000);
        total.activations += stats.activations;
        total.fences += stats.fences;
        total.faults += stats.faults;
        total.zkfc_restarts += stats.zkfc_restarts;
    }
    println!("zkfc simulation exercised {total:?}");
    assert!(total.fences > 0 && total.activations > runs, "{total:?}");
}
