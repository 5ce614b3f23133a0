//! The `process` provisioner: workers are `hodei worker` processes on this
//! node's machine, children of the node that started them. Each gets its own
//! work dir under `<data-dir>/provisioned/<name>` (its log is `worker.log`
//! there) and dies with its node (`PR_SET_PDEATHSIG`: SIGTERM, so it drains
//! first); the cluster then re-queues what it ran and the new leader's
//! provisioner starts replacements.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use hodei_domain::{PoolId, WorkerShape};

use super::Provisioner;

pub struct ProcessProvisioner {
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub token: String,
    children: Vec<Child>,
}

impl ProcessProvisioner {
    pub fn new(exe: PathBuf, dir: PathBuf, token: String) -> Self {
        ProcessProvisioner { exe, dir, token, children: Vec::new() }
    }
}

impl Provisioner for ProcessProvisioner {
    fn start(&mut self, pool: &PoolId, name: &str, shape: WorkerShape, endpoints: &[String]) -> anyhow::Result<()> {
        let work_dir = self.dir.join(name);
        std::fs::create_dir_all(&work_dir).with_context(|| format!("creating {}", work_dir.display()))?;
        let log = std::fs::File::create(work_dir.join("worker.log"))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("worker")
            .args(["--endpoints", &endpoints.join(","), "--pool", &pool.0, "--name", name])
            .args(["--cpu-m", &shape.cpu_m.to_string(), "--memory-mb", &shape.memory_mb.to_string()])
            .arg("--work-dir")
            .arg(&work_dir)
            .env("HODEI_TOKEN", &self.token)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl(2) is async-signal-safe; it runs in the child between
        // fork and exec and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting worker {name}"))?;
        tracing::info!(pool = %pool.0, %name, pid = child.id(), "provisioned a worker process");
        self.children.push(child);
        Ok(())
    }

    /// Reaps children that exited (drained workers leave by themselves).
    fn reap(&mut self) {
        self.children.retain_mut(|c| match c.try_wait() {
            Ok(Some(status)) => {
                tracing::info!(pid = c.id(), %status, "a provisioned worker exited");
                false
            }
            _ => true,
        });
    }

    /// Asks every worker this node started to drain and leave (node shutdown).
    fn stop_all(&mut self) {
        for c in &self.children {
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
    }
}
