//! The node's own tunables: Raft timing and the client API's limits. Each section
//! is parsed with defaults, then validated by consuming it.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// Raft timing and snapshot policy. Defaults: heartbeat 50 ms, election 200
/// to 400 ms, so a leader's loss costs under a second (openraft waits out the
/// old leader's lease, `election_timeout_max`, plus a drawn timeout; see
/// docs/performance.md, "Failover"), and the snapshot timeout is long enough
/// for a large snapshot to arrive without re-send loops.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftSettings {
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub install_snapshot_timeout_ms: u64,
    /// Take a snapshot after this many log entries since the last one.
    pub snapshot_logs_since_last: u64,
    /// Entries kept behind a snapshot so a slightly lagging follower needs none (0 allowed).
    pub max_in_snapshot_log_to_keep: u64,
    pub snapshot_chunk_bytes: u64,
    /// The protocol version this node speaks: this build's by default; the
    /// previous one to run this build as the previous release (upgrade tests).
    pub protocol_version: u32,
    /// Most client writes one Raft entry carries (1 turns batching off).
    pub max_batch: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_ms: 50,
            election_timeout_min_ms: 200,
            election_timeout_max_ms: 400,
            install_snapshot_timeout_ms: 30_000,
            snapshot_logs_since_last: 20_000,
            max_in_snapshot_log_to_keep: 1000,
            snapshot_chunk_bytes: 4 * 1024 * 1024,
            protocol_version: hodei_domain::PROTOCOL_VERSION,
            max_batch: hodei_cluster::batch::DEFAULT_MAX_BATCH as u64,
        }
    }
}

impl RaftSettings {
    /// Holds: `0 < heartbeat < election_min < election_max`, a snapshot timeout no
    /// shorter than a heartbeat, and non-zero snapshot sizes.
    pub fn validate(self) -> Result<Self, ConfigError> {
        let r = &self;
        if r.heartbeat_ms == 0 || r.heartbeat_ms >= r.election_timeout_min_ms || r.election_timeout_min_ms >= r.election_timeout_max_ms {
            return Err(ConfigError::invalid(
                "raft",
                format!(
                    "need 0 < heartbeat_ms ({}) < election_timeout_min_ms ({}) < election_timeout_max_ms ({})",
                    r.heartbeat_ms, r.election_timeout_min_ms, r.election_timeout_max_ms
                ),
            ));
        }
        if r.install_snapshot_timeout_ms < r.heartbeat_ms {
            return Err(ConfigError::invalid("raft.install_snapshot_timeout_ms", "must be at least heartbeat_ms"));
        }
        if r.snapshot_logs_since_last == 0 {
            return Err(ConfigError::invalid("raft.snapshot_logs_since_last", "must be positive"));
        }
        if r.snapshot_chunk_bytes < 1024 {
            return Err(ConfigError::invalid("raft.snapshot_chunk_bytes", "must be at least 1024"));
        }
        if !(1..=4096).contains(&r.max_batch) {
            return Err(ConfigError::invalid("raft.max_batch", format!("must be 1 to 4096, not {}", r.max_batch)));
        }
        let versions = hodei_domain::OLDEST_PROTOCOL_VERSION..=hodei_domain::PROTOCOL_VERSION;
        if !versions.contains(&r.protocol_version) {
            return Err(ConfigError::invalid(
                "raft.protocol_version",
                format!("this build speaks {} to {}, not {}", versions.start(), versions.end(), r.protocol_version),
            ));
        }
        Ok(self)
    }
}

/// Limits of the REST and gRPC API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Largest accepted request body.
    pub max_body_bytes: u64,
    /// Bound on a request's wait for the cluster (writes, linearizable reads):
    /// past it the client gets a timeout, which means "maybe applied".
    pub request_timeout_ms: u64,
    /// An external issuer's PEM public key: tokens it signs with
    /// `jwt_public_key_algorithm` are accepted besides the shared-secret ones.
    pub jwt_public_key_file: Option<PathBuf>,
    /// `RS256` or `ES256`; required with `jwt_public_key_file`.
    pub jwt_public_key_algorithm: Option<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings { max_body_bytes: 1024 * 1024, request_timeout_ms: 5000, jwt_public_key_file: None, jwt_public_key_algorithm: None }
    }
}

impl ApiSettings {
    /// Holds: a body limit of at least 1 KiB and a request timeout of at least 100 ms.
    pub fn validate(self) -> Result<Self, ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::invalid("api.max_body_bytes", "must be at least 1024"));
        }
        if self.request_timeout_ms < 100 {
            return Err(ConfigError::invalid("api.request_timeout_ms", "must be at least 100"));
        }
        match (&self.jwt_public_key_file, &self.jwt_public_key_algorithm) {
            (None, None) => {}
            (Some(f), Some(alg)) => {
                let pem = std::fs::read(f)
                    .map_err(|e| ConfigError::invalid("api.jwt_public_key_file", format!("{}: {e}", f.display())))?;
                hodei_api::Authenticator::hs256(b"-")
                    .with_public_key(alg, &pem)
                    .map_err(|e| ConfigError::invalid("api.jwt_public_key_algorithm", format!("{}: {e}", f.display())))?;
            }
            (Some(_), None) => return Err(ConfigError::invalid("api.jwt_public_key_algorithm", "RS256 or ES256 is required with jwt_public_key_file")),
            (None, Some(_)) => return Err(ConfigError::invalid("api.jwt_public_key_file", "required with jwt_public_key_algorithm")),
        }
        Ok(self)
    }
}
