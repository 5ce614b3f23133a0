//! The `docker` provisioner: one container per worker, from the project's own
//! image (`FROM scratch`, the static `hodei`; `scripts/build-image` builds
//! `hodei:dev`). The container runs `hodei worker` with the pool's shape as its
//! limits (`--cpus`, `--memory`), on the configured network (`host` by default,
//! so workers reach nodes bound to loopback), as this node's user so the work
//! dir it bind-mounts (`<data-dir>/provisioned/<name>`, same path inside) is
//! writable. The image holds no programs for jobs to run: the configured
//! mounts (the host's `/usr`, `/bin`, `/lib`, ... read-only by default) give
//! them their tools.
//!
//! Containers are not children of the node: they outlive its crash, stay
//! registered, and the next leader counts them like any worker. On a clean
//! node shutdown they get SIGTERM, so they drain and leave; `--rm` removes
//! them once they exit. Every container carries the labels `hodei.provisioned`
//! and `hodei.node`, so an operator finds them with
//! `docker ps --filter label=hodei.provisioned`.
//!
//! `docker run -d` is spawned, not awaited: the reconcile loop never blocks
//! on the engine. A run that fails is logged when reaped, and the worker it
//! meant to start never registers, so the loop starts another after
//! [`super::REGISTER_WITHIN`].

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use hodei_domain::{PoolId, WorkerShape};

use super::Provisioner;
use crate::config::pools::DockerProvisioner as Settings;

pub struct DockerProvisioner {
    settings: Settings,
    dir: PathBuf,
    token: String,
    node_label: String,
    /// `docker run -d` clients still running, with the container they create.
    clients: Vec<(String, Child)>,
    /// Containers this node started (stopped on shutdown).
    started: Vec<String>,
}

/// A container name docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn container_name(worker: &str) -> String {
    let safe: String = worker.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' }).collect();
    format!("hodei-worker-{safe}")
}

impl DockerProvisioner {
    pub fn new(settings: Settings, dir: PathBuf, token: String, node_id: u64) -> Self {
        DockerProvisioner { settings, dir, token, node_label: node_id.to_string(), clients: Vec::new(), started: Vec::new() }
    }

    /// The `docker run` arguments for one worker (after `docker`).
    pub fn run_args(&self, pool: &PoolId, name: &str, shape: WorkerShape, endpoints: &[String], work_dir: &std::path::Path) -> Vec<String> {
        // SAFETY: getuid/getgid have no preconditions and cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let work = work_dir.display().to_string();
        let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--rm".into(), "--name".into(), container_name(name)];
        args.extend(["--label".into(), "hodei.provisioned=1".into(), "--label".into(), format!("hodei.node={}", self.node_label)]);
        args.extend(["--label".into(), format!("hodei.pool={}", pool.0)]);
        args.extend(["--network".into(), self.settings.network.clone(), "--user".into(), format!("{uid}:{gid}")]);
        args.extend(["--cpus".into(), format!("{:.3}", shape.cpu_m as f64 / 1000.0), "--memory".into(), format!("{}m", shape.memory_mb.max(6))]);
        args.extend(["-e".into(), "HODEI_TOKEN".into(), "-v".into(), format!("{work}:{work}")]);
        for m in &self.settings.mounts {
            let src = m.split(':').next().unwrap_or_default();
            if std::path::Path::new(src).exists() {
                args.extend(["-v".into(), m.clone()]);
            }
        }
        args.push(self.settings.image.clone());
        args.extend(["worker".into(), "--endpoints".into(), endpoints.join(","), "--pool".into(), pool.0.clone(), "--name".into(), name.into()]);
        args.extend(["--cpu-m".into(), shape.cpu_m.to_string(), "--memory-mb".into(), shape.memory_mb.to_string(), "--work-dir".into(), work]);
        args
    }
}

impl Provisioner for DockerProvisioner {
    fn start(&mut self, pool: &PoolId, name: &str, shape: WorkerShape, endpoints: &[String]) -> anyhow::Result<()> {
        let work_dir = self.dir.join(name);
        std::fs::create_dir_all(&work_dir).with_context(|| format!("creating {}", work_dir.display()))?;
        let args = self.run_args(pool, name, shape, endpoints, &work_dir);
        let child = Command::new("docker")
            .args(&args)
            .env("HODEI_TOKEN", &self.token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running `docker` (is the docker CLI installed?)")?;
        let container = container_name(name);
        tracing::info!(pool = %pool.0, %name, %container, image = %self.settings.image, "provisioning a worker container");
        self.started.push(container.clone());
        self.clients.push((container, child));
        Ok(())
    }

    fn reap(&mut self) {
        self.clients.retain_mut(|(container, c)| match c.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) if status.success() => false,
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                tracing::warn!(%container, %status, error = %err.trim(), "docker could not start a worker container");
                false
            }
            Err(e) => {
                tracing::warn!(%container, error = %e, "lost track of a docker client");
                false
            }
        });
    }

    fn stop_all(&mut self) {
        if self.started.is_empty() {
            return;
        }
        // SIGTERM: each worker drains, deregisters and exits; `--rm` removes it.
        let status = Command::new("docker")
            .args(["kill", "--signal", "TERM"])
            .args(&self.started)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        tracing::info!(containers = self.started.len(), ?status, "asked the worker containers this node started to drain");
        self.started.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_are_what_docker_accepts() {
        assert_eq!(container_name("pool-dyn-n1-42-3"), "hodei-worker-pool-dyn-n1-42-3");
        assert_eq!(container_name("gpu/a100 x"), "hodei-worker-gpu-a100-x");
    }

    #[test]
    fn a_worker_runs_with_its_pool_shape_labels_and_work_dir() {
        let settings = Settings { mounts: vec!["/usr:/usr:ro".into(), "/does-not-exist:/x:ro".into()], ..Settings::default() };
        let p = DockerProvisioner::new(settings, PathBuf::from("/data/provisioned"), "t".into(), 2);
        let shape = WorkerShape { cpu_m: 1500, memory_mb: 512 };
        let args = p.run_args(&PoolId("dyn".into()), "w1", shape, &["127.0.0.1:9091".into(), "127.0.0.2:9091".into()], std::path::Path::new("/data/provisioned/w1"));
        let line = args.join(" ");
        assert!(line.starts_with("run -d --rm --name hodei-worker-w1 "), "{line}");
        for part in [
            "--label hodei.provisioned=1",
            "--label hodei.node=2",
            "--label hodei.pool=dyn",
            "--network host",
            "--cpus 1.500 --memory 512m",
            "-e HODEI_TOKEN -v /data/provisioned/w1:/data/provisioned/w1",
            "-v /usr:/usr:ro",
            "hodei:dev worker --endpoints 127.0.0.1:9091,127.0.0.2:9091 --pool dyn --name w1 --cpu-m 1500 --memory-mb 512 --work-dir /data/provisioned/w1",
        ] {
            assert!(line.contains(part), "{part:?} missing from {line}");
        }
        assert!(!line.contains("/does-not-exist"), "a mount whose source is missing is left out: {line}");
        assert!(!line.contains(" t "), "the token travels in the environment, not the command line");
    }
}
