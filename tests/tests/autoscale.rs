//! A dynamic pool under the leader's autoscaler and the `process` provisioner:
//! a deep queue scales it up with real `hodei worker` processes, idleness
//! scales it down after the cooldown to `min_size`, no busy worker is ever
//! drained (every job succeeds on its first attempt), and every decision is in
//! the pool's scaling history with its reason.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions};

const CONFIG: &str = r#"
resource_pools:
  provisioner: process
  pools:
    - id: burst
      name: Burst Pool
      type: dynamic
      min_size: 0
      max_size: 3
      auto_scaling_enabled: true
      scaling_policies:
        - name: deep-queue
          trigger: "queue_depth > 2"
          action: scale_up
          cooldown: 1s
        - name: idle
          trigger: "allocation_ratio < 10"
          action: scale_down
          cooldown: 2s
"#;

async fn pool_workers(c: &Cluster) -> Vec<Value> {
    pool_workers_of(c, "burst").await
}

/// The workers of `pool`, in any state (deregistered ones are gone).
async fn pool_workers_of(c: &Cluster, pool: &str) -> Vec<Value> {
    let r = c.get(0, "/api/v1/workers").await.expect("list workers");
    r.json.as_array().cloned().unwrap_or_default().into_iter().filter(|w| w["pool"] == pool).collect()
}

