//! Per-journal metrics, with the JournalNode's metric names (Hadoop's `JournalMetrics`).

use std::collections::VecDeque;

/// How many recent fsync latencies the quantiles are computed over.
const SYNC_SAMPLES: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct JournalMetrics {
    pub batches_written: u64,
    /// Batches that were already committed on a majority when they arrived (catch-up writes,
    /// which skip the fsync).
    pub batches_written_while_lagging: u64,
    pub bytes_written: u64,
    pub txns_written: u64,
    pub txns_served_via_rpc: u64,
    pub bytes_served_via_rpc: u64,
    pub rpc_empty_responses: u64,
    pub rpc_request_cache_misses: u64,
    /// Finalized segments taken from another JournalNode by sync (`NumEditLogsSynced`).
    pub num_edit_logs_synced: u64,
    /// Recent fsync latencies in microseconds, oldest first.
    syncs_micros: VecDeque<u64>,
    pub syncs_total: u64,
}

impl JournalMetrics {
    pub fn record_sync(&mut self, micros: u64) {
        if self.syncs_micros.len() == SYNC_SAMPLES {
            self.syncs_micros.pop_front();
        }
        self.syncs_micros.push_back(micros);
        self.syncs_total += 1;
    }

    /// Sync latency quantiles (50th, 75th, 90th, 95th, 99th percentile) over recent syncs.
    pub fn sync_quantiles(&self) -> Option<[(u8, u64); 5]> {
        if self.syncs_micros.is_empty() {
            return None;
        }
        let mut sorted: Vec<u64> = self.syncs_micros.iter().copied().collect();
        sorted.sort_unstable();
        let at = |p: u8| {
            let rank = (p as usize * sorted.len()).div_ceil(100).max(1) - 1;
            (p, sorted[rank.min(sorted.len() - 1)])
        };
        Some([at(50), at(75), at(90), at(95), at(99)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_over_recent_syncs() {
        let mut m = JournalMetrics::default();
        assert!(m.sync_quantiles().is_none());
        for micros in 1..=100 {
            m.record_sync(micros);
        }
        assert_eq!(
            m.sync_quantiles().unwrap(),
            [(50, 50), (75, 75), (90, 90), (95, 95), (99, 99)]
        );
        for _ in 0..SYNC_SAMPLES {
            m.record_sync(7);
        }
        assert_eq!(m.sync_quantiles().unwrap()[4], (99, 7));
        assert_eq!(m.syncs_total, 100 + SYNC_SAMPLES as u64);
    }
}
