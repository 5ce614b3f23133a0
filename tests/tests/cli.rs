//! The `hodei` client verbs against a live cluster: endpoint failover, output,
//! idempotent submits, listing, exit codes, and backup then restore into a new
//! cluster.

use std::process::{Command, Output};

use serde_json::Value;

use hodei_tests::process::{free_port, hodei_bin};
use hodei_tests::{Cluster, ClusterOptions};

fn hodei(endpoints: &str, token: &str, args: &[&str]) -> Output {
    Command::new(hodei_bin())
        .args(args)
        .env("HODEI_ENDPOINTS", endpoints)
        .env("HODEI_TOKEN", token)
        .output()
        .expect("run hodei")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}{}", out.status.code(), String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_a_live_cluster_and_restores_a_backup_into_a_new_one() {
    let c = Cluster::start(ClusterOptions::default()).await;
    // The first endpoint is dead: the client must move on to the next.
    let dead = format!("127.0.0.1:{}", free_port());
    let eps = format!("{dead},{}", c.nodes[1].spec.http);
    let admin = c.admin.clone();

    let t = json(&hodei(&eps, &admin, &["tenant", "create", "acme", "--email", "ops@acme.io", "--cpu-m", "8000", "-o", "json"]));
    let tenant = t["id"].as_u64().expect("tenant id");
    assert_eq!(t["quota"]["cpu_m"], 8000);

    let submit = |key: &str| hodei(&eps, &admin, &["job", "submit", "--tenant", &tenant.to_string(), "--idempotency-key", key, "-o", "json", "--", "echo", "hello world"]);
    let first = json(&submit("k1"));
    let again = json(&submit("k1"));
    assert_eq!(first["id"], again["id"], "a retried submit with the same key made a second job");
    assert_eq!(first["command"], serde_json::json!(["echo", "hello world"]));
    json(&submit("k2"));
    json(&submit("k3"));

    let page = json(&hodei(&eps, &admin, &["job", "list", "--tenant", &tenant.to_string(), "--limit", "2", "-o", "json"]));
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_u64().expect("a next cursor");
    let rest = json(&hodei(&eps, &admin, &["job", "list", "--limit", "2", "--cursor", &cursor.to_string(), "-o", "json"]));
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    let yaml = hodei(&eps, &admin, &["tenant", "get", &tenant.to_string(), "-o", "yaml"]);
    assert!(String::from_utf8_lossy(&yaml.stdout).contains("name: acme"), "{}", String::from_utf8_lossy(&yaml.stdout));
    let table = hodei(&eps, &admin, &["job", "list", "-o", "table"]);
    assert!(String::from_utf8_lossy(&table.stdout).starts_with("ID"), "{}", String::from_utf8_lossy(&table.stdout));

    // Exit codes: 1 for a refusal, 3 when no endpoint answers.
    assert_eq!(hodei(&eps, &admin, &["job", "get", "424242"]).status.code(), Some(1));
    assert_eq!(hodei(&eps, "bad-token", &["job", "get", "1"]).status.code(), Some(1));
    assert_eq!(hodei(&dead, &admin, &["cluster", "status"]).status.code(), Some(3));
    let cancelled = json(&hodei(&eps, &admin, &["job", "cancel", &first["id"].to_string(), "-o", "json"]));
    assert_eq!(cancelled["state"], "CANCELLED");
    // `job watch` follows a job to its end; 4 when it did not succeed.
    let watched = hodei(&eps, &admin, &["job", "watch", &first["id"].to_string(), "-o", "json"]);
    assert_eq!(watched.status.code(), Some(4), "{}", String::from_utf8_lossy(&watched.stderr));
    assert!(String::from_utf8_lossy(&watched.stdout).contains("CANCELLED"));
    // A tenant with no jobs can be deleted; then it is gone.
    let temp = json(&hodei(&eps, &admin, &["tenant", "create", "temp", "--email", "t@acme.io", "-o", "json"]));
    let temp = temp["id"].to_string();
    json(&hodei(&eps, &admin, &["tenant", "delete", &temp, "-o", "json"]));
    assert_eq!(hodei(&eps, &admin, &["tenant", "get", &temp]).status.code(), Some(1));
    // Shell completions name the verbs.
    let bash = hodei(&eps, &admin, &["completions", "bash"]);
    assert!(bash.status.success() && String::from_utf8_lossy(&bash.stdout).contains("watch"), "{}", String::from_utf8_lossy(&bash.stderr));

    // Backup, then restore into a brand-new cluster on other ports.
    let keep = tempfile::tempdir().unwrap();
    let backup = keep.path().join("backup.snap");
    let out = hodei(&eps, &admin, &["cluster", "snapshot", "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = json(&hodei(&eps, &admin, &["job", "list", "-o", "json"]));
    drop(c);
    let restored = Cluster::start(ClusterOptions { restore_from: Some(backup), ..Default::default() }).await;
    let eps = restored.nodes.iter().map(|n| n.spec.http.clone()).collect::<Vec<_>>().join(",");
    let after = json(&hodei(&eps, &restored.admin, &["job", "list", "-o", "json"]));
    assert_eq!(before["items"], after["items"], "the restored cluster lost or changed jobs");
    // And it takes new writes.
    let t2 = json(&hodei(&eps, &restored.admin, &["tenant", "create", "after-restore", "--email", "x@y.z", "-o", "json"]));
    assert!(t2["id"].as_u64().unwrap() > tenant);
}
