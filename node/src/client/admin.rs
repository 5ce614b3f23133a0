//! Client verbs for the domain's admin surface: `hodei pool`, `hodei quota`,
//! `hodei burst`, `hodei cost` and `hodei queue`. Each is a thin call to one
//! REST route; the server validates.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Client, ClientError};
use super::output::{print, Columns};
use super::{query, strip_nulls};
use crate::cli::ClientArgs;

const POOL: Columns = &["id", "type", "lifecycle", "min_size", "target_size", "max_size", "auto_scaling_enabled"];
const EVENT: Columns = &["at_ms", "from", "to", "automatic", "policy", "reason"];
const QUOTA: Columns = &["tenant_id", "quota.cpu_m", "quota.memory_mb", "quota.max_concurrent_jobs", "admitted.cpu_m", "admitted.jobs", "burst_cpu_m"];
const BURST: Columns = &["id", "tenant_id", "state", "cpu_m", "memory_mb", "ends_at_ms", "reason"];
const REPORT: Columns = &["id", "from_ms", "to_ms", "total_cost_nanos", "job_cost_nanos", "idle_cost_nanos", "attempts"];
const QUEUE: Columns = &["tenant_id", "weight", "queued", "running_jobs"];
const RAW: Columns = &[];

/// Arrays print as tables of rows.
fn rows(v: Value) -> Value {
    if v.is_array() { json!({ "items": v }) } else { v }
}

#[derive(Debug, Args)]
pub struct PoolCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: PoolVerb,
}

#[derive(Debug, Subcommand)]
pub enum PoolVerb {
    /// Declare a pool (admin).
    Create {
        id: String,
        /// static or dynamic
        #[arg(long = "type", default_value = "static")]
        pool_type: String,
        #[arg(long, default_value_t = 0)]
        min_size: u32,
        #[arg(long)]
        max_size: u32,
        #[arg(long)]
        auto_scaling: bool,
    },
    /// List pools.
    List,
    /// Show one pool with its workers and the autoscaler's view.
    Get { id: String },
    /// Set a pool's target size by hand, with a reason (admin).
    Scale {
        id: String,
        #[arg(long)]
        to: u32,
        #[arg(long)]
        reason: String,
    },
    /// The pool's scaling decisions, newest first.
    History { id: String },
    /// Drain and delete a pool (admin).
    Delete { id: String },
}

