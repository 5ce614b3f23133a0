//! `hodei dashboards push` against a local stand-in for Grafana's HTTP API (an
//! axum server in this test; Grafana itself cannot be installed here): one
//! `POST /api/dashboards/db` per shipped dashboard, with the API key as bearer
//! token and `overwrite: true`; a refusal fails the command.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use hodei_tests::process::hodei_bin;
use hodei_tests::promql::repo_root;

#[derive(Clone, Default)]
struct StandIn {
    received: Arc<Mutex<Vec<(Option<String>, Value)>>>,
    /// Refuse the dashboard with this uid (412, as Grafana answers a conflict).
    refuse: Option<String>,
}

async fn db(State(s): State<StandIn>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let uid = body["dashboard"]["uid"].as_str().unwrap_or_default().to_string();
    s.received.lock().unwrap().push((auth, body));
    if s.refuse.as_deref() == Some(uid.as_str()) {
        return (StatusCode::PRECONDITION_FAILED, Json(json!({"status": "version-mismatch", "message": "refused by the stand-in"})));
    }
    (StatusCode::OK, Json(json!({"status": "success", "uid": uid, "url": format!("/d/{uid}/x"), "version": 1})))
}

async fn serve(state: StandIn) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/api/dashboards/db", post(db)).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn push(url: &str) -> std::process::Output {
    let dir = repo_root().join("deploy/grafana/dashboards");
    tokio::process::Command::new(hodei_bin())
        .args(["dashboards", "push", "--grafana-url", url, "--api-key", "test-key", "--dir"])
        .arg(dir)
        .output()
        .await
        .expect("run hodei dashboards push")
}

fn shipped_uids() -> Vec<String> {
    let dir = repo_root().join("deploy/grafana/dashboards");
    let mut uids: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["uid"].as_str().unwrap().to_string())
        .collect();
    uids.sort();
    uids
}

#[tokio::test]
async fn push_uploads_every_dashboard_to_a_grafana_http_stand_in() {
    let state = StandIn::default();
    let url = serve(state.clone()).await;
    let out = push(&url).await;
    assert!(out.status.success(), "push failed: {}", String::from_utf8_lossy(&out.stderr));
    let received = state.received.lock().unwrap().clone();
    let mut uids: Vec<String> = received.iter().map(|(_, b)| b["dashboard"]["uid"].as_str().unwrap().to_string()).collect();
    uids.sort();
    assert_eq!(uids, shipped_uids());
    assert_eq!(uids.len(), 5, "the five seed dashboards");
    for (auth, body) in &received {
        assert_eq!(auth.as_deref(), Some("Bearer test-key"));
        assert_eq!(body["overwrite"], true);
        assert!(body["dashboard"]["id"].is_null(), "the per-instance id is cleared");
        assert!(body["dashboard"]["panels"].as_array().is_some_and(|p| !p.is_empty()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/d/hodei-sla/x"), "prints what Grafana answered: {stdout}");
}

#[tokio::test]
async fn push_fails_when_the_grafana_http_stand_in_refuses_a_dashboard() {
    let state = StandIn { refuse: Some("hodei-cost-analysis".into()), ..StandIn::default() };
    let url = serve(state.clone()).await;
    let out = push(&url).await;
    assert!(!out.status.success(), "a refused dashboard must fail the command");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cost-analysis.json") && stderr.contains("412"), "{stderr}");
}
