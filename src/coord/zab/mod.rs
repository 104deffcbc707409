//! The ZAB peer: FastLeaderElection, discovery, synchronization and broadcast as one sans-IO
//! state machine (`ZabPeer`). Messages, the driver's clock and storage completions go in
//! ([`Input`], [`ZabPeer::propose`]); actions come out ([`Action`]): storage operations,
//! messages, entries to apply, role changes. No sockets, clocks or threads inside; the tokio
//! shell (`coord::ensemble`) and the seeded simulator (`sim`, tests) drive it the same way.
//!
//! Wire format: ZooKeeper's own `QuorumPacket` framing and election notification layout
//! (see [`wire`]), encoded with the jute codec — one codec for every ZooKeeper byte, and the
//! packet types of reference §4.3, so a capture reads like ZooKeeper's.
//!
//! Invariants kept here (the simulator checks each on every schedule):
//! - acceptedEpoch is persisted before LEADERINFO / ACKEPOCH leave, currentEpoch before
//!   NEWLEADER and before its ACK: every message that depends on a [`StoreOp`] is held
//!   until [`Input::Persisted`] reports that op durable, and actions leave in order;
//! - a follower ACKs a proposal only once it is durable, and an ACK means "everything up to
//!   this zxid is durable here" (logs are prefixes of the leader's history);
//! - the leader commits the highest zxid a majority of voters (itself included, by its own
//!   durable log) acknowledged, in zxid order; observers never count;
//! - at most one leader is established per epoch: a server acknowledges an epoch at most
//!   once and a leader needs a majority of NEWLEADER acknowledgements;
//! - only committed entries are applied, in zxid order, with no hole (a non-contiguous zxid
//!   anywhere is an error that sends the learner back to LOOKING);
//! - a learner's log is never truncated below its latest snapshot (which may hold a dead
//!   leader's uncommitted tail): ACKEPOCH reports it, and the leader sends SNAP instead.
//!
//! Layout: this file holds the peer's interface (config, inputs, actions, store ops) and its
//! state with the dispatch of inputs; `zxid` the ids, `messages` what peers say, `outbox`
//! the ordering of actions behind durable store ops, `election`, `leader` and `learner` the
//! roles, [`wire`] the bytes, `sim` the seeded simulator and `tests` the scripted cases.

mod election;
mod leader;
mod learner;
mod messages;
mod outbox;
pub mod wire;
mod zxid;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use messages::*;
pub use zxid::*;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::majority::majority_reached;

/// A durable change, executed by the driver in the order emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    AcceptedEpoch(u32),
    CurrentEpoch(u32),
    Append(Entry),
    /// Drop every logged txn after `zxid` (and every snapshot taken after it).
    Truncate(Zxid),
    /// Make the leader's state at `zxid` this server's snapshot, dropping logged txns after
    /// it; it must be durable before anything reports `zxid` (ZOOKEEPER-3642).
    Snapshot {
        zxid: Zxid,
        data: Bytes,
    },
}

