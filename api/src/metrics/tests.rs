use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::{get, post};
use hodei_cluster::{ClusterConfig, ClusterNode, NodeInfo, RaftTiming};
use hodei_domain::command::{CreateTenant, SubmitJob};
use hodei_domain::{Command, JobSpec, Outcome, Proposal, Quota, State};
use tonic::codegen::Service;

use super::*;

fn apply(state: &mut State, index: u64, command: Command) {
    state.apply(index, &Proposal { at_ms: 1_700_000_000_000, command });
}

fn job(cpu_m: u64, memory_mb: u64) -> JobSpec {
    JobSpec { command: vec!["true".into()], cpu_m, memory_mb, ..Default::default() }
}

/// Two tenants: `acme` (quota 1000 m, 1000 MB, 4 jobs) holding 2 jobs of 450 m and
/// 100 MB, and `idle` with the default quota and no jobs.
fn sample_state() -> State {
    let mut s = State::default();
    let quota = Quota { cpu_m: 1000, memory_mb: 1000, max_concurrent_jobs: 4 };
    apply(&mut s, 1, Command::CreateTenant(CreateTenant { name: "acme".into(), email: "a@acme.io".into(), quota: Some(quota) }));
    apply(&mut s, 2, Command::CreateTenant(CreateTenant { name: "idle".into(), email: "i@idle.io".into(), quota: None }));
    let acme = s.tenant_by_name("acme").unwrap().id;
    for i in 0..2 {
        apply(&mut s, 3 + i, Command::SubmitJob(SubmitJob { tenant_id: acme, spec: job(450, 100), idempotency_key: None }));
    }
    assert_eq!(s.jobs().count(), 2, "both jobs admitted");
    s
}

const T0: u64 = 1_700_000_000_000;

fn apply_at(state: &mut State, index: u64, at_ms: u64, command: Command) -> Outcome {
    state.apply(index, &Proposal { at_ms, command })
}

/// A pool `gpu` (static, 2 to 4 workers) with two workers, one busy and one
/// idle; tenant `acme` with an active burst lease, one job that waited 3 s and
/// ran 62 s (100 m, 100 MB), and one that waited 65 s and runs now.
fn busy_state() -> State {
    use hodei_domain::command::{AssignJobs, CreatePool, FinishJob, RegisterWorker, RequestBurst, StartJob};
    use hodei_domain::{PoolId, PoolKind, RunEnding, RunUsage};
    let mut s = State::default();
    let mut index = 0;
    let mut at = |s: &mut State, ms: u64, c: Command| {
        index += 1;
        let out = apply_at(s, index, T0 + ms, c);
        assert!(!matches!(out, Outcome::Rejected(_)), "{out:?}");
        out
    };
    let quota = Quota { cpu_m: 10_000, memory_mb: 10_000, max_concurrent_jobs: 10 };
    let Outcome::TenantCreated(tenant) = at(&mut s, 0, Command::CreateTenant(CreateTenant { name: "acme".into(), email: "a@acme.io".into(), quota: Some(quota) })) else { unreachable!() };
    let pool = PoolId("gpu".into());
    at(&mut s, 0, Command::CreatePool(CreatePool {
        id: pool.clone(), name: "gpu".into(), kind: PoolKind::Static, min_size: 2, max_size: 4, labels: Default::default(),
        worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: false, policies: Vec::new(),
    }));
    let mut workers = Vec::new();
    for name in ["w1", "w2"] {
        let c = RegisterWorker { pool: pool.clone(), name: name.into(), cpu_m: 4000, memory_mb: 4000, labels: Default::default(), logs_addr: String::new() };
        let Outcome::WorkerRegistered(w) = at(&mut s, 0, Command::RegisterWorker(c)) else { unreachable!() };
        workers.push(w.id);
    }
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let c = SubmitJob { tenant_id: tenant.id, spec: JobSpec { pool: Some(pool.clone()), ..job(100, 100) }, idempotency_key: None };
        let Outcome::JobSubmitted(j) = at(&mut s, 0, Command::SubmitJob(c)) else { unreachable!() };
        jobs.push(j.id);
    }
    let (w1, j1, j2) = (workers[0], jobs[0], jobs[1]);
    let place = |job| Command::AssignJobs(AssignJobs { assignments: vec![(job, w1)] });
    let Outcome::JobsAssigned(p) = at(&mut s, 1_000, place(j1)) else { unreachable!() };
    let token = p[0].2;
    at(&mut s, 3_000, Command::StartJob(StartJob { job_id: j1, worker_id: w1, token }));
    let usage = RunUsage { run_ms: 62_000, cpu_ms: 6_200, peak_memory_kb: 100 * 1024 };
    at(&mut s, 63_000, Command::FinishJob(FinishJob { job_id: j1, worker_id: w1, token, ending: RunEnding::Succeeded, usage }));
    let Outcome::JobsAssigned(p) = at(&mut s, 64_000, place(j2)) else { unreachable!() };
    at(&mut s, 65_000, Command::StartJob(StartJob { job_id: j2, worker_id: w1, token: p[0].2 }));
    let burst = RequestBurst { tenant_id: tenant.id, cpu_m: 100, memory_mb: 100, duration_minutes: 60, reason: "test".into() };
    // Within the automatic limit: the lease is active at once.
    let Outcome::BurstUpdated(b) = at(&mut s, 65_000, Command::RequestBurst(burst)) else { unreachable!() };
    assert_eq!(b.state, hodei_domain::BurstState::Active, "{b:?}");
    s
}

