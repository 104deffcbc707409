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
