//! Jobs really run: worker agents as processes, dispatch by the leader, output,
//! cancel, and the failures that must lose nothing and run nothing twice.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use hodei_tests::process::WorkerProcess;
use hodei_tests::{wait_for, Cluster, ClusterOptions};

async fn submit(c: &Cluster, i: usize, tenant: u64, command: &[&str]) -> u64 {
    submit_sized(c, i, tenant, command, 100).await
}

/// Submits a job asking for `cpu_m` (a worker offers 2000).
async fn submit_sized(c: &Cluster, i: usize, tenant: u64, command: &[&str], cpu_m: u64) -> u64 {
    let body = json!({"tenant_id": tenant, "command": command, "cpu_m": cpu_m, "memory_mb": 64});
    let r = c.post(i, "/api/v1/jobs", &body).await.expect("submit");
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["id"].as_u64().unwrap()
}

/// A job script that appends a line to `runs` when it starts and then runs
/// until the test creates `release`: the test decides when the job ends.
fn held_until(runs: &std::path::Path, release: &std::path::Path) -> String {
    format!("echo run >> {}; while [ ! -e {} ]; do sleep 0.05; done", runs.display(), release.display())
}

/// Three nodes, one worker agent registered, and a tenant.
async fn start_with_one_worker() -> (Cluster, WorkerProcess, u64) {
    let c = Cluster::start(ClusterOptions::default()).await;
    let w = c.spawn_worker("default", 1);
    wait_for_workers(&c, 1).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    (c, w, tenant)
}

