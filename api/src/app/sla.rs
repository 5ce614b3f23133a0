//! Wait targets per priority, cluster-wide or per tenant: admins set them,
//! anyone who may see the scope reads them. Setting them needs cluster
//! version 4 (every member upgraded); before that the write is refused as
//! retryable by the cluster's version gate.

use hodei_cluster::Consistency;
use hodei_domain::{Command, Outcome, State, TenantId};

use super::{unexpected, App, Read};
use crate::auth::Principal;
use crate::dto::sla::{SlaTargetsBody, SlaTargetsView};
use crate::error::ApiError;

fn view(s: &State, tenant: Option<TenantId>) -> Result<SlaTargetsView, ApiError> {
    SlaTargetsView::of(s, tenant).ok_or_else(|| ApiError::not_found(format!("{} not found", tenant.expect("only a tenant can be missing"))))
}

impl App {
    /// The targets of the cluster (`tenant: None`) or of one tenant.
    pub async fn sla_targets(&self, p: &Principal, tenant: Option<u64>, c: Consistency) -> Result<Read<SlaTargetsView>, ApiError> {
        let tenant = tenant.map(TenantId);
        if tenant.is_some_and(|t| !p.may_see(t)) {
            return Err(ApiError::not_found(format!("{} not found", tenant.expect("checked"))));
        }
        self.read(c, |s| view(s, tenant)).await
    }

    /// Replaces one scope's targets; answers the scope as it now stands.
    pub async fn set_sla_targets(&self, p: &Principal, tenant: Option<u64>, body: SlaTargetsBody) -> Result<(SlaTargetsView, u64), ApiError> {
        p.require_admin()?;
        let tenant = tenant.map(TenantId);
        let cmd = body.validate(tenant)?;
        match self.write(Command::SetSlaTargets(cmd)).await? {
            (Outcome::SlaTargetsSet { .. }, index) => {
                // A linearizable read: this node's copy includes the write
                // even when a leader elsewhere applied it.
                let read = self.read(Consistency::Linearizable, |s| view(s, tenant)).await?;
                Ok((read.value, index))
            }
            (other, _) => Err(unexpected(other)),
        }
    }
}
