//! Each checker passes a good history and reports a hand-planted violation.

use super::check_all;
use crate::history::{Api, FinalNode, HashSample, History, JobSeen, MemberChange, Op, OpKind, Outcome, Recovery};

fn job(id: u64, key: &str, state: &str) -> JobSeen {
    JobSeen { id, key: Some(key.into()), state: state.into() }
}

fn op(id: u64, kind: OpKind, t: u64, index: Option<u64>, outcome: Outcome) -> Op {
    Op { id, client: 0, node: 1 + id % 3, kind, api: Api::Rest, invoke_ms: t, complete_ms: t + 10, index, outcome }
}

fn ok(j: JobSeen) -> Outcome {
    Outcome::Ok { job: Some(j) }
}

fn lin(job: u64) -> OpKind {
    OpKind::Read { job, linearizable: true }
}

/// Job 1 (key a) submitted, read, cancelled, read again; key b timed out but was
/// applied as job 2; key c was refused and never applied.
fn good() -> History {
    let ops = vec![
        op(1, OpKind::Submit { key: "a".into() }, 0, Some(5), ok(job(1, "a", "PENDING"))),
        op(2, lin(1), 20, Some(6), ok(job(1, "a", "PENDING"))),
        op(3, OpKind::Cancel { job: 1 }, 40, Some(7), ok(job(1, "a", "CANCELLED"))),
        op(4, lin(1), 60, Some(8), ok(job(1, "a", "CANCELLED"))),
        op(5, OpKind::Submit { key: "b".into() }, 70, None, Outcome::Maybe { reason: "no reply: timed out".into() }),
        op(6, OpKind::Submit { key: "c".into() }, 80, None, Outcome::Fail { reason: "503 unavailable".into() }),
        op(7, OpKind::Read { job: 2, linearizable: false }, 100, Some(4), ok(job(2, "b", "PENDING"))),
        op(8, lin(9), 120, Some(9), Outcome::Ok { job: None }),
    ];
    let final_node = |id| FinalNode {
        id,
        applied_index: Some(9),
        state_hash: Some(0xabc),
        jobs: Some(vec![job(1, "a", "CANCELLED"), job(2, "b", "PENDING")]),
        cluster_version: Some(3),
        protocol_version: Some(3),
    };
    History {
        seed: 1,
        nodes: vec![1, 2, 3],
        ops,
        faults: vec![],
        samples: vec![
            HashSample { node: 1, at_ms: 10, applied_index: 5, state_hash: 0x1 },
            HashSample { node: 2, at_ms: 11, applied_index: 5, state_hash: 0x1 },
            HashSample { node: 3, at_ms: 12, applied_index: 4, state_hash: 0x2 },
        ],
        recoveries: vec![Recovery { after: "final".into(), healed_ms: 200, took_ms: Some(1500), leader: Some(1), detail: String::new() }],
        final_nodes: vec![final_node(1), final_node(2), final_node(3)],
        membership: vec![],
        committed: None,
    }
}

/// The names of the checkers that failed.
fn failing(h: &History) -> Vec<String> {
    check_all(h).into_iter().filter(|v| !v.ok).map(|v| v.checker).collect()
}

#[test]
fn a_good_history_passes_every_checker() {
    let verdicts = check_all(&good());
    for v in &verdicts {
        assert!(v.ok, "{} failed: {:?}", v.checker, v.violations);
        assert!(v.checked > 0, "{} checked nothing", v.checker);
    }
}

#[test]
fn a_lost_acknowledged_write_is_caught() {
    let mut h = good();
    h.final_nodes[2].jobs.as_mut().unwrap().retain(|j| j.id != 1);
    assert_eq!(failing(&h), vec!["acked-submits-present"]);
}

#[test]
fn a_node_that_could_not_be_listed_is_a_violation_not_a_pass() {
    let mut h = good();
    h.final_nodes[1].jobs = None;
    assert_eq!(failing(&h), vec!["acked-submits-present"]);
}

#[test]
fn a_phantom_job_is_caught() {
    let mut h = good();
    for n in &mut h.final_nodes {
        n.jobs.as_mut().unwrap().push(job(3, "nobody-sent-this", "PENDING"));
    }
    assert_eq!(failing(&h), vec!["no-phantom-jobs"]);
}

#[test]
fn a_job_whose_every_submit_was_refused_is_a_phantom() {
    let mut h = good();
    h.ops.push(op(9, OpKind::Read { job: 3, linearizable: false }, 130, Some(9), ok(job(3, "c", "PENDING"))));
    assert_eq!(failing(&h), vec!["no-phantom-jobs"]);
}

#[test]
fn a_duplicate_job_for_one_key_is_caught() {
    let mut h = good();
    h.final_nodes[0].jobs.as_mut().unwrap().push(job(4, "a", "PENDING"));
    let f = failing(&h);
    assert!(f.contains(&"no-phantom-jobs".to_string()), "{f:?}");
}

#[test]
fn a_linearizable_read_missing_a_seen_job_is_caught() {
    let mut h = good();
    h.ops.push(op(9, lin(1), 200, Some(10), Outcome::Ok { job: None }));
    assert_eq!(failing(&h), vec!["linearizable-reads-monotonic", "linearizable-per-tenant"]);
}

#[test]
fn a_linearizable_read_at_a_lower_index_is_caught() {
    let mut h = good();
    h.ops.push(op(9, lin(1), 200, Some(6), ok(job(1, "a", "CANCELLED"))));
    assert_eq!(failing(&h), vec!["linearizable-reads-monotonic"]);
}

