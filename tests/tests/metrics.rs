//! Every node serves Prometheus metrics from its own copy: Raft, API and domain
//! figures, on `/metrics` (open) and `/api/v1/metrics/prometheus` (token).

use reqwest::Method;

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
    let text = c.client.call(Method::GET, &c.url(1, "/metrics"), None, None, &[]).await.unwrap().json.as_str().unwrap().to_string();
    assert!(text.contains("hodei_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/jobs\",status=\"201\"}"), "{text}");
    let r = c.client.call(Method::GET, &c.url(0, "/api/v1/metrics/prometheus"), None, None, &[]).await.unwrap();
    assert_eq!(r.status, 401);
    let r = c.get(0, "/api/v1/metrics/prometheus").await.unwrap();
    assert_eq!(r.status, 200);
}
