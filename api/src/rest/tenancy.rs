//! Tenant changes, quotas (`/quota` and the seeds' other spelling `/quotas`) and
//! burst leases.

use axum::body::Bytes;
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

pub(super) async fn update(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<UpdateTenantBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.update_tenant(&p, id, body).await?;
    Ok(write_response(StatusCode::OK, tenant, index))
}

pub(super) async fn delete(State(app): State<App>, Auth(p): Auth, Id(id): Id) -> Result<Response, ApiError> {
    let index = app.delete_tenant(&p, id).await?;
    Ok(write_response(StatusCode::OK, serde_json::json!({ "deleted": id }), index))
}

pub(super) async fn get_quota(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_quota(&p, id, c).await?))
}

pub(super) async fn set_quota(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<QuotaBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.set_quota(&p, id, body).await?;
    Ok(write_response(StatusCode::OK, tenant, index))
}

pub(super) async fn request_burst(State(app): State<App>, Auth(p): Auth, Id(id): Id, Body(body): Body<BurstRequestBody>) -> Result<Response, ApiError> {
    let (burst, index) = app.request_burst(&p, id, body).await?;
    Ok(write_response(StatusCode::CREATED, burst, index))
}

pub(super) async fn list_bursts(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.list_bursts(&p, id, c).await?))
}

async fn decide(app: App, p: crate::auth::Principal, ids: (String, String), action: BurstAction, body: Bytes) -> Result<Response, ApiError> {
    let parse = |field: &str, v: &str| v.parse::<u64>().map_err(|_| ApiError::invalid_field(field, format!("{v:?} is not a numeric id")));
    let (tenant, burst) = (parse("id", &ids.0)?, parse("burst_id", &ids.1)?);
    // The body is optional: an empty one means no reason given.
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("body: {e}")))?
    };
    let (b, index) = app.decide_burst(&p, tenant, burst, action, body).await?;
    Ok(write_response(StatusCode::OK, b, index))
}

pub(super) async fn approve(State(app): State<App>, Auth(p): Auth, Path(ids): Path<(String, String)>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Approve, body).await
}

pub(super) async fn deny(State(app): State<App>, Auth(p): Auth, Path(ids): Path<(String, String)>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Deny, body).await
}

pub(super) async fn revoke(State(app): State<App>, Auth(p): Auth, Path(ids): Path<(String, String)>, body: Bytes) -> Result<Response, ApiError> {
    decide(app, p, ids, BurstAction::Revoke, body).await
}
