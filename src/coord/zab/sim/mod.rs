//! A seeded simulator for the ZAB peer: N servers (voters and observers) on a fake network
//! with FIFO peer links that break (message loss closes a TCP connection), lossy election
//! links, partitions, disks (a [`MemStore`] each) where only what was reported durable
//! survives a crash (plus a random prefix of what was in flight), crashes and restarts, client proposals and sync
//! barriers. Every schedule prints its seed; `HDFS_HA_SEED=<n>` replays one schedule,
//! `ZAB_TEST_SCHEDULES=<n>` runs more, `ZAB_TEST_STEPS=<n>` makes each schedule longer
//! than its default 3000 fault-injecting steps, `ZAB_TEST_TRACE=1` prints every event of a
//! failing schedule (not only the last 40).
//!
//! A schedule is a list of [`SimAction`]s. [`chooser::Chooser`] draws each from the
//! seeded generator, looking at the ensemble; [`Sim::apply`] carries it out and draws
//! nothing, so a recorded list replays the same run whatever the generator (the heal at
//! the end of a schedule is actions too: which link delivers next there is as random as
//! anywhere).
//! A failed schedule writes its list to `$TMPDIR/zab-sim-seed-<seed>.txt`; the lists kept
//! as regressions are in `tests/data/zab/`.
//!
//! Layout: this file holds the ensemble, its actions and how each is carried out;
//! `invariants` the checks, `chooser` the seeded schedules and their tests, `actions` the
//! text form of action lists, `regressions` the lists kept in `tests/data/zab/`, `hostile`
//! the garbage-on-the-wire fuzz.
//!
//! Checked after every step:
//! 1. at most one leader is established per epoch;
//! 2. a txn is committed (applied anywhere, or held by a server that starts serving) only
//!    once it is durable on a majority of voters, and a zxid is never committed with two
//!    different contents;
//! 3. committed txns form one chain: every server applies them in zxid order, skipping
//!    none, each right after the same predecessor everywhere, so each applied sequence and
//!    each serving server's state is a prefix of one history;
//! 4. an established leader's log holds every txn committed before (none lost across
//!    leader changes);
//! 5. acceptedEpoch / currentEpoch are on disk before a message that depends on them leaves,
//!    and an ACK only covers durable txns.
//!    At the end of a schedule the faults heal and the servers must converge; then a
//!    random minority of voters crashes for good, and the rest must elect a leader holding
//!    every committed txn and converge on it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::coord::store::{
    EpochFile, Loaded, MemStore, ReplayError, Replica, SnapshotError, StoreError, ZabStore,
};
use crate::seeded::{self, SeededRng};
use bytes::Bytes;

use super::*;

mod actions;
mod chooser;
mod hostile;
mod invariants;
mod regressions;

use regressions::Seen;

/// The simulated state machine: every txn applied, in order. A server's disk is a
/// [`MemStore`], whose snapshot images are this list ([`encode_state`]).
#[derive(Debug, Clone, Default)]
struct SimState(Vec<Entry>);

impl Replica for SimState {
    fn empty() -> Self {
        SimState(Vec::new())
    }

    fn from_image(_zxid: Zxid, image: &[u8]) -> Result<Self, SnapshotError> {
        decode_state(image)
            .map(SimState)
            .ok_or(SnapshotError::TooShort)
    }

    fn apply(&mut self, zxid: Zxid, payload: &[u8]) -> Result<(), ReplayError> {
        self.0.push(Entry {
            zxid,
            data: Bytes::copy_from_slice(payload),
        });
        Ok(())
    }
}

/// What `disk` recovers up to `limit` (everything without one); it is not changed.
fn recover_disk(disk: &MemStore, limit: Option<Zxid>) -> Result<Loaded<SimState>, StoreError> {
    disk.clone().load(limit, usize::MAX)
}

/// An epoch on `disk` (0 when never written).
fn disk_epoch(disk: &MemStore, which: EpochFile) -> u32 {
    disk.read_epoch(which).ok().flatten().unwrap_or(0)
}

