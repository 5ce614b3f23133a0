//! `/api/v1/pools` and everything under a pool.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::pools::{CreatePoolBody, PoliciesBody, ScalePoolBody, UpdatePoolBody};
use crate::error::ApiError;

pub(super) async fn create(State(app): State<App>, Auth(p): Auth, Body(body): Body<CreatePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.create_pool(&p, body).await?;
    Ok(write_response(StatusCode::CREATED, pool, index))
}

pub(super) async fn list(State(app): State<App>, Auth(_): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.list_pools(c).await?))
}

pub(super) async fn get(State(app): State<App>, Auth(_): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_pool(&id, c).await?))
}

pub(super) async fn update(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Body(body): Body<UpdatePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.update_pool(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}

pub(super) async fn delete(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (pool, index) = app.delete_pool(&p, &id).await?;
    Ok(write_response(StatusCode::ACCEPTED, pool, index))
}

pub(super) async fn metrics(State(app): State<App>, Auth(_): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.pool_metrics(&id, c).await?))
}

pub(super) async fn status(State(app): State<App>, Auth(_): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.pool_status(&id, c).await?))
}

pub(super) async fn scale(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Body(body): Body<ScalePoolBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.scale_pool(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}

pub(super) async fn history(State(app): State<App>, Auth(_): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.scaling_history(&id, c).await?))
}

pub(super) async fn get_policies(State(app): State<App>, Auth(_): Auth, Path(id): Path<String>, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_policies(&id, c).await?))
}

pub(super) async fn put_policies(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Body(body): Body<PoliciesBody>) -> Result<Response, ApiError> {
    let (pool, index) = app.set_policies(&p, &id, body).await?;
    Ok(write_response(StatusCode::OK, pool, index))
}
