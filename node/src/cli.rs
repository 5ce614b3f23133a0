//! The `hodei` command line (clap derive). The argument structs are public so
//! `main` and tests can dispatch on them. `server`'s flags are all optional
//! here: [`crate::config::load`] merges them over `HODEI_*` variables and the
//! config file, and reports what is missing.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::duration::parse_duration;

#[derive(Debug, Parser)]
#[command(name = "hodei", version, about = "Hodei: a Raft-replicated control plane for multi-tenant batch jobs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one cluster node.
    Server(ServerArgs),
    /// Run a local cluster of node processes under one folder (the embedded default).
    Dev(DevArgs),
    /// Print a signed JWT for the cluster's shared secret.
    Token(TokenArgs),
    /// Tenants: create, get, list.
    Tenant(crate::client::args::TenantCmd),
    /// Jobs: submit, get, list, cancel.
    Job(crate::client::args::JobCmd),
    /// Pools: create, list, get, scale, history, delete.
    Pool(crate::client::admin::PoolCmd),
    /// A tenant's quota: get, set.
    Quota(crate::client::admin::QuotaCmd),
    /// Burst leases: request, list, approve, deny, revoke.
    Burst(crate::client::admin::BurstCmd),
    /// Cost: report, breakdown, recommendations.
    Cost(crate::client::admin::CostCmd),
    /// Queued jobs per tenant.
    Queue(ClientArgs),
    /// The cluster: status, add, remove, snapshot.
    Cluster(crate::client::args::ClusterCmd),
    /// Run a worker agent that executes jobs as processes.
    Worker(crate::worker::WorkerArgs),
    /// Seed a fresh data dir from a backup (`hodei cluster snapshot`).
    Restore(crate::restore::RestoreArgs),
    /// Load generators: submit, read, failover (see docs/performance.md).
    Bench(crate::bench::args::BenchCmd),
    /// Grafana dashboards: push (upload through Grafana's HTTP API).
    Dashboards(crate::dashboards::DashboardsCmd),
    /// Print a shell completion script: `source <(hodei completions bash)`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `hodei server`. Each flag has a config-file key and a `HODEI_*` variable
/// (see docs/configuration.md); a flag wins over both.
#[derive(Debug, Default, Clone, Args)]
pub struct ServerArgs {
    /// This node's id, a positive integer unique in the cluster [env: HODEI_ID]
    #[arg(long, value_name = "N")]
    pub id: Option<u64>,
    /// Where the node keeps its Raft log, snapshots and state [env: HODEI_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// REST listen address, host:port [env: HODEI_HTTP]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Public gRPC listen address, host:port [env: HODEI_GRPC]
    #[arg(long, value_name = "ADDR")]
    pub grpc: Option<String>,
    /// Raft peer service listen address, host:port [env: HODEI_PEER]
    #[arg(long, value_name = "ADDR")]
    pub peer: Option<String>,
    /// Host name or IP other nodes and clients use to reach this node, when it differs from the listen host (a container listening on 0.0.0.0) [env: HODEI_ADVERTISE_HOST]
    #[arg(long, value_name = "HOST")]
    pub advertise_host: Option<String>,
    /// Founding members, 1=host:peerport,2=host:peerport,... (ignored once the data dir holds a cluster) [env: HODEI_INITIAL_CLUSTER]
    #[arg(long, value_name = "LIST")]
    pub initial_cluster: Option<String>,
    /// Address of a running member to join through, host:port [env: HODEI_JOIN]
    #[arg(long, value_name = "ADDR")]
    pub join: Option<String>,
    /// File holding the shared JWT secret (default: <data-dir>/jwt.secret, created) [env: HODEI_JWT_SECRET_FILE]
    #[arg(long, value_name = "FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// YAML config file; HODEI_* variables and flags override its keys [env: HODEI_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `hodei dev`: node i (from 1) serves REST on 127.0.0.1:(http-base + i), gRPC on
/// 127.0.0.1:(grpc-base + i) and peers on 127.0.0.1:(peer-base + i).
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// How many nodes to run
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Folder for every node's data, the JWT secret and the admin token
    #[arg(long, default_value = "./hodei-dev", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Node i serves REST on 127.0.0.1:(http-base + i)
    #[arg(long, default_value_t = 8080, value_name = "PORT")]
    pub http_base: u16,
    /// Node i serves gRPC on 127.0.0.1:(grpc-base + i)
    #[arg(long, default_value_t = 9090, value_name = "PORT")]
    pub grpc_base: u16,
    /// Node i serves Raft peers on 127.0.0.1:(peer-base + i)
    #[arg(long, default_value_t = 10090, value_name = "PORT")]
    pub peer_base: u16,
    /// Worker agents to start in the `default` pool
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub workers_static: u32,
}

