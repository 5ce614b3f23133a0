//! The gRPC front end on every node: the same calls as REST, the same auth and
//! tenancy, writes through a follower, and the standard health service.

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

use hodei_proto::v1 as pb;
use hodei_proto::v1::cluster_service_client::ClusterServiceClient;
use hodei_proto::v1::job_service_client::JobServiceClient;
use hodei_proto::v1::tenant_service_client::TenantServiceClient;
use hodei_tests::{Cluster, ClusterOptions};

async fn channel(c: &Cluster, i: usize) -> Channel {
    Channel::from_shared(format!("http://{}", c.nodes[i].spec.grpc)).unwrap().connect().await.expect("connect gRPC")
}

fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", MetadataValue::try_from(format!("Bearer {token}")).unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_mirrors_rest_with_the_same_auth_and_tenancy() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.wait_for_leader().await;
    let follower = (0..3).find(|i| c.nodes[*i].spec.id != leader).unwrap();
    let other = (0..3).find(|i| *i != follower).unwrap();

    let mut tenants = TenantServiceClient::new(channel(&c, follower).await);
    let req = pb::CreateTenantRequest {
        name: "grpc-tenant".into(),
        email: "g@example.com".into(),
        quota: Some(pb::Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }),
    };
    let err = tenants.create_tenant(Request::new(req.clone())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let t = tenants.create_tenant(authed(req, &c.admin)).await.expect("create tenant").into_inner();
    let tenant = t.tenant.expect("tenant");
    assert!(t.index > 0);

    let mut jobs = JobServiceClient::new(channel(&c, follower).await);
    let submit = pb::SubmitJobRequest { command: vec!["echo".into(), "hi".into()], cpu_m: 100, memory_mb: 64, idempotency_key: Some("g1".into()), ..Default::default() };
    let own = c.tenant_token(tenant.id);
    let job = jobs.submit_job(authed(submit.clone(), &own)).await.expect("submit").into_inner().job.expect("job");
    assert_eq!(job.tenant_id, tenant.id, "a tenant token submits for its own tenant");
    assert_eq!(job.state, pb::JobState::Pending as i32);
    let again = jobs.submit_job(authed(submit, &own)).await.expect("retry").into_inner().job.unwrap();
    assert_eq!(again.id, job.id, "the same idempotency key gives the same job");

    // Read through another node, linearizably.
    let mut jobs_other = JobServiceClient::new(channel(&c, other).await);
    let read = jobs_other.get_job(authed(pb::GetJobRequest { id: job.id, read: None }, &c.admin)).await.expect("get").into_inner();
    assert_eq!(read.job.unwrap().id, job.id);
    assert!(read.index >= t.index);
    // Another tenant learns nothing of it.
    let stranger = c.tenant_token(tenant.id + 1000);
    let err = jobs_other.get_job(authed(pb::GetJobRequest { id: job.id, read: None }, &stranger)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = jobs_other.get_job(authed(pb::GetJobRequest { id: 999_999, read: None }, &c.admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = jobs_other
        .submit_job(authed(pb::SubmitJobRequest { tenant_id: Some(tenant.id), command: vec![], cpu_m: 1, memory_mb: 1, ..Default::default() }, &c.admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let cancelled = jobs_other.cancel_job(authed(pb::CancelJobRequest { id: job.id }, &own)).await.expect("cancel").into_inner();
    assert_eq!(cancelled.job.unwrap().state, pb::JobState::Cancelled as i32);

    let mut cluster = ClusterServiceClient::new(channel(&c, other).await);
    let status = cluster.get_cluster(authed(pb::GetClusterRequest {}, &c.admin)).await.expect("cluster").into_inner();
    assert_eq!(status.leader_id, Some(leader));
    assert_eq!(status.members.len(), 3);

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&c, other).await);
    let h = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health").into_inner();
    assert_eq!(h.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}
