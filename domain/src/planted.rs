//! Planted bugs: deliberate faults that exist only to prove the chaos checkers
//! can fail (`docs/reliability.md`, "Planted bugs"). Each one breaks one
//! invariant on one path; the chaos crate's `planted` tests switch one on, run
//! a scenario against in-process nodes and assert that the checker meant to
//! catch it reports a violation.
//!
//! Without the `planted-bugs` cargo feature (every product build: `cargo build
//! --release`, the image, `cargo install`) [`active`] is a constant `false`, the
//! bug paths compile away and nothing can switch them on. With it (only the
//! chaos crate's tests enable it) a bug is on only while a caller of [`plant`]
//! holds it: no binary reads a switch from its environment or configuration.
//!
//! The switch is process-wide, not part of the replicated state: `apply` stays
//! a function of (state, command) within one process, which is all the
//! in-process backend and the checkers' log replay need.

/// One planted bug; see `docs/reliability.md` for the checker that catches each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// The Raft log acknowledges an append before its bytes are durable: they
    /// stay in a user-space buffer until a later vote forces a sync.
    AckBeforeFsync,
    /// A follower serves a linearizable read from its own copy, without the
    /// leader's read index.
    StaleLinearizableRead,
    /// A worker's report is applied without checking its fencing token and worker.
    NoFencingCheck,
    /// Placements (the dispatch solver and `AssignJobs`) ignore the tenant's
    /// quota and burst.
    SkipQuotaCheck,
}

impl Bug {
    pub const ALL: [Bug; 4] = [Bug::AckBeforeFsync, Bug::StaleLinearizableRead, Bug::NoFencingCheck, Bug::SkipQuotaCheck];

    pub fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeFsync => "ack-before-fsync",
            Bug::StaleLinearizableRead => "stale-linearizable-read",
            Bug::NoFencingCheck => "no-fencing-check",
            Bug::SkipQuotaCheck => "skip-quota-check",
        }
    }

    pub fn parse(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// Is `bug` switched on in this process? Always `false` in product builds.
#[inline]
pub fn active(bug: Bug) -> bool {
    #[cfg(feature = "planted-bugs")]
    {
        switch::ACTIVE.load(std::sync::atomic::Ordering::SeqCst) == bug as u8 + 1
    }
    #[cfg(not(feature = "planted-bugs"))]
    {
        let _ = bug;
        false
    }
}

#[cfg(feature = "planted-bugs")]
pub use switch::{plant, Planted};

#[cfg(feature = "planted-bugs")]
mod switch {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::Bug;

    /// 0: none; otherwise the active bug's discriminant plus one.
    pub(super) static ACTIVE: AtomicU8 = AtomicU8::new(0);

    /// Switches `bug` on for this whole process until the guard drops. One bug at
    /// a time: planting a second while one is held panics (a test bug).
    #[must_use = "the bug is switched off again when the guard drops"]
    pub fn plant(bug: Bug) -> Planted {
        let previous = ACTIVE.compare_exchange(0, bug as u8 + 1, Ordering::SeqCst, Ordering::SeqCst);
        assert!(previous.is_ok(), "planted bug {} asked for while another is active", bug.name());
        eprintln!("WARNING: planted bug {} is ACTIVE in this process: for testing the chaos checkers only", bug.name());
        Planted(bug)
    }

    /// Holds a planted bug on; dropping it switches the bug off.
    pub struct Planted(Bug);

    impl Drop for Planted {
        fn drop(&mut self) {
            ACTIVE.store(0, Ordering::SeqCst);
            eprintln!("planted bug {} switched off", self.0.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_a_name_that_parses_back() {
        for b in Bug::ALL {
            assert_eq!(Bug::parse(b.name()), Some(b));
        }
        assert_eq!(Bug::parse("no-such-bug"), None);
    }

    #[cfg(not(feature = "planted-bugs"))]
    #[test]
    fn without_the_feature_no_bug_is_ever_active() {
        assert!(Bug::ALL.into_iter().all(|b| !active(b)));
    }

}
