//! Runs one job as a real OS process: its own process group (so a cancel reaches
//! every descendant), the job's environment and working directory, resource
//! limits where the OS allows (rlimits), output to a file, a timeout, and
//! cancellation by SIGTERM then SIGKILL after a grace period. The exit status, run
//! time, CPU time and peak memory come from `wait4(2)`.
//!
//! - `spawn`: starting the process without forking the worker
//! - `reap`: waiting for its end without a thread per job

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct RunSpec {
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub work_dir: PathBuf,
    /// stdout and stderr, appended.
    pub output: PathBuf,
    pub timeout: Option<Duration>,
    pub memory_mb: u64,
    /// Between SIGTERM and SIGKILL on cancel or timeout.
    pub grace: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    Cancelled,
    /// The program could not be started (not found, not executable, ...).
    SpawnFailed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    pub ending: Ending,
    pub run_ms: u64,
    pub cpu_ms: u64,
    pub peak_memory_kb: u64,
    pub error: Option<String>,
}

/// Address-space limit: generous above the job's memory request, since virtual
/// size far exceeds resident size for most programs; a runaway still stops.
fn address_space_limit(memory_mb: u64) -> u64 {
    (memory_mb.saturating_mul(4).saturating_add(1024)).saturating_mul(1024 * 1024)
}

/// Runs `spec` to its end. `cancel` turning true stops the process group.
pub async fn run(spec: RunSpec, mut cancel: watch::Receiver<bool>) -> RunResult {
    let started = Instant::now();
    let failed = |e: String| RunResult { ending: Ending::SpawnFailed, run_ms: 0, cpu_ms: 0, peak_memory_kb: 0, error: Some(e) };
    let Some((program, args)) = spec.command.split_first() else {
        return failed("empty command".into());
    };
    if let Err(e) = std::fs::create_dir_all(&spec.work_dir) {
        return failed(format!("work dir {}: {e}", spec.work_dir.display()));
    }
    let out = match std::fs::OpenOptions::new().create(true).append(true).open(&spec.output) {
        Ok(f) => f,
        Err(e) => return failed(format!("output file {}: {e}", spec.output.display())),
    };
    // The worker's own PATH, unless the job sets one, then the job's variables.
    let inherited = ("PATH".to_string(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()));
    let env: Vec<_> = std::iter::once(inherited)
        .filter(|(k, _)| !spec.env.contains_key(k))
        .chain(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    let job = spawn::Job { program, args, env: &env, work_dir: &spec.work_dir, output: &out, address_space: address_space_limit(spec.memory_mb) };
    let pid = match spawn::spawn(&job) {
        Ok(pid) => pid,
        Err(e) => return failed(format!("cannot start {program:?}: {e}")),
    };
    drop(out);
    let waiter = reap::wait(pid);
    tokio::pin!(waiter);
    let deadline = spec.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut stopped: Option<Ending> = None;
    let status = loop {
        tokio::select! {
            res = &mut waiter => break res,
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } }, if stopped.is_none() => {
                stopped = Some(Ending::TimedOut);
                stop_group(pid, spec.grace);
            }
            changed = cancel.changed(), if stopped.is_none() => {
                if changed.is_err() || *cancel.borrow() {
                    stopped = Some(Ending::Cancelled);
                    stop_group(pid, spec.grace);
                }
            }
        }
    };
    let run_ms = started.elapsed().as_millis() as u64;
    match status {
        Ok((raw, usage)) => {
            let cpu_ms = tv_ms(usage.ru_utime) + tv_ms(usage.ru_stime);
            let ending = stopped.unwrap_or(if libc::WIFEXITED(raw) {
                Ending::Exited(libc::WEXITSTATUS(raw))
            } else {
                Ending::Signalled(libc::WTERMSIG(raw))
            });
            RunResult { ending, run_ms, cpu_ms, peak_memory_kb: usage.ru_maxrss.max(0) as u64, error: None }
        }
        Err(e) => RunResult { ending: stopped.unwrap_or(Ending::SpawnFailed), run_ms, cpu_ms: 0, peak_memory_kb: 0, error: Some(e.to_string()) },
    }
}

fn tv_ms(tv: libc::timeval) -> u64 {
    (tv.tv_sec.max(0) as u64) * 1000 + (tv.tv_usec.max(0) as u64) / 1000
}

/// SIGTERM to the whole group now, SIGKILL after `grace` if anything is left.
fn stop_group(pid: libc::pid_t, grace: Duration) {
    // SAFETY: signals to the process group we created for this job.
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    });
}

/// The last `max` bytes of a job's output file.
pub fn tail(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(buf)
}

mod reap;
mod spawn;

#[cfg(test)]
mod tests;
