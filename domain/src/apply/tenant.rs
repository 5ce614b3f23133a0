//! `CreateTenant`, `SetQuota`, `UpdateTenant`, `DeleteTenant`.

use crate::command::{CreateTenant, DeleteTenant, SetQuota, UpdateTenant};
use crate::ids::TenantId;
use crate::model::{Quota, Tenant, MAX_WEIGHT};
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

/// Longest tenant name and contact email accepted.
pub const MAX_NAME_BYTES: usize = 253;

fn check_quota(q: &Quota) -> Result<(), Outcome> {
    if q.cpu_m == 0 || q.memory_mb == 0 || q.max_concurrent_jobs == 0 {
        return Err(Rejection::invalid("quota fields must be positive"));
    }
    Ok(())
}

pub(crate) fn create(state: &mut State, now: u64, c: &CreateTenant) -> Outcome {
    if c.name.is_empty() || c.name.len() > MAX_NAME_BYTES || c.email.len() > MAX_NAME_BYTES {
        return Rejection::invalid("tenant name must be 1 to 253 bytes and email at most 253");
    }
    if state.tenant_names.contains_key(&c.name) {
        return Rejection::conflict(format!("a tenant named {:?} already exists", c.name));
    }
    let quota = c.quota.unwrap_or(state.settings.default_tenant_quota);
    if let Err(o) = check_quota(&quota) {
        return o;
    }
    state.next_tenant += 1;
    let tenant = Tenant {
        id: TenantId(state.next_tenant),
        name: c.name.clone(),
        email: c.email.clone(),
        quota,
        created_at_ms: now,
        weight: 1,
        max_queued_jobs: state.settings.default_max_queued_jobs,
        sla_wait_ms: None,
        quota_violations: 0,
    };
    state.tenant_names.insert(tenant.name.clone(), tenant.id);
    state.tenants.insert(tenant.id, tenant.clone());
    Outcome::TenantCreated(tenant)
}

/// A lower quota does not evict admitted jobs: they finish, and new admissions
/// wait until usage is back under the new limit.
pub(crate) fn set_quota(state: &mut State, c: &SetQuota) -> Outcome {
    if let Err(o) = check_quota(&c.quota) {
        return o;
    }
    match state.tenants.get_mut(&c.tenant_id) {
        Some(t) => {
            t.quota = c.quota;
            Outcome::QuotaSet(t.clone())
        }
        None => Rejection::not_found(c.tenant_id.to_string()),
    }
}

pub(crate) fn update(state: &mut State, c: &UpdateTenant) -> Outcome {
    let Some(t) = state.tenants.get(&c.tenant_id) else {
        return Rejection::not_found(c.tenant_id.to_string());
    };
    if c.email.as_ref().is_some_and(|e| e.len() > MAX_NAME_BYTES) {
        return Rejection::invalid("email must be at most 253 bytes");
    }
    if c.weight.is_some_and(|w| !(1..=MAX_WEIGHT).contains(&w)) {
        return Rejection::invalid(format!("weight must be 1..={MAX_WEIGHT}"));
    }
    if c.max_queued_jobs.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
        return Rejection::invalid("max_queued_jobs must be 1..=1000000");
    }
    if c.sla_wait_ms.is_some_and(|w| w == Some(0)) {
        return Rejection::invalid("sla_wait_ms must be positive");
    }
    let reweighted = c.weight.is_some_and(|w| w != t.weight);
    let t = state.tenants.get_mut(&c.tenant_id).expect("checked above");
    if let Some(e) = &c.email {
        t.email = e.clone();
    }
    if let Some(w) = c.weight {
        t.weight = w;
    }
    if let Some(m) = c.max_queued_jobs {
        t.max_queued_jobs = m;
    }
    if let Some(s) = c.sla_wait_ms {
        t.sla_wait_ms = s;
    }
    let out = t.clone();
    if reweighted {
        super::refresh_head(state, c.tenant_id);
    }
    Outcome::TenantUpdated(out)
}

/// Refused while the tenant has any queued or placed job: cancelling them is an
/// explicit, separate decision. Finished jobs stay until retention prunes them.
pub(crate) fn delete(state: &mut State, c: &DeleteTenant) -> Outcome {
    let Some(t) = state.tenants.get(&c.tenant_id) else {
        return Rejection::not_found(c.tenant_id.to_string());
    };
    let active = state.usage(c.tenant_id).jobs;
    if active > 0 {
        return Rejection::conflict(format!("{} has {active} queued or running jobs", c.tenant_id));
    }
    let name = t.name.clone();
    state.tenant_names.remove(&name);
    state.tenants.remove(&c.tenant_id);
    state.sla_targets.tenants.remove(&c.tenant_id);
    state.queue.drop_tenant(c.tenant_id);
    if let Some(b) = state.live_bursts.remove(&c.tenant_id) {
        if let Some(b) = state.bursts.get_mut(&b) {
            b.state = crate::burst::BurstState::Revoked;
            b.decision_reason = Some("tenant deleted".into());
        }
    }
    Outcome::TenantDeleted(c.tenant_id)
}
