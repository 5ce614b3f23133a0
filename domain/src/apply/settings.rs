//! `SetSettings`: replaces the cluster-wide settings after validation. Fair
//! queue heads are re-tagged because job costs depend on the settings.

use crate::command::SetSettings;
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

pub(crate) fn set(state: &mut State, c: &SetSettings) -> Outcome {
    if let Err(e) = c.settings.validate() {
        return Rejection::invalid(e);
    }
    let rescheduling = c.settings.scheduling != state.settings.scheduling;
    state.settings = c.settings;
    if rescheduling {
        let backlogged: Vec<_> = state.queue.heads().map(|&(_, t)| t).collect();
        for t in backlogged {
            super::refresh_head(state, t);
        }
    }
    Outcome::SettingsSet(state.settings)
}
