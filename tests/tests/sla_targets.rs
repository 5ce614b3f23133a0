//! Wait targets per priority on a live 3-node cluster: set cluster-wide and
//! per tenant through a follower, read back through the leader with what each
//! priority resolves to, refused whole when malformed, scoped for tenant
//! tokens, and applied: a queued job past its priority's target is counted in
//! that priority's compliance report.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions, Reply};

async fn call(c: &Cluster, i: usize, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let url = c.url(i, path);
    c.client.call(method.clone(), &url, Some(token), body.as_ref(), &[]).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

async fn must(c: &Cluster, i: usize, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let r = call(c, i, method.clone(), path, &c.admin, body).await;
    assert_eq!(r.status, status, "{method} {path} on node {}: {}", i + 1, r.json);
    r.json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_targets_are_set_scoped_validated_and_applied() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let l = c.index_of(c.wait_for_leader().await);
    let f = (l + 1) % 3;

    let empty = must(&c, f, Method::GET, "/api/v1/sla/targets", None, 200).await;
    assert_eq!((&empty["by_priority"], &empty["default_wait_ms"]), (&json!({}), &json!(30_000)), "{empty}");

    // Cluster-wide, through a follower.
    let set = must(&c, f, Method::PUT, "/api/v1/sla/targets", Some(json!({"by_priority": {"9": 1, "0": 600_000}})), 200).await;
    assert_eq!(set["effective_by_priority"], json!({"0": 600_000, "9": 1}), "{set}");

    // A tenant's own, on top: its priority 0 target wins over the cluster's.
    let acme = c.must_create_tenant(l, "acme").await;
    let globex = c.must_create_tenant(l, "globex").await;
    let path = format!("/api/v1/tenants/{acme}/sla/targets");
    let t = must(&c, f, Method::PUT, &path, Some(json!({"by_priority": {"0": 5_000}})), 200).await;
    assert_eq!((&t["tenant_id"], &t["by_priority"]), (&json!(acme), &json!({"0": 5_000})), "{t}");
    assert_eq!(t["effective_by_priority"], json!({"0": 5_000, "9": 1}), "the tenant's beats the cluster's: {t}");
    let read = must(&c, l, Method::GET, &path, None, 200).await;
    assert_eq!(read, t, "the leader reads what the follower wrote");

    // Malformed bodies are refused whole, naming the field, and change nothing.
    for bad in [json!({"by_priority": {"x": 1}}), json!({"by_priority": {"5": 0}}), json!({"by_priority": {"2000": 1}}), json!({"by_priority": {"5": 1}, "extra": 1}), json!({})] {
        let r = call(&c, l, Method::PUT, "/api/v1/sla/targets", &c.admin, Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
    }
    let many: serde_json::Map<String, Value> = (0..65).map(|p| (p.to_string(), json!(1_000))).collect();
    let r = call(&c, l, Method::PUT, "/api/v1/sla/targets", &c.admin, Some(json!({"by_priority": many}))).await;
    assert_eq!(r.status, 400, "65 targets: {}", r.json);
    assert_eq!(must(&c, l, Method::GET, "/api/v1/sla/targets", None, 200).await["by_priority"], json!({"0": 600_000, "9": 1}));
    must(&c, l, Method::PUT, "/api/v1/tenants/999/sla/targets", Some(json!({"by_priority": {}})), 404).await;

    // Tenant tokens read their own scope and the cluster's, and set nothing.
    let acme_token = c.tenant_token(acme);
    assert_eq!(call(&c, f, Method::GET, &path, &acme_token, None).await.status, 200);
    assert_eq!(call(&c, f, Method::GET, "/api/v1/sla/targets", &acme_token, None).await.status, 200);
    let r = call(&c, f, Method::GET, &format!("/api/v1/tenants/{globex}/sla/targets"), &acme_token, None).await;
    assert_eq!(r.status, 404, "another tenant's targets: {}", r.json);
    let r = call(&c, f, Method::PUT, &path, &acme_token, Some(json!({"by_priority": {}}))).await;
    assert_eq!(r.status, 403, "{}", r.json);

    // Applied: no worker runs jobs here, so a priority-9 job waits past its
    // 1 ms target and is counted for priority 9 only.
    let job = json!({"tenant_id": acme, "command": ["true"], "cpu_m": 10, "memory_mb": 16, "priority": 9});
    assert_eq!(call(&c, f, Method::POST, "/api/v1/jobs", &acme_token, Some(job)).await.status, 201);
    let over = wait_for("the priority-9 job to be over its target", Duration::from_secs(20), || async {
        let r = call(&c, l, Method::GET, "/api/v1/sla?priority=9", &c.admin, None).await;
        (r.json["pending_over_target"] == 1).then_some(r.json)
    })
    .await;
    assert_eq!(over["priority"], 9, "{over}");
    let p0 = must(&c, l, Method::GET, &format!("/api/v1/tenants/{acme}/sla?priority=0"), None, 200).await;
    assert_eq!(p0["pending_over_target"], 0, "{p0}");
    must(&c, l, Method::GET, "/api/v1/sla?priority=5000", None, 400).await;

    // Clearing a tenant's scope leaves the cluster's in force.
    let cleared = must(&c, l, Method::PUT, &path, Some(json!({"by_priority": {}})), 200).await;
    assert_eq!(cleared["effective_by_priority"], json!({"0": 600_000, "9": 1}), "{cleared}");
    c.wait_for_converged().await;
}
