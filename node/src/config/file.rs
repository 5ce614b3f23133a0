//! The YAML config file. Server keys sit at the top level next to the seeds'
//! sections (`resource_pools`, `multi_tenancy`, `burst_capacity`, `cost_tracking`,
//! `metrics`, `observability`); unknown keys anywhere are an error.

use std::path::PathBuf;

use serde::Deserialize;

use super::domain::{BurstCapacity, CostTracking, Metrics, MultiTenancy, Observability, ResourcePools};
use super::{ApiSettings, RaftSettings};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub id: Option<u64>,
    pub data_dir: Option<PathBuf>,
    pub http: Option<String>,
    pub grpc: Option<String>,
    pub peer: Option<String>,
    pub initial_cluster: Option<String>,
    pub join: Option<String>,
    pub jwt_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub raft: RaftSettings,
    #[serde(default)]
    pub api: ApiSettings,
    #[serde(default)]
    pub resource_pools: ResourcePools,
    #[serde(default)]
    pub multi_tenancy: MultiTenancy,
    #[serde(default)]
    pub burst_capacity: BurstCapacity,
    #[serde(default)]
    pub cost_tracking: CostTracking,
    #[serde(default)]
    pub metrics: Metrics,
    #[serde(default)]
    pub observability: Observability,
}

/// Replaces `${VAR}` with the variable's value from `env`; an unset variable is an
/// error, so a typo cannot silently become an empty string.
pub fn expand_vars(text: &str, env: &std::collections::BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unterminated ${ in config file")?;
        let name = &after[..end];
        let value = env.get(name).ok_or_else(|| format!("config file uses ${{{name}}}, which is not set"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn parse(text: &str) -> Result<FileConfig, String> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}
