//! The ZAB peer: FastLeaderElection, discovery, synchronization and broadcast as one sans-IO
//! state machine (`ZabPeer`). Messages, the driver's clock and storage completions go in
//! ([`Input`], [`ZabPeer::propose`]); actions come out ([`Action`]): storage operations,
//! messages, entries to apply, role changes. No sockets, clocks or threads inside; the tokio
//! shell (`coord::quorum`) and the seeded simulator (`sim`, tests) drive it the same way.
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

pub mod wire;

#[cfg(test)]
mod sim;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::quorum::majority_reached;

pub type Sid = u64;
pub type Zxid = i64;

/// The highest epoch: a zxid of a higher one would be negative and order before every
/// other (zxids are signed longs in ZooKeeper too). The wire refuses higher epochs, and a
/// leader never proposes one.
pub const MAX_EPOCH: u32 = i32::MAX as u32;

pub fn zxid_epoch(zxid: Zxid) -> u32 {
    ((zxid as u64) >> 32) as u32
}

pub fn zxid_counter(zxid: Zxid) -> u32 {
    zxid as u64 as u32
}

pub fn make_zxid(epoch: u32, counter: u32) -> Zxid {
    ((u64::from(epoch) << 32) | u64::from(counter)) as i64
}

/// Whether `next` may come right after `prev` in one history: the next counter of the same
/// epoch, or the first txn of a later epoch.
pub fn follows(prev: Zxid, next: Zxid) -> bool {
    let (pe, pc) = (zxid_epoch(prev), zxid_counter(prev));
    let (ne, nc) = (zxid_epoch(next), zxid_counter(next));
    (ne == pe && pc != u32::MAX && nc == pc + 1) || (ne > pe && nc == 1)
}

/// `QuorumPeer.ServerState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

impl ServerState {
    /// mntr's `zk_peer_state` word.
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Looking => "looking",
            ServerState::Following => "following",
            ServerState::Leading => "leading",
            ServerState::Observing => "observing",
        }
    }
}

/// A vote: ordered by (peer epoch, zxid, server id), the higher winning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: Zxid,
    /// The voter's currentEpoch (of the proposed leader's history).
    pub peer_epoch: u32,
}

impl Vote {
    fn key(&self) -> (u32, Zxid, Sid) {
        (self.peer_epoch, self.zxid, self.leader)
    }
}

/// An election notification (FastLeaderElection's message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    pub state: ServerState,
    pub vote: Vote,
    /// The election round (`logicalclock`, a.k.a. electionEpoch).
    pub round: u64,
}

/// One logged txn: its zxid and the opaque bytes the state machine applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub zxid: Zxid,
    pub data: Bytes,
}

/// Messages on the peer (quorum) port, learner ↔ leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMsg {
    /// learner → leader, first on a connection: the highest epoch it accepted.
    FollowerInfo {
        sid: Sid,
        accepted_epoch: u32,
    },
    ObserverInfo {
        sid: Sid,
        accepted_epoch: u32,
    },
    /// leader → learner: the epoch it proposes.
    LeaderInfo {
        epoch: u32,
    },
    /// learner → leader: `current_epoch` is -1 when it had already accepted `epoch`.
    AckEpoch {
        epoch: u32,
        current_epoch: i64,
        last_zxid: Zxid,
        /// The zxid of the learner's latest snapshot: its log cannot be truncated below it,
        /// so a leader whose history parts from the learner's before it must send SNAP.
        snapshot_zxid: Zxid,
    },
    /// Sync by difference: the proposals that follow are the learner's missing txns.
    Diff {
        zxid: Zxid,
    },
    /// Truncate the log after `zxid` (then the difference follows).
    Trunc {
        zxid: Zxid,
    },
    /// The leader's state at `zxid` (state-machine bytes), then the difference.
    Snap {
        zxid: Zxid,
        data: Bytes,
    },
    Proposal(Entry),
    /// End of the sync content; zxid = (new epoch, 0).
    NewLeader {
        zxid: Zxid,
    },
    /// Everything up to `zxid` is durable here (or the NEWLEADER ack, zxid = (epoch, 0)).
    Ack {
        zxid: Zxid,
    },
    /// Everything up to `zxid` is committed.
    Commit {
        zxid: Zxid,
    },
    /// Start serving; `committed` is the leader's commit point.
    UpToDate {
        committed: Zxid,
    },
    /// A committed txn, to an observer.
    Inform(Entry),
    Ping,
    /// learner → leader: a client request for the leader's request processor.
    Request(Bytes),
    /// learner → leader: answer `SyncReply` once everything proposed so far is committed.
    Sync {
        token: u64,
    },
    SyncReply {
        token: u64,
    },
}

