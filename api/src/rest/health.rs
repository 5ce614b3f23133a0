//! `GET /health` (the process is up) and `GET /ready` (a leader is known and
//! this node has applied everything it knows to be committed).

use axum::extract::State;
use axum::Json;

use crate::app::App;
use crate::error::ApiError;
use crate::rest::openapi::Errors;

/// `GET /health`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct HealthBody {
    /// Always `ok`.
    status: &'static str,
    node_id: u64,
}

/// `GET /ready`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct ReadyBody {
    /// Always `ready`.
    status: &'static str,
    node_id: u64,
    leader_id: u64,
    applied_index: u64,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    security(()),
    responses((status = 200, description = "The process is up", body = HealthBody), Errors)
)]
pub(super) async fn health(State(app): State<App>) -> Json<HealthBody> {
    Json(HealthBody { status: "ok", node_id: app.cluster.id() })
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    security(()),
    responses((status = 200, description = "A leader is known and this node has applied what it knows to be committed", body = ReadyBody), Errors)
)]
pub(super) async fn ready(State(app): State<App>) -> Result<Json<ReadyBody>, ApiError> {
    let node = &app.cluster;
    let Some(leader) = node.leader_hint() else {
        return Err(ApiError::from(hodei_cluster::ClusterError::unavailable("no leader known", None)));
    };
    let committed = node.raft().with_raft_state(|s| s.committed.map(|l| l.index)).await.ok().flatten();
    let applied = node.state_machine().applied_index();
    if committed.is_some_and(|c| applied < c) {
        return Err(ApiError::from(hodei_cluster::ClusterError::unavailable(
            format!("catching up: applied {applied} of {}", committed.unwrap_or(0)),
            Some(leader),
        )));
    }
    Ok(Json(ReadyBody { status: "ready", node_id: node.id(), leader_id: leader.id, applied_index: applied }))
}
