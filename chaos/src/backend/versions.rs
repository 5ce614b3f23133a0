//! Which nodes still run the previous protocol version. A campaign that starts
//! from an older version (`--from-protocol`) starts every node capped at it
//! (`HODEI_RAFT_PROTOCOL_VERSION`, see docs/reliability.md); a roll brings a
//! node up at this build's version, so the first rolling restart is a rolling
//! upgrade. A kill and restart keeps a node's version, as a crash does.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::lock;

/// The variable that caps a node's protocol version.
pub const VERSION_ENV: &str = "HODEI_RAFT_PROTOCOL_VERSION";

pub struct Versions {
    /// The version capped nodes speak; `None`: every node runs this build's.
    from: Option<u32>,
    capped: Mutex<BTreeSet<u64>>,
}

impl Versions {
    pub fn new(from: Option<u32>, ids: impl IntoIterator<Item = u64>) -> anyhow::Result<Self> {
        let range = hodei_domain::OLDEST_PROTOCOL_VERSION..=hodei_domain::PROTOCOL_VERSION;
        let from = match from {
            Some(v) if !range.contains(&v) => anyhow::bail!("--from-protocol {v}: this build runs {} to {}", range.start(), range.end()),
            Some(v) if v < hodei_domain::PROTOCOL_VERSION => Some(v),
            _ => None,
        };
        let capped = if from.is_some() { ids.into_iter().collect() } else { BTreeSet::new() };
        Ok(Versions { from, capped: Mutex::new(capped) })
    }

    /// The protocol version node `id` speaks.
    pub fn of(&self, id: u64) -> u32 {
        match self.from {
            Some(v) if lock(&self.capped).contains(&id) => v,
            _ => hodei_domain::PROTOCOL_VERSION,
        }
    }

    /// The variable to start node `id` with, if it is capped.
    pub fn env(&self, id: u64) -> Option<(&'static str, String)> {
        let v = self.of(id);
        (v < hodei_domain::PROTOCOL_VERSION).then(|| (VERSION_ENV, v.to_string()))
    }

    /// Node `id` will start at this build's version from now on.
    pub fn upgrade(&self, id: u64) {
        lock(&self.capped).remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_nodes_keep_their_version_until_rolled() {
        let v = Versions::new(Some(2), [1, 2, 3]).unwrap();
        assert_eq!(v.env(2), Some((VERSION_ENV, "2".to_string())));
        v.upgrade(2);
        assert_eq!((v.of(1), v.of(2)), (2, hodei_domain::PROTOCOL_VERSION));
        assert_eq!(v.env(2), None);
        let same = Versions::new(Some(hodei_domain::PROTOCOL_VERSION), [1]).unwrap();
        assert_eq!(same.env(1), None, "starting at this build's version caps nothing");
        assert!(Versions::new(Some(1), [1]).is_err());
    }
}
