//! `load`'s refusals: each is one line that names the key, variable or flag.

use std::path::PathBuf;

use super::tests::{env, flags, with_file};
use super::*;

fn load_err(f: &ServerArgs, e: &[(&str, &str)]) -> String {
    let err = load(f, &env(e)).expect_err("load should refuse this");
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text:?}");
    text
}

fn file_err(text: &str) -> String {
    let (_d, f) = with_file(text, flags(1));
    load_err(&f, &[])
}

#[track_caller]
fn has(text: &str, want: &[&str]) {
    for w in want {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    has(&file_err("colour: blue\n"), &["unknown field `colour`", "line 1"]);
    has(&file_err("raft:\n  heartbeat_ms: 50\n  hartbeat: 3\n"), &["`hartbeat`", "line 3"]);
    has(&file_err("node:\n  htp: 127.0.0.1:1\n"), &["`htp`"]);
    has(&file_err("observability:\n  grafana:\n    apikey: x\n"), &["`apikey`"]);
    has(&file_err("resource_pools:\n  pools:\n    - id: p\n      name: P\n      type: static\n      min_size: 1\n      max_size: 2\n      size: 3\n"), &["`size`"]);
}

#[test]
fn wrong_types_and_bad_values_in_the_file_are_refused() {
    has(&file_err("id: one\n"), &["line 1"]);
    has(&file_err("multi_tenancy:\n  quota_enforcement:\n    violation_policy: shrug\n"), &["shrug"]);
    has(&file_err("resource_pools:\n  default_pool_type: elastic\n"), &["elastic"]);
    has(&file_err("id: 1\nid: 2\n"), &["line 2"]);
    has(&file_err("http: 127.0.0.1:1\nnode:\n  http: 127.0.0.1:2\n"), &["`http`", "node:"]);
}

#[test]
fn unknown_config_like_variables_are_reported_and_others_ignored() {
    has(&load_err(&flags(1), &[("HODEI_HTTTP", "x")]), &["HODEI_HTTTP", "did you mean HODEI_HTTP"]);
    has(&load_err(&flags(1), &[("HODEI_RAFT_HEARTBEAT", "5")]), &["HODEI_RAFT_HEARTBEAT"]);
    let ignored = [
        ("HODEI_LOG", "debug"),
        ("HODEI_TOKEN", "t"),
        ("HODEI_ENDPOINTS", "http://a:1"),
        ("HODEI_PORT", "tcp://10.0.0.1:8080"),
        ("HODEI_SERVICE_HOST", "10.0.0.1"),
        ("HODEI_JOIN", ""),
    ];
    assert!(load(&flags(1), &env(&ignored)).is_ok());
    has(&load_err(&flags(1), &[("HODEI_RAFT_HEARTBEAT_MS", "fast")]), &["HODEI_RAFT_HEARTBEAT_MS", "fast"]);
    has(&load_err(&flags(1), &[("HODEI_ID", "-1")]), &["HODEI_ID"]);
}

#[test]
fn bad_addresses_name_their_source() {
    let mut f = flags(1);
    f.http = Some("nonsense".into());
    has(&load_err(&f, &[]), &["--http", "nonsense", "host:port"]);
    has(&load_err(&flags(1), &[("HODEI_GRPC", "127.0.0.1:99999")]), &["HODEI_GRPC", "99999"]);
    has(&file_err("peer: http://127.0.0.1:10091\n"), &["config key `peer`", "no scheme"]);
    has(&file_err("node:\n  join: somewhere\n"), &["config key `node.join`", "host:port"]);
    has(&load_err(&flags(1), &[("HODEI_ADVERTISE_HOST", "http://x")]), &["HODEI_ADVERTISE_HOST", "no scheme"]);
}

#[test]
fn a_wildcard_peer_address_needs_an_advertised_host() {
    let mut f = flags(1);
    f.peer = Some("0.0.0.0:10091".into());
    has(&load_err(&f, &[]), &["--peer", "0.0.0.0:10091", "--advertise-host"]);
    f.advertise_host = Some("hodei-1".into());
    let c = load(&f, &env(&[])).expect("a wildcard peer with an advertised host is fine");
    assert_eq!((c.peer_addr.port(), c.advertise_host.as_deref()), (10091, Some("hodei-1")));
}

#[test]
fn initial_cluster_mistakes_are_clear() {
    let mut f = flags(1);
    f.initial_cluster = Some("1=a:1,1=b:2".into());
    has(&load_err(&f, &[]), &["--initial-cluster", "id 1 appears twice"]);
    f.initial_cluster = Some("1=a:1,2=a:1".into());
    has(&load_err(&f, &[]), &["two nodes"]);
    has(&load_err(&flags(3), &[]), &["--initial-cluster", "does not list this node's id 3", "--join"]);
    let mut f = flags(3);
    f.join = Some("127.0.0.1:10091".into());
    assert!(load(&f, &env(&[])).is_ok(), "a joining node need not be listed");
}

#[test]
fn the_jwt_secret_file_must_exist_and_hold_a_secret() {
    let mut f = flags(1);
    f.jwt_secret_file = Some(PathBuf::from("/nonexistent/secret"));
    has(&load_err(&f, &[]), &["--jwt-secret-file", "/nonexistent/secret", "does not exist"]);
    let empty = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(empty.path(), " \n").unwrap();
    let e = load_err(&flags(1), &[("HODEI_JWT_SECRET_FILE", empty.path().to_str().unwrap())]);
    has(&e, &["HODEI_JWT_SECRET_FILE", "is empty"]);
}

#[test]
fn missing_id_and_unreadable_files_are_explained() {
    let f = ServerArgs { data_dir: Some(PathBuf::from("/nonexistent/x")), ..Default::default() };
    has(&load_err(&f, &[]), &["--id", "HODEI_ID", "`id`"]);
    let mut f = flags(1);
    f.id = Some(0);
    has(&load_err(&f, &[]), &["--id", "start at 1"]);
    f.id = Some(1);
    f.config = Some(PathBuf::from("/nonexistent/config.yaml"));
    has(&load_err(&f, &[]), &["cannot read config file /nonexistent/config.yaml"]);
}

#[test]
fn settings_that_make_no_sense_are_refused() {
    has(&file_err("raft:\n  heartbeat_ms: 5000\n"), &["raft", "heartbeat_ms (5000)"]);
    has(&file_err("raft:\n  election_timeout_min_ms: 3000\n"), &["election_timeout_max_ms (400)"]);
    has(&file_err("raft:\n  heartbeat_ms: 0\n"), &["0 < heartbeat_ms"]);
    has(&file_err("api:\n  max_body_bytes: 10\n"), &["api.max_body_bytes"]);
    let pool = "resource_pools:\n  pools:\n    - {id: p, name: P, type: dynamic, min_size: 5, max_size: 2}\n";
    has(&file_err(pool), &["resource_pools.pools[p]", "min_size 5 > max_size 2"]);
    let policy = "resource_pools:\n  pools:\n    - id: p\n      name: P\n      type: static\n      min_size: 1\n      max_size: 2\n      scaling_policies:\n        - {name: s, trigger: cpu > 1, action: scale_up, cooldown: soon}\n";
    has(&file_err(policy), &["soon"]);
    has(&file_err(&policy.replace("cooldown: soon", "cooldown: 5m").replace("cpu > 1", "cpu is high")), &["cpu is high"]);
    has(&file_err("burst_capacity:\n  max_overage_percentage: 5000\n"), &["burst_capacity.max_overage_percentage"]);
    has(&file_err("cost_tracking:\n  hourly_rate_cpu: -0.5\n"), &["cost_tracking.hourly_rate_cpu"]);
    has(&file_err("multi_tenancy:\n  default_tenant_quota:\n    cpu_m: 0\n"), &["multi_tenancy.default_tenant_quota"]);
    has(&file_err("metrics:\n  prometheus:\n    path: metrics\n"), &["metrics.prometheus"]);
    has(&file_err("observability:\n  grafana:\n    url: grafana:3000\n"), &["observability.grafana.url"]);
}

#[test]
fn required_variables_in_the_file_are_reported() {
    has(&file_err("observability:\n  grafana:\n    api_key: \"${GRAFANA_API_KEY:?set GRAFANA_API_KEY}\"\n"), &["GRAFANA_API_KEY"]);
}

#[test]
fn a_jwt_public_key_needs_its_algorithm_and_must_parse() {
    let keys = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/tests/keys");
    let es = keys.join("es256-public.pem");
    let (_d, f) = with_file(&format!("api:\n  jwt_public_key_file: {}\n  jwt_public_key_algorithm: ES256\n", es.display()), flags(1));
    let c = load(&f, &env(&[])).expect("an ES256 key loads");
    assert_eq!(c.api.jwt_public_key_algorithm.as_deref(), Some("ES256"));
    has(&file_err(&format!("api:\n  jwt_public_key_file: {}\n", es.display())), &["api.jwt_public_key_algorithm"]);
    has(&file_err(&format!("api:\n  jwt_public_key_file: {}\n  jwt_public_key_algorithm: RS256\n", es.display())), &["RS256"]);
    has(&file_err("api:\n  jwt_public_key_file: /nonexistent.pem\n  jwt_public_key_algorithm: ES256\n"), &["/nonexistent.pem"]);
    has(&load_err(&flags(1), &[("HODEI_API_JWT_PUBLIC_KEY_ALGORITHM", "ES256")]), &["api.jwt_public_key_file"]);
}
