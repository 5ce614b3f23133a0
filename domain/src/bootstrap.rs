//! What a node's configuration declares (the seeds' `resource_pools`,
//! `multi_tenancy`, `burst_capacity`, `cost_tracking` and `observability`), and the commands
//! that bring a cluster's replicated state in line with it.
//!
//! The policy, like etcd's `--initial-cluster`: configuration seeds a cluster,
//! the API changes it afterwards. Settings are proposed only while the state
//! still holds the built-in defaults, so a setting changed through the API is
//! never overwritten by a new leader's file; a declared pool is created when no
//! pool of that id exists (a deleted pool keeps its id, so it stays deleted).

use crate::command::{Command, CreatePool, SetObservability, SetSettings};
use crate::observability::ObservabilitySettings;
use crate::settings::Settings;
use crate::state::State;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bootstrap {
    pub settings: Settings,
    pub pools: Vec<CreatePool>,
    pub observability: ObservabilitySettings,
}

impl Bootstrap {
    /// The commands still needed for `state` to hold what is declared, in the
    /// order to propose them (settings first: pool creation reads them).
    pub fn pending(&self, state: &State) -> Vec<Command> {
        let mut out = Vec::new();
        if *state.settings() == Settings::default() && self.settings != Settings::default() {
            out.push(Command::SetSettings(SetSettings { settings: self.settings }));
        }
        let default_obs = ObservabilitySettings::default();
        if *state.observability() == default_obs && self.observability != default_obs {
            out.push(Command::SetObservability(SetObservability { settings: self.observability.clone() }));
        }
        for pool in &self.pools {
            if state.pool(&pool.id).is_none() {
                out.push(Command::CreatePool(pool.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Proposal;
    use crate::ids::PoolId;
    use crate::pool::PoolKind;

    fn pool(id: &str) -> CreatePool {
        CreatePool {
            id: PoolId(id.into()),
            name: id.into(),
            kind: PoolKind::Static,
            min_size: 0,
            max_size: 4,
            labels: Default::default(),
            worker_shape: None,
            worker_hourly_cost_nanos: None,
            auto_scaling_enabled: false,
            policies: Vec::new(),
        }
    }

    #[test]
    fn declared_pools_and_settings_are_proposed_once_and_then_left_alone() {
        let mut settings = Settings::default();
        settings.burst_capacity.require_approval = true;
        let mut observability = ObservabilitySettings::default();
        observability.history.sample_interval_ms = 5_000;
        let boot = Bootstrap { settings, pools: vec![pool("a"), pool("b")], observability };
        let mut state = State::default();
        let first = boot.pending(&state);
        assert_eq!(first.len(), 4, "settings, observability and two pools: {first:?}");
        for (i, c) in first.into_iter().enumerate() {
            state.apply(i as u64 + 1, &Proposal { at_ms: 1_000, command: c });
        }
        assert!(boot.pending(&state).is_empty(), "nothing left once applied");
        // An operator's later change through the API is not undone by the file.
        let mut changed = settings;
        changed.burst_capacity.max_overage_percentage = 10;
        state.apply(9, &Proposal { at_ms: 2_000, command: Command::SetSettings(SetSettings { settings: changed }) });
        assert!(boot.pending(&state).is_empty());
    }

    #[test]
    fn default_settings_are_not_proposed() {
        assert!(Bootstrap::default().pending(&State::default()).is_empty());
    }
}
