//! Bad input answers the right 4xx with a JSON error body, changes nothing and
//! panics nothing.

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{Cluster, ClusterOptions, Reply};

fn assert_error(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.json);
    let code = r.json["error"]["code"].as_str();
    assert!(code.is_some_and(|c| !c.is_empty()), "{what}: no JSON error body: {}", r.json);
    assert!(r.json["error"]["message"].is_string(), "{what}: no message: {}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    // No declared pool: nothing for the leader's own loops (autoscaler, ticks)
    // to write, so the state hash can show that bad input changed nothing.
    let c = Cluster::start(ClusterOptions { config_yaml: "resource_pools:\n  pools: []\n".into(), ..ClusterOptions::default() }).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let other = c.must_create_tenant(0, "globex").await;
    let r = c.submit(0, tenant, "one").await.unwrap();
    let job = r.json["id"].as_u64().unwrap();
    let small = json!({"name": "small", "email": "s@example.com", "quota": {"cpu_m": 1000, "memory_mb": 1000, "max_concurrent_jobs": 1}});
    let r = c.post(0, "/api/v1/tenants", &small).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let small = r.json["id"].as_u64().unwrap();
    let r = c.submit(0, small, "fills-the-quota").await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let before = c.wait_for_converged().await;
    let jobs = c.url(1, "/api/v1/jobs");
    let tenants = c.url(2, "/api/v1/tenants");
    let admin = Some(c.admin.as_str());
    let cl = &c.client;

    let cases: Vec<(&str, Reply, u16)> = vec![
        ("malformed json", cl.raw(Method::POST, &jobs, admin, "application/json", b"{\"command\": [".to_vec()).await.unwrap(), 400),
        ("not json", cl.raw(Method::POST, &jobs, admin, "text/plain", b"hello".to_vec()).await.unwrap(), 415),
        ("unknown field", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1, "colour": "red"})), &[]).await.unwrap(), 400),
        ("wrong type", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": "true", "cpu_m": 1, "memory_mb": 1})), &[]).await.unwrap(), 400),
        ("empty command", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": [], "cpu_m": 1, "memory_mb": 1})), &[]).await.unwrap(), 400),
        ("zero cpu", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 0, "memory_mb": 1})), &[]).await.unwrap(), 400),
        ("negative cpu", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": ["true"], "cpu_m": -5, "memory_mb": 1})), &[]).await.unwrap(), 400),
        ("oversize body", cl.raw(Method::POST, &jobs, admin, "application/json", oversize()).await.unwrap(), 413),
        ("unknown tenant", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": 999_999, "command": ["true"], "cpu_m": 1, "memory_mb": 1})), &[]).await.unwrap(), 404),
        ("bigger than quota plus the largest burst", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": small, "command": ["true"], "cpu_m": 3000, "memory_mb": 1})), &[]).await.unwrap(), 400),
        ("over quota", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": small, "command": ["true"], "cpu_m": 1, "memory_mb": 1})), &[]).await.unwrap(), 429),
        ("bad tenant name", cl.call(Method::POST, &tenants, admin, Some(&json!({"name": "Not A Name!", "email": "a@b.c"})), &[]).await.unwrap(), 400),
        ("duplicate tenant", cl.call(Method::POST, &tenants, admin, Some(&json!({"name": "acme", "email": "a@b.c"})), &[]).await.unwrap(), 409),
        ("no token", cl.call(Method::GET, &c.url(0, &format!("/api/v1/jobs/{job}")), None, None, &[]).await.unwrap(), 401),
        ("garbage token", cl.call(Method::GET, &c.url(0, &format!("/api/v1/jobs/{job}")), Some("not.a.jwt"), None, &[]).await.unwrap(), 401),
        ("token of another secret", cl.call(Method::GET, &c.url(0, &format!("/api/v1/jobs/{job}")), Some(&hodei_tests::cluster::token(b"wrong", vec![hodei_api::Role::Admin], None)), None, &[]).await.unwrap(), 401),
        ("tenant creating a tenant", cl.call(Method::POST, &tenants, Some(&c.tenant_token(tenant)), Some(&json!({"name": "x", "email": "a@b.c"})), &[]).await.unwrap(), 403),
        ("another tenant's job", cl.call(Method::GET, &c.url(1, &format!("/api/v1/jobs/{job}")), Some(&c.tenant_token(other)), None, &[]).await.unwrap(), 404),
        ("cancel another tenant's job", cl.call(Method::POST, &c.url(1, &format!("/api/v1/jobs/{job}/cancel")), Some(&c.tenant_token(other)), None, &[]).await.unwrap(), 404),
        ("unknown job", cl.call(Method::GET, &c.url(2, "/api/v1/jobs/424242"), admin, None, &[]).await.unwrap(), 404),
        ("non-numeric id", cl.call(Method::GET, &c.url(2, "/api/v1/jobs/abc"), admin, None, &[]).await.unwrap(), 400),
        ("unknown consistency", cl.call(Method::GET, &c.url(2, &format!("/api/v1/jobs/{job}?consistency=eventual")), admin, None, &[]).await.unwrap(), 400),
        ("unknown route", cl.call(Method::GET, &c.url(0, "/api/v1/nope"), admin, None, &[]).await.unwrap(), 404),
        ("bad idempotency key", cl.call(Method::POST, &jobs, admin, Some(&json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1})), &[("idempotency-key", &"k".repeat(500))]).await.unwrap(), 400),
    ];
    for (what, reply, status) in &cases {
        assert_error(reply, *status, what);
    }
    // The tenant's own job is visible to its own token, so the 404 above was scoping.
    let r = cl.call(Method::GET, &c.url(1, &format!("/api/v1/jobs/{job}")), Some(&c.tenant_token(tenant)), None, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);

    // Nothing changed: same applied index and state hash as before, on every node,
    // and every node is still healthy.
    let after = c.wait_for_converged().await;
    assert_eq!(before.1, after.1, "state changed under bad input (index {} -> {})", before.0, after.0);
    for i in 0..3 {
        let r = cl.call(Method::GET, &c.url(i, "/health"), None, None, &[]).await.unwrap();
        assert_eq!(r.status, 200);
    }
}

/// Just over the 1 MiB limit: the server answers 413 after reading 1 MiB, and the
/// unread rest fits in loopback socket buffers, so the client can read the answer.
fn oversize() -> Vec<u8> {
    let big: Value = json!({"command": ["x".repeat(1024 * 1024 + 16 * 1024)], "cpu_m": 1, "memory_mb": 1});
    serde_json::to_vec(&big).unwrap()
}
