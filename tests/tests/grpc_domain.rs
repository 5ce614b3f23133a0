//! The domain's gRPC surface on a live 3-node cluster: tenant changes, quotas,
//! bursts, SLA, jobs and the queue; pools, cost, metrics, workers and the
//! cluster snapshot; health and reflection as stock tools use them. Every RPC
//! goes through a follower and through the leader; tenant tokens see only their
//! own tenant, with the same answer REST gives; refusals carry decoded
//! `google.rpc` details.

use reqwest::Method;
use serde_json::json;
use tonic::Code;

use hodei_proto::v1 as pb;
use hodei_proto::v1::cluster_service_client::ClusterServiceClient;
use hodei_proto::v1::cost_service_client::CostServiceClient;
use hodei_proto::v1::job_service_client::JobServiceClient;
use hodei_proto::v1::metrics_service_client::MetricsServiceClient;
use hodei_proto::v1::pool_service_client::PoolServiceClient;
use hodei_proto::v1::tenant_service_client::TenantServiceClient;
use hodei_proto::v1::worker_service_client::WorkerServiceClient;
use hodei_tests::grpc::{authed, bad_field, channel, must_fail};
use hodei_tests::{Cluster, ClusterOptions};

type Tenants = TenantServiceClient<tonic::transport::Channel>;
type Jobs = JobServiceClient<tonic::transport::Channel>;

struct Node {
    tenants: Tenants,
    jobs: Jobs,
}

async fn node(c: &Cluster, i: usize) -> Node {
    let ch = channel(c, i).await;
    Node { tenants: TenantServiceClient::new(ch.clone()), jobs: JobServiceClient::new(ch) }
}

fn struct_str<'a>(s: &'a prost_types::Struct, key: &str) -> Option<&'a str> {
    match s.fields.get(key)?.kind.as_ref()? {
        prost_types::value::Kind::StringValue(v) => Some(v),
        _ => None,
    }
}

fn struct_u64(s: &prost_types::Struct, key: &str) -> Option<u64> {
    match s.fields.get(key)?.kind.as_ref()? {
        prost_types::value::Kind::NumberValue(n) => Some(*n as u64),
        _ => None,
    }
}

async fn create(n: &mut Node, c: &Cluster, name: &str) -> u64 {
    let req = pb::CreateTenantRequest { name: name.into(), email: format!("{name}@example.com"), quota: None };
    n.tenants.create_tenant(authed(req, &c.admin)).await.expect("create tenant").into_inner().tenant.expect("a tenant").id
}

