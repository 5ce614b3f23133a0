//! The test world both rule files drive: a state, the log index and the
//! leader's clock, advanced by one second a command.

use hodei_domain::command::SetSettings;
use hodei_domain::{Command, Outcome, Proposal, Settings, State};

pub struct World {
    pub state: State,
    pub index: u64,
    pub now: u64,
}

impl World {
    pub fn new() -> Self {
        World { state: State::default(), index: 0, now: 1_000_000 }
    }

    pub fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        self.now += 1_000;
        self.state.apply(self.index, &Proposal { at_ms: self.now, command })
    }

    pub fn settings(&mut self, f: impl FnOnce(&mut Settings)) {
        let mut s = *self.state.settings();
        f(&mut s);
        assert!(matches!(self.apply(Command::SetSettings(SetSettings { settings: s })), Outcome::SettingsSet(_)));
    }
}