impl DevArgs {
    /// REST, gRPC and peer ports of node `i` (from 1), or `None` past port 65535.
    pub fn ports(&self, i: u64) -> Option<(u16, u16, u16)> {
        let add = |base: u16| u16::try_from(i).ok().and_then(|i| base.checked_add(i));
        Some((add(self.http_base)?, add(self.grpc_base)?, add(self.peer_base)?))
    }
}

/// `hodei token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The cluster's JWT secret file
    #[arg(long, value_name = "FILE")]
    pub secret_file: PathBuf,
    /// admin, tenant, viewer or worker
    #[arg(long, value_parser = ["admin", "tenant", "viewer", "worker"])]
    pub role: String,
    /// The tenant id, required for tenant tokens
    #[arg(long, value_name = "ID")]
    pub tenant: Option<String>,
    /// Lifetime: 90s, 30m, 1h, 7d
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
    /// The `iss` claim
    #[arg(long, default_value = hodei_api::auth::ISSUER)]
    pub issuer: String,
    /// The `aud` claim
    #[arg(long, default_value = hodei_api::auth::AUDIENCE)]
    pub audience: String,
}

/// Flags shared by client verbs (etcdctl/kubectl habits); flatten it into them.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Nodes to talk to, comma separated; any node will do, the first that answers is used
    #[arg(long, global = true, env = "HODEI_ENDPOINTS", value_delimiter = ',', default_value = "http://127.0.0.1:8081", value_name = "URLS")]
    pub endpoints: Vec<String>,
    /// Bearer token (see `hodei token`)
    #[arg(long, global = true, env = "HODEI_TOKEN", hide_env_values = true, value_name = "JWT")]
    pub token: Option<String>,
    /// Output format
    /// Output format (default: table on a terminal, JSON otherwise)
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("hodei").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn server_takes_the_issue_s_flags() {
        let Command::Server(a) = parse(&[
            "server",
            "--id",
            "2",
            "--data-dir",
            "/d",
            "--http",
            "127.0.0.1:8082",
            "--grpc",
            "127.0.0.1:9092",
            "--peer",
            "127.0.0.1:10092",
            "--initial-cluster",
            "1=a:1,2=b:2",
            "--join",
            "a:1",
            "--jwt-secret-file",
            "/s",
            "--config",
            "/c.yaml",
        ])
        .unwrap() else {
            panic!("not server")
        };
        assert_eq!(a.id, Some(2));
        assert_eq!(a.initial_cluster.as_deref(), Some("1=a:1,2=b:2"));
        assert_eq!(a.config, Some(PathBuf::from("/c.yaml")));
        let Command::Server(empty) = parse(&["server"]).unwrap() else { panic!() };
        assert!(empty.id.is_none() && empty.http.is_none(), "flags are optional: load() merges and checks");
    }

    #[test]
    fn dev_defaults_and_ports() {
        let Command::Dev(d) = parse(&["dev"]).unwrap() else { panic!() };
        assert_eq!((d.nodes, d.workers_static), (3, 2));
        assert_eq!(d.data_dir, PathBuf::from("./hodei-dev"));
        assert_eq!(d.ports(1), Some((8081, 9091, 10091)));
        let Command::Dev(d) = parse(&["dev", "--nodes", "5", "--http-base", "65534"]).unwrap() else { panic!() };
        assert_eq!(d.ports(2), None, "65534 + 2 is past the last port");
        assert!(parse(&["dev", "--nodes", "0"]).is_err());
        assert!(parse(&["dev", "--nodes", "10"]).is_err());
    }

    #[test]
    fn token_checks_role_and_ttl() {
        let Command::Token(t) = parse(&["token", "--secret-file", "s", "--role", "tenant", "--tenant", "7", "--ttl", "30m"]).unwrap()
        else {
            panic!()
        };
        assert_eq!((t.role.as_str(), t.ttl), ("tenant", Duration::from_secs(1800)));
        assert_eq!((t.issuer.as_str(), t.audience.as_str()), ("hodei", "hodei"));
        let Command::Token(t) = parse(&["token", "--secret-file", "s", "--role", "admin"]).unwrap() else { panic!() };
        assert_eq!(t.ttl, Duration::from_secs(3600));
        assert!(parse(&["token", "--secret-file", "s", "--role", "root"]).is_err());
        assert!(parse(&["token", "--secret-file", "s", "--role", "admin", "--ttl", "5"]).is_err());
    }

    #[derive(Debug, Parser)]
    struct ClientHarness {
        #[command(flatten)]
        client: ClientArgs,
    }

    #[test]
    fn client_flags_split_endpoints_and_pick_a_format() {
        let c = ClientHarness::try_parse_from(["x", "--endpoints", "http://a:1,http://b:2", "-o", "json", "--token", "t"]).unwrap().client;
        assert_eq!(c.endpoints, ["http://a:1", "http://b:2"]);
        assert_eq!((c.output, c.token.as_deref()), (Some(OutputFormat::Json), Some("t")));
        assert!(ClientHarness::try_parse_from(["x", "-o", "xml"]).is_err());
    }
}
