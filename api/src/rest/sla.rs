//! SLA: compliance reports (overall, per tenant, per priority) and the wait
//! targets per priority, cluster-wide and per tenant.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;

use hodei_cluster::Consistency;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::{read_response, write_response};
use crate::app::reports::SlaBody;
use crate::app::App;
use crate::dto::sla::{SlaTargetsBody, SlaTargetsView};
use crate::error::ApiError;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodQuery {
    #[serde(default)]
    #[param(pattern = "^(last_day|last_week|last_month)$")]
    period: Option<String>,
    #[serde(default)]
    tenant_id: Option<u64>,
    /// Only jobs of this priority (counted while it had a wait target).
    #[serde(default)]
    #[param(minimum = -1000, maximum = 1000)]
    priority: Option<i32>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[utoipa::path(
    get,
    path = "/api/v1/sla",
    tag = "metrics",
    params(PeriodQuery),
    responses((status = 200, description = "SLA compliance", body = SlaBody), Errors)
)]
pub(super) async fn sla(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<PeriodQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.sla(&p, q.tenant_id, q.priority, q.period, q.consistency.unwrap_or_default()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantPeriodQuery {
    #[serde(default)]
    #[param(pattern = "^(last_day|last_week|last_month)$")]
    period: Option<String>,
    /// Only jobs of this priority (counted while it had a wait target).
    #[serde(default)]
    #[param(minimum = -1000, maximum = 1000)]
    priority: Option<i32>,
    #[serde(default)]
    consistency: Option<Consistency>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/sla",
    tag = "metrics",
    params(("id" = u64, Path, description = "tenant id"), TenantPeriodQuery),
    responses((status = 200, description = "The tenant's SLA compliance", body = SlaBody), Errors)
)]
pub(super) async fn tenant_sla(State(app): State<App>, Auth(p): Auth, Id(id): Id, ListQuery(q): ListQuery<TenantPeriodQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.sla(&p, Some(id), q.priority, q.period, q.consistency.unwrap_or_default()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/sla/targets",
    tag = "metrics",
    params(ReadParams),
    responses((status = 200, description = "The cluster-wide wait targets per priority", body = SlaTargetsView), Errors)
)]
pub(super) async fn get_targets(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.sla_targets(&p, None, c).await?))
}

/// Replaces the cluster-wide targets (admin; needs every member at protocol 4).
#[utoipa::path(
    put,
    path = "/api/v1/sla/targets",
    tag = "metrics",
    request_body = SlaTargetsBody,
    responses((status = 200, description = "The cluster-wide targets as they now stand", body = SlaTargetsView), Errors)
)]
pub(super) async fn put_targets(State(app): State<App>, Auth(p): Auth, Body(body): Body<SlaTargetsBody>) -> Result<Response, ApiError> {
    let (view, index) = app.set_sla_targets(&p, None, body).await?;
    Ok(write_response(StatusCode::OK, view, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/sla/targets",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ReadParams),
    responses((status = 200, description = "The tenant's wait targets per priority and what each priority resolves to", body = SlaTargetsView), Errors)
)]
pub(super) async fn get_tenant_targets(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.sla_targets(&p, Some(id), c).await?))
}

/// Replaces the tenant's targets (admin; needs every member at protocol 4).
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{id}/sla/targets",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = SlaTargetsBody,
    responses((status = 200, description = "The tenant's targets as they now stand", body = SlaTargetsView), Errors)
)]
pub(super) async fn put_tenant_targets(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<SlaTargetsBody>) -> Result<Response, ApiError> {
    let (view, index) = app.set_sla_targets(&p, Some(id), body).await?;
    Ok(write_response(StatusCode::OK, view, index))
}
