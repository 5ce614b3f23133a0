//! The `hodei` command line (clap). Flags of `server` are all optional here: the
//! config loader merges them over the environment and the config file.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::duration::parse_duration;

#[derive(Debug, Parser)]
#[command(name = "hodei", version, about = "Hodei: a highly available control plane for multi-tenant batch jobs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one cluster node.
    Server(ServerArgs),
    /// Run a local cluster of node processes (the embedded default).
    Dev(DevArgs),
    /// Print a signed JWT for the cluster's shared secret.
    Token(TokenArgs),
}

#[derive(Debug, Default, Clone, Args)]
pub struct ServerArgs {
    /// This node's id (a positive integer, unique in the cluster).
    #[arg(long)]
    pub id: Option<u64>,
    /// Where the node keeps its Raft log, snapshots and secrets.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// REST listen address (host:port).
    #[arg(long)]
    pub http: Option<String>,
    /// Public gRPC listen address (host:port).
    #[arg(long)]
    pub grpc: Option<String>,
    /// Raft peer listen address (host:port), also what other members dial.
    #[arg(long)]
    pub peer: Option<String>,
    /// Founding members: `1=host:peerport,2=host:peerport,...`.
    #[arg(long)]
    pub initial_cluster: Option<String>,
    /// Peer address of a running member to join through.
    #[arg(long)]
    pub join: Option<String>,
    /// File holding the shared JWT secret (default: `<data-dir>/jwt.secret`, created).
    #[arg(long)]
    pub jwt_secret_file: Option<PathBuf>,
    /// YAML config file; flags and `HODEI_*` variables override its keys.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// How many nodes to run.
    #[arg(long, default_value_t = 3)]
    pub nodes: u64,
    /// Folder for every node's data, the secret and the admin token.
    #[arg(long, default_value = "./hodei-dev")]
    pub data_dir: PathBuf,
    /// Node i serves REST on 127.0.0.1:(http-base + i).
    #[arg(long, default_value_t = 8080)]
    pub http_base: u16,
    /// Node i serves gRPC on 127.0.0.1:(grpc-base + i).
    #[arg(long, default_value_t = 9090)]
    pub grpc_base: u16,
    /// Node i serves Raft peers on 127.0.0.1:(peer-base + i).
    #[arg(long, default_value_t = 10090)]
    pub peer_base: u16,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The cluster's JWT secret file.
    #[arg(long)]
    pub secret_file: PathBuf,
    /// admin, tenant or viewer.
    #[arg(long)]
    pub role: String,
    /// The tenant id, for tenant tokens.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Lifetime: `90s`, `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    #[arg(long, default_value = hodei_api::auth::ISSUER)]
    pub issuer: String,
    #[arg(long, default_value = hodei_api::auth::AUDIENCE)]
    pub audience: String,
}
