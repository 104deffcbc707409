//! The journaled-edits cache: the most recent edits of a journal kept in memory, so that a
//! standby tailing in-progress edits (`getJournaledEdits`) is served without touching disk.
//! Bounded by `dfs.journalnode.edit-cache-size.bytes`; the oldest edits are evicted first.
//!
//! The cache only ever holds one contiguous run of txids. A batch that overlaps what is cached
//! (a new writer rewriting txids a recovery discarded) replaces everything from its first txid
//! on; a batch after a gap starts the cache afresh.

use std::collections::VecDeque;

use super::JournalError;
use super::edits::split_records;

#[derive(Debug)]
pub struct EditsCache {
    /// `(txid, encoded record)` in txid order, contiguous.
    records: VecDeque<(u64, Vec<u8>)>,
    bytes: usize,
    capacity: usize,
    /// The layout version the cached edits are written in (of the segment they belong to).
    layout_version: Option<i32>,
}

impl EditsCache {
    pub fn new(capacity: usize) -> Self {
        EditsCache {
            records: VecDeque::new(),
            bytes: 0,
            capacity,
            layout_version: None,
        }
    }

    /// A segment in `layout_version` begins: edits of another layout are dropped (Hadoop's
    /// cache keeps one layout, whose header it serves before the edits).
    pub fn begin_segment(&mut self, layout_version: i32) {
        if self.layout_version != Some(layout_version) {
            self.clear();
            self.layout_version = Some(layout_version);
        }
    }

    /// The layout version of the cached edits, once a segment has begun.
    pub fn layout_version(&self) -> Option<i32> {
        self.layout_version
    }

    /// Lowest and highest cached txids.
    pub fn range(&self) -> Option<(u64, u64)> {
        Some((self.records.front()?.0, self.records.back()?.0))
    }

    /// Adds a batch of valid, contiguous encoded records.
    pub fn store(&mut self, batch: &[u8]) {
        let Ok(records) = split_records(batch) else {
            return;
        };
        let Some(&(first, _)) = records.first() else {
            return;
        };
        match self.range() {
            Some((low, high)) if first > high + 1 || first < low => self.clear(),
            Some(_) => self.truncate_from(first),
            None => {}
        }
        for (txid, bytes) in records {
            self.bytes += bytes.len();
            self.records.push_back((txid, bytes.to_vec()));
        }
        while self.bytes > self.capacity && self.records.len() > 1 {
            if let Some((_, evicted)) = self.records.pop_front() {
                self.bytes -= evicted.len();
            }
        }
    }

    /// Forgets every cached txid at or above `txid`.
    pub fn truncate_from(&mut self, txid: u64) {
        while self.records.back().is_some_and(|(t, _)| *t >= txid) {
            if let Some((_, removed)) = self.records.pop_back() {
                self.bytes -= removed.len();
            }
        }
    }

    pub fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    /// Up to `max_txns` encoded records from `since`; the caller has already answered requests
    /// at or beyond the highest written txid.
    pub fn retrieve(&self, since: u64, max_txns: usize) -> Result<(usize, Vec<u8>), JournalError> {
        let miss = || JournalError::CacheMiss {
            oldest: self.range().map_or(0, |(low, _)| low),
            requested: since,
            capacity: self.capacity,
        };
        let (low, high) = self.range().ok_or_else(miss)?;
        if since < low || since > high {
            return Err(miss());
        }
        let skip = (since - low) as usize;
        let mut out = Vec::new();
        let mut count = 0;
        for (_, bytes) in self.records.iter().skip(skip).take(max_txns) {
            out.extend_from_slice(bytes);
            count += 1;
        }
        Ok((count, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::{decode_records, encode_batch};

    fn batch(first: u64, n: usize) -> Vec<u8> {
        let payloads: Vec<Vec<u8>> = (0..n)
            .map(|i| vec![(first as u8).wrapping_add(i as u8); 100])
            .collect();
        encode_batch(first, payloads.iter().map(Vec::as_slice))
    }

    fn txids(bytes: &[u8]) -> Vec<u64> {
        decode_records(bytes)
            .unwrap()
            .iter()
            .map(|r| r.txid)
            .collect()
    }

    #[test]
    fn serves_from_any_cached_txid_up_to_max() {
        let mut cache = EditsCache::new(1 << 20);
        cache.store(&batch(1, 5));
        cache.store(&batch(6, 5));
        let (count, bytes) = cache.retrieve(3, 4).unwrap();
        assert_eq!(count, 4);
        assert_eq!(txids(&bytes), vec![3, 4, 5, 6]);
        let (count, bytes) = cache.retrieve(9, 100).unwrap();
        assert_eq!((count, txids(&bytes)), (2, vec![9, 10]));
    }

    #[test]
    fn evicts_the_oldest_edits_past_capacity() {
        let mut cache = EditsCache::new(5 * 116);
        cache.store(&batch(1, 10));
        assert_eq!(cache.range(), Some((6, 10)));
        let err = cache.retrieve(2, 10).unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::CacheMiss {
                    oldest: 6,
                    requested: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.exception_class(), "CacheMissException");
    }

    #[test]
    fn a_rewrite_replaces_the_overlap_and_a_gap_restarts() {
        let mut cache = EditsCache::new(1 << 20);
        cache.store(&batch(1, 10));
        cache.store(&batch(6, 2));
        assert_eq!(cache.range(), Some((1, 7)));
        let (_, bytes) = cache.retrieve(6, 10).unwrap();
        assert_eq!(decode_records(&bytes).unwrap()[0].payload, vec![6u8; 100]);
        cache.store(&batch(20, 1));
        assert_eq!(cache.range(), Some((20, 20)));
        cache.truncate_from(20);
        assert_eq!(cache.range(), None);
        assert!(cache.retrieve(20, 1).is_err());
    }
}
