//! Hand-built histories that are and are not linearizable: first for the search
//! alone with a register, then whole campaign histories through the checker.

use super::search::{check, Answer, Model, Timed};
use super::{check_with_budget, BUDGET};
use crate::history::{Api, History, JobSeen, Op, OpKind, Outcome};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Register(u8);

enum RegCall {
    Write(u8),
    Read(u8),
}

impl Model for Register {
    type Call = RegCall;
    fn step(&self, call: &RegCall) -> Option<Register> {
        match call {
            RegCall::Write(v) => Some(Register(*v)),
            RegCall::Read(v) => (*v == self.0).then(|| self.clone()),
        }
    }
}

fn at(invoke: u64, complete: u64, call: RegCall) -> Timed<RegCall> {
    Timed { invoke, complete: Some(complete), call }
}

fn unclear(invoke: u64, call: RegCall) -> Timed<RegCall> {
    Timed { invoke, complete: None, call }
}

#[test]
fn a_read_concurrent_with_a_write_may_see_either_value() {
    let old = [at(0, 10, RegCall::Write(1)), at(5, 15, RegCall::Read(0))];
    let new = [at(0, 10, RegCall::Write(1)), at(5, 15, RegCall::Read(1))];
    assert_eq!(check(Register(0), &old, BUDGET), Answer::Linearizable);
    assert_eq!(check(Register(0), &new, BUDGET), Answer::Linearizable);
}

#[test]
fn a_read_after_a_write_returned_must_see_it() {
    let h = [at(0, 10, RegCall::Write(1)), at(20, 30, RegCall::Read(0))];
    assert_eq!(check(Register(0), &h, BUDGET), Answer::Not { placed: 1, stuck: vec![1] });
}

#[test]
fn two_concurrent_writes_cannot_be_seen_in_both_orders() {
    let h = [
        at(0, 10, RegCall::Write(1)),
        at(0, 10, RegCall::Write(2)),
        at(20, 30, RegCall::Read(1)),
        at(40, 50, RegCall::Read(2)),
    ];
    assert!(matches!(check(Register(0), &h, BUDGET), Answer::Not { .. }));
    let one_order = [at(0, 10, RegCall::Write(1)), at(0, 10, RegCall::Write(2)), at(20, 30, RegCall::Read(1)), at(40, 50, RegCall::Read(1))];
    assert_eq!(check(Register(0), &one_order, BUDGET), Answer::Linearizable);
}

#[test]
fn an_unclear_write_may_land_late_or_never_but_not_twice() {
    let late = [unclear(0, RegCall::Write(1)), at(10, 20, RegCall::Read(0)), at(30, 40, RegCall::Read(1))];
    assert_eq!(check(Register(0), &late, BUDGET), Answer::Linearizable);
    let never = [unclear(0, RegCall::Write(1)), at(10, 20, RegCall::Read(0))];
    assert_eq!(check(Register(0), &never, BUDGET), Answer::Linearizable);
    let flicker = [unclear(0, RegCall::Write(1)), at(10, 20, RegCall::Read(1)), at(30, 40, RegCall::Read(0))];
    assert!(matches!(check(Register(0), &flicker, BUDGET), Answer::Not { .. }));
}

#[test]
fn a_search_that_runs_out_of_budget_says_unknown() {
    let h: Vec<_> = (0..6).map(|i| at(0, 100, RegCall::Write(i))).chain([at(200, 210, RegCall::Read(9))]).collect();
    assert_eq!(check(Register(0), &h, 3), Answer::Unknown { explored: 3 });
    assert!(matches!(check(Register(0), &h, BUDGET), Answer::Not { .. }));
}

fn seen(id: u64, state: &str) -> Outcome {
    Outcome::Ok { job: Some(JobSeen { id, key: Some(format!("k{id}")), state: state.into() }) }
}

fn op(id: u64, kind: OpKind, invoke_ms: u64, complete_ms: u64, outcome: Outcome) -> Op {
    Op { id, client: id as u32 % 3, node: 1, kind, api: Api::Rest, invoke_ms, complete_ms, index: None, outcome }
}

fn submit(id: u64, job: u64, t: (u64, u64), outcome: Outcome) -> Op {
    op(id, OpKind::Submit { key: format!("k{job}") }, t.0, t.1, outcome)
}

fn read(id: u64, job: u64, t: (u64, u64), outcome: Outcome) -> Op {
    op(id, OpKind::Read { job, linearizable: true }, t.0, t.1, outcome)
}

fn cancel(id: u64, job: u64, t: (u64, u64), outcome: Outcome) -> Op {
    op(id, OpKind::Cancel { job }, t.0, t.1, outcome)
}

