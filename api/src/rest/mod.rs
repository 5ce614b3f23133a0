//! The REST front end: routes, body limits, and the read headers
//! (`X-Hodei-Index`, `X-Hodei-Last-Contact`).

mod cluster;
mod extract;
mod health;
mod jobs;
mod observability;
pub mod openapi;
mod pools;
mod reports;
mod sla;
mod tenancy;
mod tenants;
mod ui;
mod workers;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::{App, Read};
use crate::error::ApiError;

/// Every route of the REST API, with a request body limit of `max_body_bytes`,
/// the OpenAPI document and Swagger UI.
pub fn router(app: App, max_body_bytes: usize) -> Router {
    let (api, doc) = documented().split_for_parts();
    api.route("/ui", get(ui::page))
        // A test and chaos aid, off unless the node enables fault injection; not
        // part of the documented API.
        .route("/api/v1/debug/transport-filter", put(cluster::set_filter).get(cluster::get_filter))
        .merge(SwaggerUi::new(openapi::UI_PATH).external_url_unchecked(openapi::SPEC_PATH, openapi::bounded(&doc)))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

/// The OpenAPI document of [`router`]'s routes, as served.
pub fn openapi() -> serde_json::Value {
    openapi::bounded(&documented().split_for_parts().1)
}

/// The documented routes: each handler's `#[utoipa::path]` gives its path,
/// method, parameters and responses, so the router and the document agree.
fn documented() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(cluster::status))
        .routes(routes!(cluster::snapshot))
        .routes(routes!(cluster::add_member))
        .routes(routes!(cluster::remove_member))
        .routes(routes!(tenants::create, tenants::list))
        .routes(routes!(tenants::get, tenancy::update, tenancy::delete))
        .routes(routes!(tenancy::get_quota, tenancy::set_quota))
        .routes(routes!(tenancy::get_quotas, tenancy::set_quotas))
        .routes(routes!(tenancy::request_burst))
        .routes(routes!(tenancy::list_bursts, tenancy::request_burst_plural))
        .routes(routes!(tenancy::approve))
        .routes(routes!(tenancy::deny))
        .routes(routes!(tenancy::revoke))
        .routes(routes!(sla::tenant_sla))
        .routes(routes!(sla::get_tenant_targets, sla::put_tenant_targets))
        .routes(routes!(jobs::submit, jobs::list))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::cancel))
        .routes(routes!(reports::explain))
        .routes(routes!(workers::logs))
        .routes(routes!(reports::queue))
        .routes(routes!(sla::sla))
        .routes(routes!(sla::get_targets, sla::put_targets))
        .routes(routes!(pools::create, pools::list))
        .routes(routes!(pools::get, pools::update, pools::delete))
        .routes(routes!(pools::metrics))
        .routes(routes!(pools::status))
        .routes(routes!(pools::scale))
        .routes(routes!(pools::history))
        .routes(routes!(pools::get_policies, pools::put_policies))
        .routes(routes!(reports::create_report, reports::list_reports))
        .routes(routes!(reports::get_report))
        .routes(routes!(reports::breakdown))
        .routes(routes!(reports::recommendations))
        .routes(routes!(reports::list_cost_reports))
        .routes(routes!(observability::history))
        .routes(routes!(observability::tenant_metrics))
        .routes(routes!(observability::get_config, observability::set_config))
        .routes(routes!(reports::costs))
        .routes(routes!(workers::list))
        .routes(routes!(workers::drain))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A read's JSON body with the index it was served at.
fn read_response<T: serde::Serialize>(read: Read<T>) -> Response {
    let mut resp = axum::Json(read.value).into_response();
    let h = resp.headers_mut();
    h.insert("x-hodei-index", HeaderValue::from(read.meta.index));
    if let Some(ms) = read.meta.last_contact_ms {
        h.insert("x-hodei-last-contact", HeaderValue::from(ms));
    }
    resp
}

/// A write's status and JSON body with the index it was committed at.
fn write_response<T: serde::Serialize>(status: http::StatusCode, value: T, index: u64) -> Response {
    let mut resp = (status, axum::Json(value)).into_response();
    resp.headers_mut().insert("x-hodei-index", HeaderValue::from(index));
    resp
}