/// Makes `op` durable on `disk`, as a driver does before it reports it persisted.
fn persist_op(disk: &mut MemStore, op: &StoreOp) {
    disk.perform(op)
        .and_then(|()| disk.sync())
        .expect("a MemStore does not fail");
}

fn encode_state(state: &[Entry]) -> Bytes {
    let mut out = Vec::new();
    for e in state {
        out.extend_from_slice(&e.zxid.to_be_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&e.data);
    }
    Bytes::from(out)
}

/// [`encode_state`]'s list; `None` for bytes it did not make.
fn decode_state(bytes: &[u8]) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let zxid = i64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?);
        let len = u32::from_be_bytes(bytes.get(i + 8..i + 12)?.try_into().ok()?) as usize;
        out.push(Entry {
            zxid,
            data: Bytes::copy_from_slice(bytes.get(i + 12..i + 12 + len)?),
        });
        i += 12 + len;
    }
    Some(out)
}

struct Server {
    peer: Option<ZabPeer>,
    disk: MemStore,
    /// Store ops issued, not yet durable.
    in_flight: VecDeque<(u64, StoreOp)>,
    /// The state machine: every txn applied, in order.
    state: Vec<Entry>,
    /// Learner: the leader it wants a peer connection to.
    wants: Option<Sid>,
    /// The epoch of the leader whose SNAP reached it last.
    snap_from_epoch: Option<u32>,
}

#[derive(Debug, Clone)]
enum Wire {
    Peer(PeerMsg),
}

/// What an action list runs on: the ensemble, and what its election links keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ensemble {
    voters: usize,
    observers: usize,
    /// `commit_log_count`: how far back a DIFF reaches.
    window: usize,
    /// Notifications waiting on one election channel: ZooKeeper's QuorumCnxManager keeps
    /// one (SEND_CAPACITY), dropping the older; `None` keeps them all.
    election_queue: Option<usize>,
}

impl Ensemble {
    pub(super) fn new(voters: usize, observers: usize, window: usize) -> Ensemble {
        Ensemble {
            voters,
            observers,
            window,
            election_queue: Some(1),
        }
    }

    /// The ensemble a seed runs on: the DIFF window comes from the seed.
    fn for_seed(seed: u64, voters: usize, observers: usize) -> Ensemble {
        Ensemble::new(voters, observers, 3 + (seed % 20) as usize)
    }
}

/// How many of a server's in-flight store ops become durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writes {
    All,
    /// The oldest `n` (at least one, at most all).
    First(usize),
}

/// One thing that happens to the ensemble. [`chooser::Chooser`] draws them (the only code
/// that touches a random generator) and [`Sim::apply`] carries them out with no randomness
/// at all, so a recorded list replays exactly whatever the generator and its draw order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SimAction {
    /// The oldest peer message queued from `from` to `to` arrives.
    Deliver { from: Sid, to: Sid },
    /// The oldest notification queued from `from` to `to` arrives (or vanishes, when the
    /// two cannot reach each other any more).
    Elect { from: Sid, to: Sid },
    /// The oldest notification queued from `from` to `to` is lost.
    Lose { from: Sid, to: Sid },
    /// Some of `id`'s in-flight store ops become durable, oldest first.
    Persist { id: Sid, writes: Writes },
    /// The clock moves `ms` on: every server ticks, isolations that are due end, learners
    /// that want a leader connect to it.
    Tick { ms: u64 },
    /// The established leader proposes the next txn.
    Propose,
    /// A sync barrier at `id`, which serves.
    Sync { id: Sid },
    /// `id` crashes; of its in-flight store ops the oldest `kept` reached the disk.
    Crash { id: Sid, kept: usize },
    /// `id`, down, starts from what its disk holds.
    Boot { id: Sid },
    /// Message loss on the TCP link from `learner` to `leader`: the connection breaks.
    Break { learner: Sid, leader: Sid },
    /// `id` is cut off from everyone for `ms`.
    Isolate { id: Sid, ms: u64 },
    /// Every isolation ends.
    Heal,
    /// The ensemble has converged: one leader, every live server serving the same history,
    /// every committed txn in it. A failure when not.
    Check,
}

