//! FastLeaderElection: votes, notifications, the decision, and leaving a role to look again.

use super::*;

impl ZabPeer {
    pub(super) fn self_vote(&self) -> Vote {
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

    pub(super) fn start_looking(&mut self) {
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

    pub(super) fn broadcast_vote(&mut self) {
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
    pub(super) fn current_notification(&self) -> Notification {
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

    pub(super) fn on_notification(&mut self, from: Sid, note: Notification) {
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
                    && agreeing >= crate::majority::majority(self.config.voters.len())
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

    pub(super) fn check_decision(&mut self) {
        let majority = crate::majority::majority(self.config.voters.len());
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

    pub(super) fn decide(&mut self, leader: Sid) {
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

    pub(super) fn leave_role(&mut self) {
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
}
