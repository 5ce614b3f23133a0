//! Network faults between nodes on loopback addresses, by iptables rules.
//!
//! Every rule lives in one chain of the campaign's own, `HODEI-CHAOS-<pid>`,
//! jumped to from `OUTPUT` (loopback packets pass it once). The chain is removed
//! when the campaign ends, and a new campaign first removes the chains of
//! campaigns whose process is gone, so a crash leaves nothing behind for long.
//!
//! Nodes dial each other from their own address (the cluster binds outgoing
//! peer connections to a loopback listen IP), so a rule can name both ends:
//! - a one-way cut `a -/-> b` drops what `a` sends to `b`'s peer port: `a`'s
//!   calls to `b` fail, while `b`'s calls to `a` (and their replies) still pass;
//! - loss drops a random share of every packet between `a` and `b`, either way
//!   (`-m statistic --mode random --probability p`).
//!
//! Clients dial from 127.0.0.1 and are never matched.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{bail, Context};

const PREFIX: &str = "HODEI-CHAOS-";

pub struct Iptables {
    chain: String,
}

fn iptables(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("iptables").arg("-w").args(args).output().context("run iptables")?;
    if !out.status.success() {
        bail!("iptables {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn remove_chain(chain: &str) {
    // The jump may have been added more than once by a crashed run: remove all.
    while iptables(&["-D", "OUTPUT", "-j", chain]).is_ok() {}
    let _ = iptables(&["-F", chain]);
    let _ = iptables(&["-X", chain]);
}

/// Chains left by campaigns whose process no longer runs.
fn stale_chains(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.strip_prefix("-N "))
        .filter(|c| c.starts_with(PREFIX))
        .filter(|c| c[PREFIX.len()..].parse::<u32>().is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()))
        .map(str::to_string)
        .collect()
}

impl Iptables {
    /// Sets up this campaign's chain, or says why iptables cannot be used
    /// (not installed, not root, no netfilter in this kernel or container).
    pub fn start() -> Result<Self, String> {
        let rules = iptables(&["-S"]).map_err(|e| format!("{e:#}"))?;
        for chain in stale_chains(&rules) {
            remove_chain(&chain);
        }
        let chain = format!("{PREFIX}{}", std::process::id());
        remove_chain(&chain);
        let setup = iptables(&["-N", &chain]).and_then(|_| iptables(&["-I", "OUTPUT", "-j", &chain]));
        if let Err(e) = setup {
            remove_chain(&chain);
            return Err(format!("{e:#}"));
        }
        Ok(Iptables { chain })
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// Drops what `from` sends to `to`'s peer port.
    pub fn cut(&self, from: Ipv4Addr, to: Ipv4Addr, to_peer_port: u16) -> anyhow::Result<()> {
        let (s, d, port) = (from.to_string(), to.to_string(), to_peer_port.to_string());
        iptables(&["-A", &self.chain, "-s", &s, "-d", &d, "-p", "tcp", "--dport", &port, "-j", "DROP"])?;
        Ok(())
    }

    /// Drops packets between `a` and `b`, both ways, each with `probability`.
    pub fn lose(&self, a: Ipv4Addr, b: Ipv4Addr, probability: f64) -> anyhow::Result<()> {
        let p = format!("{probability:.3}");
        for (s, d) in [(a, b), (b, a)] {
            let (s, d) = (s.to_string(), d.to_string());
            iptables(&["-A", &self.chain, "-s", &s, "-d", &d, "-m", "statistic", "--mode", "random", "--probability", &p, "-j", "DROP"])?;
        }
        Ok(())
    }

    /// Removes every rule (the chain and its jump stay).
    pub fn clear(&self) -> anyhow::Result<()> {
        iptables(&["-F", &self.chain])?;
        Ok(())
    }

    /// The rules in force, as `iptables -S` prints them.
    pub fn rules(&self) -> anyhow::Result<Vec<String>> {
        Ok(iptables(&["-S", &self.chain])?.lines().filter(|l| l.starts_with("-A")).map(str::to_string).collect())
    }
}

impl Drop for Iptables {
    fn drop(&mut self) {
        remove_chain(&self.chain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chains_of_dead_campaigns_are_stale() {
        let me = std::process::id();
        let rules = format!("-P OUTPUT ACCEPT\n-N {PREFIX}{me}\n-N {PREFIX}4000000000\n-N {PREFIX}x\n-N DOCKER\n");
        assert_eq!(stale_chains(&rules), vec![format!("{PREFIX}4000000000")]);
    }
}