#[test]
fn pool_worker_burst_sla_cost_and_wait_values() {
    let m = Metrics::new(true);
    let text = m.render_state(&busy_state());
    let v = |series: &str| value(&text, series);
    for (name, expected) in [("min_size", 2.0), ("max_size", 4.0), ("target_size", 2.0), ("workers", 2.0), ("idle_workers", 1.0), ("busy_workers", 1.0), ("running_jobs", 1.0), ("queue_depth", 0.0)] {
        assert_eq!(v(&format!("hodei_pool_{name}{{pool=\"gpu\"}}")), expected, "hodei_pool_{name}");
    }
    assert!(series(&text, "hodei_pool_info").iter().any(|l| l.contains("kind=\"static\"") && l.contains("pool=\"gpu\"") && l.ends_with(" 1")), "{text}");
    assert_eq!((v("hodei_workers{state=\"ACTIVE\"}"), v("hodei_workers{state=\"DRAINING\"}"), v("hodei_workers{state=\"LOST\"}")), (2.0, 0.0, 0.0));
    assert_eq!((v("hodei_bursts{state=\"ACTIVE\"}"), v("hodei_bursts{state=\"PENDING\"}")), (1.0, 0.0));
    assert_eq!((v("hodei_jobs{state=\"SUCCEEDED\"}"), v("hodei_jobs{state=\"RUNNING\"}")), (1.0, 1.0));
    // One start within the 30 s default target (3 s), one past it (65 s).
    assert_eq!((v("hodei_sla_jobs_started_total"), v("hodei_sla_jobs_met_total")), (2.0, 1.0));
    assert_eq!(v("hodei_sla_compliance_ratio"), 0.5);
    assert_eq!(v("hodei_tenant_sla_compliance_ratio{tenant=\"tenant-1\"}"), 0.5);
    // 62 s of 100 m and 100 MB at the default rates, in dollars.
    let cost = hodei_domain::cost::price(100, 100, 62_000, 50_000_000, 10_000_000) as f64 / 1e9;
    assert!(cost > 0.0);
    assert_eq!(v("hodei_tenant_cost_dollars_total{pool=\"gpu\",tenant=\"tenant-1\"}"), cost);
    assert_eq!(v("hodei_pool_job_cost_dollars_total{pool=\"gpu\"}"), cost);
    assert!(v("hodei_pool_idle_cost_dollars_total{pool=\"gpu\"}") > 0.0, "w1 idled for 1 s before its first job");
    // The waits at first start: 3 s and 65 s.
    assert_eq!(type_of(&text, "hodei_dispatch_wait_seconds"), "histogram");
    for (le, count) in [("2", 0.0), ("5", 1.0), ("60", 1.0), ("120", 2.0), ("+Inf", 2.0)] {
        assert_eq!(v(&format!("hodei_dispatch_wait_seconds_bucket{{le=\"{le}\"}}")), count, "le={le}");
    }
    assert_eq!((v("hodei_dispatch_wait_seconds_count"), v("hodei_dispatch_wait_seconds_sum")), (2.0, 68.0));
    // Counted once: a second scrape of the same state adds nothing.
    let text = m.render_state(&busy_state());
    assert_eq!(value(&text, "hodei_dispatch_wait_seconds_count"), 2.0);
    assert_eq!(value(&text, "hodei_tenant_cost_dollars_total{pool=\"gpu\",tenant=\"tenant-1\"}"), cost);
}

