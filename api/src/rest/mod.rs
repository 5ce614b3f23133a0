//! The REST front end: routes, body limits, and the read headers
//! (`X-Hodei-Index`, `X-Hodei-Last-Contact`).

mod cluster;
mod extract;
mod health;
mod jobs;
mod observability;
mod pools;
mod reports;
mod tenancy;
mod tenants;
mod ui;
mod workers;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::app::{App, Read};
use crate::error::ApiError;

/// Every route of the REST API, with a request body limit of `max_body_bytes`.
pub fn router(app: App, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/ui", get(ui::page))
        .route("/api/v1/cluster", get(cluster::status))
        .route("/api/v1/cluster/snapshot", get(cluster::snapshot))
        .route("/api/v1/cluster/members", post(cluster::add_member))
        .route("/api/v1/cluster/members/{id}", delete(cluster::remove_member))
        .route("/api/v1/debug/transport-filter", put(cluster::set_filter).get(cluster::get_filter))
        .route("/api/v1/tenants", post(tenants::create).get(tenants::list))
        .route("/api/v1/tenants/{id}", get(tenants::get).patch(tenancy::update).delete(tenancy::delete))
        .route("/api/v1/tenants/{id}/quota", get(tenancy::get_quota).put(tenancy::set_quota))
        .route("/api/v1/tenants/{id}/quotas", get(tenancy::get_quota).put(tenancy::set_quota))
        .route("/api/v1/tenants/{id}/burst", post(tenancy::request_burst))
        .route("/api/v1/tenants/{id}/bursts", get(tenancy::list_bursts).post(tenancy::request_burst))
        .route("/api/v1/tenants/{id}/bursts/{burst_id}/approve", post(tenancy::approve))
        .route("/api/v1/tenants/{id}/bursts/{burst_id}/deny", post(tenancy::deny))
        .route("/api/v1/tenants/{id}/bursts/{burst_id}/revoke", post(tenancy::revoke))
        .route("/api/v1/tenants/{id}/sla", get(reports::tenant_sla))
        .route("/api/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/api/v1/jobs/{id}", get(jobs::get))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/v1/jobs/{id}/explain", get(reports::explain))
        .route("/api/v1/queue", get(reports::queue))
        .route("/api/v1/sla", get(reports::sla))
        .route("/api/v1/pools", post(pools::create).get(pools::list))
        .route("/api/v1/pools/{id}", get(pools::get).patch(pools::update).delete(pools::delete))
        .route("/api/v1/pools/{id}/metrics", get(pools::metrics))
        .route("/api/v1/pools/{id}/status", get(pools::status))
        .route("/api/v1/pools/{id}/scale", post(pools::scale))
        .route("/api/v1/pools/{id}/scaling/history", get(pools::history))
        .route("/api/v1/pools/{id}/scaling/policies", get(pools::get_policies).put(pools::put_policies))
        .route("/api/v1/cost-optimization/reports", post(reports::create_report).get(reports::list_reports))
        .route("/api/v1/cost-optimization/reports/{id}", get(reports::get_report))
        .route("/api/v1/cost-optimization/breakdown", get(reports::breakdown))
        .route("/api/v1/cost-optimization/recommendations", get(reports::recommendations))
        .route("/api/v1/cost-reports", get(reports::list_reports))
        .route("/api/v1/metrics/historical", get(observability::history))
        .route("/api/v1/metrics/tenants/{id}", get(observability::tenant_metrics))
        .route("/api/v1/observability/config", get(observability::get_config).post(observability::set_config))
        .route("/api/v1/metrics/costs", get(reports::costs))
        .route("/api/v1/jobs/{id}/logs", get(workers::logs))
        .route("/api/v1/workers", get(workers::list))
        .route("/api/v1/workers/{id}/drain", post(workers::drain))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
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
