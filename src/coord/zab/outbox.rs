//! The peer's outbox: actions leave in the order they were made, and an action that depends
//! on a store op waits until [`Input::Persisted`] reports it durable (acceptedEpoch before
//! LEADERINFO / ACKEPOCH, currentEpoch before NEWLEADER and its ACK, a proposal before its
//! ACK).

use super::*;

impl ZabPeer {
    /// Everything produced since the last call, in the order it must take effect.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    pub(super) fn emit(&mut self, action: Action) {
        if self.deferred.is_empty() {
            self.out.push(action);
        } else {
            let seq = self.deferred.back().map_or(0, |(s, _)| *s);
            self.deferred.push_back((seq, action));
        }
    }

    /// Emits `action` once every store issued so far is durable.
    pub(super) fn emit_after_persist(&mut self, action: Action) {
        let seq = self.next_seq;
        if seq <= self.persisted_seq {
            self.emit(action);
        } else {
            self.deferred.push_back((seq, action));
        }
    }

    pub(super) fn store(&mut self, op: StoreOp) -> u64 {
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

    pub(super) fn send(&mut self, to: Sid, msg: PeerMsg) {
        self.emit(Action::Send { to, msg });
    }

    pub(super) fn send_after_persist(&mut self, to: Sid, msg: PeerMsg) {
        self.emit_after_persist(Action::Send { to, msg });
    }

    pub(super) fn on_persisted(&mut self, seq: u64) {
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
}
