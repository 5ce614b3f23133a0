//! `POST /api/v1/jobs` (honours `Idempotency-Key`), `GET /api/v1/jobs` (filters and
//! cursor pagination), `GET /api/v1/jobs/{id}`,
//! `POST /api/v1/jobs/{id}/cancel`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::{check_idempotency_key, SubmitJobBody};
use crate::list::JobListQuery;
use crate::dto::JobBody;
use crate::error::ApiError;
use crate::list::Page;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;

#[utoipa::path(
    post,
    path = "/api/v1/jobs",
    tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first job instead of making a second (1 to 128 visible ASCII characters)")),
    request_body = SubmitJobBody,
    responses((status = 201, description = "The job", body = JobBody), Errors)
)]
pub(super) async fn submit(
    State(app): State<App>,
    Auth(p): Auth,
    headers: HeaderMap,
    Body(body): Body<SubmitJobBody>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| ApiError::invalid_field("Idempotency-Key", "must be ASCII"))?),
    };
    let key = check_idempotency_key(key)?;
    let (job, index) = app.submit_job(&p, body, key).await?;
    Ok(write_response(StatusCode::CREATED, job, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = u64, Path, description = "job id"), ReadParams),
    responses((status = 200, description = "The job", body = JobBody), Errors)
)]
pub(super) async fn get(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_job(&p, id, c).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = u64, Path, description = "job id")),
    responses((status = 200, description = "The job, cancelled (or already finished)", body = JobBody), Errors)
)]
pub(super) async fn cancel(State(app): State<App>, Auth(p): Auth, Id(id): Id) -> Result<Response, ApiError> {
    let (job, index) = app.cancel_job(&p, id).await?;
    Ok(write_response(StatusCode::OK, job, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "jobs",
    params(JobListQuery),
    responses((status = 200, description = "A page of jobs, oldest first", body = Page<JobBody>), Errors)
)]
pub(super) async fn list(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<JobListQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.list_jobs(&p, q).await?))
}
