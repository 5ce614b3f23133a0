//! `HODEI_*` variables, applied over the config file. A variable that looks like a
//! config key but is not one (`HODEI_HTTTP`, `HODEI_RAFT_HEARTBEAT`) is an error,
//! so a typo cannot silently do nothing; unrelated ones (Kubernetes' service
//! links such as `HODEI_PORT` or `HODEI_SERVICE_HOST`) are left alone. An empty
//! value counts as unset.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::{ConfigError, Origin};
use super::raw::{RawConfig, Sourced};

/// Variables read elsewhere in Hodei, never config keys.
pub const NOT_CONFIG: &[&str] = &[
    "HODEI_CONFIG",
    "HODEI_LOG",
    "HODEI_LOG_FORMAT",
    "HODEI_TOKEN",
    "HODEI_ENDPOINTS",
    "HODEI_TENANT",
    "HODEI_FAULT_INJECTION",
    "HODEI_BIN",
    "HODEI_BLESS",
];

/// Every variable [`apply`] understands, in the order docs/configuration.md lists them.
pub const KNOWN: &[&str] = &[
    "HODEI_ID",
    "HODEI_DATA_DIR",
    "HODEI_HTTP",
    "HODEI_GRPC",
    "HODEI_PEER",
    "HODEI_ADVERTISE_HOST",
    "HODEI_INITIAL_CLUSTER",
    "HODEI_JOIN",
    "HODEI_JWT_SECRET_FILE",
    "HODEI_RAFT_HEARTBEAT_MS",
    "HODEI_RAFT_ELECTION_TIMEOUT_MIN_MS",
    "HODEI_RAFT_ELECTION_TIMEOUT_MAX_MS",
    "HODEI_RAFT_INSTALL_SNAPSHOT_TIMEOUT_MS",
    "HODEI_RAFT_SNAPSHOT_LOGS_SINCE_LAST",
    "HODEI_RAFT_MAX_IN_SNAPSHOT_LOG_TO_KEEP",
    "HODEI_RAFT_SNAPSHOT_CHUNK_BYTES",
    "HODEI_RAFT_PROTOCOL_VERSION",
    "HODEI_RAFT_MAX_BATCH",
    "HODEI_API_MAX_BODY_BYTES",
    "HODEI_API_REQUEST_TIMEOUT_MS",
    "HODEI_API_JWT_PUBLIC_KEY_FILE",
    "HODEI_API_JWT_PUBLIC_KEY_ALGORITHM",
];