/// The sample lines of `text` (no comments) whose metric name is `name` exactly.
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' ')))
        .collect()
}

fn value(text: &str, series_text: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series_text) && l[series_text.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no series {series_text} in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn type_of<'a>(text: &'a str, name: &str) -> &'a str {
    let prefix = format!("# TYPE {name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no TYPE line for {name}"))
}

#[test]
fn domain_gauges_with_tenant_labels() {
    let m = Metrics::new(true);
    let text = m.render_state(&sample_state());

    assert_eq!(type_of(&text, "hodei_tenants"), "gauge");
    assert_eq!(value(&text, "hodei_tenants"), 2.0);
    // Every known state is present, at 0 when empty.
    assert_eq!(value(&text, "hodei_jobs{state=\"PENDING\"}"), 2.0);
    assert_eq!(value(&text, "hodei_jobs{state=\"RUNNING\"}"), 0.0);
    assert_eq!(series(&text, "hodei_jobs").len(), 8);
    assert_eq!(value(&text, "hodei_tenant_jobs{state=\"PENDING\",tenant=\"tenant-1\"}"), 2.0);
    assert!(series(&text, "hodei_tenant_jobs").iter().all(|l| l.contains("tenant=\"tenant-1\"")));
    assert_eq!(value(&text, "hodei_tenant_info{name=\"acme\",tenant=\"tenant-1\"}"), 1.0);
    assert_eq!(value(&text, "hodei_tenant_info{name=\"idle\",tenant=\"tenant-2\"}"), 1.0);
    // Ratios, not percentages.
    let r = |t: &str, res: &str| value(&text, &format!("hodei_tenant_quota_utilization_ratio{{resource=\"{res}\",tenant=\"{t}\"}}"));
    assert!((r("tenant-1", "cpu") - 0.9).abs() < 1e-9);
    assert!((r("tenant-1", "memory") - 0.2).abs() < 1e-9);
    assert!((r("tenant-1", "jobs") - 0.5).abs() < 1e-9);
    assert_eq!(r("tenant-2", "cpu"), 0.0);
    // The cluster-wide maximum is there in both modes.
    assert!((value(&text, "hodei_tenant_quota_utilization_max_ratio{resource=\"cpu\"}") - 0.9).abs() < 1e-9);
}

#[test]
fn without_tenant_labels_no_series_names_a_tenant() {
    let m = Metrics::new(false);
    let text = m.render_state(&sample_state());
    assert!(!text.contains("tenant=\""), "a tenant label leaked:\n{text}");
    assert!(series(&text, "hodei_tenant_jobs").is_empty());
    assert!(series(&text, "hodei_tenant_quota_utilization_ratio").is_empty());
    assert_eq!(value(&text, "hodei_tenants"), 2.0);
    assert!((value(&text, "hodei_tenant_quota_utilization_max_ratio{resource=\"cpu\"}") - 0.9).abs() < 1e-9);
    assert!((value(&text, "hodei_tenant_quota_utilization_max_ratio{resource=\"jobs\"}") - 0.5).abs() < 1e-9);
}

#[test]
fn a_removed_tenant_loses_its_series() {
    let m = Metrics::new(true);
    let text = m.render_state(&sample_state());
    assert!(text.contains("tenant=\"tenant-2\""));
    let text = m.render_state(&State::default());
    assert!(!text.contains("tenant=\""), "stale tenant series:\n{text}");
    assert_eq!(value(&text, "hodei_jobs{state=\"PENDING\"}"), 0.0);
}

