//! Server configuration, in three layers: the YAML file (`--config` or
//! `HODEI_CONFIG`), then `HODEI_*` variables, then flags, each overriding the one
//! before. The merged [`raw::RawConfig`] is then validated by consuming it into a
//! [`ServerConfig`]. The environment is passed in, so tests need no globals.
//!
//! ```text
//! file::read ──► env::apply ──► ServerKeys::from_flags (overlay) ──► RawConfig::validate ──► ServerConfig
//! ```
//!
//! Every key, variable and flag is listed in `docs/configuration.md`.

pub mod addr;
mod bootstrap;
pub mod domain;
pub mod duration;
pub mod env;
mod error;
pub mod file;
pub mod pools;
pub mod raw;
pub mod settings;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::cli::ServerArgs;

pub use addr::parse_initial_cluster;
pub use domain::DomainSettings;
pub use duration::parse_duration;
pub use error::{ConfigError, Origin};
pub use settings::{ApiSettings, RaftSettings};

/// A node's validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub id: u64,
    pub data_dir: PathBuf,
    /// REST listen address.
    pub http_addr: SocketAddr,
    /// Public gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// Raft peer service listen address.
    pub peer_addr: SocketAddr,
    /// The host other nodes and clients dial instead of the listen host, with the
    /// listen ports (a container that listens on 0.0.0.0 and is known by name).
    pub advertise_host: Option<String>,
    /// id -> `host:peerport` of every founding member. Used only by a node whose
    /// data dir holds no cluster yet; always contains `id` unless `join` is set
    /// or the data dir already holds a cluster.
    pub initial_cluster: BTreeMap<u64, String>,
    /// An existing member's address (`host:port`) to join through.
    pub join: Option<String>,
    /// Exists and is not empty, checked at load time.
    pub jwt_secret_file: Option<PathBuf>,
    pub raft: RaftSettings,
    pub api: ApiSettings,
    pub domain: DomainSettings,
}

/// Loads the configuration: file < environment < flags, then validates it.
pub fn load(flags: &ServerArgs, env: &BTreeMap<String, String>) -> Result<ServerConfig, ConfigError> {
    let config_path = flags.config.clone().or_else(|| env.get("HODEI_CONFIG").filter(|p| !p.is_empty()).map(PathBuf::from));
    let mut raw = match &config_path {
        Some(path) => file::read(path, env)?,
        None => raw::RawConfig::default(),
    };
    env::apply(&mut raw, env)?;
    raw.keys.overlay(raw::ServerKeys::from_flags(flags));
    raw.validate(env)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
