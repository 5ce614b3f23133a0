use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::cli::ServerArgs;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn flags(id: u64) -> ServerArgs {
    ServerArgs {
        id: Some(id),
        data_dir: Some(PathBuf::from("/nonexistent/hodei-test")),
        initial_cluster: Some("1=127.0.0.1:10091,2=127.0.0.1:10092".into()),
        ..Default::default()
    }
}

fn with_file(text: &str) -> (tempfile::TempDir, ServerArgs) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, text).unwrap();
    let mut f = flags(1);
    f.config = Some(p);
    (dir, f)
}

#[test]
fn defaults_are_etcd_like_and_the_seeds_values() {
    let c = load(&flags(1), &env(&[])).unwrap();
    assert_eq!(c.raft.heartbeat_ms, 100);
    assert_eq!(c.raft.election_timeout_min_ms, 1000);
    assert_eq!(c.domain.multi_tenancy.default_tenant_quota.cpu_m, 4000);
    assert_eq!(c.domain.burst_capacity.max_overage_percentage, 150);
    assert_eq!(c.initial_cluster.len(), 2);
}

#[test]
fn file_then_env_then_flag_each_override_the_one_before() {
    let (_d, mut f) = with_file("http: 127.0.0.1:7001\ngrpc: 127.0.0.1:7002\npeer: 127.0.0.1:7003\n");
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!(c.http_addr.port(), 7001);
    let c = load(&f, &env(&[("HODEI_HTTP", "127.0.0.1:7101"), ("HODEI_GRPC", "127.0.0.1:7102")])).unwrap();
    assert_eq!((c.http_addr.port(), c.grpc_addr.port(), c.peer_addr.port()), (7101, 7102, 7003));
    f.http = Some("127.0.0.1:7201".into());
    let c = load(&f, &env(&[("HODEI_HTTP", "127.0.0.1:7101")])).unwrap();
    assert_eq!(c.http_addr.port(), 7201);
}

#[test]
fn the_seeds_config_yaml_is_accepted() {
    let seeds = include_str!("../../config.example.yaml");
    let (_d, f) = with_file(seeds);
    let c = load(&f, &env(&[("GRAFANA_API_KEY", "k")])).unwrap();
    assert_eq!(c.domain.resource_pools.pools[0].id, "pool-default");
    assert_eq!(c.domain.observability.grafana.api_key, "k");
    assert_eq!(c.domain.cost_tracking.hourly_rate_cpu, 0.05);
}

#[test]
fn unknown_keys_and_variables_are_errors_naming_them() {
    let (_d, f) = with_file("raft:\n  heartbeat_ms: 50\n  hartbeat: 3\n");
    let e = load(&f, &env(&[])).unwrap_err();
    assert!(e.0.contains("hartbeat"), "{e}");
    let (_d, f) = with_file("colour: blue\n");
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("colour"));
    let e = load(&flags(1), &env(&[("HODEI_HTTTP", "x")])).unwrap_err();
    assert!(e.0.contains("HODEI_HTTTP"), "{e}");
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn bad_addresses_secret_files_and_clusters_are_clear_errors() {
    let mut f = flags(1);
    f.http = Some("nonsense".into());
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("--http"));
    let mut f = flags(1);
    f.jwt_secret_file = Some(PathBuf::from("/nonexistent/secret"));
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("--jwt-secret-file"));
    let f = flags(3);
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("does not name"));
    assert!(parse_initial_cluster("1=a:1,1=b:2").unwrap_err().0.contains("twice"));
    assert!(parse_initial_cluster("x=a:1").is_err());
    assert!(parse_initial_cluster("1=a").is_err());
    let (_d, f) = with_file("raft:\n  heartbeat_ms: 5000\n");
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("heartbeat_ms"));
    let (_d, f) = with_file("api_key: ${UNSET_VARIABLE}\n");
    assert!(load(&f, &env(&[])).unwrap_err().0.contains("UNSET_VARIABLE"));
}

#[test]
fn a_lone_node_founds_a_cluster_of_one() {
    let f = ServerArgs { id: Some(4), data_dir: Some(PathBuf::from("/nonexistent/x")), ..Default::default() };
    let c = load(&f, &env(&[])).unwrap();
    assert_eq!(c.initial_cluster.keys().copied().collect::<Vec<_>>(), vec![4]);
}
