//! What a job's observations may look like over time: the model the checkers
//! hold replies against. A job, once created, exists forever (nothing deletes
//! jobs), and a terminal state never changes again. Non-terminal states may move
//! back and forth (a lost worker's job returns to the queue), so only "exists"
//! and "terminal" are monotonic.

use hodei_domain::JobState;

/// The domain state a reply's `state` string names.
pub fn parse_state(s: &str) -> Option<JobState> {
    JobState::ALL.into_iter().find(|st| st.as_str() == s)
}

/// True when `state` names a terminal state.
pub fn is_terminal(state: &str) -> bool {
    parse_state(state).is_some_and(JobState::is_terminal)
}

/// What a definite observation says about a job from then on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFacts {
    /// Seen to exist (an acknowledged submit or a read that found it).
    pub exists: bool,
    /// Seen in this terminal state.
    pub terminal: Option<String>,
}

impl JobFacts {
    /// Adds a definite observation of the job in `state`.
    pub fn observe(&mut self, state: &str) {
        self.exists = true;
        if self.terminal.is_none() && is_terminal(state) {
            self.terminal = Some(state.to_string());
        }
    }

    /// Why a later observation (`None`: not found) contradicts these facts, if it does.
    pub fn contradiction(&self, later: Option<&str>) -> Option<String> {
        match (later, &self.terminal) {
            (None, _) if self.exists => Some("missing after it was seen to exist".into()),
            (Some(s), Some(t)) if s != t => Some(format!("in state {s} after it was seen {t}")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existence_and_terminal_states_are_monotonic() {
        let mut f = JobFacts::default();
        assert_eq!(f.contradiction(None), None, "nothing known yet");
        f.observe("PENDING");
        assert!(f.contradiction(None).is_some());
        assert_eq!(f.contradiction(Some("RUNNING")), None);
        f.observe("CANCELLED");
        assert!(f.contradiction(Some("PENDING")).is_some());
        assert_eq!(f.contradiction(Some("CANCELLED")), None);
    }
}
