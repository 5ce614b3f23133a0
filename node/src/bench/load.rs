//! The load driver: closed-loop clients (each sends its next request when the
//! last one is answered) or, with `--rate`, an open loop that starts requests on
//! a fixed schedule and measures each from its scheduled start, so a slow server
//! shows up as latency instead of silently lowering the offered load
//! (coordinated omission). A progress line goes to stderr every second.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::stats::{OpError, Recorder};

/// One request: `(client, sequence number)` to its outcome.
pub type OpFuture = Pin<Box<dyn Future<Output = Result<(), OpError>> + Send>>;
pub type Op = Arc<dyn Fn(usize, u64) -> OpFuture + Send + Sync>;

/// How to drive: clients, per-request timeout, and the open-loop rate if any.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub concurrency: u32,
    pub rate: Option<u32>,
    pub timeout: Duration,
}

/// A run in progress or done: its recorder and a switch that stops it early.
#[derive(Clone)]
pub struct Run {
    pub recorder: Arc<Mutex<Recorder>>,
    stop: Arc<AtomicBool>,
}

impl Run {
    pub fn new() -> Run {
        Run { recorder: Arc::new(Mutex::new(Recorder::new())), stop: Arc::new(AtomicBool::new(false)) }
    }

    /// Makes every client finish its current request and quit.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Locks the recorder; a client that panicked mid-record leaves figures that
    /// are still worth reading.
    pub fn recorder(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, latency: Duration, result: Result<(), OpError>) {
        self.recorder().record(latency, result);
    }
}

/// Applies `op` for `duration` (or until `run.stop()`), printing progress; returns
/// the time from the first request to the last answer.
pub async fn drive(run: &Run, shape: Shape, duration: Duration, op: Op) -> Duration {
    let start = Instant::now();
    let end = start + duration;
    let progress = tokio::spawn(progress(run.clone(), start));
    match shape.rate {
        None => closed_loop(run, shape, end, op).await,
        Some(rate) => open_loop(run, shape, rate, start, end, op).await,
    }
    progress.abort();
    start.elapsed()
}

async fn closed_loop(run: &Run, shape: Shape, end: Instant, op: Op) {
    let clients = shape.concurrency as usize;
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let (run, op) = (run.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            let mut seq = client as u64;
            while Instant::now() < end && !run.stopped() {
                let sent = Instant::now();
                let result = timed(shape.timeout, op(client, seq)).await;
                run.record(sent.elapsed(), result);
                seq += clients as u64;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn open_loop(run: &Run, shape: Shape, rate: u32, start: Instant, end: Instant, op: Op) {
    let slots = Arc::new(tokio::sync::Semaphore::new(shape.concurrency as usize));
    let period = Duration::from_secs(1) / rate;
    let mut tasks = tokio::task::JoinSet::new();
    let mut seq = 0u64;
    loop {
        let scheduled = start + period * u32::try_from(seq).unwrap_or(u32::MAX);
        if scheduled >= end || run.stopped() {
            break;
        }
        tokio::time::sleep_until(scheduled.into()).await;
        // Past the concurrency cap the schedule waits for a slot, but each request
        // is still measured from when it should have started.
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let (run, op) = (run.clone(), op.clone());
        let client = (seq % u64::from(shape.concurrency)) as usize;
        tasks.spawn(async move {
            let result = timed(shape.timeout, op(client, seq)).await;
            run.record(scheduled.elapsed(), result);
            drop(slot);
        });
        seq += 1;
        // Reap finished requests so the set stays small on long runs.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn timed(timeout: Duration, op: OpFuture) -> Result<(), OpError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(r) => r,
        Err(_) => Err(OpError::new("timeout", format!("no answer within {timeout:?}"))),
    }
}

async fn progress(run: Run, start: Instant) {
    let mut tick = tokio::time::interval_at((start + Duration::from_secs(1)).into(), Duration::from_secs(1));
    loop {
        tick.tick().await;
        let line = run.recorder().take_window(start.elapsed());
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(fail_every: u64) -> Op {
        Arc::new(move |_client, seq| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                if fail_every > 0 && seq % fail_every == 0 {
                    Err(OpError::new("planted", format!("request {seq}")))
                } else {
                    Ok(())
                }
            })
        })
    }

    #[tokio::test]
    async fn a_closed_loop_counts_every_answer_once() {
        let run = Run::new();
        let shape = Shape { concurrency: 4, rate: None, timeout: Duration::from_secs(5) };
        drive(&run, shape, Duration::from_millis(300), op(5)).await;
        let r = run.recorder();
        let total = r.ok() + r.errors();
        assert!(total >= 4, "every client answered at least once, got {total}");
        // Sequence numbers are unique across clients, so exactly one in five is planted.
        let planted = r.report("x", "y", Duration::from_secs(1)).errors_by_kind["planted"];
        assert!(planted.abs_diff(total / 5) <= 4, "{planted} planted errors out of {total}");
    }

    #[tokio::test]
    async fn an_open_loop_starts_requests_on_schedule_and_times_out_slow_ones() {
        let run = Run::new();
        let slow: Op = Arc::new(|_, seq| Box::pin(async move {
            if seq == 0 {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Ok(())
        }));
        let shape = Shape { concurrency: 8, rate: Some(100), timeout: Duration::from_millis(100) };
        drive(&run, shape, Duration::from_millis(200), slow).await;
        let r = run.recorder();
        // 100/s for 200 ms schedules requests 0..=19, whatever the machine's load.
        assert_eq!(r.errors(), 1, "the one slow request timed out");
        assert_eq!(r.ok(), 19, "every other scheduled request was answered");
    }

    #[tokio::test]
    async fn stop_ends_a_run_before_its_duration() {
        let run = Run::new();
        let shape = Shape { concurrency: 2, rate: None, timeout: Duration::from_secs(5) };
        let stopper = run.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            stopper.stop();
        });
        let took = drive(&run, shape, Duration::from_secs(60), op(0)).await;
        assert!(took < Duration::from_secs(30), "ran {took:?} after stop");
    }
}
