//! `RequestBurst` and `DecideBurst` (approve, deny, revoke); the policy is in
//! [`crate::burst`]. Expiry is `Tick`'s.

use crate::burst::{Burst, BurstState};
use crate::command::{BurstDecision, DecideBurst, RequestBurst};
use crate::ids::BurstId;
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

/// Longest reason kept.
pub const MAX_REASON_BYTES: usize = 1_024;

pub(crate) fn request(state: &mut State, now: u64, c: &RequestBurst) -> Outcome {
    let Some(tenant) = state.tenants.get(&c.tenant_id) else {
        return Rejection::not_found(c.tenant_id.to_string());
    };
    let b = state.settings.burst_capacity;
    if !b.enabled {
        return Rejection::conflict("burst capacity is disabled");
    }
    if c.reason.len() > MAX_REASON_BYTES || (c.cpu_m == 0 && c.memory_mb == 0) {
        return Rejection::invalid("a burst asks for some cpu_m or memory_mb, with a reason of at most 1024 bytes");
    }
    if c.duration_minutes == 0 || c.duration_minutes > b.burst_duration_minutes {
        return Rejection::invalid(format!("duration_minutes must be 1..={}", b.burst_duration_minutes));
    }
    let (max_cpu, max_mem) = state.settings.max_burst(&tenant.quota);
    if c.cpu_m > max_cpu || c.memory_mb > max_mem {
        return Rejection::invalid(format!(
            "a burst may add at most {max_cpu} cpu_m and {max_mem} memory_mb ({}% of the quota)",
            b.max_overage_percentage
        ));
    }
    if let Some(live) = state.live_burst(c.tenant_id) {
        if !live.is_due(now) {
            return Rejection::conflict(format!("{} already holds {} ({})", c.tenant_id, live.id, live.state.as_str()));
        }
        let id = live.id;
        end(state, id, BurstState::Expired, None, now);
    }
    state.next_burst += 1;
    let duration_ms = u64::from(c.duration_minutes) * 60_000;
    let mut burst = Burst {
        id: BurstId(state.next_burst),
        tenant_id: c.tenant_id,
        cpu_m: c.cpu_m,
        memory_mb: c.memory_mb,
        duration_ms,
        reason: c.reason.clone(),
        state: BurstState::Pending,
        requested_at_ms: now,
        starts_at_ms: None,
        ends_at_ms: None,
        decision_reason: None,
        ended_at_ms: None,
    };
    if !b.require_approval {
        start(&mut burst, now);
    }
    state.live_bursts.insert(c.tenant_id, burst.id);
    state.bursts.insert(burst.id, burst.clone());
    Outcome::BurstUpdated(burst)
}

fn start(b: &mut Burst, now: u64) {
    b.state = BurstState::Active;
    b.starts_at_ms = Some(now);
    b.ends_at_ms = Some(now.saturating_add(b.duration_ms));
}

/// Ends a live lease; jobs already placed under it run to completion.
pub(crate) fn end(state: &mut State, id: BurstId, to: BurstState, reason: Option<String>, now: u64) {
    let Some(b) = state.bursts.get_mut(&id) else { return };
    b.state = to;
    b.decision_reason = reason;
    b.ended_at_ms = Some(match to {
        BurstState::Expired => b.ends_at_ms.unwrap_or(now).min(now),
        _ => now,
    });
    if state.live_bursts.get(&b.tenant_id) == Some(&id) {
        state.live_bursts.remove(&b.tenant_id);
    }
}

pub(crate) fn decide(state: &mut State, now: u64, c: &DecideBurst) -> Outcome {
    let Some(b) = state.bursts.get(&c.burst_id) else {
        return Rejection::not_found(c.burst_id.to_string());
    };
    if !b.state.is_live() || b.is_due(now) {
        return Rejection::conflict(format!("{} is {}", b.id, if b.state.is_live() { "EXPIRED" } else { b.state.as_str() }));
    }
    match (&c.decision, b.state) {
        (BurstDecision::Approve, BurstState::Pending) => {
            let b = state.bursts.get_mut(&c.burst_id).expect("checked");
            start(b, now);
        }
        (BurstDecision::Deny { reason }, BurstState::Pending) => {
            end(state, c.burst_id, BurstState::Denied, Some(clip(reason)), now);
        }
        (BurstDecision::Revoke { reason }, _) => {
            end(state, c.burst_id, BurstState::Revoked, Some(clip(reason)), now);
        }
        (_, s) => return Rejection::conflict(format!("{} is {}", c.burst_id, s.as_str())),
    }
    Outcome::BurstUpdated(state.bursts[&c.burst_id].clone())
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_REASON_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