fn job(tenant: u64) -> pb::SubmitJobRequest {
    pb::SubmitJobRequest { tenant_id: Some(tenant), command: vec!["true".into()], cpu_m: 100, memory_mb: 64, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_quotas_bursts_and_jobs_through_leader_and_follower() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let l = c.index_of(c.wait_for_leader().await);
    let f = (l + 1) % 3;
    let (mut lead, mut fol) = (node(&c, l).await, node(&c, f).await);
    let admin = c.admin.clone();
    let acme = create(&mut fol, &c, "acme").await;
    let globex = create(&mut lead, &c, "globex").await;
    let (acme_token, globex_token) = (c.tenant_token(acme), c.tenant_token(globex));

    // JWT on every call.
    let r = fol.tenants.list_tenants(tonic::Request::new(pb::ListTenantsRequest::default())).await;
    must_fail(r, Code::Unauthenticated, "a call without a token");

    // UpdateTenant through the follower, read back through the leader.
    let up = pb::UpdateTenantRequest { id: acme, weight: Some(3), max_queued_jobs: Some(2), ..Default::default() };
    let t = fol.tenants.update_tenant(authed(up, &admin)).await.expect("update tenant").into_inner();
    let t = t.tenant.expect("a tenant");
    assert_eq!((t.weight, t.max_queued_jobs), (3, 2));
    let read = lead.tenants.get_tenant(authed(pb::GetTenantRequest { id: acme, read: None }, &admin)).await.expect("get").into_inner();
    assert_eq!(read.tenant.expect("a tenant").max_queued_jobs, 2, "the leader reads the follower's write");
    let bad = pb::UpdateTenantRequest { id: acme, weight: Some(0), ..Default::default() };
    let d = must_fail(lead.tenants.update_tenant(authed(bad, &admin)).await, Code::InvalidArgument, "weight 0");
    assert_eq!(bad_field(&d), "weight");
    let rest = c.client.call(Method::PATCH, &c.url(l, &format!("/api/v1/tenants/{acme}")), Some(&admin), Some(&json!({"weight": 0})), &[]).await.unwrap();
    assert_eq!((rest.status, rest.json["error"]["details"]["field"].as_str()), (400, Some("weight")), "REST names the same field");
    must_fail(lead.tenants.update_tenant(authed(pb::UpdateTenantRequest { id: acme, ..Default::default() }, &admin)).await, Code::InvalidArgument, "nothing to change");
    let up = pb::UpdateTenantRequest { id: acme, weight: Some(9), ..Default::default() };
    must_fail(fol.tenants.update_tenant(authed(up, &acme_token)).await, Code::PermissionDenied, "a tenant changing itself");

    // Quotas: set through the leader, read through the follower by the tenant itself.
    let quota = pb::Quota { cpu_m: 2000, memory_mb: 4096, max_concurrent_jobs: 2 };
    let set = pb::SetQuotaRequest { id: acme, quota: Some(quota) };
    lead.tenants.set_quota(authed(set.clone(), &admin)).await.expect("set quota");
    let q = fol.tenants.get_quota(authed(pb::GetQuotaRequest { id: acme, read: None }, &acme_token)).await.expect("own quota").into_inner();
    assert_eq!((q.tenant_id, q.quota), (acme, Some(quota)));
    let r = fol.tenants.get_quota(authed(pb::GetQuotaRequest { id: acme, read: None }, &globex_token)).await;
    must_fail(r, Code::NotFound, "another tenant's quota");
    let rest = c.client.call(Method::GET, &c.url(f, &format!("/api/v1/tenants/{acme}/quota")), Some(&globex_token), None, &[]).await.unwrap();
    assert_eq!(rest.status, 404, "REST answers the same: {}", rest.json);
    must_fail(lead.tenants.set_quota(authed(set, &acme_token)).await, Code::PermissionDenied, "a tenant setting its quota");
    let d = must_fail(lead.tenants.set_quota(authed(pb::SetQuotaRequest { id: acme, quota: None }, &admin)).await, Code::InvalidArgument, "no quota");
    assert_eq!(bad_field(&d), "quota");
    let zero = pb::SetQuotaRequest { id: acme, quota: Some(pb::Quota { cpu_m: 0, ..quota }) };
    let d = must_fail(fol.tenants.set_quota(authed(zero, &admin)).await, Code::InvalidArgument, "zero cpu");
    assert_eq!(bad_field(&d), "quota.cpu_m");

    // Listing: a tenant sees itself; an admin pages through everyone.
    let own = fol.tenants.list_tenants(authed(pb::ListTenantsRequest::default(), &acme_token)).await.expect("list").into_inner();
    assert_eq!(own.tenants.iter().map(|t| t.id).collect::<Vec<_>>(), vec![acme]);
    let page = lead.tenants.list_tenants(authed(pb::ListTenantsRequest { limit: 1, ..Default::default() }, &admin)).await.expect("page").into_inner();
    assert_eq!(page.tenants.len(), 1);
    let next = pb::ListTenantsRequest { limit: 1000, cursor: page.next_cursor, read: None };
    let rest_of = fol.tenants.list_tenants(authed(next, &admin)).await.expect("next page").into_inner();
    assert!(rest_of.tenants.iter().all(|t| t.id > page.tenants[0].id) && !rest_of.tenants.is_empty());

    // Bursts: asked by the tenant, listed, decided by an admin only.
    let ask = pb::RequestBurstRequest { tenant_id: acme, requested_cpu_m: 1000, requested_memory_mb: 1024, duration_minutes: 30, reason: "month end".into() };
    let b = lead.tenants.request_burst(authed(ask.clone(), &acme_token)).await.expect("burst").into_inner().burst.expect("a burst");
    assert_eq!(b.state, "ACTIVE", "granted at once without require_approval");
    must_fail(fol.tenants.request_burst(authed(ask, &globex_token)).await, Code::NotFound, "a burst for another tenant");
    let list = fol.tenants.list_bursts(authed(pb::ListBurstsRequest { tenant_id: acme, read: None }, &acme_token)).await.expect("bursts").into_inner();
    assert_eq!(list.bursts.first().map(|x| x.id), Some(b.id));
    let r = lead.tenants.list_bursts(authed(pb::ListBurstsRequest { tenant_id: acme, read: None }, &globex_token)).await;
    must_fail(r, Code::NotFound, "another tenant's bursts");
    let decide = |tenant_id, action: pb::BurstAction| pb::DecideBurstRequest { tenant_id, burst_id: b.id, action: action as i32, reason: Some("over budget".into()) };
    must_fail(fol.tenants.decide_burst(authed(decide(acme, pb::BurstAction::Revoke), &acme_token)).await, Code::PermissionDenied, "a tenant deciding");
    must_fail(fol.tenants.decide_burst(authed(decide(globex, pb::BurstAction::Revoke), &admin)).await, Code::NotFound, "a burst under the wrong tenant");
    let d = must_fail(lead.tenants.decide_burst(authed(decide(acme, pb::BurstAction::Unspecified), &admin)).await, Code::InvalidArgument, "no action");
    assert_eq!(bad_field(&d), "action");
    let revoked = fol.tenants.decide_burst(authed(decide(acme, pb::BurstAction::Revoke), &admin)).await.expect("revoke").into_inner();
    assert_eq!(revoked.burst.expect("a burst").state, "REVOKED");
    must_fail(lead.tenants.decide_burst(authed(decide(acme, pb::BurstAction::Approve), &admin)).await, Code::FailedPrecondition, "approving a revoked lease");

    // Jobs: the queued-job bound (2) refuses a third with a QuotaFailure.
    let first = fol.jobs.submit_job(authed(job(acme), &acme_token)).await.expect("first").into_inner().job.expect("a job");
    lead.jobs.submit_job(authed(job(acme), &acme_token)).await.expect("second");
    let d = must_fail(fol.jobs.submit_job(authed(job(acme), &acme_token)).await, Code::ResourceExhausted, "a third queued job");
    let v = &d.quota_failure().expect("a QuotaFailure").violations[0];
    assert_eq!((v.subject.as_str(), v.quota_metric.as_str(), v.quota_value), ("queued_jobs", "queued_jobs", 2));
    assert_eq!(v.quota_dimensions.get("used").map(String::as_str), Some("2"));
    assert!(d.retry_info().and_then(|r| r.retry_delay).is_some(), "waiting helps: a RetryInfo");
    assert_eq!(d.error_info().unwrap().reason, "QUOTA_EXCEEDED");
    let empty = pb::SubmitJobRequest { command: vec![], ..job(acme) };
    let d = must_fail(lead.jobs.submit_job(authed(empty, &acme_token)).await, Code::InvalidArgument, "an empty command");
    assert_eq!(bad_field(&d), "command");
    must_fail(lead.jobs.submit_job(authed(job(acme), &globex_token)).await, Code::PermissionDenied, "submitting for another tenant");

    // Another tenant learns nothing of acme's jobs: not found, like an unknown id.
    must_fail(lead.jobs.get_job(authed(pb::GetJobRequest { id: first.id, read: None }, &globex_token)).await, Code::NotFound, "get");
    must_fail(fol.jobs.cancel_job(authed(pb::CancelJobRequest { id: first.id }, &globex_token)).await, Code::NotFound, "cancel");
    must_fail(lead.jobs.explain_job(authed(pb::ExplainJobRequest { id: first.id, read: None }, &globex_token)).await, Code::NotFound, "explain");
    must_fail(fol.jobs.get_job_logs(authed(pb::GetJobLogsRequest { id: first.id, tail: None }, &globex_token)).await, Code::NotFound, "logs");
    let rest = c.client.call(Method::POST, &c.url(l, &format!("/api/v1/jobs/{}/cancel", first.id)), Some(&globex_token), None, &[]).await.unwrap();
    assert_eq!(rest.status, 404, "REST answers the same: {}", rest.json);
    let theirs = pb::ListJobsRequest { tenant_id: Some(acme), ..Default::default() };
    assert!(fol.jobs.list_jobs(authed(theirs.clone(), &globex_token)).await.expect("list").into_inner().jobs.is_empty());
    let mine = lead.jobs.list_jobs(authed(pb::ListJobsRequest { state: Some("PENDING".into()), ..theirs }, &acme_token)).await.expect("list").into_inner();
    assert_eq!(mine.jobs.len(), 2);
    let bad = pb::ListJobsRequest { state: Some("nope".into()), ..Default::default() };
    assert_eq!(bad_field(&must_fail(fol.jobs.list_jobs(authed(bad, &acme_token)).await, Code::InvalidArgument, "a bad state")), "state");

    // Why it waits, the queue, and SLA, in the REST JSON shape.
    let why = lead.jobs.explain_job(authed(pb::ExplainJobRequest { id: first.id, read: None }, &acme_token)).await.expect("explain").into_inner();
    assert!(why.view.expect("a view").fields.contains_key("reason"), "a reason is given");
    must_fail(fol.jobs.get_job_logs(authed(pb::GetJobLogsRequest { id: first.id, tail: None }, &acme_token)).await, Code::NotFound, "logs before a run");
    let queue = fol.jobs.get_queue(authed(pb::GetQueueRequest { read: None }, &acme_token)).await.expect("queue").into_inner();
    assert_eq!(struct_u64(&queue.view.expect("a view"), "queued_jobs"), Some(2));
    let sla = fol.tenants.get_sla(authed(pb::GetSlaRequest::default(), &acme_token)).await.expect("own sla").into_inner();
    assert_eq!(struct_u64(&sla.view.expect("a view"), "tenant_id"), Some(acme));
    let other = pb::GetSlaRequest { tenant_id: Some(globex), ..Default::default() };
    must_fail(lead.tenants.get_sla(authed(other.clone(), &acme_token)).await, Code::NotFound, "another tenant's sla");
    lead.tenants.get_sla(authed(other, &admin)).await.expect("an admin reads any sla");

    // Wait targets per priority: an admin sets a tenant's through a follower;
    // the answer is the REST view, with what each priority resolves to.
    let targets = pb::SetSlaTargetsRequest { tenant_id: Some(acme), by_priority: [(3, 7_000), (-2, 90_000)].into_iter().collect() };
    must_fail(fol.tenants.set_sla_targets(authed(targets.clone(), &acme_token)).await, Code::PermissionDenied, "a tenant setting targets");
    let set = fol.tenants.set_sla_targets(authed(targets, &admin)).await.expect("set targets").into_inner();
    let effective = match set.view.expect("a view").fields["effective_by_priority"].kind.clone() {
        Some(prost_types::value::Kind::StructValue(s)) => s,
        other => panic!("effective_by_priority: {other:?}"),
    };
    assert_eq!((struct_u64(&effective, "3"), struct_u64(&effective, "-2")), (Some(7_000), Some(90_000)));
    let read = pb::GetSlaTargetsRequest { tenant_id: Some(acme), read: None };
    let own = lead.tenants.get_sla_targets(authed(read, &acme_token)).await.expect("own targets").into_inner();
    assert_eq!(struct_u64(&own.view.expect("a view"), "tenant_id"), Some(acme));
    let bad = pb::SetSlaTargetsRequest { tenant_id: None, by_priority: [(5_000, 1)].into_iter().collect() };
    assert_eq!(bad_field(&must_fail(lead.tenants.set_sla_targets(authed(bad, &admin)).await, Code::InvalidArgument, "a priority out of range")), "by_priority");
    let by_priority = pb::GetSlaRequest { priority: Some(3), ..Default::default() };
    let sla = fol.tenants.get_sla(authed(by_priority, &acme_token)).await.expect("sla of a priority").into_inner();
    assert_eq!(struct_u64(&sla.view.expect("a view"), "priority"), Some(3));

    // A tenant with queued jobs cannot go; cancelled, it can.
    must_fail(fol.tenants.delete_tenant(authed(pb::DeleteTenantRequest { id: acme }, &admin)).await, Code::FailedPrecondition, "delete busy");
    for j in mine.jobs {
        let done = lead.jobs.cancel_job(authed(pb::CancelJobRequest { id: j.id }, &acme_token)).await.expect("cancel").into_inner();
        assert_eq!(done.job.expect("a job").state, pb::JobState::Cancelled as i32);
    }
    must_fail(fol.tenants.delete_tenant(authed(pb::DeleteTenantRequest { id: acme }, &acme_token)).await, Code::PermissionDenied, "self-delete");
    let del = fol.tenants.delete_tenant(authed(pb::DeleteTenantRequest { id: acme }, &admin)).await.expect("delete").into_inner();
    assert_eq!(del.deleted, acme);
    must_fail(lead.tenants.get_tenant(authed(pb::GetTenantRequest { id: acme, read: None }, &admin)).await, Code::NotFound, "deleted");
    c.wait_for_converged().await;
}

/// The services a reflection endpoint lists; `$v` is `v1` or `v1alpha`.
macro_rules! reflected_services {
    ($v:ident, $ch:expr) => {{
        use tonic_reflection::pb::$v::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$v::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$v::server_reflection_response::MessageResponse;
        let req = tonic_reflection::pb::$v::ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
        let reply = ServerReflectionClient::new($ch).server_reflection_info(tokio_stream::iter(vec![req])).await;
        let mut replies = reply.expect(concat!("reflection ", stringify!($v))).into_inner();
        match replies.message().await.expect("a reply").and_then(|r| r.message_response) {
            Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect::<Vec<String>>(),
            other => panic!("not a service list: {other:?}"),
        }
    }};
}

fn gpu_pool() -> pb::CreatePoolRequest {
    let policy = pb::ScalingPolicy { name: "queue".into(), trigger: "queue_depth > 5".into(), action: "scale_up".into(), cooldown: Some("1m".into()) };
    pb::CreatePoolRequest {
        id: "gpu".into(),
        pool_type: Some("dynamic".into()),
        max_size: 4,
        labels: [("gpu".to_string(), "a100".to_string())].into(),
        scaling_policies: vec![policy],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_cost_metrics_workers_cluster_health_and_reflection() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let l = c.index_of(c.wait_for_leader().await);
    let f = (l + 1) % 3;
    let (lch, fch) = (channel(&c, l).await, channel(&c, f).await);
    let (mut pools_l, mut pools_f) = (PoolServiceClient::new(lch.clone()), PoolServiceClient::new(fch.clone()));
    let admin = c.admin.clone();
    let acme = create(&mut node(&c, f).await, &c, "acme").await;
    let globex = create(&mut node(&c, l).await, &c, "globex").await;
    let acme_token = c.tenant_token(acme);

    // Pools: declared through the follower, read through the leader (by any role).
    let created = pools_f.create_pool(authed(gpu_pool(), &admin)).await.expect("create pool").into_inner();
    assert_eq!(created.pool.expect("a pool").pool_type, "dynamic");
    let got = pools_l.get_pool(authed(pb::PoolRequest { id: "gpu".into(), read: None }, &acme_token)).await.expect("get").into_inner();
    assert_eq!(got.pool.expect("a pool").scaling_policies[0].trigger, "queue_depth > 5");
    let dup = pools_l.create_pool(authed(gpu_pool(), &admin)).await;
    must_fail(dup, Code::FailedPrecondition, "a second pool gpu");
    must_fail(pools_f.create_pool(authed(gpu_pool(), &acme_token)).await, Code::PermissionDenied, "a tenant declaring a pool");
    let bad = pb::CreatePoolRequest { id: "bad".into(), min_size: 5, max_size: 1, ..Default::default() };
    assert_eq!(bad_field(&must_fail(pools_l.create_pool(authed(bad, &admin)).await, Code::InvalidArgument, "min > max")), "min_size");
    let up = pb::UpdatePoolRequest { id: "gpu".into(), max_size: Some(8), labels: Some(pb::Labels::default()), ..Default::default() };
    let p = pools_f.update_pool(authed(up, &admin)).await.expect("update").into_inner().pool.expect("a pool");
    assert_eq!((p.max_size, p.labels.len()), (8, 0), "labels present and empty clear them");
    let cpu = pb::ScalingPolicy { name: "cpu".into(), trigger: "cpu_utilization > 80".into(), action: "scale_up".into(), cooldown: None };
    pools_l.set_scaling_policies(authed(pb::SetPoliciesRequest { id: "gpu".into(), scaling_policies: vec![cpu.clone()] }, &admin)).await.expect("policies");
    let got = pools_f.get_scaling_policies(authed(pb::PoolRequest { id: "gpu".into(), read: None }, &admin)).await.expect("read policies").into_inner();
    assert_eq!(got.scaling_policies, vec![cpu.clone()]);
    let heat = pb::ScalingPolicy { trigger: "heat > 1".into(), ..cpu };
    let r = pools_l.set_scaling_policies(authed(pb::SetPoliciesRequest { id: "gpu".into(), scaling_policies: vec![heat] }, &admin)).await;
    must_fail(r, Code::InvalidArgument, "an unknown trigger metric");
    let scale = pb::ScalePoolRequest { id: "gpu".into(), target_size: 3, reason: "load test".into() };
    assert_eq!(pools_f.scale_pool(authed(scale, &admin)).await.expect("scale").into_inner().pool.expect("a pool").target_size, 3);
    let hist = pools_l.get_scaling_history(authed(pb::PoolRequest { id: "gpu".into(), read: None }, &admin)).await.expect("history").into_inner();
    assert!(hist.events.iter().any(|e| e.reason == "load test" && e.to == 3 && !e.automatic), "{hist:?}");
    let st = pools_f.get_pool_status(authed(pb::PoolRequest { id: "gpu".into(), read: None }, &acme_token)).await.expect("status").into_inner();
    assert_eq!((st.workers_active, st.pool.map(|p| p.id)), (0, Some("gpu".to_string())));
    let m = pools_l.get_pool_metrics(authed(pb::PoolRequest { id: "gpu".into(), read: None }, &admin)).await.expect("metrics").into_inner();
    assert_eq!(m.pool_id, "gpu");
    assert!(pools_f.list_pools(authed(pb::ListPoolsRequest::default(), &admin)).await.expect("list").into_inner().pools.len() >= 2);
    must_fail(pools_l.get_pool(authed(pb::PoolRequest { id: "nope".into(), read: None }, &admin)).await, Code::NotFound, "an unknown pool");

    // Cost and metrics views, in the caller's scope.
    let (mut cost_l, mut cost_f) = (CostServiceClient::new(lch.clone()), CostServiceClient::new(fch.clone()));
    let spec = pb::ReportSpec { period: Some("last_week".into()), pool_id: Some("gpu".into()), ..Default::default() };
    let rep = cost_f.create_report(authed(pb::CreateCostReportRequest { spec: Some(spec) }, &admin)).await.expect("report").into_inner();
    let rep = rep.view.expect("a view");
    assert_eq!(struct_str(&rep, "id"), Some("last_week:pool=gpu"));
    let again = cost_l.get_report(authed(pb::GetCostReportRequest { id: "last_week:pool=gpu".into(), read: None }, &admin)).await.expect("get").into_inner();
    assert_eq!(struct_u64(&again.view.expect("a view"), "from_ms"), struct_u64(&rep, "from_ms"));
    must_fail(cost_l.get_report(authed(pb::GetCostReportRequest { id: "yesterday-ish".into(), read: None }, &admin)).await, Code::NotFound, "a bad id");
    let mine = cost_f.list_reports(authed(pb::ListCostReportsRequest::default(), &acme_token)).await.expect("list").into_inner();
    assert!(!mine.views.is_empty() && mine.views.iter().all(|v| struct_u64(v, "tenant_id") == Some(acme)));
    let spec = pb::ReportSpec { period: Some("last_month".into()), ..Default::default() };
    cost_l.get_breakdown(authed(pb::GetBreakdownRequest { spec: Some(spec), read: None }, &admin)).await.expect("breakdown");
    cost_f.get_recommendations(authed(pb::GetRecommendationsRequest { pool_id: Some("gpu".into()), read: None }, &admin)).await.expect("recs");
    let r = cost_l.get_recommendations(authed(pb::GetRecommendationsRequest::default(), &acme_token)).await;
    must_fail(r, Code::PermissionDenied, "recommendations span tenants");
    let (mut met_l, mut met_f) = (MetricsServiceClient::new(lch.clone()), MetricsServiceClient::new(fch.clone()));
    let tm = met_f.get_tenant_metrics(authed(pb::GetTenantMetricsRequest { tenant_id: acme, ..Default::default() }, &acme_token)).await.expect("own").into_inner();
    let view = tm.view.expect("a view");
    assert!(view.fields.contains_key("sla_last_day") && view.fields.contains_key("history"), "{view:?}");
    let r = met_l.get_tenant_metrics(authed(pb::GetTenantMetricsRequest { tenant_id: globex, ..Default::default() }, &acme_token)).await;
    must_fail(r, Code::NotFound, "another tenant's metrics");
    met_l.get_costs(authed(pb::GetCostsRequest::default(), &admin)).await.expect("costs");
    let h = pb::GetHistoryRequest { pool_id: "gpu".into(), start: 0, end: 7_200_000, step: 0, read: None };
    met_f.get_history(authed(h.clone(), &admin)).await.expect("history");
    let d = must_fail(met_l.get_history(authed(pb::GetHistoryRequest { step: 5, ..h }, &admin)).await, Code::InvalidArgument, "step 5 ms");
    assert_eq!(bad_field(&d), "step");

    // Workers and the cluster: admin-only changes, a snapshot streamed in chunks.
    let mut workers = WorkerServiceClient::new(fch.clone());
    must_fail(workers.list_workers(authed(pb::ListWorkersRequest::default(), &acme_token)).await, Code::PermissionDenied, "a tenant listing workers");
    workers.list_workers(authed(pb::ListWorkersRequest::default(), &admin)).await.expect("workers");
    must_fail(workers.drain_worker(authed(pb::DrainWorkerRequest { worker_id: 999 }, &admin)).await, Code::NotFound, "an unknown worker");
    let mut cluster = ClusterServiceClient::new(fch.clone());
    must_fail(cluster.snapshot(authed(pb::SnapshotRequest {}, &acme_token)).await, Code::PermissionDenied, "a tenant's backup");
    let mut stream = cluster.snapshot(authed(pb::SnapshotRequest {}, &admin)).await.expect("snapshot").into_inner();
    let (mut bytes, mut index) = (0, 0);
    while let Some(chunk) = stream.message().await.expect("a chunk") {
        bytes += chunk.data.len();
        index = chunk.index;
    }
    assert!(bytes > 0 && index > 0, "{bytes} bytes at index {index}");
    let gone = pools_l.delete_pool(authed(pb::DeletePoolRequest { id: "gpu".into() }, &admin)).await.expect("delete").into_inner();
    let lifecycle = gone.pool.expect("a pool").lifecycle;
    assert!(lifecycle == "DRAINING" || lifecycle == "DELETED", "{lifecycle}");

    // Health per service, and reflection (v1 and v1alpha) listing every service.
    let mut health = tonic_health::pb::health_client::HealthClient::new(lch.clone());
    let check = tonic_health::pb::HealthCheckRequest { service: "hodei.v1.PoolService".into() };
    let h = health.check(check).await.expect("health without a token").into_inner();
    assert_eq!(h.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    let names = reflected_services!(v1, fch.clone());
    for s in ["TenantService", "JobService", "PoolService", "CostService", "MetricsService", "ClusterService", "WorkerService"] {
        assert!(names.iter().any(|n| n == &format!("hodei.v1.{s}")), "{s} in {names:?}");
    }
    let alpha = reflected_services!(v1alpha, lch);
    assert!(alpha.contains(&"hodei.v1.CostService".to_string()), "{alpha:?}");
    c.wait_for_converged().await;
}

