//! Concurrent writes of one node share Raft entries (`cluster/src/batch.rs`),
//! each still answered with its own outcome; the batches followers forward
//! join the leader's, so writes taken by different nodes share entries too; `raft.max_batch: 1` gives every
//! write an entry of its own. Real processes, real TCP.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

/// Sends `n` submits at once (spread over the nodes) and returns, per reply,
/// (X-Hodei-Index, job id, the marker argument the job was submitted with).
async fn burst_of_submits(c: &Cluster, tenant: u64, round: usize, n: usize) -> Vec<(u64, u64, String)> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let marker = format!("r{round}-{i}");
            let body = json!({"tenant_id": tenant, "command": ["true", marker], "cpu_m": 1, "memory_mb": 1});
            let (url, client, token) = (c.url(i % c.nodes.len(), "/api/v1/jobs"), c.client.clone(), c.admin.clone());
            tokio::spawn(async move {
                let key = format!("k-{marker}");
                let r = client.call(Method::POST, &url, Some(&token), Some(&body), &[("idempotency-key", &key)]).await.expect("submit");
                assert_eq!(r.status, 201, "submit {marker}: {}", r.json);
                let index = r.header("x-hodei-index").and_then(|v| v.parse().ok()).expect("X-Hodei-Index on a write");
                (index, r.json["id"].as_u64().expect("job id"), marker)
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(n);
    for call in calls {
        replies.push(call.await.expect("submit task"));
    }
    replies
}

async fn cluster_with(max_batch: &str) -> (Cluster, u64) {
    let opts = ClusterOptions { node_env: vec![("HODEI_RAFT_MAX_BATCH".into(), max_batch.into())], ..Default::default() };
    let c = Cluster::start(opts).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    (c, tenant)
}

/// Every reply names a job of its own, submitted with its own arguments.
async fn each_reply_is_its_own_job(c: &Cluster, replies: &[(u64, u64, String)]) {
    let ids: BTreeSet<u64> = replies.iter().map(|r| r.1).collect();
    assert_eq!(ids.len(), replies.len(), "two writes answered with one job");
    for (_, id, marker) in replies {
        let job = c.must_get(0, &format!("/api/v1/jobs/{id}?consistency=linearizable")).await;
        assert_eq!(job["command"][1], marker.as_str(), "job {id} is not the one submitted as {marker}: {job}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_share_entries_and_keep_their_own_outcomes() {
    let (c, tenant) = cluster_with("256").await;
    // The cluster version reaches 3 (batches allowed) about a second after
    // the first leader; rounds go on until one shows a shared entry.
    let deadline = Instant::now() + Duration::from_secs(30);
    for round in 0.. {
        let replies = burst_of_submits(&c, tenant, round, 64).await;
        each_reply_is_its_own_job(&c, &replies).await;
        let mut per_entry: BTreeMap<u64, usize> = BTreeMap::new();
        for r in &replies {
            *per_entry.entry(r.0).or_default() += 1;
        }
        let largest = per_entry.values().max().copied().unwrap_or(0);
        if largest > 1 {
            println!("round {round}: 64 submits in {} entries, up to {largest} in one", per_entry.len());
            return;
        }
        assert!(Instant::now() < deadline, "64 concurrent submits never shared an entry in {round} rounds");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_taken_by_different_nodes_share_the_leaders_entries() {
    let (c, tenant) = cluster_with("256").await;
    // Batches are proposed from cluster version 3 on, which every node learns
    // about a second after the first leader.
    for i in 0..c.nodes.len() {
        wait_for(&format!("cluster version 3 on node {i}"), Duration::from_secs(30), || async {
            let r = c.get(i, "/api/v1/cluster").await.ok()?;
            (r.json["cluster_version"].as_u64()? >= 3).then_some(())
        })
        .await;
    }
    // 12 rounds of 64 stay under the tenant's default 1,000 queued jobs.
    const ROUNDS: usize = 12;
    for round in 0..ROUNDS {
        let replies = burst_of_submits(&c, tenant, round, 64).await;
        each_reply_is_its_own_job(&c, &replies).await;
        // Write i went to node i % 3 (see `burst_of_submits`).
        let mut nodes_per_entry: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
        for (index, _, marker) in &replies {
            let i: usize = marker.rsplit('-').next().and_then(|i| i.parse().ok()).expect("marker r<round>-<i>");
            nodes_per_entry.entry(*index).or_default().insert(i % c.nodes.len());
        }
        if let Some((index, nodes)) = nodes_per_entry.iter().find(|(_, nodes)| nodes.len() > 1) {
            println!("round {round}: entry {index} holds writes taken by nodes {nodes:?}");
            return;
        }
    }
    panic!("no entry held writes taken by two nodes in {ROUNDS} rounds of 64 concurrent submits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_max_batch_1_every_write_has_an_entry_of_its_own() {
    let (c, tenant) = cluster_with("1").await;
    for round in 0..3 {
        let replies = burst_of_submits(&c, tenant, round, 64).await;
        each_reply_is_its_own_job(&c, &replies).await;
        let entries: BTreeSet<u64> = replies.iter().map(|r| r.0).collect();
        assert_eq!(entries.len(), replies.len(), "two writes shared an entry with batching off");
    }
}