fn absent() -> Outcome {
    Outcome::Ok { job: None }
}

fn fail(reason: &str) -> Outcome {
    Outcome::Fail { reason: reason.into() }
}

fn maybe() -> Outcome {
    Outcome::Maybe { reason: "no reply: timed out".into() }
}

fn verdict(ops: Vec<Op>) -> (bool, Vec<String>) {
    let v = check_with_budget(&History { ops, ..History::default() }, BUDGET);
    (v.ok, v.violations)
}

#[test]
fn a_submit_read_cancel_history_with_overlaps_is_linearizable() {
    let (ok, why) = verdict(vec![
        submit(1, 7, (0, 50), seen(7, "PENDING")),
        read(2, 7, (10, 20), absent()), // overlaps the submit: may precede it
        read(3, 7, (60, 70), seen(7, "QUEUED")),
        cancel(4, 7, (80, 90), seen(7, "CANCELLED")),
        cancel(5, 7, (100, 110), fail("409 conflict")),
        read(6, 7, (120, 130), seen(7, "CANCELLED")),
        read(7, 8, (120, 130), absent()), // a job nobody made
        cancel(8, 8, (140, 150), fail("404 not_found")),
    ]);
    assert!(ok, "{why:?}");
}

#[test]
fn a_linearizable_read_that_misses_an_acknowledged_submit_is_a_violation() {
    let (ok, why) = verdict(vec![submit(1, 7, (0, 50), seen(7, "PENDING")), read(2, 7, (60, 70), absent())]);
    assert!(!ok);
    assert!(why[0].contains("job 7") && why[0].contains("[2]"), "{why:?}");
}

#[test]
fn a_read_that_shows_a_cancelled_job_live_again_is_a_violation() {
    let (ok, _) = verdict(vec![
        submit(1, 7, (0, 10), seen(7, "PENDING")),
        cancel(2, 7, (20, 30), seen(7, "CANCELLED")),
        read(3, 7, (40, 50), seen(7, "PENDING")),
    ]);
    assert!(!ok);
}

#[test]
fn an_unanswered_submit_may_apply_late_but_a_job_once_seen_cannot_vanish() {
    let late = vec![
        submit(1, 7, (0, 1000), maybe()),
        read(2, 7, (10, 20), absent()),
        read(3, 7, (30, 40), seen(7, "PENDING")),
    ];
    assert!(verdict(late).0);
    let vanish = vec![
        submit(1, 7, (0, 1000), maybe()),
        read(2, 7, (30, 40), seen(7, "PENDING")),
        cancel(3, 7, (50, 60), fail("404 not_found")),
    ];
    assert!(!verdict(vanish).0);
}

#[test]
fn only_a_cancel_cancels_and_a_finished_job_stays_finished() {
    let by_worker = vec![
        submit(1, 7, (0, 10), seen(7, "PENDING")),
        read(2, 7, (20, 30), seen(7, "SUCCEEDED")),
        cancel(3, 7, (40, 50), fail("409 conflict")),
    ];
    assert!(verdict(by_worker).0);
    let cancelled_by_nobody = vec![submit(1, 7, (0, 10), seen(7, "PENDING")), read(2, 7, (20, 30), seen(7, "CANCELLED"))];
    assert!(!verdict(cancelled_by_nobody).0);
    let unfinished = vec![
        submit(1, 7, (0, 10), seen(7, "PENDING")),
        read(2, 7, (20, 30), seen(7, "SUCCEEDED")),
        read(3, 7, (40, 50), seen(7, "RUNNING")),
    ];
    assert!(!verdict(unfinished).0);
}

#[test]
fn stale_reads_and_refused_submits_are_not_held_to_linearizability() {
    let (ok, why) = verdict(vec![
        submit(1, 7, (0, 10), seen(7, "PENDING")),
        op(2, OpKind::Read { job: 7, linearizable: false }, 20, 30, absent()),
        submit(3, 9, (40, 50), fail("503 unavailable")),
    ]);
    assert!(ok, "{why:?}");
}

#[test]
fn an_unknown_verdict_counts_as_a_failure() {
    let ops: Vec<Op> = (0..5).map(|i| read(i + 2, 7, (20, 90), seen(7, "PENDING"))).chain([submit(1, 7, (0, 10), seen(7, "PENDING"))]).collect();
    assert!(verdict(ops.clone()).0);
    let v = check_with_budget(&History { ops, ..History::default() }, 2);
    assert!(!v.ok);
    assert!(v.violations[0].contains("unknown"), "{:?}", v.violations);
}
