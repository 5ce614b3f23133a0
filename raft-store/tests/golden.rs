//! Golden bytes: the WAL and snapshot formats this build writes must stay
//! readable by later builds. The fixtures under `tests/golden/` were written once
//! by this code; `HODEI_BLESS=1` rewrites them (only when a format version bumps).

use std::path::PathBuf;

use hodei_domain::command::{CreateTenant, RecordSamples};
use hodei_domain::{Command, Proposal, Quota, State};
use hodei_raft_store::log::record::{self, Record};
use hodei_raft_store::{snapshot_file, Entry, LogId, NodeInfo, SnapshotMeta, StoredMembership, Vote};
use openraft::{CommittedLeaderId, EntryPayload, Membership};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn check(name: &str, bytes: &[u8]) {
    let path = golden(name);
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, bytes).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with HODEI_BLESS=1 once)", path.display()));
    assert_eq!(bytes, expected.as_slice(), "{name}: the encoding changed; bump the format version and keep a decoder for the old one");
}

fn log_id(index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(3, 1), index)
}

fn members() -> Membership<u64, NodeInfo> {
    let node = |i: u64| NodeInfo { peer_addr: format!("10.0.0.{i}:10091"), http_addr: format!("10.0.0.{i}:8081"), grpc_addr: format!("10.0.0.{i}:9091") };
    Membership::new(vec![[1, 2, 3].into_iter().collect()], std::collections::BTreeMap::from([(1, node(1)), (2, node(2)), (3, node(3))]))
}

fn records() -> Vec<Record> {
    vec![
        Record::Vote(Vote::new(3, 1)),
        Record::Entry(Entry { log_id: log_id(1), payload: EntryPayload::Membership(members()) }),
        Record::Entry(Entry { log_id: log_id(2), payload: EntryPayload::Blank }),
        Record::Entry(Entry {
            log_id: log_id(3),
            payload: EntryPayload::Normal(Proposal {
                at_ms: 1_763_800_000_000,
                command: Command::CreateTenant(CreateTenant {
                    name: "tenant-a".into(),
                    email: "admin@tenant-a.com".into(),
                    quota: Some(Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }),
                }),
            }),
        }),
        Record::Truncate(3),
        Record::Purge(log_id(1)),
        Record::Committed(Some(log_id(2))),
    ]
}

#[test]
fn wal_v2_bytes_are_stable_and_decode() {
    let mut bytes = record::header().to_vec();
    for r in records() {
        record::encode(&r, &mut bytes);
    }
    check("wal-v2.bin", &bytes);
    let decoded = record::decode_file(&std::fs::read(golden("wal-v2.bin")).unwrap()).unwrap();
    assert_eq!((decoded.records, decoded.version, decoded.valid_len, decoded.torn), (records(), 2, bytes.len(), false));
    // Appends encode entries borrowed; the bytes must be the owned record's.
    let mut borrowed = record::header().to_vec();
    for r in records() {
        match &r {
            Record::Entry(e) => record::encode_entry(e, &mut borrowed),
            other => record::encode(other, &mut borrowed),
        }
    }
    assert_eq!(borrowed, bytes, "encode_entry and encode(Record::Entry) differ");
    // Space allocated ahead reads as zeros: the same records, nothing to cut.
    let mut allocated = bytes.clone();
    allocated.resize(bytes.len() + 4096, 0);
    let decoded = record::decode_file(&allocated).unwrap();
    assert_eq!((decoded.records, decoded.valid_len, decoded.torn), (records(), bytes.len(), false));
}

#[test]
fn wal_v1_files_still_decode() {
    // Written by the builds before format 2; its records are format 2's.
    let v1 = std::fs::read(golden("wal-v1.bin")).unwrap();
    assert_eq!(&v1[8..12], &1u32.to_le_bytes());
    let decoded = record::decode_file(&v1).unwrap();
    assert_eq!((decoded.records, decoded.version, decoded.valid_len, decoded.torn), (records(), 1, v1.len(), false));
    let v2 = std::fs::read(golden("wal-v2.bin")).unwrap();
    assert_eq!(v1[12..], v2[12..], "the records themselves did not change");
}

fn tenant_state() -> State {
    let mut state = State::default();
    state.apply(3, &Proposal {
        at_ms: 1_763_800_000_000,
        command: Command::CreateTenant(CreateTenant { name: "tenant-a".into(), email: "admin@tenant-a.com".into(), quota: None }),
    });
    state
}

fn snapshot_meta() -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(log_id(3)),
        last_membership: StoredMembership::new(Some(log_id(1)), members()),
        snapshot_id: "1-3-0".into(),
    }
}

/// The snapshot file is envelope format 1 around the domain state at the
/// domain format 3 (a cluster at version 2 writes it; the domain's golden tests
/// pin formats 3 and 4).
#[test]
fn snapshot_v1_with_state_v3_bytes_are_stable_and_decode() {
    let mut state = tenant_state();
    state.apply(4, &Proposal { at_ms: 1_763_800_015_000, command: Command::RecordSamples(RecordSamples {}) });
    assert_eq!(hodei_domain::snapshot::format_for(&state), 3);
    let bytes = snapshot_file::encode(&snapshot_meta(), &hodei_domain::snapshot::encode(&state));
    check("snapshot-v1-state-v3.snap", &bytes);
    let stored = std::fs::read(golden("snapshot-v1-state-v3.snap")).unwrap();
    let (found, body) = snapshot_file::decode(&stored).unwrap();
    assert_eq!(found, snapshot_meta());
    assert_eq!(hodei_domain::snapshot::decode(body).unwrap(), state);
}

/// A snapshot file an older build wrote (domain format 2) still loads after an
/// upgrade. This fixture is never rewritten.
#[test]
fn snapshot_v1_with_state_v2_from_an_older_build_still_decodes() {
    let stored = std::fs::read(golden("snapshot-v1-state-v2.snap")).unwrap();
    let (found, body) = snapshot_file::decode(&stored).unwrap();
    assert_eq!(found, snapshot_meta());
    assert_eq!(hodei_domain::snapshot::decode(body).unwrap(), tenant_state());
}
