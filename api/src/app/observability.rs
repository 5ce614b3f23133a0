//! Observability: the replicated settings (`/api/v1/observability/config`) and
//! the metric history the leader records with them (`/api/v1/metrics/historical`,
//! the `history` of `/api/v1/metrics/tenants/{id}`). Every node answers from its
//! own replicated copy, so all nodes serve the same history.

use hodei_cluster::Consistency;
use hodei_domain::command::SetObservability;
use hodei_domain::history::Series;
use hodei_domain::observability::ObservabilitySettings;
use hodei_domain::sampling::{POOL_FIELDS, TENANT_FIELDS};
use hodei_domain::{Command, Outcome, State, TenantId};

use super::{App, Read};
use crate::auth::Principal;
use crate::dto::observability::{HistoryBody, HistoryPointBody, ObservabilityPatch};
use crate::error::ApiError;

/// The narrowest bucket a query may ask for.
pub const MIN_STEP_MS: u64 = 1_000;
/// The most buckets one query may span.
pub const MAX_STEPS: u64 = 11_000;
/// Defaults when a query leaves them out: the last hour in one-minute steps.
pub const DEFAULT_SPAN_MS: u64 = 3_600_000;
pub const DEFAULT_STEP_MS: u64 = 60_000;

/// A validated query window: `[start_ms, end_ms)` in `step_ms` buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_ms: u64,
    pub end_ms: u64,
    pub step_ms: u64,
}

impl Window {
    /// `end` defaults to just after the newest sample (or the state's clock),
    /// `start` to an hour before `end`, `step` to a minute.
    fn resolve(s: &State, start: Option<u64>, end: Option<u64>, step: Option<u64>) -> Result<Window, ApiError> {
        let step_ms = step.unwrap_or(DEFAULT_STEP_MS);
        if step_ms < MIN_STEP_MS {
            return Err(ApiError::invalid_field("step", format!("at least {MIN_STEP_MS} ms")));
        }
        let end_ms = end.unwrap_or_else(|| s.metric_history().last_sample_ms.unwrap_or(s.clock_ms()).saturating_add(1));
        let start_ms = start.unwrap_or(end_ms.saturating_sub(DEFAULT_SPAN_MS));
        if end_ms <= start_ms {
            return Err(ApiError::invalid_field("end", "must be after start"));
        }
        if (end_ms - start_ms) / step_ms > MAX_STEPS {
            return Err(ApiError::invalid_field("step", format!("the window spans more than {MAX_STEPS} steps")));
        }
        Ok(Window { start_ms, end_ms, step_ms })
    }
}

fn body(s: &State, kind: &str, id: String, series: Option<&Series>, names: &[&str; 6], w: Window) -> HistoryBody {
    let points = series
        .map(|x| x.query(w.start_ms, w.end_ms, w.step_ms).iter().map(|p| HistoryPointBody::new(p, names)).collect())
        .unwrap_or_default();
    HistoryBody {
        kind: kind.into(),
        id,
        start_ms: w.start_ms,
        end_ms: w.end_ms,
        step_ms: w.step_ms,
        last_sample_ms: s.metric_history().last_sample_ms,
        points,
    }
}

impl App {
    /// Viewers and admins read the settings.
    pub async fn observability_config(&self, p: &Principal, c: Consistency) -> Result<Read<ObservabilitySettings>, ApiError> {
        if !p.sees_all() {
            return Err(ApiError::forbidden("observability settings: admin or viewer role needed"));
        }
        self.read(c, |s| Ok(s.observability().clone())).await
    }

    /// Admins change them: the patch is applied to the current settings and
    /// validated here (400 naming the key) and again inside apply.
    pub async fn set_observability_config(&self, p: &Principal, patch: ObservabilityPatch) -> Result<(ObservabilitySettings, u64), ApiError> {
        p.require_admin()?;
        let current = self.read(Consistency::Linearizable, |s| Ok(s.observability().clone())).await?.value;
        let settings = patch.apply_to(&current)?;
        match self.write(Command::SetObservability(SetObservability { settings })).await? {
            (Outcome::ObservabilitySet(s), index) => Ok((s, index)),
            (other, _) => Err(super::unexpected(other)),
        }
    }

    /// A pool's sampled history (admins and viewers: pools span tenants). A
    /// pool with no samples yet answers no points; an id that is neither a pool
    /// nor a series answers 404.
    pub async fn pool_history(
        &self,
        p: &Principal,
        pool_id: &str,
        start_ms: Option<u64>,
        end_ms: Option<u64>,
        step_ms: Option<u64>,
        c: Consistency,
    ) -> Result<Read<HistoryBody>, ApiError> {
        if !p.sees_all() {
            return Err(ApiError::forbidden("pool history spans tenants: admin or viewer role needed"));
        }
        let pool = super::pools::pool_id(pool_id)?;
        self.read(c, |s| {
            let w = Window::resolve(s, start_ms, end_ms, step_ms)?;
            let series = s.metric_history().pool(&pool);
            if series.is_none() && s.pool(&pool).is_none() {
                return Err(ApiError::not_found(format!("pool {} not found", pool.0)));
            }
            Ok(body(s, "pool", pool.0.clone(), series, &POOL_FIELDS, w))
        })
        .await
    }

    /// A tenant's sampled history (its own token, viewers, admins). A tenant
    /// without a series (never active, or evicted) answers no points.
    pub async fn tenant_history(
        &self,
        p: &Principal,
        tenant_id: u64,
        start_ms: Option<u64>,
        end_ms: Option<u64>,
        step_ms: Option<u64>,
        c: Consistency,
    ) -> Result<Read<HistoryBody>, ApiError> {
        let t = TenantId(tenant_id);
        if !p.may_see(t) {
            return Err(ApiError::not_found(format!("{t} not found")));
        }
        self.read(c, |s| {
            let w = Window::resolve(s, start_ms, end_ms, step_ms)?;
            if s.tenant(t).is_none() {
                return Err(ApiError::not_found(format!("{t} not found")));
            }
            let series = s.metric_history().tenant(t).map(|x| &x.series);
            Ok(body(s, "tenant", tenant_id.to_string(), series, &TENANT_FIELDS, w))
        })
        .await
    }
}
