//! Cuts and delays through each node's own transport filter
//! (`PUT /api/v1/debug/transport-filter`, enabled by `HODEI_FAULT_INJECTION=1`):
//! a node drops (or holds back) what it sends to the targets named, so a cut is
//! one-way and a partition is two cuts. The filter lives in the node's memory: a restarted
//! node comes back with none. It drops Raft messages only; client traffic still
//! arrives, and it cannot lose a share of packets.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::bail;
use reqwest::Method;
use serde_json::json;

use hodei_cluster::LinkRule;

use crate::client::Rest;

pub struct TransportFilters {
    rest: Rest,
    /// from -> target -> what happens to the messages it sends there.
    cuts: Mutex<BTreeMap<u64, BTreeMap<u64, LinkRule>>>,
}

impl TransportFilters {
    pub fn new(rest: Rest) -> Self {
        TransportFilters { rest, cuts: Mutex::new(BTreeMap::new()) }
    }

    /// Adds `to` to what `from` (serving REST at `from_url`) drops.
    pub async fn cut(&self, from: u64, from_url: &str, to: u64) -> anyhow::Result<()> {
        self.set(from, from_url, to, LinkRule::Drop).await
    }

    /// Holds back what `from` sends to `to` by `ms` (a cut stays a cut).
    pub async fn delay(&self, from: u64, from_url: &str, to: u64, ms: u64) -> anyhow::Result<()> {
        self.set(from, from_url, to, LinkRule::Delay { ms }).await
    }

    async fn set(&self, from: u64, from_url: &str, to: u64, rule: LinkRule) -> anyhow::Result<()> {
        let rules = {
            let mut cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
            let r = cuts.entry(from).or_default().entry(to).or_insert(rule);
            if *r != LinkRule::Drop {
                *r = rule;
            }
            cuts[&from].clone()
        };
        self.push(from_url, &rules).await
    }

    /// Forgets every rule and returns the nodes that had some; the caller clears
    /// those that still run with [`TransportFilters::clear`].
    pub fn take_all(&self) -> Vec<u64> {
        std::mem::take(&mut *self.cuts.lock().unwrap_or_else(|e| e.into_inner())).into_keys().collect()
    }

    /// A node that restarted has no rules any more.
    pub fn forget(&self, id: u64) {
        self.cuts.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    pub async fn clear(&self, url: &str) -> anyhow::Result<()> {
        self.push(url, &BTreeMap::new()).await
    }

    /// Installs a node's whole rule set, retrying for up to 5 s.
    async fn push(&self, base_url: &str, rules: &BTreeMap<u64, LinkRule>) -> anyhow::Result<()> {
        let url = format!("{base_url}/api/v1/debug/transport-filter");
        let body = json!({ "rules": rules });
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.rest.call(Method::PUT, &url, Some(&body), &[]).await {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) if Instant::now() >= deadline => bail!("set the filter at {base_url}: {} {}", r.status, r.json),
                Err(e) if Instant::now() >= deadline => bail!("set the filter at {base_url}: {e:?}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}
