//! Scheduling benchmark (not a test): `cargo bench -p hodei-domain`.
//! Prints SubmitJob applies per second with 10,000 tenants and 1,000,000 queued
//! jobs, the time to choose 1,000 assignments from that queue, and the bytes of
//! state per queued job (heap bytes requested, counted by a wrapping allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hodei_domain::command::*;
use hodei_domain::*;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TENANTS: u64 = 10_000;
const JOBS: u64 = 1_000_000;

fn main() {
    let mut s = State::default();
    let mut index = 0;
    let mut settings = *s.settings();
    settings.quota_enforcement.violation_policy = ViolationPolicy::Queue;
    index += 1;
    s.apply(index, &Proposal { at_ms: 1, command: Command::SetSettings(SetSettings { settings }) });
    for t in 0..TENANTS {
        index += 1;
        let c = CreateTenant { name: format!("tenant-{t}"), email: String::new(), quota: Some(Quota { cpu_m: 64_000, memory_mb: 1 << 20, max_concurrent_jobs: 1_000 }) };
        s.apply(index, &Proposal { at_ms: 2, command: Command::CreateTenant(c) });
    }
    // Pre-build proposals so only apply is timed.
    let proposals: Vec<Proposal> = (0..JOBS)
        .map(|i| {
            let spec = JobSpec { command: vec!["true".into()], cpu_m: 100 + (i % 7) * 50, memory_mb: 128, priority: (i % 3) as i32, ..Default::default() };
            Proposal { at_ms: 1_000 + i / 1000, command: Command::SubmitJob(SubmitJob { tenant_id: TenantId(1 + (i * 7919) % TENANTS), spec, idempotency_key: None }) }
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    let start = Instant::now();
    for p in &proposals {
        index += 1;
        let out = s.apply(index, p);
        debug_assert!(matches!(out, Outcome::JobSubmitted(_)));
    }
    let elapsed = start.elapsed();
    let after = LIVE.load(Ordering::Relaxed);
    drop(proposals);
    println!("SubmitJob: {JOBS} applies into {TENANTS} tenants in {:.3} s = {:.0} applies/s (one thread, release build, outcome built and dropped)", elapsed.as_secs_f64(), JOBS as f64 / elapsed.as_secs_f64());
    assert_eq!(s.queued_jobs(), JOBS);
    let heap = after.saturating_sub(before) as f64;
    println!("state growth: {:.0} heap bytes requested per queued job (job record, spec strings, queue index; allocator overhead not included)", heap / JOBS as f64);
    let encoded = snapshot::encode(&s).len();
    println!("snapshot: {:.0} encoded bytes per queued job ({} bytes total)", encoded as f64 / JOBS as f64, encoded);

    for w in 0..250u64 {
        index += 1;
        let c = RegisterWorker { pool: PoolId(if w % 2 == 0 { "static".into() } else { "dyn".into() }), name: format!("w{w}"), cpu_m: 2_000, memory_mb: 8_192, labels: BTreeMap::new(), logs_addr: String::new() };
        s.apply(index, &Proposal { at_ms: 5_000, command: Command::RegisterWorker(c) });
    }
    let mut best = f64::MAX;
    let mut chosen = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let d = dispatch::solve(&s, 5_000, None, 1_000);
        best = best.min(start.elapsed().as_secs_f64());
        chosen = d.assignments.len();
    }
    println!("dispatch::solve: {chosen} assignments from {JOBS} queued jobs, {TENANTS} tenants, 250 workers in {:.3} ms (best of 5)", best * 1e3);
    let d = dispatch::solve(&s, 5_000, None, 1_000);
    index += 1;
    let start = Instant::now();
    let out = s.apply(index, &Proposal { at_ms: 5_001, command: Command::AssignJobs(d.command()) });
    let Outcome::JobsAssigned(p) = out else { panic!("{out:?}") };
    println!("AssignJobs apply of {} placements (all re-checked): {:.3} ms", p.len(), start.elapsed().as_secs_f64() * 1e3);
}
