//! `POST /api/v1/tenants`, `GET /api/v1/tenants` (paginated), `GET /api/v1/tenants/{id}`.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::extract::{Auth, Body, Id, ListQuery, ReadConsistency};
use super::{read_response, write_response};
use crate::app::App;
use crate::dto::CreateTenantBody;
use crate::list::TenantListQuery;
use crate::error::ApiError;

pub(super) async fn create(State(app): State<App>, Auth(p): Auth, Body(body): Body<CreateTenantBody>) -> Result<Response, ApiError> {
    let (tenant, index) = app.create_tenant(&p, body).await?;
    Ok(write_response(StatusCode::CREATED, tenant, index))
}

pub(super) async fn get(State(app): State<App>, Auth(p): Auth, Id(id): Id, ReadConsistency(c): ReadConsistency) -> Result<Response, ApiError> {
    Ok(read_response(app.get_tenant(&p, id, c).await?))
}

pub(super) async fn list(State(app): State<App>, Auth(p): Auth, ListQuery(q): ListQuery<TenantListQuery>) -> Result<Response, ApiError> {
    Ok(read_response(app.list_tenants(&p, q).await?))
}
