//! What peers say to each other: votes and election notifications, logged entries, and the
//! messages of the quorum port (learner ↔ leader). Their bytes are [`super::wire`]'s.

use super::*;

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
    pub(super) fn key(&self) -> (u32, Zxid, Sid) {
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
