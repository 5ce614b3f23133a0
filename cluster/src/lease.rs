//! The leader's read lease: linearizable reads on the leader without a
//! heartbeat round while a quorum recently confirmed it (TiKV's lease read).
//!
//! Why it is safe with openraft 0.9: a follower that accepts an AppendEntries
//! of the leader's term refuses every vote request for `election_timeout_max`
//! after receiving it, and starts no election of its own for longer than that
//! (`leader_lease + election_timeout`, see `Engine::handle_vote_req` and
//! `handle_tick_election`). So if a quorum (the leader counting itself)
//! answered AppendEntries that the leader *sent* at `t`, no other leader can be
//! elected before `t + election_timeout_min` without the vote of this leader,
//! and this leader gives up its lease the moment any vote request reaches it
//! (before openraft sees the request). Until then no other node can commit, so
//! the leader's log holds every acknowledged write and a read may wait for its
//! own last index instead of a round. The lease is half of
//! `election_timeout_min`, a margin for clocks that run at different rates.
//!
//! Only plain (non-joint) memberships use it; during a membership change the
//! reads run rounds.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hodei_raft_store::NodeId;

#[derive(Default)]
pub(crate) struct ReadLease {
    inner: Mutex<Acks>,
}

#[derive(Default)]
struct Acks {
    /// The term whose acknowledgements `sent` holds.
    term: u64,
    /// Per follower, when the newest AppendEntries it answered in `term` was sent.
    sent: HashMap<NodeId, Instant>,
    /// When this node last received a vote request: no acknowledgement sent
    /// before it counts.
    vote_seen: Option<Instant>,
}

impl ReadLease {
    fn lock(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `follower` answered (without a higher vote) an AppendEntries of `term`
    /// sent at `sent`.
    pub(crate) fn acked(&self, follower: NodeId, term: u64, sent: Instant) {
        let mut a = self.lock();
        if term > a.term {
            a.term = term;
            a.sent.clear();
        }
        if term == a.term {
            let at = a.sent.entry(follower).or_insert(sent);
            *at = (*at).max(sent);
        }
    }

    /// A vote request reached this node: the lease ends now.
    pub(crate) fn vote_request_seen(&self) {
        self.lock().vote_seen = Some(Instant::now());
    }

    /// Whether `me`, leading `term` with `voters`, holds the lease now.
    pub(crate) fn holds(&self, me: NodeId, term: u64, voters: &BTreeSet<NodeId>, lease: Duration) -> bool {
        if !voters.contains(&me) {
            return false;
        }
        let a = self.lock();
        if a.term != term {
            return false;
        }
        let mut fresh: Vec<Instant> = voters
            .iter()
            .filter(|v| **v != me)
            .filter_map(|v| a.sent.get(v).copied())
            .filter(|t| a.vote_seen.is_none_or(|seen| *t > seen))
            .collect();
        // A majority of the voters, this node being one of them.
        let others_needed = voters.len() / 2;
        if others_needed == 0 {
            return true;
        }
        if fresh.len() < others_needed {
            return false;
        }
        fresh.sort_unstable_by(|a, b| b.cmp(a));
        fresh[others_needed - 1].elapsed() < lease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voters(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_quorum_of_recent_acks_holds_the_lease_until_it_ages() {
        let l = ReadLease::default();
        let v = voters(&[1, 2, 3]);
        let lease = Duration::from_millis(30);
        assert!(!l.holds(1, 4, &v, lease), "no acknowledgement yet");
        l.acked(2, 4, Instant::now());
        assert!(l.holds(1, 4, &v, lease), "the leader and one follower are a majority of three");
        assert!(!l.holds(1, 5, &v, lease), "acknowledgements count only in their term");
        std::thread::sleep(Duration::from_millis(40));
        assert!(!l.holds(1, 4, &v, lease), "the lease runs out");
    }

    #[test]
    fn five_voters_need_two_followers_and_the_older_of_the_two_counts() {
        let l = ReadLease::default();
        let v = voters(&[1, 2, 3, 4, 5]);
        let lease = Duration::from_millis(30);
        l.acked(2, 1, Instant::now());
        assert!(!l.holds(1, 1, &v, lease));
        l.acked(3, 1, Instant::now() - Duration::from_millis(40));
        assert!(!l.holds(1, 1, &v, lease), "the second-newest acknowledgement is too old");
        l.acked(4, 1, Instant::now());
        assert!(l.holds(1, 1, &v, lease));
    }

    #[test]
    fn a_vote_request_ends_the_lease_until_a_later_acknowledgement() {
        let l = ReadLease::default();
        let v = voters(&[1, 2, 3]);
        let lease = Duration::from_secs(10);
        let before = Instant::now();
        l.acked(2, 7, before);
        assert!(l.holds(1, 7, &v, lease));
        l.vote_request_seen();
        assert!(!l.holds(1, 7, &v, lease), "an acknowledgement sent before the vote request no longer counts");
        l.acked(3, 7, Instant::now() + Duration::from_millis(1));
        assert!(l.holds(1, 7, &v, lease));
    }

    #[test]
    fn a_newer_term_forgets_the_old_acks_and_an_older_one_is_ignored() {
        let l = ReadLease::default();
        let v = voters(&[1, 2, 3]);
        let lease = Duration::from_secs(10);
        l.acked(2, 3, Instant::now());
        l.acked(3, 4, Instant::now());
        l.acked(2, 3, Instant::now());
        assert!(!l.holds(1, 3, &v, lease));
        assert!(l.holds(1, 4, &v, lease));
        assert!(!l.holds(9, 4, &v, lease), "a node that is not a voter never holds it");
    }
}
