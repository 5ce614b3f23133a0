//! The application layer both front ends call: authorization, validation,
//! building domain commands, and turning outcomes into answers. No rule lives in
//! a handler, so REST and gRPC cannot drift apart.

pub mod observability;
pub mod pools;
pub mod reports;
pub mod sla;
pub mod tenancy;

use hodei_cluster::{ClusterNode, ClusterStatus, Consistency, MembershipChange};
use hodei_domain::command::{CancelJob, SubmitJob};
use hodei_domain::{Command, JobId, Outcome, State, TenantId};

use crate::auth::{Authenticator, Principal};
use crate::dto::{AddMemberBody, CreateTenantBody, JobBody, SubmitJobBody, TenantBody};
use crate::error::ApiError;

#[derive(Clone)]
pub struct App {
    pub cluster: ClusterNode,
    pub auth: Authenticator,
    /// Exposes the transport-filter route (tests and chaos only).
    pub fault_injection: bool,
}

/// Where a read was served: the applied index it saw and, for stale reads, how
/// long since this node last heard from a leader.
#[derive(Clone, Copy, Debug)]
pub struct ReadMeta {
    pub index: u64,
    pub consistency: Consistency,
    pub last_contact_ms: Option<u64>,
}

pub struct Read<T> {
    pub value: T,
    pub meta: ReadMeta,
}

impl App {
    /// Runs `f` on the local state once a read at `consistency` is allowed.
    pub async fn read<T>(
        &self,
        consistency: Consistency,
        f: impl FnOnce(&State) -> Result<T, ApiError>,
    ) -> Result<Read<T>, ApiError> {
        self.cluster.read_barrier(consistency).await?;
        let value = self.cluster.state_machine().read(f);
        // Applied indexes only grow: the state read is at most this index.
        let index = self.cluster.state_machine().applied_index();
        let last_contact_ms = match consistency {
            Consistency::Stale => self.cluster.last_leader_contact_ms(),
            Consistency::Linearizable => None,
        };
        Ok(Read { value: value?, meta: ReadMeta { index, consistency, last_contact_ms } })
    }

    async fn write(&self, command: Command) -> Result<(Outcome, u64), ApiError> {
        let kind = command.kind();
        let written = self.cluster.write(command).await?;
        match written.outcome {
            Outcome::Rejected(r) => {
                tracing::debug!(index = written.index, kind, rejection = ?r, "write refused by the state");
                Err(ApiError { index: Some(written.index), ..r.into() })
            }
            other => Ok((other, written.index)),
        }
    }

    pub async fn create_tenant(&self, p: &Principal, body: CreateTenantBody) -> Result<(TenantBody, u64), ApiError> {
        p.require_admin()?;
        let cmd = body.validate()?;
        match self.write(Command::CreateTenant(cmd)).await? {
            (Outcome::TenantCreated(t), index) => Ok(((&t).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn get_tenant(&self, p: &Principal, id: u64, c: Consistency) -> Result<Read<TenantBody>, ApiError> {
        let id = TenantId(id);
        if !p.may_see(id) {
            return Err(ApiError::not_found(format!("{id} not found")));
        }
        self.read(c, |s| s.tenant(id).map(TenantBody::from).ok_or_else(|| ApiError::not_found(format!("{id} not found"))))
            .await
    }

    pub async fn submit_job(
        &self,
        p: &Principal,
        mut body: SubmitJobBody,
        idempotency_key: Option<String>,
    ) -> Result<(JobBody, u64), ApiError> {
        let tenant = match (body.tenant_id.take(), p.tenant) {
            (Some(t), _) => TenantId(t),
            (None, Some(t)) => t,
            (None, None) => return Err(ApiError::invalid_field("tenant_id", "required with a token that names no tenant")),
        };
        if !p.may_act_for(tenant) {
            return Err(ApiError::forbidden(format!("this token may not submit jobs for {tenant}")));
        }
        let spec = body.validate_spec()?;
        let cmd = SubmitJob { tenant_id: tenant, spec, idempotency_key };
        match self.write(Command::SubmitJob(cmd)).await? {
            (Outcome::JobSubmitted(j), index) => Ok(((&j).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn get_job(&self, p: &Principal, id: u64, c: Consistency) -> Result<Read<JobBody>, ApiError> {
        let id = JobId(id);
        self.read(c, |s| match s.job(id) {
            Some(j) if p.may_see(j.tenant_id) => Ok(JobBody::from(j)),
            _ => Err(ApiError::not_found(format!("{id} not found"))),
        })
        .await
    }

    pub async fn cancel_job(&self, p: &Principal, id: u64) -> Result<(JobBody, u64), ApiError> {
        if !p.is_admin() && p.tenant.is_none() {
            return Err(ApiError::forbidden("this token may not cancel jobs"));
        }
        // A tenant's cancel is scoped to its own jobs inside apply: another
        // tenant's job answers not found, exactly like an unknown id.
        let tenant_id = if p.is_admin() { None } else { p.tenant };
        match self.write(Command::CancelJob(CancelJob { job_id: JobId(id), tenant_id })).await? {
            (Outcome::JobCancelled(j), index) => Ok(((&j).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn cluster_status(&self) -> ClusterStatus {
        self.cluster.cluster_status().await
    }

    pub async fn add_member(&self, p: &Principal, body: AddMemberBody) -> Result<ClusterStatus, ApiError> {
        p.require_admin()?;
        if body.id == 0 {
            return Err(ApiError::invalid_field("id", "node ids start at 1"));
        }
        for (field, addr) in [("peer_addr", &body.peer_addr), ("http_addr", &body.http_addr), ("grpc_addr", &body.grpc_addr)] {
            if (field == "peer_addr" || !addr.is_empty()) && !valid_host_port(addr) {
                return Err(ApiError::invalid_field(field, "must be host:port"));
            }
        }
        let node = hodei_cluster::NodeInfo {
            peer_addr: body.peer_addr,
            http_addr: body.http_addr,
            grpc_addr: body.grpc_addr,
        };
        self.cluster
            .change_membership(MembershipChange::Add { id: body.id, node, learner_only: body.learner_only })
            .await?;
        Ok(self.cluster_status().await)
    }

    /// A consistent backup of the whole state (admin): a snapshot covering every
    /// write acknowledged before the call, and the index it covers.
    pub async fn snapshot(&self, p: &Principal) -> Result<(Vec<u8>, u64), ApiError> {
        p.require_admin()?;
        Ok(self.cluster.backup().await?)
    }

    pub async fn remove_member(&self, p: &Principal, id: u64) -> Result<ClusterStatus, ApiError> {
        p.require_admin()?;
        self.cluster.change_membership(MembershipChange::Remove { id }).await.map_err(|e| match e {
            hodei_cluster::ClusterError::Invalid(m) if m.contains("not a member") => ApiError::not_found(m),
            other => other.into(),
        })?;
        Ok(self.cluster_status().await)
    }
}

fn valid_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && host.len() <= 253 && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

fn unexpected(o: Outcome) -> ApiError {
    tracing::error!(outcome = ?o, "apply answered an unexpected outcome");
    ApiError::internal("unexpected outcome from the state machine")
}
