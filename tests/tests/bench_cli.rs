//! `hodei bench submit` against a live cluster: its JSON report is well formed,
//! and every submit it counted as acknowledged is a job that exists afterwards
//! (no more, no fewer), over gRPC and over REST.

use std::process::{Command, Output};

use serde_json::Value;

use hodei_tests::process::hodei_bin;
use hodei_tests::{Cluster, ClusterOptions};

fn bench(token: &str, args: &[&str]) -> Output {
    Command::new(hodei_bin()).arg("bench").args(args).env("HODEI_TOKEN", token).output().expect("run hodei bench")
}

fn report(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "-o json prints exactly one line: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Every job of `tenant`, counted page by page through node `i`.
async fn count_jobs(c: &Cluster, tenant: u64) -> u64 {
    let mut count = 0;
    let mut cursor: Option<u64> = None;
    loop {
        let q = cursor.map(|x| format!("&cursor={x}")).unwrap_or_default();
        let page = c.must_get(0, &format!("/api/v1/jobs?tenant_id={tenant}&limit=1000{q}")).await;
        let items = page["items"].as_array().expect("a page of jobs");
        assert!(items.iter().all(|j| j["tenant_id"] == tenant), "the list mixed in another tenant's jobs");
        count += items.len() as u64;
        match page["next_cursor"].as_u64() {
            Some(next) => cursor = Some(next),
            None => return count,
        }
    }
}

fn check_shape(r: &Value, transport: &str, concurrency: u64) {
    assert_eq!((r["system"].as_str(), r["op"].as_str()), (Some("hodei"), Some("submit")), "{r}");
    assert_eq!(r["transport"], transport);
    assert_eq!(r["concurrency"], concurrency);
    assert_eq!(r["errors"], 0, "no submit should fail on a healthy cluster: {}", r["error_examples"]);
    let ok = r["ok"].as_u64().expect("ok count");
    assert!(ok > 0, "nothing was acknowledged: {r}");
    for q in ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"] {
        assert!(r[q].as_f64().is_some_and(|v| v > 0.0), "{q} missing or zero: {r}");
    }
    let (p50, p99, max) = (r["p50_ms"].as_f64().unwrap(), r["p99_ms"].as_f64().unwrap(), r["max_ms"].as_f64().unwrap());
    assert!(p50 <= p99 && p99 <= max, "quantiles out of order: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_submit_acknowledges_exactly_the_jobs_that_exist() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let grpc = c.nodes.iter().map(|n| n.spec.grpc.clone()).collect::<Vec<_>>().join(",");
    let rest = c.nodes.iter().map(|n| n.spec.http.clone()).collect::<Vec<_>>().join(",");

    // Nothing runs the bench's jobs and each tenant may hold 1,000 queued by
    // default: spread the submissions so no tenant reaches that bound.
    let r = report(&bench(&c.admin, &["submit", "--endpoints", &grpc, "--concurrency", "4", "--tenants", "16", "--duration", "2s", "-o", "json"]));
    check_shape(&r, "grpc", 4);
    let tenants = r["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 16);
    let mut existing = 0;
    for t in tenants {
        existing += count_jobs(&c, t.as_u64().unwrap()).await;
    }
    assert_eq!(existing, r["ok"].as_u64().unwrap(), "acknowledged submits and existing jobs differ");

    let args = ["submit", "--rest", "--endpoints", &rest, "--concurrency", "3", "--tenants", "8", "--payload-bytes", "5000", "--duration", "2s", "-o", "json"];
    let r = report(&bench(&c.admin, &args));
    check_shape(&r, "rest", 3);
    let mut existing = 0;
    for t in r["tenants"].as_array().expect("tenants") {
        existing += count_jobs(&c, t.as_u64().unwrap()).await;
    }
    assert_eq!(existing, r["ok"].as_u64().unwrap(), "acknowledged submits and existing jobs differ over REST");
}

#[test]
fn bench_refuses_bad_input_with_a_clear_message() {
    let stderr = |o: Output| (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned());
    let (code, err) = stderr(bench("t", &["submit", "--payload-bytes", "99999999"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--payload-bytes"), "{err}");
    let (code, err) = stderr(bench("t", &["submit", "--grpc", "--rest"]));
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = stderr(bench("t", &["submit", "--endpoints", "bad host:1", "--duration", "1s"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not an endpoint address"), "{err}");
    let out = Command::new(hodei_bin()).args(["bench", "submit", "--duration", "1s"]).env_remove("HODEI_TOKEN").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `hodei bench scale` on a small state: it starts its own cluster, and its
/// report says every job is queued, names each node's memory, and carries a
/// snapshot that `hodei restore` read back with every job in it.
#[test]
fn bench_scale_reports_the_state_it_built_and_restored() {
    let out = Command::new(hodei_bin())
        .args(["bench", "scale", "--jobs", "3000", "--tenants", "30", "--concurrency", "8", "-o", "json"])
        .output()
        .expect("run hodei bench scale");
    let r = report(&out);
    assert_eq!((r["submitted"].as_u64(), r["queued"].as_u64()), (Some(3000), Some(3000)), "{r}");
    assert_eq!(r["submit_errors"].as_object().map(|e| e.len()), Some(0), "{r}");
    let nodes = r["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3, "{r}");
    for n in nodes {
        let (rss, peak) = (n["rss_mib"].as_f64().unwrap_or(0.0), n["peak_rss_mib"].as_f64().unwrap_or(0.0));
        assert!(rss > 1.0 && rss <= peak, "implausible memory figures: {n}");
    }
    // Tenants, their quota updates and the jobs are all in the log the snapshot covers.
    assert!(r["snapshot_index"].as_u64().is_some_and(|i| i > 30), "{r}");
    assert!(r["snapshot_bytes"].as_u64().is_some_and(|b| b > 3000 * 16), "a snapshot of 3,000 jobs: {r}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(30 tenants, 3000 jobs)"), "restore should read back every tenant and job: {stderr}");
    assert!(r["restart_caught_up_s"].as_f64() >= r["restart_ready_s"].as_f64(), "{r}");
}
