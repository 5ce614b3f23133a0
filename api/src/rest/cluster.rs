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

pub(super) async fn status(State(app): State<App>, Auth(_): Auth) -> Json<ClusterStatus> {
    Json(app.cluster_status().await)
}

pub(super) async fn add_member(State(app): State<App>, Auth(p): Auth, Body(body): Body<AddMemberBody>) -> Result<Json<ClusterStatus>, ApiError> {
    Ok(Json(app.add_member(&p, body).await?))
}

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
pub(super) async fn snapshot(State(app): State<App>, Auth(p): Auth) -> Result<Response, ApiError> {
    let (bytes, index) = app.snapshot(&p).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"hodei.snap\""));
    h.insert("x-hodei-index", HeaderValue::from(index));
    Ok(resp)
}