/// A cluster with `config`, its pool `pool` given short cooldowns (up 1 s,
/// down `scale_down`) and a 1 s minimum worker lifetime, and a tenant.
async fn start_with_pool(config: &str, pool: &str, scale_down: &str) -> (Cluster, u64) {
    let c = Cluster::start(ClusterOptions { config_yaml: config.into(), ..ClusterOptions::default() }).await;
    let path = format!("/api/v1/pools/{pool}");
    wait_for("the configured pool", Duration::from_secs(20), || async { (c.get(0, &path).await.ok()?.status == 200).then_some(()) }).await;
    let lifetime = json!({"min_worker_lifetime": "1s", "scale_up_cooldown": "1s", "scale_down_cooldown": scale_down});
    let r = c.client.call(Method::PATCH, &c.url(1, &path), Some(&c.admin), Some(&lifetime), &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let tenant = c.must_create_tenant(0, "acme").await;
    (c, tenant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_queue_scales_a_dynamic_pool_up_and_idleness_scales_it_back_down() {
    let (c, tenant) = start_with_pool(CONFIG, "burst", "2s").await;

    let sent = Instant::now();
    let mut ids = Vec::new();
    for n in 0..9 {
        let body = json!({"tenant_id": tenant, "command": ["sleep", "4"], "cpu_m": 1000, "memory_mb": 256, "pool": "burst"});
        let r = c.post(n % 3, "/api/v1/jobs", &body).await.unwrap();
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.json["id"].as_u64().unwrap());
    }
    let first = c.wait_for_job(0, ids[0], "RUNNING or done", Duration::from_secs(60), |j| j["started_at_ms"].is_u64()).await;
    let cold = first["started_at_ms"].as_u64().unwrap() - first["submitted_at_ms"].as_u64().unwrap();
    println!("cold start on a freshly provisioned dynamic worker: {cold} ms from submit to process start (committed times; {:?} wall)", sent.elapsed());
    wait_for("the pool to grow past one worker", Duration::from_secs(60), || async { (pool_workers(&c).await.len() >= 2).then_some(()) }).await;
    for id in &ids {
        let j = c.wait_for_job(1, *id, "SUCCEEDED", Duration::from_secs(90), |j| j["state"] != "PENDING" && j["state"] != "ASSIGNED" && j["state"] != "RUNNING").await;
        assert_eq!(j["state"], "SUCCEEDED", "no busy worker is drained under a job: {j}");
        assert_eq!(j["attempts"], 1, "each job ran once: {j}");
    }

    // Idle: the autoscaler brings the target to min_size (0), the provisioner
    // drains the workers, which deregister and exit.
    wait_for("the pool to shrink to min_size with no worker left", Duration::from_secs(90), || async {
        let pool = c.get(2, "/api/v1/pools/burst").await.ok()?.json;
        (pool["target_size"] == 0 && pool_workers(&c).await.is_empty()).then_some(())
    })
    .await;
    let history = c.get(1, "/api/v1/pools/burst/scaling/history").await.unwrap().json;
    let events = history.as_array().unwrap();
    let up = events.iter().find(|e| e["automatic"] == true && e["to"].as_u64() > e["from"].as_u64()).unwrap_or_else(|| panic!("a scale-up: {history}"));
    let down = events.iter().find(|e| e["automatic"] == true && e["to"].as_u64() < e["from"].as_u64()).unwrap_or_else(|| panic!("a scale-down: {history}"));
    assert!(up["reason"].as_str().unwrap().contains("deep-queue"), "{up}");
    assert!(down["reason"].as_str().unwrap().contains("idle"), "{down}");
    assert!(events.iter().all(|e| e["to"].as_u64() <= Some(3)), "never above max_size: {history}");
    println!("scaling history (newest first): {}", serde_json::to_string(&history).unwrap());
}

const STATIC: &str = r#"
resource_pools:
  provisioner: process
  pools:
    - id: warm
      name: Warm Pool
      type: static
      min_size: 1
      max_size: 4
"#;

/// The ACTIVE workers of pool `warm`.
async fn warm_workers(c: &Cluster) -> Option<Vec<Value>> {
    let r = c.get(0, "/api/v1/workers").await.ok()?;
    Some(r.json.as_array()?.iter().filter(|w| w["pool"] == "warm" && w["state"] == "ACTIVE").cloned().collect())
}

/// The pid of the `hodei worker` process registered under `name`.
fn pid_of_worker(name: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let named = args.windows(2).any(|w| w[0] == b"--name" && w[1] == name.as_bytes());
        (named && args.get(1) == Some(&b"worker".as_slice())).then_some(pid)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_pool_is_kept_at_min_size_and_a_killed_worker_is_replaced() {
    let c = Cluster::start(ClusterOptions { config_yaml: STATIC.into(), ..ClusterOptions::default() }).await;
    let first = wait_for("the leader to start the static pool's one warm worker", Duration::from_secs(40), || async {
        warm_workers(&c).await.filter(|a| a.len() == 1).map(|a| a[0].clone())
    })
    .await;
    let name = first["name"].as_str().unwrap().to_string();
    let pid = pid_of_worker(&name).unwrap_or_else(|| panic!("no process for worker {name}"));
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let killed = Instant::now();
    let second = wait_for("a replacement worker in the static pool", Duration::from_secs(60), || async {
        warm_workers(&c).await?.into_iter().find(|w| w["id"] != first["id"])
    })
    .await;
    println!("static pool: SIGKILLed worker replaced by a registered one in {:?} (its lease, a young term's failover grace, a reconcile round)", killed.elapsed());
    assert_eq!(second["pool"], "warm");
    let all = c.get(0, "/api/v1/workers").await.unwrap().json;
    let lost = all.as_array().unwrap().iter().find(|w| w["id"] == first["id"]).cloned();
    assert_eq!(lost.map(|w| w["state"].clone()), Some(json!("LOST")), "the killed worker is declared lost: {all}");
    let live = all.as_array().unwrap().iter().filter(|w| w["pool"] == "warm" && w["state"] == "ACTIVE").count();
    assert_eq!(live, 1, "kept at min_size, not above: {all}");
}

const FLOOR: &str = r#"
resource_pools:
  provisioner: process
  pools:
    - id: floor
      name: Floor Pool
      type: dynamic
      min_size: 1
      max_size: 2
      auto_scaling_enabled: true
      scaling_policies:
        - name: deep-queue
          trigger: "queue_depth > 1"
          action: scale_up
          cooldown: 1s
        - name: idle
          trigger: "allocation_ratio < 10"
          action: scale_down
          cooldown: 1s
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_dynamic_pool_scales_down_to_min_size_one_and_never_below() {
    let (c, tenant) = start_with_pool(FLOOR, "floor", "1s").await;
    let mut ids = Vec::new();
    // 10 jobs of 4 s, two at a time on the warm worker: a backlog of 20 s,
    // the queue deeper than 1 for over two evaluation rounds (every 5 s).
    for _ in 0..10 {
        let body = json!({"tenant_id": tenant, "command": ["sleep", "4"], "cpu_m": 1000, "memory_mb": 256, "pool": "floor"});
        ids.push(c.post(0, "/api/v1/jobs", &body).await.unwrap().json["id"].as_u64().unwrap());
    }
    let history = || async { c.get(1, "/api/v1/pools/floor/scaling/history").await.ok().and_then(|r| r.json.as_array().cloned()) };
    wait_for("a scale-up to 2", Duration::from_secs(60), || async { history().await?.iter().any(|e| e["to"] == 2).then_some(()) }).await;
    for id in &ids {
        let j = c.wait_for_job(1, *id, "SUCCEEDED", Duration::from_secs(90), |j| j["state"] == "SUCCEEDED" || j["state"] == "FAILED" || j["state"] == "LOST").await;
        assert_eq!((j["state"].as_str(), j["attempts"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{j}");
    }
    let down = wait_for("the idle pool back at min_size 1 with one worker", Duration::from_secs(90), || async {
        let pool = c.get(2, "/api/v1/pools/floor").await.ok()?.json;
        let down = history().await?.into_iter().find(|e| e["to"] == 1 && e["from"] == 2)?;
        (pool["target_size"] == 1 && pool_workers_of(&c, "floor").await.len() == 1).then_some(down)
    })
    .await;
    // Idle past three more evaluation rounds (every 5 s) beyond the 1 s
    // cooldown: the idle policy still fires, and the floor holds.
    let until = Instant::now() + Duration::from_secs(16);
    wait_for("three more autoscaler rounds", Duration::from_secs(20), || async { (Instant::now() >= until).then_some(()) }).await;
    let events = history().await.unwrap();
    assert!(events.iter().all(|e| e["to"].as_u64() >= Some(1)), "never below min_size: {events:?}");
    assert_eq!(c.must_get(0, "/api/v1/pools/floor").await["target_size"], 1);
    assert_eq!(pool_workers_of(&c, "floor").await.len(), 1, "one warm worker kept");
    println!("floor pool: scaled 1 -> 2 -> 1 ({}), then held at min_size 1 for 16 s idle", down["reason"]);
}
