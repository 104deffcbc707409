//! The recovery decision of QJM (Hadoop's `SegmentRecoveryComparator` and the checks of
//! `recoverUnclosedSegment`), as pure functions over prepareRecovery answers.
//!
//! Rule: a response with a segment beats one without; a finalized segment beats an
//! in-progress one (two finalized ones must agree on their end); among in-progress segments
//! the higher `max(acceptedInEpoch, lastWriterEpoch)` wins, then the longer one. The chosen
//! segment must not end before any txid a responder knows to be committed.

use std::cmp::Ordering;

use super::error::QjmError;
use crate::journal::{PrepareRecoveryResponse, SegmentState};

/// Orders two prepareRecovery answers for the same segment; the greater is the better source.
pub fn compare(
    a: &PrepareRecoveryResponse,
    b: &PrepareRecoveryResponse,
) -> Result<Ordering, QjmError> {
    let (sa, sb) = match (&a.segment_state, &b.segment_state) {
        (None, None) => return Ok(Ordering::Equal),
        (Some(_), None) => return Ok(Ordering::Greater),
        (None, Some(_)) => return Ok(Ordering::Less),
        (Some(sa), Some(sb)) => (sa, sb),
    };
    if sa.start_txid != sb.start_txid {
        return Err(QjmError::Assertion(format!(
            "Should only be called with responses for corresponding segments: {a:?} and {b:?} do not have the same start txid."
        )));
    }
    if sa.in_progress != sb.in_progress {
        // Finalized beats in progress.
        return Ok(if sa.in_progress {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    if !sa.in_progress {
        if sa.end_txid != sb.end_txid {
            return Err(QjmError::Assertion(format!(
                "finalized segs with different lengths: {a:?}, {b:?}"
            )));
        }
        return Ok(Ordering::Equal);
    }
    let seen =
        |r: &PrepareRecoveryResponse| r.accepted_in_epoch.unwrap_or(0).max(r.last_writer_epoch);
    Ok(seen(a).cmp(&seen(b)).then(sa.end_txid.cmp(&sb.end_txid)))
}

/// What recovery should do with the answers from a majority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryDecision {
    /// No responder has the segment (it reached only a minority that is absent): nothing to do.
    NothingToRecover,
    /// Make every JournalNode's segment equal to `segment`, fetched from responder `source`.
    Synchronize {
        source: usize,
        segment: SegmentState,
    },
}

/// Chooses the recovery source among `(responder index, answer)` pairs.
pub fn decide(
    responses: &[(usize, PrepareRecoveryResponse)],
) -> Result<RecoveryDecision, QjmError> {
    let mut best: Option<&(usize, PrepareRecoveryResponse)> = None;
    for candidate in responses {
        best = match best {
            None => Some(candidate),
            // Ties keep the first, as Collections.max does.
            Some(current) => match compare(&candidate.1, &current.1)? {
                Ordering::Greater => Some(candidate),
                _ => Some(current),
            },
        };
    }
    let Some((source, answer)) = best else {
        return Ok(RecoveryDecision::NothingToRecover);
    };
    let Some(segment) = answer.segment_state else {
        return Ok(RecoveryDecision::NothingToRecover);
    };
    for (index, response) in responses {
        if let Some(committed) = response.last_committed_txid
            && committed > segment.end_txid
        {
            return Err(QjmError::Assertion(format!(
                "Decided to synchronize log to {segment} but logger {index} had seen txid {committed} committed"
            )));
        }
    }
    Ok(RecoveryDecision::Synchronize {
        source: *source,
        segment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(
        seg: Option<(u64, u64, bool)>,
        accepted: Option<u64>,
        writer: u64,
        committed: Option<u64>,
    ) -> PrepareRecoveryResponse {
        PrepareRecoveryResponse {
            segment_state: seg.map(|(s, e, p)| SegmentState {
                start_txid: s,
                end_txid: e,
                in_progress: p,
            }),
            accepted_in_epoch: accepted,
            last_writer_epoch: writer,
            last_committed_txid: committed,
        }
    }

    #[test]
    fn comparator_table() {
        use Ordering::*;
        // (a, b, a compared to b) — TestSegmentRecoveryComparator's cases and more.
        let table = [
            (
                resp(Some((1, 3, true)), None, 1, None),
                resp(None, None, 1, None),
                Greater,
            ),
            (resp(None, None, 5, None), resp(None, None, 1, None), Equal),
            (
                resp(Some((1, 3, false)), None, 1, None),
                resp(Some((1, 100, true)), None, 9, None),
                Greater,
            ),
            (
                resp(Some((1, 3, false)), None, 1, None),
                resp(Some((1, 3, false)), None, 7, None),
                Equal,
            ),
            (
                resp(Some((1, 3, true)), None, 2, None),
                resp(Some((1, 100, true)), None, 1, None),
                Greater,
            ),
            (
                resp(Some((1, 3, true)), Some(3), 1, None),
                resp(Some((1, 100, true)), None, 2, None),
                Greater,
            ),
            (
                resp(Some((1, 3, true)), None, 2, None),
                resp(Some((1, 4, true)), None, 2, None),
                Less,
            ),
            (
                resp(Some((1, 4, true)), Some(2), 2, None),
                resp(Some((1, 4, true)), None, 2, None),
                Equal,
            ),
        ];
        for (i, (a, b, want)) in table.iter().enumerate() {
            assert_eq!(compare(a, b).unwrap(), *want, "case {i}");
            assert_eq!(compare(b, a).unwrap(), want.reverse(), "case {i} reversed");
        }
        let err = compare(
            &resp(Some((1, 3, false)), None, 1, None),
            &resp(Some((1, 4, false)), None, 1, None),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("finalized segs with different lengths")
        );
    }

    #[test]
    fn newer_writer_beats_an_older_accepted_value() {
        // testNewerVersionOfSegmentWins: JN0 accepted 101-101 in epoch 2; a later writer
        // (epoch 3) wrote 101-150 elsewhere.
        let responses = vec![
            (0, resp(Some((101, 101, true)), Some(2), 1, None)),
            (1, resp(Some((101, 150, true)), None, 3, None)),
        ];
        assert_eq!(
            decide(&responses).unwrap(),
            RecoveryDecision::Synchronize {
                source: 1,
                segment: SegmentState {
                    start_txid: 101,
                    end_txid: 150,
                    in_progress: true
                }
            }
        );
    }

    #[test]
    fn nothing_to_recover_when_no_responder_has_the_segment() {
        let responses = vec![
            (0, resp(None, None, 1, None)),
            (2, resp(None, None, 1, None)),
        ];
        assert_eq!(
            decide(&responses).unwrap(),
            RecoveryDecision::NothingToRecover
        );
        assert_eq!(decide(&[]).unwrap(), RecoveryDecision::NothingToRecover);
    }

    #[test]
    fn a_committed_txid_beyond_the_choice_is_an_assertion() {
        let responses = vec![
            (0, resp(Some((1, 3, true)), None, 1, Some(5))),
            (1, resp(Some((1, 3, true)), None, 1, None)),
        ];
        let err = decide(&responses).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Decided to synchronize log to startTxId: 1 endTxId: 3"),
            "{err}"
        );
    }
}