/// An action that a replayed list asks for but the simulated ensemble cannot carry out
/// (no such message queued, no such server down): the list no longer matches the peer.
#[derive(Debug)]
pub(super) struct NotApplicable(String);

pub(super) struct Sim {
    ensemble: Ensemble,
    /// Names the run in failure messages (its seed, or the list it replays).
    label: String,
    now: u64,
    config: ZabConfig,
    servers: BTreeMap<Sid, Server>,
    /// Open peer connections (learner, leader) and their FIFO queues each way.
    conns: BTreeSet<(Sid, Sid)>,
    queues: BTreeMap<(Sid, Sid), VecDeque<Wire>>,
    election: BTreeMap<(Sid, Sid), VecDeque<Notification>>,
    /// Servers cut off from everyone until the given time.
    isolated: BTreeMap<Sid, u64>,
    /// Every action applied so far, in order: the list that replays this run.
    actions: Vec<SimAction>,
    /// Situations a regression list must reach to test what it is named after.
    seen: Seen,
    // Checker state.
    leaders: BTreeMap<u32, Sid>,
    committed: BTreeMap<Zxid, Bytes>,
    /// The committed history as one chain: each committed zxid and the zxid right before
    /// it wherever it was applied (0 for the first txn).
    predecessor: BTreeMap<Zxid, Zxid>,
    next_txn: u64,
    next_token: u64,
    pending_syncs: BTreeMap<u64, Sid>,
    trace: Vec<String>,
}

impl Sim {
    pub(super) fn new(label: impl Into<String>, ensemble: Ensemble) -> Sim {
        let voters = ensemble.voters;
        let voter_ids: BTreeSet<Sid> = (1..=voters as Sid).collect();
        let observer_ids: BTreeSet<Sid> =
            (voters as Sid + 1..=(voters + ensemble.observers) as Sid).collect();
        let config = ZabConfig {
            my_id: 0,
            voters: voter_ids,
            observers: observer_ids,
            tick_ms: 100,
            init_limit: 20,
            sync_limit: 10,
            finalize_wait_ms: 50,
            max_notification_interval_ms: 400,
            commit_log_count: ensemble.window,
        };
        let mut sim = Sim {
            ensemble,
            label: label.into(),
            now: 0,
            servers: BTreeMap::new(),
            config: config.clone(),
            conns: BTreeSet::new(),
            queues: BTreeMap::new(),
            election: BTreeMap::new(),
            isolated: BTreeMap::new(),
            actions: Vec::new(),
            seen: Seen::default(),
            leaders: BTreeMap::new(),
            committed: BTreeMap::new(),
            predecessor: BTreeMap::new(),
            next_txn: 0,
            next_token: 0,
            pending_syncs: BTreeMap::new(),
            trace: Vec::new(),
        };
        let ids: Vec<Sid> = config
            .voters
            .iter()
            .chain(config.observers.iter())
            .copied()
            .collect();
        for id in ids {
            sim.servers.insert(
                id,
                Server {
                    peer: None,
                    disk: MemStore::new(),
                    in_flight: VecDeque::new(),
                    state: Vec::new(),
                    wants: None,
                    snap_from_epoch: None,
                },
            );
        }
        let ids: Vec<Sid> = sim.servers.keys().copied().collect();
        for id in ids {
            sim.boot(id);
        }
        sim
    }