/// What a serving server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// Established leader of `epoch`; its first proposal is (epoch, 1).
    Leader {
        epoch: u32,
    },
    Follower {
        leader: Sid,
    },
    Observer {
        leader: Sid,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make `op` durable; report it with [`Input::Persisted`] (ops complete in `seq` order).
    Store { seq: u64, op: StoreOp },
    /// On the peer connection to `to` (drop it if there is none).
    Send { to: Sid, msg: PeerMsg },
    /// Send `PeerMsg::Snap` with the state machine as it is now (applied up to `zxid`).
    SendSnapshot { to: Sid, zxid: Zxid },
    /// On the election channel to `to`. Only the newest matters: a driver may drop an
    /// older one still unsent to the same peer (ZooKeeper's QuorumCnxManager queues one).
    Elect { to: Sid, note: Notification },
    /// Open a peer connection to `leader` (replacing any); report [`Input::Connected`].
    ConnectLeader { leader: Sid },
    /// Close the peer connection(s) with `peer`.
    Disconnect { peer: Sid },
    /// A committed txn: apply it (entries come in zxid order, without holes).
    Apply(Entry),
    /// Rebuild the state machine from durable storage up to `zxid` (after a truncation or
    /// an installed snapshot).
    ResetState { zxid: Zxid },
    /// Serving starts (`Some`) or stops (`None`): clients must be dropped on `None`.
    Serving(Option<Serving>),
    /// Leader: a learner forwarded a client request.
    Request { from: Sid, data: Bytes },
    /// The sync barrier `token` is passed.
    SyncDone { token: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Time passed (the driver calls this every tickTime/2 or more often).
    Tick,
    Notification {
        from: Sid,
        note: Notification,
    },
    Peer {
        from: Sid,
        msg: PeerMsg,
    },
    /// A peer connection to the leader we asked for is open.
    Connected {
        peer: Sid,
    },
    /// The peer connection with `peer` is gone.
    Disconnected {
        peer: Sid,
    },
    /// The election channel to `peer` (re)opened: resend our vote if looking.
    ElectionConnected {
        peer: Sid,
    },
    /// Every store op up to `seq` is durable.
    Persisted {
        seq: u64,
    },
    /// Learner: forward a client request to the leader.
    Forward(Bytes),
    /// A sync barrier: [`Action::SyncDone`] once everything proposed before it is committed
    /// and applied here.
    Sync {
        token: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZabError {
    #[error("not the leader")]
    NotLeader,
    #[error("acceptedEpoch {accepted} is less than currentEpoch {current}")]
    EpochsInverted { accepted: u32, current: u32 },
    #[error("the recovered log tail is not contiguous at 0x{0:x}")]
    BadTail(Zxid),
    #[error("server {0} is not a voter of this ensemble")]
    NotAVoter(Sid),
}

/// The ensemble and the timing rules (zoo.cfg).
#[derive(Debug, Clone)]
pub struct ZabConfig {
    pub my_id: Sid,
    pub voters: BTreeSet<Sid>,
    pub observers: BTreeSet<Sid>,
    pub tick_ms: u64,
    /// Ticks to connect and sync to a leader.
    pub init_limit: u64,
    /// Ticks a learner may stay silent once synced.
    pub sync_limit: u64,
    /// How long a decided vote waits for a better one (FLE's finalizeWait).
    pub finalize_wait_ms: u64,
    /// The longest gap between resent notifications while looking.
    pub max_notification_interval_ms: u64,
    /// Committed txns kept in memory for DIFF syncs (`commitLogCount`).
    pub commit_log_count: usize,
}

impl ZabConfig {
    fn is_observer(&self) -> bool {
        self.observers.contains(&self.my_id)
    }

    fn all_peers(&self) -> impl Iterator<Item = Sid> + '_ {
        self.voters
            .iter()
            .chain(self.observers.iter())
            .copied()
            .filter(move |s| *s != self.my_id)
    }
}

/// What survived on disk, handed to [`ZabPeer::new`].
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    /// The last logged zxid; the state machine has applied everything up to it.
    pub last_zxid: Zxid,
    /// The last logged entries (ending at `last_zxid`), contiguous, for DIFF syncs.
    pub tail: Vec<Entry>,
    /// The zxid of the latest durable snapshot (0 without one): the log cannot be
    /// truncated below it.
    pub snapshot_zxid: Zxid,
}

/// The figures four-letter words report.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub learners: usize,
    pub synced_followers: usize,
    pub synced_observers: usize,
    pub pending_syncs: usize,
    pub last_proposal_size: i64,
    pub min_proposal_size: i64,
    pub max_proposal_size: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Election => "election",
            Phase::Discovery => "discovery",
            Phase::Synchronization => "synchronization",
            Phase::Broadcast => "broadcast",
        }
    }
}

