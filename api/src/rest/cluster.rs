//! `GET /api/v1/cluster`, member add and remove, and the transport-filter route
//! that tests and chaos campaigns use (only when the node enables fault injection).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use hodei_cluster::{ClusterStatus, LinkRule};

use super::extract::{Auth, Body, Id};
use crate::app::App;
use crate::dto::AddMemberBody;
use crate::error::ApiError;
use crate::rest::openapi::Errors;

#[utoipa::path(
    get,
    path = "/api/v1/cluster",
    tag = "cluster",
    responses((status = 200, description = "Members, leader, term and indexes", body = ClusterStatus), Errors)
)]
pub(super) async fn status(State(app): State<App>, Auth(_): Auth) -> Json<ClusterStatus> {
    Json(app.cluster_status().await)
}

#[utoipa::path(
    post,
    path = "/api/v1/cluster/members",
    tag = "cluster",
    request_body = AddMemberBody,
    responses((status = 200, description = "The cluster with the new member", body = ClusterStatus), Errors)
)]
pub(super) async fn add_member(State(app): State<App>, Auth(p): Auth, Body(body): Body<AddMemberBody>) -> Result<Json<ClusterStatus>, ApiError> {
    Ok(Json(app.add_member(&p, body).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/cluster/members/{id}",
    tag = "cluster",
    params(("id" = u64, Path, description = "node id")),
    responses((status = 200, description = "The cluster without the member", body = ClusterStatus), Errors)
)]
pub(super) async fn remove_member(State(app): State<App>, Auth(p): Auth, Id(id): Id) -> Result<Json<ClusterStatus>, ApiError> {
    Ok(Json(app.remove_member(&p, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilterBody {
    /// Target node id -> rule for messages this node sends there.
    rules: BTreeMap<u64, LinkRule>,
}

fn fault_injection(app: &App) -> Result<(), ApiError> {
    if app.fault_injection {
        Ok(())
    } else {
        Err(ApiError::not_found("fault injection is disabled on this node"))
    }
}

pub(super) async fn set_filter(State(app): State<App>, Auth(p): Auth, Body(body): Body<FilterBody>) -> Result<Json<BTreeMap<u64, LinkRule>>, ApiError> {
    p.require_admin()?;
    fault_injection(&app)?;
    app.cluster.filter().set_rules(body.rules);
    Ok(Json(app.cluster.filter().rules()))
}

pub(super) async fn get_filter(State(app): State<App>, Auth(p): Auth) -> Result<Json<BTreeMap<u64, LinkRule>>, ApiError> {
    p.require_admin()?;
    fault_injection(&app)?;
    Ok(Json(app.cluster.filter().rules()))
}

/// A consistent backup of the whole state: a snapshot covering every write
/// acknowledged before the request. Restore it with `hodei restore`.
#[utoipa::path(
    get,
    path = "/api/v1/cluster/snapshot",
    tag = "cluster",
    responses((status = 200, description = "A consistent backup; restore it with `hodei restore`", content_type = "application/octet-stream", body = [u8]), Errors)
)]
pub(super) async fn snapshot(State(app): State<App>, Auth(p): Auth) -> Result<Response, ApiError> {
    let (bytes, index) = app.snapshot(&p).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"hodei.snap\""));
    h.insert("x-hodei-index", HeaderValue::from(index));
    Ok(resp)
}
