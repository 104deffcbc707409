//! The session table: ids, negotiated timeouts, passwords and expiry by tick buckets
//! (ZooKeeper's `SessionTrackerImpl` + `ExpiryQueue`). Time is passed in; nothing here reads a
//! clock.
//!
//! Invariants: a session's deadline is always rounded up to the next multiple of `tickTime`
//! after `now + timeout`; a session reported expired is marked closing and is never touched
//! back to life; the password of a session is a pure function of its id, so a restarted
//! server validates reconnects of sessions it recovered from disk.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha1::{Digest, Sha1};

/// Mixed into every session password (ZooKeeper seeds its generator with a fixed secret too).
const PASSWORD_SECRET: &[u8] = b"hdfs-ha coordination session secret 0xB3415C00";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub timeout_ms: i32,
    /// The tick bucket (ms on the driver's monotonic clock) at which it expires.
    pub expires_at: i64,
    /// Expired or closing: no more touches.
    pub closing: bool,
}

#[derive(Debug, Clone)]
pub struct SessionTable {
    sessions: HashMap<i64, Session>,
    buckets: BTreeMap<i64, HashSet<i64>>,
    tick_ms: i64,
    next_id: i64,
}

impl SessionTable {
    /// `server_id` becomes the top byte of every id; `wall_ms` seeds the low bits.
    pub fn new(server_id: u8, wall_ms: i64, tick_ms: u32) -> Self {
        let mut next_id = (((wall_ms as u64) << 24) >> 8) as i64;
        next_id |= i64::from(server_id) << 56;
        if next_id == super::tree::CONTAINER_OWNER {
            next_id += 1;
        }
        SessionTable {
            sessions: HashMap::new(),
            buckets: BTreeMap::new(),
            tick_ms: i64::from(tick_ms.max(1)),
            next_id,
        }
    }

    /// The timeout a client gets: its request clamped into `[min, max]`.
    pub fn negotiate(requested: i32, min_ms: u32, max_ms: u32) -> i32 {
        let min = i64::from(min_ms);
        let max = i64::from(max_ms);
        i64::from(requested).clamp(min, max) as i32
    }

    /// The 16-byte password of session `id`.
    pub fn password(id: i64) -> Vec<u8> {
        let mut h = Sha1::new();
        h.update(PASSWORD_SECRET);
        h.update(id.to_be_bytes());
        h.finalize()[..16].to_vec()
    }

    /// A fresh id not in use.
    pub fn allocate_id(&mut self) -> i64 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if id != super::tree::CONTAINER_OWNER && id != 0 && !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    fn bucket(&self, at: i64) -> i64 {
        (at / self.tick_ms + 1) * self.tick_ms
    }

    /// Adds (or re-adds after recovery) a session, its clock starting at `now`.
    pub fn add(&mut self, id: i64, timeout_ms: i32, now: i64) {
        self.remove(id);
        let expires_at = self.bucket(now + i64::from(timeout_ms));
        self.buckets.entry(expires_at).or_default().insert(id);
        self.sessions.insert(
            id,
            Session {
                id,
                timeout_ms,
                expires_at,
                closing: false,
            },
        );
    }

