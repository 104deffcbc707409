//! Hostile bytes: peers in every role and phase a schedule reaches get garbage from the
//! quorum and election wires, and must never panic.

use super::chooser::{Chooser, Rules};
use super::*;

/// A field value a broken or hostile peer might send: the edges of each type, and values
/// next to what the receiving peer holds.
fn hostile_zxid(rng: &mut SeededRng, peer: &ZabPeer) -> Zxid {
    let e = peer.accepted_epoch();
    match rng.below(10) {
        0 => 0,
        1 => -1,
        2 => i64::MIN,
        3 => i64::MAX,
        4 => make_zxid(u32::MAX, u32::MAX),
        5 => make_zxid(e, 0),
        6 => make_zxid(e.wrapping_add(1), 1),
        7 => make_zxid(e, u32::MAX),
        8 => peer.last_zxid().wrapping_add(rng.below(5) as i64 - 2),
        _ => rng.next_u64() as i64,
    }
}

fn hostile_epoch(rng: &mut SeededRng, peer: &ZabPeer) -> u32 {
    let e = peer.accepted_epoch();
    match rng.below(7) {
        0 => 0,
        1 => u32::MAX,
        2 => i32::MAX as u32,
        3 => e,
        4 => e.wrapping_add(1),
        5 => e.wrapping_sub(1),
        _ => rng.next_u64() as u32,
    }
}

/// Bytes that decode (or not) into a quorum packet.
fn hostile_packet(rng: &mut SeededRng, peer: &ZabPeer) -> Vec<u8> {
    let sid = rng.below(8);
    let entry = Entry {
        zxid: hostile_zxid(rng, peer),
        data: Bytes::from_static(b"x"),
    };
    let msg = match rng.below(18) {
        0 => PeerMsg::FollowerInfo {
            sid,
            accepted_epoch: hostile_epoch(rng, peer),
        },
        1 => PeerMsg::ObserverInfo {
            sid,
            accepted_epoch: hostile_epoch(rng, peer),
        },
        2 => PeerMsg::LeaderInfo {
            epoch: hostile_epoch(rng, peer),
        },
        3 => PeerMsg::AckEpoch {
            epoch: hostile_epoch(rng, peer),
            current_epoch: [-1, -2, 0, i64::from(i32::MAX)][rng.index(4)],
            last_zxid: hostile_zxid(rng, peer),
            snapshot_zxid: hostile_zxid(rng, peer),
        },
        4 => PeerMsg::Diff {
            zxid: hostile_zxid(rng, peer),
        },
        5 => PeerMsg::Trunc {
            zxid: hostile_zxid(rng, peer),
        },
        6 => PeerMsg::Snap {
            zxid: hostile_zxid(rng, peer),
            data: encode_state(std::slice::from_ref(&entry)),
        },
        7 => PeerMsg::Proposal(entry),
        8 => PeerMsg::NewLeader {
            zxid: hostile_zxid(rng, peer),
        },
        9 => PeerMsg::Ack {
            zxid: hostile_zxid(rng, peer),
        },
        10 => PeerMsg::Commit {
            zxid: hostile_zxid(rng, peer),
        },
        11 => PeerMsg::UpToDate {
            committed: hostile_zxid(rng, peer),
        },
        12 => PeerMsg::Inform(entry),
        13 => PeerMsg::Ping,
        14 => PeerMsg::Request(Bytes::from_static(b"req")),
        15 => PeerMsg::Sync {
            token: rng.next_u64(),
        },
        16 => PeerMsg::SyncReply {
            token: rng.next_u64(),
        },
        _ => {
            let len = rng.below(40);
            return (0..len).map(|_| rng.next_u64() as u8).collect();
        }
    };
    let mut out = Vec::new();
    wire::encode_peer(&msg, &mut out);
    if rng.chance(0.1) && !out.is_empty() {
        // A flipped byte: the decoder must refuse or accept it, never panic.
        let i = rng.index(out.len());
        out[i] ^= 1 << rng.below(8);
    }
    out
}

fn hostile_notification(rng: &mut SeededRng, peer: &ZabPeer) -> Vec<u8> {
    let note = Notification {
        state: [
            ServerState::Looking,
            ServerState::Following,
            ServerState::Leading,
            ServerState::Observing,
        ][rng.index(4)],
        vote: Vote {
            leader: rng.below(8),
            zxid: hostile_zxid(rng, peer),
            peer_epoch: hostile_epoch(rng, peer),
        },
        round: [0, 1, i64::MAX as u64, rng.below(10)][rng.index(4)],
    };
    let mut out = Vec::new();
    wire::encode_notification(&note, &mut out);
    if rng.chance(0.1) {
        let i = rng.index(out.len());
        out[i] ^= 1 << rng.below(8);
    }
    out
}

#[test]
fn hostile_quorum_packets_and_notifications_never_panic_a_peer() {
    // Peers in every role and phase a schedule reaches get garbage from the wire: what
    // decodes goes in, and the peer may refuse it, drop the sender or go LOOKING, but it
    // never panics (the invariants do not hold against a lying peer, so none is checked).
    for seed in seeded::seeds(0..300) {
        seeded::announce(seed);
        let window = 3 + (seed % 5) as usize;
        let mut sim = Sim::new(format!("seed {seed}"), Ensemble::new(3, 1, window));
        let mut chooser = Chooser::new(seed, Rules::minority(3, 1));
        let steps = chooser.rng.below(2500);
        for _ in 0..steps {
            chooser.step(&mut sim);
        }
        let mut rng = SeededRng::new(seed);
        let ids: Vec<Sid> = sim.servers.keys().copied().collect();
        for _ in 0..300 {
            let id = ids[rng.index(ids.len())];
            sim.now += rng.below(300);
            let now = sim.now;
            let Some(peer) = sim.servers.get_mut(&id).and_then(|s| s.peer.as_mut()) else {
                continue;
            };
            let from = rng.below(8);
            let input = match rng.below(10) {
                0..=5 => match wire::decode_peer(&hostile_packet(&mut rng, peer)) {
                    Ok(msg) => Input::Peer { from, msg },
                    Err(_) => continue,
                },
                6 | 7 => match wire::decode_notification(&hostile_notification(&mut rng, peer)) {
                    Ok(note) => Input::Notification { from, note },
                    Err(_) => continue,
                },
                8 => Input::Connected { peer: from },
                _ => Input::Tick,
            };
            peer.step(now, input);
            let _ = peer.take_actions();
        }
    }
}
