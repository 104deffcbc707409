//! ZAB messages to and from bytes: ZooKeeper's `QuorumPacket` on the peer port (packet type
//! numbers of reference §4.3) and its election notification on the election port, both as
//! jute records (`coord::jute`), each framed by a 4-byte big-endian length.
//!
//! Where our protocol differs from ZooKeeper's (a mixed ensemble is not a goal):
//! ACKEPOCH carries the epoch it acknowledges and the learner's snapshot zxid after the
//! currentEpoch; SNAP carries the snapshot in the packet's data instead of a stream after
//! it; COMMIT and ACK are cumulative; a learner's sync request is packet type 100 (`zxid` =
//! token) and the leader's answer is SYNC (7) with the same token.

use bytes::Bytes;

use super::{
    Entry, MAX_EPOCH, Notification, PeerMsg, ServerState, Sid, Vote, make_zxid, zxid_epoch,
};
use crate::coord::jute::{
    ElectionHello, ElectionNotification, Jute, JuteError, LearnerInfo, QuorumPacket,
};

/// ZooKeeper's packet types.
pub mod packet {
    pub const REQUEST: i32 = 1;
    pub const PROPOSAL: i32 = 2;
    pub const ACK: i32 = 3;
    pub const COMMIT: i32 = 4;
    pub const PING: i32 = 5;
    pub const SYNC: i32 = 7;
    pub const INFORM: i32 = 8;
    pub const NEWLEADER: i32 = 10;
    pub const FOLLOWERINFO: i32 = 11;
    pub const UPTODATE: i32 = 12;
    pub const DIFF: i32 = 13;
    pub const TRUNC: i32 = 14;
    pub const SNAP: i32 = 15;
    pub const OBSERVERINFO: i32 = 16;
    pub const LEADERINFO: i32 = 17;
    pub const ACKEPOCH: i32 = 18;
    /// Ours: a learner's sync request.
    pub const SYNC_REQUEST: i32 = 100;
}

