//! Majority arithmetic, in one place: majority size, vote tallies, and "the highest value a
//! majority has reached". Shared by QJM writes, QJM reads and recovery, and ZAB commits.

/// The smallest number of members that forms a majority of `members` (2 of 3, 3 of 5).
pub fn majority(members: usize) -> usize {
    members / 2 + 1
}

/// The outcome of counting answers from `members` voters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority agreed.
    Won,
    /// Not decided yet: enough voters are still out to reach a majority either way.
    Pending,
    /// A majority can no longer be reached.
    Lost,
}

/// Tallies `yes` successes and `no` failures among `members` voters.
pub fn vote_result(members: usize, yes: usize, no: usize) -> VoteResult {
    let needed = majority(members);
    if yes >= needed {
        VoteResult::Won
    } else if members.saturating_sub(no) < needed {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

/// The highest value that at least a majority of `members` has reached, given the values
/// reported so far (members that have not reported count as having reached nothing). This is
/// the commit index of ZAB and the durable transaction count of a QJM read.
pub fn majority_reached(members: usize, reported: &[u64]) -> Option<u64> {
    let needed = majority(members);
    if reported.len() < needed {
        return None;
    }
    let mut sorted = reported.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    Some(sorted[needed - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majorities() {
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)];
        for (members, want) in table {
            assert_eq!(majority(members), want, "{members}");
        }
    }

    #[test]
    fn vote_table() {
        // (members, yes, no) -> result
        let table = [
            (3, 0, 0, VoteResult::Pending),
            (3, 1, 0, VoteResult::Pending),
            (3, 2, 0, VoteResult::Won),
            (3, 1, 1, VoteResult::Pending),
            (3, 1, 2, VoteResult::Lost),
            (3, 0, 2, VoteResult::Lost),
            (3, 2, 1, VoteResult::Won),
            (5, 2, 2, VoteResult::Pending),
            (5, 2, 3, VoteResult::Lost),
            (5, 3, 2, VoteResult::Won),
            (1, 0, 1, VoteResult::Lost),
            (1, 1, 0, VoteResult::Won),
            (4, 2, 2, VoteResult::Lost),
        ];
        for (members, yes, no, want) in table {
            assert_eq!(vote_result(members, yes, no), want, "{members} {yes} {no}");
        }
    }

    #[test]
    fn highest_value_a_majority_reached() {
        assert_eq!(majority_reached(3, &[]), None);
        assert_eq!(majority_reached(3, &[10]), None);
        assert_eq!(majority_reached(3, &[10, 7]), Some(7));
        assert_eq!(majority_reached(3, &[10, 7, 9]), Some(9));
        assert_eq!(majority_reached(5, &[5, 1, 4, 3, 2]), Some(3));
        assert_eq!(majority_reached(5, &[5, 4, 3]), Some(3));
        assert_eq!(majority_reached(1, &[8]), Some(8));
    }
}
