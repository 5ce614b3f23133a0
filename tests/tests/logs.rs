//! Node logs: with `HODEI_LOG_FORMAT=json` every line a node writes is one JSON
//! object, a client's request id is a field of the leader's line about the write
//! a follower forwarded, and `HODEI_LOG` filters lower levels out.

use std::time::Duration;

use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Every line of node `i`'s log, each parsed as a JSON object with a level.
fn json_lines(c: &Cluster, i: usize) -> Vec<Value> {
    let path = c.nodes[i].spec.data_dir.with_extension("log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("node {}: not JSON ({e}): {l}", i + 1));
            assert!(v.is_object() && v["level"].is_string() && v["fields"].is_object(), "node {}: not a log record: {l}", i + 1);
            v
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_the_env_filter_drops_lower_levels() {
    let opts = ClusterOptions { node_env: env(&[("HODEI_LOG_FORMAT", "json"), ("HODEI_LOG", "info")]), ..Default::default() };
    let mut c = Cluster::start(opts).await;
    let leader = c.index_of(c.wait_for_leader().await);
    let follower = (0..3).find(|i| *i != leader).expect("a follower");

    let request_id = format!("logs-test-{}", std::process::id());
    let body = json!({"name": "logs", "email": "logs@example.com"});
    let url = c.url(follower, "/api/v1/tenants");
    let r = c.client.call(reqwest::Method::POST, &url, Some(&c.admin), Some(&body), &[("x-request-id", &request_id)]).await.expect("create tenant");
    assert_eq!(r.status, 201, "{}", r.json);
    let line = wait_for("the leader's JSON line with the forwarded request id", Duration::from_secs(10), || async {
        json_lines(&c, leader).into_iter().find(|l| l["fields"]["request_id"] == request_id.as_str())
    })
    .await;
    assert_eq!(line["fields"]["message"], "write forwarded by a follower", "{line}");
    assert_eq!(line["level"], "INFO", "{line}");
    for i in 0..3 {
        let lines = json_lines(&c, i);
        assert!(lines.iter().any(|l| l["level"] == "INFO" && l["fields"]["message"] == "starting node"), "node {} logged no INFO start line", i + 1);
    }

    // The same follower restarted with HODEI_LOG=warn writes no INFO line, not
    // even the start line it wrote above.
    c.kill(follower);
    c.nodes[follower].spec.env = env(&[("HODEI_LOG_FORMAT", "json"), ("HODEI_LOG", "warn")]);
    c.restart(follower);
    c.wait_for_all_ready().await;
    let r = c.get(follower, "/api/v1/tenants").await.expect("a read on the restarted node");
    assert_eq!(r.status, 200, "{}", r.json);
    let lines = json_lines(&c, follower);
    let below_warn: Vec<&Value> = lines.iter().filter(|l| !matches!(l["level"].as_str(), Some("WARN" | "ERROR"))).collect();
    assert!(below_warn.is_empty(), "HODEI_LOG=warn let lower levels through: {below_warn:?}");
}
