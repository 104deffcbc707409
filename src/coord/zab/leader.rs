//! The leader: discovery (choosing the epoch), synchronization of each learner (DIFF, TRUNC
//! or SNAP), establishment by a majority of NEWLEADER acknowledgements, and broadcast
//! (proposals, ACKs, commits in zxid order).

use super::*;

impl ZabPeer {
    pub(super) fn become_leader(&mut self) {
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

    pub(super) fn maybe_choose_epoch(&mut self) {
        let majority = crate::majority::majority(self.config.voters.len());
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
    pub(super) fn leader_epoch_persisted(&mut self) {
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

    pub(super) fn maybe_persist_current_epoch(&mut self) {
        let majority = crate::majority::majority(self.config.voters.len());
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
    pub(super) fn leader_current_epoch_persisted(&mut self) {
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
    pub(super) fn sync_learner(&mut self, sid: Sid, peer_last: Zxid, peer_snapshot: Zxid) {
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

    pub(super) fn maybe_establish(&mut self) {
        let majority = crate::majority::majority(self.config.voters.len());
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

    pub(super) fn advance_commit(&mut self) {
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
    pub(super) fn commit_to(&mut self, zxid: Zxid) {
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

    pub(super) fn trim_window(&mut self) {
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

    pub(super) fn release_syncs(&mut self) {
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

    pub(super) fn leader_on_peer(&mut self, from: Sid, msg: PeerMsg) {
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
}