#[test]
fn raft_gauges_and_leader_changes() {
    let m = Metrics::new(true);
    let base = RaftSample {
        id: 1,
        term: 3,
        leader: Some(2),
        last_log_index: 120,
        committed_index: 110,
        applied_index: 100,
        snapshot_index: 50,
        members: 3,
        voters: 3,
    };
    m.observe_raft(base);
    m.observe_raft(base); // same leadership: not a change
    let text = m.render_with(&DomainSample::default());
    assert_eq!(type_of(&text, "hodei_raft_leader_changes_total"), "counter");
    assert_eq!(value(&text, "hodei_raft_leader_changes_total"), 1.0);
    assert_eq!(value(&text, "hodei_raft_term"), 3.0);
    assert_eq!(value(&text, "hodei_raft_is_leader"), 0.0);
    assert_eq!(value(&text, "hodei_raft_last_log_index"), 120.0);
    assert_eq!(value(&text, "hodei_raft_committed_index"), 110.0);
    assert_eq!(value(&text, "hodei_raft_applied_index"), 100.0);
    assert_eq!(value(&text, "hodei_raft_apply_lag"), 20.0);
    assert_eq!(value(&text, "hodei_raft_snapshot_index"), 50.0);
    assert_eq!(value(&text, "hodei_raft_members"), 3.0);
    assert_eq!(value(&text, "hodei_raft_voters"), 3.0);

    // An election with no winner yet, then this node wins term 4, then node 2
    // wins again in term 5: two more leaderships.
    m.observe_raft(RaftSample { term: 4, leader: None, ..base });
    m.observe_raft(RaftSample { term: 4, leader: Some(1), applied_index: 120, ..base });
    let text = m.render_with(&DomainSample::default());
    assert_eq!(value(&text, "hodei_raft_is_leader"), 1.0);
    assert_eq!(value(&text, "hodei_raft_apply_lag"), 0.0);
    m.observe_raft(RaftSample { term: 5, leader: Some(2), ..base });
    let text = m.render_with(&DomainSample::default());
    assert_eq!(value(&text, "hodei_raft_leader_changes_total"), 3.0);
    assert_eq!(value(&text, "hodei_raft_is_leader"), 0.0);
}

