//! `hodei dashboards push`: uploads the Grafana dashboards (JSON files, by
//! default `deploy/grafana/dashboards`) through Grafana's HTTP API, one
//! `POST /api/dashboards/db` per file with `overwrite: true`, so a re-push
//! replaces the dashboard of the same `uid`.
//!
//! For hosts where the files can be provisioned instead, see
//! `deploy/grafana/provisioning/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct DashboardsCmd {
    #[command(subcommand)]
    pub action: DashboardsAction,
}

#[derive(Debug, Subcommand)]
pub enum DashboardsAction {
    /// Upload every dashboard JSON file of a folder to Grafana (overwriting).
    Push(PushArgs),
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Grafana's base URL, e.g. http://grafana:3000 [env: GRAFANA_URL]
    #[arg(long, env = "GRAFANA_URL", value_name = "URL")]
    pub grafana_url: String,
    /// A Grafana API key or service account token with dashboard write access [env: GRAFANA_API_KEY]
    #[arg(long, env = "GRAFANA_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: String,
    /// Folder of dashboard JSON files
    #[arg(long, value_name = "DIR", default_value = "deploy/grafana/dashboards")]
    pub dir: PathBuf,
    /// uid of the Grafana folder to put them in (default: General)
    #[arg(long, value_name = "UID")]
    pub folder_uid: Option<String>,
}

/// What one upload returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub file: PathBuf,
    pub uid: String,
    /// Grafana's URL path of the dashboard, when it says.
    pub url: Option<String>,
}

pub async fn run(cmd: DashboardsCmd) -> anyhow::Result<()> {
    match cmd.action {
        DashboardsAction::Push(args) => {
            for p in push(&args).await? {
                println!("{}\t{}\t{}", p.uid, p.file.display(), p.url.unwrap_or_default());
            }
            Ok(())
        }
    }
}

/// Uploads every `*.json` of `args.dir`, in name order; stops at the first
/// file Grafana refuses.
pub async fn push(args: &PushArgs) -> anyhow::Result<Vec<Pushed>> {
    let files = dashboard_files(&args.dir)?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().context("building the http client")?;
    let endpoint = format!("{}/api/dashboards/db", args.grafana_url.trim_end_matches('/'));
    let mut pushed = Vec::new();
    for file in files {
        let body = request_body(&file, args.folder_uid.as_deref())?;
        let uid = body["dashboard"]["uid"].as_str().unwrap_or_default().to_string();
        let resp = http
            .post(&endpoint)
            .bearer_auth(&args.api_key)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("posting {} to {endpoint}", file.display()))?;
        let status = resp.status();
        let reply: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("grafana refused {} ({status}): {reply}", file.display());
        }
        pushed.push(Pushed { file, uid, url: reply["url"].as_str().map(str::to_string) });
    }
    Ok(pushed)
}

/// The dashboard files of `dir`, sorted; an empty folder is an error.
fn dashboard_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no dashboard (*.json) in {}", dir.display());
    }
    Ok(files)
}

/// Grafana's import body: the dashboard with its numeric `id` cleared (ids are
/// per Grafana instance; the `uid` identifies it), overwrite on.
fn request_body(file: &Path, folder_uid: Option<&str>) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut dashboard: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let Some(obj) = dashboard.as_object_mut() else { bail!("{} is not a JSON object", file.display()) };
    if !obj.get("uid").is_some_and(Value::is_string) || !obj.get("title").is_some_and(Value::is_string) {
        bail!("{} has no string uid and title", file.display());
    }
    obj.insert("id".into(), Value::Null);
    let mut body = json!({"dashboard": dashboard, "overwrite": true, "message": "hodei dashboards push"});
    if let Some(folder) = folder_uid {
        body["folderUid"] = json!(folder);
    }
    Ok(body)
}