pub fn apply(raw: &mut RawConfig, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, value) in env.iter().filter(|(k, v)| k.starts_with("HODEI_") && !v.is_empty()) {
        let Some(&known) = KNOWN.iter().find(|k| **k == name.as_str()) else {
            if looks_like_config(name) {
                return Err(ConfigError::UnknownEnv { name: name.clone(), hint: nearest(name) });
            }
            continue;
        };
        let text = || Some(Sourced { value: value.clone(), origin: Origin::Env(known) });
        let path = || Some(Sourced { value: PathBuf::from(value), origin: Origin::Env(known) });
        let num = || {
            value.trim().parse::<u64>().map_err(|_| ConfigError::BadEnv {
                name: known,
                value: value.clone(),
                reason: "not a non-negative integer".into(),
            })
        };
        let (k, r, a) = (&mut raw.keys, &mut raw.raft, &mut raw.api);
        match known {
            "HODEI_ID" => k.id = Some(Sourced { value: num()?, origin: Origin::Env(known) }),
            "HODEI_DATA_DIR" => k.data_dir = path(),
            "HODEI_HTTP" => k.http = text(),
            "HODEI_GRPC" => k.grpc = text(),
            "HODEI_PEER" => k.peer = text(),
            "HODEI_ADVERTISE_HOST" => k.advertise_host = text(),
            "HODEI_INITIAL_CLUSTER" => k.initial_cluster = text(),
            "HODEI_JOIN" => k.join = text(),
            "HODEI_JWT_SECRET_FILE" => k.jwt_secret_file = path(),
            "HODEI_RAFT_HEARTBEAT_MS" => r.heartbeat_ms = num()?,
            "HODEI_RAFT_ELECTION_TIMEOUT_MIN_MS" => r.election_timeout_min_ms = num()?,
            "HODEI_RAFT_ELECTION_TIMEOUT_MAX_MS" => r.election_timeout_max_ms = num()?,
            "HODEI_RAFT_INSTALL_SNAPSHOT_TIMEOUT_MS" => r.install_snapshot_timeout_ms = num()?,
            "HODEI_RAFT_SNAPSHOT_LOGS_SINCE_LAST" => r.snapshot_logs_since_last = num()?,
            "HODEI_RAFT_MAX_IN_SNAPSHOT_LOG_TO_KEEP" => r.max_in_snapshot_log_to_keep = num()?,
            "HODEI_RAFT_SNAPSHOT_CHUNK_BYTES" => r.snapshot_chunk_bytes = num()?,
            "HODEI_RAFT_MAX_BATCH" => r.max_batch = num()?,
            "HODEI_RAFT_PROTOCOL_VERSION" => r.protocol_version = u32::try_from(num()?).unwrap_or(u32::MAX),
            "HODEI_API_MAX_BODY_BYTES" => a.max_body_bytes = num()?,
            "HODEI_API_REQUEST_TIMEOUT_MS" => a.request_timeout_ms = num()?,
            "HODEI_API_JWT_PUBLIC_KEY_FILE" => a.jwt_public_key_file = Some(PathBuf::from(value)),
            "HODEI_API_JWT_PUBLIC_KEY_ALGORITHM" => a.jwt_public_key_algorithm = Some(value.clone()),
            other => unreachable!("{other} is in KNOWN but has no setter"),
        }
    }
    Ok(())
}

/// Shares its first word with a known variable (`HODEI_RAFT_...`), or is a typo
/// of one.
fn looks_like_config(name: &str) -> bool {
    if NOT_CONFIG.contains(&name) {
        return false;
    }
    let word = |n: &str| n.trim_start_matches("HODEI_").split('_').next().unwrap_or("").to_string();
    let first = word(name);
    KNOWN.iter().any(|k| word(k) == first) || nearest(name).is_some()
}

/// The known variable within a small edit distance (1 for short names, else 2).
fn nearest(name: &str) -> Option<&'static str> {
    let suffix = name.trim_start_matches("HODEI_");
    let limit = if suffix.len() <= 4 { 1 } else { 2 };
    KNOWN.iter().map(|k| (edit_distance(suffix, k.trim_start_matches("HODEI_")), *k)).filter(|(d, _)| *d <= limit).min().map(|(_, k)| k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// swaps of neighbours (`JION` is one edit from `JOIN`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j - 1] + cost).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_caught_and_foreign_variables_ignored() {
        for typo in ["HODEI_HTTTP", "HODEI_HTTPS", "HODEI_RAFT_HEARTBEAT", "HODEI_JION", "HODEI_API_TIMEOUT_MS", "HODEI_DATADIR"] {
            assert!(looks_like_config(typo), "{typo} should be reported");
        }
        for foreign in ["HODEI_PORT", "HODEI_PORT_8080_TCP_ADDR", "HODEI_SERVICE_HOST", "HODEI_BIN", "HODEI_LOG", "HODEI_TOKEN"] {
            assert!(!looks_like_config(foreign), "{foreign} should be ignored");
        }
        assert_eq!(nearest("HODEI_HTTTP"), Some("HODEI_HTTP"));
        assert_eq!(nearest("HODEI_JION"), Some("HODEI_JOIN"));
        assert_eq!(nearest("HODEI_API_TIMEOUT_MS"), None, "too far to guess, still reported");
    }

    #[test]
    fn every_known_variable_has_a_setter() {
        let mut raw = RawConfig::default();
        let env: BTreeMap<String, String> = KNOWN.iter().map(|k| (k.to_string(), "7".to_string())).collect();
        apply(&mut raw, &env).unwrap();
        assert_eq!(raw.keys.id.map(|s| s.value), Some(7));
        assert_eq!(raw.raft.snapshot_chunk_bytes, 7);
        assert_eq!(raw.api.request_timeout_ms, 7);
    }
}
