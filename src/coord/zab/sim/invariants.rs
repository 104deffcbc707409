//! The simulator's checks: the invariants of the module doc, on every message sent, txn
//! applied and server that starts serving, and the converged history at the end.

use super::*;

impl Sim {
    pub(super) fn fail(&self, what: String) -> ! {
        let keep = if std::env::var("ZAB_TEST_TRACE").is_ok() {
            self.trace.len()
        } else {
            40
        };
        let tail: Vec<&String> = self.trace.iter().rev().take(keep).rev().collect();
        panic!(
            "{}: invariant violated: {what}\nlast events:\n{}",
            self.label,
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// What `id`'s disk recovers; a disk that recovers nothing fails the run.
    fn disk_history(&self, id: Sid) -> Loaded<SimState> {
        recover_disk(&self.servers[&id].disk, None)
            .unwrap_or_else(|e| self.fail(format!("server {id}'s disk does not recover: {e}")))
    }

    /// Whether `e` is in the history `id`'s disk recovers.
    fn disk_holds(&self, id: Sid, e: &Entry) -> bool {
        self.disk_history(id).db.0.contains(e)
    }

    /// Whether the history `id`'s disk recovers reaches a txn (or snapshot) at `zxid`.
    fn disk_reaches(&self, id: Sid, zxid: Zxid) -> bool {
        let history = self.disk_history(id);
        history.snapshot_zxid == zxid || history.db.0.iter().any(|e| e.zxid == zxid)
    }

    /// Invariant 5: what a message claims is already on disk.
    pub(super) fn check_send(&self, id: Sid, msg: &PeerMsg) {
        let disk = &self.servers[&id].disk;
        let accepted_epoch = disk_epoch(disk, EpochFile::Accepted);
        let current_epoch = disk_epoch(disk, EpochFile::Current);
        let bad = match msg {
            PeerMsg::LeaderInfo { epoch } | PeerMsg::AckEpoch { epoch, .. } => {
                (accepted_epoch < *epoch).then(|| format!("acceptedEpoch {epoch}"))
            }
            PeerMsg::NewLeader { zxid } => (current_epoch < zxid_epoch(*zxid))
                .then(|| format!("currentEpoch {}", zxid_epoch(*zxid))),
            PeerMsg::Ack { zxid } if zxid_counter(*zxid) == 0 => (current_epoch
                < zxid_epoch(*zxid))
            .then(|| format!("currentEpoch {} (NEWLEADER ack)", zxid_epoch(*zxid))),
            PeerMsg::Ack { zxid } => {
                (!self.disk_reaches(id, *zxid)).then(|| format!("txn 0x{zxid:x} before its ACK"))
            }
            _ => None,
        };
        if let Some(what) = bad {
            self.fail(format!(
                "server {id} sent {} before persisting {what}",
                msg.name()
            ));
        }
    }

    /// Invariants 2 and 3, on every applied txn.
    pub(super) fn check_apply(&mut self, id: Sid, entry: Entry) {
        let prev = self.servers[&id].state.last().map_or(0, |e| e.zxid);
        self.check_committed(id, prev, &entry);
        self.trace
            .push(format!("t={} {id} apply 0x{:x}", self.now, entry.zxid));
        self.servers.get_mut(&id).expect("server").state.push(entry);
    }

    /// A server that starts serving holds a prefix of the one committed history: its whole
    /// state machine (txns replayed at boot and installed from a SNAP included, which no
    /// Apply reported) is committed now, in the order every other server applies it.
    pub(super) fn check_serving_state(&mut self, id: Sid) {
        let state = self.servers[&id].state.clone();
        let mut prev = 0;
        for entry in &state {
            self.check_committed(id, prev, entry);
            prev = entry.zxid;
        }
    }

    /// `entry` is committed, right after `prev` on server `id`: the same txn at the same
    /// zxid everywhere, durable on a majority of voters, and every server's committed txns
    /// one chain (none skipped, none reordered).
    fn check_committed(&mut self, id: Sid, prev: Zxid, entry: &Entry) {
        if entry.zxid <= prev {
            self.fail(format!(
                "server {id} applied 0x{:x} after 0x{prev:x}",
                entry.zxid
            ));
        }
        if let Some((skipped, _)) = self.committed.range(prev + 1..entry.zxid).next() {
            self.fail(format!(
                "server {id} applied 0x{:x} but skipped committed 0x{skipped:x}",
                entry.zxid
            ));
        }
        match self.predecessor.get(&entry.zxid) {
            Some(p) if *p != prev => self.fail(format!(
                "server {id} applied 0x{:x} after 0x{prev:x}, elsewhere it came after 0x{p:x}",
                entry.zxid
            )),
            _ => {}
        }
        if let Some((next, p)) = self.predecessor.range(entry.zxid + 1..).next()
            && *p < entry.zxid
        {
            self.fail(format!(
                "server {id} applied 0x{:x}, which another server skipped (it applied 0x{next:x} right after 0x{p:x})",
                entry.zxid
            ));
        }
        match self.committed.get(&entry.zxid) {
            Some(data) if *data != entry.data => self.fail(format!(
                "zxid 0x{:x} committed twice with different txns",
                entry.zxid
            )),
            Some(_) => {}
            None => {
                let durable = self
                    .config
                    .voters
                    .iter()
                    .filter(|v| self.disk_holds(**v, entry))
                    .count();
                if durable < crate::majority::majority(self.config.voters.len()) {
                    self.fail(format!(
                        "txn 0x{:x} committed while durable on only {durable} voters",
                        entry.zxid
                    ));
                }
                self.committed.insert(entry.zxid, entry.data.clone());
                self.predecessor.insert(entry.zxid, prev);
            }
        }
    }

    pub(super) fn fail_unconverged(&self) -> ! {
        let states: Vec<String> = self
            .servers
            .iter()
            .map(|(id, s)| match &s.peer {
                Some(p) => format!(
                    "{id}: {:?} {:?} last 0x{:x} applied 0x{:x}",
                    p.state(),
                    p.phase(),
                    p.last_zxid(),
                    p.applied()
                ),
                None => format!("{id}: down"),
            })
            .collect();
        self.fail(format!(
            "the ensemble did not converge once healed:\n{}",
            states.join("\n")
        ));
    }

    pub(super) fn converged(&self) -> bool {
        let Some(leader) = self.leader() else {
            return false;
        };
        let lp = self.servers[&leader].peer.as_ref().expect("leader");
        if lp.applied() != lp.last_zxid() {
            return false;
        }
        let target = lp.applied();
        self.servers
            .values()
            .filter_map(|s| s.peer.as_ref().map(|p| (s, p)))
            .all(|(s, p)| {
                p.serving().is_some()
                    && p.applied() == target
                    && s.state.last().map_or(0, |e| e.zxid) == target
            })
    }

    /// Every live server holds the same history, with every committed txn in it.
    pub(super) fn check_final(&self) {
        let live: Vec<(&Sid, &Server)> = self
            .servers
            .iter()
            .filter(|(_, s)| s.peer.is_some())
            .collect();
        let reference: Vec<&Entry> = live.first().expect("one").1.state.iter().collect();
        for (id, s) in live {
            if s.state.iter().collect::<Vec<_>>() != reference {
                self.fail(format!("server {id} ended with a different history"));
            }
        }
        for (zxid, data) in &self.committed {
            if !reference.iter().any(|e| e.zxid == *zxid && e.data == *data) {
                self.fail(format!("committed txn 0x{zxid:x} is missing at the end"));
            }
        }
    }
}
