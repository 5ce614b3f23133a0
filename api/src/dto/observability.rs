//! JSON shapes of `/api/v1/observability/config` and of the metric history
//! (`/api/v1/metrics/historical`, the `history` of `/api/v1/metrics/tenants/{id}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hodei_domain::history::{Point, FIELDS};
use hodei_domain::observability::ObservabilitySettings;

use crate::error::ApiError;

/// `POST /api/v1/observability/config`: the keys to change; absent keys keep
/// their current value. The result is validated as a whole.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservabilityPatch {
    #[serde(default)]
    pub history: Option<HistoryPatch>,
    #[serde(default)]
    pub grafana: Option<GrafanaPatch>,
    #[serde(default)]
    pub alerting: Option<AlertingPatch>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryPatch {
    pub enabled: Option<bool>,
    pub sample_interval_ms: Option<u64>,
    pub retention_hours: Option<u32>,
    pub max_tenant_series: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrafanaPatch {
    pub enabled: Option<bool>,
    pub url: Option<String>,
    pub dashboards_dir: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertingPatch {
    pub enabled: Option<bool>,
    pub prometheus_alerts_dir: Option<String>,
    pub alertmanager_url: Option<String>,
}

fn set<T>(to: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *to = v;
    }
}

impl ObservabilityPatch {
    /// `current` with this patch applied, validated; a bad key answers 400
    /// naming it (`details.field`).
    pub fn apply_to(self, current: &ObservabilitySettings) -> Result<ObservabilitySettings, ApiError> {
        let mut s = current.clone();
        if let Some(h) = self.history {
            set(&mut s.history.enabled, h.enabled);
            set(&mut s.history.sample_interval_ms, h.sample_interval_ms);
            set(&mut s.history.retention_hours, h.retention_hours);
            set(&mut s.history.max_tenant_series, h.max_tenant_series);
        }
        if let Some(g) = self.grafana {
            set(&mut s.grafana.enabled, g.enabled);
            set(&mut s.grafana.url, g.url);
            set(&mut s.grafana.dashboards_dir, g.dashboards_dir);
        }
        if let Some(a) = self.alerting {
            set(&mut s.alerting.enabled, a.enabled);
            set(&mut s.alerting.prometheus_alerts_dir, a.prometheus_alerts_dir);
            set(&mut s.alerting.alertmanager_url, a.alertmanager_url);
        }
        s.validate().map_err(|e| ApiError::invalid_field(e.field, e.message))?;
        Ok(s)
    }
}

/// One series over `[start_ms, end_ms)` in `step_ms` buckets.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HistoryBody {
    /// `pool` or `tenant`.
    pub kind: String,
    pub id: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub step_ms: u64,
    /// When the cluster last recorded a sample (any series).
    pub last_sample_ms: Option<u64>,
    pub points: Vec<HistoryPointBody>,
}

/// One bucket: how many samples fell in it, and each field's mean and maximum.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HistoryPointBody {
    pub at_ms: u64,
    pub samples: u32,
    pub mean: BTreeMap<String, u64>,
    pub max: BTreeMap<String, u64>,
}

impl HistoryPointBody {
    pub fn new(p: &Point, names: &[&str; FIELDS]) -> Self {
        let named = |v: [u64; FIELDS]| -> BTreeMap<String, u64> { names.iter().zip(v).map(|(n, v)| ((*n).to_string(), v)).collect() };
        HistoryPointBody { at_ms: p.at_ms, samples: p.samples, mean: named(p.mean()), max: named(p.max) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_its_keys_and_names_a_bad_one() {
        let current = ObservabilitySettings::default();
        let patch: ObservabilityPatch = serde_json::from_value(serde_json::json!({"history": {"sample_interval_ms": 6000}})).unwrap();
        let s = patch.apply_to(&current).unwrap();
        assert_eq!(s.history.sample_interval_ms, 6000);
        assert_eq!(s.grafana, current.grafana);
        let bad: ObservabilityPatch = serde_json::from_value(serde_json::json!({"grafana": {"url": "nope"}})).unwrap();
        let e = bad.apply_to(&current).unwrap_err();
        assert_eq!(e.details["field"], "grafana.url");
        assert!(serde_json::from_value::<ObservabilityPatch>(serde_json::json!({"history": {"interval": 1}})).is_err());
    }
}
