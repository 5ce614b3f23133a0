//! The `docker` command line, as the docker backend uses it: run a command and
//! keep its output, find the engine, and remove what earlier campaigns left.
//!
//! Everything a campaign creates carries the label `hodei-chaos.pid=<pid>`, so a
//! later campaign removes the containers and networks of campaigns whose process
//! is gone, and never those of one still running.

use std::process::Output;

use anyhow::{bail, Context};

/// The label on every container and network a campaign creates.
pub const PID_LABEL: &str = "hodei-chaos.pid";

fn checked(args: &[&str], out: std::io::Result<Output>) -> anyhow::Result<String> {
    let out = out.context("run docker (is it installed?)")?;
    if !out.status.success() {
        bail!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `docker ARGS` and returns its stdout, or its stderr as the error.
pub async fn docker(args: &[&str]) -> anyhow::Result<String> {
    checked(args, tokio::process::Command::new("docker").args(args).output().await)
}

/// The same, blocking: for `Drop`, where no runtime may be running.
pub fn docker_blocking(args: &[&str]) -> anyhow::Result<String> {
    checked(args, std::process::Command::new("docker").args(args).output())
}

/// The engine's version, or why it cannot be reached.
pub fn engine() -> anyhow::Result<String> {
    docker_blocking(&["version", "--format", "{{.Server.Version}}"]).context("the docker engine is not reachable")
}

fn pid_alive(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes containers, then networks, of campaigns whose process is gone.
pub fn remove_stale() -> anyhow::Result<()> {
    let filter = format!("label={PID_LABEL}");
    let format = format!("{{{{.Names}}}} {{{{.Label \"{PID_LABEL}\"}}}}");
    let containers = docker_blocking(&["ps", "-a", "--filter", &filter, "--format", &format])?;
    for (name, pid) in containers.lines().filter_map(|l| l.split_once(' ')) {
        if !pid_alive(pid) {
            docker_blocking(&["rm", "-f", name])?;
        }
    }
    let networks = docker_blocking(&["network", "ls", "--filter", &filter, "--format", "{{.Name}}"])?;
    for name in networks.lines().filter(|l| !l.is_empty()) {
        let pid = docker_blocking(&["network", "inspect", "--format", &format!("{{{{index .Labels \"{PID_LABEL}\"}}}}"), name])?;
        if !pid_alive(&pid) {
            docker_blocking(&["network", "rm", name])?;
        }
    }
    Ok(())
}

/// Creates a bridge network with a /24 subnet of our choosing (so containers
/// keep fixed addresses across restarts and reconnects); returns the subnet's
/// first three octets.
pub async fn create_network(name: &str, pid: u32) -> anyhow::Result<[u8; 3]> {
    let mut last = None;
    for attempt in 0..40u32 {
        let prefix = [172, 30 + (attempt / 20) as u8, ((pid + attempt * 7) % 250) as u8];
        let subnet = format!("{}.{}.{}.0/24", prefix[0], prefix[1], prefix[2]);
        let label = format!("{PID_LABEL}={pid}");
        match docker(&["network", "create", "--driver", "bridge", "--subnet", &subnet, "--label", &label, name]).await {
            Ok(_) => return Ok(prefix),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no subnet tried"), |e| e.context("no free /24 in 172.30.0.0/15 for the network")))
}
