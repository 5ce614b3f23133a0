//! `/api/v1/pools` and everything under a pool.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::pools::{CreatePoolBody, PoliciesBody, ScalePoolBody, UpdatePoolBody};
use crate::app::pools::{PoolMetricsBody, PoolStatus};
use crate::dto::pools::{PoolBody, ScalingEventBody};
use crate::error::ApiError;
use crate::rest::extract::{PoolPath, ReadParams};
use crate::rest::openapi::Errors;

#[utoipa::path(
    post,
    path = "/api/v1/pools",
    tag = "pools",
    request_body = CreatePoolBody,
    responses((status = 201, description = "The pool", body = PoolBody), Errors)
)]
pub(super) async fn create(State(app): State<App>, Auth(p): Auth, Body(body): Body<CreatePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.create_pool(&p, body).await?;
    Ok(write_response(StatusCode::CREATED, pool, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools",
    tag = "pools",
    params(ReadParams),
    responses((status = 200, description = "Every pool", body = Vec<PoolBody>), Errors)
)]
pub(super) async fn list(State(app): State<App>, Auth(_): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.list_pools(c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools/{id}",
    tag = "pools",
    params(PoolPath, ReadParams),
    responses((status = 200, description = "The pool", body = PoolBody), Errors)
)]
pub(super) async fn get(State(app): State<App>, Auth(_): Auth, PoolPath { id }: PoolPath, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_pool(&id, c).await?))
}

#[utoipa::path(
    patch,
    path = "/api/v1/pools/{id}",
    tag = "pools",
    params(PoolPath),
    request_body = UpdatePoolBody,
    responses((status = 200, description = "The pool", body = PoolBody), Errors)
)]
pub(super) async fn update(State(app): State<App>, Auth(p): Auth, PoolPath { id }: PoolPath, Body(body): Body<UpdatePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.update_pool(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}

#[utoipa::path(
    delete,
    path = "/api/v1/pools/{id}",
    tag = "pools",
    params(PoolPath),
    responses((status = 202, description = "The pool, draining: it goes when its workers have drained", body = PoolBody), Errors)
)]
pub(super) async fn delete(State(app): State<App>, Auth(p): Auth, PoolPath { id }: PoolPath) -> Result<Response, ApiError> {
    let (pool, index) = app.delete_pool(&p, &id).await?;
    Ok(write_response(StatusCode::ACCEPTED, pool, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools/{id}/metrics",
    tag = "pools",
    params(PoolPath, ReadParams),
    responses((status = 200, description = "What the autoscaler reads", body = PoolMetricsBody), Errors)
)]
pub(super) async fn metrics(State(app): State<App>, Auth(_): Auth, PoolPath { id }: PoolPath, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.pool_metrics(&id, c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools/{id}/status",
    tag = "pools",
    params(PoolPath, ReadParams),
    responses((status = 200, description = "Workers by state and the autoscaler's view", body = PoolStatus), Errors)
)]
pub(super) async fn status(State(app): State<App>, Auth(_): Auth, PoolPath { id }: PoolPath, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.pool_status(&id, c).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/pools/{id}/scale",
    tag = "pools",
    params(PoolPath),
    request_body = ScalePoolBody,
    responses((status = 200, description = "The pool with its new target", body = PoolBody), Errors)
)]
pub(super) async fn scale(State(app): State<App>, Auth(p): Auth, PoolPath { id }: PoolPath, Body(body): Body<ScalePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.scale_pool(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools/{id}/scaling/history",
    tag = "pools",
    params(PoolPath, ReadParams),
    responses((status = 200, description = "Scaling decisions, oldest first", body = Vec<ScalingEventBody>), Errors)
)]
pub(super) async fn history(State(app): State<App>, Auth(_): Auth, PoolPath { id }: PoolPath, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.scaling_history(&id, c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/pools/{id}/scaling/policies",
    tag = "pools",
    params(PoolPath, ReadParams),
    responses((status = 200, description = "The pool's scaling policies", body = PoliciesBody), Errors)
)]
pub(super) async fn get_policies(State(app): State<App>, Auth(_): Auth, PoolPath { id }: PoolPath, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_policies(&id, c).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/pools/{id}/scaling/policies",
    tag = "pools",
    params(PoolPath),
    request_body = PoliciesBody,
    responses((status = 200, description = "The pool", body = PoolBody), Errors)
)]
pub(super) async fn put_policies(State(app): State<App>, Auth(p): Auth, PoolPath { id }: PoolPath, Body(body): Body<PoliciesBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.set_policies(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}