/// `QuorumCnxManager`'s protocol version for the election handshake.
pub const ELECTION_PROTOCOL_VERSION: i64 = -65536;
/// The learner protocol version ZooKeeper 3.4+ announces.
const LEARNER_PROTOCOL_VERSION: i32 = 0x10000;
/// The notification layout version we send.
const NOTIFICATION_VERSION: i32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("malformed quorum packet: {0}")]
    Jute(#[from] JuteError),
    #[error("unknown quorum packet type {0}")]
    UnknownType(i32),
    #[error("unknown server state {0} in an election notification")]
    UnknownState(i32),
    #[error("bad {what} in a quorum packet: {value}")]
    BadField { what: &'static str, value: i64 },
}

/// An epoch: one a zxid can carry (see [`MAX_EPOCH`]).
fn epoch_field(what: &'static str, value: i64) -> Result<u32, WireError> {
    u32::try_from(value)
        .ok()
        .filter(|e| *e <= MAX_EPOCH)
        .ok_or(WireError::BadField { what, value })
}

fn sid_field(value: i64) -> Result<Sid, WireError> {
    u64::try_from(value).map_err(|_| WireError::BadField { what: "sid", value })
}

fn packet(packet_type: i32, zxid: i64, data: Vec<u8>) -> QuorumPacket {
    QuorumPacket {
        packet_type,
        zxid,
        data,
        authinfo: Vec::new(),
    }
}

/// The jute record of a message (without the length prefix).
pub fn encode_peer(msg: &PeerMsg, out: &mut Vec<u8>) {
    use packet::*;
    let p = match msg {
        PeerMsg::FollowerInfo {
            sid,
            accepted_epoch,
        }
        | PeerMsg::ObserverInfo {
            sid,
            accepted_epoch,
        } => {
            let info = LearnerInfo {
                serverid: *sid as i64,
                protocol_version: LEARNER_PROTOCOL_VERSION,
                config_version: -1,
            };
            let t = if matches!(msg, PeerMsg::FollowerInfo { .. }) {
                FOLLOWERINFO
            } else {
                OBSERVERINFO
            };
            packet(t, make_zxid(*accepted_epoch, 0), info.to_bytes())
        }
        PeerMsg::LeaderInfo { epoch } => packet(
            LEADERINFO,
            make_zxid(*epoch, 0),
            LEARNER_PROTOCOL_VERSION.to_bytes(),
        ),
        PeerMsg::AckEpoch {
            epoch,
            current_epoch,
            last_zxid,
            snapshot_zxid,
        } => {
            let mut data = (*current_epoch as i32).to_bytes();
            (*epoch as i32).write(&mut data);
            snapshot_zxid.write(&mut data);
            packet(ACKEPOCH, *last_zxid, data)
        }
        PeerMsg::Diff { zxid } => packet(DIFF, *zxid, Vec::new()),
        PeerMsg::Trunc { zxid } => packet(TRUNC, *zxid, Vec::new()),
        PeerMsg::Snap { zxid, data } => packet(SNAP, *zxid, data.to_vec()),
        PeerMsg::Proposal(e) => packet(PROPOSAL, e.zxid, e.data.to_vec()),
        PeerMsg::NewLeader { zxid } => packet(NEWLEADER, *zxid, Vec::new()),
        PeerMsg::Ack { zxid } => packet(ACK, *zxid, Vec::new()),
        PeerMsg::Commit { zxid } => packet(COMMIT, *zxid, Vec::new()),
        PeerMsg::UpToDate { committed } => packet(UPTODATE, *committed, Vec::new()),
        PeerMsg::Inform(e) => packet(INFORM, e.zxid, e.data.to_vec()),
        PeerMsg::Ping => packet(PING, 0, Vec::new()),
        PeerMsg::Request(data) => packet(REQUEST, 0, data.to_vec()),
        PeerMsg::Sync { token } => packet(SYNC_REQUEST, *token as i64, Vec::new()),
        PeerMsg::SyncReply { token } => packet(SYNC, *token as i64, Vec::new()),
    };
    p.write(out);
}

/// Decodes one message (the payload of a frame).
pub fn decode_peer(bytes: &[u8]) -> Result<PeerMsg, WireError> {
    use packet::*;
    let p = QuorumPacket::from_bytes(bytes, usize::MAX)?;
    let epoch = || epoch_field("epoch", i64::from(zxid_epoch(p.zxid)));
    Ok(match p.packet_type {
        FOLLOWERINFO | OBSERVERINFO => {
            let info = LearnerInfo::from_bytes(&p.data, usize::MAX)?;
            let sid = sid_field(info.serverid)?;
            let accepted_epoch = epoch()?;
            if p.packet_type == FOLLOWERINFO {
                PeerMsg::FollowerInfo {
                    sid,
                    accepted_epoch,
                }
            } else {
                PeerMsg::ObserverInfo {
                    sid,
                    accepted_epoch,
                }
            }
        }
        LEADERINFO => PeerMsg::LeaderInfo { epoch: epoch()? },
        ACKEPOCH => {
            let mut r = crate::coord::jute::Reader::new(&p.data, usize::MAX);
            let current = r.i32()?;
            let acked = r.i32()?;
            let snapshot_zxid = r.i64()?;
            r.finish()?;
            PeerMsg::AckEpoch {
                epoch: epoch_field("acknowledged epoch", i64::from(acked))?,
                current_epoch: i64::from(current),
                last_zxid: p.zxid,
                snapshot_zxid,
            }
        }
        DIFF => PeerMsg::Diff { zxid: p.zxid },
        TRUNC => PeerMsg::Trunc { zxid: p.zxid },
        SNAP => PeerMsg::Snap {
            zxid: p.zxid,
            data: Bytes::from(p.data),
        },
        PROPOSAL => PeerMsg::Proposal(Entry {
            zxid: p.zxid,
            data: Bytes::from(p.data),
        }),
        NEWLEADER => PeerMsg::NewLeader { zxid: p.zxid },
        ACK => PeerMsg::Ack { zxid: p.zxid },
        COMMIT => PeerMsg::Commit { zxid: p.zxid },
        UPTODATE => PeerMsg::UpToDate { committed: p.zxid },
        INFORM => PeerMsg::Inform(Entry {
            zxid: p.zxid,
            data: Bytes::from(p.data),
        }),
        PING => PeerMsg::Ping,
        REQUEST => PeerMsg::Request(Bytes::from(p.data)),
        SYNC_REQUEST => PeerMsg::Sync {
            token: p.zxid as u64,
        },
        SYNC => PeerMsg::SyncReply {
            token: p.zxid as u64,
        },
        other => return Err(WireError::UnknownType(other)),
    })
}

fn state_number(state: ServerState) -> i32 {
    match state {
        ServerState::Looking => 0,
        ServerState::Following => 1,
        ServerState::Leading => 2,
        ServerState::Observing => 3,
    }
}

pub fn encode_notification(note: &Notification, out: &mut Vec<u8>) {
    ElectionNotification {
        state: state_number(note.state),
        leader: note.vote.leader as i64,
        zxid: note.vote.zxid,
        election_epoch: note.round as i64,
        peer_epoch: i64::from(note.vote.peer_epoch),
        version: NOTIFICATION_VERSION,
        config: Vec::new(),
    }
    .write(out);
}

pub fn decode_notification(bytes: &[u8]) -> Result<Notification, WireError> {
    let n = ElectionNotification::from_bytes(bytes, usize::MAX)?;
    let state = match n.state {
        0 => ServerState::Looking,
        1 => ServerState::Following,
        2 => ServerState::Leading,
        3 => ServerState::Observing,
        other => return Err(WireError::UnknownState(other)),
    };
    Ok(Notification {
        state,
        vote: Vote {
            leader: sid_field(n.leader)?,
            zxid: n.zxid,
            peer_epoch: epoch_field("peer epoch", n.peer_epoch)?,
        },
        round: u64::try_from(n.election_epoch).map_err(|_| WireError::BadField {
            what: "election epoch",
            value: n.election_epoch,
        })?,
    })
}

pub fn encode_hello(sid: Sid, address: &str, out: &mut Vec<u8>) {
    ElectionHello {
        protocol_version: ELECTION_PROTOCOL_VERSION,
        sid: sid as i64,
        address: address.to_string(),
    }
    .write(out);
}

/// The sender id of an election connection's first frame.
pub fn decode_hello(bytes: &[u8]) -> Result<Sid, WireError> {
    let h = ElectionHello::from_bytes(bytes, usize::MAX)?;
    if h.protocol_version != ELECTION_PROTOCOL_VERSION {
        return Err(WireError::BadField {
            what: "election protocol version",
            value: h.protocol_version,
        });
    }
    sid_field(h.sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let e = Entry {
            zxid: make_zxid(3, 7),
            data: Bytes::from_static(b"txn"),
        };
        let msgs = vec![
            PeerMsg::FollowerInfo {
                sid: 2,
                accepted_epoch: 4,
            },
            PeerMsg::ObserverInfo {
                sid: 9,
                accepted_epoch: 0,
            },
            PeerMsg::LeaderInfo { epoch: 5 },
            PeerMsg::AckEpoch {
                epoch: 5,
                current_epoch: -1,
                last_zxid: make_zxid(4, 2),
                snapshot_zxid: make_zxid(3, 1),
            },
            PeerMsg::Diff { zxid: 17 },
            PeerMsg::Trunc { zxid: 12 },
            PeerMsg::Snap {
                zxid: 12,
                data: Bytes::from_static(b"state"),
            },
            PeerMsg::Proposal(e.clone()),
            PeerMsg::NewLeader {
                zxid: make_zxid(5, 0),
            },
            PeerMsg::Ack { zxid: 99 },
            PeerMsg::Commit { zxid: 98 },
            PeerMsg::UpToDate { committed: 97 },
            PeerMsg::Inform(e),
            PeerMsg::Ping,
            PeerMsg::Request(Bytes::from_static(b"req")),
            PeerMsg::Sync { token: 3 },
            PeerMsg::SyncReply { token: 3 },
        ];
        for m in msgs {
            let mut out = Vec::new();
            encode_peer(&m, &mut out);
            assert_eq!(decode_peer(&out).unwrap(), m);
        }
        let n = Notification {
            state: ServerState::Leading,
            vote: Vote {
                leader: 3,
                zxid: make_zxid(2, 9),
                peer_epoch: 2,
            },
            round: 6,
        };
        let mut out = Vec::new();
        encode_notification(&n, &mut out);
        assert_eq!(decode_notification(&out).unwrap(), n);
        let mut out = Vec::new();
        encode_hello(3, "127.0.0.3:3888", &mut out);
        assert_eq!(decode_hello(&out).unwrap(), 3);
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_problem() {
        assert_eq!(
            decode_peer(&[0, 0, 0, 2]).unwrap_err().to_string(),
            "malformed quorum packet: record truncated"
        );
        let mut out = Vec::new();
        packet(77, 0, Vec::new()).write(&mut out);
        assert_eq!(decode_peer(&out).unwrap_err(), WireError::UnknownType(77));
        let mut out = Vec::new();
        ElectionNotification {
            state: 9,
            ..Default::default()
        }
        .write(&mut out);
        assert_eq!(
            decode_notification(&out).unwrap_err().to_string(),
            "unknown server state 9 in an election notification"
        );
        let mut out = Vec::new();
        packet(
            packet::FOLLOWERINFO,
            0,
            LearnerInfo {
                serverid: -4,
                ..Default::default()
            }
            .to_bytes(),
        )
        .write(&mut out);
        assert_eq!(
            decode_peer(&out).unwrap_err().to_string(),
            "bad sid in a quorum packet: -4"
        );
        // An epoch whose zxids would be negative (ordered before every other).
        let mut out = Vec::new();
        encode_peer(&PeerMsg::LeaderInfo { epoch: 1 << 31 }, &mut out);
        assert_eq!(
            decode_peer(&out).unwrap_err().to_string(),
            "bad epoch in a quorum packet: 2147483648"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder() {
        let seed = crate::seeded::seed();
        crate::seeded::announce(seed);
        let mut rng = crate::seeded::SeededRng::new(seed);
        for _ in 0..20_000 {
            let len = rng.below(64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let _ = decode_peer(&bytes);
            let _ = decode_notification(&bytes);
            let _ = decode_hello(&bytes);
        }
    }
}