    /// Carries out `action`, or says why it cannot be (nothing is changed then). Draws no
    /// random number: the same actions from the same start give the same run.
    pub(super) fn apply(&mut self, action: &SimAction) -> Result<(), NotApplicable> {
        self.check_applicable(action)?;
        self.actions.push(action.clone());
        match *action {
            SimAction::Deliver { from, to } => {
                let Some(Wire::Peer(msg)) =
                    self.queues.get_mut(&(from, to)).and_then(|q| q.pop_front())
                else {
                    unreachable!("checked: a message is queued");
                };
                self.observe_snapshot(from, to, &msg);
                let leading = self.leading_epoch(to);
                let follower_accepted = match msg {
                    PeerMsg::FollowerInfo { accepted_epoch, .. } => Some(accepted_epoch),
                    _ => None,
                };
                self.step_peer(to, Input::Peer { from, msg });
                if let (Some(epoch), Some(accepted_epoch)) = (leading, follower_accepted) {
                    self.observe_step_down(from, to, epoch, accepted_epoch);
                }
            }
            SimAction::Elect { from, to } => self.deliver_election(from, to),
            SimAction::Lose { from, to } => {
                self.election
                    .get_mut(&(from, to))
                    .and_then(|q| q.pop_front());
            }
            SimAction::Persist { id, writes } => self.persist(id, writes),
            SimAction::Tick { ms } => self.tick_all(ms),
            SimAction::Propose => self.propose(),
            SimAction::Sync { id } => self.sync(id),
            SimAction::Crash { id, kept } => self.crash(id, kept),
            SimAction::Boot { id } => self.boot(id),
            SimAction::Break { learner, leader } => self.break_link(learner, leader),
            SimAction::Isolate { id, ms } => self.isolate(id, self.now + ms),
            SimAction::Heal => self.isolated.clear(),
            SimAction::Check => {
                if !self.converged() {
                    self.fail_unconverged();
                }
                self.check_final();
            }
        }
        Ok(())
    }

    fn check_applicable(&self, action: &SimAction) -> Result<(), NotApplicable> {
        let known = |id: Sid| {
            if self.servers.contains_key(&id) {
                Ok(())
            } else {
                Err(NotApplicable(format!("there is no server {id}")))
            }
        };
        let up = |id: Sid| {
            known(id)?;
            if self.alive(id) {
                Ok(())
            } else {
                Err(NotApplicable(format!("server {id} is down")))
            }
        };
        match *action {
            SimAction::Deliver { from, to } => {
                if self.queues.get(&(from, to)).is_none_or(|q| q.is_empty()) {
                    return Err(NotApplicable(format!(
                        "no peer message is queued from {from} to {to}"
                    )));
                }
            }
            SimAction::Elect { from, to } | SimAction::Lose { from, to } => {
                if self.election.get(&(from, to)).is_none_or(|q| q.is_empty()) {
                    return Err(NotApplicable(format!(
                        "no notification is queued from {from} to {to}"
                    )));
                }
            }
            SimAction::Persist { id, writes } => {
                up(id)?;
                let in_flight = self.servers[&id].in_flight.len();
                let enough = match writes {
                    Writes::All => in_flight > 0,
                    Writes::First(n) => (1..=in_flight).contains(&n),
                };
                if !enough {
                    return Err(NotApplicable(format!(
                        "server {id} has {in_flight} store ops in flight, not {writes:?}"
                    )));
                }
            }
            SimAction::Propose => {
                if self.leader().is_none() {
                    return Err(NotApplicable("no leader is established".to_string()));
                }
            }
            SimAction::Sync { id } => {
                up(id)?;
                if self.servers[&id]
                    .peer
                    .as_ref()
                    .is_none_or(|p| p.serving().is_none())
                {
                    return Err(NotApplicable(format!("server {id} does not serve")));
                }
            }
            SimAction::Crash { id, kept } => {
                up(id)?;
                let in_flight = self.servers[&id].in_flight.len();
                if kept > in_flight {
                    return Err(NotApplicable(format!(
                        "server {id} has {in_flight} store ops in flight, not {kept}"
                    )));
                }
            }
            SimAction::Boot { id } => {
                known(id)?;
                if self.alive(id) {
                    return Err(NotApplicable(format!("server {id} is up")));
                }
            }
            SimAction::Break { learner, leader } => {
                if !self.conns.contains(&(learner, leader)) {
                    return Err(NotApplicable(format!(
                        "no connection from {learner} to {leader}"
                    )));
                }
            }
            SimAction::Isolate { id, .. } => known(id)?,
            SimAction::Tick { .. } | SimAction::Heal | SimAction::Check => {}
        }
        Ok(())
    }

