//! The client verbs of the `hodei` binary, in the habits of etcdctl and kubectl:
//! `--endpoints`/`HODEI_ENDPOINTS` (the next endpoint is tried when one is down),
//! `--token`/`HODEI_TOKEN`, `-o table|json|yaml`. Exit codes: 0 ok, 1 refused
//! (4xx), 2 usage, 3 unavailable, 4 a watched job ended without success.

pub mod admin;
pub mod args;
pub mod http;
pub mod output;

use reqwest::Method;
use serde_json::{json, Value};

use args::{ClusterCmd, ClusterVerb, JobCmd, JobVerb, TenantCmd, TenantVerb};
use http::{Client, ClientError};
use output::{print, JOB, MEMBER, TENANT};

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub async fn tenant(cmd: TenantCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    match cmd.verb {
        TenantVerb::Create { name, email, cpu_m, memory_mb, max_concurrent_jobs } => {
            let mut body = json!({"name": name, "email": email});
            if cpu_m.is_some() || memory_mb.is_some() || max_concurrent_jobs.is_some() {
                body["quota"] = json!({
                    "cpu_m": cpu_m.unwrap_or(4000),
                    "memory_mb": memory_mb.unwrap_or(8192),
                    "max_concurrent_jobs": max_concurrent_jobs.unwrap_or(10),
                });
            }
            print(&c.json(Method::POST, "/api/v1/tenants", Some(&body), &[]).await?, out, TENANT);
        }
        TenantVerb::Get { id } => print(&c.json(Method::GET, &format!("/api/v1/tenants/{id}"), None, &[]).await?, out, TENANT),
        TenantVerb::Delete { id } => print(&c.json(Method::DELETE, &format!("/api/v1/tenants/{id}"), None, &[]).await?, out, &[]),
        TenantVerb::List { limit, cursor } => {
            let q = query(&[("limit", limit.map(|v| v.to_string())), ("cursor", cursor.map(|v| v.to_string()))]);
            print(&c.json(Method::GET, &format!("/api/v1/tenants{q}"), None, &[]).await?, out, TENANT);
        }
    }
    Ok(())
}

pub async fn job(cmd: JobCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    match cmd.verb {
        JobVerb::Submit { tenant, cpu_m, memory_mb, pool, priority, timeout_s, max_retries, idempotency_key, command } => {
            let body = json!({
                "tenant_id": tenant, "command": command, "cpu_m": cpu_m, "memory_mb": memory_mb,
                "pool": pool, "priority": priority, "timeout_s": timeout_s, "max_retries": max_retries,
            });
            let body = strip_nulls(body);
            let headers: Vec<(&str, &str)> = idempotency_key.as_deref().map(|k| ("idempotency-key", k)).into_iter().collect();
            print(&c.json(Method::POST, "/api/v1/jobs", Some(&body), &headers).await?, out, JOB);
        }
        JobVerb::Get { id } => print(&c.json(Method::GET, &format!("/api/v1/jobs/{id}"), None, &[]).await?, out, JOB),
        JobVerb::List { tenant, state, pool, limit, cursor } => {
            let q = query(&[
                ("tenant_id", tenant.map(|v| v.to_string())),
                ("state", state),
                ("pool", pool),
                ("limit", limit.map(|v| v.to_string())),
                ("cursor", cursor.map(|v| v.to_string())),
            ]);
            print(&c.json(Method::GET, &format!("/api/v1/jobs{q}"), None, &[]).await?, out, JOB);
        }
        JobVerb::Explain { id } => {
            print(&c.json(Method::GET, &format!("/api/v1/jobs/{id}/explain"), None, &[]).await?, out, &[])
        }
        JobVerb::Cancel { id } => print(&c.json(Method::POST, &format!("/api/v1/jobs/{id}/cancel"), None, &[]).await?, out, JOB),
        JobVerb::Watch { id, interval_ms } => return watch(&c, id, interval_ms, out).await,
        JobVerb::Logs { id, tail } => {
            let q = query(&[("tail", tail.map(|t| t.to_string()))]);
            let (status, bytes) = c.send(Method::GET, &format!("/api/v1/jobs/{id}/logs{q}"), None, &[]).await?;
            if status != 200 {
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                return Err(ClientError { code: if status >= 500 { 3 } else { 1 }, message: format!("{status}: {}", v["error"]["message"]) });
            }
            output::emit(&String::from_utf8_lossy(&bytes));
        }
    }
    Ok(())
}

pub async fn cluster(cmd: ClusterCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    let show = |v: &Value| {
        if out.is_none() || out == Some(crate::cli::OutputFormat::Table) {
            output::emit(&format!(
                "node {} answering; leader {}; term {}; commit index {}; cluster version {}\n",
                v["node_id"], v["leader_id"], v["term"], v["commit_index"], v["cluster_version"]
            ));
            let members: Value = json!({ "items": v["members"] });
            print(&members, Some(crate::cli::OutputFormat::Table), MEMBER);
        } else {
            print(v, out, MEMBER);
        }
    };
    match cmd.verb {
        ClusterVerb::Status => show(&c.json(Method::GET, "/api/v1/cluster", None, &[]).await?),
        ClusterVerb::Add { id, peer, http, grpc, learner_only } => {
            let body = json!({"id": id, "peer_addr": peer, "http_addr": http, "grpc_addr": grpc, "learner_only": learner_only});
            show(&c.json(Method::POST, "/api/v1/cluster/members", Some(&body), &[]).await?);
        }
        ClusterVerb::Remove { id } => show(&c.json(Method::DELETE, &format!("/api/v1/cluster/members/{id}"), None, &[]).await?),
        ClusterVerb::Snapshot { out: path } => {
            let (status, bytes) = c.send(Method::GET, "/api/v1/cluster/snapshot", None, &[]).await?;
            if status != 200 {
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                return Err(ClientError { code: if status >= 500 { 3 } else { 1 }, message: format!("{status}: {}", v["error"]["message"]) });
            }
            std::fs::write(&path, &bytes).map_err(|e| ClientError { code: 1, message: format!("{}: {e}", path.display()) })?;
            eprintln!("wrote {} bytes to {}", bytes.len(), path.display());
        }
    }
    Ok(())
}

/// States a job never leaves.
const FINISHED: [&str; 5] = ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "LOST"];

/// `hodei job watch`: one line per state the job is seen in (a table row, or
/// the job as JSON/YAML), until it finishes; exit code 4 unless it succeeded.
async fn watch(c: &Client, id: u64, interval_ms: u64, out: Option<crate::cli::OutputFormat>) -> Result<(), ClientError> {
    let mut last = String::new();
    loop {
        let job = c.json(Method::GET, &format!("/api/v1/jobs/{id}"), None, &[]).await?;
        let state = job["state"].as_str().unwrap_or("").to_string();
        if state != last {
            print(&job, out, JOB);
            last.clone_from(&state);
        }
        if FINISHED.contains(&state.as_str()) {
            return match state.as_str() {
                "SUCCEEDED" => Ok(()),
                other => Err(ClientError { code: 4, message: format!("job {id} ended {other}") }),
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(interval_ms)).await;
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}
