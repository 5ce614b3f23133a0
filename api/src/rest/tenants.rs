//! `POST /api/v1/tenants`, `GET /api/v1/tenants` (paginated), `GET /api/v1/tenants/{id}`.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::CreateTenantBody;
use crate::list::TenantListQuery;
use crate::dto::TenantBody;
use crate::error::ApiError;
use crate::list::Page;
use crate::rest::extract::ReadParams;
use crate::rest::openapi::Errors;

#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    request_body = CreateTenantBody,
    responses((status = 201, description = "The tenant", body = TenantBody), Errors)
)]
pub(super) async fn create(State(app): State<App>, Auth(p): Auth, Body(body): Body<CreateTenantBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.create_tenant(&p, body).await?;
    Ok(write_response(StatusCode::CREATED, tenant, index))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = u64, Path, description = "tenant id"), ReadParams),
    responses((status = 200, description = "The tenant", body = TenantBody), Errors)
)]
pub(super) async fn get(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_tenant(&p, id, c).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(TenantListQuery),
    responses((status = 200, description = "A page of tenants (a tenant token sees its own)", body = Page<TenantBody>), Errors)
)]
pub(super) async fn list(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<TenantListQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.list_tenants(&p, q).await?))
}
