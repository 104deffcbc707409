//! The learner (follower or observer): discovery, synchronization with the leader, and
//! logging, acknowledging and applying what the leader broadcasts.

use super::*;

impl ZabPeer {
    pub(super) fn become_learner(&mut self, leader: Sid) {
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

    pub(super) fn learner_fail(&mut self, why: String) {
        tracing::warn!(sid = self.config.my_id, "{why}: looking again");
        self.start_looking();
    }

    /// Logs a txn from the leader after checking it continues our log.
    pub(super) fn learner_log(&mut self, entry: Entry) -> bool {
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
    pub(super) fn learner_commit(&mut self, zxid: Zxid) -> bool {
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

    pub(super) fn learner_on_peer(&mut self, from: Sid, msg: PeerMsg) {
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
}
