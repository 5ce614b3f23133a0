//! Between the JSON shapes of the application layer and the protobuf messages.

use hodei_cluster::{ClusterStatus, Consistency};
use hodei_proto::v1 as pb;

use crate::dto::tenancy::{BurstBody, QuotaView, UsageBody};
use crate::dto::{JobBody, QuotaBody, SubmitJobBody, TenantBody};
use crate::workers::WorkerBody;

pub(super) fn consistency(read: Option<pb::ReadOptions>) -> Consistency {
    match read.map(|r| r.consistency()) {
        Some(pb::Consistency::Stale) => Consistency::Stale,
        _ => Consistency::Linearizable,
    }
}

pub(super) fn quota_from(q: pb::Quota) -> QuotaBody {
    QuotaBody { cpu_m: q.cpu_m, memory_mb: q.memory_mb, max_concurrent_jobs: q.max_concurrent_jobs }
}

fn quota(q: QuotaBody) -> pb::Quota {
    pb::Quota { cpu_m: q.cpu_m, memory_mb: q.memory_mb, max_concurrent_jobs: q.max_concurrent_jobs }
}

pub(super) fn tenant(t: TenantBody) -> pb::Tenant {
    pb::Tenant {
        id: t.id,
        name: t.name,
        email: t.email,
        quota: Some(quota(t.quota)),
        created_at_ms: t.created_at_ms,
        weight: t.weight,
        max_queued_jobs: t.max_queued_jobs,
        sla_wait_ms: t.sla_wait_ms,
    }
}

fn usage(u: UsageBody) -> pb::Usage {
    pb::Usage { cpu_m: u.cpu_m, memory_mb: u.memory_mb, jobs: u.jobs }
}

pub(super) fn quota_view(v: QuotaView, index: u64) -> pb::QuotaReply {
    pb::QuotaReply {
        tenant_id: v.tenant_id,
        quota: Some(quota(v.quota)),
        admitted: Some(usage(v.admitted)),
        running: Some(usage(v.running)),
        burst_cpu_m: v.burst_cpu_m,
        burst_memory_mb: v.burst_memory_mb,
        index,
    }
}

pub(super) fn burst(b: BurstBody) -> pb::Burst {
    pb::Burst {
        id: b.id,
        tenant_id: b.tenant_id,
        cpu_m: b.cpu_m,
        memory_mb: b.memory_mb,
        duration_ms: b.duration_ms,
        reason: b.reason,
        state: b.state,
        requested_at_ms: b.requested_at_ms,
        starts_at_ms: b.starts_at_ms,
        ends_at_ms: b.ends_at_ms,
        decision_reason: b.decision_reason,
        ended_at_ms: b.ended_at_ms,
    }
}

pub(super) fn worker(w: WorkerBody) -> pb::Worker {
    pb::Worker {
        id: w.id,
        pool: w.pool,
        name: w.name,
        state: w.state,
        cpu_m: w.cpu_m,
        memory_mb: w.memory_mb,
        used_cpu_m: w.used_cpu_m,
        used_memory_mb: w.used_memory_mb,
        jobs: w.jobs,
        labels: w.labels.into_iter().collect(),
        registered_at_ms: w.registered_at_ms,
    }
}

/// A list's `limit`: zero (unset on the wire) takes the REST default.
pub(super) fn limit(l: u32) -> Option<usize> {
    (l > 0).then_some(l as usize)
}

pub(super) fn submit(r: pb::SubmitJobRequest) -> (SubmitJobBody, Option<String>) {
    let body = SubmitJobBody {
        tenant_id: r.tenant_id,
        command: r.command,
        cpu_m: r.cpu_m,
        memory_mb: r.memory_mb,
        pool: r.pool,
        priority: Some(r.priority),
        env: Some(r.env.into_iter().collect()),
        timeout_s: r.timeout_s,
        max_retries: Some(r.max_retries),
        labels: Some(r.labels.into_iter().collect()),
    };
    (body, r.idempotency_key)
}

fn job_state(s: &str) -> pb::JobState {
    pb::JobState::from_str_name(s).unwrap_or(pb::JobState::Unspecified)
}

pub(super) fn job(j: JobBody) -> pb::Job {
    pb::Job {
        id: j.id,
        tenant_id: j.tenant_id,
        state: job_state(&j.state) as i32,
        command: j.command,
        cpu_m: j.cpu_m,
        memory_mb: j.memory_mb,
        pool: j.pool,
        priority: j.priority,
        env: j.env.into_iter().collect(),
        timeout_s: j.timeout_s,
        max_retries: j.max_retries,
        labels: j.labels.into_iter().collect(),
        submitted_at_ms: j.submitted_at_ms,
        updated_at_ms: j.updated_at_ms,
        idempotency_key: j.idempotency_key,
    }
}

pub(super) fn cluster(s: ClusterStatus) -> pb::ClusterReply {
    pb::ClusterReply {
        leader_id: s.leader_id,
        term: s.term,
        commit_index: s.commit_index,
        node_id: s.node_id,
        members: s
            .members
            .into_iter()
            .map(|m| pb::Member {
                id: m.id,
                peer_addr: m.peer_addr,
                http_addr: m.http_addr,
                grpc_addr: m.grpc_addr,
                voter: m.voter,
                applied_index: m.applied_index,
            })
            .collect(),
    }
}
