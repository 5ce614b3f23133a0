//! Server configuration: parsed from the YAML file, then `HODEI_*` variables, then
//! flags (each overriding the one before), then validated by consuming it into a
//! [`ServerConfig`]. The environment is passed in, so tests need no globals.

pub mod domain;
pub mod duration;
mod env;
pub mod file;

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use serde::Deserialize;

use crate::cli::ServerArgs;
pub use domain::DomainSettings;

/// A configuration problem; `hodei server` prints it and exits with code 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn exit_code(&self) -> i32 {
        2
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub id: u64,
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    /// id -> peer address (`host:port`) of every founding member.
    pub initial_cluster: BTreeMap<u64, String>,
    pub join: Option<String>,
    pub jwt_secret_file: Option<PathBuf>,
    pub raft: RaftSettings,
    pub api: ApiSettings,
    pub domain: DomainSettings,
}

/// Raft timing; etcd-like defaults (heartbeat 100 ms, election 1 to 2 s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftSettings {
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub install_snapshot_timeout_ms: u64,
    pub snapshot_logs_since_last: u64,
    pub max_in_snapshot_log_to_keep: u64,
    pub snapshot_chunk_bytes: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_ms: 100,
            election_timeout_min_ms: 1000,
            election_timeout_max_ms: 2000,
            install_snapshot_timeout_ms: 30_000,
            snapshot_logs_since_last: 20_000,
            max_in_snapshot_log_to_keep: 1000,
            snapshot_chunk_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub max_body_bytes: u64,
    /// Bound on a request's wait for the cluster (writes, linearizable reads).
    pub request_timeout_ms: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings { max_body_bytes: 1024 * 1024, request_timeout_ms: 5000 }
    }
}

/// Loads the configuration: file < environment < flags.
pub fn load(flags: &ServerArgs, env: &BTreeMap<String, String>) -> Result<ServerConfig, ConfigError> {
    let err = |m: String| ConfigError(m);
    let config_path = flags.config.clone().or_else(|| env.get("HODEI_CONFIG").map(PathBuf::from));
    let mut f = match &config_path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| err(format!("cannot read config file {}: {e}", p.display())))?;
            let text = file::expand_vars(&text, env).map_err(|e| err(format!("{}: {e}", p.display())))?;
            file::parse(&text).map_err(|e| err(format!("{}: {e}", p.display())))?
        }
        None => file::FileConfig::default(),
    };
    env::apply(&mut f, env).map_err(err)?;
    let pick = |flag: &Option<String>, file: &Option<String>| flag.clone().or_else(|| file.clone());
    let id = flags.id.or(f.id).ok_or_else(|| err("--id is required (or `id:` in the config, or HODEI_ID)".into()))?;
    if id == 0 {
        return Err(err("--id must be a positive integer".into()));
    }
    let data_dir = flags.data_dir.clone().or(f.data_dir.clone()).unwrap_or_else(|| PathBuf::from(format!("hodei-data-{id}")));
    let http_addr = socket("--http", &pick(&flags.http, &f.http).unwrap_or_else(|| "127.0.0.1:8080".into()))?;
    let grpc_addr = socket("--grpc", &pick(&flags.grpc, &f.grpc).unwrap_or_else(|| "127.0.0.1:9090".into()))?;
    let peer_text = pick(&flags.peer, &f.peer).unwrap_or_else(|| "127.0.0.1:10090".into());
    let peer_addr = socket("--peer", &peer_text)?;
    let join = pick(&flags.join, &f.join);
    if let Some(j) = &join {
        host_port("--join", j)?;
    }
    let initial_cluster = match pick(&flags.initial_cluster, &f.initial_cluster) {
        Some(s) => parse_initial_cluster(&s)?,
        // Like etcd: a lone node founds a cluster of one.
        None if join.is_none() => BTreeMap::from([(id, peer_text.clone())]),
        None => BTreeMap::new(),
    };
    let rejoining = hodei_cluster::has_raft_state(&data_dir);
    if join.is_none() && !rejoining && !initial_cluster.contains_key(&id) {
        return Err(err(format!("--initial-cluster does not name this node's id {id}, and no --join address is given")));
    }
    let jwt_secret_file = flags.jwt_secret_file.clone().or(f.jwt_secret_file.clone());
    if let Some(p) = &jwt_secret_file {
        let meta = std::fs::metadata(p).map_err(|e| err(format!("--jwt-secret-file {}: {e}", p.display())))?;
        if meta.len() == 0 {
            return Err(err(format!("--jwt-secret-file {} is empty", p.display())));
        }
    }
    let raft = validate_raft(f.raft)?;
    if f.api.max_body_bytes < 1024 || f.api.request_timeout_ms < 100 {
        return Err(err("api: max_body_bytes must be >= 1024 and request_timeout_ms >= 100".into()));
    }
    let domain = DomainSettings {
        resource_pools: f.resource_pools,
        multi_tenancy: f.multi_tenancy,
        burst_capacity: f.burst_capacity,
        cost_tracking: f.cost_tracking,
        metrics: f.metrics,
        observability: f.observability,
    }
    .validate()
    .map_err(err)?;
    Ok(ServerConfig { id, data_dir, http_addr, grpc_addr, peer_addr, initial_cluster, join, jwt_secret_file, raft, api: f.api, domain })
}

fn validate_raft(r: RaftSettings) -> Result<RaftSettings, ConfigError> {
    if r.heartbeat_ms == 0 || r.heartbeat_ms >= r.election_timeout_min_ms || r.election_timeout_min_ms >= r.election_timeout_max_ms {
        return Err(ConfigError(format!(
            "raft: need 0 < heartbeat_ms ({}) < election_timeout_min_ms ({}) < election_timeout_max_ms ({})",
            r.heartbeat_ms, r.election_timeout_min_ms, r.election_timeout_max_ms
        )));
    }
    if r.snapshot_logs_since_last == 0 || r.snapshot_chunk_bytes < 1024 || r.install_snapshot_timeout_ms < r.heartbeat_ms {
        return Err(ConfigError("raft: snapshot_logs_since_last > 0, snapshot_chunk_bytes >= 1024, install_snapshot_timeout_ms >= heartbeat_ms".into()));
    }
    Ok(r)
}

fn socket(flag: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    host_port(flag, s)?;
    s.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ConfigError(format!("{flag} {s:?} is not a usable host:port")))
}

fn host_port(flag: &str, s: &str) -> Result<(), ConfigError> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(()),
        _ => Err(ConfigError(format!("{flag} {s:?} must be host:port"))),
    }
}

/// `1=host:port,2=host:port` into id -> address.
pub fn parse_initial_cluster(s: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| ConfigError(format!("--initial-cluster entry {part:?} must be id=host:port")))?;
        let id: u64 = id.trim().parse().map_err(|_| ConfigError(format!("--initial-cluster id {id:?} is not a number")))?;
        if id == 0 {
            return Err(ConfigError("--initial-cluster ids start at 1".into()));
        }
        host_port("--initial-cluster", addr.trim())?;
        if out.insert(id, addr.trim().to_string()).is_some() {
            return Err(ConfigError(format!("--initial-cluster names id {id} twice")));
        }
    }
    if out.is_empty() {
        return Err(ConfigError("--initial-cluster is empty".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
