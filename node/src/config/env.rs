//! `HODEI_*` variables, applied over the config file. An unknown `HODEI_*`
//! variable is an error, so a typo cannot silently do nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::file::FileConfig;

/// Variables that are not config keys but belong to other parts of Hodei.
const NOT_CONFIG: &[&str] = &[
    "HODEI_CONFIG",
    "HODEI_LOG",
    "HODEI_LOG_FORMAT",
    "HODEI_TOKEN",
    "HODEI_ENDPOINTS",
    "HODEI_FAULT_INJECTION",
    "HODEI_BIN",
    "HODEI_BLESS",
];

pub fn apply(f: &mut FileConfig, env: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in env.iter().filter(|(k, _)| k.starts_with("HODEI_")) {
        let num = || value.parse::<u64>().map_err(|_| format!("{key}={value:?} is not a number"));
        match key.as_str() {
            k if NOT_CONFIG.contains(&k) => {}
            "HODEI_ID" => f.id = Some(num()?),
            "HODEI_DATA_DIR" => f.data_dir = Some(PathBuf::from(value)),
            "HODEI_HTTP" => f.http = Some(value.clone()),
            "HODEI_GRPC" => f.grpc = Some(value.clone()),
            "HODEI_PEER" => f.peer = Some(value.clone()),
            "HODEI_INITIAL_CLUSTER" => f.initial_cluster = Some(value.clone()),
            "HODEI_JOIN" => f.join = Some(value.clone()),
            "HODEI_JWT_SECRET_FILE" => f.jwt_secret_file = Some(PathBuf::from(value)),
            "HODEI_RAFT_HEARTBEAT_MS" => f.raft.heartbeat_ms = num()?,
            "HODEI_RAFT_ELECTION_TIMEOUT_MIN_MS" => f.raft.election_timeout_min_ms = num()?,
            "HODEI_RAFT_ELECTION_TIMEOUT_MAX_MS" => f.raft.election_timeout_max_ms = num()?,
            "HODEI_RAFT_INSTALL_SNAPSHOT_TIMEOUT_MS" => f.raft.install_snapshot_timeout_ms = num()?,
            "HODEI_RAFT_SNAPSHOT_LOGS_SINCE_LAST" => f.raft.snapshot_logs_since_last = num()?,
            "HODEI_RAFT_MAX_IN_SNAPSHOT_LOG_TO_KEEP" => f.raft.max_in_snapshot_log_to_keep = num()?,
            "HODEI_RAFT_SNAPSHOT_CHUNK_BYTES" => f.raft.snapshot_chunk_bytes = num()?,
            "HODEI_API_MAX_BODY_BYTES" => f.api.max_body_bytes = num()?,
            "HODEI_API_REQUEST_TIMEOUT_MS" => f.api.request_timeout_ms = num()?,
            other => return Err(format!("unknown environment variable {other} (see docs/configuration.md)")),
        }
    }
    Ok(())
}
