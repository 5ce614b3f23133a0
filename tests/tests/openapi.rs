//! The OpenAPI document and Swagger UI on a live node, and schemathesis
//! fuzzing every documented operation of a live 3-node cluster with an admin
//! and a tenant token: no 5xx, every reply within its documented schema and
//! status codes, invalid input refused, and nothing changed by a request that
//! was refused.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use hodei_tests::{Cluster, ClusterOptions};

/// Every path the seeds name, and the methods they are served with.
const SEEDS: &[(&str, &[&str])] = &[
    ("/api/v1/tenants", &["get", "post"]),
    ("/api/v1/tenants/{id}", &["get", "patch", "delete"]),
    ("/api/v1/tenants/{id}/quota", &["get", "put"]),
    ("/api/v1/tenants/{id}/quotas", &["get", "put"]),
    ("/api/v1/tenants/{id}/burst", &["post"]),
    ("/api/v1/tenants/{id}/bursts", &["get"]),
    ("/api/v1/tenants/{id}/bursts/{burst_id}/approve", &["post"]),
    ("/api/v1/tenants/{id}/bursts/{burst_id}/deny", &["post"]),
    ("/api/v1/tenants/{id}/bursts/{burst_id}/revoke", &["post"]),
    ("/api/v1/jobs", &["get", "post"]),
    ("/api/v1/jobs/{id}", &["get"]),
    ("/api/v1/jobs/{id}/cancel", &["post"]),
    ("/api/v1/jobs/{id}/explain", &["get"]),
    ("/api/v1/jobs/{id}/logs", &["get"]),
    ("/api/v1/queue", &["get"]),
    ("/api/v1/sla", &["get"]),
    ("/api/v1/tenants/{id}/sla", &["get"]),
    ("/api/v1/pools", &["get", "post"]),
    ("/api/v1/pools/{id}", &["get", "patch", "delete"]),
    ("/api/v1/pools/{id}/metrics", &["get"]),
    ("/api/v1/pools/{id}/status", &["get"]),
    ("/api/v1/pools/{id}/scale", &["post"]),
    ("/api/v1/pools/{id}/scaling/history", &["get"]),
    ("/api/v1/pools/{id}/scaling/policies", &["get", "put"]),
    ("/api/v1/cost-optimization/reports", &["get", "post"]),
    ("/api/v1/cost-optimization/reports/{id}", &["get"]),
    ("/api/v1/cost-optimization/breakdown", &["get"]),
    ("/api/v1/cost-optimization/recommendations", &["get"]),
    ("/api/v1/cost-reports", &["get"]),
    ("/api/v1/metrics/historical", &["get"]),
    ("/api/v1/metrics/tenants/{id}", &["get"]),
    ("/api/v1/metrics/costs", &["get"]),
    ("/api/v1/metrics/prometheus", &["get"]),
    ("/metrics", &["get"]),
    ("/api/v1/observability/config", &["get", "post"]),
    ("/api/v1/workers", &["get"]),
    ("/api/v1/workers/{id}/drain", &["post"]),
    ("/api/v1/cluster", &["get"]),
    ("/api/v1/cluster/members", &["post"]),
    ("/api/v1/cluster/members/{id}", &["delete"]),
    ("/api/v1/cluster/snapshot", &["get"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_covers_the_seeds_and_swagger_ui_is_served_offline() {
    let c = Cluster::start(ClusterOptions { nodes: 1, ..ClusterOptions::default() }).await;
    let doc = c.client.call(reqwest::Method::GET, &c.url(0, "/api-docs/openapi.json"), None, None, &[]).await.unwrap();
    assert_eq!(doc.status, 200, "{}", doc.json);
    assert!(doc.json["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "not OpenAPI 3.1: {}", doc.json["openapi"]);
    let paths = doc.json["paths"].as_object().expect("paths");
    for (path, methods) in SEEDS {
        for m in *methods {
            assert!(paths.get(*path).and_then(|p| p.get(*m)).is_some(), "{} {path} is not documented", m.to_uppercase());
        }
    }
    // Every operation but the open ones needs the bearer token.
    let open = ["/health", "/ready", "/metrics"];
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let public = op.get("security").and_then(Value::as_array).is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(|o| o.is_empty())));
            assert_eq!(public, open.contains(&path.as_str()), "{method} {path}: security {:?}", op.get("security"));
        }
    }
    // The UI and its assets come from the binary: no CDN.
    let page = reqwest::get(c.url(0, "/docs/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui") && !html.contains("https://"), "the page loads something from elsewhere:\n{html}");
    let init = reqwest::get(c.url(0, "/docs/swagger-initializer.js")).await.unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api-docs/openapi.json"));
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let r = reqwest::get(c.url(0, &format!("/docs/{asset}"))).await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.unwrap().len() > 10_000, "{asset} is not the real file");
    }
}

fn schemathesis() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("scripts/install-schemathesis")).output().expect("running scripts/install-schemathesis");
    assert!(out.status.success(), "installing schemathesis failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// One schemathesis run: `st run` with every check, on node `i`'s document.
fn fuzz(st: &PathBuf, c: &Cluster, i: usize, token: &str, mode: &str, extra: &[&str]) {
    let report = c.dir.path().join(format!("schemathesis-{mode}-{}-{}", token.len(), extra.len()));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemathesis");
    let mut cmd = Command::new(st);
    cmd.arg("--config-file").arg(dir.join("schemathesis.toml")).args(["run", &c.url(i, "/api-docs/openapi.json"), "--checks", "all", "--mode", mode, "--max-examples", "15", "--seed", "7"])
        .args(["--workers", "1", "--no-color", "--generation-database", "none", "--report", "junit", "--report-dir"])
        .arg(&report)
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Membership changes would take the test's own cluster apart (the
        // membership tests cover them); fuzzed only with invalid input.
        .args(if mode == "negative" { &[][..] } else { &["--exclude-path-regex", "/cluster/members"][..] })
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", dir.join("hooks.py"))
        .env("HODEI_NODE_URL", c.url(0, ""))
        .env("HODEI_ADMIN_TOKEN", &c.admin)
        .env("NO_COLOR", "1");
    let out = cmd.output().expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("schemathesis {mode}:\n{stdout}");
    assert!(out.status.success(), "schemathesis ({mode}) found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_with_admin_and_tenant_tokens() {
    // No declared pool and no history sampling: nothing but the requests
    // writes, so the state can show that refused requests changed nothing.
    let yaml = "resource_pools:\n  pools: []\nobservability:\n  history:\n    enabled: false\n";
    let c = Cluster::start(ClusterOptions { config_yaml: yaml.into(), ..ClusterOptions::default() }).await;
    let st = schemathesis();
    let tenant = c.must_create_tenant(0, "fuzz").await;
    let r = c.submit(0, tenant, "first").await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);

    // Changing the observability settings may start the leader's sampler,
    // whose writes the refusal check could not tell from the request's own:
    // that operation goes last, on its own.
    let settings = ["--exclude-operation-id", "set_config"];
    // Invalid input first, as admin: every request must be refused.
    fuzz(&st, &c, 1, &c.admin, "negative", &["--phases", "examples,coverage,fuzzing", settings[0], settings[1]]);
    // Everything, on other nodes, as admin and as a tenant.
    fuzz(&st, &c, 2, &c.admin, "all", &settings);
    fuzz(&st, &c, 0, &c.tenant_token(tenant), "all", &settings);
    fuzz(&st, &c, 1, &c.admin, "all", &["--include-operation-id", "set_config"]);
    c.wait_for_converged().await;
}
