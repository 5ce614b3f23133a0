//! Every node serves Prometheus metrics from its own copy: Raft, API and domain
//! figures, on `/metrics` (open) and `/api/v1/metrics/prometheus` (token).

use reqwest::Method;

use hodei_proto::v1 as pb;
use hodei_proto::v1::job_service_client::JobServiceClient;
use hodei_tests::grpc::{authed, channel};
use hodei_tests::{wait_for, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_exports_raft_api_and_domain_metrics() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    c.submit(1, tenant, "m1").await.unwrap();
    let leader = c.wait_for_leader().await;
    for i in 0..3 {
        let text = wait_for("metrics that include the submitted job", std::time::Duration::from_secs(10), || async {
            let r = c.client.call(Method::GET, &c.url(i, "/metrics"), None, None, &[]).await.ok()?;
            let t = r.json.as_str()?.to_string();
            t.contains("hodei_jobs{state=\"PENDING\"} 1").then_some(t)
        })
        .await;
        for name in ["hodei_raft_term", "hodei_raft_is_leader", "hodei_raft_applied_index", "hodei_tenants", "hodei_build_info", "process_resident_memory_bytes"] {
            assert!(text.contains(name), "node {} does not export {name}", i + 1);
        }
        let is_leader = c.nodes[i].spec.id == leader;
        assert!(text.contains(&format!("hodei_raft_is_leader {}", u8::from(is_leader))), "node {} is_leader wrong", i + 1);
    }
    // The leader times its AppendEntries round trips to each follower.
    let leader_i = c.index_of(leader);
    for f in (0..3).filter(|i| *i != leader_i) {
        let series = format!("hodei_raft_peer_append_duration_seconds_count{{to=\"{}\"}} ", c.nodes[f].spec.id);
        wait_for("the leader's AppendEntries round trips to each follower", std::time::Duration::from_secs(10), || async {
            let r = c.client.call(Method::GET, &c.url(leader_i, "/metrics"), None, None, &[]).await.ok()?;
            let count: f64 = r.json.as_str()?.lines().find_map(|l| l.strip_prefix(&series))?.trim().parse().ok()?;
            (count >= 1.0).then_some(())
        })
        .await;
    }
    let text = c.client.call(Method::GET, &c.url(1, "/metrics"), None, None, &[]).await.unwrap().json.as_str().unwrap().to_string();
    assert!(text.contains("hodei_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/jobs\",status=\"201\"}"), "{text}");
    let r = c.client.call(Method::GET, &c.url(0, "/api/v1/metrics/prometheus"), None, None, &[]).await.unwrap();
    assert_eq!(r.status, 401);
    let r = c.get(0, "/api/v1/metrics/prometheus").await.unwrap();
    assert_eq!(r.status, 200);

    // A worker runs the job: every node counts the assignment it applied and
    // the job's wait at its first start.
    let _worker = c.spawn_worker("pool-default", 1);
    let job = c.submit(2, tenant, "m2").await.unwrap();
    assert_eq!(job.status, 201, "{}", job.json);
    c.wait_for_job(0, job.json["id"].as_u64().unwrap(), "SUCCEEDED", std::time::Duration::from_secs(30), |j| j["state"] == "SUCCEEDED").await;
    for i in 0..3 {
        wait_for("an assignment and a first start in the node's metrics", std::time::Duration::from_secs(10), || async {
            (c.metric(i, "hodei_dispatch_assignments_total").await >= 1 && c.metric(i, "hodei_dispatch_wait_seconds_count").await >= 1).then_some(())
        })
        .await;
    }
}

/// A write sent to a follower, over REST and over gRPC, is forwarded to the
/// leader: the follower's `hodei_forwarded_writes_total` rises by one per write
/// and the leader's does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_a_follower_counts_on_that_follower_only() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader_id = c.wait_for_leader().await;
    let leader = c.index_of(leader_id);
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let tenant = c.must_create_tenant(leader, "acme").await;
    let name = "hodei_forwarded_writes_total";
    let (leader_before, follower_before) = (c.metric(leader, name).await, c.metric(follower, name).await);

    let r = c.submit(follower, tenant, "forwarded-rest").await.expect("REST submit");
    assert_eq!(r.status, 201, "REST submit through the follower: {}", r.json);
    let mut jobs = JobServiceClient::new(channel(&c, follower).await);
    let submit = pb::SubmitJobRequest { tenant_id: Some(tenant), command: vec!["true".into()], cpu_m: 1, memory_mb: 1, ..Default::default() };
    jobs.submit_job(authed(submit, &c.admin)).await.expect("gRPC submit through the follower");

    assert_eq!(c.wait_for_leader().await, leader_id, "leadership moved during the test, so the counts cannot say who forwarded");
    assert_eq!(c.metric(follower, name).await, follower_before + 2, "the follower forwarded one REST and one gRPC write");
    assert_eq!(c.metric(leader, name).await, leader_before, "the leader forwards nothing");
}
