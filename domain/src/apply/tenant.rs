//! `CreateTenant` and `SetQuota`.

use crate::command::{CreateTenant, SetQuota};
use crate::ids::TenantId;
use crate::model::Tenant;
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

pub(crate) fn create(state: &mut State, now: u64, c: &CreateTenant) -> Outcome {
    if c.name.is_empty() {
        return Rejection::invalid("tenant name must not be empty");
    }
    if state.tenant_names.contains_key(&c.name) {
        return Rejection::conflict(format!("a tenant named {:?} already exists", c.name));
    }
    state.next_tenant += 1;
    let tenant = Tenant {
        id: TenantId(state.next_tenant),
        name: c.name.clone(),
        email: c.email.clone(),
        quota: c.quota.unwrap_or_default(),
        created_at_ms: now,
    };
    state.tenant_names.insert(tenant.name.clone(), tenant.id);
    state.tenants.insert(tenant.id, tenant.clone());
    Outcome::TenantCreated(tenant)
}

pub(crate) fn set_quota(state: &mut State, c: &SetQuota) -> Outcome {
    match state.tenants.get_mut(&c.tenant_id) {
        Some(t) => {
            t.quota = c.quota;
            Outcome::QuotaSet(t.clone())
        }
        None => Rejection::not_found(c.tenant_id.to_string()),
    }
}
