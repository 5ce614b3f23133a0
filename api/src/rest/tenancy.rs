//! Tenant changes, quotas (`/quota` and the seeds' other spelling `/quotas`) and
//! burst leases.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, Id, ReadConsistency};
use super::{read_response, write_response};
use crate::app::tenancy::BurstAction;
use crate::app::App;
use crate::dto::tenancy::{BurstRequestBody, DecisionBody, UpdateTenantBody};
use crate::dto::QuotaBody;
use crate::error::ApiError;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;
use crate::dto::tenancy::{BurstBody, QuotaView};
use crate::dto::TenantBody;

/// What deleting a tenant answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct DeletedBody {
    pub deleted: u64,
}

#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = UpdateTenantBody,
    responses((status = 200, description = "The tenant", body = TenantBody), Errors)
)]
pub(super) async fn update(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<UpdateTenantBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.update_tenant(&p, id, body).await?;
    Ok(write_response(StatusCode::OK, tenant, index))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    responses((status = 200, description = "Deleted", body = DeletedBody), Errors)
)]
pub(super) async fn delete(State(app): State<App>, Auth(p): Auth, Id(id): Id) -> Result<Response, ApiError> {
    let index = app.delete_tenant(&p, id).await?;
    Ok(write_response(StatusCode::OK, DeletedBody { deleted: id }, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/quota",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ReadParams),
    responses((status = 200, description = "Quota, usage and active burst", body = QuotaView), Errors)
)]
pub(super) async fn get_quota(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_quota(&p, id, c).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/tenants/{id}/quota",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = QuotaBody,
    responses((status = 200, description = "The tenant with its new quota", body = TenantBody), Errors)
)]
pub(super) async fn set_quota(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<QuotaBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.set_quota(&p, id, body).await?;
    Ok(write_response(StatusCode::OK, tenant, index))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/burst",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = BurstRequestBody,
    responses((status = 201, description = "The lease: active, or pending approval", body = BurstBody), Errors)
)]
pub(super) async fn request_burst(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<BurstRequestBody>) -> Result<Response, ApiError> {
    let (burst, index) = app.request_burst(&p, id, body).await?;
    Ok(write_response(StatusCode::CREATED, burst, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/bursts",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ReadParams),
    responses((status = 200, description = "The tenant's burst leases", body = Vec<BurstBody>), Errors)
)]
pub(super) async fn list_bursts(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.list_bursts(&p, id, c).await?))
}

/// `GET /api/v1/tenants/{id}/quotas`: the seeds' other spelling of `/quota`.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/quotas",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ReadParams),
    responses((status = 200, description = "The same as `/quota`", body = QuotaView), Errors)
)]
pub(super) async fn get_quotas(app: State<App>, auth: Auth, id: Id, c: ReadConsistency) -> Result<Response, ApiError> {
    get_quota(app, auth, id, c).await
}

/// `PUT /api/v1/tenants/{id}/quotas`: the seeds' other spelling of `/quota`.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{id}/quotas",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = QuotaBody,
    responses((status = 200, description = "The same as `/quota`", body = TenantBody), Errors)
)]
pub(super) async fn set_quotas(app: State<App>, auth: Auth, id: Id, body: Body<QuotaBody>) -> Result<Response, ApiError> {
    set_quota(app, auth, id, body).await
}

/// `POST /api/v1/tenants/{id}/bursts`: the same as `/burst`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/bursts",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id")),
    request_body = BurstRequestBody,
    responses((status = 201, description = "The same as `/burst`", body = BurstBody), Errors)
)]
pub(super) async fn request_burst_plural(app: State<App>, auth: Auth, id: Id, body: Body<BurstRequestBody>) -> Result<Response, ApiError> {
    request_burst(app, auth, id, body).await
}

async fn decide(app: App, p: crate::auth::Principal, ids: Result<Path<(String, String)>, PathRejection>, action: BurstAction, body: Bytes) -> Result<Response, ApiError> {
    let Path(ids) = ids.map_err(|e| ApiError::invalid(e.body_text()))?;
    let parse = |field: &str, v: &str| v.parse::<u64>().map_err(|_| ApiError::invalid_field(field, format!("{v:?} is not a numeric id")));
    let (tenant, burst) = (parse("id", &ids.0)?, parse("burst_id", &ids.1)?);
    // The body is optional: an empty one means no reason given.
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        super::extract::json_object(&body)?
    };
    let (b, index) = app.decide_burst(&p, tenant, burst, action, body).await?;
    Ok(write_response(StatusCode::OK, b, index))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/bursts/{burst_id}/approve",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ("burst_id" = u64, Path, description = "burst lease id")),
    request_body = Option<DecisionBody>,
    responses((status = 200, description = "The lease", body = BurstBody), Errors)
)]
pub(super) async fn approve(State(app): State<App>, Auth(p): Auth, ids: Result<Path<(String, String)>, PathRejection>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Approve, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/bursts/{burst_id}/deny",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ("burst_id" = u64, Path, description = "burst lease id")),
    request_body = Option<DecisionBody>,
    responses((status = 200, description = "The lease", body = BurstBody), Errors)
)]
pub(super) async fn deny(State(app): State<App>, Auth(p): Auth, ids: Result<Path<(String, String)>, PathRejection>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Deny, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/bursts/{burst_id}/revoke",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ("burst_id" = u64, Path, description = "burst lease id")),
    request_body = Option<DecisionBody>,
    responses((status = 200, description = "The lease", body = BurstBody), Errors)
)]
pub(super) async fn revoke(State(app): State<App>, Auth(p): Auth, ids: Result<Path<(String, String)>, PathRejection>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Revoke, body).await
}
