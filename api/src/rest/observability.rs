//! `/api/v1/observability/config` and the metric history routes
//! (`/api/v1/metrics/historical`, `/api/v1/metrics/tenants/{id}`), served from
//! the replicated history on every node.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;

use hodei_cluster::Consistency;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::observability::ObservabilityPatch;
use crate::app::reports::TenantMetrics;
use crate::dto::observability::HistoryBody;
use crate::error::ApiError;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;
use hodei_domain::observability::ObservabilitySettings;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,62}$")]
    pool_id: String,
    start: u64,
    end: u64,
    /// Bucket width in ms; one minute by default. `(end - start) / step` is at most 11,000.
    #[serde(default)]
    #[param(minimum = 1000)]
    step: Option<u64>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct WindowQuery {
    #[serde(default)]
    start: Option<u64>,
    #[serde(default)]
    end: Option<u64>,
    /// Bucket width in ms; one minute by default. `(end - start) / step` is at most 11,000.
    #[serde(default)]
    #[param(minimum = 1000)]
    step: Option<u64>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

/// `GET /api/v1/observability/config`: admins and viewers.
#[utoipa::path(
    get,
    path = "/api/v1/observability/config",
    tag = "metrics",
    params(ReadParams),
    responses((status = 200, description = "The replicated observability settings", body = ObservabilitySettings), Errors)
)]
pub(super) async fn get_config(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.observability_config(&p, c).await?))
}

/// `POST /api/v1/observability/config`: admins; absent keys are kept.
#[utoipa::path(
    post,
    path = "/api/v1/observability/config",
    tag = "metrics",
    request_body = ObservabilityPatch,
    responses((status = 200, description = "The settings after the change", body = ObservabilitySettings), Errors)
)]
pub(super) async fn set_config(State(app): State<App>, Auth(p): Auth, Body(patch): Body<ObservabilityPatch>) -> Result<Response, ApiError> {
    let (settings, index) = app.set_observability_config(&p, patch).await?;
    Ok(write_response(StatusCode::OK, settings, index))
}

/// `GET /api/v1/metrics/historical?pool_id&start&end&step`: a pool's samples.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/historical",
    tag = "metrics",
    params(HistoryQuery),
    responses((status = 200, description = "The pool's sampled history", body = HistoryBody), Errors)
)]
pub(super) async fn history(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<HistoryQuery>) -> Result<Response, ApiError> {
    let c = q.consistency.unwrap_or_default();
    Ok(read_response(app.pool_history(&p, &q.pool_id, Some(q.start), Some(q.end), q.step, c).await?))
}

/// `GET /api/v1/metrics/tenants/{id}`: the tenant's quota use, last day's cost
/// and SLA, and its sampled history (the last hour by default).
#[utoipa::path(
    get,
    path = "/api/v1/metrics/tenants/{id}",
    tag = "metrics",
    params(("id" = u64, Path, description = "tenant id"), WindowQuery),
    responses((status = 200, description = "Quota use, last day's cost and SLA, and history", body = TenantMetrics), Errors)
)]
pub(super) async fn tenant_metrics(State(app): State<App>, Auth(p): Auth, Id(id): Id, ListQuery(q): ListQuery<WindowQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.tenant_metrics(&p, id, (q.start, q.end, q.step), q.consistency.unwrap_or_default()).await?))
}
