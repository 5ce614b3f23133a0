//! `load` end to end: precedence, the example and the seeds' file, the `node:`
//! section, variable expansion. Error cases are in `tests_errors.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::domain::ViolationPolicy;
use super::pools::{PoolType, ScalingAction};
use super::*;
use crate::cli::ServerArgs;

pub(super) fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Flags for node `id` of a two-node cluster, with a data dir that holds nothing.
pub(super) fn flags(id: u64) -> ServerArgs {
    ServerArgs {
        id: Some(id),
        data_dir: Some(PathBuf::from("/nonexistent/hodei-test")),
        initial_cluster: Some("1=127.0.0.1:10091,2=127.0.0.1:10092".into()),
        ..Default::default()
    }
}

/// Writes `text` as a config file and returns flags that point at it.
pub(super) fn with_file(text: &str, mut f: ServerArgs) -> (tempfile::TempDir, ServerArgs) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, text).unwrap();
    f.config = Some(p);
    (dir, f)
}

const SEEDS_CONFIG: &str = r#"
resource_pools:
  enabled: true
  default_pool_type: static
  pools:
    - id: "pool-default"
      name: "Default Pool"
      type: "static"
      min_size: 2
      max_size: 20
      auto_scaling_enabled: true
      scaling_policies:
        - name: "cpu-scaling"
          trigger: "cpu_utilization > 80"
          action: "scale_up"
          cooldown: "5m"
    
multi_tenancy:
  enabled: true
  default_tenant_quota:
    cpu_m: 4000
    memory_mb: 8192
    max_concurrent_jobs: 10
  quota_enforcement:
    strict_mode: true
    violation_policy: "reject"
  
burst_capacity:
  enabled: true
  max_overage_percentage: 150
  burst_duration_minutes: 60
  require_approval: false

cost_tracking:
  enabled: true
  track_by_tenant: true
  track_by_job: true
  track_by_pool: true
  retention_days: 90
  hourly_rate_cpu: 0.05
  hourly_rate_memory_gb: 0.01

metrics:
  prometheus:
    enabled: true
    port: 9091
    path: "/metrics"
  
observability:
  grafana:
    enabled: true
    url: "http://grafana:3000"
    api_key: "${GRAFANA_API_KEY}"
    dashboards_dir: "/etc/hodei/dashboards"
  
  alerting:
    enabled: true
    prometheus_alerts_dir: "/etc/hodei/alerts"
    alertmanager_url: "http://alertmanager:9093"
"#;

#[test]
fn defaults_are_the_lan_timing_and_the_seeds_values() {
    let c = load(&flags(1), &env(&[])).unwrap();
    assert_eq!(c.raft, RaftSettings::default());
    assert_eq!((c.raft.heartbeat_ms, c.raft.election_timeout_min_ms, c.raft.election_timeout_max_ms), (50, 200, 400));
    assert_eq!((c.api.max_body_bytes, c.api.request_timeout_ms), (1 << 20, 5000));
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
    let seeded = load(&with_file(SEEDS_CONFIG, flags(1)).1, &env(&[])).unwrap();
    assert_eq!(c.domain, seeded.domain, "the defaults are the seeds' values");
}

#[test]
fn the_seeds_config_yaml_is_accepted_and_typed() {
    let (_d, f) = with_file(SEEDS_CONFIG, flags(1));
    let c = load(&f, &env(&[("GRAFANA_API_KEY", "k-123")])).unwrap();
    let pool = &c.domain.resource_pools.pools[0];
    assert_eq!((pool.id.as_str(), pool.pool_type, pool.min_size, pool.max_size), ("pool-default", PoolType::Static, 2, 20));
    let policy = &pool.scaling_policies[0];
    assert_eq!((policy.action, policy.cooldown), (ScalingAction::ScaleUp, Duration::from_secs(300)));
    assert_eq!(policy.trigger.to_string(), "cpu_utilization > 80");
    assert_eq!(c.domain.multi_tenancy.quota_enforcement.violation_policy, ViolationPolicy::Reject);
    assert_eq!(c.domain.cost_tracking.hourly_rate_memory_gb, 0.01);
    let key = c.domain.observability.grafana.api_key.as_ref().unwrap();
    assert_eq!(key.expose(), "k-123");
    assert!(!format!("{c:?}").contains("k-123"), "the api key stays out of debug output");
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!(c.domain.observability.grafana.api_key, None, "unset variable: no key");
}

