//! The agent's job-output server: `GET /logs/{job_id}?tail=BYTES` answers the last
//! bytes of that job's output (at most 1 MiB). Nodes proxy
//! `GET /api/v1/jobs/{id}/logs` here; the agent keeps the files.

use std::path::PathBuf;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub const MAX_TAIL: u64 = 1024 * 1024;

#[derive(Deserialize)]
struct TailQuery {
    tail: Option<u64>,
}

async fn job_log(State(dir): State<PathBuf>, Path(job_id): Path<u64>, Query(q): Query<TailQuery>) -> Result<Vec<u8>, (StatusCode, String)> {
    let bytes = q.tail.unwrap_or(64 * 1024).min(MAX_TAIL);
    super::runner::tail(&super::retention::log_path(&dir, job_id), bytes).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => (StatusCode::NOT_FOUND, format!("no output for job {job_id} here")),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
}

pub async fn serve(listener: tokio::net::TcpListener, work_dir: PathBuf) {
    let app = Router::new().route("/logs/{job_id}", get(job_log)).with_state(work_dir);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "worker log server stopped");
    }
}
