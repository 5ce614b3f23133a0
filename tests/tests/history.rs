//! The replicated metric history and observability settings on a live
//! three-node cluster: the config is validated and set through a follower, the
//! leader samples at the replicated interval, and every node serves the same
//! history; a request id sent to a follower shows up in the leader's log.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hodei_api::auth::Role;
use hodei_tests::cluster::token;
use hodei_tests::{wait_for, Cluster, ClusterOptions};
use reqwest::Method;
use serde_json::{json, Value};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_millis() as u64
}

async fn post_as(c: &Cluster, i: usize, tok: &str, body: Value, headers: &[(&str, &str)]) -> hodei_tests::Reply {
    c.client.call(Method::POST, &c.url(i, "/api/v1/observability/config"), Some(tok), Some(&body), headers).await.expect("POST config")
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_replicated_and_config_is_validated_through_a_follower() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.index_of(c.wait_for_leader().await);
    let follower = (leader + 1) % 3;
    let viewer = token(&c.secret, vec![Role::Viewer], None);

    // Roles: viewers read, only admins write.
    let got = c.client.call(Method::GET, &c.url(follower, "/api/v1/observability/config"), Some(&viewer), None, &[]).await.unwrap();
    assert_eq!(got.status, 200, "{}", got.json);
    assert_eq!(got.json["history"]["sample_interval_ms"], 15_000, "{}", got.json);
    let r = post_as(&c, follower, &viewer, json!({"history": {"enabled": true}}), &[]).await;
    assert_eq!(r.status, 403, "{}", r.json);

    // Bad input: 400 naming the key, and nothing changes on any node.
    for (body, field) in [
        (json!({"history": {"sample_interval_ms": 10}}), Some("history.sample_interval_ms")),
        (json!({"history": {"retention_hours": 100_000}}), Some("history.retention_hours")),
        (json!({"grafana": {"url": "ftp://grafana"}}), Some("grafana.url")),
        (json!({"alerting": {"prometheus_alerts_dir": "/etc/\u{7}alerts"}}), Some("alerting.prometheus_alerts_dir")),
        (json!({"history": {"interval": 5}}), None),
        (json!({"history": {"sample_interval_ms": "fast"}}), None),
    ] {
        let r = post_as(&c, follower, &c.admin, body.clone(), &[]).await;
        assert_eq!(r.status, 400, "{body}: {}", r.json);
        if let Some(f) = field {
            assert_eq!(r.json["error"]["details"]["field"], f, "{body}: {}", r.json);
        }
    }
    for i in 0..3 {
        let cfg = c.must_get(i, "/api/v1/observability/config").await;
        assert_eq!(cfg["history"]["sample_interval_ms"], 15_000, "node {}: {cfg}", i + 1);
    }

    // A valid change through the follower, with the client's request id.
    let request_id = format!("history-test-{}", std::process::id());
    let body = json!({"history": {"sample_interval_ms": 5_000, "max_tenant_series": 10}});
    let r = post_as(&c, follower, &c.admin, body, &[("x-request-id", &request_id)]).await;
    let set_at = now_ms();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.header("x-request-id").as_deref(), Some(request_id.as_str()));
    assert_eq!((r.json["history"]["sample_interval_ms"].as_u64(), r.json["grafana"]["url"].as_str()), (Some(5_000), Some("http://grafana:3000")));
    let leader_log = c.nodes[leader].spec.data_dir.with_extension("log");
    wait_for("the forwarded request id in the leader's log", Duration::from_secs(10), || async {
        std::fs::read_to_string(&leader_log).ok().filter(|log| log.lines().any(|l| l.contains(&request_id) && l.contains("forwarded"))).map(|_| ())
    })
    .await;
    // A generated id comes back when the client sends none.
    let r = c.get(follower, "/api/v1/observability/config").await.unwrap();
    assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()), "{:?}", r.headers);

    // A tenant with a queued job (no workers) is active, so it gets a series.
    let tenant = c.must_create_tenant(follower, "history").await;
    let job = c.submit(follower, tenant, "history-job").await.expect("submit");
    assert_eq!(job.status, 201, "{}", job.json);

    let start = now_ms() - 60_000;
    let end = now_ms() + 600_000;
    let pool_path = format!("/api/v1/metrics/historical?pool_id=pool-default&start={start}&end={end}&step=1000");
    let tenant_path = format!("/api/v1/metrics/tenants/{tenant}?start={start}&end={end}&step=1000");
    let last = wait_for("three tenant samples with the job queued", Duration::from_secs(40), || async {
        let m = c.get(leader, &tenant_path).await.ok()?;
        let points = m.json["history"]["points"].as_array()?.clone();
        let queued: Vec<&Value> = points.iter().filter(|p| p["mean"]["queued_jobs"] == 1).collect();
        (queued.len() >= 3).then(|| m.json["history"]["last_sample_ms"].as_u64()).flatten()
    })
    .await;

    // Every node serves the same history over the same window.
    let window = format!("start={start}&end={}&step=1000", last + 1);
    for (path, key) in [
        (format!("/api/v1/metrics/historical?pool_id=pool-default&{window}"), None),
        (format!("/api/v1/metrics/tenants/{tenant}?{window}"), Some("history")),
    ] {
        let mut seen: Option<Value> = None;
        for i in 0..3 {
            let body = c.must_get(i, &path).await;
            let h = key.map_or(&body, |k| &body[k]);
            let points = h["points"].clone();
            assert!(points.as_array().is_some_and(|p| p.len() >= 3), "node {}: {h}", i + 1);
            if let Some(s) = &seen {
                assert_eq!(&points, s, "node {} serves a different history for {path}", i + 1);
            }
            seen = Some(points);
        }
    }
    // Samples are the replicated interval apart (5 s, give or take the 1 s check).
    let h = c.must_get(follower, &format!("/api/v1/metrics/historical?pool_id=pool-default&{window}&consistency=stale")).await;
    let times: Vec<u64> = h["points"].as_array().unwrap().iter().map(|p| p["at_ms"].as_u64().unwrap()).filter(|t| *t >= set_at).collect();
    assert!(times.len() >= 2, "{h}");
    assert!(times.windows(2).all(|w| (5_000..=12_000).contains(&(w[1] - w[0]))), "{times:?}");
    assert!(h["points"][0]["mean"]["queue_depth"].as_u64().is_some(), "{h}");

    // Bad history queries.
    let r = c.get(follower, &format!("/api/v1/metrics/historical?pool_id=pool-default&start={start}&end={end}&step=5")).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.json);
    let r = c.get(follower, &format!("/api/v1/metrics/historical?pool_id=pool-default&start={end}&end={start}")).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.json);
    let r = c.get(follower, &format!("/api/v1/metrics/historical?pool_id=no-such-pool&start={start}&end={end}")).await.unwrap();
    assert_eq!(r.status, 404, "{}", r.json);
    let other = c.client.call(Method::GET, &c.url(follower, &pool_path), Some(&c.tenant_token(tenant)), None, &[]).await.unwrap();
    assert_eq!(other.status, 403, "{}", other.json);
}
