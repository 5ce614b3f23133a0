//! The YAML config file. Server keys sit either at the top level or under
//! `node:`, next to the seeds' sections (`resource_pools`, `multi_tenancy`,
//! `burst_capacity`, `cost_tracking`, `metrics`, `observability`). Unknown keys,
//! anywhere, are an error naming the key and its line.
//!
//! `${VAR}` in any string value (quoted or not) is replaced from the passed-in
//! environment, with docker-compose rules: `${VAR:-default}`, `${VAR:?message}`
//! for a required one, `$$` for a literal `$`; an unset `${VAR}` becomes empty.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::options::PropertySyntax;

use super::domain::{BurstCapacity, CostTracking, DomainSettings, Metrics, MultiTenancy, Observability};
use super::error::{ConfigError, Origin};
use super::pools::ResourcePools;
use super::raw::{each_server_key, RawConfig, ServerKeys, Sourced};
use super::settings::{ApiSettings, RaftSettings};

/// The server keys, as they may appear under `node:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSection {
    id: Option<u64>,
    data_dir: Option<PathBuf>,
    http: Option<String>,
    grpc: Option<String>,
    peer: Option<String>,
    advertise_host: Option<String>,
    initial_cluster: Option<String>,
    join: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    raft: Option<RaftSettings>,
    api: Option<ApiSettings>,
}

/// The whole file. The server keys repeat [`NodeSection`]'s: serde cannot both
/// flatten a struct and deny unknown fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    node: Option<NodeSection>,
    id: Option<u64>,
    data_dir: Option<PathBuf>,
    http: Option<String>,
    grpc: Option<String>,
    peer: Option<String>,
    advertise_host: Option<String>,
    initial_cluster: Option<String>,
    join: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    raft: Option<RaftSettings>,
    api: Option<ApiSettings>,
    #[serde(default)]
    resource_pools: ResourcePools,
    #[serde(default)]
    multi_tenancy: MultiTenancy,
    #[serde(default)]
    burst_capacity: BurstCapacity,
    #[serde(default)]
    cost_tracking: CostTracking,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    observability: Observability,
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path, env: &BTreeMap<String, String>) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse(&text, env, path)
}

/// Parses a config file's text; `path` is only used in messages.
pub fn parse(text: &str, env: &BTreeMap<String, String>, path: &Path) -> Result<RawConfig, ConfigError> {
    let properties: HashMap<String, String> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut options = serde_saphyr::options! { with_snippet: false }.with_properties(properties);
    options.property_syntax = PropertySyntax::DockerCompose;
    let file: FileConfig = if text.trim().is_empty() {
        FileConfig::default()
    } else {
        serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: one_line(&e.to_string()) })?
    };
    file.into_raw()
}

/// serde-saphyr's messages may span lines; errors here are one line each.
fn one_line(message: &str) -> String {
    let first = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("invalid YAML");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

impl FileConfig {
    fn into_raw(self) -> Result<RawConfig, ConfigError> {
        let nested = self.node.unwrap_or_default();
        let mut keys = ServerKeys::default();
        macro_rules! pick {
            ($($k:ident),*) => { $(
                keys.$k = one_of(stringify!($k), self.$k, nested.$k)?;
            )* };
        }
        each_server_key!(pick);
        let raft = one_of("raft", self.raft, nested.raft)?.map(|s| s.value).unwrap_or_default();
        let api = one_of("api", self.api, nested.api)?.map(|s| s.value).unwrap_or_default();
        let domain = DomainSettings {
            resource_pools: self.resource_pools,
            multi_tenancy: self.multi_tenancy,
            burst_capacity: self.burst_capacity,
            cost_tracking: self.cost_tracking,
            metrics: self.metrics,
            observability: self.observability,
        };
        Ok(RawConfig { keys, raft, api, domain })
    }
}

/// A key may be written flat or under `node:`, not both.
fn one_of<T>(key: &'static str, flat: Option<T>, nested: Option<T>) -> Result<Option<Sourced<T>>, ConfigError> {
    match (flat, nested) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict { key }),
        (Some(value), None) => Ok(Some(Sourced { value, origin: Origin::File(key.to_string()) })),
        (None, Some(value)) => Ok(Some(Sourced { value, origin: Origin::File(format!("node.{key}")) })),
        (None, None) => Ok(None),
    }
}
