//! Availability after faults: within 30 s of every heal, every node names the
//! same leader and serves a write and a linearizable read.

use super::{Findings, Verdict};
use crate::history::History;
use crate::recovery::RECOVERY_DEADLINE;

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("recovery-within-30s");
    if h.recoveries.is_empty() {
        f.violation("no recovery was measured (the final heal was not probed)".into());
    }
    let limit = RECOVERY_DEADLINE.as_millis() as u64;
    for r in &h.recoveries {
        f.checked(1);
        match r.took_ms {
            Some(ms) if ms <= limit => {}
            Some(ms) => f.violation(format!("after {} (healed at {} ms): recovered only after {ms} ms", r.after, r.healed_ms)),
            None => f.violation(format!("after {} (healed at {} ms): no full service within {limit} ms; last: {}", r.after, r.healed_ms, r.detail)),
        }
    }
    f.verdict()
}