struct Election {
    vote: Vote,
    /// Votes of LOOKING voters in this round.
    received: BTreeMap<Sid, Vote>,
    /// Notifications of FOLLOWING / LEADING servers.
    out_of_election: BTreeMap<Sid, Notification>,
    /// A quorum agrees with our vote: decide then unless a better vote arrives.
    decide_at: Option<u64>,
    next_resend: u64,
    interval: u64,
    /// Learners that connected before we knew we lead: their FOLLOWERINFO / OBSERVERINFO.
    early: BTreeMap<Sid, PeerMsg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandleStage {
    /// FOLLOWERINFO in; LEADERINFO sent (or waiting for the epoch).
    Info,
    /// ACKEPOCH in: waiting for the epoch quorum and the leader's currentEpoch.
    EpochAcked {
        last_zxid: Zxid,
        snapshot_zxid: Zxid,
    },
    /// Sync content and NEWLEADER sent; `sync_end` is the last zxid in it.
    Syncing { sync_end: Zxid },
    /// NEWLEADER acknowledged.
    Synced,
}

struct Handle {
    observer: bool,
    stage: HandleStage,
    /// Highest zxid acknowledged as durable.
    acked: Zxid,
    last_heard: u64,
}

struct Leading {
    phase: Phase,
    /// acceptedEpoch of each voter that sent FOLLOWERINFO (self included) until the epoch is
    /// chosen.
    connecting: BTreeMap<Sid, u32>,
    epoch: Option<u32>,
    /// The store of acceptedEpoch = `epoch`, until durable.
    epoch_seq: Option<u64>,
    /// acceptedEpoch is durable: LEADERINFO may go out.
    epoch_ready: bool,
    epoch_acked: BTreeSet<Sid>,
    /// The store of currentEpoch = `epoch`, until durable.
    current_seq: Option<u64>,
    current_epoch_ready: bool,
    /// Our (currentEpoch, last zxid) when elected: a learner whose history is more recent
    /// means we must not lead.
    summary: (u32, Zxid),
    newleader_acked: BTreeSet<Sid>,
    established: bool,
    learners: BTreeMap<Sid, Handle>,
    deadline: u64,
    /// Sync barriers: (zxid to commit, origin learner or local, token).
    syncs: VecDeque<(Zxid, Option<Sid>, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LearnerStage {
    Connecting,
    AwaitLeaderInfo,
    /// ACKEPOCH sent; sync content arriving.
    Syncing,
    /// NEWLEADER acknowledged; waiting for UPTODATE.
    AwaitUpToDate,
    Broadcast,
}

struct Learning {
    leader: Sid,
    observer: bool,
    stage: LearnerStage,
    epoch: Option<u32>,
    /// COMMITs seen before UPTODATE.
    pending_commit: Zxid,
    deadline: u64,
    last_heard: u64,
}

enum Role {
    Looking(Election),
    Leading(Box<Leading>),
    Learning(Learning),
}

/// The peer.
pub struct ZabPeer {
    config: ZabConfig,
    accepted_epoch: u32,
    current_epoch: u32,
    /// The last zxid handed to the log (durable or not).
    last_zxid: Zxid,
    /// The highest zxid known durable here.
    durable_zxid: Zxid,
    /// Applied to the state machine.
    applied: Zxid,
    committed: Zxid,
    /// Logged entries: every entry after `applied`, and up to `commit_log_count` before it.
    window: VecDeque<Entry>,
    /// The zxid right before the window's first entry.
    window_base: Zxid,
    /// The zxid of the latest snapshot handed to storage: a TRUNC below it is impossible
    /// (the txns before it exist only inside the snapshot), so leaders learn it in ACKEPOCH.
    snapshot_zxid: Zxid,
    /// The election round (logicalclock).
    round: u64,
    role: Role,
    next_seq: u64,
    persisted_seq: u64,
    /// Store seqs not yet durable and the last zxid each makes durable.
    unpersisted: VecDeque<(u64, Zxid)>,
    /// Actions waiting for a store seq to be durable; everything after the first waits too.
    deferred: VecDeque<(u64, Action)>,
    out: Vec<Action>,
    now: u64,
    /// Leader's serving epoch when established (for `Serving`).
    serving: Option<Serving>,
    status: Status,
}

impl ZabPeer {
    pub fn new(config: ZabConfig, recovered: Recovered, now: u64) -> Result<ZabPeer, ZabError> {
        if !config.voters.contains(&config.my_id) && !config.observers.contains(&config.my_id) {
            return Err(ZabError::NotAVoter(config.my_id));
        }
        if recovered.accepted_epoch < recovered.current_epoch {
            return Err(ZabError::EpochsInverted {
                accepted: recovered.accepted_epoch,
                current: recovered.current_epoch,
            });
        }
        // The log may end in a later epoch than currentEpoch: sync content is logged before
        // NEWLEADER moves currentEpoch, and a crash can fall between the two. The vote then
        // undervalues this server, which is safe: it acknowledged nothing of that epoch.
        let mut window: VecDeque<Entry> = recovered.tail.into_iter().collect();
        while window.len() > config.commit_log_count.max(1) {
            window.pop_front();
        }
        for pair in window.iter().collect::<Vec<_>>().windows(2) {
            if !follows(pair[0].zxid, pair[1].zxid) {
                return Err(ZabError::BadTail(pair[1].zxid));
            }
        }
        if let Some(last) = window.back()
            && last.zxid != recovered.last_zxid
        {
            return Err(ZabError::BadTail(last.zxid));
        }
        let window_base = match window.front() {
            Some(first) if first.zxid <= 0 || zxid_counter(first.zxid) == 0 => {
                return Err(ZabError::BadTail(first.zxid));
            }
            Some(first) => first.zxid - 1,
            None => recovered.last_zxid,
        };
        let mut peer = ZabPeer {
            config,
            accepted_epoch: recovered.accepted_epoch,
            current_epoch: recovered.current_epoch,
            last_zxid: recovered.last_zxid,
            durable_zxid: recovered.last_zxid,
            applied: recovered.last_zxid,
            committed: 0,
            window,
            window_base,
            snapshot_zxid: recovered.snapshot_zxid,
            round: 0,
            role: Role::Looking(Election {
                vote: Vote {
                    leader: 0,
                    zxid: 0,
                    peer_epoch: 0,
                },
                received: BTreeMap::new(),
                out_of_election: BTreeMap::new(),
                decide_at: None,
                next_resend: 0,
                interval: 0,
                early: BTreeMap::new(),
            }),
            next_seq: 0,
            persisted_seq: 0,
            unpersisted: VecDeque::new(),
            deferred: VecDeque::new(),
            out: Vec::new(),
            now,
            serving: None,
            status: Status {
                last_proposal_size: -1,
                min_proposal_size: -1,
                max_proposal_size: -1,
                ..Status::default()
            },
        };
        peer.start_looking();
        Ok(peer)
    }

    pub fn my_id(&self) -> Sid {
        self.config.my_id
    }

    pub fn state(&self) -> ServerState {
        match &self.role {
            Role::Looking(_) => ServerState::Looking,
            Role::Leading(_) => ServerState::Leading,
            Role::Learning(l) if l.observer => ServerState::Observing,
            Role::Learning(_) => ServerState::Following,
        }
    }

    pub fn phase(&self) -> Phase {
        match &self.role {
            Role::Looking(_) => Phase::Election,
            Role::Leading(l) => l.phase,
            Role::Learning(l) => match l.stage {
                LearnerStage::Connecting | LearnerStage::AwaitLeaderInfo => Phase::Discovery,
                LearnerStage::Syncing | LearnerStage::AwaitUpToDate => Phase::Synchronization,
                LearnerStage::Broadcast => Phase::Broadcast,
            },
        }
    }

    /// The leader this server follows or is, once known.
    pub fn leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Looking(_) => None,
            Role::Leading(_) => Some(self.config.my_id),
            Role::Learning(l) => Some(l.leader),
        }
    }