#[test]
fn the_example_file_loads() {
    let (_d, mut f) = with_file(include_str!("../../config.example.yaml"), ServerArgs::default());
    f.data_dir = Some(PathBuf::from("/nonexistent/hodei-example"));
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!((c.id, c.peer_addr.port(), c.initial_cluster.len()), (1, 10091, 3));
    assert_eq!(c.initial_cluster[&2], "hodei-2:10092");
    assert_eq!(c.advertise_host.as_deref(), Some("hodei-1"));
    assert_eq!(c.api, ApiSettings::default());
    assert_eq!(c.raft, RaftSettings::default());
}

/// Sets `http` in the layers named; returns the port that wins.
fn http_port(file: bool, env_var: bool, flag: bool) -> u16 {
    let mut f = flags(1);
    if flag {
        f.http = Some("127.0.0.1:7003".into());
    }
    let (_d, f) = with_file(if file { "http: 127.0.0.1:7001\n" } else { "" }, f);
    let e = if env_var { env(&[("HODEI_HTTP", "127.0.0.1:7002")]) } else { env(&[]) };
    load(&f, &e).unwrap().http_addr.port()
}

#[test]
fn precedence_is_file_then_env_then_flag() {
    assert_eq!(http_port(false, false, false), 8080, "default");
    assert_eq!(http_port(true, false, false), 7001, "file over default");
    assert_eq!(http_port(true, true, false), 7002, "env over file");
    assert_eq!(http_port(false, true, true), 7003, "flag over env");
    assert_eq!(http_port(true, false, true), 7003, "flag over file");
    assert_eq!(http_port(true, true, true), 7003, "flag over both");
}

#[test]
fn every_server_key_has_a_file_key_and_a_variable() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "s3cret\n").unwrap();
    let file = format!(
        "id: 2\ndata_dir: /nonexistent/f\nhttp: 127.0.0.1:1\ngrpc: 127.0.0.1:2\npeer: 127.0.0.1:3\n\
         advertise_host: hodei-2\ninitial_cluster: 1=a:1\njoin: a:1\njwt_secret_file: {}\n",
        secret.path().display()
    );
    let (_d, f) = with_file(&file, ServerArgs::default());
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!((c.id, c.grpc_addr.port(), c.join.as_deref()), (2, 2, Some("a:1")));
    assert_eq!(c.jwt_secret_file.as_deref(), Some(secret.path()));
    assert_eq!(c.advertise_host.as_deref(), Some("hodei-2"));
    let e = env(&[
        ("HODEI_ADVERTISE_HOST", "10.0.0.3"),
        ("HODEI_ID", "3"),
        ("HODEI_DATA_DIR", "/nonexistent/e"),
        ("HODEI_GRPC", "127.0.0.1:22"),
        ("HODEI_PEER", "127.0.0.1:23"),
        ("HODEI_INITIAL_CLUSTER", "3=c:3"),
        ("HODEI_JOIN", "c:3"),
        ("HODEI_RAFT_HEARTBEAT_MS", "120"),
        ("HODEI_API_REQUEST_TIMEOUT_MS", "3000"),
    ]);
    let c = load(&f, &e).unwrap();
    assert_eq!((c.id, c.grpc_addr.port(), c.peer_addr.port(), c.join.as_deref()), (3, 22, 23, Some("c:3")));
    assert_eq!((c.data_dir.to_str(), c.initial_cluster[&3].as_str()), (Some("/nonexistent/e"), "c:3"));
    assert_eq!((c.raft.heartbeat_ms, c.api.request_timeout_ms), (120, 3000));
    assert_eq!(c.http_addr.port(), 1, "keys the environment leaves alone keep the file's value");
    assert_eq!(c.advertise_host.as_deref(), Some("10.0.0.3"));
}

