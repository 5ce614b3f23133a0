//! What can be wrong with a node's configuration. Every message is one line that
//! names the offending key, variable or flag, so an operator can fix it without
//! reading the source.

use std::fmt;
use std::path::PathBuf;

/// Where a server setting came from; errors name it so the right place gets fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key of the config file, as written (`http` or `node.http`).
    File(String),
    /// A `HODEI_*` environment variable.
    Env(&'static str),
    /// A command-line flag (`--http`).
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(key) => write!(f, "config key `{key}`"),
            Origin::Env(name) => f.write_str(name),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A configuration problem: `hodei server` prints `error: {self}` and exits with
/// [`ConfigError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A YAML syntax error, a wrong type or an unknown key (the message names it).
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config file sets `{key}` both at the top level and under `node:`; keep one")]
    Conflict { key: &'static str },
    #[error("unknown environment variable {name}{}; see docs/configuration.md", hint.map(|h| format!(" (did you mean {h}?)")).unwrap_or_default())]
    UnknownEnv { name: String, hint: Option<&'static str> },
    #[error("{name}={value:?}: {reason}")]
    BadEnv { name: &'static str, value: String, reason: String },
    #[error("{what} is required: pass {flag}, set {env} or `{key}` in the config file")]
    Missing { what: &'static str, flag: &'static str, env: &'static str, key: &'static str },
    #[error("{origin} {value:?}: {reason}")]
    BadValue { origin: Origin, value: String, reason: String },
    #[error("{origin} does not list this node's id {id}; add it, or pass --join to join a running cluster")]
    NotInCluster { id: u64, origin: Origin },
    #[error("{origin} {}: {reason}", path.display())]
    SecretFile { origin: Origin, path: PathBuf, reason: String },
    /// A settings section that parsed but does not make sense (`raft.heartbeat_ms`).
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    /// The process exit code for a configuration error: 2, like a usage error.
    pub fn exit_code(&self) -> i32 {
        2
    }

    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), reason: reason.into() }
    }
}