    pub fn serving(&self) -> Option<Serving> {
        self.serving
    }

    pub fn accepted_epoch(&self) -> u32 {
        self.accepted_epoch
    }

    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }

    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    pub fn committed(&self) -> Zxid {
        self.committed
    }

    pub fn applied(&self) -> Zxid {
        self.applied
    }

    /// Leader figures for `mntr` (zeros elsewhere).
    pub fn status(&self) -> Status {
        let mut s = self.status.clone();
        if let Role::Leading(l) = &self.role {
            s.learners = l.learners.len();
            s.synced_followers = l
                .learners
                .values()
                .filter(|h| !h.observer && h.stage == HandleStage::Synced)
                .count();
            s.synced_observers = l
                .learners
                .values()
                .filter(|h| h.observer && h.stage == HandleStage::Synced)
                .count();
            s.pending_syncs = l.syncs.len();
        }
        s
    }

    pub fn step(&mut self, now: u64, input: Input) {
        self.now = now;
        match input {
            Input::Tick => self.tick(),
            Input::Notification { from, note } => self.on_notification(from, note),
            Input::ElectionConnected { peer } => {
                if let Role::Looking(e) = &self.role {
                    let note = Notification {
                        state: ServerState::Looking,
                        vote: e.vote,
                        round: self.round,
                    };
                    self.emit(Action::Elect { to: peer, note });
                }
            }
            Input::Peer { from, msg } => self.on_peer(from, msg),
            Input::Connected { peer } => self.on_connected(peer),
            Input::Disconnected { peer } => self.on_disconnected(peer),
            Input::Persisted { seq } => self.on_persisted(seq),
            Input::Forward(data) => {
                if let Role::Learning(l) = &self.role
                    && l.stage == LearnerStage::Broadcast
                {
                    let leader = l.leader;
                    self.send(leader, PeerMsg::Request(data));
                }
            }
            Input::Sync { token } => match &mut self.role {
                Role::Leading(l) if l.established => {
                    l.syncs.push_back((self.last_zxid, None, token));
                    self.release_syncs();
                }
                Role::Learning(l) if l.stage == LearnerStage::Broadcast => {
                    let leader = l.leader;
                    self.send(leader, PeerMsg::Sync { token });
                }
                _ => {}
            },
        }
    }

