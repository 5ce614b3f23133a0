//! # hodei-chaos
//!
//! Chaos campaigns against a real Hodei cluster, in the shape of Jepsen and etcd's
//! `tests/robustness`: faults, a workload, a model, and checkers that read only
//! the recorded history.
//!
//! ```text
//!            nemesis (seeded schedule) ----faults----> backend (processes | containers)
//!                                                        |  REST
//!  workload clients --ops (REST, gRPC)--> nodes --replies--> history (invoke/complete, ok|fail|maybe)
//!  monitor (hash samples) ------------------------------>  |
//!  recovery probe (after each heal) -------------------->  |
//!                                                 checkers -> report
//! ```
//!
//! - [`backend`]: one fault interface; [`backend::process`] runs `hodei server`
//!   processes on loopback addresses and cuts links by iptables (or their
//!   transport filter), kills, pauses, rolls; [`backend::docker`] does the same
//!   to containers with `docker network disconnect`, `kill`, `pause`, `rm`/`run`.
//! - [`nemesis`]: the fault kinds and the seeded schedule that applies them;
//!   [`membership`]: the faults that add, remove and replace nodes.
//! - [`workload`]: clients submitting (idempotency keys), reading, cancelling,
//!   over REST and (a share of submits and reads) gRPC; [`operator`]: client 0's
//!   quota changes at the edge of the tenant's demand, and burst leases.
//! - [`client`]: REST calls and the rule that makes an unclear reply "maybe";
//!   [`grpc`]: the same for the gRPC job service.
//! - [`history`]: the recorded operations, faults, samples and final state.
//! - [`model`]: what observations of one job may look like over time.
//! - [`monitor`], [`recovery`]: state-hash samples; time to full service after a heal.
//! - [`committed`]: the committed Raft log read from the nodes' data dirs.
//! - [`checker`]: one invariant per file.
//! - [`report`]: text and JSON; [`campaign`]: the whole run.

pub mod backend;
pub mod campaign;
pub mod checker;
pub mod client;
pub mod committed;
pub mod grpc;
pub mod history;
pub mod membership;
pub mod model;
pub mod monitor;
pub mod nemesis;
pub mod operator;
pub mod recovery;
pub mod report;
pub mod workload;

pub use campaign::{run, CampaignConfig};

/// Parses `60s`, `2m`, `500ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<std::time::Duration> {
    use std::time::Duration;
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| anyhow::anyhow!("bad duration {s:?}: use 60s, 2m or 500ms"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => anyhow::bail!("bad duration unit in {s:?}: use ms, s, m or h"),
    }
}

/// The `hodei` binary: `$HODEI_BIN`, else `target/release/hodei` in this workspace.
pub fn default_bin() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("HODEI_BIN") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/hodei")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
