//! Proof that the checkers can fail: each planted bug (`hodei_domain::planted`,
//! compiled in only through this crate's dev-dependency feature) is switched
//! on for one short scenario against in-process nodes, and the checker meant
//! to catch it must report a violation. The same scenario with no bug is the
//! control: that checker passes. Scenarios drive the cluster step by step and
//! wait on conditions with deadlines, so they do not depend on timing luck.
//!
//! | bug | scenario | checker |
//! | --- | --- | --- |
//! | `ack-before-fsync` | acknowledged submits, then every node stopped at once and restarted | `acked-submits-present` |
//! | `stale-linearizable-read` | a follower cut off, the job cancelled on the majority, a linearizable read at the follower | `linearizable-per-tenant` |
//! | `no-fencing-check` | a job placed on one worker, a report of it from another | `one-worker-per-job` |
//! | `skip-quota-check` | three queued jobs, the quota lowered to one running job, all three proposed | `running-within-quota-and-burst` |

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hodei_chaos::backend::{Backend, InProcessBackend};
use hodei_chaos::campaign::{create_tenant, settle};
use hodei_chaos::checker::{check_all, Verdict};
use hodei_chaos::client::Rest;
use hodei_chaos::history::{OpKind, Outcome, Recorder};
use hodei_chaos::workload::Traffic;
use hodei_cluster::ClusterNode;
use hodei_domain::command::{AssignJobs, Command, FinishJob, RegisterWorker, SetQuota};
use hodei_domain::planted::{plant, Bug, Planted};
use hodei_domain::{JobId, Outcome as Applied, PoolId, RunEnding, RunUsage, TenantId, WorkerId};

