//! Link faults between containers: the host's `iptables`, run inside one
//! container's network namespace through `nsenter` (the image itself holds
//! nothing but `hodei`). Rules go into that namespace's `OUTPUT` chain, so they
//! only touch what that container sends, and vanish with the container (a
//! restarted container gets a fresh namespace with none).
//!
//! - a one-way cut `a -/-> b`: in `a`, drop what goes to `b`'s peer port (`a`'s
//!   calls to `b` are lost, `b`'s calls to `a` and their replies still pass);
//! - loss between `a` and `b`: in each, drop a random share of what goes to the other.

use anyhow::{bail, Context};

use super::docker_cli::docker;

/// Why link faults cannot be made here (no `nsenter` or `iptables`), if so.
pub fn unusable() -> Option<String> {
    let missing: Vec<&str> = ["nsenter", "iptables"]
        .into_iter()
        .filter(|tool| !std::process::Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()))
        .collect();
    (!missing.is_empty()).then(|| format!("link faults need {} on the host", missing.join(" and ")))
}

async fn iptables_in(container: &str, args: &[&str]) -> anyhow::Result<()> {
    let pid = docker(&["inspect", "--format", "{{.State.Pid}}", container]).await?;
    if pid.is_empty() || pid == "0" {
        bail!("container {container} is not running");
    }
    let out = tokio::process::Command::new("nsenter")
        .args(["-t", &pid, "-n", "iptables", "-w"])
        .args(args)
        .output()
        .await
        .context("run nsenter")?;
    if !out.status.success() {
        bail!("iptables {} in {container}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// In `container`, drops what it sends to `to_ip:to_port`.
pub async fn cut(container: &str, to_ip: &str, to_port: u16) -> anyhow::Result<()> {
    iptables_in(container, &["-A", "OUTPUT", "-d", to_ip, "-p", "tcp", "--dport", &to_port.to_string(), "-j", "DROP"]).await
}

/// In `container`, drops each packet it sends to `to_ip` with `probability`.
pub async fn lose(container: &str, to_ip: &str, probability: f64) -> anyhow::Result<()> {
    let p = format!("{probability:.3}");
    iptables_in(container, &["-A", "OUTPUT", "-d", to_ip, "-m", "statistic", "--mode", "random", "--probability", &p, "-j", "DROP"])
        .await
}

/// Removes every rule in `container`.
pub async fn clear(container: &str) -> anyhow::Result<()> {
    iptables_in(container, &["-F", "OUTPUT"]).await
}