#[test]
fn build_info_and_process_metrics() {
    let text = Metrics::new(true).render_with(&DomainSample::default());
    assert_eq!(value(&text, &format!("hodei_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))), 1.0);
    #[cfg(target_os = "linux")]
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
        assert_eq!(series(&text, name).len(), 1, "{name} missing");
    }
    // Every Hodei family has help text and a type.
    for line in text.lines().filter(|l| l.starts_with("# TYPE hodei_")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP");
    }
}

async fn call<S>(svc: &mut S, req: http::Request<Body>) -> S::Response
where
    S: Service<http::Request<Body>>,
    S::Error: std::fmt::Debug,
{
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    svc.call(req).await.unwrap()
}

fn request(method: &str, uri: &str) -> http::Request<Body> {
    http::Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn http_requests_are_labelled_by_route_template() {
    let m = Metrics::new(true);
    let mut router: Router = Router::new()
        .route("/api/v1/jobs/{id}", get(|| async { "ok" }))
        .route("/api/v1/jobs", post(|| async { http::StatusCode::SERVICE_UNAVAILABLE }))
        .layer(axum::middleware::from_fn_with_state(m.clone(), track));
    for id in ["job-1", "job-2", "job-3"] {
        let resp = call(&mut router, request("GET", &format!("/api/v1/jobs/{id}"))).await;
        assert_eq!(resp.status(), 200);
    }
    call(&mut router, request("POST", "/api/v1/jobs")).await;
    call(&mut router, request("GET", "/no/such/path/123")).await;
    call(&mut router, request("BREW", "/api/v1/jobs/job-1")).await;

    let text = m.render_with(&DomainSample::default());
    assert_eq!(type_of(&text, "hodei_http_request_duration_seconds"), "histogram");
    assert_eq!(
        value(&text, "hodei_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/jobs/{id}\",status=\"200\"}"),
        3.0
    );
    assert_eq!(
        value(&text, "hodei_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/jobs\",status=\"503\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "hodei_http_request_duration_seconds_count{method=\"GET\",route=\"unmatched\",status=\"404\"}"),
        1.0
    );
    assert!(text.contains("method=\"OTHER\""), "extension methods fold into OTHER");
    assert!(!text.contains("job-1") && !text.contains("/no/such"), "a raw path became a label:\n{text}");
    assert!(text.contains("hodei_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/jobs/{id}\",status=\"200\",le=\"0.005\"}"));
}

#[tokio::test]
async fn grpc_calls_are_labelled_by_method_and_code() {
    let m = Metrics::new(true);
    let fake = Router::new()
        .route("/hodei.v1.JobService/GetJob", post(|| async { ([("grpc-status", "5")], "") }))
        .route("/hodei.v1.JobService/SubmitJob", post(|| async { "" }));
    let mut routes = m.instrument_grpc(tonic::service::Routes::from(fake));
    for path in ["/hodei.v1.JobService/GetJob", "/hodei.v1.JobService/SubmitJob", "/hodei.v1.Nope/Whatever"] {
        call(&mut routes, request("POST", path)).await;
    }
    let text = m.render_with(&DomainSample::default());
    assert_eq!(
        value(&text, "hodei_grpc_request_duration_seconds_count{code=\"NOT_FOUND\",method=\"/hodei.v1.JobService/GetJob\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "hodei_grpc_request_duration_seconds_count{code=\"OK\",method=\"/hodei.v1.JobService/SubmitJob\"}"),
        1.0
    );
    assert_eq!(value(&text, "hodei_grpc_request_duration_seconds_count{code=\"UNIMPLEMENTED\",method=\"unknown\"}"), 1.0);
    assert!(!text.contains("Nope"), "an unknown method became a label");
}

/// Every `hodei_` family follows the naming conventions: counters end in
/// `_total`, nothing else does, and units are base units.
#[test]
fn names_follow_prometheus_conventions() {
    let text = Metrics::new(true).render_state(&sample_state());
    for line in text.lines().filter(|l| l.starts_with("# TYPE hodei_")) {
        let mut parts = line.split(' ').skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(name.ends_with("_total"), kind == "counter", "{name} ({kind})");
        for bad in ["_ms", "_milliseconds", "_percent", "_mb", "_kb"] {
            assert!(!name.contains(bad), "{name} is not in base units");
        }
        if kind == "histogram" {
            assert!(name.ends_with("_seconds"), "{name}: durations are in seconds");
        }
    }
}

/// The rendered text as `promtool check metrics` sees it, with per-tenant labels
/// on and off. Writes them to `$HODEI_METRICS_SAMPLE` and
/// `$HODEI_METRICS_SAMPLE.no-tenant-labels` when set (scripts/check-deploy lints
/// those files), and runs promtool itself when it is on the PATH; installs nothing.
#[test]
fn sample_output_passes_promtool_when_available() {
    for per_tenant_labels in [true, false] {
        let m = Metrics::new(per_tenant_labels);
        m.observe_raft(RaftSample { id: 1, term: 2, leader: Some(1), last_log_index: 9, committed_index: 9, applied_index: 9, snapshot_index: 0, members: 3, voters: 3 });
        m.observe_http("/api/v1/jobs/{id}", &http::Method::GET, 200, Duration::from_millis(3));
        m.observe_grpc("/hodei.v1.JobService/GetJob", tonic::Code::Ok, Duration::from_millis(2));
        let text = m.render_state(&sample_state());
        if let Ok(path) = std::env::var("HODEI_METRICS_SAMPLE") {
            let path = if per_tenant_labels { path } else { format!("{path}.no-tenant-labels") };
            std::fs::write(&path, &text).unwrap();
        }
        promtool_check_metrics(&text);
    }
}

fn promtool_check_metrics(text: &str) {
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("promtool not on PATH: skipped (scripts/check-deploy runs it)");
        return;
    };
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}\n{text}");
}

/// A real single-node cluster: `watch_raft` sees it become leader, and `render`
/// reads the node's replicated copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_single_node() {
    let dir = std::env::temp_dir().join(format!("hodei-metrics-{}-{}", std::process::id(), line!()));
    let _ = std::fs::remove_dir_all(&dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = listener.local_addr().unwrap().to_string();
    let config = ClusterConfig {
        id: 1,
        info: NodeInfo { peer_addr: peer.clone(), http_addr: "127.0.0.1:1".into(), grpc_addr: "127.0.0.1:2".into() },
        data_dir: dir.clone(),
        initial_cluster: BTreeMap::from([(1, peer)]),
        join: None,
        timing: RaftTiming { election_timeout_min_ms: 150, election_timeout_max_ms: 300, heartbeat_ms: 50, ..Default::default() },
        protocol_version: hodei_domain::PROTOCOL_VERSION,
        max_batch: hodei_cluster::batch::DEFAULT_MAX_BATCH,
        write_timeout: Duration::from_secs(5),
        bootstrap: Default::default(),
    };
    let node = ClusterNode::start(config, listener).await.unwrap();
    let m = Metrics::new(true);
    let watch = m.watch_raft(node.clone());
    assert!(m.watch_storage(&node), "the first storage observers of this node");
    assert!(!m.watch_storage(&node), "one registry per node");

    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.is_leader() {
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.write(Command::CreateTenant(CreateTenant { name: "acme".into(), email: "a@acme.io".into(), quota: None }))
        .await
        .unwrap();
    // The watch task alone (no render) brings the gauges up to date.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = m.encode();
        // The write went through the log writer: its rounds and syncs are timed.
        let storage_timed = value(&text, "hodei_raft_log_append_duration_seconds_count") > 0.0
            && value(&text, "hodei_raft_log_fsync_duration_seconds_count") > 0.0;
        if value(&text, "hodei_raft_is_leader") == 1.0 && value(&text, "hodei_raft_applied_index") >= 2.0 && storage_timed {
            break;
        }
        assert!(Instant::now() < deadline, "watch_raft (or the log writer's observer) did not follow:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A render between the leader's own writes (history samples) shows no lag.
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = m.render(&node);
        if value(&text, "hodei_raft_apply_lag") == 0.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "apply lag never 0:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(value(&text, "hodei_tenants"), 1.0);
    assert_eq!(value(&text, "hodei_raft_members"), 1.0);
    assert_eq!(value(&text, "hodei_raft_leader_changes_total"), 1.0);
    assert_eq!(value(&text, "hodei_raft_apply_lag"), 0.0);
    assert_eq!(type_of(&text, "hodei_forwarded_writes_total"), "counter");
    assert_eq!(value(&text, "hodei_forwarded_writes_total"), 0.0, "the leader's own writes are not forwarded");
    assert_eq!(type_of(&text, "hodei_forwarded_writes_streamed_total"), "counter");
    assert_eq!(type_of(&text, "hodei_raft_presends_total"), "counter");
    assert_eq!(value(&text, "hodei_raft_presends_total"), 0.0, "a single node has no follower to presend to");
    assert!(value(&text, "hodei_raft_term") >= 1.0);
    assert!(value(&text, "hodei_raft_committed_index") >= value(&text, "hodei_raft_applied_index"), "applied entries were committed first");
    assert_eq!(value(&text, "hodei_raft_snapshot_size_bytes"), 0.0, "no snapshot yet");
    assert_eq!(value(&text, "hodei_raft_snapshot_duration_seconds_count{operation=\"build\"}"), 0.0);

    // A backup builds a snapshot: its size and its build time are exported.
    let (bytes, _) = node.backup().await.expect("backup");
    let text = m.render(&node);
    assert_eq!(value(&text, "hodei_raft_snapshot_size_bytes"), bytes.len() as f64);
    assert_eq!(value(&text, "hodei_raft_snapshot_duration_seconds_count{operation=\"build\"}"), 1.0);
    assert_eq!(value(&text, "hodei_raft_snapshot_duration_seconds_count{operation=\"install\"}"), 0.0);

    // GET /metrics through the router.
    let mut router = m.router(node.clone());
    let resp = call(&mut router, request("GET", "/metrics")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[http::header::CONTENT_TYPE], CONTENT_TYPE);

    node.shutdown().await;
    tokio::time::timeout(Duration::from_secs(5), watch).await.expect("watch task ends with raft").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// HodeiQuotaRefusals reads refused gRPC submits: the family is exported, at
/// zero, by a node that has served no gRPC call yet.
#[test]
fn a_fresh_node_exports_refused_grpc_submits_at_zero() {
    let text = Metrics::new(true).encode();
    assert_eq!(type_of(&text, "hodei_grpc_request_duration_seconds"), "histogram");
    assert_eq!(
        value(&text, "hodei_grpc_request_duration_seconds_count{code=\"RESOURCE_EXHAUSTED\",method=\"/hodei.v1.JobService/SubmitJob\"}"),
        0.0
    );
}