#[test]
fn raft_file_values_yield_to_raft_variables() {
    let (_d, f) = with_file("raft:\n  heartbeat_ms: 150\n  snapshot_logs_since_last: 50\n  max_in_snapshot_log_to_keep: 0\n", flags(1));
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!((c.raft.heartbeat_ms, c.raft.snapshot_logs_since_last, c.raft.max_in_snapshot_log_to_keep), (150, 50, 0));
    assert_eq!(c.raft.election_timeout_min_ms, 200, "unset fields keep their defaults");
    let c = load(&f, &env(&[("HODEI_RAFT_HEARTBEAT_MS", "120")])).unwrap();
    assert_eq!((c.raft.heartbeat_ms, c.raft.snapshot_logs_since_last), (120, 50));
}

#[test]
fn server_keys_may_sit_under_node_or_flat() {
    let (_d, f) = with_file("node:\n  http: 127.0.0.1:7001\n  raft:\n    heartbeat_ms: 90\n", flags(1));
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!((c.http_addr.port(), c.raft.heartbeat_ms), (7001, 90));
    let (_d, f) = with_file("http: 127.0.0.1:7001\nnode:\n  grpc: 127.0.0.1:7002\n", flags(1));
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!((c.http_addr.port(), c.grpc_addr.port()), (7001, 7002));
}

#[test]
fn config_path_comes_from_the_flag_or_hodei_config() {
    let (_d, f) = with_file("http: 127.0.0.1:7001\n", flags(1));
    let path = f.config.clone().unwrap();
    let c = load(&flags(1), &env(&[("HODEI_CONFIG", path.to_str().unwrap())])).unwrap();
    assert_eq!(c.http_addr.port(), 7001);
    let (_d2, f2) = with_file("http: 127.0.0.1:7002\n", flags(1));
    let c = load(&f2, &env(&[("HODEI_CONFIG", path.to_str().unwrap())])).unwrap();
    assert_eq!(c.http_addr.port(), 7002, "--config wins over HODEI_CONFIG");
}

#[test]
fn variables_expand_in_string_values_only_from_the_given_env() {
    let text = "data_dir: ${BASE}/node-1\nobservability:\n  grafana:\n    url: \"${GRAFANA_URL:-http://localhost:3000}\"\n    dashboards_dir: $BASE/dash\n  alerting:\n    prometheus_alerts_dir: '$${literal}'\n";
    let (_d, f) = with_file(text, flags(1));
    let mut f = f;
    f.data_dir = None;
    let c = load(&f, &env(&[("BASE", "/srv/hodei")])).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/srv/hodei/node-1"));
    assert_eq!(c.domain.observability.grafana.url, "http://localhost:3000");
    assert_eq!(c.domain.observability.alerting.prometheus_alerts_dir, "${literal}");
    assert_eq!(c.domain.observability.grafana.dashboards_dir, "/srv/hodei/dash", "compose also expands a bare $VAR");
}

#[test]
fn a_lone_node_founds_a_cluster_of_one_and_a_joiner_needs_no_cluster() {
    let f = ServerArgs { id: Some(4), data_dir: Some(PathBuf::from("/nonexistent/x")), ..Default::default() };
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!(c.initial_cluster, BTreeMap::from([(4, "127.0.0.1:10090".to_string())]));
    let f = ServerArgs { join: Some("127.0.0.1:10091".into()), ..f };
    let c = load(&f, &env(&[])).unwrap();
    assert!(c.initial_cluster.is_empty());
    assert_eq!(c.join.as_deref(), Some("127.0.0.1:10091"));
}
