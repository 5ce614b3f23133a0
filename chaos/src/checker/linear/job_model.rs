//! The sequential specification of one job, as the campaign's clients see it.
//!
//! A job is absent until a submit of its idempotency key creates it; a repeated
//! submit of the key returns it unchanged. Only a cancel makes it `CANCELLED`.
//! Workers may finish it on their own (`SUCCEEDED`, `FAILED`, `TIMED_OUT`,
//! `LOST`): such a step is not a client call, so a read or a refused cancel
//! that first shows a finished job places that step just before itself. A
//! terminal state never changes, and nothing deletes a job.

use crate::model::is_terminal;

pub const CANCELLED: &str = "CANCELLED";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    Absent,
    /// Exists, not finished (queued, assigned or running: clients cannot tell
    /// these apart reliably, workers move jobs between them).
    Live,
    /// Finished; `None` while only a refused cancel has shown that it finished.
    Terminal(Option<String>),
}

/// One client call on the job and what it observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobCall {
    /// A submit of the job's key; `Some(state)`: acknowledged, showing the job
    /// in that state; `None`: no definite answer.
    Submit(Option<String>),
    /// A linearizable read: the state it showed, `None` for a 404.
    Read(Option<String>),
    /// An acknowledged cancel (the job was live and is now cancelled).
    Cancelled,
    /// A cancel with no definite answer: cancels the job if it is live.
    MaybeCancel,
    /// A cancel refused with 404: the job did not exist.
    CancelNotFound,
    /// A cancel refused with 409: the job had already finished.
    CancelConflict,
}

impl Job {
    /// The state after a read showed the job in `seen`, if that is possible.
    fn observe(&self, seen: &str) -> Option<Job> {
        let done = is_terminal(seen);
        match self {
            Job::Absent => None,
            Job::Live if !done => Some(Job::Live),
            // A worker finished it: only a client's cancel can show CANCELLED.
            Job::Live if seen != CANCELLED => Some(Job::Terminal(Some(seen.to_string()))),
            Job::Live => None,
            Job::Terminal(Some(t)) => (t == seen).then(|| self.clone()),
            Job::Terminal(None) => (done && seen != CANCELLED).then(|| Job::Terminal(Some(seen.to_string()))),
        }
    }
}

impl super::search::Model for Job {
    type Call = JobCall;

    fn step(&self, call: &JobCall) -> Option<Job> {
        match call {
            JobCall::Submit(seen) => {
                let now = if *self == Job::Absent { Job::Live } else { self.clone() };
                match seen {
                    Some(s) => now.observe(s),
                    None => Some(now),
                }
            }
            JobCall::Read(None) => (*self == Job::Absent).then_some(Job::Absent),
            JobCall::Read(Some(s)) => self.observe(s),
            JobCall::Cancelled => (*self == Job::Live).then(|| Job::Terminal(Some(CANCELLED.into()))),
            JobCall::MaybeCancel => match self {
                Job::Live => Some(Job::Terminal(Some(CANCELLED.into()))),
                other => Some(other.clone()),
            },
            JobCall::CancelNotFound => (*self == Job::Absent).then_some(Job::Absent),
            JobCall::CancelConflict => match self {
                Job::Absent => None,
                Job::Live => Some(Job::Terminal(None)),
                t => Some(t.clone()),
            },
        }
    }
}
