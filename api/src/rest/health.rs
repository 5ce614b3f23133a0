//! `GET /health` (the process is up) and `GET /ready` (a leader is known and
//! this node has applied everything it knows to be committed).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::App;
use crate::error::ApiError;

pub(super) async fn health(State(app): State<App>) -> Json<Value> {
    Json(json!({ "status": "ok", "node_id": app.cluster.id() }))
}

pub(super) async fn ready(State(app): State<App>) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({ "status": "ready", "node_id": node.id(), "leader_id": leader.id, "applied_index": applied })))
}
