//! The PromQL we ship (Grafana dashboards and alert rules) parses, and every
//! metric it names is exported by every node of a live 3-node cluster that has
//! run a workload: a dashboard or rule naming a metric we do not export fails
//! here. Each node's `/metrics` also passes `promtool check metrics`.
//! With `HODEI_LIVE_METRICS=PATH` the live test also writes node i's text to
//! `PATH.node<i>` (scripts/check-deploy feeds them to scripts/check-promql).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use hodei_tests::promql::{concrete, ensure_tool, exported_families, is_exported, metric_names, promtool, shipped_expressions};
use hodei_tests::{wait_for, Cluster, ClusterOptions};

async fn metrics_text(c: &Cluster, i: usize) -> Option<String> {
    let r = c.client.call(Method::GET, &c.url(i, "/metrics"), None, None, &[]).await.ok()?;
    Some(r.json.as_str()?.to_string())
}

async fn submit(c: &Cluster, tenant: u64, command: &[&str], pool: Option<&str>) -> u64 {
    let mut body = json!({"tenant_id": tenant, "command": command, "cpu_m": 100, "memory_mb": 64});
    if let Some(p) = pool {
        body["pool"] = json!(p);
    }
    let r = c.post(0, "/api/v1/jobs", &body).await.expect("submit");
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["id"].as_u64().expect("job id")
}

/// A workload that leaves every kind of series behind: finished jobs (cost,
/// SLA), a running one, and a queued one waiting for a pool with no worker.
async fn run_workload(c: &Cluster) {
    let tenant = c.must_create_tenant(0, "acme").await;
    for _ in 0..3 {
        let id = submit(c, tenant, &["sleep", "0.2"], None).await;
        c.wait_for_job(1, id, "SUCCEEDED", Duration::from_secs(30), |j| j["state"] == "SUCCEEDED").await;
    }
    let running = submit(c, tenant, &["sleep", "60"], Some("default")).await;
    c.wait_for_job(2, running, "RUNNING", Duration::from_secs(30), |j| j["state"] == "RUNNING").await;
    let queued = submit(c, tenant, &["true"], Some("pool-default")).await;
    c.wait_for_job(0, queued, "PENDING", Duration::from_secs(10), |j| j["state"] == "PENDING").await;
}

#[test]
fn every_shipped_expression_parses_with_promtool() {
    if let Err(why) = ensure_tool("promtool") {
        eprintln!("SKIPPED: promtool cannot be installed here ({why}); scripts/check-deploy also runs this check");
        return;
    }
    let exprs = shipped_expressions();
    assert!(exprs.len() > 50, "the dashboards and rules hold {} expressions", exprs.len());
    let mut rules = String::from("groups:\n  - name: promql-check\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let quoted = serde_json::to_string(&concrete(&e.expr)).unwrap();
        rules.push_str(&format!("      - record: hodei_check:expr_{i}\n        expr: {quoted}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exprs.yml");
    std::fs::write(&file, &rules).unwrap();
    let report = promtool(&["check", "rules", file.to_str().unwrap()], "");
    let index: Vec<String> = exprs.iter().enumerate().map(|(i, e)| format!("expr_{i}: {}", e.origin)).collect();
    assert!(report.is_ok(), "promtool check rules:\n{}\n{}", report.unwrap_err(), index.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboards_and_rules_name_is_exported_by_every_node() {
    let used: BTreeSet<(String, String)> =
        shipped_expressions().into_iter().flat_map(|e| metric_names(&e.expr).into_iter().map(move |n| (n, e.origin.clone()))).collect();
    let names: BTreeSet<&str> = used.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.len() > 30, "only {} metric names found: {names:?}", names.len());

    let c = Cluster::start(ClusterOptions::default()).await;
    let _worker = c.spawn_worker("default", 1);
    run_workload(&c).await;
    let promtool_ok = ensure_tool("promtool").map_err(|why| eprintln!("promtool check metrics SKIPPED: {why}")).is_ok();
    for i in 0..3 {
        // Every node applies the workload's effects on its own copy.
        let text = wait_for(&format!("node {} to report the running and the queued job", i + 1), Duration::from_secs(20), || async {
            let t = metrics_text(&c, i).await?;
            (t.contains("hodei_tenant_running_jobs{") && t.contains("hodei_tenant_queued_jobs{") && t.contains("hodei_tenant_cost_dollars_total{"))
                .then_some(t)
        })
        .await;
        if let Ok(path) = std::env::var("HODEI_LIVE_METRICS") {
            std::fs::write(format!("{path}.node{}", i + 1), &text).expect("write the live metrics");
        }
        let families = exported_families(&text);
        let missing: Vec<String> =
            used.iter().filter(|(n, _)| !is_exported(n, &families)).map(|(n, origin)| format!("{n} (in {origin})")).collect();
        assert!(missing.is_empty(), "node {} does not export:\n  {}", i + 1, missing.join("\n  "));
        if promtool_ok {
            let lint = promtool(&["check", "metrics"], &text);
            assert!(lint.as_ref().is_ok_and(|r| r.trim().is_empty()), "promtool check metrics on node {}: {lint:?}", i + 1);
        }
    }
}