#[test]
fn a_linearizable_read_undoing_a_cancel_is_caught() {
    let mut h = good();
    h.ops.push(op(9, lin(1), 200, Some(10), ok(job(1, "a", "PENDING"))));
    assert_eq!(failing(&h), vec!["linearizable-reads-monotonic", "linearizable-per-tenant"]);
}

#[test]
fn stale_reads_may_lag_and_concurrent_reads_may_overlap() {
    let mut h = good();
    // A stale read behind everything, and a linearizable read that began before
    // the cancel completed: neither is a violation.
    h.ops.push(op(9, OpKind::Read { job: 1, linearizable: false }, 200, Some(5), ok(job(1, "a", "PENDING"))));
    h.ops.push(op(10, lin(1), 45, Some(6), ok(job(1, "a", "PENDING"))));
    assert!(failing(&h).is_empty(), "{:?}", check_all(&h));
}

#[test]
fn diverging_hashes_are_caught() {
    let mut h = good();
    h.final_nodes[1].state_hash = Some(0xdef);
    assert_eq!(failing(&h), vec!["same-state-at-same-index"]);
    let mut h = good();
    h.samples.push(HashSample { node: 3, at_ms: 20, applied_index: 5, state_hash: 0x9 });
    assert_eq!(failing(&h), vec!["same-state-at-same-index"]);
}

#[test]
fn a_cluster_that_does_not_recover_is_caught() {
    let mut h = good();
    h.recoveries.push(Recovery { after: "kill-restart".into(), healed_ms: 50, took_ms: None, leader: None, detail: "no leader".into() });
    assert_eq!(failing(&h), vec!["recovery-within-30s"]);
}

/// Node 4 joined and node 2 was removed: the final state is 1, 3 and 4.
fn with_replaced_member() -> History {
    let mut h = good();
    let mut joined = h.final_nodes[0].clone();
    joined.id = 4;
    h.final_nodes.retain(|n| n.id != 2);
    h.final_nodes.push(joined);
    h.membership = vec![MemberChange::Added { node: 4, at_ms: 30 }, MemberChange::Removed { node: 2, at_ms: 50 }];
    h
}

#[test]
fn a_removed_node_is_not_held_to_the_final_state_and_a_joined_one_is() {
    let mut h = with_replaced_member();
    // Node 2 is gone: no final state, and what it showed after leaving is not compared.
    h.samples.push(HashSample { node: 2, at_ms: 60, applied_index: 5, state_hash: 0xdead });
    assert_eq!(failing(&h), Vec::<String>::new());
    let acked = check_all(&h).into_iter().find(|v| v.checker == "acked-submits-present").unwrap();
    assert_eq!(acked.checked, 3, "one acknowledged job on each of nodes 1, 3 and 4");

    // Before it left, a diverging sample is still a violation.
    let mut h = with_replaced_member();
    h.samples.push(HashSample { node: 2, at_ms: 40, applied_index: 5, state_hash: 0xdead });
    assert_eq!(failing(&h), vec!["same-state-at-same-index"]);

    // The node that joined lost an acknowledged job.
    let mut h = with_replaced_member();
    h.final_nodes.last_mut().unwrap().jobs.as_mut().unwrap().retain(|j| j.id != 1);
    assert_eq!(failing(&h), vec!["acked-submits-present"]);
}

#[test]
fn a_member_whose_final_state_was_not_collected_is_a_violation() {
    let mut h = with_replaced_member();
    h.final_nodes.retain(|n| n.id != 4);
    assert_eq!(failing(&h), vec!["acked-submits-present", "same-state-at-same-index", "cluster-version"]);
}

/// The good history with the operator's calls (a quota read and change, a
/// burst and an unclear revoke), a submit refused by quota, and a gRPC read.
fn with_quota_bursts_and_grpc() -> History {
    let mut h = good();
    let none = || Outcome::Ok { job: None };
    h.ops.push(op(20, OpKind::GetQuota, 130, Some(9), none()));
    h.ops.push(op(21, OpKind::SetQuota { cpu_m: 3, memory_mb: 3, max_concurrent_jobs: 6 }, 140, Some(10), none()));
    h.ops.push(op(22, OpKind::RequestBurst { cpu_m: 2, memory_mb: 1 }, 150, Some(11), none()));
    h.ops.push(op(23, OpKind::RevokeBurst { burst: 1 }, 160, None, Outcome::Maybe { reason: "no reply: timed out".into() }));
    h.ops.push(op(24, OpKind::Submit { key: "d".into() }, 170, None, Outcome::Fail { reason: "429 quota_exceeded".into() }));
    h.ops.push(Op { api: Api::Grpc, ..op(25, lin(1), 180, Some(12), ok(job(1, "a", "CANCELLED"))) });
    h
}

#[test]
fn quota_burst_and_grpc_calls_pass_and_a_grpc_read_is_held_to_the_same_rules() {
    let h = with_quota_bursts_and_grpc();
    assert!(failing(&h).is_empty(), "{:?}", check_all(&h));
    let report = crate::report::Report::new("test", vec![], 1.0, &h, check_all(&h));
    assert_eq!(report.operations["read-linearizable-grpc"]["ok"], 1);
    assert_eq!(report.operations["quota-set"]["ok"], 1);

    let mut h = with_quota_bursts_and_grpc();
    h.ops.push(Op { api: Api::Grpc, ..op(26, lin(1), 200, Some(13), ok(job(1, "a", "PENDING"))) });
    assert_eq!(failing(&h), vec!["linearizable-reads-monotonic", "linearizable-per-tenant"]);
}
