//! Observability settings, replicated so every node serves the same
//! `GET /api/v1/observability/config` and the leader samples history at the
//! interval the cluster agreed on. Defaults are the seeds' `observability`
//! section (Grafana, alerting) plus the history sampler's own keys.
//! `SetObservability` replaces them whole after [`ObservabilitySettings::validate`].
//!
//! Grafana's API key is deliberately not here: replicated state is readable by
//! every viewer and lands in snapshots, so the key stays in each node's own
//! configuration (`GRAFANA_API_KEY`).

use serde::{Deserialize, Serialize};

/// Bounds of `history.sample_interval_ms`.
pub const MIN_SAMPLE_INTERVAL_MS: u64 = 5_000;
pub const MAX_SAMPLE_INTERVAL_MS: u64 = 300_000;
/// Bounds of `history.retention_hours`: at least the span of the minute tier.
pub const MIN_RETENTION_HOURS: u32 = 24;
pub const MAX_RETENTION_HOURS: u32 = 720;
/// The most tenants that may have a history series at once.
pub const MAX_TENANT_SERIES: u32 = 200;
/// Pools beyond this many (in id order) are not sampled.
pub const MAX_POOL_SERIES: usize = 100;
/// The longest URL or directory accepted.
pub const MAX_LOCATION_LEN: usize = 2_048;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistorySettings {
    /// Whether the leader records samples at all.
    pub enabled: bool,
    /// How often the leader records a sample of every pool and tracked tenant.
    pub sample_interval_ms: u64,
    /// How long ten-minute buckets are kept.
    pub retention_hours: u32,
    /// How many tenants may have a series at once (0: none). See
    /// [`crate::sampling`] for which tenants get one.
    pub max_tenant_series: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrafanaSettings {
    pub enabled: bool,
    pub url: String,
    pub dashboards_dir: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertingSettings {
    pub enabled: bool,
    pub prometheus_alerts_dir: String,
    pub alertmanager_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObservabilitySettings {
    pub history: HistorySettings,
    pub grafana: GrafanaSettings,
    pub alerting: AlertingSettings,
}

impl Default for ObservabilitySettings {
    fn default() -> Self {
        ObservabilitySettings {
            history: HistorySettings { enabled: true, sample_interval_ms: 15_000, retention_hours: 168, max_tenant_series: 50 },
            grafana: GrafanaSettings {
                enabled: true,
                url: "http://grafana:3000".into(),
                dashboards_dir: "/etc/hodei/dashboards".into(),
            },
            alerting: AlertingSettings {
                enabled: true,
                prometheus_alerts_dir: "/etc/hodei/alerts".into(),
                alertmanager_url: "http://alertmanager:9093".into(),
            },
        }
    }
}

/// A setting out of bounds: the dotted key and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl ObservabilitySettings {
    /// Checks every key; the first offending one is named.
    pub fn validate(&self) -> Result<(), FieldError> {
        let h = &self.history;
        let bad = |field: &'static str, message: String| Err(FieldError { field, message });
        if !(MIN_SAMPLE_INTERVAL_MS..=MAX_SAMPLE_INTERVAL_MS).contains(&h.sample_interval_ms) {
            return bad(
                "history.sample_interval_ms",
                format!("must be {MIN_SAMPLE_INTERVAL_MS}..={MAX_SAMPLE_INTERVAL_MS}, got {}", h.sample_interval_ms),
            );
        }
        if !(MIN_RETENTION_HOURS..=MAX_RETENTION_HOURS).contains(&h.retention_hours) {
            return bad(
                "history.retention_hours",
                format!("must be {MIN_RETENTION_HOURS}..={MAX_RETENTION_HOURS}, got {}", h.retention_hours),
            );
        }
        if h.max_tenant_series > MAX_TENANT_SERIES {
            return bad("history.max_tenant_series", format!("must be at most {MAX_TENANT_SERIES}, got {}", h.max_tenant_series));
        }
        let g = &self.grafana;
        url("grafana.url", &g.url, g.enabled)?;
        dir("grafana.dashboards_dir", &g.dashboards_dir)?;
        let a = &self.alerting;
        url("alerting.alertmanager_url", &a.alertmanager_url, a.enabled)?;
        dir("alerting.prometheus_alerts_dir", &a.prometheus_alerts_dir)?;
        Ok(())
    }

    /// How long ten-minute buckets are kept, in ms.
    pub fn retention_ms(&self) -> u64 {
        u64::from(self.history.retention_hours) * 3_600_000
    }
}

/// An http(s) URL with a host, no whitespace or control characters; empty is
/// allowed only when the feature is off.
fn url(field: &'static str, v: &str, required: bool) -> Result<(), FieldError> {
    if v.is_empty() && !required {
        return Ok(());
    }
    let rest = v.strip_prefix("http://").or_else(|| v.strip_prefix("https://"));
    let ok = v.len() <= MAX_LOCATION_LEN
        && rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace() || c.is_control()));
    if ok {
        Ok(())
    } else {
        Err(FieldError { field, message: format!("must be an http:// or https:// URL of at most {MAX_LOCATION_LEN} bytes") })
    }
}

/// A path of at most [`MAX_LOCATION_LEN`] bytes without control characters
/// (where it points is each node's business: these are the places Grafana and
/// Prometheus read, not files Hodei opens).
fn dir(field: &'static str, v: &str) -> Result<(), FieldError> {
    if v.len() <= MAX_LOCATION_LEN && !v.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(FieldError { field, message: format!("must be a path of at most {MAX_LOCATION_LEN} bytes without control characters") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_and_validate() {
        let o = ObservabilitySettings::default();
        assert_eq!(o.validate(), Ok(()));
        assert_eq!(o.grafana.url, "http://grafana:3000");
        assert_eq!(o.alerting.alertmanager_url, "http://alertmanager:9093");
    }

    #[test]
    fn each_bound_names_its_key() {
        let cases: Vec<(&str, Box<dyn Fn(&mut ObservabilitySettings)>)> = vec![
            ("history.sample_interval_ms", Box::new(|o| o.history.sample_interval_ms = 999)),
            ("history.sample_interval_ms", Box::new(|o| o.history.sample_interval_ms = MAX_SAMPLE_INTERVAL_MS + 1)),
            ("history.retention_hours", Box::new(|o| o.history.retention_hours = 1)),
            ("history.max_tenant_series", Box::new(|o| o.history.max_tenant_series = MAX_TENANT_SERIES + 1)),
            ("grafana.url", Box::new(|o| o.grafana.url = "ftp://x".into())),
            ("grafana.url", Box::new(|o| o.grafana.url = String::new())),
            ("alerting.alertmanager_url", Box::new(|o| o.alerting.alertmanager_url = "http://a b".into())),
            ("alerting.prometheus_alerts_dir", Box::new(|o| o.alerting.prometheus_alerts_dir = "/etc/\nalerts".into())),
            ("grafana.dashboards_dir", Box::new(|o| o.grafana.dashboards_dir = "/x".repeat(MAX_LOCATION_LEN))),
        ];
        for (field, change) in cases {
            let mut o = ObservabilitySettings::default();
            change(&mut o);
            assert_eq!(o.validate().map_err(|e| e.field), Err(field));
        }
        let mut off = ObservabilitySettings::default();
        off.grafana.enabled = false;
        off.grafana.url = String::new();
        assert_eq!(off.validate(), Ok(()), "an unused URL may be empty");
    }
}