    fn boot(&mut self, id: Sid) {
        let mut config = self.config.clone();
        config.my_id = id;
        let s = self.servers.get_mut(&id).expect("server");
        let loaded = match recover_disk(&s.disk, None) {
            Ok(loaded) => loaded,
            Err(e) => self.fail(format!("server {id} cannot recover its disk: {e}")),
        };
        let s = self.servers.get_mut(&id).expect("server");
        let last = loaded.last_zxid;
        let recovered = Recovered {
            accepted_epoch: disk_epoch(&s.disk, EpochFile::Accepted),
            current_epoch: disk_epoch(&s.disk, EpochFile::Current),
            last_zxid: last,
            tail: loaded.tail,
            snapshot_zxid: loaded.snapshot_zxid,
        };
        s.state = loaded.db.0;
        s.in_flight.clear();
        s.wants = None;
        let peer = ZabPeer::new(config, recovered, self.now)
            .unwrap_or_else(|e| panic!("{}: server {id} cannot start: {e}", self.label));
        s.peer = Some(peer);
        self.trace
            .push(format!("t={} boot {id} last=0x{last:x}", self.now));
        self.drain(id);
    }

    fn alive(&self, id: Sid) -> bool {
        self.servers[&id].peer.is_some()
    }

    fn reachable(&self, a: Sid, b: Sid) -> bool {
        self.alive(a)
            && self.alive(b)
            && !self.isolated.contains_key(&a)
            && !self.isolated.contains_key(&b)
    }

    fn step_peer(&mut self, id: Sid, input: Input) {
        let now = self.now;
        let Some(peer) = self.servers.get_mut(&id).and_then(|s| s.peer.as_mut()) else {
            return;
        };
        peer.step(now, input);
        self.drain(id);
    }

    /// Carries out a server's actions.
    fn drain(&mut self, id: Sid) {
        loop {
            let actions = match self.servers.get_mut(&id).and_then(|s| s.peer.as_mut()) {
                Some(p) => p.take_actions(),
                None => return,
            };
            if actions.is_empty() {
                return;
            }
            for action in actions {
                self.act(id, action);
            }
        }
    }

