//! Arguments of `hodei bench ...`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::config::duration::parse_duration;

#[derive(Debug, Args)]
pub struct BenchCmd {
    #[command(subcommand)]
    pub mode: BenchMode,
}

#[derive(Debug, Subcommand)]
pub enum BenchMode {
    /// Submit jobs as fast as the cluster acknowledges them (or at --rate).
    Submit(SubmitArgs),
    /// Read jobs back, linearizable or stale, spread over every endpoint.
    Read(ReadArgs),
    /// Start a 3-node cluster, kill its leader under load N times, and time each recovery.
    Failover(FailoverArgs),
    /// Start a 3-node cluster and real workers, run N no-op jobs through them, and
    /// report jobs assigned and completed per second and submit-to-start latency.
    Dispatch(DispatchArgs),
    /// Start a 3-node cluster, queue N jobs over T tenants, and report each node's
    /// resident memory, then snapshot, restore and restart times for that state.
    Scale(ScaleArgs),
    /// Drive etcd's KV Put with the same harness (for scripts/bench-vs-etcd).
    #[command(hide = true)]
    EtcdPut(EtcdArgs),
    /// Drive etcd's KV Range with the same harness (for scripts/bench-vs-etcd).
    #[command(hide = true)]
    EtcdRange(EtcdArgs),
}

/// How the load is applied and reported; shared by every mode that drives a cluster.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Clients; closed loop: each waits for its answer before sending again. With
    /// --rate: the most requests in flight at once
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
    pub concurrency: u32,
    /// How long to apply load: 500ms, 10s, 2m
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "S")]
    pub duration: Duration,
    /// Open loop: start this many requests per second in total, whatever the
    /// answers' latency (which then counts from each request's scheduled start)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "R")]
    pub rate: Option<u32>,
    /// A request unanswered after this long counts as a `timeout` error
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "S")]
    pub timeout: Duration,
    /// table for people, json for scripts (one object on stdout)
    #[arg(short = 'o', long, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchOutput {
    Table,
    Json,
}

/// Which Hodei nodes to drive and how.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Nodes to drive, comma separated: gRPC addresses (default, or --grpc) or REST
    /// addresses (--rest). Client i talks to endpoint i mod n. Default: the ports of
    /// `hodei dev`
    #[arg(long, value_delimiter = ',', value_name = "ADDRS")]
    pub endpoints: Vec<String>,
    /// An admin bearer token (see `hodei token`): the bench creates its own tenants
    #[arg(long, env = "HODEI_TOKEN", hide_env_values = true, value_name = "JWT")]
    pub token: Option<String>,
    /// Use the gRPC API (the default)
    #[arg(long, conflicts_with = "rest")]
    pub grpc: bool,
    /// Use the REST API
    #[arg(long)]
    pub rest: bool,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Bytes of arguments each job carries (its command is `true` plus this payload)
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=super::target::MAX_PAYLOAD as u64), value_name = "B")]
    pub payload_bytes: u64,
    /// Bench tenants to create; submissions rotate over them (each tenant may hold 1,000 queued jobs by default)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "T")]
    pub tenants: u32,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// linearizable (through the leader's read index) or stale (the node's own copy)
    #[arg(long, value_enum, default_value_t = ReadConsistency::Linearizable)]
    pub consistency: ReadConsistency,
    /// Jobs to submit first and then read in turn
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000), value_name = "N")]
    pub keys: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadConsistency {
    Linearizable,
    Stale,
}

#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// Leader kills to measure
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "N")]
    pub rounds: u32,
    /// Closed-loop clients submitting throughout
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
    pub concurrency: u32,
    /// Bytes of arguments each job carries
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=super::target::MAX_PAYLOAD as u64), value_name = "B")]
    pub payload_bytes: u64,
    /// YAML config for every node (e.g. a `raft:` section with other timing)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the nodes keep their data and logs (default: a temp dir, removed after)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Load with every node up before each kill, during which any election is counted as spurious
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "S")]
    pub steady: Duration,
    /// Give up on a round when no write is acknowledged this long after the kill
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "S")]
    pub recovery_timeout: Duration,
    /// A request unanswered after this long counts as a `timeout` error
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "S")]
    pub timeout: Duration,
    #[arg(short = 'o', long, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,
}

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// Jobs to run (each `true`, 1 millicore, 1 MiB)
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub jobs: u32,
    /// `hodei worker` processes to start
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64), value_name = "W")]
    pub workers: u32,
    /// Jobs each worker may run at once (its offered millicores and MiB)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000), value_name = "S")]
    pub slots: u32,
    /// Closed-loop clients submitting
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
    pub concurrency: u32,
    /// Bench tenants; submissions rotate over them
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "T")]
    pub tenants: u32,
    /// YAML config for every node
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the nodes and workers keep their data and logs (default: a temp dir, removed after)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Give up when the jobs have not all finished this long after the last submit
    #[arg(long, default_value = "300s", value_parser = parse_duration, value_name = "S")]
    pub drain_timeout: Duration,
    #[arg(short = 'o', long, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Jobs to queue (no workers run, so all stay queued)
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000), value_name = "N")]
    pub jobs: u32,
    /// Tenants; job i goes to tenant i mod T
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "T")]
    pub tenants: u32,
    /// Closed-loop clients creating tenants and submitting
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
    pub concurrency: u32,
    /// Bytes of arguments each job carries (its command is `true` plus this payload)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=super::target::MAX_PAYLOAD as u64), value_name = "B")]
    pub payload_bytes: u64,
    /// YAML config for every node
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the nodes keep their data and logs (default: a temp dir, removed after)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,
}

#[derive(Debug, Args)]
pub struct EtcdArgs {
    /// etcd client URLs, comma separated; client i talks to endpoint i mod n
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1:2379", value_name = "ADDRS")]
    pub endpoints: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Bytes of each value
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=super::target::MAX_PAYLOAD as u64), value_name = "B")]
    pub payload_bytes: u64,
    /// Distinct keys written (puts) or read (ranges, written once first)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub keys: u32,
}
