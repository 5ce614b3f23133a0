//! Arguments of the client verbs (`hodei tenant|job|cluster ...`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::ClientArgs;

#[derive(Debug, Args)]
pub struct TenantCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: TenantVerb,
}

#[derive(Debug, Subcommand)]
pub enum TenantVerb {
    /// Create a tenant (admin).
    Create {
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        cpu_m: Option<u64>,
        #[arg(long)]
        memory_mb: Option<u64>,
        #[arg(long)]
        max_concurrent_jobs: Option<u32>,
    },
    /// Show one tenant.
    Get { id: u64 },
    /// Delete a tenant (admin; refused while it has queued or running jobs).
    Delete { id: u64 },
    /// List tenants.
    List {
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        cursor: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct JobCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: JobVerb,
}

#[derive(Debug, Subcommand)]
pub enum JobVerb {
    /// Submit a job: `hodei job submit --tenant 1 -- echo hello`.
    Submit {
        /// Required with an admin token; a tenant token implies its tenant
        /// (`hodei dev` sets HODEI_TENANT to its `default` tenant in `<dir>/env`).
        #[arg(long, env = "HODEI_TENANT")]
        tenant: Option<u64>,
        #[arg(long, default_value_t = 100)]
        cpu_m: u64,
        #[arg(long, default_value_t = 64)]
        memory_mb: u64,
        #[arg(long)]
        pool: Option<String>,
        #[arg(long)]
        priority: Option<i32>,
        #[arg(long)]
        timeout_s: Option<u64>,
        #[arg(long)]
        max_retries: Option<u32>,
        /// Retries with the same key never create a second job.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Show one job.
    Get { id: u64 },
    /// List jobs, newest last.
    List {
        #[arg(long)]
        tenant: Option<u64>,
        /// PENDING, RUNNING, SUCCEEDED, ...
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        pool: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        cursor: Option<u64>,
    },
    /// Cancel a job.
    Cancel { id: u64 },
    /// Follow a job until it ends, printing each state it passes through.
    /// Exit code 0 when it succeeded, 4 when it ended otherwise.
    Watch {
        id: u64,
        /// How often to ask, in milliseconds.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
        interval_ms: u64,
    },
    /// Why a queued job waits: its position, the reason and an estimated start.
    Explain { id: u64 },
    /// Print the tail of a job's output.
    Logs {
        id: u64,
        /// Bytes from the end (at most 1 MiB).
        #[arg(long)]
        tail: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct ClusterCmd {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub verb: ClusterVerb,
}

#[derive(Debug, Subcommand)]
pub enum ClusterVerb {
    /// Members, leader, term, indexes.
    Status,
    /// Add a member (learner first, then voter).
    Add {
        #[arg(long)]
        id: u64,
        #[arg(long)]
        peer: String,
        #[arg(long, default_value = "")]
        http: String,
        #[arg(long, default_value = "")]
        grpc: String,
        #[arg(long)]
        learner_only: bool,
    },
    /// Remove a member.
    Remove { id: u64 },
    /// Download a consistent backup of the state (restore with `hodei restore`).
    Snapshot {
        #[arg(long)]
        out: PathBuf,
    },
}