async fn wait_for_workers(c: &Cluster, n: usize) {
    wait_for(&format!("{n} registered workers"), Duration::from_secs(20), || async {
        let r = c.get(0, "/api/v1/workers").await.ok()?;
        (r.json.as_array()?.iter().filter(|w| w["state"] == "ACTIVE").count() >= n).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_on_a_warm_worker_and_its_output_is_readable_from_any_node() {
    let (c, _w, tenant) = start_with_one_worker().await;
    let mut cold_starts = Vec::new();
    for n in 0..5 {
        let sent = Instant::now();
        let id = submit(&c, n % 3, tenant, &["sh", "-c", "echo hello from $GREETING; echo to stderr >&2"]).await;
        let job = c.wait_for_job(n % 3, id, "SUCCEEDED", Duration::from_secs(20), |j| j["state"] == "SUCCEEDED").await;
        let start = job["started_at_ms"].as_u64().unwrap() - job["submitted_at_ms"].as_u64().unwrap();
        cold_starts.push(start);
        if n == 0 {
            println!("first job: submit to running in {start} ms (committed times); {:?} until the client saw SUCCEEDED", sent.elapsed());
        }
        assert_eq!(job["exit_code"], 0);
        assert_eq!(job["attempts"], 1);
    }
    cold_starts.sort();
    println!("warm static worker, submit to process start over 5 jobs: median {} ms, max {} ms", cold_starts[2], cold_starts[4]);
    let r = c.get(2, "/api/v1/jobs/1/logs").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let text = r.json.as_str().unwrap_or_default().to_string();
    assert!(text.contains("hello from") && text.contains("to stderr"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_of_a_running_job_stops_its_process() {
    let (c, _w, tenant) = start_with_one_worker().await;
    let pid_file = c.dir.path().join("job.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    let id = submit(&c, 1, tenant, &["sh", "-c", &script]).await;
    c.wait_for_job(0, id, "RUNNING", Duration::from_secs(20), |j| j["state"] == "RUNNING").await;
    let pid: i32 = wait_for("the job to write its pid", Duration::from_secs(10), || async {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .await;
    assert!(unsafe { libc::kill(pid, 0) } == 0, "the job's process is not running");
    let r = c.client.call(Method::POST, &c.url(2, &format!("/api/v1/jobs/{id}/cancel")), Some(&c.admin), None, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["state"], "CANCELLED");
    wait_for("the cancelled job's process to be gone", Duration::from_secs(15), || async {
        (unsafe { libc::kill(pid, 0) } != 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_worker_mid_job_requeues_the_job_which_completes_once_elsewhere() {
    let (c, mut first, tenant) = start_with_one_worker().await;
    let marker = c.dir.path().join("runs");
    let script = format!("echo run >> {}; sleep 2; echo done", marker.display());
    let id = submit(&c, 0, tenant, &["sh", "-c", &script]).await;
    let running = c.wait_for_job(0, id, "RUNNING", Duration::from_secs(20), |j| j["state"] == "RUNNING").await;
    let dead = running["worker_id"].as_u64().unwrap();
    // RUNNING means the start report committed; the process follows it. Kill the
    // worker only once the process has really started.
    wait_for("the first run's process to start", Duration::from_secs(10), || async {
        (std::fs::read_to_string(&marker).unwrap_or_default().lines().count() == 1).then_some(())
    })
    .await;
    first.kill();
    let _second = c.spawn_worker("default", 2);
    let done = c.wait_for_job(1, id, "SUCCEEDED after a requeue", Duration::from_secs(40), |j| j["state"] == "SUCCEEDED").await;
    assert_ne!(done["worker_id"].as_u64(), Some(dead), "completed on the dead worker?");
    assert_eq!(done["attempts"], 2, "placed exactly twice: {done}");
    let runs = std::fs::read_to_string(&marker).unwrap().lines().count();
    assert_eq!(runs, 2, "the job started once per placement");
    let r = c.get(0, "/api/v1/workers").await.unwrap();
    let lost = r.json.as_array().unwrap().iter().find(|w| w["id"].as_u64() == Some(dead)).unwrap().clone();
    assert_eq!(lost["state"], "LOST", "{lost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_leader_loses_no_job_and_runs_none_twice() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let _w1 = c.spawn_worker("default", 1);
    let _w2 = c.spawn_worker("default", 2);
    wait_for_workers(&c, 2).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let leader = c.wait_for_leader().await;
    let survivor = (0..3).find(|i| c.nodes[*i].spec.id != leader).unwrap();
    let release = c.dir.path().join("release");
    // Each job takes half a worker: 4 slots. The first 4 hold them until the
    // test releases them after the kill, so the other 8 are PENDING at the
    // kill and can only be placed by the next leader.
    let mut ids = Vec::new();
    for n in 0..12 {
        let script = held_until(&c.dir.path().join(format!("runs-{n}")), &release);
        ids.push(submit_sized(&c, survivor, tenant, &["sh", "-c", &script], 1000).await);
        if n == 3 {
            for id in &ids {
                c.wait_for_job(survivor, *id, "RUNNING", Duration::from_secs(20), |j| j["state"] == "RUNNING").await;
            }
        }
    }
    for id in &ids[4..] {
        let j = c.must_get(c.index_of(leader), &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(j["state"], "PENDING", "no slot is free before the kill: {j}");
    }
    c.kill(c.index_of(leader));
    std::fs::write(&release, b"").unwrap();
    for (n, id) in ids.iter().enumerate() {
        let j = c.wait_for_job(survivor, *id, "SUCCEEDED", Duration::from_secs(60), |j| j["state"] == "SUCCEEDED").await;
        assert_eq!(j["attempts"], 1, "a leader failover must not re-run healthy work: {j}");
        let runs = std::fs::read_to_string(c.dir.path().join(format!("runs-{n}"))).unwrap().lines().count();
        assert_eq!(runs, 1, "job {id} started once");
    }
    let new_leader = c.wait_for_leader().await;
    assert_ne!(new_leader, leader);
    let r = c.get(survivor, "/api/v1/workers").await.unwrap();
    assert!(r.json.as_array().unwrap().iter().all(|w| w["state"] == "ACTIVE"), "healthy workers declared lost: {}", r.json);
}

/// The committed state of worker `id` as node `i` lists it ("GONE" once deregistered).
async fn worker_state(c: &Cluster, i: usize, id: u64) -> Option<String> {
    let r = c.get(i, "/api/v1/workers").await.ok()?;
    let w = r.json.as_array()?.iter().find(|w| w["id"].as_u64() == Some(id)).cloned();
    Some(w.map_or("GONE".to_string(), |w| w["state"].as_str().unwrap_or_default().to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_worker_whose_running_job_finishes_once_and_nothing_new_is_placed_on_it() {
    let (c, mut first, tenant) = start_with_one_worker().await;
    let (started, release) = (c.dir.path().join("started"), c.dir.path().join("release"));
    // The job runs until the test lets it finish, so the drain is seen mid-job.
    let script = held_until(&started, &release);
    let id = submit(&c, 0, tenant, &["sh", "-c", &script]).await;
    let running = c.wait_for_job(0, id, "RUNNING", Duration::from_secs(20), |j| j["state"] == "RUNNING").await;
    let drained = running["worker_id"].as_u64().unwrap();
    wait_for("the job's process to start", Duration::from_secs(10), || async { started.exists().then_some(()) }).await;

    let sent = Instant::now();
    first.signal(libc::SIGTERM);
    wait_for("the SIGTERMed worker to be DRAINING in the committed state", Duration::from_secs(10), || async {
        (worker_state(&c, 1, drained).await? == "DRAINING").then_some(())
    })
    .await;
    println!("SIGTERM to committed DRAINING: {:?}", sent.elapsed());
    // Submitted after the drain committed: it must wait for another worker.
    let later = submit(&c, 2, tenant, &["echo", "later"]).await;
    std::fs::write(&release, b"").unwrap();

    let done = c.wait_for_job(0, id, "SUCCEEDED", Duration::from_secs(20), |j| j["state"] == "SUCCEEDED").await;
    assert_eq!((done["attempts"].as_u64(), done["worker_id"].as_u64()), (Some(1), Some(drained)), "finished where it ran, first attempt: {done}");
    let status = first.wait_for_exit(Duration::from_secs(20)).await.unwrap_or_else(|| panic!("the drained worker did not exit\n{}", first.log()));
    assert_eq!(status.code(), Some(0), "the drained worker's exit\n{}", first.log());
    assert_eq!(worker_state(&c, 0, drained).await.as_deref(), Some("GONE"), "the drained worker deregistered");
    let r = c.must_get(0, &format!("/api/v1/jobs/{later}")).await;
    assert_eq!(r["state"], "PENDING", "nothing is placed on a draining worker: {r}");
    assert_eq!(std::fs::read_to_string(&started).unwrap().lines().count(), 1, "the drained job ran once");

    let _second = c.spawn_worker("default", 2);
    let j = c.wait_for_job(1, later, "SUCCEEDED on the new worker", Duration::from_secs(20), |j| j["state"] == "SUCCEEDED").await;
    assert_ne!(j["worker_id"].as_u64(), Some(drained), "{j}");
    assert_eq!(j["attempts"], 1, "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_node_a_worker_streams_from_does_not_cost_its_running_job_an_attempt() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.wait_for_leader().await;
    // A follower first in the worker's list: the one it registers through and follows.
    let followed = (0..3).find(|i| c.nodes[*i].spec.id != leader).unwrap();
    let order: Vec<usize> = std::iter::once(followed).chain((0..3).filter(|i| *i != followed)).collect();
    let endpoints = order.iter().map(|i| c.nodes[*i].spec.grpc.clone()).collect::<Vec<_>>().join(",");
    let w = WorkerProcess::spawn(&endpoints, &c.admin, "default", c.dir.path().join("worker1"));
    wait_for_workers(&c, 1).await;
    // The agent logs `connected; following this node's assignment stream endpoint=...`.
    let grpc: Vec<String> = c.nodes.iter().map(|n| n.spec.grpc.clone()).collect();
    let following = |node: usize| {
        let field = format!("endpoint={}", grpc[node]);
        w.log().lines().any(|l| l.contains("following this node's assignment stream") && l.contains(&field))
    };
    assert!(following(followed), "the worker follows node {}\n{}", followed + 1, w.log());
    let tenant = c.must_create_tenant(0, "acme").await;
    let (started, release) = (c.dir.path().join("started"), c.dir.path().join("release"));
    let script = held_until(&started, &release);
    let id = submit(&c, 0, tenant, &["sh", "-c", &script]).await;
    c.wait_for_job(0, id, "RUNNING", Duration::from_secs(20), |j| j["state"] == "RUNNING").await;
    wait_for("the job's process to start", Duration::from_secs(10), || async { started.exists().then_some(()) }).await;

    c.kill(followed);
    let next = order[1];
    wait_for("the worker to follow the next node's stream", Duration::from_secs(20), || async {
        following(next).then_some(())
    })
    .await;
    std::fs::write(&release, b"").unwrap();
    let done = c.wait_for_job(next, id, "SUCCEEDED", Duration::from_secs(30), |j| j["state"] == "SUCCEEDED").await;
    assert_eq!(done["attempts"], 1, "the running job kept running through the reconnect: {done}");
    assert_eq!(std::fs::read_to_string(&started).unwrap().lines().count(), 1, "started once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_logs_are_bounded_by_tail_through_rest_and_the_cli() {
    let (c, _w, tenant) = start_with_one_worker().await;
    // 1.5 MiB of output, then a last line.
    let id = submit(&c, 0, tenant, &["sh", "-c", "head -c 1572864 /dev/zero | tr '\\0' a; echo; echo the-end"]).await;
    c.wait_for_job(0, id, "SUCCEEDED", Duration::from_secs(30), |j| j["state"] == "SUCCEEDED").await;
    let tail = |n: u64| format!("/api/v1/jobs/{id}/logs?tail={n}");
    let r = c.get(1, &tail(8)).await.unwrap();
    assert_eq!((r.status, r.json.as_str()), (200, Some("the-end\n")), "the last 8 bytes");
    let r = c.get(1, &tail(10 * 1024 * 1024)).await.unwrap();
    assert_eq!(r.json.as_str().map(str::len), Some(1024 * 1024), "a tail is at most 1 MiB");
    let r = c.get(2, &format!("/api/v1/jobs/{id}/logs")).await.unwrap();
    assert_eq!(r.json.as_str().map(str::len), Some(64 * 1024), "the default tail is 64 KiB");

    let endpoints = c.nodes.iter().map(|n| n.spec.http.clone()).collect::<Vec<_>>().join(",");
    let out = std::process::Command::new(hodei_tests::process::hodei_bin())
        .args(["job", "logs", &id.to_string(), "--tail", "8"])
        .env("HODEI_ENDPOINTS", endpoints)
        .env("HODEI_TOKEN", &c.admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "the-end\n", "hodei job logs --tail 8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_heartbeating_do_not_advance_the_commit_index() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let _w1 = c.spawn_worker("default", 1);
    let _w2 = c.spawn_worker("default", 2);
    wait_for_workers(&c, 2).await;
    let leader = c.index_of(c.wait_for_leader().await);
    let commit = || async { c.must_get(leader, "/api/v1/cluster").await["commit_index"].as_u64().unwrap() };
    let before = commit().await;
    // Two leases (5 s each) with both workers still ACTIVE at the end: their
    // heartbeats (every 500 ms, about 40 in all) got through the whole time.
    let until = Instant::now() + Duration::from_secs(10);
    wait_for("two worker leases to pass", Duration::from_secs(15), || async { (Instant::now() >= until).then_some(()) }).await;
    let r = c.get(leader, "/api/v1/workers").await.unwrap();
    assert!(r.json.as_array().unwrap().iter().all(|w| w["state"] == "ACTIVE"), "{}", r.json);
    let grew = commit().await - before;
    println!("commit index grew by {grew} over 10 s of 2 idle workers heartbeating every 500 ms");
    // The leader's own timed writes (history samples, ticks, settling after
    // the start) are a few; were heartbeats writes, there would be about 40 more.
    assert!(grew < 12, "heartbeats are not Raft writes: the commit index grew by {grew}");
}

/// The next item of an assignment stream, within a minute.
async fn next_item(s: &mut tonic::Streaming<hodei_proto::v1::WorkItem>) -> Option<hodei_proto::v1::work_item::Item> {
    tokio::time::timeout(Duration::from_secs(60), s.message()).await.expect("a work item in time").expect("the stream works").expect("the stream is open").item
}

/// The test is the worker here (over gRPC), and never reports an end: only
/// the leader's `Tick` can time the job out (after `timeout_s` plus the 30 s
/// grace), and the stream must then tell the worker to stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_the_leader_times_out_is_stopped_through_the_assignment_stream() {
    use hodei_proto::v1 as pb;
    use hodei_tests::grpc::{authed, channel};
    let c = Cluster::start(ClusterOptions::default()).await;
    let mut ws = pb::worker_service_client::WorkerServiceClient::new(channel(&c, 1).await);
    let reg = pb::RegisterWorkerRequest { pool: "default".into(), cpu_m: 1000, memory_mb: 1024, name: "silent".into(), ..Default::default() };
    let worker_id = ws.register(authed(reg, &c.admin)).await.unwrap().into_inner().worker_id;
    let (mut beat, admin) = (ws.clone(), c.admin.clone());
    let heartbeats = tokio::spawn(async move {
        loop {
            let _ = beat.heartbeat(authed(pb::HeartbeatRequest { worker_id, ..Default::default() }, &admin)).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let mut stream = wait_for("the node to have applied the registration", Duration::from_secs(10), || {
        let (mut ws, admin) = (ws.clone(), c.admin.clone());
        async move { Some(ws.watch_assignments(authed(pb::WatchAssignmentsRequest { worker_id }, &admin)).await.ok()?.into_inner()) }
    })
    .await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let body = json!({"tenant_id": tenant, "command": ["sleep", "600"], "cpu_m": 100, "memory_mb": 64, "timeout_s": 1});
    let r = c.post(0, "/api/v1/jobs", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_u64().unwrap();
    let Some(pb::work_item::Item::Assign(a)) = next_item(&mut stream).await else { panic!("an assignment first") };
    assert_eq!(a.job_id, id);
    let started = pb::JobStartedRequest { worker_id, job_id: id, fencing_token: a.fencing_token };
    assert!(ws.job_started(authed(started, &c.admin)).await.unwrap().into_inner().accepted);
    let Some(pb::work_item::Item::Cancel(stop)) = next_item(&mut stream).await else { panic!("a stop after the assignment") };
    assert_eq!((stop.job_id, stop.fencing_token), (id, a.fencing_token));
    let j = c.must_get(0, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["state"], "TIMED_OUT", "{j}");
    heartbeats.abort();
}
