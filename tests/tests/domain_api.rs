//! The domain's REST surface on a live 3-node cluster: pools, quotas, bursts,
//! tenant changes, the queue, "why is my job pending", SLA and cost. Every
//! write goes through a follower and is read back through the leader (and the
//! other way round); tenant tokens see only their own tenant.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions, Reply};

struct Api<'a> {
    c: &'a Cluster,
    leader: usize,
    follower: usize,
}

impl Api<'_> {
    async fn call(&self, i: usize, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let url = self.c.url(i, path);
        self.c.client.call(method.clone(), &url, Some(token), body.as_ref(), &[]).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// An admin call that must answer `status`; returns the body.
    async fn must(&self, i: usize, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.call(i, method.clone(), path, &self.c.admin, body).await;
        assert_eq!(r.status, status, "{method} {path} on node {}: {}", i + 1, r.json);
        r.json
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_quotas_bursts_queue_sla_and_cost_through_leader_and_follower() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader_id = c.wait_for_leader().await;
    let leader = c.index_of(leader_id);
    let api = Api { c: &c, leader, follower: (leader + 1) % 3 };
    let (l, f) = (api.leader, api.follower);

    // The configuration's pool (the seeds' `pool-default`) is proposed by the leader.
    wait_for("the configured pool-default on a follower", Duration::from_secs(20), || async {
        let r = api.call(f, Method::GET, "/api/v1/pools/pool-default", &c.admin, None).await;
        (r.status == 200).then_some(())
    })
    .await;

    // Pools: create through a follower, read through the leader.
    let gpu = json!({"id": "gpu", "type": "dynamic", "min_size": 0, "max_size": 4, "labels": {"gpu": "a100"},
        "scaling_policies": [{"name": "queue", "trigger": "queue_depth > 5", "action": "scale_up", "cooldown": "1m"}]});
    let created = api.must(f, Method::POST, "/api/v1/pools", Some(gpu), 201).await;
    assert_eq!(created["type"], "dynamic");
    let got = api.must(l, Method::GET, "/api/v1/pools/gpu", None, 200).await;
    assert_eq!(got["scaling_policies"][0]["trigger"], "queue_depth > 5", "{got}");
    let patched = api.must(f, Method::PATCH, "/api/v1/pools/gpu", Some(json!({"max_size": 8})), 200).await;
    assert_eq!(patched["max_size"], 8);
    let policies = json!({"scaling_policies": [{"name": "cpu", "trigger": "cpu_utilization > 80", "action": "scale_up"}]});
    api.must(l, Method::PUT, "/api/v1/pools/gpu/scaling/policies", Some(policies), 200).await;
    let p = api.must(f, Method::GET, "/api/v1/pools/gpu/scaling/policies", None, 200).await;
    assert_eq!(p["scaling_policies"][0]["name"], "cpu", "{p}");
    let scaled = api.must(f, Method::POST, "/api/v1/pools/gpu/scale", Some(json!({"target_size": 3, "reason": "load test"})), 200).await;
    assert_eq!(scaled["target_size"], 3);
    let history = api.must(l, Method::GET, "/api/v1/pools/gpu/scaling/history", None, 200).await;
    assert!(history.as_array().unwrap().iter().any(|e| e["reason"] == "load test" && e["to"] == 3 && e["automatic"] == false), "{history}");
    let status = api.must(f, Method::GET, "/api/v1/pools/gpu/status", None, 200).await;
    assert_eq!(status["workers_active"], 0, "{status}");
    let metrics = api.must(l, Method::GET, "/api/v1/pools/gpu/metrics", None, 200).await;
    assert_eq!(metrics["pool_id"], "gpu");
    let list = api.must(f, Method::GET, "/api/v1/pools", None, 200).await;
    assert!(list.as_array().unwrap().len() >= 2, "{list}");
    api.must(l, Method::POST, "/api/v1/pools", Some(json!({"id": "gpu", "max_size": 1})), 409).await;
    api.must(l, Method::POST, "/api/v1/pools", Some(json!({"id": "bad", "min_size": 5, "max_size": 1})), 400).await;
    api.must(l, Method::PUT, "/api/v1/pools/gpu/scaling/policies", Some(json!({"scaling_policies": [{"name": "x", "trigger": "heat > 1", "action": "scale_up"}]})), 400).await;

    // Tenants: change, quota under both spellings, bursts.
    let acme = c.must_create_tenant(f, "acme").await;
    let globex = c.must_create_tenant(l, "globex").await;
    let t = api.must(f, Method::PATCH, &format!("/api/v1/tenants/{acme}"), Some(json!({"weight": 3})), 200).await;
    assert_eq!(t["weight"], 3);
    let quota = json!({"cpu_m": 2000, "memory_mb": 4096, "max_concurrent_jobs": 2});
    api.must(l, Method::PUT, &format!("/api/v1/tenants/{acme}/quotas"), Some(quota.clone()), 200).await;
    let q = api.must(f, Method::GET, &format!("/api/v1/tenants/{acme}/quota"), None, 200).await;
    assert_eq!(q["quota"], quota, "{q}");
    let acme_token = c.tenant_token(acme);
    let globex_token = c.tenant_token(globex);
    let r = api.call(f, Method::GET, &format!("/api/v1/tenants/{acme}/quota"), &globex_token, None).await;
    assert_eq!(r.status, 404, "another tenant's quota is not found: {}", r.json);
    let r = api.call(f, Method::PUT, &format!("/api/v1/tenants/{acme}/quota"), &acme_token, Some(quota.clone())).await;
    assert_eq!(r.status, 403, "a tenant may not set its own quota: {}", r.json);

    let ask = json!({"requested_cpu_m": 1000, "requested_memory_mb": 1024, "duration_minutes": 30, "reason": "month end"});
    let r = api.call(l, Method::POST, &format!("/api/v1/tenants/{acme}/burst"), &acme_token, Some(ask.clone())).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["state"], "ACTIVE", "granted at once without require_approval: {}", r.json);
    let burst = r.json["id"].as_u64().unwrap();
    let q = api.must(f, Method::GET, &format!("/api/v1/tenants/{acme}/quota"), None, 200).await;
    assert_eq!((q["burst_cpu_m"].as_u64(), q["burst_memory_mb"].as_u64()), (Some(1000), Some(1024)), "{q}");
    let r = api.call(f, Method::GET, &format!("/api/v1/tenants/{acme}/bursts"), &acme_token, None).await;
    assert_eq!(r.json[0]["id"], burst, "{}", r.json);
    let r = api.call(f, Method::POST, &format!("/api/v1/tenants/{acme}/bursts/{burst}/revoke"), &acme_token, None).await;
    assert_eq!(r.status, 403, "only admins decide bursts: {}", r.json);
    api.must(f, Method::POST, &format!("/api/v1/tenants/{globex}/bursts/{burst}/revoke"), None, 404).await;
    let revoked = api.must(f, Method::POST, &format!("/api/v1/tenants/{acme}/bursts/{burst}/revoke"), Some(json!({"reason": "over budget"})), 200).await;
    assert_eq!(revoked["state"], "REVOKED", "{revoked}");
    api.must(l, Method::POST, &format!("/api/v1/tenants/{acme}/bursts/{burst}/approve"), None, 409).await;

    // A job no worker can run yet: queued, explained, counted.
    let job = json!({"tenant_id": acme, "command": ["true"], "cpu_m": 500, "memory_mb": 256});
    let r = api.call(f, Method::POST, "/api/v1/jobs", &acme_token, Some(job)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_u64().unwrap();
    let why = api.call(l, Method::GET, &format!("/api/v1/jobs/{id}/explain"), &acme_token, None).await;
    assert_eq!(why.status, 200, "{}", why.json);
    assert!(why.json["reason"].is_object() || why.json["reason"].is_string(), "a reason is given: {}", why.json);
    let r = api.call(l, Method::GET, &format!("/api/v1/jobs/{id}/explain"), &globex_token, None).await;
    assert_eq!(r.status, 404, "{}", r.json);
    let queue = api.call(f, Method::GET, "/api/v1/queue", &acme_token, None).await;
    assert_eq!(queue.json["queued_jobs"], 1, "{}", queue.json);
    assert!(queue.json["tenants"].as_array().unwrap().iter().all(|t| t["tenant_id"] == acme), "a tenant sees only itself: {}", queue.json);
    let all = api.must(l, Method::GET, "/api/v1/queue", None, 200).await;
    assert!(all["pools"].is_object() && all["queued_jobs"].as_u64() >= Some(1), "{all}");
    api.must(f, Method::DELETE, &format!("/api/v1/tenants/{acme}"), None, 409).await;

    // SLA and cost, in the caller's scope.
    let sla = api.call(f, Method::GET, "/api/v1/sla", &acme_token, None).await;
    assert_eq!((sla.status, sla.json["tenant_id"].as_u64()), (200, Some(acme)), "{}", sla.json);
    api.must(l, Method::GET, &format!("/api/v1/tenants/{globex}/sla?period=last_week"), None, 200).await;
    let r = api.call(l, Method::GET, &format!("/api/v1/tenants/{globex}/sla"), &acme_token, None).await;
    assert_eq!(r.status, 404, "{}", r.json);
    let rep = api.must(f, Method::POST, "/api/v1/cost-optimization/reports", Some(json!({"period": "last_week", "pool_id": "gpu"})), 201).await;
    assert_eq!(rep["id"], "last_week:pool=gpu", "{rep}");
    let again = api.must(l, Method::GET, "/api/v1/cost-optimization/reports/last_week:pool=gpu", None, 200).await;
    assert_eq!(again["from_ms"], rep["from_ms"]);
    let mine = api.call(f, Method::GET, "/api/v1/cost-reports", &acme_token, None).await;
    assert!(mine.json.as_array().unwrap().iter().all(|r| r["tenant_id"] == acme), "{}", mine.json);
    api.must(l, Method::GET, "/api/v1/cost-optimization/breakdown?period=last_month", None, 200).await;
    api.must(l, Method::GET, "/api/v1/cost-optimization/recommendations?pool_id=gpu", None, 200).await;
    let r = api.call(l, Method::GET, "/api/v1/cost-optimization/recommendations", &acme_token, None).await;
    assert_eq!(r.status, 403, "{}", r.json);
    let m = api.call(f, Method::GET, &format!("/api/v1/metrics/tenants/{acme}"), &acme_token, None).await;
    assert_eq!(m.json["quota"]["quota"], quota, "{}", m.json);
    api.must(l, Method::GET, "/api/v1/metrics/costs", None, 200).await;
    api.must(l, Method::GET, "/api/v1/metrics/historical?pool_id=gpu&start=0&end=7200000", None, 200).await;
    api.must(l, Method::GET, "/api/v1/metrics/historical?pool_id=gpu&start=0&end=7200000&step=5", None, 400).await;
    api.must(l, Method::GET, "/api/v1/cost-optimization/reports/yesterday-ish", None, 404).await;

    // Cancel the job, then the tenant can go; the pool drains away.
    api.must(f, Method::POST, &format!("/api/v1/jobs/{id}/cancel"), None, 200).await;
    api.must(l, Method::DELETE, &format!("/api/v1/tenants/{acme}"), None, 200).await;
    api.must(f, Method::GET, &format!("/api/v1/tenants/{acme}"), None, 404).await;
    let gone = api.must(f, Method::DELETE, "/api/v1/pools/gpu", None, 202).await;
    assert!(gone["lifecycle"] == "DRAINING" || gone["lifecycle"] == "DELETED", "{gone}");
    c.wait_for_converged().await;
}