pub async fn pool(cmd: PoolCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    match cmd.verb {
        PoolVerb::Create { id, pool_type, min_size, max_size, auto_scaling } => {
            let body = json!({"id": id, "type": pool_type, "min_size": min_size, "max_size": max_size, "auto_scaling_enabled": auto_scaling});
            print(&c.json(Method::POST, "/api/v1/pools", Some(&body), &[]).await?, out, POOL);
        }
        PoolVerb::List => print(&rows(c.json(Method::GET, "/api/v1/pools", None, &[]).await?), out, POOL),
        PoolVerb::Get { id } => print(&c.json(Method::GET, &format!("/api/v1/pools/{id}/status"), None, &[]).await?, out, RAW),
        PoolVerb::Scale { id, to, reason } => {
            let body = json!({"target_size": to, "reason": reason});
            print(&c.json(Method::POST, &format!("/api/v1/pools/{id}/scale"), Some(&body), &[]).await?, out, POOL);
        }
        PoolVerb::History { id } => {
            print(&rows(c.json(Method::GET, &format!("/api/v1/pools/{id}/scaling/history"), None, &[]).await?), out, EVENT)
        }
        PoolVerb::Delete { id } => print(&c.json(Method::DELETE, &format!("/api/v1/pools/{id}"), None, &[]).await?, out, POOL),
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct QuotaCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: QuotaVerb,
}

#[derive(Debug, Subcommand)]
pub enum QuotaVerb {
    /// A tenant's quota and what is held against it.
    Get { tenant: u64 },
    /// Replace a tenant's quota (admin).
    Set {
        tenant: u64,
        #[arg(long)]
        cpu_m: u64,
        #[arg(long)]
        memory_mb: u64,
        #[arg(long)]
        max_concurrent_jobs: u32,
    },
}

pub async fn quota(cmd: QuotaCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    match cmd.verb {
        QuotaVerb::Get { tenant } => print(&c.json(Method::GET, &format!("/api/v1/tenants/{tenant}/quota"), None, &[]).await?, out, QUOTA),
        QuotaVerb::Set { tenant, cpu_m, memory_mb, max_concurrent_jobs } => {
            let body = json!({"cpu_m": cpu_m, "memory_mb": memory_mb, "max_concurrent_jobs": max_concurrent_jobs});
            c.json(Method::PUT, &format!("/api/v1/tenants/{tenant}/quota"), Some(&body), &[]).await?;
            print(&c.json(Method::GET, &format!("/api/v1/tenants/{tenant}/quota"), None, &[]).await?, out, QUOTA);
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BurstCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: BurstVerb,
}

#[derive(Debug, Subcommand)]
pub enum BurstVerb {
    /// Ask for extra cpu and memory for a while.
    Request {
        tenant: u64,
        #[arg(long, default_value_t = 0)]
        cpu_m: u64,
        #[arg(long, default_value_t = 0)]
        memory_mb: u64,
        #[arg(long, default_value_t = 60)]
        minutes: u32,
        #[arg(long)]
        reason: String,
    },
    /// A tenant's leases, newest first.
    List { tenant: u64 },
    /// Start a pending lease (admin).
    Approve { tenant: u64, burst: u64 },
    /// Refuse a pending lease (admin).
    Deny {
        tenant: u64,
        burst: u64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// End a lease now (admin).
    Revoke {
        tenant: u64,
        burst: u64,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn burst(cmd: BurstCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    let decide = |tenant: u64, burst: u64, verb: &str, reason: Option<String>| {
        (format!("/api/v1/tenants/{tenant}/bursts/{burst}/{verb}"), strip_nulls(json!({ "reason": reason })))
    };
    let (path, body) = match cmd.verb {
        BurstVerb::Request { tenant, cpu_m, memory_mb, minutes, reason } => {
            let body = json!({"requested_cpu_m": cpu_m, "requested_memory_mb": memory_mb, "duration_minutes": minutes, "reason": reason});
            (format!("/api/v1/tenants/{tenant}/burst"), body)
        }
        BurstVerb::List { tenant } => {
            print(&rows(c.json(Method::GET, &format!("/api/v1/tenants/{tenant}/bursts"), None, &[]).await?), out, BURST);
            return Ok(());
        }
        BurstVerb::Approve { tenant, burst } => decide(tenant, burst, "approve", None),
        BurstVerb::Deny { tenant, burst, reason } => decide(tenant, burst, "deny", reason),
        BurstVerb::Revoke { tenant, burst, reason } => decide(tenant, burst, "revoke", reason),
    };
    print(&c.json(Method::POST, &path, Some(&body), &[]).await?, out, BURST);
    Ok(())
}

#[derive(Debug, Args)]
pub struct CostCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: CostVerb,
}

#[derive(Debug, Subcommand)]
pub enum CostVerb {
    /// Cost over a period: last_day, last_week or last_month.
    Report {
        #[arg(long, default_value = "last_day")]
        period: String,
        #[arg(long)]
        tenant: Option<u64>,
        #[arg(long)]
        pool: Option<String>,
    },
    /// Cost by tenant and pool over a period.
    Breakdown {
        #[arg(long, default_value = "last_day")]
        period: String,
    },
    /// Savings the ledger suggests (admin or viewer).
    Recommendations {
        #[arg(long)]
        pool: Option<String>,
    },
}

pub async fn cost(cmd: CostCmd) -> Result<(), ClientError> {
    let c = Client::new(&cmd.client)?;
    let out = cmd.client.output;
    match cmd.verb {
        CostVerb::Report { period, tenant, pool } => {
            let body = strip_nulls(json!({"period": period, "tenant_id": tenant, "pool_id": pool}));
            print(&c.json(Method::POST, "/api/v1/cost-optimization/reports", Some(&body), &[]).await?, out, REPORT);
        }
        CostVerb::Breakdown { period } => {
            let q = query(&[("period", Some(period))]);
            print(&c.json(Method::GET, &format!("/api/v1/cost-optimization/breakdown{q}"), None, &[]).await?, out, RAW);
        }
        CostVerb::Recommendations { pool } => {
            let q = query(&[("pool_id", pool)]);
            print(&rows(c.json(Method::GET, &format!("/api/v1/cost-optimization/recommendations{q}"), None, &[]).await?), out, RAW);
        }
    }
    Ok(())
}

/// `hodei queue`: queued jobs per tenant (and per pool for admins).
pub async fn queue(client: ClientArgs) -> Result<(), ClientError> {
    let c = Client::new(&client)?;
    let v = c.json(Method::GET, "/api/v1/queue", None, &[]).await?;
    let table = json!({ "items": v["tenants"] });
    match client.output {
        Some(crate::cli::OutputFormat::Json) | Some(crate::cli::OutputFormat::Yaml) => print(&v, client.output, QUEUE),
        _ => print(&table, client.output, QUEUE),
    }
    Ok(())
}
