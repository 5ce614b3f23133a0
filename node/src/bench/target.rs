//! The Hodei side of the bench: one client over gRPC (`hodei.v1`, the default) or
//! REST, holding a connection per endpoint. Client i of a run uses endpoint
//! i mod n, so the load spreads over every node and followers forward writes, as
//! etcd's followers do.

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use hodei_proto::v1 as pb;
use hodei_proto::v1::job_service_client::JobServiceClient;
use hodei_proto::v1::tenant_service_client::TenantServiceClient;

use super::args::TargetArgs;
use super::stats::OpError;

/// The API limits one job argument to 4096 bytes and a command to 256 of them;
/// the payload rides in the arguments after the program.
const ARG_BYTES: usize = 4096;
pub const MAX_PAYLOAD: usize = 255 * ARG_BYTES;

/// Each bench job asks for the least a job can, so quotas never bind first.
const JOB_CPU_M: u64 = 1;
const JOB_MEMORY_MB: u64 = 1;

#[derive(Clone)]
pub enum Transport {
    Grpc { channels: Vec<Channel>, auth: MetadataValue<tonic::metadata::Ascii> },
    Rest { http: reqwest::Client, bases: Vec<String>, auth: String },
}

#[derive(Clone)]
pub struct HodeiClient {
    pub transport: Transport,
}

impl HodeiClient {
    /// Connects lazily: a node that is down now fails its requests, not the start.
    pub fn new(target: &TargetArgs, concurrency: u32) -> anyhow::Result<HodeiClient> {
        let token = target.token.as_deref().context("an admin token is needed: --token or HODEI_TOKEN (see `hodei token`)")?;
        let default_ports: &[u16] = if target.rest { &[8081, 8082, 8083] } else { &[9091, 9092, 9093] };
        let endpoints: Vec<String> = if target.endpoints.is_empty() {
            default_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect()
        } else {
            target.endpoints.iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect()
        };
        anyhow::ensure!(!endpoints.is_empty(), "--endpoints names no endpoint");
        let urls: Vec<String> = endpoints.iter().map(|e| with_scheme(e)).collect();
        let transport = if target.rest {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(concurrency as usize)
                .connect_timeout(Duration::from_secs(2))
                .tcp_nodelay(true)
                .build()
                .context("building the HTTP client")?;
            Transport::Rest { http, bases: urls, auth: format!("Bearer {token}") }
        } else {
            let channels = urls.iter().map(|u| grpc_channel(u)).collect::<anyhow::Result<Vec<_>>>()?;
            let auth = format!("Bearer {token}").parse().context("the token is not a valid header value")?;
            Transport::Grpc { channels, auth }
        };
        Ok(HodeiClient { transport })
    }

