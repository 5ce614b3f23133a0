//! Worker leases, kept by the leader in memory: a heartbeat is not a Raft write.
//! A worker whose lease runs out is proposed lost. A new leader knows no
//! heartbeats yet, so it first gives every registered worker a full lease: a
//! failover never declares healthy workers lost.

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
    last_seen: HashMap<WorkerId, Instant>,
}

impl Liveness {
    pub fn heartbeat(&self, worker: WorkerId) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).last_seen.insert(worker, Instant::now());
    }

    /// Workers among `registered` whose lease ran out, as seen by the leader of
    /// `term`. On a new term every worker first gets a full lease.
    pub fn expired(&self, term: u64, registered: &[WorkerId], lease: Duration) -> Vec<WorkerId> {
        let now = Instant::now();
        let mut l = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if l.term != term {
            l.term = term;
            l.last_seen = registered.iter().map(|w| (*w, now)).collect();
            return Vec::new();
        }
        registered
            .iter()
            .filter(|w| {
                let seen = *l.last_seen.entry(**w).or_insert(now);
                now.duration_since(seen) > lease
            })
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_term_grants_full_leases_and_silence_expires_them() {
        let l = Liveness::default();
        let ws = [WorkerId(1), WorkerId(2)];
        assert!(l.expired(5, &ws, Duration::ZERO).is_empty(), "a new leader never expires at once");
        std::thread::sleep(Duration::from_millis(5));
        l.heartbeat(WorkerId(1));
        assert_eq!(l.expired(5, &ws, Duration::from_millis(2)), vec![WorkerId(2)]);
        assert!(l.expired(6, &ws, Duration::ZERO).is_empty(), "and again on the next term");
    }
}
