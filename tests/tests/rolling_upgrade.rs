//! A rolling upgrade from protocol version N-1 to N under load, with real node
//! processes. N is this build's `PROTOCOL_VERSION` and N-1 is this build run
//! with `HODEI_RAFT_PROTOCOL_VERSION=N-1`: the node reports version N-1 and
//! stops on any entry or snapshot newer than that, as the previous release
//! fails to decode one (docs/reliability.md, "Rolling upgrades"). The cluster
//! version must stay at N-1 until the last member runs N, a command kind of
//! version N (`SetSlaTargets`) is refused as retryable until then, no
//! acknowledged write may be lost, clients may see only retryable errors, and
//! a member cannot be rolled back once the cluster is at N.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use hodei_tests::{wait_for, Cluster, ClusterOptions};

const VERSION_ENV: &str = "HODEI_RAFT_PROTOCOL_VERSION";
const NEW: u32 = hodei_domain::PROTOCOL_VERSION;
const OLD: u32 = NEW - 1;

#[derive(Default)]
struct Load {
    acked: Vec<u64>,
    /// Answers a client may retry: no connection, 503 (unavailable or maybe
    /// committed, both with Retry-After).
    retryable: u64,
    /// Anything else: must stay empty.
    other: Vec<String>,
}

fn start_load(c: &Cluster, tenant: u64, stop: Arc<AtomicBool>, load: Arc<Mutex<Load>>) -> Vec<tokio::task::JoinHandle<()>> {
    let urls: Vec<String> = (0..c.nodes.len()).map(|i| c.url(i, "/api/v1/jobs")).collect();
    (0..4)
        .map(|w| {
            let (stop, load, urls, client, token) = (stop.clone(), load.clone(), urls.clone(), c.client.clone(), c.admin.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                let mut key = 0usize;
                let mut attempts = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if attempts == 0 {
                        key += 1;
                    }
                    let body = json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1});
                    let k = format!("w{w}-{key}");
                    let r = client.call(Method::POST, &urls[n % urls.len()], Some(&token), Some(&body), &[("idempotency-key", &k)]).await;
                    {
                        let mut l = load.lock().unwrap();
                        match r {
                            Ok(r) if r.status == 201 || r.status == 200 => {
                                l.acked.push(r.json["id"].as_u64().expect("job id"));
                                attempts = 0;
                            }
                            Ok(r) if r.status == 503 => {
                                l.retryable += 1;
                                attempts += 1;
                            }
                            Ok(r) => l.other.push(format!("{}: {}", r.status, r.json)),
                            Err(_) => {
                                l.retryable += 1;
                                attempts += 1;
                            }
                        }
                    }
                    if attempts > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect()
}

async fn cluster_view(c: &Cluster, i: usize) -> Option<Value> {
    let r = c.get(i, "/api/v1/cluster").await.ok()?;
    (r.status == 200).then_some(r.json)
}

/// Every member's protocol version as node `i` sees them, in id order.
fn member_versions(view: &Value) -> Vec<Option<u64>> {
    let mut members: Vec<&Value> = view["members"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    members.sort_by_key(|m| m["id"].as_u64());
    members.iter().map(|m| m["protocol_version"].as_u64()).collect()
}

/// Waits until more than `more_than` writes were acknowledged; on a timeout
/// the panic carries every node's log.
async fn wait_for_acks(c: &Cluster, load: &Arc<Mutex<Load>>, more_than: usize, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while load.lock().unwrap().acked.len() <= more_than {
        assert!(std::time::Instant::now() < deadline, "timed out after 30s waiting for {what}\n{}", c.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until node `i` has applied what the leader had committed when asked
/// (under load the nodes' indexes are never all equal at one instant).
async fn wait_for_caught_up(c: &Cluster, i: usize) {
    let leader = c.index_of(c.wait_for_leader().await);
    let target = cluster_view(c, leader).await.and_then(|v| v["commit_index"].as_u64()).expect("the leader's commit index");
    wait_for("the restarted node to catch up", Duration::from_secs(30), || async {
        let view = c.get(i, "/api/v1/cluster?consistency=stale").await.ok()?.json;
        let me = view["node_id"].as_u64()?;
        let applied = view["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(me))?["applied_index"].as_u64()?;
        (applied >= target).then_some(())
    })
    .await;
}

/// Waits until the leader knows every member's version, `upgraded` of them
/// at N, and asserts it still records N-1.
async fn assert_held_at_old(c: &Cluster, upgraded: usize) {
    let seen = wait_for("the leader to see every member's version", Duration::from_secs(30), || async {
        let leader = c.index_of(c.wait_for_leader().await);
        let view = cluster_view(c, leader).await?;
        let versions = member_versions(&view);
        (versions.iter().filter(|v| **v == Some(u64::from(NEW))).count() == upgraded && versions.iter().all(Option::is_some)).then_some(view)
    })
    .await;
    assert_eq!(seen["cluster_version"], OLD, "raised while a member speaks {OLD}: {seen}");
}

/// Sets the cluster-wide SLA target of priority 7 (a version-N command kind).
async fn put_sla_targets(c: &Cluster, i: usize) -> (u16, Value) {
    let url = c.url(i, "/api/v1/sla/targets");
    let r = c.client.call(Method::PUT, &url, Some(&c.admin), Some(&json!({"by_priority": {"7": 4_000}})), &[]).await.expect("put sla targets");
    (r.status, r.json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_rolls_from_n_minus_1_to_n_under_load_without_losing_a_write() {
    let opts = ClusterOptions { node_env: vec![(VERSION_ENV.into(), OLD.to_string())], ..Default::default() };
    let mut c = Cluster::start(opts).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    // No workers run the jobs: lift the queued-job bound (1,000 by default).
    let lift = c.client.call(Method::PATCH, &c.url(0, &format!("/api/v1/tenants/{tenant}")), Some(&c.admin), Some(&json!({"max_queued_jobs": 1_000_000})), &[]).await;
    assert_eq!(lift.expect("patch tenant").status, 200);
    // Members of N-1 record N-1 (raised from the unrecorded oldest, if older).
    let view = wait_for("the cluster to record version N-1", Duration::from_secs(30), || async {
        let leader = c.index_of(c.wait_for_leader().await);
        cluster_view(&c, leader).await.filter(|v| v["cluster_version"] == OLD)
    })
    .await;
    assert_eq!(member_versions(&view), vec![Some(u64::from(OLD)); 3]);

    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Mutex::new(Load::default()));
    let writers = start_load(&c, tenant, stop.clone(), load.clone());
    wait_for_acks(&c, &load, 50, "writes acknowledged before the roll").await;

    // Followers first, the leader last; each restarted cleanly on its data.
    let leader = c.index_of(c.wait_for_leader().await);
    let order: Vec<usize> = (0..3).filter(|i| *i != leader).chain([leader]).collect();
    for (step, &i) in order.iter().enumerate() {
        let before = load.lock().unwrap().acked.len();
        assert_eq!(c.nodes[i].terminate(), Some(0), "node {} stops cleanly", i + 1);
        if step == 2 {
            // The last old member goes down and a new member leads; it comes
            // back still at N-1 (a crash mid-upgrade) and must catch up, with
            // a version-N leader that holds the cluster at N-1 for it.
            let new_leader = wait_for("a version-N node to lead", Duration::from_secs(30), || async {
                let l = c.index_of(c.wait_for_leader().await);
                (l != i).then_some(l)
            })
            .await;
            c.restart(i);
            c.wait_for_all_ready().await;
            assert_held_at_old(&c, 2).await;
            let (status, body) = put_sla_targets(&c, new_leader).await;
            assert_eq!(status, 503, "a version-{NEW} command is refused, retryably, while a member speaks {OLD}: {body}");
            wait_for_caught_up(&c, i).await;
            assert!(c.nodes[i].exited().is_none(), "the version-{OLD} node stopped under a version-{NEW} leader (node {})", new_leader + 1);
            assert_eq!(c.nodes[i].terminate(), Some(0), "node {} stops cleanly", i + 1);
        }
        c.nodes[i].spec.env.clear();
        c.restart(i);
        c.wait_for_all_ready().await;
        c.wait_for_leader().await;
        if step < 2 {
            assert_held_at_old(&c, step + 1).await;
        }
        wait_for_acks(&c, &load, before + 20, "writes acknowledged after a node was upgraded").await;
    }
    for i in 0..3 {
        wait_for("every node to record cluster version N", Duration::from_secs(30), || async {
            (cluster_view(&c, i).await?["cluster_version"] == NEW).then_some(())
        })
        .await;
    }
    let (status, body) = put_sla_targets(&c, 1).await;
    assert_eq!((status, &body["effective_by_priority"]["7"]), (200, &json!(4_000)), "at version {NEW} the command is accepted: {body}");
    let before = load.lock().unwrap().acked.len();
    wait_for_acks(&c, &load, before + 50, "writes acknowledged at version N").await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let load = Arc::try_unwrap(load).ok().expect("writers done").into_inner().unwrap();
    assert!(load.other.is_empty(), "clients saw non-retryable errors: {:?}", &load.other[..load.other.len().min(5)]);
    c.wait_for_converged().await;
    for i in 0..3 {
        for id in &load.acked {
            let r = c.get(i, &format!("/api/v1/jobs/{id}?consistency=stale")).await.expect("read");
            assert_eq!(r.status, 200, "acknowledged job {id} missing on node {} after the roll", i + 1);
        }
    }
    println!("rolled 3 nodes from protocol {OLD} to {NEW}: {} writes acknowledged, {} retryable answers", load.acked.len(), load.retryable);

    // Once the cluster is at N, a member cannot go back to N-1.
    assert_eq!(c.nodes[0].terminate(), Some(0));
    c.nodes[0].spec.env = vec![(VERSION_ENV.into(), OLD.to_string())];
    c.restart(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = c.nodes[0].exited() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "a node at version {OLD} started on a version-{NEW} cluster's data");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    // Refused at load (a snapshot records version N) or at the first entry of
    // version N in the replayed log; either way it names its own version.
    assert!(c.nodes[0].log_tail().contains(&format!("this node speaks {OLD}")), "{}", c.nodes[0].log_tail());
    c.nodes[0].kill();
    c.nodes[0].spec.env.clear();
    c.restart(0);
    c.wait_for_all_ready().await;
    c.wait_for_converged().await;
}
