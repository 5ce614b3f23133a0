//! A follower forwards writes to the leader on one long-lived stream whose
//! frames carry ids (`cluster/src/forward.rs`): concurrent writes share it and
//! each gets its own answer; after the leader dies, forwards go on a new
//! stream to the new leader; frames no follower would send are answered with
//! errors, change nothing, and leave the stream open. Real nodes over TCP
//! with their own data dirs.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use hodei_cluster::codec::{self, WIRE_VERSION};
use hodei_cluster::write::ForwardRequest;
use hodei_cluster::{ClusterError, Written};
use hodei_domain::command::SubmitJob;
use hodei_domain::{Command, JobSpec, Outcome, TenantId};
use hodei_proto::raft::v1::raft_service_client::RaftServiceClient;
use hodei_proto::raft::v1::{ForwardFrame, Payload};
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

const WRITES: usize = 40;

/// Submits `WRITES` jobs at once through node `via`, each with its own
/// command, and checks that the job id each client was answered holds that
/// client's command (an answer handed to the wrong waiter names another job).
async fn submit_concurrently(c: &Cluster, via: usize, tenant: u64, tag: &str) {
    let bodies: Vec<_> = (0..WRITES)
        .map(|n| json!({"tenant_id": tenant, "command": ["echo", format!("{tag}-{n}")], "cpu_m": 1, "memory_mb": 1}))
        .collect();
    let replies = join_all(bodies.iter().map(|b| c.post(via, "/api/v1/jobs", b))).await;
    for (n, reply) in replies.into_iter().enumerate() {
        let r = reply.expect("submit through the follower");
        assert_eq!(r.status, 201, "submit {tag}-{n} through node {}: {}", via + 1, r.json);
        let id = r.json["id"].as_u64().expect("job id");
        let job = c.must_get(via, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(job["command"], json!(["echo", format!("{tag}-{n}")]), "job {id}, the answer to {tag}-{n}, is another client's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_a_follower_share_its_stream_and_each_gets_its_own_answer() {
    // One write per entry and per forward, so many frames are in flight at
    // once (batches would carry them in one frame at a time).
    let opts = ClusterOptions { node_env: vec![("HODEI_RAFT_MAX_BATCH".into(), "1".into())], ..Default::default() };
    let mut c = Cluster::start(opts).await;
    let leader_id = c.wait_for_leader().await;
    let leader = c.index_of(leader_id);
    let tenant = c.must_create_tenant(leader, "acme").await;
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let (forwarded, streamed) = ("hodei_forwarded_writes_total", "hodei_forwarded_writes_streamed_total");
    let (forwarded_before, streamed_before) = (c.metric(follower, forwarded).await, c.metric(follower, streamed).await);

    submit_concurrently(&c, follower, tenant, "first").await;
    assert_eq!(c.wait_for_leader().await, leader_id, "leadership moved during the test, so the counts cannot be read");
    let forwarded_now = c.metric(follower, forwarded).await - forwarded_before;
    let streamed_now = c.metric(follower, streamed).await - streamed_before;
    assert_eq!(forwarded_now, WRITES as u64, "the follower forwarded every write");
    assert_eq!(streamed_now, WRITES as u64, "every forwarded write was answered on the stream ({streamed_now} of {WRITES})");

    // The leader dies: the stream to it ends, and the surviving follower's
    // next forwards open a stream to the new leader.
    c.kill(leader);
    let new_leader = wait_for("the survivors to elect a new leader", Duration::from_secs(30), || async {
        let id = c.wait_for_leader().await;
        (id != leader_id).then(|| c.index_of(id))
    })
    .await;
    let survivor = (0..3).find(|i| *i != leader && *i != new_leader).expect("a surviving follower");
    let streamed_before = c.metric(survivor, streamed).await;
    submit_concurrently(&c, survivor, tenant, "second").await;
    let streamed_now = c.metric(survivor, streamed).await - streamed_before;
    assert_eq!(c.index_of(c.wait_for_leader().await), new_leader, "leadership moved again, so the counts cannot be read");
    assert_eq!(streamed_now, WRITES as u64, "after the leader died, writes were answered on a stream to the new leader");

    c.restart(leader);
    c.wait_for_all_ready().await;
    c.wait_for_converged().await;
}

/// Frames no follower would send (no payload, a payload version this build
/// does not speak, bytes that do not decode, an invalid request id beside
/// them) sent straight to the leader's peer port: each is answered under its
/// id with a clear error and applies nothing, and the stream stays open, so
/// a valid frame after them is applied and answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_answered_with_errors_and_change_nothing() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.index_of(c.wait_for_leader().await);
    let tenant = c.must_create_tenant(leader, "acme").await;
    let mut peer = RaftServiceClient::connect(format!("http://{}", c.nodes[leader].spec.peer)).await.expect("peer port");
    let (frames, queued) = tokio::sync::mpsc::channel(8);
    let mut answers = peer.forward_stream(ReceiverStream::new(queued)).await.expect("the stream opens").into_inner();
    let frame = |id, payload| ForwardFrame { id, payload, request_id: String::new() };
    let bad = [
        frame(1, None),
        frame(2, Some(Payload { version: 99, payload: vec![1, 2, 3] })),
        frame(3, Some(Payload { version: WIRE_VERSION, payload: vec![0xff; 64] })),
        ForwardFrame { id: 4, payload: Some(Payload { version: WIRE_VERSION, payload: Vec::new() }), request_id: "not a valid id\n".into() },
    ];
    for f in bad {
        frames.send(f).await.expect("queued");
    }
    let mut got = HashMap::new();
    while got.len() < 4 {
        let answer = tokio::time::timeout(Duration::from_secs(10), answers.message()).await.expect("an answer in time");
        let answer = answer.expect("the stream is open").expect("an answer, not the end");
        let result: Result<Written, ClusterError> = codec::decode(&answer.payload.expect("a payload")).expect("the answer decodes");
        got.insert(answer.id, result);
    }
    for id in 1..=4 {
        let Some(Err(ClusterError::Invalid(why))) = got.get(&id) else { panic!("frame {id}: {:?}", got.get(&id)) };
        assert!(why.starts_with("forwarded write:"), "frame {id}: {why}");
    }
    assert!(matches!(&got[&2], Err(ClusterError::Invalid(why)) if why.contains("version 99")), "{:?}", got[&2]);
    let jobs = c.must_get(leader, &format!("/api/v1/jobs?tenant_id={tenant}")).await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(0), "a bad frame applied something: {jobs}");

    // The same stream still carries a valid write.
    let spec = JobSpec { command: vec!["echo".into(), "after-bad-frames".into()], cpu_m: 1, memory_mb: 1, ..Default::default() };
    let submit = Command::SubmitJob(SubmitJob { tenant_id: TenantId(tenant), spec, idempotency_key: None });
    let payload = codec::encode(&ForwardRequest { command: submit }).expect("encodes");
    frames.send(frame(5, Some(payload))).await.expect("queued");
    let answer = tokio::time::timeout(Duration::from_secs(10), answers.message()).await.expect("an answer in time");
    let answer = answer.expect("the stream is open").expect("an answer, not the end");
    assert_eq!(answer.id, 5);
    let result: Result<Written, ClusterError> = codec::decode(&answer.payload.expect("a payload")).expect("the answer decodes");
    let Ok(Written { outcome: Outcome::JobSubmitted(job), .. }) = result else { panic!("the valid frame: {result:?}") };
    let stored = c.must_get(leader, &format!("/api/v1/jobs/{}", job.id.0)).await;
    assert_eq!(stored["command"], json!(["echo", "after-bad-frames"]));
}
