//! `GET /api/v1/workers`, `POST /api/v1/workers/{id}/drain`, and
//! `GET /api/v1/jobs/{id}/logs?tail=BYTES` (the job's output, from its worker).

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::extract::{Auth, Id, ReadConsistency};
use super::read_response;
use crate::app::App;
use crate::error::ApiError;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;
use crate::workers::WorkerBody;

#[utoipa::path(
    get,
    path = "/api/v1/workers",
    tag = "workers",
    params(ReadParams),
    responses((status = 200, description = "Registered workers", body = Vec<WorkerBody>), Errors)
)]
pub(super) async fn list(State(app): State<App>, Auth(p): Auth, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.list_workers(&p, c).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/workers/{id}/drain",
    tag = "workers",
    params(("id" = u64, Path, description = "worker id")),
    responses((status = 200, description = "The worker, draining", body = WorkerBody), Errors)
)]
pub(super) async fn drain(State(app): State<App>, Auth(p): Auth, Id(id): Id) -> Result<Json<WorkerBody>, ApiError> {
    Ok(Json(app.drain_worker(&p, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct LogQuery {
    /// At most this many bytes from the end of the output.
    tail: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/logs",
    tag = "jobs",
    params(("id" = u64, Path, description = "job id"), LogQuery),
    responses((status = 200, description = "The job's output (stdout and stderr), the last `tail` bytes", content_type = "text/plain", body = String), Errors)
)]
pub(super) async fn logs(State(app): State<App>, Auth(p): Auth, Id(id): Id, q: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    let bytes = app.job_logs(&p, id, q.tail).await?;
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    Ok(resp)
}