/// Two tests of one scenario: with `bug` planted its checker must fail; with
/// none (the control) it must pass.
macro_rules! scenario_tests {
    ($scenario:ident, $bug:expr, $caught:ident, $control:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $caught() {
            $scenario(Some($bug)).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $control() {
            $scenario(None).await;
        }
    };
}

/// A 3-node in-process cluster with one tenant and a recorder of what the
/// scenario's client calls saw.
struct Scene {
    /// A planted bug is process-wide: scenarios run one at a time even when
    /// the harness runs tests in parallel.
    _serial: MutexGuard<'static, ()>,
    backend: Arc<InProcessBackend>,
    rest: Rest,
    traffic: Traffic,
    recorder: Arc<Recorder>,
    tenant: u64,
}

impl Scene {
    async fn start(seed: u64) -> Scene {
        static SERIAL: Mutex<()> = Mutex::new(());
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let backend = Arc::new(InProcessBackend::start(3, None).await.expect("3 in-process nodes are ready"));
        let rest = Rest::new(backend.admin_token(), Duration::from_secs(10)).expect("a REST client");
        let nodes: Vec<(u64, String)> = backend.node_ids().into_iter().map(|id| (id, backend.base_url(id))).collect();
        let tenant = create_tenant(&rest, &nodes, seed).await.expect("the scenario's tenant is created");
        let recorder = Arc::new(Recorder::new(seed, backend.node_ids()));
        let traffic = Traffic::new(rest.clone(), nodes, tenant, seed, recorder.clone());
        Scene { _serial: serial, backend, rest, traffic, recorder, tenant }
    }

    /// Submits through node index `node` and returns the acknowledged job id.
    async fn must_submit(&self, node: usize, key: &str) -> u64 {
        match self.traffic.run_op(0, node, OpKind::Submit { key: key.into() }).await {
            Outcome::Ok { job: Some(j) } => j.id,
            other => panic!("submit {key} was not acknowledged: {other:?}"),
        }
    }

    async fn must_node(&self, id: u64) -> ClusterNode {
        self.backend.node(id).await.expect("a node id of the cluster").unwrap_or_else(|| panic!("node {id} is not running"))
    }

    /// (leader, followers), waiting up to 10 s for a leader.
    async fn wait_for_leader(&self) -> (u64, Vec<u64>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for id in self.backend.node_ids() {
                if self.must_node(id).await.is_leader() {
                    return (id, self.backend.node_ids().into_iter().filter(|&n| n != id).collect());
                }
            }
            assert!(Instant::now() < deadline, "no leader within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Proposes `command` through node 1 (forwarded to the leader) and returns
    /// what `apply` answered.
    async fn must_write(&self, command: Command) -> Applied {
        let what = command.kind();
        self.must_node(1).await.write(command).await.unwrap_or_else(|e| panic!("{what} was not committed: {e}")).outcome
    }

    async fn must_register_worker(&self, name: &str) -> WorkerId {
        let c = RegisterWorker {
            pool: PoolId("planted".into()),
            name: name.into(),
            cpu_m: 64_000,
            memory_mb: 64_000,
            labels: Default::default(),
            logs_addr: String::new(),
        };
        match self.must_write(Command::RegisterWorker(c)).await {
            Applied::WorkerRegistered(w) => w.id,
            other => panic!("worker {name} was not registered: {other:?}"),
        }
    }

    /// Waits up to 10 s until `probe` of node `id`'s state returns `Some`.
    async fn wait_for_state<R>(&self, id: u64, what: &str, probe: impl Fn(&hodei_domain::State) -> Option<R>) -> R {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = self.must_node(id).await.state_machine().read(&probe) {
                return r;
            }
            assert!(Instant::now() < deadline, "node {id}: {what} within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (at most 1 s) until the history's clock has moved past the last
    /// recorded completion: the checkers time calls in milliseconds and count
    /// a call invoked in the millisecond another completed as concurrent with it.
    async fn wait_past_last_op(&self) {
        let last = self.recorder.snapshot().ops.iter().map(|op| op.complete_ms).max().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.recorder.now_ms() <= last {
            assert!(Instant::now() < deadline, "the history's clock did not pass {last} ms within 1 s");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Heals everything, waits for convergence, records the final state and
    /// the committed log, and asserts what `checker` says (see [`assert_caught`]).
    async fn must_judge(&self, checker: &str, bug: Option<Bug>, needle: &str) {
        self.backend.heal_all().await.expect("every node runs and every link is healed");
        settle(&*self.backend, &self.rest, self.tenant, &self.recorder).await.expect("final state recorded");
        let verdicts = check_all(&self.recorder.snapshot());
        for v in &verdicts {
            println!("{}: ok {} checked {} violations {:?}", v.checker, v.ok, v.checked, v.violations);
        }
        let v = verdicts.into_iter().find(|v| v.checker == checker).unwrap_or_else(|| panic!("no verdict of {checker}"));
        assert_caught(&v, bug, needle);
    }
}

fn planted(bug: Option<Bug>) -> Option<Planted> {
    bug.map(plant)
}

/// Asserts `v` failed with a violation that mentions `needle` (the bug's
/// signature), or passed when no bug was planted.
fn assert_caught(v: &Verdict, bug: Option<Bug>, needle: &str) {
    match bug {
        Some(b) => {
            assert!(!v.ok, "{} did not catch planted bug {}: {v:?}", v.checker, b.name());
            assert!(v.violations.iter().any(|x| x.contains(needle)), "{} failed, but not with {needle:?}: {v:?}", v.checker);
        }
        None => {
            assert!(v.ok, "{} failed with no bug planted: {v:?}", v.checker);
            assert!(v.checked > 0, "{} checked nothing: {v:?}", v.checker);
        }
    }
}

/// Acknowledged submits, then all three nodes stopped together (a stop drops
/// what a node holds in memory, as SIGKILL does) and started again.
async fn lose_acknowledged_submits(bug: Option<Bug>) {
    let s = Scene::start(7101).await;
    let guard = planted(bug);
    for (i, key) in ["ack-a", "ack-b", "ack-c"].iter().enumerate() {
        s.must_submit(i, key).await;
    }
    let stops: Vec<_> = s
        .backend
        .node_ids()
        .into_iter()
        .map(|id| {
            let b = s.backend.clone();
            tokio::spawn(async move { b.kill(id).await })
        })
        .collect();
    for stop in stops {
        stop.await.expect("stop task").expect("node stopped");
    }
    drop(guard);
    s.must_judge("acked-submits-present", bug, "is missing").await;
}

/// A follower, cut off from the others, is asked for a job the majority has
/// cancelled since.
async fn read_from_a_cut_off_follower(bug: Option<Bug>) {
    let s = Scene::start(7102).await;
    let (leader, followers) = s.wait_for_leader().await;
    let follower = followers[0];
    let job = s.must_submit(leader as usize - 1, "lin-a").await;
    s.wait_for_state(follower, "the job is applied", |st| st.job(JobId(job)).map(|_| ())).await;
    let guard = planted(bug);
    let others: Vec<u64> = s.backend.node_ids().into_iter().filter(|&n| n != follower).collect();
    s.backend.split(&[vec![follower], others]).await.expect("the follower is cut off");
    let cancelled = s.traffic.run_op(0, leader as usize - 1, OpKind::Cancel { job }).await;
    assert!(matches!(cancelled, Outcome::Ok { .. }), "the majority cancelled the job: {cancelled:?}");
    s.wait_past_last_op().await;
    let read = s.traffic.run_op(0, follower as usize - 1, OpKind::Read { job, linearizable: true }).await;
    println!("linearizable read at the cut-off follower: {read:?}");
    drop(guard);
    s.must_judge("linearizable-per-tenant", bug, "no linear order").await;
}

/// A job placed on one worker; another worker reports it finished with the
/// placement's token.
async fn report_from_the_wrong_worker(bug: Option<Bug>) {
    let s = Scene::start(7103).await;
    let workers = [s.must_register_worker("w1").await, s.must_register_worker("w2").await];
    let job = JobId(s.must_submit(0, "fence-a").await);
    // The leader's dispatch may place it first; either way it ends up placed.
    s.must_write(Command::AssignJobs(AssignJobs { assignments: vec![(job, workers[0])] })).await;
    let placement = s
        .wait_for_state(1, "the job is placed", |st| st.job(job).and_then(|j| j.execution.placement))
        .await;
    let intruder = *workers.iter().find(|&&w| w != placement.worker).expect("two workers");
    let guard = planted(bug);
    let report = FinishJob {
        job_id: job,
        worker_id: intruder,
        token: placement.token,
        ending: RunEnding::Succeeded,
        usage: RunUsage::default(),
    };
    let outcome = s.must_write(Command::FinishJob(report)).await;
    println!("{intruder}'s report of {job}: {outcome:?}");
    // Still planted: the replay re-applies the log as the nodes did.
    s.must_judge("one-worker-per-job", bug, "was applied while its placement was").await;
    drop(guard);
}

/// Three queued jobs; the quota then allows one running job, and all three are
/// proposed for one worker.
async fn place_past_the_quota(bug: Option<Bug>) {
    let s = Scene::start(7104).await;
    let mut jobs = Vec::new();
    for key in ["quota-a", "quota-b", "quota-c"] {
        jobs.push(JobId(s.must_submit(0, key).await));
    }
    let tenant = TenantId(s.tenant);
    let mut quota = s.wait_for_state(1, "the tenant is applied", |st| st.tenant(tenant).map(|t| t.quota)).await;
    quota.max_concurrent_jobs = 1;
    s.must_write(Command::SetQuota(SetQuota { tenant_id: tenant, quota })).await;
    let guard = planted(bug);
    let worker = s.must_register_worker("w1").await;
    s.must_write(Command::AssignJobs(AssignJobs { assignments: jobs.iter().map(|&j| (j, worker)).collect() })).await;
    let want = if bug.is_some() { 3 } else { 1 };
    let running = |st: &hodei_domain::State| st.running_usage(tenant).jobs;
    s.wait_for_state(1, &format!("{want} jobs are placed"), |st| (running(st) == want).then_some(())).await;
    // Still planted: the replay re-applies the log as the nodes did.
    s.must_judge("running-within-quota-and-burst", bug, "running jobs, over its quota plus burst").await;
    drop(guard);
}

scenario_tests!(lose_acknowledged_submits, Bug::AckBeforeFsync, ack_before_fsync_is_caught_by_acked_submits_present, without_a_planted_bug_acknowledged_submits_survive_stopping_every_node);
scenario_tests!(read_from_a_cut_off_follower, Bug::StaleLinearizableRead, stale_linearizable_read_is_caught_by_linearizability, without_a_planted_bug_a_cut_off_follower_serves_no_stale_linearizable_read);
scenario_tests!(report_from_the_wrong_worker, Bug::NoFencingCheck, no_fencing_check_is_caught_by_one_worker_per_job, without_a_planted_bug_a_report_from_the_wrong_worker_is_refused);
scenario_tests!(place_past_the_quota, Bug::SkipQuotaCheck, skip_quota_check_is_caught_by_running_within_quota_and_burst, without_a_planted_bug_placements_stay_within_the_quota);
