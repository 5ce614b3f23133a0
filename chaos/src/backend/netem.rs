//! Packet delay between the process backend's nodes by `tc netem` on `lo`,
//! touching nothing but the campaign's own links.
//!
//! `lo` is the machine's: every other program on it shares its root qdisc. So
//! the qdisc is installed only while a delay is in force, and it delays only
//! what its filters pick:
//!
//! ```text
//! lo root  prio 4843: (16 bands; priomap as pfifo_fast's, so other traffic
//!          |            keeps bands 1..3 and is not held back)
//!          +-- band 4, 5, ...  netem delay <ms>   (one band per distinct delay)
//!          filters: u32 ip src <a>/32 ip dst <b>/32 -> the band of (a -> b)'s delay
//! ```
//!
//! Nodes dial each other from their own address, so `src a, dst b` is exactly
//! "what a sends to b"; clients and workers dial from 127.0.0.1 and match no
//! filter. Heal removes the root qdisc (`lo` is back to `noqueue`), and so does
//! drop. Only one campaign can hold `lo`'s root at a time: the holder's pid is
//! kept in a file beside it, and a root left by a campaign that is gone (killed
//! before it could clean up) is removed by the next one that needs it.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use anyhow::{bail, Context};

/// The root qdisc's handle ("HC" in ASCII), so a leftover one is recognised.
const ROOT: u16 = 0x4843;
/// prio's maximum; bands 1 to 3 carry everything else, as pfifo_fast would.
const BANDS: u16 = 16;
const FIRST_DELAY_BAND: u16 = 4;
/// pfifo_fast's priority-to-band map, shifted to prio's 1-based band numbers.
const PRIOMAP: &str = "1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1";

/// The delays in force: a band per distinct delay, and each link's band.
#[derive(Debug, Default)]
struct Installed {
    bands: BTreeMap<u64, u16>,
}

pub struct LoopbackDelay {
    dev: &'static str,
    owner_file: PathBuf,
    installed: Mutex<Option<Installed>>,
}

/// `tc -batch` lines that make the root qdisc.
fn root_lines(dev: &str) -> Vec<String> {
    vec![format!("qdisc add dev {dev} root handle {ROOT:x}: prio bands {BANDS} priomap {PRIOMAP}")]
}

/// `tc -batch` lines that hold back what `src` sends to `dst` by `ms` through
/// `band`; `new_band`: the band has no netem yet.
fn link_lines(dev: &str, src: Ipv4Addr, dst: Ipv4Addr, ms: u64, band: u16, new_band: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if new_band {
        lines.push(format!("qdisc add dev {dev} parent {ROOT:x}:{band:x} handle {:x}: netem delay {ms}ms", ROOT + band));
    }
    lines.push(format!("filter add dev {dev} parent {ROOT:x}: protocol ip prio 1 u32 match ip src {src}/32 match ip dst {dst}/32 flowid {ROOT:x}:{band:x}"));
    lines
}

