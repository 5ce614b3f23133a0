//! Tenant changes, quotas and burst leases. Admins change tenants and quotas
//! and decide bursts; a tenant reads its own quota and asks for bursts. As
//! everywhere, another tenant's objects answer 404, never 403.

use hodei_cluster::Consistency;
use hodei_domain::command::{BurstDecision, DecideBurst, DeleteTenant, SetQuota};
use hodei_domain::{BurstId, Command, Outcome, TenantId};

use super::{unexpected, App, Read};
use crate::auth::Principal;
use crate::dto::tenancy::{BurstBody, BurstRequestBody, DecisionBody, QuotaView, UpdateTenantBody};
use crate::dto::{QuotaBody, TenantBody};
use crate::error::ApiError;

/// What an admin may do to a burst lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BurstAction {
    Approve,
    Deny,
    Revoke,
}

impl App {
    /// 404 for a tenant the caller may not see, so it cannot learn it exists.
    fn visible(p: &Principal, id: TenantId) -> Result<(), ApiError> {
        if p.may_see(id) {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("{id} not found")))
        }
    }

    pub async fn update_tenant(&self, p: &Principal, id: u64, body: UpdateTenantBody) -> Result<(TenantBody, u64), ApiError> {
        p.require_admin()?;
        let cmd = body.validate(TenantId(id))?;
        match self.write(Command::UpdateTenant(cmd)).await? {
            (Outcome::TenantUpdated(t), index) => Ok(((&t).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    /// Refused (409) while the tenant has queued or placed jobs.
    pub async fn delete_tenant(&self, p: &Principal, id: u64) -> Result<u64, ApiError> {
        p.require_admin()?;
        match self.write(Command::DeleteTenant(DeleteTenant { tenant_id: TenantId(id) })).await? {
            (Outcome::TenantDeleted(_), index) => Ok(index),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn get_quota(&self, p: &Principal, id: u64, c: Consistency) -> Result<Read<QuotaView>, ApiError> {
        let id = TenantId(id);
        Self::visible(p, id)?;
        self.read(c, |s| {
            let t = s.tenant(id).ok_or_else(|| ApiError::not_found(format!("{id} not found")))?;
            let (burst_cpu_m, burst_memory_mb) = s.burst_allowance(id, s.clock_ms());
            Ok(QuotaView {
                tenant_id: id.0,
                quota: (&t.quota).into(),
                admitted: s.usage(id).into(),
                running: s.running_usage(id).into(),
                burst_cpu_m,
                burst_memory_mb,
            })
        })
        .await
    }

    pub async fn set_quota(&self, p: &Principal, id: u64, body: QuotaBody) -> Result<(TenantBody, u64), ApiError> {
        p.require_admin()?;
        let quota = body.validate()?;
        match self.write(Command::SetQuota(SetQuota { tenant_id: TenantId(id), quota })).await? {
            (Outcome::QuotaSet(t), index) => Ok(((&t).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn request_burst(&self, p: &Principal, id: u64, body: BurstRequestBody) -> Result<(BurstBody, u64), ApiError> {
        let id = TenantId(id);
        Self::visible(p, id)?;
        if !p.may_act_for(id) {
            return Err(ApiError::forbidden(format!("this token may not request bursts for {id}")));
        }
        let cmd = body.validate(id)?;
        match self.write(Command::RequestBurst(cmd)).await? {
            (Outcome::BurstUpdated(b), index) => Ok(((&b).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    /// The tenant's leases, newest first (bounded by retention).
    pub async fn list_bursts(&self, p: &Principal, id: u64, c: Consistency) -> Result<Read<Vec<BurstBody>>, ApiError> {
        let id = TenantId(id);
        Self::visible(p, id)?;
        self.read(c, |s| {
            s.tenant(id).ok_or_else(|| ApiError::not_found(format!("{id} not found")))?;
            let mut out: Vec<BurstBody> = s.bursts().filter(|b| b.tenant_id == id).map(BurstBody::from).collect();
            out.reverse();
            out.truncate(crate::list::MAX_LIMIT);
            Ok(out)
        })
        .await
    }

    pub async fn decide_burst(
        &self,
        p: &Principal,
        tenant: u64,
        burst: u64,
        action: BurstAction,
        body: DecisionBody,
    ) -> Result<(BurstBody, u64), ApiError> {
        p.require_admin()?;
        if let Some(r) = &body.reason {
            crate::dto::tenancy::check_reason("reason", r)?;
        }
        let (tenant, burst_id) = (TenantId(tenant), BurstId(burst));
        // The path names the tenant: a lease of another tenant is not found here.
        let owner = self.read(Consistency::Linearizable, |s| Ok(s.burst(burst_id).map(|b| b.tenant_id))).await?.value;
        if owner != Some(tenant) {
            return Err(ApiError::not_found(format!("{burst_id} of {tenant} not found")));
        }
        let reason = body.reason.unwrap_or_else(|| format!("{action:?} by {}", p.subject).to_lowercase());
        let decision = match action {
            BurstAction::Approve => BurstDecision::Approve,
            BurstAction::Deny => BurstDecision::Deny { reason },
            BurstAction::Revoke => BurstDecision::Revoke { reason },
        };
        match self.write(Command::DecideBurst(DecideBurst { burst_id, decision })).await? {
            (Outcome::BurstUpdated(b), index) => Ok(((&b).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }
}
