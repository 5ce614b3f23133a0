//! `/ui` in a real browser: Debian's Chromium, headless, loads the page from a
//! follower of a live 3-node cluster with a viewer token, runs its script, and
//! the DOM it leaves shows the cluster's members and leader, the pool and its
//! worker, the tenants' queues (one job left queued), the finished job and
//! today's costs. Skipped, saying so, only when Chromium cannot be installed.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use hodei_api::Role;
use hodei_tests::cluster::token;
use hodei_tests::promql::ensure_tool;
use hodei_tests::{wait_for, Cluster, ClusterOptions};

/// The DOM after the page's scripts ran (virtual time lets its fetches finish).
fn rendered(url: &str, profile: &std::path::Path) -> String {
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_leader_pools_queues_jobs_and_costs_in_headless_chromium() {
    if let Err(why) = ensure_tool("chromium") {
        eprintln!("SKIPPED: Debian's chromium cannot be installed here: {why}");
        return;
    }
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.wait_for_leader().await;
    let _w = c.spawn_worker("pool-default", 1);
    wait_for("the worker to register", Duration::from_secs(30), || async {
        let r = c.get(0, "/api/v1/workers").await.ok()?;
        (r.json.as_array()?.iter().filter(|w| w["state"] == "ACTIVE").count() == 1).then_some(())
    })
    .await;
    let tenant = c.must_create_tenant(0, "ui-tenant").await;
    let r = c.post(1, "/api/v1/jobs", &json!({"tenant_id": tenant, "command": ["echo", "shown-in-the-ui"], "cpu_m": 100, "memory_mb": 16})).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let job = r.json["id"].as_u64().unwrap();
    c.wait_for_job(0, job, "SUCCEEDED", Duration::from_secs(30), |j| j["state"] == "SUCCEEDED").await;
    // A job for a pool with no worker stays queued.
    let waiting = c.must_create_tenant(0, "ui-waiting").await;
    let r = c.post(1, "/api/v1/jobs", &json!({"tenant_id": waiting, "command": ["true"], "cpu_m": 100, "memory_mb": 16, "pool": "pool-without-workers"})).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    c.wait_for_job(0, r.json["id"].as_u64().unwrap(), "PENDING", Duration::from_secs(10), |j| j["state"] == "PENDING").await;

    let follower = (0..3).find(|&i| c.nodes[i].spec.id != leader).expect("a follower");
    let viewer = token(&c.secret, vec![Role::Viewer], None);
    let url = format!("http://{}/ui#token={viewer}", c.nodes[follower].spec.http);
    let dom = rendered(&url, &c.dir.path().join("chromium"));

    assert!(dom.contains(r#"data-ready="1""#), "the page never rendered the API's answers:\n{dom}");
    for (what, text) in [
        ("the leader", format!("leader: node {leader}")),
        ("the serving follower", format!("served by node {}", c.nodes[follower].spec.id)),
        ("the pool", "pool-default".to_string()),
        ("its worker, busy or idle", "(ACTIVE)".to_string()),
        ("the tenant by name", "ui-tenant".to_string()),
        ("the job's command", "echo shown-in-the-ui".to_string()),
        ("the job's state", "SUCCEEDED".to_string()),
        ("today's costs", "total since 00:00 UTC: $".to_string()),
    ] {
        assert!(dom.contains(&text), "{what} ({text:?}) missing from the rendered page:\n{dom}");
    }
    assert!(!dom.contains(r#"class="error""#), "the page reported an error:\n{dom}");

    // The queues table has the waiting tenant's row: name, weight, 1 queued, 0 running.
    let queues = section(&dom, "queues");
    let row = rows(queues).into_iter().find(|r| r.first().map(String::as_str) == Some("ui-waiting"));
    let row = row.unwrap_or_else(|| panic!("no queue row for ui-waiting in:\n{queues}"));
    assert_eq!(row[2..], ["1".to_string(), "0".to_string()], "queued and running of ui-waiting: {row:?}");
    // The members table lists all three nodes, the leader as such.
    let members = rows(section(&dom, "cluster"));
    for n in &c.nodes {
        let role = if n.spec.id == leader { "leader" } else { "follower" };
        assert!(members.iter().any(|r| r[..2] == [n.spec.id.to_string(), role.to_string()]), "node {} ({role}) missing from {members:?}", n.spec.id);
    }
}

/// The inner HTML of the element with `id` (up to the next top-level section).
fn section<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id} in:\n{dom}"));
    let rest = &dom[start..];
    &rest[..rest.find("</table>").map_or(rest.len(), |e| e + "</table>".len())]
}

/// The cells of each body row of the first table in `html`, as text.
fn rows(html: &str) -> Vec<Vec<String>> {
    let body = html.split("<tbody>").nth(1).unwrap_or("");
    body.split("<tr>")
        .skip(1)
        .map(|row| row.split("<td").skip(1).map(|cell| cell.split_once('>').map_or("", |(_, t)| t).split("</td>").next().unwrap_or("").to_string()).collect())
        .collect()
}
