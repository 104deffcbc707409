//! One seeded random generator (SplitMix64) and one seed variable, for every randomized test,
//! simulator and benchmark: a run replays exactly from its seed.
//!
//! A randomized test takes its seed from [`seed`] (or its seeds from [`seeds`]) and prints it
//! with [`announce`], so that a failure's output says how to replay it:
//! `HDFS_HA_SEED=<n> cargo test <name> -- --nocapture`. The daemons use [`SeededRng`] only
//! through [`SeededRng::from_entropy`] (backoff jitter, client ids), where nothing needs to
//! be unpredictable, only different between processes.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that replays a seeded run.
pub const SEED_VAR: &str = "HDFS_HA_SEED";

/// SplitMix64: small, fast, and every seed (zero included) gives a full-period stream.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    /// Seeded from the per-process random keys of std's `RandomState`, the clock and the pid.
    pub fn from_entropy() -> SeededRng {
        SeededRng(fresh_seed())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low).saturating_add(1))
    }

    /// An index into a slice of `len` items (`0` when it is empty).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `N` random bytes (a client id).
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
        out
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The seed [`SEED_VAR`] names, when it is set. A value that is not a number stops the test
/// that asked, naming the variable (a typo must not silently run other seeds).
pub fn replay() -> Option<u64> {
    let value = std::env::var(SEED_VAR).ok()?;
    match value.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => panic!("{SEED_VAR}={value:?} is not a number"),
    }
}

/// The seed of a randomized run: [`SEED_VAR`] when set, else a fresh one.
pub fn seed() -> u64 {
    replay().unwrap_or_else(fresh_seed)
}

/// The seeds of a run over a fixed set: [`SEED_VAR`] alone when set, else `default`.
pub fn seeds(default: impl IntoIterator<Item = u64>) -> Vec<u64> {
    match replay() {
        Some(seed) => vec![seed],
        None => default.into_iter().collect(),
    }
}

/// Prints how to replay `seed` (a test's output is shown when it fails).
pub fn announce(seed: u64) {
    println!("seed {seed} (replay with {SEED_VAR}={seed})");
}

fn fresh_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_its_stream_and_ranges_hold() {
        let mut a = SeededRng::new(42);
        let mut b = SeededRng::new(42);
        let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], SeededRng::new(43).next_u64());
        let mut r = SeededRng::new(0);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            assert!((3..=5).contains(&r.between(3, 5)));
            assert!(r.index(4) < 4);
        }
        assert_eq!(r.below(0), 0);
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let id: [u8; 12] = SeededRng::new(7).bytes();
        assert_eq!(id, SeededRng::new(7).bytes::<12>());
        assert_eq!(id[..8], SeededRng::new(7).next_u64().to_le_bytes());
        assert_ne!(id[8..], [0; 4]);
    }
}