    fn act(&mut self, id: Sid, action: Action) {
        match action {
            Action::Store { seq, op } => {
                self.servers
                    .get_mut(&id)
                    .expect("server")
                    .in_flight
                    .push_back((seq, op));
            }
            Action::Send { to, msg } => {
                self.check_send(id, &msg);
                self.trace.push(
                    format!("t={} {id}->{to} {msg:?}", self.now)
                        .chars()
                        .take(160)
                        .collect(),
                );
                let key = if self.conns.contains(&(id, to)) {
                    Some((id, to))
                } else if self.conns.contains(&(to, id)) {
                    Some((to, id))
                } else {
                    None
                };
                if key.is_some() {
                    self.queues
                        .entry((id, to))
                        .or_default()
                        .push_back(Wire::Peer(msg));
                }
            }
            Action::SendSnapshot { to, zxid } => {
                let s = &self.servers[&id];
                let last = s.state.last().map_or(0, |e| e.zxid);
                if last > zxid {
                    self.fail(format!(
                        "server {id} snapshots at 0x{zxid:x} but applied 0x{last:x}"
                    ));
                }
                let data = encode_state(&s.state);
                self.act(
                    id,
                    Action::Send {
                        to,
                        msg: PeerMsg::Snap { zxid, data },
                    },
                );
            }
            Action::Elect { to, note } => {
                if self.reachable(id, to) {
                    let queue = self.election.entry((id, to)).or_default();
                    queue.push_back(note);
                    if let Some(cap) = self.ensemble.election_queue {
                        while queue.len() > cap {
                            queue.pop_front();
                        }
                    }
                }
            }
            Action::ConnectLeader { leader } => {
                self.break_conn(id, leader, false);
                self.servers.get_mut(&id).expect("server").wants = Some(leader);
            }
            Action::Disconnect { peer } => {
                self.break_conn(id, peer, true);
                if self.servers[&id].wants == Some(peer) {
                    self.servers.get_mut(&id).expect("server").wants = None;
                }
            }
            Action::Apply(entry) => self.check_apply(id, entry),
            Action::ResetState { zxid } => {
                let loaded = match recover_disk(&self.servers[&id].disk, Some(zxid)) {
                    Ok(loaded) => loaded,
                    Err(e) => self.fail(format!("server {id} cannot reset to 0x{zxid:x}: {e}")),
                };
                let last = loaded.last_zxid;
                self.servers.get_mut(&id).expect("server").state = loaded.db.0;
                if last != zxid && zxid != 0 {
                    self.fail(format!(
                        "server {id} reset to 0x{zxid:x} but its disk only reaches 0x{last:x}"
                    ));
                }
                self.trace
                    .push(format!("t={} {id} reset to 0x{zxid:x}", self.now));
            }
            Action::Serving(Some(Serving::Leader { epoch })) => {
                self.trace.push(format!(
                    "t={} {id} established leader of epoch {epoch}",
                    self.now
                ));
                if let Some(other) = self.leaders.insert(epoch, id)
                    && other != id
                {
                    self.fail(format!("epoch {epoch} has two leaders: {other} and {id}"));
                }
                // The leader's history (disk plus in-flight log) holds every committed txn.
                let s = &self.servers[&id];
                let mut disk = s.disk.clone();
                for (_, op) in &s.in_flight {
                    persist_op(&mut disk, op);
                }
                let state = match recover_disk(&disk, None) {
                    Ok(loaded) => loaded.db.0,
                    Err(e) => self.fail(format!("leader {id} holds no history: {e}")),
                };
                for (zxid, data) in &self.committed {
                    if !state.iter().any(|e| e.zxid == *zxid && e.data == *data) {
                        self.fail(format!(
                            "leader {id} of epoch {epoch} lacks committed txn 0x{zxid:x}"
                        ));
                    }
                }
                self.check_serving_state(id);
            }
            Action::Serving(other) => {
                self.trace
                    .push(format!("t={} {id} serving {other:?}", self.now));
                if other.is_some() {
                    self.check_serving_state(id);
                }
            }
            Action::Request { .. } => {}
            Action::SyncDone { token } => {
                if self.pending_syncs.remove(&token).is_none() {
                    self.fail(format!("server {id} passed unknown sync barrier {token}"));
                }
            }
        }
    }

    /// Closes the peer connection between `a` and `b` (either direction).
    fn break_conn(&mut self, a: Sid, b: Sid, notify_both: bool) {
        for (l, r) in [(a, b), (b, a)] {
            if self.conns.remove(&(l, r)) {
                self.queues.remove(&(l, r));
                self.queues.remove(&(r, l));
                // The side that did not close learns it from the socket.
                let other = if notify_both || l == a { r } else { l };
                let _ = other;
                for side in [l, r] {
                    if side != a || notify_both {
                        self.step_peer(
                            side,
                            Input::Disconnected {
                                peer: if side == l { r } else { l },
                            },
                        );
                    }
                }
            }
        }
    }

    fn crash(&mut self, id: Sid, kept: usize) {
        let s = self.servers.get_mut(&id).expect("server");
        // A crash may leave any prefix of the in-flight writes on disk.
        for (_, op) in s.in_flight.iter().take(kept) {
            persist_op(&mut s.disk, op);
        }
        s.disk.crash();
        s.in_flight.clear();
        s.peer = None;
        s.wants = None;
        self.trace
            .push(format!("t={} crash {id} (kept {kept} writes)", self.now));
        let peers: Vec<(Sid, Sid)> = self
            .conns
            .iter()
            .filter(|(l, r)| *l == id || *r == id)
            .copied()
            .collect();
        for (l, r) in peers {
            self.conns.remove(&(l, r));
            self.queues.remove(&(l, r));
            self.queues.remove(&(r, l));
            let other = if l == id { r } else { l };
            self.step_peer(other, Input::Disconnected { peer: id });
        }
        self.election.retain(|(a, b), _| *a != id && *b != id);
    }