/// Runs `tc -batch -` on `lines`, prefixed by `wrap` (e.g. `unshare -n`).
fn tc_batch(wrap: &[&str], lines: &[String]) -> anyhow::Result<()> {
    let (program, args) = match wrap.split_first() {
        Some((p, rest)) => (*p, [rest, &["tc", "-batch", "-"]].concat()),
        None => ("tc", vec!["-batch", "-"]),
    };
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| if program == "tc" { "run tc (it is in iproute2)".to_string() } else { format!("run {program}") })?;
    child.stdin.take().context("tc's stdin")?.write_all((lines.join("\n") + "\n").as_bytes()).context("write to tc")?;
    let out = child.wait_with_output().context("wait for tc")?;
    if !out.status.success() {
        bail!("tc -batch [{}]: {}", lines.join("; "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn tc(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("tc").args(args).output().context("run tc (it is in iproute2)")?;
    if !out.status.success() {
        bail!("tc {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Why delay by netem cannot be made here, if so: the same qdisc and filter,
/// tried once in a scratch network namespace (`unshare -n`), so a missing
/// `tc`, a kernel without `sch_prio` or `sch_netem`, or no `CAP_NET_ADMIN`
/// shows before the campaign starts and touches nothing of the machine's.
pub fn unusable() -> Option<String> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let (a, b) = (Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3));
            let lines = [root_lines("lo"), link_lines("lo", a, b, 1, FIRST_DELAY_BAND, true)].concat();
            tc_batch(&["unshare", "-n", "--"], &lines)
                .err()
                .map(|e| format!("packet delay needs tc with the prio and netem qdiscs (sch_prio, sch_netem), tried in a scratch namespace: {e:#}"))
        })
        .clone()
}

/// Whether `qdiscs` (as `tc qdisc show dev lo` prints them) has a root qdisc
/// with our handle.
fn our_root(qdiscs: &str) -> bool {
    qdiscs.lines().any(|l| l.starts_with(&format!("qdisc prio {ROOT:x}: root")))
}

impl LoopbackDelay {
    pub fn new() -> Self {
        LoopbackDelay { dev: "lo", owner_file: std::env::temp_dir().join("hodei-chaos-netem-lo.pid"), installed: Mutex::new(None) }
    }

    /// Holds back what `src` sends to `dst` by `ms`; installs the root qdisc
    /// on first use.
    pub fn delay(&self, src: Ipv4Addr, dst: Ipv4Addr, ms: u64) -> anyhow::Result<()> {
        let mut installed = super::lock(&self.installed);
        if installed.is_none() {
            self.take_root()?;
            *installed = Some(Installed::default());
        }
        let state = installed.as_mut().expect("set above");
        let next = FIRST_DELAY_BAND + state.bands.len() as u16;
        let (band, new_band) = match state.bands.get(&ms) {
            Some(b) => (*b, false),
            None if next <= BANDS => (next, true),
            None => bail!("at most {} distinct delays at once", BANDS - FIRST_DELAY_BAND + 1),
        };
        tc_batch(&[], &link_lines(self.dev, src, dst, ms, band, new_band))?;
        state.bands.insert(ms, band);
        Ok(())
    }

    /// Removes the root qdisc and every delay with it; nothing to do when none is in force.
    pub fn clear(&self) -> anyhow::Result<()> {
        if super::lock(&self.installed).take().is_some() {
            tc(&["qdisc", "del", "dev", self.dev, "root", "handle", &format!("{ROOT:x}:")])?;
            let _ = std::fs::remove_file(&self.owner_file);
        }
        Ok(())
    }

    /// Installs the root qdisc, first removing one left by a campaign that is
    /// gone; refuses to replace anyone else's.
    fn take_root(&self) -> anyhow::Result<()> {
        let shown = tc(&["qdisc", "show", "dev", self.dev])?;
        if our_root(&shown) {
            let owner = std::fs::read_to_string(&self.owner_file).ok().and_then(|s| s.trim().parse::<u32>().ok());
            if let Some(pid) = owner.filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists()) {
                bail!("{}'s root qdisc holds the delays of another campaign (pid {pid}); one campaign can delay at a time", self.dev);
            }
            tc(&["qdisc", "del", "dev", self.dev, "root", "handle", &format!("{ROOT:x}:")])?;
        } else if !shown.lines().any(|l| l.starts_with("qdisc noqueue 0: root")) {
            bail!("{} has a root qdisc of its own, which delay would replace: {}", self.dev, shown.trim());
        }
        std::fs::write(&self.owner_file, format!("{}\n", std::process::id())).context("record the qdisc's owner")?;
        tc_batch(&[], &root_lines(self.dev))
    }
}

impl Default for LoopbackDelay {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LoopbackDelay {
    fn drop(&mut self) {
        let _ = self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_keeps_other_traffic_in_the_first_three_bands() {
        assert_eq!(root_lines("lo"), vec!["qdisc add dev lo root handle 4843: prio bands 16 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"]);
    }

    #[test]
    fn a_link_is_filtered_by_both_ends_into_its_delays_band() {
        let (a, b) = (Ipv4Addr::new(127, 77, 3, 11), Ipv4Addr::new(127, 77, 3, 12));
        assert_eq!(
            link_lines("lo", a, b, 120, 4, true),
            vec![
                "qdisc add dev lo parent 4843:4 handle 4847: netem delay 120ms",
                "filter add dev lo parent 4843: protocol ip prio 1 u32 match ip src 127.77.3.11/32 match ip dst 127.77.3.12/32 flowid 4843:4",
            ]
        );
        // The band of a delay already in force is reused; band 10 is hex a.
        assert_eq!(
            link_lines("lo", b, a, 120, 10, false),
            vec!["filter add dev lo parent 4843: protocol ip prio 1 u32 match ip src 127.77.3.12/32 match ip dst 127.77.3.11/32 flowid 4843:a"]
        );
    }

    #[test]
    fn only_our_handle_counts_as_a_leftover_root() {
        assert!(our_root("qdisc prio 4843: root refcnt 2 bands 16 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\nqdisc netem 4847: parent 4843:4"));
        assert!(!our_root("qdisc noqueue 0: root refcnt 2"));
        assert!(!our_root("qdisc prio 1: root refcnt 2 bands 3"));
    }

}