    pub fn get(&self, id: i64) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// Whether `id` is live (known and not closing).
    pub fn is_live(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|s| !s.closing)
    }

    /// Extends the session; false when it is unknown or already expiring.
    pub fn touch(&mut self, id: i64, now: i64) -> bool {
        let Some(s) = self.sessions.get(&id) else {
            return false;
        };
        if s.closing {
            return false;
        }
        let new_at = self.bucket(now + i64::from(s.timeout_ms));
        let old_at = s.expires_at;
        if new_at != old_at {
            if let Some(set) = self.buckets.get_mut(&old_at) {
                set.remove(&id);
                if set.is_empty() {
                    self.buckets.remove(&old_at);
                }
            }
            self.buckets.entry(new_at).or_default().insert(id);
            if let Some(s) = self.sessions.get_mut(&id) {
                s.expires_at = new_at;
            }
        }
        true
    }

    /// Marks a session closing (closeSession requested) so it cannot be touched back.
    pub fn set_closing(&mut self, id: i64) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.closing = true;
        }
    }

    /// Sessions whose bucket is due at `now`, marked closing, in id order.
    pub fn expired(&mut self, now: i64) -> Vec<i64> {
        let due: Vec<i64> = self.buckets.range(..=now).map(|(at, _)| *at).collect();
        let mut out = Vec::new();
        for at in due {
            if let Some(set) = self.buckets.remove(&at) {
                for id in set {
                    if let Some(s) = self.sessions.get_mut(&id)
                        && !s.closing
                    {
                        s.closing = true;
                        out.push(id);
                    }
                }
            }
        }
        out.sort();
        out
    }

    pub fn remove(&mut self, id: i64) {
        if let Some(s) = self.sessions.remove(&id)
            && let Some(set) = self.buckets.get_mut(&s.expires_at)
        {
            set.remove(&id);
            if set.is_empty() {
                self.buckets.remove(&s.expires_at);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The expiry buckets (monotonic ms) with their sessions, soonest first (`dump`).
    pub fn buckets(&self) -> Vec<(i64, Vec<i64>)> {
        self.buckets
            .iter()
            .map(|(at, ids)| {
                let mut ids: Vec<i64> = ids.iter().copied().collect();
                ids.sort();
                (*at, ids)
            })
            .collect()
    }

    /// (id, timeout) of every session, sorted (for snapshots).
    pub fn all(&self) -> Vec<(i64, i32)> {
        let mut v: Vec<_> = self
            .sessions
            .values()
            .map(|s| (s.id, s.timeout_ms))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_in_the_top_byte() {
        let mut t = SessionTable::new(1, 1_700_000_000_000, 2000);
        let a = t.allocate_id();
        let b = t.allocate_id();
        assert_eq!(a >> 56, 1);
        assert_eq!(b, a + 1);
    }

    #[test]
    fn timeouts_are_clamped() {
        assert_eq!(SessionTable::negotiate(1000, 4000, 40000), 4000);
        assert_eq!(SessionTable::negotiate(30000, 4000, 40000), 30000);
        assert_eq!(SessionTable::negotiate(100_000, 4000, 40000), 40000);
        assert_eq!(SessionTable::negotiate(-5, 4000, 40000), 4000);
    }

    #[test]
    fn passwords_are_stable_per_id() {
        assert_eq!(SessionTable::password(7), SessionTable::password(7));
        assert_ne!(SessionTable::password(7), SessionTable::password(8));
        assert_eq!(SessionTable::password(7).len(), 16);
    }

    #[test]
    fn expiry_uses_tick_buckets_and_touches_extend() {
        let mut t = SessionTable::new(1, 0, 100);
        t.add(1, 1000, 0); // bucket (1000/100+1)*100 = 1100
        t.add(2, 1000, 50); // 1050 -> 1100
        t.add(3, 2000, 0); // 2100
        assert_eq!(t.get(1).unwrap().expires_at, 1100);
        assert!(t.expired(1099).is_empty());
        assert!(t.touch(2, 500)); // 1500 -> 1600
        assert_eq!(t.expired(1100), [1]);
        assert!(
            !t.touch(1, 1100),
            "an expired session cannot be touched back"
        );
        assert!(!t.is_live(1));
        assert!(t.expired(1599).is_empty());
        assert_eq!(t.expired(1600), [2]);
        assert_eq!(t.expired(10_000), [3]);
        t.remove(1);
        assert_eq!(t.len(), 2);
        assert!(!t.touch(99, 0));
    }

    #[test]
    fn seeded_random_touches_never_expire_a_live_session_early() {
        let seed = 0x5eed_u64;
        println!("seed {seed}");
        let mut state = seed;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut t = SessionTable::new(1, 0, 50);
        let mut last_touch: HashMap<i64, (i64, i64)> = HashMap::new();
        let mut now = 0i64;
        for id in 1..=20 {
            let timeout = 200 + (rand() % 800) as i32;
            t.add(id, timeout, now);
            last_touch.insert(id, (now, i64::from(timeout)));
        }
        for _ in 0..2000 {
            now += (rand() % 40) as i64;
            let id = 1 + (rand() % 20) as i64;
            if t.touch(id, now) {
                last_touch.insert(id, (now, last_touch[&id].1));
            }
            for gone in t.expired(now) {
                let (touched, timeout) = last_touch[&gone];
                assert!(
                    now >= touched + timeout,
                    "seed {seed}: {gone} expired early"
                );
                assert!(now < touched + timeout + 2 * 50 + 40, "seed {seed}: late");
            }
        }
    }
}
