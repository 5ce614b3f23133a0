//! Debian's `prometheus` against a live 3-node cluster, with the shipped scrape
//! config (its targets, scrape and evaluation intervals templated for the test)
//! and the shipped rules: all three targets come up, exactly one node reports
//! itself leader, every rule group is loaded and evaluates cleanly, and a
//! killed node's HodeiNodeDown alert goes pending within the rule's window.
//! Skipped, saying so, only when Prometheus cannot be installed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use hodei_tests::process::free_port;
use hodei_tests::promql::{ensure_tool, repo_root, rule_groups};
use hodei_tests::{wait_for, Cluster, ClusterOptions};

/// The Prometheus process; killed when dropped.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped config with the test cluster's targets, 1 s intervals and the
/// rules' absolute path. Panics when the shipped file no longer has the lines it
/// replaces, so the template cannot silently stop applying.
fn templated_config(targets: &[String]) -> String {
    let shipped = std::fs::read_to_string(repo_root().join("deploy/prometheus/prometheus.yml")).expect("read prometheus.yml");
    let rules = repo_root().join("deploy/prometheus/rules/hodei.rules.yml");
    let quoted: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    let replacements = [
        (r#"targets: ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]"#.to_string(), format!("targets: [{}]", quoted.join(", "))),
        ("scrape_interval: 15s".into(), "scrape_interval: 1s".into()),
        ("scrape_timeout: 5s".into(), "scrape_timeout: 1s".into()),
        ("evaluation_interval: 15s".into(), "evaluation_interval: 1s".into()),
        ("- rules/hodei.rules.yml".into(), format!("- {}", rules.display())),
    ];
    let mut config = shipped;
    for (from, to) in replacements {
        assert!(config.contains(&from), "deploy/prometheus/prometheus.yml no longer contains {from:?}: update this test's template");
        config = config.replace(&from, &to);
    }
    config
}

fn start_prometheus(config: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir }
}

async fn api(http: &reqwest::Client, p: &Prometheus, path: &str) -> Option<Value> {
    let v: Value = http.get(format!("{}{path}", p.url)).send().await.ok()?.json().await.ok()?;
    (v["status"] == "success").then(|| v["data"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_all_three_nodes_sees_one_leader_and_loads_the_rules() {
    if let Err(why) = ensure_tool("prometheus") {
        eprintln!("SKIPPED: Debian's prometheus cannot be installed here: {why}");
        return;
    }
    let mut c = Cluster::start(ClusterOptions::default()).await;
    c.wait_for_leader().await;
    let targets: Vec<String> = c.nodes.iter().map(|n| n.spec.http.clone()).collect();
    let prom = start_prometheus(&templated_config(&targets));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();

    wait_for("Prometheus to see all 3 targets up", Duration::from_secs(60), || async {
        let data = api(&http, &prom, "/api/v1/targets").await?;
        let active = data["activeTargets"].as_array()?;
        let up: Vec<&str> = active.iter().filter(|t| t["health"] == "up").filter_map(|t| t["labels"]["instance"].as_str()).collect();
        (active.len() == 3 && up.len() == 3).then_some(())
    })
    .await;

    let leaders = wait_for("one scrape of every node's hodei_raft_is_leader", Duration::from_secs(30), || async {
        let data = api(&http, &prom, "/api/v1/query?query=hodei_raft_is_leader%7Bjob%3D%22hodei%22%7D").await?;
        let series = data["result"].as_array()?.clone();
        (series.len() == 3).then_some(series)
    })
    .await;
    let is_leader: Vec<(String, String)> = leaders
        .iter()
        .map(|s| (s["metric"]["instance"].as_str().unwrap_or_default().to_string(), s["value"][1].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(is_leader.iter().filter(|(_, v)| v == "1").count(), 1, "exactly one leader expected: {is_leader:?}");
    assert_eq!(is_leader.iter().filter(|(_, v)| v == "0").count(), 2, "{is_leader:?}");

    let shipped: Vec<(String, usize)> = rule_groups().into_iter().map(|g| (g.name, g.rules.len())).collect();
    let loaded = wait_for("every rule group loaded and evaluated without error", Duration::from_secs(30), || async {
        let data = api(&http, &prom, "/api/v1/rules").await?;
        let groups = data["groups"].as_array()?.clone();
        let evaluated = groups.iter().flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default()).all(|r| r["health"] == "ok");
        (groups.len() == shipped.len() && evaluated).then_some(groups)
    })
    .await;
    let loaded: Vec<(String, usize)> =
        loaded.iter().map(|g| (g["name"].as_str().unwrap_or_default().to_string(), g["rules"].as_array().map_or(0, Vec::len))).collect();
    for group in &shipped {
        assert!(loaded.contains(group), "rule group {group:?} not loaded as shipped; Prometheus has {loaded:?}");
    }
    // The cluster has a leader, so the no-leader alert must clear. It may be
    // pending for an evaluation or two at first: a rule evaluated after the
    // followers' first scrape but before the leader's sees no leader yet.
    wait_for("HodeiNoLeader to be neither pending nor firing", Duration::from_secs(30), || async {
        let alerts = api(&http, &prom, "/api/v1/alerts").await?;
        let no_leader = alerts["alerts"].as_array()?.iter().filter(|a| a["labels"]["alertname"] == "HodeiNoLeader").count();
        (no_leader == 0).then_some(())
    })
    .await;

    // A killed node: the scrape fails, and HodeiNodeDown goes pending for that
    // instance well inside its 1-minute `for` window (it fires only after it).
    let killed = c.nodes[2].spec.http.clone();
    c.kill(2);
    let killed_at = std::time::Instant::now();
    let alert = wait_for("HodeiNodeDown pending for the killed node", Duration::from_secs(30), || async {
        let alerts = api(&http, &prom, "/api/v1/alerts").await?;
        alerts["alerts"].as_array()?.iter().find(|a| a["labels"]["alertname"] == "HodeiNodeDown" && a["labels"]["instance"] == killed.as_str()).cloned()
    })
    .await;
    assert_eq!(alert["state"], "pending", "not firing before its 1-minute window: {alert}");
    println!("HodeiNodeDown pending {:?} after the kill", killed_at.elapsed());
}
