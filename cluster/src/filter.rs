//! A fault-injection filter on the peer transport: drop or delay the messages of
//! any directed link. Tests and chaos campaigns install rules; in production the
//! rule set stays empty and [`TransportFilter::verdict`] is one relaxed atomic load.
//!
//! Each node filters what it sends: a rule `from -> to` installed on node `from`
//! cuts that direction only, so one-way partitions are expressible.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happens to a message on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRule {
    /// The message is lost: the sender sees the peer as unreachable.
    Drop,
    /// The message is held back this long, then sent.
    Delay { ms: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Drop,
    Delay(Duration),
}

#[derive(Clone, Default)]
pub struct TransportFilter {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    active: AtomicBool,
    /// target node id -> rule, for messages this node sends.
    rules: RwLock<BTreeMap<u64, LinkRule>>,
}

impl TransportFilter {
    /// What to do with a message for `target`.
    pub fn verdict(&self, target: u64) -> Verdict {
        if !self.inner.active.load(Ordering::Relaxed) {
            return Verdict::Pass;
        }
        let rules = self.inner.rules.read().unwrap_or_else(|e| e.into_inner());
        match rules.get(&target) {
            None => Verdict::Pass,
            Some(LinkRule::Drop) => Verdict::Drop,
            Some(LinkRule::Delay { ms }) => Verdict::Delay(Duration::from_millis(*ms)),
        }
    }

    /// Replaces every rule at once.
    pub fn set_rules(&self, rules: BTreeMap<u64, LinkRule>) {
        let mut guard = self.inner.rules.write().unwrap_or_else(|e| e.into_inner());
        self.inner.active.store(!rules.is_empty(), Ordering::Relaxed);
        *guard = rules;
    }

    pub fn rules(&self) -> BTreeMap<u64, LinkRule> {
        self.inner.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes every rule: the node talks to everyone again.
    pub fn heal(&self) {
        self.set_rules(BTreeMap::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filter_passes_everything() {
        let f = TransportFilter::default();
        assert_eq!(f.verdict(2), Verdict::Pass);
    }

    #[test]
    fn rules_apply_per_target_and_heal_clears_them() {
        let f = TransportFilter::default();
        f.set_rules(BTreeMap::from([(2, LinkRule::Drop), (3, LinkRule::Delay { ms: 50 })]));
        assert_eq!(f.verdict(2), Verdict::Drop);
        assert_eq!(f.verdict(3), Verdict::Delay(Duration::from_millis(50)));
        assert_eq!(f.verdict(4), Verdict::Pass);
        f.heal();
        assert_eq!(f.verdict(2), Verdict::Pass);
    }
}