    fn on_connected(&mut self, peer: Sid) {
        let accepted_epoch = self.accepted_epoch;
        let my_id = self.config.my_id;
        let now = self.now;
        if let Role::Learning(l) = &mut self.role
            && l.leader == peer
            && l.stage == LearnerStage::Connecting
        {
            l.stage = LearnerStage::AwaitLeaderInfo;
            l.last_heard = now;
            let msg = if l.observer {
                PeerMsg::ObserverInfo {
                    sid: my_id,
                    accepted_epoch,
                }
            } else {
                PeerMsg::FollowerInfo {
                    sid: my_id,
                    accepted_epoch,
                }
            };
            self.send(peer, msg);
        }
    }

    fn on_disconnected(&mut self, peer: Sid) {
        match &mut self.role {
            Role::Looking(e) => {
                e.early.remove(&peer);
            }
            Role::Leading(l) => {
                if l.learners.remove(&peer).is_some() {
                    tracing::info!(sid = self.config.my_id, "learner {peer} disconnected");
                }
                if !l.established {
                    l.connecting.remove(&peer);
                }
            }
            Role::Learning(l) if l.leader == peer && l.stage == LearnerStage::AwaitLeaderInfo => {
                // The leader may not have known it leads yet: try again until initLimit.
                l.stage = LearnerStage::Connecting;
                self.emit(Action::ConnectLeader { leader: peer });
            }
            Role::Learning(l) if l.leader == peer && l.stage != LearnerStage::Connecting => {
                tracing::info!(
                    sid = self.config.my_id,
                    "lost the connection to leader {peer}: looking again"
                );
                self.start_looking();
            }
            Role::Learning(_) => {}
        }
    }

    // ----- learner -----------------------------------------------------------------------

    fn on_peer(&mut self, from: Sid, msg: PeerMsg) {
        match &mut self.role {
            Role::Leading(_) => self.leader_on_peer(from, msg),
            Role::Learning(_) => self.learner_on_peer(from, msg),
            Role::Looking(e) => {
                // A learner that decided before us: keep its hello until we know.
                if matches!(
                    msg,
                    PeerMsg::FollowerInfo { .. } | PeerMsg::ObserverInfo { .. }
                ) {
                    e.early.insert(from, msg);
                }
            }
        }
    }

    // ----- time ----------------------------------------------------------------------------

    fn tick(&mut self) {
        let now = self.now;
        let tick = self.config.tick_ms;
        match &mut self.role {
            Role::Looking(e) => {
                if let Some(at) = e.decide_at
                    && now >= at
                {
                    let leader = e.vote.leader;
                    self.decide(leader);
                    return;
                }
                if now >= e.next_resend {
                    e.interval = (e.interval * 2).min(self.config.max_notification_interval_ms);
                    e.next_resend = now + e.interval;
                    self.broadcast_vote();
                }
            }
            Role::Leading(l) => {
                if !l.established {
                    if now >= l.deadline {
                        tracing::warn!(
                            sid = self.config.my_id,
                            "Timeout while waiting for a quorum of followers to sync: looking again"
                        );
                        self.start_looking();
                    }
                    return;
                }
                let limit = self.config.sync_limit * tick;
                let init = self.config.init_limit * tick;
                let mut dropped = Vec::new();
                for (sid, h) in &l.learners {
                    let allowed = if h.stage == HandleStage::Synced {
                        limit
                    } else {
                        init
                    };
                    if now.saturating_sub(h.last_heard) > allowed {
                        dropped.push(*sid);
                    }
                }
                for sid in &dropped {
                    l.learners.remove(sid);
                }
                let synced = 1 + l
                    .learners
                    .iter()
                    .filter(|(s, h)| {
                        self.config.voters.contains(s) && h.stage == HandleStage::Synced
                    })
                    .count();
                let pings: Vec<Sid> = l.learners.keys().copied().collect();
                for sid in dropped {
                    tracing::warn!(sid = self.config.my_id, "learner {sid} went silent");
                    self.emit(Action::Disconnect { peer: sid });
                }
                if synced < crate::majority::majority(self.config.voters.len()) {
                    tracing::warn!(
                        sid = self.config.my_id,
                        "Not sufficient followers synced, only synced with {synced} of {}: looking again",
                        self.config.voters.len()
                    );
                    self.start_looking();
                    return;
                }
                for sid in pings {
                    self.send(sid, PeerMsg::Ping);
                }
            }
            Role::Learning(l) => {
                let silent = now.saturating_sub(l.last_heard);
                let expired = match l.stage {
                    LearnerStage::Broadcast => silent > self.config.sync_limit * tick,
                    _ => now >= l.deadline || silent > self.config.init_limit * tick,
                };
                if expired {
                    let why = format!(
                        "no word from leader {} for {silent} ms in {:?}",
                        l.leader, l.stage
                    );
                    self.learner_fail(why);
                }
            }
        }
    }
}
