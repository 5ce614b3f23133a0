//! The `docker` provisioner against a real engine: a job for an empty dynamic
//! pool makes the leader start a worker container of the `hodei:dev` image
//! (built first by `scripts/build-image`, quick when nothing changed), the job
//! runs inside it with the host's tools mounted, its output is readable through
//! the API, and idleness scales the pool back to zero with the container gone.
//!
//! Skipped, saying why, only when `docker info` fails (no engine here).

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker ran a moment ago");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the pool's containers however the test ends.
struct Containers(String);

impl Containers {
    fn running(&self) -> Vec<String> {
        docker(&["ps", "-q", "--filter", &self.0]).lines().map(str::to_string).collect()
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for id in docker(&["ps", "-a", "-q", "--filter", &self.0]).lines() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_an_empty_dynamic_pool_runs_in_a_provisioned_container_which_is_removed_when_idle() {
    match Command::new("docker").arg("info").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return eprintln!("SKIPPED: `docker info` failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => return eprintln!("SKIPPED: `docker info` could not run: {e}"),
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-image");
    let built = Command::new(&script).status().expect("run scripts/build-image");
    assert!(built.success(), "scripts/build-image failed: {built}");

    // A pool id of this test process, so its containers are told apart.
    let pool = format!("boxed-{}", std::process::id());
    let containers = Containers(format!("label=hodei.pool={pool}"));
    let config = format!(
        r#"
resource_pools:
  provisioner: docker
  pools:
    - id: {pool}
      name: Container Pool
      type: dynamic
      min_size: 0
      max_size: 2
      auto_scaling_enabled: true
      scaling_policies:
        - name: waiting
          trigger: "pending_wait_s > 1"
          action: scale_up
          cooldown: 1s
        - name: idle
          trigger: "allocation_ratio < 10"
          action: scale_down
          cooldown: 2s
"#
    );
    let c = Cluster::start(ClusterOptions { config_yaml: config, ..ClusterOptions::default() }).await;
    let path = format!("/api/v1/pools/{pool}");
    wait_for("the configured pool", Duration::from_secs(20), || async { (c.get(0, &path).await.ok()?.status == 200).then_some(()) }).await;
    let lifetime = json!({"min_worker_lifetime": "1s", "scale_up_cooldown": "1s", "scale_down_cooldown": "2s"});
    let r = c.client.call(Method::PATCH, &c.url(1, &path), Some(&c.admin), Some(&lifetime), &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let tenant = c.must_create_tenant(0, "acme").await;

    let sent = Instant::now();
    let body = json!({"tenant_id": tenant, "command": ["sh", "-c", "sleep 2; echo hello from a container"], "cpu_m": 500, "memory_mb": 128, "pool": pool});
    let r = c.post(1, "/api/v1/jobs", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_u64().unwrap();
    // No worker exists yet, and none could take the job; the pool can grow.
    let explain = c.get(2, &format!("/api/v1/jobs/{id}/explain")).await.unwrap();
    if explain.status != 409 {
        assert_eq!(explain.status, 200, "{}", explain.json);
        assert!(explain.json.to_string().contains("WaitingForCapacity"), "an empty pool that can grow is capacity, not a misfit: {}", explain.json);
    }

    wait_for("a worker container of the pool", Duration::from_secs(60), || async { (!containers.running().is_empty()).then_some(()) }).await;
    let job = c.wait_for_job(0, id, "SUCCEEDED", Duration::from_secs(90), |j| j["state"] == "SUCCEEDED" || j["state"] == "FAILED").await;
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    let cold = job["started_at_ms"].as_u64().unwrap() - job["submitted_at_ms"].as_u64().unwrap();
    println!("cold start on a freshly provisioned container worker: {cold} ms from submit to process start (committed times; {:?} wall to SUCCEEDED)", sent.elapsed());
    let worker = docker(&["ps", "--filter", &containers.0, "--format", "{{.Image}} {{.Labels}}"]);
    assert!(worker.contains("hodei:dev") && worker.contains("hodei.provisioned=1"), "the worker runs the project's image: {worker}");
    let logs = c.get(2, &format!("/api/v1/jobs/{id}/logs")).await.unwrap();
    assert_eq!(logs.status, 200, "{}", logs.json);
    assert!(logs.json.as_str().unwrap_or_default().contains("hello from a container"), "{}", logs.json);

    wait_for("the pool to shrink to zero with its container gone", Duration::from_secs(90), || async {
        let p = c.get(2, &path).await.ok()?.json;
        (p["target_size"] == 0 && containers.running().is_empty()).then_some(())
    })
    .await;
}
