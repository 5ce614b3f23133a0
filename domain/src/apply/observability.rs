//! `SetObservability` (validated replacement of the observability settings)
//! and `RecordSamples` (the leader's periodic sample of every pool and tracked
//! tenant, computed here from the state so every node records the same).

use crate::command::{RecordSamples, SetObservability};
use crate::outcome::{Outcome, Rejection};
use crate::sampling::{choose_tenants, pool_samples, tenant_sample};
use crate::state::State;

pub(crate) fn set(state: &mut State, c: &SetObservability) -> Outcome {
    if let Err(e) = c.settings.validate() {
        return Rejection::invalid(e.to_string());
    }
    state.observability = c.settings.clone();
    Outcome::ObservabilitySet(state.observability.clone())
}

/// Refused (nothing changes) while sampling is off, and for a time not after
/// the last sample: a deposed leader's late proposal, or two leaders' in one
/// instant, never records twice or out of order.
pub(crate) fn record(state: &mut State, now: u64, _c: &RecordSamples) -> Outcome {
    if !state.observability.history.enabled {
        return Rejection::conflict("history sampling is disabled");
    }
    if let Some(last) = state.history.last_sample_ms {
        if now <= last {
            return Rejection::conflict(format!("a sample at {last} ms is not older than {now} ms"));
        }
    }
    let retention = state.observability.retention_ms();
    let pools = pool_samples(state);
    state.history.pools.retain(|id, _| pools.contains_key(id));
    for (id, values) in &pools {
        state.history.pools.entry(id.clone()).or_default().record(now, *values, retention);
    }
    let (tenants, active) = choose_tenants(state);
    for t in &tenants {
        let values = tenant_sample(state, *t, now);
        if let Some(series) = state.history.tenants.get_mut(t) {
            if active.contains(t) {
                series.last_active_ms = now;
            }
            series.series.record(now, values, retention);
        }
    }
    state.history.last_sample_ms = Some(now);
    Outcome::SamplesRecorded { pools: pools.len() as u32, tenants: tenants.len() as u32 }
}
