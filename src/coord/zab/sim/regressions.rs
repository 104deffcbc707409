//! Schedules that once broke an invariant, kept as the action lists they were
//! (`tests/data/zab/`), and what the simulator records so that each list shows it still
//! reaches the situation it was kept for.

use super::actions::Script;
use super::*;

/// What a run went through that no invariant is about, for a regression list to show it
/// still reaches the situation it was kept for.
#[derive(Debug, Default)]
pub(super) struct Seen {
    snapshots_replaced: Vec<SnapshotReplaced>,
    step_downs: Vec<StepDown>,
}

/// A SNAP from `leader` reached `learner` while its disk snapshot at `snapshot` (from a
/// leader of `snapshot_epoch`) held a txn at `lacking` that the SNAP lacks.
#[derive(Debug)]
struct SnapshotReplaced {
    learner: Sid,
    snapshot: Zxid,
    snapshot_epoch: Option<u32>,
    lacking: Zxid,
    leader: Sid,
}

/// `leader`, leading `epoch`, went looking when `follower` said it accepted a later epoch.
#[derive(Debug)]
struct StepDown {
    leader: Sid,
    epoch: u32,
    follower: Sid,
    accepted_epoch: u32,
}

impl std::fmt::Display for SnapshotReplaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} got a SNAP from {} lacking 0x{:x} of its snapshot at 0x{:x} (from epoch {:?})",
            self.learner, self.leader, self.lacking, self.snapshot, self.snapshot_epoch
        )
    }
}

impl std::fmt::Display for StepDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, leading epoch {}, went looking: follower {} accepted epoch {}",
            self.leader, self.epoch, self.follower, self.accepted_epoch
        )
    }
}

impl Sim {
    /// The epoch `id` leads, once chosen.
    pub(super) fn leading_epoch(&self, id: Sid) -> Option<u32> {
        let peer = self.servers[&id].peer.as_ref()?;
        (peer.state() == ServerState::Leading).then(|| peer.accepted_epoch())
    }

    /// A SNAP reaching a learner whose disk snapshot holds a txn the SNAP lacks: a TRUNC
    /// could not have cut it out.
    pub(super) fn observe_snapshot(&mut self, from: Sid, to: Sid, msg: &PeerMsg) {
        let PeerMsg::Snap { data, .. } = msg else {
            return;
        };
        let epoch = self.servers[&from]
            .peer
            .as_ref()
            .map(|p| p.accepted_epoch());
        let learner = &self.servers[&to];
        if let Some((snapshot, image)) = learner.disk.newest_snapshot() {
            let held = decode_state(image).unwrap_or_default();
            let incoming = decode_state(data).unwrap_or_default();
            if let Some(lacking) = held.iter().find(|e| !incoming.contains(e)) {
                let replaced = SnapshotReplaced {
                    learner: to,
                    snapshot,
                    snapshot_epoch: learner.snap_from_epoch,
                    lacking: lacking.zxid,
                    leader: from,
                };
                self.trace.push(format!("t={} {replaced}", self.now));
                self.seen.snapshots_replaced.push(replaced);
            }
        }
        self.servers.get_mut(&to).expect("server").snap_from_epoch = epoch;
    }

    /// `leader` of `epoch` went looking when `follower` said it accepted a later epoch.
    pub(super) fn observe_step_down(
        &mut self,
        follower: Sid,
        leader: Sid,
        epoch: u32,
        accepted_epoch: u32,
    ) {
        let looking = self.servers[&leader]
            .peer
            .as_ref()
            .is_some_and(|p| p.state() == ServerState::Looking);
        if accepted_epoch > epoch && looking {
            let step_down = StepDown {
                leader,
                epoch,
                follower,
                accepted_epoch,
            };
            self.trace.push(format!("t={} {step_down}", self.now));
            self.seen.step_downs.push(step_down);
        }
    }
}

// Schedules that once broke an invariant, kept as the actions they were (tests/data/zab/):
// each replays exactly whatever the chooser draws now, and checks that it still reaches
// the situation it was kept for.

/// The action list `tests/data/zab/<name>.txt`, compiled in.
macro_rules! regression_list {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/zab/",
                $name,
                ".txt"
            )),
        )
    };
}

/// Replays a kept list; the invariants are checked as it runs, its `check` lines at the end.
fn replay_regression((name, text): (&str, &str)) -> Sim {
    let path = format!("tests/data/zab/{name}.txt");
    let script = Script::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
    script
        .replay(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn regression_a_snapshot_from_a_leader_that_never_established_is_replaced_not_truncated() {
    // A learner took a SNAP holding a dead leader's uncommitted tail; the next leader sent
    // TRUNC below that snapshot, which the learner's disk could not carry out.
    for list in [
        regression_list!("snapshot-not-truncated-seed-1994939371910549185"),
        regression_list!("snapshot-not-truncated-seed-3589753012234117589"),
        regression_list!("snapshot-not-truncated-seed-14986316843572235270"),
    ] {
        let sim = replay_regression(list);
        let replaced: Vec<&SnapshotReplaced> = sim
            .seen
            .snapshots_replaced
            .iter()
            .filter(|r| {
                r.snapshot_epoch
                    .is_some_and(|e| !sim.leaders.contains_key(&e))
            })
            .collect();
        assert!(
            !replaced.is_empty(),
            "{}: no learner holding a snapshot from a leader that never established got a \
             SNAP lacking part of it; SNAPs replacing a snapshot: {:?}",
            list.0,
            sim.seen
                .snapshots_replaced
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn regression_a_follower_that_accepted_a_later_epoch_gets_a_new_election() {
    // Voters that acknowledged the epoch of a leader that never established could not
    // follow the established leader of an earlier epoch, and nothing made it step down:
    // the healed ensemble never converged.
    for list in [
        regression_list!("later-accepted-epoch-seed-8285795868390221765"),
        regression_list!("later-accepted-epoch-seed-5991733643232447756"),
    ] {
        let sim = replay_regression(list);
        assert!(
            !sim.seen.step_downs.is_empty(),
            "{}: no leader met a follower that accepted a later epoch",
            list.0
        );
    }
}
