//! Worker leases, kept by the leader in memory: a heartbeat is not a Raft write.
//! A worker whose lease runs out is proposed lost. A new leader knows no
//! heartbeats yet, and workers may still be moving off the dead leader's node,
//! so it first gives every registered worker a longer failover lease (as
//! Nomad's `failover_heartbeat_ttl` does): a failover never declares healthy
//! workers lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hodei_domain::WorkerId;

#[derive(Default)]
pub struct Liveness {
    inner: Mutex<Leases>,
}

#[derive(Default)]
struct Leases {
    /// The term these leases were granted in; a new term starts over.
    term: u64,
    /// When this node first checked leases in `term`.
    term_start: Option<Instant>,
    last_seen: HashMap<WorkerId, Instant>,
}

impl Liveness {
    pub fn heartbeat(&self, worker: WorkerId) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).last_seen.insert(worker, Instant::now());
    }

    /// Workers among `registered` whose lease ran out, as seen by the leader of
    /// `term`: silent for `lease`, and not within the first `failover` of the
    /// term. A worker not heard from yet (a new term, a new registration)
    /// counts as seen at its first check, so it gets a full lease.
    pub fn expired(&self, term: u64, registered: &[WorkerId], lease: Duration, failover: Duration) -> Vec<WorkerId> {
        let now = Instant::now();
        let mut l = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if l.term != term || l.term_start.is_none() {
            l.term = term;
            l.term_start = Some(now);
            l.last_seen.clear();
        }
        let start = l.term_start.unwrap_or(now);
        let silent: Vec<WorkerId> = registered
            .iter()
            .filter(|w| {
                let seen = *l.last_seen.entry(**w).or_insert(now);
                now.duration_since(seen) > lease
            })
            .copied()
            .collect();
        if now.duration_since(start) <= failover {
            return Vec::new();
        }
        silent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_term_grants_the_failover_lease_and_silence_then_expires() {
        let l = Liveness::default();
        let ws = [WorkerId(1), WorkerId(2)];
        let (lease, failover) = (Duration::from_millis(2), Duration::from_millis(20));
        assert!(l.expired(5, &ws, Duration::ZERO, failover).is_empty(), "a new leader never expires at once");
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.expired(5, &ws, lease, failover).is_empty(), "not within the failover lease");
        std::thread::sleep(Duration::from_millis(20));
        l.heartbeat(WorkerId(1));
        assert_eq!(l.expired(5, &ws, lease, failover), vec![WorkerId(2)]);
        assert!(l.expired(6, &ws, Duration::ZERO, failover).is_empty(), "and again on the next term");
    }

    #[test]
    fn a_worker_registered_late_in_a_term_gets_a_full_lease() {
        let l = Liveness::default();
        let lease = Duration::from_millis(20);
        assert!(l.expired(3, &[WorkerId(1)], lease, Duration::ZERO).is_empty());
        std::thread::sleep(Duration::from_millis(30));
        l.heartbeat(WorkerId(1));
        let both = [WorkerId(1), WorkerId(2)];
        assert!(l.expired(3, &both, lease, Duration::ZERO).is_empty(), "worker 2 was registered just now");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(l.expired(3, &both, lease, Duration::ZERO), both.to_vec(), "and both fall silent");
    }

    #[test]
    fn a_heartbeat_from_an_earlier_term_does_not_count_in_a_later_one() {
        let l = Liveness::default();
        let ws = [WorkerId(1)];
        l.heartbeat(WorkerId(1));
        assert!(l.expired(1, &ws, Duration::ZERO, Duration::ZERO).is_empty());
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(l.expired(1, &ws, Duration::from_millis(1), Duration::ZERO), vec![WorkerId(1)]);
    }
}
