//! Golden bytes for `hodei.v1` messages that clients and servers of different
//! builds exchange during a rolling upgrade (worker agents, the CLI, the bench).
//! Protobuf keeps old and new builds compatible only while field numbers and
//! types stay put: a change that alters these bytes fails here. `HODEI_BLESS=1`
//! rewrites the fixtures, which is only right when a message gained a field.

use std::collections::HashMap;
use std::path::PathBuf;

use prost::Message;

use hodei_proto::v1 as pb;

fn check<T: Message + Default + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let bytes = value.encode_to_vec();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(bytes, golden, "{name}: the wire encoding changed");
    assert_eq!(&T::decode(golden.as_slice()).unwrap(), value, "{name}: decodes to something else");
}

fn quota() -> pb::Quota {
    pb::Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }
}

#[test]
fn tenant_and_its_changes() {
    let tenant = pb::Tenant {
        id: 3,
        name: "acme".into(),
        email: "ops@acme.io".into(),
        quota: Some(quota()),
        created_at_ms: 1_764_000_000_000,
        weight: 2,
        max_queued_jobs: 50_000,
        sla_wait_ms: Some(60_000),
    };
    check("tenant.bin", &tenant);
    check("update_tenant.bin", &pb::UpdateTenantRequest { id: 3, max_queued_jobs: Some(1_000_000), ..Default::default() });
}

/// Wait targets per priority (protocol 4): a map, encoded in key order.
#[test]
fn sla_targets_request() {
    let by_priority = [(-5, 600_000), (0, 30_000), (10, 5_000)].into_iter().collect();
    check("set_sla_targets.bin", &pb::SetSlaTargetsRequest { tenant_id: Some(3), by_priority });
    check("get_sla.bin", &pb::GetSlaRequest { tenant_id: None, period: Some("last_week".into()), read: None, priority: Some(-5) });
}

/// A tenant as the build before `weight`, `max_queued_jobs` and `sla_wait_ms`
/// wrote it (fields 1 to 5) still decodes, the new fields at their defaults.
#[test]
fn a_tenant_from_the_previous_build_decodes() {
    let old = pb::Tenant { id: 3, name: "acme".into(), email: "ops@acme.io".into(), quota: Some(quota()), created_at_ms: 7, ..Default::default() };
    let bytes = old.encode_to_vec();
    let expected: &[u8] = &[
        0x08, 0x03, 0x12, 0x04, b'a', b'c', b'm', b'e', 0x1a, 0x0b, b'o', b'p', b's', b'@', b'a', b'c', b'm', b'e', b'.', b'i', b'o',
        0x22, 0x08, 0x08, 0xa0, 0x1f, 0x10, 0x80, 0x40, 0x18, 0x0a, 0x28, 0x07,
    ];
    assert_eq!(bytes, expected, "fields 1 to 5 keep their numbers and types");
    let t = pb::Tenant::decode(expected).unwrap();
    assert_eq!((t.weight, t.max_queued_jobs, t.sla_wait_ms), (0, 0, None));
}

#[test]
fn worker_agent_messages() {
    let assign = pb::Assignment {
        job_id: 42,
        fencing_token: 7,
        command: vec!["echo".into(), "hi".into()],
        env: HashMap::new(),
        timeout_s: Some(60),
        cpu_m: 500,
        memory_mb: 256,
    };
    check("work_item.bin", &pb::WorkItem { item: Some(pb::work_item::Item::Assign(assign)) });
    let finished = pb::JobFinishedRequest {
        worker_id: 5,
        job_id: 42,
        fencing_token: 7,
        outcome: pb::JobOutcome::Failed as i32,
        exit_code: Some(2),
        run_ms: 1500,
        cpu_ms: 900,
        peak_memory_kb: 20_480,
        error: "exit 2".into(),
    };
    check("job_finished.bin", &finished);
}

#[test]
fn pool_and_burst() {
    let policy = pb::ScalingPolicy { name: "queue".into(), trigger: "queue_depth > 5".into(), action: "scale_up".into(), cooldown: Some("1m".into()) };
    let pool = pb::Pool {
        id: "gpu".into(),
        name: "gpu".into(),
        pool_type: "dynamic".into(),
        lifecycle: "ACTIVE".into(),
        max_size: 4,
        target_size: 1,
        scaling_policies: vec![policy],
        created_at_ms: 1_764_000_000_000,
        ..Default::default()
    };
    check("pool.bin", &pool);
    let burst = pb::Burst { id: 9, tenant_id: 3, cpu_m: 1000, memory_mb: 1024, duration_ms: 1_800_000, reason: "month end".into(), state: "ACTIVE".into(), ..Default::default() };
    check("burst.bin", &burst);
}
