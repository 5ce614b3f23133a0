//! The unvalidated configuration: the file's keys, overlaid by `HODEI_*`
//! variables, overlaid by flags, each server value remembering where it came
//! from. [`RawConfig::validate`] consumes it into a [`ServerConfig`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::addr::{check_host_port, parse_initial_cluster, parse_listen_addr};
use super::domain::{DomainSettings, Secret};
use super::error::{ConfigError, Origin};
use super::settings::{ApiSettings, RaftSettings};
use super::ServerConfig;
use crate::cli::ServerArgs;

/// A value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// The server keys that have a file key, a `HODEI_*` variable and a flag.
#[derive(Debug, Clone, Default)]
pub struct ServerKeys {
    pub id: Option<Sourced<u64>>,
    pub data_dir: Option<Sourced<PathBuf>>,
    pub http: Option<Sourced<String>>,
    pub grpc: Option<Sourced<String>>,
    pub peer: Option<Sourced<String>>,
    pub advertise_host: Option<Sourced<String>>,
    pub initial_cluster: Option<Sourced<String>>,
    pub join: Option<Sourced<String>>,
    pub jwt_secret_file: Option<Sourced<PathBuf>>,
}

macro_rules! each_server_key {
    ($m:ident) => {
        $m!(id, data_dir, http, grpc, peer, advertise_host, initial_cluster, join, jwt_secret_file)
    };
}
pub(crate) use each_server_key;

impl ServerKeys {
    /// Every key set in `upper` replaces the one here.
    pub fn overlay(&mut self, upper: ServerKeys) {
        macro_rules! take {
            ($($k:ident),*) => { $( if upper.$k.is_some() { self.$k = upper.$k; } )* };
        }
        each_server_key!(take);
    }

    pub fn from_flags(f: &ServerArgs) -> ServerKeys {
        fn flag<T: Clone>(v: &Option<T>, name: &'static str) -> Option<Sourced<T>> {
            v.clone().map(|value| Sourced { value, origin: Origin::Flag(name) })
        }
        ServerKeys {
            id: flag(&f.id, "--id"),
            data_dir: flag(&f.data_dir, "--data-dir"),
            http: flag(&f.http, "--http"),
            grpc: flag(&f.grpc, "--grpc"),
            peer: flag(&f.peer, "--peer"),
            advertise_host: flag(&f.advertise_host, "--advertise-host"),
            initial_cluster: flag(&f.initial_cluster, "--initial-cluster"),
            join: flag(&f.join, "--join"),
            jwt_secret_file: flag(&f.jwt_secret_file, "--jwt-secret-file"),
        }
    }
}

/// Everything `load` gathered, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    pub keys: ServerKeys,
    pub raft: RaftSettings,
    pub api: ApiSettings,
    pub domain: DomainSettings,
}

/// Listen addresses when nothing sets them: the bases of `hodei dev`.
const DEFAULT_HTTP: &str = "127.0.0.1:8080";
const DEFAULT_GRPC: &str = "127.0.0.1:9090";
const DEFAULT_PEER: &str = "127.0.0.1:10090";

impl RawConfig {
    /// Validates by consuming. `env` supplies `GRAFANA_API_KEY` when the file
    /// leaves the key out (the seeds' value is `${GRAFANA_API_KEY}`).
    pub fn validate(self, env: &BTreeMap<String, String>) -> Result<ServerConfig, ConfigError> {
        let k = self.keys;
        let id = k.id.ok_or(ConfigError::Missing { what: "the node id", flag: "--id", env: "HODEI_ID", key: "id" })?;
        if id.value == 0 {
            return Err(bad(&id.origin, "0", "node ids start at 1"));
        }
        let id = id.value;
        let data_dir = k.data_dir.map(|d| d.value).unwrap_or_else(|| PathBuf::from(format!("hodei-data-{id}")));
        let http_addr = listen(k.http, DEFAULT_HTTP)?;
        let grpc_addr = listen(k.grpc, DEFAULT_GRPC)?;
        let peer_text = k.peer.as_ref().map_or(DEFAULT_PEER.to_string(), |p| p.value.clone());
        let peer_origin = k.peer.as_ref().map(|p| p.origin.clone());
        let peer_addr = listen(k.peer, DEFAULT_PEER)?;
        let advertise_host = match k.advertise_host {
            Some(h) => {
                check_host_port(&format!("{}:1", h.value), false).map_err(|e| bad(&h.origin, &h.value, &e))?;
                Some(h.value)
            }
            None => None,
        };
        // Other nodes would dial 0.0.0.0, i.e. themselves.
        if let Some(origin) = peer_origin.filter(|_| advertise_host.is_none() && peer_addr.ip().is_unspecified()) {
            return Err(bad(&origin, &peer_text, "a wildcard address cannot be dialled by other nodes: also set --advertise-host"));
        }
        if let Some(j) = &k.join {
            check_host_port(&j.value, false).map_err(|e| bad(&j.origin, &j.value, &e))?;
        }
        let initial_cluster = match &k.initial_cluster {
            Some(ic) => {
                let members = parse_initial_cluster(&ic.value).map_err(|e| bad(&ic.origin, &ic.value, &e))?;
                let rejoining = hodei_cluster::has_raft_state(&data_dir);
                if k.join.is_none() && !rejoining && !members.contains_key(&id) {
                    return Err(ConfigError::NotInCluster { id, origin: ic.origin.clone() });
                }
                members
            }
            // Like etcd: a lone node with nothing to join founds a cluster of one.
            None if k.join.is_none() => BTreeMap::from([(id, peer_text)]),
            None => BTreeMap::new(),
        };
        let jwt_secret_file = match k.jwt_secret_file {
            Some(s) => Some(check_secret_file(s)?),
            None => None,
        };
        let mut domain = self.domain.validate()?;
        // Refused here, at load, rather than when the node proposes it.
        domain.bootstrap()?;
        let grafana = &mut domain.observability.grafana;
        if grafana.api_key.is_none() {
            grafana.api_key = env.get("GRAFANA_API_KEY").map(Secret::new);
        }
        if grafana.api_key.as_ref().is_some_and(|k| k.expose().is_empty()) {
            grafana.api_key = None;
        }
        Ok(ServerConfig {
            id,
            data_dir,
            http_addr,
            grpc_addr,
            peer_addr,
            advertise_host,
            initial_cluster,
            join: k.join.map(|j| j.value),
            jwt_secret_file,
            raft: self.raft.validate()?,
            api: self.api.validate()?,
            domain,
        })
    }
}

fn bad(origin: &Origin, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue { origin: origin.clone(), value: value.to_string(), reason: reason.to_string() }
}

fn listen(v: Option<Sourced<String>>, default: &str) -> Result<std::net::SocketAddr, ConfigError> {
    match v {
        Some(s) => parse_listen_addr(&s.value).map_err(|e| bad(&s.origin, &s.value, &e)),
        None => parse_listen_addr(default).map_err(|e| ConfigError::invalid("default address", e)),
    }
}

/// The secret file must exist, be a file, and hold more than whitespace.
fn check_secret_file(s: Sourced<PathBuf>) -> Result<PathBuf, ConfigError> {
    let fail = |reason: String| ConfigError::SecretFile { origin: s.origin.clone(), path: s.value.clone(), reason };
    let path: &Path = &s.value;
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail("does not exist".into()),
        _ => fail(format!("cannot be read: {e}")),
    })?;
    if bytes.trim_ascii().is_empty() {
        return Err(fail("is empty".into()));
    }
    Ok(s.value)
}