    fn persist(&mut self, id: Sid, writes: Writes) {
        let s = self.servers.get_mut(&id).expect("server");
        if s.in_flight.is_empty() || s.peer.is_none() {
            return;
        }
        let n = match writes {
            Writes::All => s.in_flight.len(),
            Writes::First(n) => n,
        };
        let mut last = 0;
        for _ in 0..n {
            let (seq, op) = s.in_flight.pop_front().expect("in flight");
            persist_op(&mut s.disk, &op);
            last = seq;
        }
        self.step_peer(id, Input::Persisted { seq: last });
    }

    fn deliver_election(&mut self, from: Sid, to: Sid) {
        let note = self
            .election
            .get_mut(&(from, to))
            .and_then(|q| q.pop_front())
            .expect("non-empty");
        if self.reachable(from, to) {
            self.step_peer(to, Input::Notification { from, note });
        }
    }

    fn connect_learners(&mut self) {
        let wanting: Vec<(Sid, Sid)> = self
            .servers
            .iter()
            .filter_map(|(id, s)| s.wants.map(|l| (*id, l)))
            .collect();
        for (learner, leader) in wanting {
            if self.conns.contains(&(learner, leader)) || !self.reachable(learner, leader) {
                continue;
            }
            self.conns.insert((learner, leader));
            self.step_peer(learner, Input::Connected { peer: leader });
        }
    }

    fn tick_all(&mut self, ms: u64) {
        self.now += ms;
        let now = self.now;
        self.isolated.retain(|_, until| *until > now);
        let ids: Vec<Sid> = self.servers.keys().copied().collect();
        for id in ids {
            self.step_peer(id, Input::Tick);
        }
        self.connect_learners();
    }

    fn leader(&self) -> Option<Sid> {
        self.servers.iter().find_map(|(id, s)| {
            s.peer
                .as_ref()
                .filter(|p| matches!(p.serving(), Some(Serving::Leader { .. })))
                .map(|_| *id)
        })
    }

    fn propose(&mut self) {
        let Some(id) = self.leader() else {
            return;
        };
        self.next_txn += 1;
        let data = Bytes::from(format!("txn-{}", self.next_txn));
        let p = self
            .servers
            .get_mut(&id)
            .and_then(|s| s.peer.as_mut())
            .expect("leader");
        let _ = p.propose(data);
        self.drain(id);
    }

    fn sync(&mut self, id: Sid) {
        self.next_token += 1;
        let token = self.next_token;
        self.pending_syncs.insert(token, id);
        self.step_peer(id, Input::Sync { token });
    }

    fn break_link(&mut self, learner: Sid, leader: Sid) {
        self.trace
            .push(format!("t={} break {learner}-{leader}", self.now));
        self.conns.remove(&(learner, leader));
        self.queues.remove(&(learner, leader));
        self.queues.remove(&(leader, learner));
        self.step_peer(learner, Input::Disconnected { peer: leader });
        self.step_peer(leader, Input::Disconnected { peer: learner });
    }

    fn isolate(&mut self, id: Sid, until: u64) {
        self.trace
            .push(format!("t={} isolate {id} until {until}", self.now));
        self.isolated.insert(id, until);
        let conns: Vec<(Sid, Sid)> = self
            .conns
            .iter()
            .filter(|(l, r)| *l == id || *r == id)
            .copied()
            .collect();
        for (l, r) in conns {
            self.conns.remove(&(l, r));
            self.queues.remove(&(l, r));
            self.queues.remove(&(r, l));
            self.step_peer(l, Input::Disconnected { peer: r });
            self.step_peer(r, Input::Disconnected { peer: l });
        }
        self.election.retain(|(a, b), _| *a != id && *b != id);
    }

    /// Links with a peer message queued, in link order.
    fn peer_links(&self) -> Vec<(Sid, Sid)> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| *k)
            .collect()
    }

    /// Links with a notification queued, in link order.
    fn election_links(&self) -> Vec<(Sid, Sid)> {
        self.election
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| *k)
            .collect()
    }
}