impl PeerMsg {
    pub fn name(&self) -> &'static str {
        match self {
            PeerMsg::FollowerInfo { .. } => "FOLLOWERINFO",
            PeerMsg::ObserverInfo { .. } => "OBSERVERINFO",
            PeerMsg::LeaderInfo { .. } => "LEADERINFO",
            PeerMsg::AckEpoch { .. } => "ACKEPOCH",
            PeerMsg::Diff { .. } => "DIFF",
            PeerMsg::Trunc { .. } => "TRUNC",
            PeerMsg::Snap { .. } => "SNAP",
            PeerMsg::Proposal(_) => "PROPOSAL",
            PeerMsg::NewLeader { .. } => "NEWLEADER",
            PeerMsg::Ack { .. } => "ACK",
            PeerMsg::Commit { .. } => "COMMIT",
            PeerMsg::UpToDate { .. } => "UPTODATE",
            PeerMsg::Inform(_) => "INFORM",
            PeerMsg::Ping => "PING",
            PeerMsg::Request(_) => "REQUEST",
            PeerMsg::Sync { .. } => "SYNC",
            PeerMsg::SyncReply { .. } => "SYNC",
        }
    }
}

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

    /// Everything produced since the last call, in the order it must take effect.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    fn emit(&mut self, action: Action) {
        if self.deferred.is_empty() {
            self.out.push(action);
        } else {
            let seq = self.deferred.back().map_or(0, |(s, _)| *s);
            self.deferred.push_back((seq, action));
        }
    }

    /// Emits `action` once every store issued so far is durable.
    fn emit_after_persist(&mut self, action: Action) {
        let seq = self.next_seq;
        if seq <= self.persisted_seq {
            self.emit(action);
        } else {
            self.deferred.push_back((seq, action));
        }
    }

    fn store(&mut self, op: StoreOp) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let zxid = match &op {
            StoreOp::Append(e) => e.zxid,
            StoreOp::Truncate(z) | StoreOp::Snapshot { zxid: z, .. } => *z,
            _ => self.last_zxid,
        };
        self.unpersisted.push_back((seq, zxid));
        self.out.push(Action::Store { seq, op });
        seq
    }

    fn send(&mut self, to: Sid, msg: PeerMsg) {
        self.emit(Action::Send { to, msg });
    }

    fn send_after_persist(&mut self, to: Sid, msg: PeerMsg) {
        self.emit_after_persist(Action::Send { to, msg });
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

    fn on_persisted(&mut self, seq: u64) {
        if seq <= self.persisted_seq {
            return;
        }
        self.persisted_seq = seq;
        while let Some((s, zxid)) = self.unpersisted.front().copied() {
            if s > seq {
                break;
            }
            self.unpersisted.pop_front();
            self.durable_zxid = zxid;
        }
        // Release deferred actions in order; coalesce consecutive ACKs to the last.
        let mut released = Vec::new();
        while let Some((s, _)) = self.deferred.front() {
            if *s > seq {
                break;
            }
            let (_, action) = self.deferred.pop_front().expect("front");
            released.push(action);
        }
        let mut i = 0;
        while i < released.len() {
            let skip = matches!(
                (&released[i], released.get(i + 1)),
                (Action::Send { to: a, msg: PeerMsg::Ack { zxid: z1 } }, Some(Action::Send { to: b, msg: PeerMsg::Ack { zxid: z2 } }))
                    if a == b && zxid_counter(*z1) != 0 && zxid_counter(*z2) != 0
            );
            if !skip {
                self.out.push(released[i].clone());
            }
            i += 1;
        }
        let (epoch_done, current_done) = match &mut self.role {
            Role::Leading(l) => {
                let e = l.epoch_seq.is_some_and(|s| s <= seq);
                let c = l.current_seq.is_some_and(|s| s <= seq);
                if e {
                    l.epoch_seq = None;
                }
                if c {
                    l.current_seq = None;
                }
                (e, c)
            }
            _ => (false, false),
        };
        if epoch_done {
            self.leader_epoch_persisted();
        }
        if current_done {
            self.leader_current_epoch_persisted();
        }
        if let Role::Leading(l) = &self.role
            && l.established
        {
            self.advance_commit();
        }
    }

    // ----- election -------------------------------------------------------------------

    fn self_vote(&self) -> Vote {
        Vote {
            leader: if self.config.is_observer() {
                0
            } else {
                self.config.my_id
            },
            zxid: self.last_zxid,
            peer_epoch: self.current_epoch,
        }
    }

    fn start_looking(&mut self) {
        self.leave_role();
        self.round += 1;
        let vote = self.self_vote();
        let mut received = BTreeMap::new();
        if !self.config.is_observer() {
            received.insert(self.config.my_id, vote);
        }
        tracing::info!(
            sid = self.config.my_id,
            round = self.round,
            "LOOKING: voting for {} (zxid 0x{:x}, epoch {})",
            vote.leader,
            vote.zxid,
            vote.peer_epoch
        );
        let interval = self.config.finalize_wait_ms.max(1);
        self.role = Role::Looking(Election {
            vote,
            received,
            out_of_election: BTreeMap::new(),
            decide_at: None,
            next_resend: self.now + interval,
            interval,
            early: BTreeMap::new(),
        });
        self.broadcast_vote();
        self.check_decision();
    }

    fn broadcast_vote(&mut self) {
        let Role::Looking(e) = &self.role else {
            return;
        };
        let note = Notification {
            state: ServerState::Looking,
            vote: e.vote,
            round: self.round,
        };
        let peers: Vec<Sid> = self.config.all_peers().collect();
        for to in peers {
            self.emit(Action::Elect { to, note });
        }
    }

    /// Our notification as a server that is not looking (the answer to a looking peer).
    fn current_notification(&self) -> Notification {
        let leader = self.leader().unwrap_or(0);
        Notification {
            state: self.state(),
            vote: Vote {
                leader,
                zxid: self.last_zxid,
                peer_epoch: self.current_epoch,
            },
            round: self.round,
        }
    }

    fn on_notification(&mut self, from: Sid, note: Notification) {
        let known = self.config.voters.contains(&from) || self.config.observers.contains(&from);
        if !known || from == self.config.my_id {
            return;
        }
        let from_voter = self.config.voters.contains(&from);
        let observer = self.config.is_observer();
        if !matches!(self.role, Role::Looking(_)) {
            if note.state == ServerState::Looking {
                let reply = self.current_notification();
                self.emit(Action::Elect {
                    to: from,
                    note: reply,
                });
            }
            return;
        }
        let my_id = self.config.my_id;
        let round = self.round;
        let initial = self.self_vote();
        match note.state {
            ServerState::Looking => {
                if !from_voter || observer {
                    if note.round < round || observer {
                        // Let it catch up (and let an observer learn nothing new).
                    }
                    return;
                }
                if !self.config.voters.contains(&note.vote.leader) {
                    return;
                }
                let Role::Looking(e) = &mut self.role else {
                    return;
                };
                let mut changed = false;
                if note.round > round {
                    self.round = note.round;
                    e.received.clear();
                    e.vote = if note.vote.key() > initial.key() {
                        note.vote
                    } else {
                        initial
                    };
                    changed = true;
                } else if note.round < round {
                    let reply = Notification {
                        state: ServerState::Looking,
                        vote: e.vote,
                        round,
                    };
                    self.emit(Action::Elect {
                        to: from,
                        note: reply,
                    });
                    return;
                } else if note.vote.key() > e.vote.key() {
                    e.vote = note.vote;
                    changed = true;
                }
                e.received.insert(from, note.vote);
                let vote = e.vote;
                e.received.insert(my_id, vote);
                if changed {
                    e.decide_at = None;
                    self.broadcast_vote();
                }
                self.check_decision();
            }
            ServerState::Following | ServerState::Leading => {
                if !from_voter {
                    return;
                }
                let Role::Looking(e) = &mut self.role else {
                    return;
                };
                e.out_of_election.insert(from, note);
                let leader = note.vote.leader;
                let agreeing = e
                    .out_of_election
                    .iter()
                    .filter(|(s, n)| {
                        self.config.voters.contains(s)
                            && n.vote.leader == leader
                            && n.vote.peer_epoch == note.vote.peer_epoch
                    })
                    .count();
                let leader_leads = e
                    .out_of_election
                    .get(&leader)
                    .is_some_and(|n| n.state == ServerState::Leading);
                if leader != my_id
                    && leader_leads
                    && agreeing >= crate::quorum::majority(self.config.voters.len())
                {
                    self.round = self.round.max(note.round);
                    tracing::info!(
                        sid = my_id,
                        "joining the established ensemble led by {leader} (epoch {})",
                        note.vote.peer_epoch
                    );
                    self.decide(leader);
                }
            }
            ServerState::Observing => {}
        }
    }

    fn check_decision(&mut self) {
        let majority = crate::quorum::majority(self.config.voters.len());
        let now = self.now;
        let wait = self.config.finalize_wait_ms;
        let Role::Looking(e) = &mut self.role else {
            return;
        };
        if self.config.observers.contains(&self.config.my_id) {
            return;
        }
        let agree = e
            .received
            .iter()
            .filter(|(s, v)| self.config.voters.contains(s) && **v == e.vote)
            .count();
        if agree >= majority {
            if e.decide_at.is_none() {
                e.decide_at = Some(now + wait);
            }
        } else {
            e.decide_at = None;
        }
    }

    fn decide(&mut self, leader: Sid) {
        let early = match &mut self.role {
            Role::Looking(e) => std::mem::take(&mut e.early),
            _ => BTreeMap::new(),
        };
        if leader == self.config.my_id {
            self.become_leader();
            for (from, msg) in early {
                self.leader_on_peer(from, msg);
            }
        } else {
            for peer in early.into_keys() {
                self.emit(Action::Disconnect { peer });
            }
            self.become_learner(leader);
        }
    }

    fn leave_role(&mut self) {
        if self.serving.take().is_some() {
            self.emit(Action::Serving(None));
        }
        match &self.role {
            Role::Leading(l) => {
                let peers: Vec<Sid> = l.learners.keys().copied().collect();
                for peer in peers {
                    self.emit(Action::Disconnect { peer });
                }
            }
            Role::Learning(l) => {
                let peer = l.leader;
                self.emit(Action::Disconnect { peer });
            }
            Role::Looking(_) => {}
        }
        // Messages for the old role's connections are moot; state resets are not.
        self.deferred
            .retain(|(_, a)| !matches!(a, Action::Send { .. } | Action::SendSnapshot { .. }));
    }

    // ----- leader ------------------------------------------------------------------------

    fn become_leader(&mut self) {
        tracing::info!(
            sid = self.config.my_id,
            "LEADING (round {}, last zxid 0x{:x}, acceptedEpoch {}, currentEpoch {})",
            self.round,
            self.last_zxid,
            self.accepted_epoch,
            self.current_epoch
        );
        self.leave_role();
        let mut connecting = BTreeMap::new();
        connecting.insert(self.config.my_id, self.accepted_epoch);
        self.role = Role::Leading(Box::new(Leading {
            phase: Phase::Discovery,
            connecting,
            epoch: None,
            epoch_seq: None,
            epoch_ready: false,
            epoch_acked: BTreeSet::new(),
            current_seq: None,
            current_epoch_ready: false,
            summary: (self.current_epoch, self.last_zxid),
            newleader_acked: BTreeSet::new(),
            established: false,
            learners: BTreeMap::new(),
            deadline: self.now + self.config.init_limit * self.config.tick_ms,
            syncs: VecDeque::new(),
        }));
        self.maybe_choose_epoch();
    }

    fn maybe_choose_epoch(&mut self) {
        let majority = crate::quorum::majority(self.config.voters.len());
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if l.epoch.is_some() || l.connecting.len() < majority {
            return;
        }
        let highest = l.connecting.values().copied().max().unwrap_or(0);
        let Some(epoch) = highest.checked_add(1).filter(|e| *e <= MAX_EPOCH) else {
            // Nothing to propose: initLimit ends this attempt.
            tracing::error!(
                sid = self.config.my_id,
                "no epoch above acceptedEpoch {highest} to propose"
            );
            return;
        };
        l.epoch = Some(epoch);
        tracing::info!(
            sid = self.config.my_id,
            "proposing epoch {epoch}: acceptedEpoch {} -> {epoch}",
            self.accepted_epoch
        );
        self.accepted_epoch = epoch;
        let seq = self.store(StoreOp::AcceptedEpoch(epoch));
        if let Role::Leading(l) = &mut self.role {
            l.epoch_seq = Some(seq);
        }
    }

    /// acceptedEpoch is durable: LEADERINFO may go out.
    fn leader_epoch_persisted(&mut self) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        l.epoch_ready = true;
        let epoch = l.epoch.expect("epoch chosen");
        l.epoch_acked.insert(self.config.my_id);
        let waiting: Vec<Sid> = l
            .learners
            .iter()
            .filter(|(_, h)| h.stage == HandleStage::Info)
            .map(|(s, _)| *s)
            .collect();
        for sid in waiting {
            self.send(sid, PeerMsg::LeaderInfo { epoch });
        }
        self.maybe_persist_current_epoch();
    }

    fn maybe_persist_current_epoch(&mut self) {
        let majority = crate::quorum::majority(self.config.voters.len());
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if !l.epoch_ready
            || l.current_epoch_ready
            || l.current_seq.is_some()
            || l.epoch_acked.len() < majority
        {
            return;
        }
        let epoch = l.epoch.expect("epoch chosen");
        tracing::info!(
            sid = self.config.my_id,
            "epoch {epoch} acknowledged by a quorum: currentEpoch {} -> {epoch}",
            self.current_epoch
        );
        self.current_epoch = epoch;
        let seq = self.store(StoreOp::CurrentEpoch(epoch));
        if let Role::Leading(l) = &mut self.role {
            l.current_seq = Some(seq);
        }
    }

    /// currentEpoch is durable: sync every learner that acknowledged the epoch.
    fn leader_current_epoch_persisted(&mut self) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        l.current_epoch_ready = true;
        l.phase = Phase::Synchronization;
        l.newleader_acked.insert(self.config.my_id);
        let ready: Vec<(Sid, Zxid, Zxid)> = l
            .learners
            .iter()
            .filter_map(|(s, h)| match h.stage {
                HandleStage::EpochAcked {
                    last_zxid,
                    snapshot_zxid,
                } => Some((*s, last_zxid, snapshot_zxid)),
                _ => None,
            })
            .collect();
        for (sid, last, snapshot) in ready {
            self.sync_learner(sid, last, snapshot);
        }
        self.maybe_establish();
    }

    /// Sends `sid` what it lacks of our history, then NEWLEADER. `peer_snapshot` is the
    /// learner's latest snapshot: a TRUNC below it could not be carried out.
    fn sync_learner(&mut self, sid: Sid, peer_last: Zxid, peer_snapshot: Zxid) {
        let Role::Leading(l) = &self.role else {
            return;
        };
        let epoch = l.epoch.expect("epoch chosen");
        let observer = l.learners.get(&sid).is_some_and(|h| h.observer);
        // An observer only ever holds committed txns: later ones reach it as INFORM.
        let limit = if observer && l.established {
            self.committed
        } else {
            self.last_zxid
        };
        let in_window = |z: Zxid| z == self.window_base || self.window.iter().any(|e| e.zxid == z);
        let snap = || {
            (
                PeerMsg::Snap {
                    zxid: self.applied,
                    data: Bytes::new(),
                },
                self.applied,
            )
        };
        let (first, from) = if peer_last == limit {
            (PeerMsg::Diff { zxid: limit }, peer_last)
        } else if peer_last > limit {
            (PeerMsg::Trunc { zxid: limit }, limit)
        } else if in_window(peer_last) {
            (PeerMsg::Diff { zxid: limit }, peer_last)
        } else if peer_last < self.window_base || self.applied < self.window_base {
            snap()
        } else {
            let common = self
                .window
                .iter()
                .map(|e| e.zxid)
                .filter(|z| *z < peer_last)
                .max()
                .unwrap_or(self.window_base);
            (PeerMsg::Trunc { zxid: common }, common)
        };
        // A snapshot from a leader that never established its epoch can hold txns no later
        // leader has (ZOOKEEPER-1549): the learner cannot cut them out of it, so it gets
        // ours whole instead.
        let (first, from) = match first {
            PeerMsg::Trunc { zxid } if zxid < peer_snapshot => snap(),
            other => (other, from),
        };
        tracing::info!(
            sid = self.config.my_id,
            learner = sid,
            "Synchronizing with learner {sid}: {} (learner at 0x{peer_last:x}, leader at 0x{limit:x})",
            first.name()
        );
        match first {
            PeerMsg::Snap { zxid, .. } => self.emit(Action::SendSnapshot { to: sid, zxid }),
            other => self.send(sid, other),
        }
        let entries: Vec<Entry> = self
            .window
            .iter()
            .filter(|e| e.zxid > from && e.zxid <= limit)
            .cloned()
            .collect();
        for e in entries {
            self.send(sid, PeerMsg::Proposal(e));
        }
        self.send(
            sid,
            PeerMsg::NewLeader {
                zxid: make_zxid(epoch, 0),
            },
        );
        if let Role::Leading(l) = &mut self.role
            && let Some(h) = l.learners.get_mut(&sid)
        {
            h.stage = HandleStage::Syncing { sync_end: limit };
        }
    }

    fn maybe_establish(&mut self) {
        let majority = crate::quorum::majority(self.config.voters.len());
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if l.established || !l.current_epoch_ready || l.newleader_acked.len() < majority {
            return;
        }
        let epoch = l.epoch.expect("epoch chosen");
        l.established = true;
        l.phase = Phase::Broadcast;
        tracing::info!(
            sid = self.config.my_id,
            "established as leader of epoch {epoch} with {:?}",
            l.newleader_acked
        );
        // Our whole history is now committed.
        self.commit_to(self.last_zxid);
        let committed = self.committed;
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let synced: Vec<Sid> = l
            .learners
            .iter()
            .filter(|(_, h)| h.stage == HandleStage::Synced)
            .map(|(s, _)| *s)
            .collect();
        for sid in synced {
            self.send(sid, PeerMsg::UpToDate { committed });
        }
        self.serving = Some(Serving::Leader { epoch });
        self.emit(Action::Serving(self.serving));
    }

    /// Proposes `data` as the next txn. Only an established leader proposes.
    pub fn propose(&mut self, data: Bytes) -> Result<Zxid, ZabError> {
        let Role::Leading(l) = &self.role else {
            return Err(ZabError::NotLeader);
        };
        if !l.established {
            return Err(ZabError::NotLeader);
        }
        if zxid_counter(self.last_zxid) == u32::MAX {
            // ZOOKEEPER-1277: a new epoch before the counter wraps.
            tracing::info!(
                sid = self.config.my_id,
                "zxid counter exhausted at 0x{:x}: forcing a new election",
                self.last_zxid
            );
            self.start_looking();
            return Err(ZabError::NotLeader);
        }
        let epoch = l.epoch.expect("an established leader has an epoch");
        let zxid = if zxid_epoch(self.last_zxid) < epoch {
            make_zxid(epoch, 1)
        } else {
            self.last_zxid + 1
        };
        let size = data.len() as i64;
        let s = &mut self.status;
        s.last_proposal_size = size;
        s.min_proposal_size = if s.min_proposal_size < 0 {
            size
        } else {
            s.min_proposal_size.min(size)
        };
        s.max_proposal_size = s.max_proposal_size.max(size);
        let entry = Entry { zxid, data };
        self.last_zxid = zxid;
        self.window.push_back(entry.clone());
        self.store(StoreOp::Append(entry.clone()));
        let Role::Leading(l) = &self.role else {
            return Err(ZabError::NotLeader);
        };
        let to: Vec<Sid> = l
            .learners
            .iter()
            .filter(|(_, h)| {
                !h.observer && matches!(h.stage, HandleStage::Syncing { .. } | HandleStage::Synced)
            })
            .map(|(s, _)| *s)
            .collect();
        for sid in to {
            self.send(sid, PeerMsg::Proposal(entry.clone()));
        }
        Ok(zxid)
    }

    fn advance_commit(&mut self) {
        let Role::Leading(l) = &self.role else {
            return;
        };
        if !l.established {
            return;
        }
        let mut acks: Vec<u64> = vec![self.durable_zxid as u64];
        for (sid, h) in &l.learners {
            if self.config.voters.contains(sid) && h.stage == HandleStage::Synced {
                acks.push(h.acked as u64);
            }
        }
        let Some(reached) = majority_reached(self.config.voters.len(), &acks) else {
            return;
        };
        let reached = (reached as Zxid).min(self.last_zxid);
        if reached > self.committed {
            let Role::Leading(l) = &self.role else {
                return;
            };
            let followers: Vec<Sid> = l
                .learners
                .iter()
                .filter(|(_, h)| {
                    !h.observer
                        && matches!(h.stage, HandleStage::Syncing { .. } | HandleStage::Synced)
                })
                .map(|(s, _)| *s)
                .collect();
            let observers: Vec<Sid> = l
                .learners
                .iter()
                .filter(|(_, h)| {
                    h.observer
                        && matches!(h.stage, HandleStage::Syncing { .. } | HandleStage::Synced)
                })
                .map(|(s, _)| *s)
                .collect();
            for sid in followers {
                self.send(sid, PeerMsg::Commit { zxid: reached });
            }
            if !observers.is_empty() {
                let entries: Vec<Entry> = self
                    .window
                    .iter()
                    .filter(|e| e.zxid > self.committed && e.zxid <= reached)
                    .cloned()
                    .collect();
                for sid in observers {
                    for e in &entries {
                        self.send(sid, PeerMsg::Inform(e.clone()));
                    }
                }
            }
            self.commit_to(reached);
        }
    }

    /// Applies our entries up to `zxid` (all committed) and passes sync barriers.
    fn commit_to(&mut self, zxid: Zxid) {
        if zxid > self.committed {
            self.committed = zxid;
        }
        let upto = self.committed.min(self.last_zxid);
        let entries: Vec<Entry> = self
            .window
            .iter()
            .filter(|e| e.zxid > self.applied && e.zxid <= upto)
            .cloned()
            .collect();
        for e in entries {
            self.applied = e.zxid;
            self.emit(Action::Apply(e));
        }
        self.trim_window();
        self.release_syncs();
    }

    fn trim_window(&mut self) {
        while self.window.len() > self.config.commit_log_count.max(1) {
            match self.window.front() {
                Some(e) if e.zxid <= self.applied => {
                    self.window_base = e.zxid;
                    self.window.pop_front();
                }
                _ => break,
            }
        }
    }

    fn release_syncs(&mut self) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let mut done = Vec::new();
        while let Some((zxid, _, _)) = l.syncs.front() {
            if *zxid > self.applied {
                break;
            }
            let (_, origin, token) = l.syncs.pop_front().expect("front");
            done.push((origin, token));
        }
        for (origin, token) in done {
            match origin {
                None => self.emit(Action::SyncDone { token }),
                Some(sid) => self.send(sid, PeerMsg::SyncReply { token }),
            }
        }
    }

    fn leader_on_peer(&mut self, from: Sid, msg: PeerMsg) {
        let now = self.now;
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if let Some(h) = l.learners.get_mut(&from) {
            h.last_heard = now;
        }
        match msg {
            PeerMsg::FollowerInfo {
                sid,
                accepted_epoch,
            }
            | PeerMsg::ObserverInfo {
                sid,
                accepted_epoch,
            } => {
                let observer = matches!(msg, PeerMsg::ObserverInfo { .. });
                if sid != from || observer != self.config.observers.contains(&from) {
                    tracing::warn!(
                        sid = self.config.my_id,
                        "refusing learner {from}: it announced itself as {} {sid}",
                        if observer { "observer" } else { "follower" }
                    );
                    self.emit(Action::Disconnect { peer: from });
                    return;
                }
                let Role::Leading(l) = &mut self.role else {
                    return;
                };
                if let Some(epoch) = l.epoch
                    && !observer
                    && accepted_epoch > epoch
                {
                    // It promised a later leader never to follow an earlier epoch, and it
                    // keeps that promise (ZooKeeper's learner throws "Leaders epoch ... is
                    // less than accepted epoch"): only a new election can bring it back,
                    // and its acceptedEpoch will make that election's epoch higher.
                    tracing::warn!(
                        sid = self.config.my_id,
                        "Follower {from} accepted epoch {accepted_epoch}, above our epoch {epoch}: it can never follow us; looking again"
                    );
                    self.start_looking();
                    return;
                }
                l.learners.insert(
                    from,
                    Handle {
                        observer,
                        stage: HandleStage::Info,
                        acked: 0,
                        last_heard: now,
                    },
                );
                if !observer && l.epoch.is_none() {
                    l.connecting.insert(from, accepted_epoch);
                }
                if l.epoch_ready {
                    let epoch = l.epoch.expect("epoch chosen");
                    self.send(from, PeerMsg::LeaderInfo { epoch });
                } else {
                    self.maybe_choose_epoch();
                }
            }
            PeerMsg::AckEpoch {
                epoch,
                current_epoch,
                last_zxid,
                snapshot_zxid,
            } => {
                let my_epoch = l.epoch;
                let Some(h) = l.learners.get_mut(&from) else {
                    return;
                };
                if Some(epoch) != my_epoch || h.stage != HandleStage::Info {
                    tracing::warn!(
                        sid = self.config.my_id,
                        "dropping learner {from}: ACKEPOCH for epoch {epoch}, expected {my_epoch:?}"
                    );
                    l.learners.remove(&from);
                    self.emit(Action::Disconnect { peer: from });
                    return;
                }
                h.stage = HandleStage::EpochAcked {
                    last_zxid,
                    snapshot_zxid,
                };
                let observer = h.observer;
                // Like Leader.waitForEpochAck, only the acks that make up the epoch quorum
                // are compared with our state at election: once that quorum stands (it
                // intersects every earlier commit quorum) a late follower's longer history
                // is not committed, and sync truncates it.
                let quorum_formed = l.current_seq.is_some() || l.current_epoch_ready;
                if !observer && current_epoch != -1 {
                    let (mine, my_last) = (i64::from(l.summary.0), l.summary.1);
                    let ahead =
                        current_epoch > mine || (current_epoch == mine && last_zxid > my_last);
                    if ahead && !quorum_formed {
                        tracing::warn!(
                            sid = self.config.my_id,
                            "Follower {from} is ahead of the leader (epoch {current_epoch}, zxid 0x{last_zxid:x}): leader is behind, looking again"
                        );
                        self.start_looking();
                        return;
                    }
                    l.epoch_acked.insert(from);
                }
                if l.current_epoch_ready {
                    self.sync_learner(from, last_zxid, snapshot_zxid);
                } else {
                    self.maybe_persist_current_epoch();
                }
            }
            PeerMsg::Ack { zxid } => {
                let epoch = l.epoch.unwrap_or(0);
                let established = l.established;
                let committed = self.committed;
                let Some(h) = l.learners.get_mut(&from) else {
                    return;
                };
                if zxid == make_zxid(epoch, 0) {
                    if let HandleStage::Syncing { sync_end } = h.stage {
                        h.stage = HandleStage::Synced;
                        h.acked = h.acked.max(sync_end);
                        let observer = h.observer;
                        if !observer {
                            l.newleader_acked.insert(from);
                        }
                        if established {
                            self.send(from, PeerMsg::UpToDate { committed });
                            self.advance_commit();
                        } else {
                            self.maybe_establish();
                        }
                    }
                } else if h.stage == HandleStage::Synced && zxid_epoch(zxid) == epoch {
                    h.acked = h.acked.max(zxid);
                    self.advance_commit();
                }
            }
            PeerMsg::Ping => {}
            PeerMsg::Request(data) => {
                if l.established {
                    self.emit(Action::Request { from, data });
                }
            }
            PeerMsg::Sync { token } => {
                if l.established {
                    l.syncs.push_back((self.last_zxid, Some(from), token));
                    self.release_syncs();
                }
            }
            other => {
                tracing::warn!(
                    sid = self.config.my_id,
                    "unexpected {} from learner {from}: dropping it",
                    other.name()
                );
                l.learners.remove(&from);
                self.emit(Action::Disconnect { peer: from });
            }
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

    fn become_learner(&mut self, leader: Sid) {
        let observer = self.config.is_observer();
        tracing::info!(
            sid = self.config.my_id,
            "{} leader {leader} (round {})",
            if observer { "OBSERVING" } else { "FOLLOWING" },
            self.round
        );
        self.leave_role();
        let limit = self.config.init_limit * self.config.tick_ms;
        self.role = Role::Learning(Learning {
            leader,
            observer,
            stage: LearnerStage::Connecting,
            epoch: None,
            pending_commit: 0,
            deadline: self.now + limit,
            last_heard: self.now,
        });
        self.emit(Action::ConnectLeader { leader });
    }

    fn learner_fail(&mut self, why: String) {
        tracing::warn!(sid = self.config.my_id, "{why}: looking again");
        self.start_looking();
    }

    /// Logs a txn from the leader after checking it continues our log.
    fn learner_log(&mut self, entry: Entry) -> bool {
        if !follows(self.last_zxid, entry.zxid) {
            let why = format!(
                "txn 0x{:x} from the leader does not follow our last zxid 0x{:x}",
                entry.zxid, self.last_zxid
            );
            self.learner_fail(why);
            return false;
        }
        self.last_zxid = entry.zxid;
        self.window.push_back(entry.clone());
        self.store(StoreOp::Append(entry));
        true
    }

    /// Applies up to `zxid` (committed by the leader); false (and LOOKING) if it was never
    /// logged here.
    fn learner_commit(&mut self, zxid: Zxid) -> bool {
        if zxid > self.last_zxid {
            let why = format!(
                "COMMIT of 0x{zxid:x} beyond our last logged zxid 0x{:x}",
                self.last_zxid
            );
            self.learner_fail(why);
            return false;
        }
        self.commit_to(zxid);
        true
    }

    fn learner_on_peer(&mut self, from: Sid, msg: PeerMsg) {
        let now = self.now;
        let current_epoch = self.current_epoch;
        let accepted = self.accepted_epoch;
        let last_zxid = self.last_zxid;
        let snapshot_zxid = self.snapshot_zxid;
        let Role::Learning(l) = &mut self.role else {
            return;
        };
        if from != l.leader {
            return;
        }
        l.last_heard = now;
        let leader = l.leader;
        let stage = l.stage;
        match (stage, msg) {
            (LearnerStage::AwaitLeaderInfo, PeerMsg::LeaderInfo { epoch }) => {
                l.epoch = Some(epoch);
                l.stage = LearnerStage::Syncing;
                if epoch > accepted {
                    tracing::info!(
                        sid = self.config.my_id,
                        "accepting epoch {epoch} of leader {leader}: acceptedEpoch {accepted} -> {epoch}"
                    );
                    self.accepted_epoch = epoch;
                    self.store(StoreOp::AcceptedEpoch(epoch));
                    self.send_after_persist(
                        leader,
                        PeerMsg::AckEpoch {
                            epoch,
                            current_epoch: i64::from(current_epoch),
                            last_zxid,
                            snapshot_zxid,
                        },
                    );
                } else if epoch == accepted {
                    self.send_after_persist(
                        leader,
                        PeerMsg::AckEpoch {
                            epoch,
                            current_epoch: -1,
                            last_zxid,
                            snapshot_zxid,
                        },
                    );
                } else if l.observer {
                    // An observer's promise guards nothing (it never counts in a quorum),
                    // so it follows whichever leader serves; acceptedEpoch never goes down.
                    self.send_after_persist(
                        leader,
                        PeerMsg::AckEpoch {
                            epoch,
                            current_epoch: -1,
                            last_zxid,
                            snapshot_zxid,
                        },
                    );
                } else {
                    self.learner_fail(format!(
                        "Leaders epoch, {epoch} is less than accepted epoch, {accepted}"
                    ));
                }
            }
            (LearnerStage::Syncing, PeerMsg::Diff { .. }) => {}
            (LearnerStage::Syncing, PeerMsg::Trunc { zxid }) => {
                if zxid > self.last_zxid || zxid < self.snapshot_zxid {
                    let why = format!(
                        "Not able to truncate the log to 0x{zxid:x}: it holds 0x{:x} to 0x{:x}",
                        self.snapshot_zxid, self.last_zxid
                    );
                    self.learner_fail(why);
                    return;
                }
                tracing::info!(
                    sid = self.config.my_id,
                    "Truncating log to get in sync with the leader 0x{zxid:x}"
                );
                self.window.retain(|e| e.zxid <= zxid);
                if self.window.is_empty() {
                    self.window_base = self.window_base.min(zxid);
                }
                self.last_zxid = zxid;
                self.store(StoreOp::Truncate(zxid));
                if self.applied > zxid {
                    // Our state machine replayed txns the leader's history lacks.
                    self.applied = zxid;
                    self.window_base = self.window_base.min(zxid);
                    self.emit_after_persist(Action::ResetState { zxid });
                }
            }
            (LearnerStage::Syncing, PeerMsg::Snap { zxid, data }) => {
                tracing::info!(
                    sid = self.config.my_id,
                    "Getting a snapshot from leader 0x{zxid:x}"
                );
                self.window.clear();
                self.window_base = zxid;
                self.snapshot_zxid = zxid;
                self.last_zxid = zxid;
                self.applied = zxid;
                self.committed = self.committed.min(zxid);
                self.store(StoreOp::Snapshot { zxid, data });
                self.emit_after_persist(Action::ResetState { zxid });
            }
            (
                LearnerStage::Syncing | LearnerStage::AwaitUpToDate | LearnerStage::Broadcast,
                PeerMsg::Proposal(entry),
            ) => {
                let zxid = entry.zxid;
                if self.learner_log(entry) && stage != LearnerStage::Syncing {
                    self.send_after_persist(leader, PeerMsg::Ack { zxid });
                }
            }
            (
                LearnerStage::Syncing | LearnerStage::AwaitUpToDate | LearnerStage::Broadcast,
                PeerMsg::Inform(entry),
            ) => {
                let zxid = entry.zxid;
                if self.learner_log(entry) {
                    if stage == LearnerStage::Broadcast {
                        self.learner_commit(zxid);
                    } else if let Role::Learning(l) = &mut self.role {
                        l.pending_commit = l.pending_commit.max(zxid);
                    }
                }
            }
            (LearnerStage::Syncing, PeerMsg::NewLeader { zxid }) => {
                let epoch = zxid_epoch(zxid);
                if l.epoch != Some(epoch) || zxid_counter(zxid) != 0 {
                    let why = format!("NEWLEADER 0x{zxid:x} does not match epoch {:?}", l.epoch);
                    self.learner_fail(why);
                    return;
                }
                l.stage = LearnerStage::AwaitUpToDate;
                // Every sync txn is already queued for the log ahead of this (ZOOKEEPER-3911):
                // currentEpoch follows them, and the ACK waits for both.
                if self.current_epoch != epoch {
                    tracing::info!(
                        sid = self.config.my_id,
                        "NEWLEADER of epoch {epoch}: currentEpoch {} -> {epoch}",
                        self.current_epoch
                    );
                    self.current_epoch = epoch;
                    self.store(StoreOp::CurrentEpoch(epoch));
                }
                self.send_after_persist(leader, PeerMsg::Ack { zxid });
            }
            (
                LearnerStage::Syncing | LearnerStage::AwaitUpToDate | LearnerStage::Broadcast,
                PeerMsg::Commit { zxid },
            ) => {
                if stage == LearnerStage::Broadcast {
                    self.learner_commit(zxid);
                } else {
                    l.pending_commit = l.pending_commit.max(zxid);
                }
            }
            (LearnerStage::AwaitUpToDate, PeerMsg::UpToDate { committed }) => {
                let observer = l.observer;
                l.stage = LearnerStage::Broadcast;
                let target = committed.max(l.pending_commit);
                if !self.learner_commit(target) {
                    return;
                }
                tracing::info!(
                    sid = self.config.my_id,
                    "up to date with leader {leader} at 0x{:x}",
                    self.applied
                );
                self.serving = Some(if observer {
                    Serving::Observer { leader }
                } else {
                    Serving::Follower { leader }
                });
                self.emit(Action::Serving(self.serving));
            }
            (_, PeerMsg::Ping) => self.send(leader, PeerMsg::Ping),
            (LearnerStage::Broadcast, PeerMsg::SyncReply { token }) => {
                self.emit(Action::SyncDone { token });
            }
            (stage, other) => {
                let why = format!(
                    "unexpected {} from leader {leader} in stage {stage:?}",
                    other.name()
                );
                self.learner_fail(why);
            }
        }
    }

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
                if synced < crate::quorum::majority(self.config.voters.len()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(my_id: Sid) -> ZabConfig {
        ZabConfig {
            my_id,
            voters: [1, 2, 3].into_iter().collect(),
            observers: BTreeSet::new(),
            tick_ms: 100,
            init_limit: 20,
            sync_limit: 10,
            finalize_wait_ms: 50,
            max_notification_interval_ms: 400,
            commit_log_count: 100,
        }
    }

    fn history(epoch: u32, upto: u32) -> Vec<Entry> {
        (1..=upto)
            .map(|c| Entry {
                zxid: make_zxid(epoch, c),
                data: Bytes::from(format!("txn-{c}")),
            })
            .collect()
    }

    /// Server 1 tells `peer` (looking, in round 1) that it votes for `leader`; after
    /// finalizeWait `peer` decides.
    fn elect(peer: &mut ZabPeer, leader: Sid, zxid: Zxid, epoch: u32) {
        let vote = Vote {
            leader,
            zxid,
            peer_epoch: epoch,
        };
        let from = if peer.my_id() == 1 { 2 } else { 1 };
        let note = Notification {
            state: ServerState::Looking,
            vote,
            round: 1,
        };
        peer.step(0, Input::Notification { from, note });
        peer.step(1_000, Input::Tick);
    }

    /// Makes every store issued so far durable.
    fn persist_all(peer: &mut ZabPeer, actions: &[Action]) {
        if let Some(seq) = actions
            .iter()
            .filter_map(|a| match a {
                Action::Store { seq, .. } => Some(*seq),
                _ => None,
            })
            .max()
        {
            peer.step(1_000, Input::Persisted { seq });
        }
    }

    #[test]
    fn a_learner_whose_snapshot_is_past_the_common_zxid_gets_snap_not_trunc() {
        let recovered = Recovered {
            accepted_epoch: 1,
            current_epoch: 1,
            last_zxid: make_zxid(1, 5),
            tail: history(1, 5),
            snapshot_zxid: 0,
        };
        let mut leader = ZabPeer::new(config(3), recovered, 0).unwrap();
        elect(&mut leader, 3, make_zxid(1, 5), 1);
        assert_eq!(leader.state(), ServerState::Leading);
        leader.take_actions();
        leader.step(
            1_000,
            Input::Peer {
                from: 1,
                msg: PeerMsg::FollowerInfo {
                    sid: 1,
                    accepted_epoch: 1,
                },
            },
        );
        let actions = leader.take_actions();
        persist_all(&mut leader, &actions);
        assert!(leader.take_actions().contains(&Action::Send {
            to: 1,
            msg: PeerMsg::LeaderInfo { epoch: 2 }
        }));
        // Server 1 installed a snapshot at (1, 6) from a leader that never established
        // epoch 1's successor: its history ends past ours, inside that snapshot.
        leader.step(
            1_000,
            Input::Peer {
                from: 1,
                msg: PeerMsg::AckEpoch {
                    epoch: 2,
                    current_epoch: 0,
                    last_zxid: make_zxid(1, 7),
                    snapshot_zxid: make_zxid(1, 6),
                },
            },
        );
        let actions = leader.take_actions();
        persist_all(&mut leader, &actions);
        let sync: Vec<Action> = leader
            .take_actions()
            .into_iter()
            .filter(|a| matches!(a, Action::Send { to: 1, .. } | Action::SendSnapshot { .. }))
            .collect();
        assert_eq!(
            sync,
            vec![
                Action::SendSnapshot {
                    to: 1,
                    zxid: make_zxid(1, 5)
                },
                Action::Send {
                    to: 1,
                    msg: PeerMsg::NewLeader {
                        zxid: make_zxid(2, 0)
                    }
                },
            ]
        );
    }

    #[test]
    fn a_learner_refuses_a_trunc_below_its_snapshot() {
        let recovered = Recovered {
            accepted_epoch: 1,
            current_epoch: 1,
            last_zxid: make_zxid(1, 7),
            tail: history(1, 7).split_off(6),
            snapshot_zxid: make_zxid(1, 6),
        };
        let mut learner = ZabPeer::new(config(1), recovered, 0).unwrap();
        elect(&mut learner, 3, make_zxid(1, 7), 1);
        assert_eq!(learner.state(), ServerState::Following);
        learner.step(1_000, Input::Connected { peer: 3 });
        learner.step(
            1_000,
            Input::Peer {
                from: 3,
                msg: PeerMsg::LeaderInfo { epoch: 2 },
            },
        );
        let actions = learner.take_actions();
        persist_all(&mut learner, &actions);
        assert!(learner.take_actions().contains(&Action::Send {
            to: 3,
            msg: PeerMsg::AckEpoch {
                epoch: 2,
                current_epoch: 1,
                last_zxid: make_zxid(1, 7),
                snapshot_zxid: make_zxid(1, 6),
            }
        }));
        learner.step(
            1_000,
            Input::Peer {
                from: 3,
                msg: PeerMsg::Trunc {
                    zxid: make_zxid(1, 5),
                },
            },
        );
        assert_eq!(learner.state(), ServerState::Looking);
        assert!(
            !learner
                .take_actions()
                .iter()
                .any(|a| matches!(a, Action::Store { .. } | Action::ResetState { .. })),
            "nothing is truncated"
        );
    }

    /// Server 3, leader of epoch 2 with server 1 synced.
    fn established_leader() -> ZabPeer {
        let recovered = Recovered {
            accepted_epoch: 1,
            current_epoch: 1,
            last_zxid: make_zxid(1, 5),
            tail: history(1, 5),
            snapshot_zxid: 0,
        };
        let mut leader = ZabPeer::new(config(3), recovered, 0).unwrap();
        elect(&mut leader, 3, make_zxid(1, 5), 1);
        let info = PeerMsg::FollowerInfo {
            sid: 1,
            accepted_epoch: 1,
        };
        leader.step(1_000, Input::Peer { from: 1, msg: info });
        let actions = leader.take_actions();
        persist_all(&mut leader, &actions);
        let ack = PeerMsg::AckEpoch {
            epoch: 2,
            current_epoch: 1,
            last_zxid: make_zxid(1, 5),
            snapshot_zxid: 0,
        };
        leader.step(1_000, Input::Peer { from: 1, msg: ack });
        let actions = leader.take_actions();
        persist_all(&mut leader, &actions);
        let ack = PeerMsg::Ack {
            zxid: make_zxid(2, 0),
        };
        leader.step(1_000, Input::Peer { from: 1, msg: ack });
        assert_eq!(leader.serving(), Some(Serving::Leader { epoch: 2 }));
        leader.take_actions();
        leader
    }

    #[test]
    fn a_leader_looks_again_for_a_voter_that_accepted_a_later_epoch() {
        let mut leader = established_leader();
        // Server 2 acknowledged epoch 3 of a leader that never established it: it will
        // never follow epoch 2, and only a new election can take it in.
        let info = PeerMsg::FollowerInfo {
            sid: 2,
            accepted_epoch: 3,
        };
        leader.step(1_000, Input::Peer { from: 2, msg: info });
        assert_eq!(leader.state(), ServerState::Looking);
        assert!(leader.take_actions().contains(&Action::Serving(None)));
    }

    #[test]
    fn a_late_follower_ahead_of_the_leaders_election_state_is_synced_not_obeyed() {
        let mut leader = established_leader();
        let info = PeerMsg::FollowerInfo {
            sid: 2,
            accepted_epoch: 1,
        };
        leader.step(1_000, Input::Peer { from: 2, msg: info });
        // Server 2 holds an uncommitted txn past ours (the epoch quorum would have had it
        // otherwise): it is truncated away, and the leader keeps leading.
        let ack = PeerMsg::AckEpoch {
            epoch: 2,
            current_epoch: 1,
            last_zxid: make_zxid(1, 6),
            snapshot_zxid: 0,
        };
        leader.step(1_000, Input::Peer { from: 2, msg: ack });
        assert_eq!(leader.state(), ServerState::Leading);
        assert!(leader.take_actions().contains(&Action::Send {
            to: 2,
            msg: PeerMsg::Trunc {
                zxid: make_zxid(1, 5)
            }
        }));
    }
}
