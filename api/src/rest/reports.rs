//! Read-only reports: queue, explain and cost (SLA is in [`super::sla`]).

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;

use hodei_cluster::Consistency;

use super::extract::{Auth, Body, Id, ListQuery, PathText, ReadConsistency};
use super::read_response;
use crate::app::reports::ReportSpec;
use crate::app::App;
use crate::app::reports::{CostReportBody, QueueStatus};
use crate::error::{ApiError, ErrorKind};
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;
use hodei_domain::cost_report::Recommendation;
use hodei_domain::PendingExplanation;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolQuery {
    #[serde(default)]
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,62}$")]
    pool_id: Option<String>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct BreakdownQuery {
    #[serde(default)]
    #[param(pattern = "^(last_day|last_week|last_month)$")]
    period: Option<String>,
    #[serde(default)]
    from_ms: Option<u64>,
    #[serde(default)]
    to_ms: Option<u64>,
    #[serde(default)]
    tenant_id: Option<u64>,
    #[serde(default)]
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,62}$")]
    pool_id: Option<String>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[utoipa::path(
    get,
    path = "/api/v1/queue",
    tag = "jobs",
    params(ReadParams),
    responses((status = 200, description = "Queued and running jobs per tenant and pool", body = QueueStatus), Errors)
)]
pub(super) async fn queue(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.queue_status(&p, c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/explain",
    tag = "jobs",
    params(("id" = u64, Path, description = "job id"), ReadParams),
    responses((status = 200, description = "Why the job is pending", body = PendingExplanation), Errors)
)]
pub(super) async fn explain(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.explain(&p, id, c).await?))
}

/// `POST /api/v1/cost-optimization/reports`: computes a report for the body's period.
#[utoipa::path(
    post,
    path = "/api/v1/cost-optimization/reports",
    tag = "cost",
    request_body = ReportSpec,
    responses((status = 201, description = "The report", body = CostReportBody), Errors)
)]
pub(super) async fn create_report(State(app): State<App>, Auth(p): Auth, Body(spec): Body<ReportSpec>) -> Result<Response, ApiError> {
    let read = app.cost_report(&p, spec, Consistency::Linearizable).await?;
    let mut resp = read_response(read);
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

#[utoipa::path(
    get,
    path = "/api/v1/cost-optimization/reports",
    tag = "cost",
    params(ReadParams),
    responses((status = 200, description = "The standing reports (day, week, month)", body = Vec<CostReportBody>), Errors)
)]
pub(super) async fn list_reports(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.cost_reports(&p, c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/cost-optimization/reports/{id}",
    tag = "cost",
    params(("id" = String, Path, description = "A report id: `last_day`, `last_week`, `last_month`, or `from-to` in ms, optionally `:tenant=N` and `:pool=P`"), ReadParams),
    responses((status = 200, description = "The report", body = CostReportBody), Errors)
)]
pub(super) async fn get_report(State(app): State<App>, Auth(p): Auth, PathText(id): PathText, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    // An id that does not parse names no report: 404, like any unknown id.
    let unknown = |e: ApiError| match e.kind {
        ErrorKind::Invalid => ApiError::not_found(format!("cost report {id:?} not found (ids look like last_day, last_week:tenant=3)")),
        _ => e,
    };
    if id.len() > 200 {
        return Err(ApiError::not_found("no such cost report"));
    }
    let spec = ReportSpec::from_id(&id)?;
    Ok(read_response(app.cost_report(&p, spec, c).await.map_err(unknown)?))
}

#[utoipa::path(
    get,
    path = "/api/v1/cost-optimization/breakdown",
    tag = "cost",
    params(BreakdownQuery),
    responses((status = 200, description = "Costs by tenant and pool", body = CostReportBody), Errors)
)]
pub(super) async fn breakdown(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<BreakdownQuery>) -> Result<Response, ApiError> {
    let spec = ReportSpec { period: q.period, from_ms: q.from_ms, to_ms: q.to_ms, tenant_id: q.tenant_id, pool_id: q.pool_id };
    Ok(read_response(app.cost_report(&p, spec, q.consistency.unwrap_or_default()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/cost-optimization/recommendations",
    tag = "cost",
    params(PoolQuery),
    responses((status = 200, description = "Ways to spend less", body = Vec<Recommendation>), Errors)
)]
pub(super) async fn recommendations(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<PoolQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.recommendations(&p, q.pool_id, q.consistency.unwrap_or_default()).await?))
}

/// `GET /api/v1/cost-reports`: the same as `/api/v1/cost-optimization/reports`.
#[utoipa::path(
    get,
    path = "/api/v1/cost-reports",
    tag = "cost",
    params(ReadParams),
    responses((status = 200, description = "The same as `/cost-optimization/reports`", body = Vec<CostReportBody>), Errors)
)]
pub(super) async fn list_cost_reports(app: State<App>, auth: Auth, c: ReadConsistency) -> Result<Response, ApiError> {
    list_reports(app, auth, c).await
}

/// `GET /api/v1/metrics/costs`: the caller's standing cost reports.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/costs",
    tag = "metrics",
    params(ReadParams),
    responses((status = 200, description = "The caller's standing cost reports", body = Vec<CostReportBody>), Errors)
)]
pub(super) async fn costs(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.cost_reports(&p, c).await?))
}