    pub fn endpoints(&self) -> usize {
        match &self.transport {
            Transport::Grpc { channels, .. } => channels.len(),
            Transport::Rest { bases, .. } => bases.len(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self.transport {
            Transport::Grpc { .. } => "grpc",
            Transport::Rest { .. } => "rest",
        }
    }

    /// Creates a tenant whose quota and queued-job bound no bench run reaches
    /// (the API's largest): the default bound (1,000 queued jobs) would refuse
    /// a submit run's backlog long before the cluster is the limit.
    pub async fn create_tenant(&self, name: &str) -> anyhow::Result<u64> {
        let (cpu_m, memory_mb, jobs) = (1_000_000_000u64, 1_048_576_000u64, 1_000_000u32);
        let max_queued_jobs = 1_000_000u32;
        let email = format!("{name}@bench.invalid");
        match &self.transport {
            Transport::Grpc { channels, auth } => {
                let mut tenants = TenantServiceClient::new(channels[0].clone());
                let quota = pb::Quota { cpu_m, memory_mb, max_concurrent_jobs: jobs };
                let req = authed(pb::CreateTenantRequest { name: name.into(), email, quota: Some(quota) }, auth);
                let reply = tenants.create_tenant(req).await.map_err(|s| OpError::grpc(&s)).map_err(describe)?;
                let id = reply.into_inner().tenant.map(|t| t.id).context("the create-tenant reply holds no tenant")?;
                let update = pb::UpdateTenantRequest { id, max_queued_jobs: Some(max_queued_jobs), ..Default::default() };
                tenants.update_tenant(authed(update, auth)).await.map_err(|s| OpError::grpc(&s)).map_err(describe)?;
                Ok(id)
            }
            Transport::Rest { .. } => {
                let body = json!({"name": name, "email": email, "quota": {"cpu_m": cpu_m, "memory_mb": memory_mb, "max_concurrent_jobs": jobs}});
                let v = self.rest(0, Method::POST, "/api/v1/tenants", Some(&body)).await.map_err(describe)?;
                let id = v["id"].as_u64().context("the create-tenant reply holds no id")?;
                let update = json!({"max_queued_jobs": max_queued_jobs});
                self.rest(0, Method::PATCH, &format!("/api/v1/tenants/{id}"), Some(&update)).await.map_err(describe)?;
                Ok(id)
            }
        }
    }

    /// Submits one job for `tenant` through endpoint `ep`; returns its id.
    pub async fn submit(&self, ep: usize, tenant: u64, command: &[String]) -> Result<u64, OpError> {
        match &self.transport {
            Transport::Grpc { channels, auth } => {
                let msg = pb::SubmitJobRequest {
                    tenant_id: Some(tenant),
                    command: command.to_vec(),
                    cpu_m: JOB_CPU_M,
                    memory_mb: JOB_MEMORY_MB,
                    ..Default::default()
                };
                let mut req = tonic::Request::new(msg);
                req.metadata_mut().insert("authorization", auth.clone());
                let reply = JobServiceClient::new(channels[ep % channels.len()].clone()).submit_job(req).await.map_err(|s| OpError::grpc(&s))?;
                reply.into_inner().job.map(|j| j.id).ok_or_else(|| OpError::new("bad_reply", "the submit reply holds no job"))
            }
            Transport::Rest { .. } => {
                let body = json!({"tenant_id": tenant, "command": command, "cpu_m": JOB_CPU_M, "memory_mb": JOB_MEMORY_MB});
                let v = self.rest(ep, Method::POST, "/api/v1/jobs", Some(&body)).await?;
                v["id"].as_u64().ok_or_else(|| OpError::new("bad_reply", "the submit reply holds no id"))
            }
        }
    }

    /// Reads job `id` through endpoint `ep`, linearizable or from the node's own copy.
    pub async fn get_job(&self, ep: usize, id: u64, stale: bool) -> Result<(), OpError> {
        match &self.transport {
            Transport::Grpc { channels, auth } => {
                let consistency = if stale { pb::Consistency::Stale } else { pb::Consistency::Linearizable };
                let read = Some(pb::ReadOptions { consistency: consistency as i32 });
                let mut req = tonic::Request::new(pb::GetJobRequest { id, read });
                req.metadata_mut().insert("authorization", auth.clone());
                JobServiceClient::new(channels[ep % channels.len()].clone()).get_job(req).await.map_err(|s| OpError::grpc(&s))?;
                Ok(())
            }
            Transport::Rest { .. } => {
                let q = if stale { "?consistency=stale" } else { "" };
                self.rest(ep, Method::GET, &format!("/api/v1/jobs/{id}{q}"), None).await.map(drop)
            }
        }
    }

    async fn rest(&self, ep: usize, method: Method, path: &str, body: Option<&Value>) -> Result<Value, OpError> {
        let Transport::Rest { http, bases, auth } = &self.transport else {
            return Err(OpError::new("internal", "a REST call on a gRPC client"));
        };
        let mut req = http.request(method, format!("{}{path}", bases[ep % bases.len()])).header("authorization", auth);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| OpError::new(if e.is_timeout() { "timeout" } else { "transport" }, e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| OpError::new("transport", e.to_string()))?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            let message = v["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| String::from_utf8_lossy(&bytes).into());
            Err(OpError::new(format!("http_{status}"), message))
        }
    }
}

/// `true` and `payload` bytes of arguments, cut at the API's per-argument limit.
pub fn job_command(payload: usize) -> Vec<String> {
    let payload = payload.min(MAX_PAYLOAD);
    let mut command = vec!["true".to_string()];
    let mut left = payload;
    while left > 0 {
        let n = left.min(ARG_BYTES);
        command.push("x".repeat(n));
        left -= n;
    }
    command
}

/// A plain-HTTP/2 gRPC channel that connects on first use.
pub fn grpc_channel(url: &str) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .with_context(|| format!("{url:?} is not an endpoint address"))?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true);
    Ok(endpoint.connect_lazy())
}

/// `host:port` becomes `http://host:port`; a URL is kept as given.
pub fn with_scheme(e: &str) -> String {
    let e = e.trim_end_matches('/');
    if e.contains("://") { e.to_string() } else { format!("http://{e}") }
}

fn describe(e: OpError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.kind, e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_cut_into_arguments_the_api_accepts() {
        assert_eq!(job_command(0), ["true"]);
        let c = job_command(10_000);
        assert_eq!(c.iter().skip(1).map(String::len).collect::<Vec<_>>(), [4096, 4096, 1808]);
        let max = job_command(MAX_PAYLOAD + 1);
        assert_eq!(max.len(), 256, "the program plus at most 255 arguments");
        assert!(max.iter().all(|a| a.len() <= ARG_BYTES));
    }

    #[test]
    fn addresses_get_a_scheme_and_bad_ones_a_clear_error() {
        assert_eq!(with_scheme("127.0.0.1:9091"), "http://127.0.0.1:9091");
        assert_eq!(with_scheme("https://h:1/"), "https://h:1");
        let err = grpc_channel("http://bad host:1").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("not an endpoint address"), "{err}");
    }
}

/// `msg` with the bench's bearer token.
fn authed<T>(msg: T, auth: &MetadataValue<tonic::metadata::Ascii>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert("authorization", auth.clone());
    req
}
