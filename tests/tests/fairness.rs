//! Weighted fair shares and `max_concurrent_jobs`, end to end with a real
//! worker, judged from committed times (each job's `started_at_ms` and
//! `finished_at_ms` are the leader's stamps on the committed StartJob and
//! FinishJob), never from sampling.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions};

/// Every job of `tenant`, once all are finished.
async fn finished_jobs(c: &Cluster, tenant: u64, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} finished jobs of tenant {tenant}"), Duration::from_secs(120), || async {
        let r = c.get(0, &format!("/api/v1/jobs?tenant_id={tenant}&limit=1000")).await.ok()?;
        let items = r.json["items"].as_array()?.clone();
        (items.len() == n && items.iter().all(|j| j["finished_at_ms"].is_u64())).then_some(items)
    })
    .await
}

async fn set_weight(c: &Cluster, tenant: u64, weight: u32) {
    let r = c.client.call(Method::PATCH, &c.url(1, &format!("/api/v1/tenants/{tenant}")), Some(&c.admin), Some(&json!({"weight": weight})), &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_backlogged_tenants_are_served_in_proportion_to_their_weights() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let weights = [1u32, 2, 3];
    let mut tenants = Vec::new();
    for (i, w) in weights.iter().enumerate() {
        let t = c.must_create_tenant(i, &format!("t{w}")).await;
        set_weight(&c, t, *w).await;
        tenants.push(t);
    }
    // Everything is queued before the only worker exists, so every tenant is
    // backlogged from the first placement on.
    for n in 0..100 {
        for (i, t) in tenants.iter().enumerate() {
            let body = json!({"tenant_id": t, "command": ["true"], "cpu_m": 1000, "memory_mb": 64});
            let r = c.post((n + i) % 3, "/api/v1/jobs", &body).await.unwrap();
            assert_eq!(r.status, 201, "{}", r.json);
        }
    }
    let _worker = c.spawn_worker("pool-default", 1);
    let mut starts: Vec<(u64, u64, u64)> = Vec::new();
    for t in &tenants {
        for j in finished_jobs(&c, *t, 100).await {
            starts.push((j["started_at_ms"].as_u64().unwrap(), j["id"].as_u64().unwrap(), *t));
        }
    }
    starts.sort_unstable();
    // All three stay backlogged until the heaviest tenant (weight 3, half the
    // service) runs out: about 200 starts. Judge the first 180.
    let window = 180usize;
    let mut served: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, _, t) in &starts[..window] {
        *served.entry(*t).or_default() += 1;
    }
    let total: u32 = weights.iter().sum();
    for (t, w) in tenants.iter().zip(weights) {
        let expected = window as f64 * f64::from(w) / f64::from(total);
        let got = served.get(t).copied().unwrap_or(0) as f64;
        // WFQ with equal job costs keeps |n_i/w_i - n_j/w_j| <= 1/w_i + 1/w_j,
        // so n_i stays within 2*w_i of its share; a worker takes two jobs per
        // round, which adds one more either way.
        let bound = 2.0 * f64::from(w) + 1.0;
        println!("tenant weight {w}: {got} of the first {window} starts, expected {expected:.1} +- {bound}");
        assert!((got - expected).abs() <= bound, "weight {w}: {got} starts, expected {expected:.1} +- {bound}; order {starts:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_never_runs_more_jobs_at_once_than_max_concurrent_jobs() {
    let config = "multi_tenancy:\n  quota_enforcement:\n    strict_mode: true\n    violation_policy: queue\n";
    let c = Cluster::start(ClusterOptions { config_yaml: config.into(), ..ClusterOptions::default() }).await;
    let body = json!({"name": "capped", "email": "c@x.io", "quota": {"cpu_m": 100_000, "memory_mb": 100_000, "max_concurrent_jobs": 2}});
    let r = c.post(0, "/api/v1/tenants", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let tenant = r.json["id"].as_u64().unwrap();
    // Room for six at once on three workers; the quota allows two.
    let _workers: Vec<_> = (0..3).map(|n| c.spawn_worker("pool-default", n)).collect();
    for n in 0..8 {
        let job = json!({"tenant_id": tenant, "command": ["sleep", "0.5"], "cpu_m": 500, "memory_mb": 64});
        let r = c.post(n % 3, "/api/v1/jobs", &job).await.unwrap();
        assert_eq!(r.status, 201, "queued under violation_policy: queue: {}", r.json);
    }
    let jobs = finished_jobs(&c, tenant, 8).await;
    // The most intervals [started, finished) that overlap at any instant.
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for j in &jobs {
        assert_eq!(j["state"], "SUCCEEDED", "{j}");
        edges.push((j["started_at_ms"].as_u64().unwrap(), 1));
        edges.push((j["finished_at_ms"].as_u64().unwrap(), -1));
    }
    edges.sort_unstable();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    println!("peak concurrent jobs of a tenant capped at 2, from committed start and finish times: {peak}");
    assert_eq!(peak, 2, "never more than 2 at once, and the cap was reached (so the check could fail)");
}
