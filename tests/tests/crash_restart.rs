//! SIGKILL every node in the middle of a write load, restart them all: every
//! acknowledged write is present and the nodes converge on one state. A
//! restarted leader does not resume its term.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_all_nodes_under_load_keeps_every_acknowledged_write() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let urls: Vec<String> = (0..3).map(|i| c.url(i, "/api/v1/jobs")).collect();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (acked, stop, urls, client, token) =
            (acked.clone(), stop.clone(), urls.clone(), c.client.clone(), c.admin.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1});
                let key = format!("w{w}-{n}");
                let url = &urls[n % urls.len()];
                if let Ok(r) = client.call(Method::POST, url, Some(&token), Some(&body), &[("idempotency-key", &key)]).await {
                    if r.status == 201 {
                        acked.lock().unwrap().push(r.json["id"].as_u64().unwrap());
                    }
                }
            }
        }));
    }
    wait_for("at least 100 acknowledged writes", Duration::from_secs(30), || async {
        (acked.lock().unwrap().len() >= 100).then_some(())
    })
    .await;
    for i in 0..3 {
        c.kill(i);
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    println!("{} writes acknowledged before every node was killed", acked.len());
    for i in 0..3 {
        c.restart(i);
    }
    c.wait_for_leader().await;
    c.wait_for_all_ready().await;
    for i in 0..3 {
        for id in &acked {
            let r = c.get(i, &format!("/api/v1/jobs/{id}")).await.expect("read");
            assert_eq!(r.status, 200, "acknowledged job {id} lost on node {}: {}\n{}", i + 1, r.json, c.logs());
        }
    }
    c.wait_for_converged().await;
}

/// A leader sends its entries to followers while its own write of them is in
/// progress (the presend), so after a crash a follower may hold an entry the
/// leader lost. Were the leader to resume its term on restart, it would write a
/// different entry of that term at the same index. So leading again takes an
/// election: after every node restarts, the term is higher than before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_node_restarts_the_leader_is_elected_in_a_higher_term() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.index_of(c.wait_for_leader().await);
    let term = |r: hodei_tests::Reply| r.json["term"].as_u64().expect("term");
    let before = term(c.get(leader, "/api/v1/cluster?consistency=stale").await.expect("status"));
    for i in 0..3 {
        c.kill(i);
    }
    for i in 0..3 {
        c.restart(i);
    }
    let leader = c.index_of(c.wait_for_leader().await);
    let after = term(c.get(leader, "/api/v1/cluster?consistency=stale").await.expect("status"));
    assert!(after > before, "the leader leads in term {after}, as before the restart ({before})\n{}", c.logs());
}
