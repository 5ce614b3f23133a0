//! Read-only reports: queue, explain, SLA and cost.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;

use hodei_cluster::Consistency;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::read_response;
use crate::app::reports::ReportSpec;
use crate::app::App;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    tenant_id: Option<u64>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolQuery {
    #[serde(default)]
    pool_id: Option<String>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BreakdownQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    from_ms: Option<u64>,
    #[serde(default)]
    to_ms: Option<u64>,
    #[serde(default)]
    tenant_id: Option<u64>,
    #[serde(default)]
    pool_id: Option<String>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

pub(super) async fn queue(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.queue_status(&p, c).await?))
}

pub(super) async fn explain(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.explain(&p, id, c).await?))
}

pub(super) async fn sla(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<PeriodQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.sla(&p, q.tenant_id, q.period, q.consistency.unwrap_or_default()).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantPeriodQuery {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

pub(super) async fn tenant_sla(State(app): State<App>, Auth(p): Auth, Id(id): Id, ListQuery(q): ListQuery<TenantPeriodQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.sla(&p, Some(id), q.period, q.consistency.unwrap_or_default()).await?))
}

/// `POST /api/v1/cost-optimization/reports`: computes a report for the body's period.
pub(super) async fn create_report(State(app): State<App>, Auth(p): Auth, Body(spec): Body<ReportSpec>) -> Result<Response, ApiError> {
    let read = app.cost_report(&p, spec, Consistency::Linearizable).await?;
    let mut resp = read_response(read);
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

pub(super) async fn list_reports(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.cost_reports(&p, c).await?))
}

pub(super) async fn get_report(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    if id.len() > 200 {
        return Err(ApiError::not_found("no such cost report"));
    }
    Ok(read_response(app.cost_report(&p, ReportSpec::from_id(&id)?, c).await?))
}

pub(super) async fn breakdown(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<BreakdownQuery>) -> Result<Response, ApiError> {
    let spec = ReportSpec { period: q.period, from_ms: q.from_ms, to_ms: q.to_ms, tenant_id: q.tenant_id, pool_id: q.pool_id };
    Ok(read_response(app.cost_report(&p, spec, q.consistency.unwrap_or_default()).await?))
}

pub(super) async fn recommendations(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<PoolQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.recommendations(&p, q.pool_id, q.consistency.unwrap_or_default()).await?))
}

/// `GET /api/v1/metrics/costs`: the caller's standing cost reports.
pub(super) async fn costs(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.cost_reports(&p, c).await?))
}
