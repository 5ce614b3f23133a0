//! Burst leases: temporary extra cpu and memory for one tenant.
//!
//! Policy (`burst_capacity`): a tenant asks for extra `cpu_m`/`memory_mb` for a
//! duration with a reason. The extra is capped at `max_overage_percentage` of
//! its base quota and the duration at `burst_duration_minutes`. Without
//! `require_approval` the lease starts at once; with it, the request waits for an
//! admin to approve (the lease starts then) or deny. A tenant holds at most one
//! live (pending or active) lease. A lease ends by itself at `ends_at_ms`: every
//! check compares with the command's time, and `Tick` records the end. Revoking
//! ends it at once. Jobs placed under a lease keep running to completion; after
//! the end, only placements within the base quota are made.

use crate::ids::{BurstId, TenantId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BurstState {
    Pending,
    Active,
    Denied,
    Revoked,
    Expired,
}

impl BurstState {
    pub fn as_str(self) -> &'static str {
        match self {
            BurstState::Pending => "PENDING",
            BurstState::Active => "ACTIVE",
            BurstState::Denied => "DENIED",
            BurstState::Revoked => "REVOKED",
            BurstState::Expired => "EXPIRED",
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, BurstState::Pending | BurstState::Active)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    pub id: BurstId,
    pub tenant_id: TenantId,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub duration_ms: u64,
    pub reason: String,
    pub state: BurstState,
    pub requested_at_ms: u64,
    /// Set when the lease starts (at once, or on approval).
    pub starts_at_ms: Option<u64>,
    pub ends_at_ms: Option<u64>,
    /// Why it was denied or revoked.
    pub decision_reason: Option<String>,
    /// When it stopped being live (denied, revoked, expired).
    pub ended_at_ms: Option<u64>,
}

impl Burst {
    /// Does this lease add capacity at `now_ms`? An active lease past its end
    /// adds nothing even before `Tick` records the expiry.
    pub fn is_active_at(&self, now_ms: u64) -> bool {
        self.state == BurstState::Active && self.ends_at_ms.is_some_and(|end| now_ms < end)
    }

    /// Has this lease's time run out (active past its end, or pending longer than
    /// its duration: an unanswered request lapses)?
    pub fn is_due(&self, now_ms: u64) -> bool {
        match self.state {
            BurstState::Active => self.ends_at_ms.is_some_and(|end| now_ms >= end),
            BurstState::Pending => now_ms >= self.requested_at_ms.saturating_add(self.duration_ms),
            _ => false,
        }
    }
}
