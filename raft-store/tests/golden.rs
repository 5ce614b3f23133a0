//! Golden bytes: the WAL and snapshot formats this build writes must stay
//! readable by later builds. The fixtures under `tests/golden/` were written once
//! by this code; `HODEI_BLESS=1` writes a missing or changed one (only ever for a
//! new format version: an old fixture is never rewritten, it must keep decoding).

use std::path::PathBuf;

use hodei_domain::command::CreateTenant;
use hodei_domain::{Command, Proposal, Quota};
use hodei_raft_store::log::format;
use hodei_raft_store::log::record::Record;
use hodei_raft_store::{snapshot_file, Entry, LogId, LogStore, NodeInfo, SnapshotMeta, StoredMembership, Vote};
use openraft::storage::{RaftLogReader, RaftLogStorage};
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

fn encode_wal(records: &[Record]) -> Vec<u8> {
    let mut bytes = format::header().to_vec();
    for r in records {
        format::encode(r, &mut bytes);
    }
    bytes
}

fn decoded_records(bytes: &[u8]) -> Vec<Record> {
    let decoded = format::decode_file(bytes).unwrap();
    assert_eq!(decoded.valid_len, bytes.len(), "the whole golden file decodes");
    decoded.records.into_iter().map(|(r, _)| r).collect()
}

#[test]
fn wal_v2_bytes_are_stable_and_decode() {
    check("wal-v2.bin", &encode_wal(&records()));
    let stored = std::fs::read(golden("wal-v2.bin")).unwrap();
    let decoded = decoded_records(&stored);
    assert_eq!(decoded, records());
    assert_eq!(encode_wal(&decoded), stored, "decoding then encoding gives the same bytes");
}

/// File format 1 (bincode of one record enum) was written by earlier builds and
/// must keep decoding; it is never written again.
#[test]
fn wal_v1_bytes_still_decode() {
    let stored = std::fs::read(golden("wal-v1.bin")).unwrap();
    assert_eq!(u32::from_le_bytes(stored[8..12].try_into().unwrap()), 1);
    assert_eq!(decoded_records(&stored), records());
}

/// Opening a data dir whose log is in file format 1 rewrites it in the current
/// format, with the same contents.
#[tokio::test]
async fn a_v1_log_is_rewritten_in_the_current_format_on_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("raft")).unwrap();
    std::fs::copy(golden("wal-v1.bin"), dir.path().join("raft/wal")).unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(3, 1)));
    assert_eq!(log.read_committed().await.unwrap(), Some(log_id(2)));
    let entries = log.try_get_log_entries(0..).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.log_id.index).collect::<Vec<_>>(), vec![2]);
    let on_disk = std::fs::read(dir.path().join("raft/wal")).unwrap();
    assert_eq!(u32::from_le_bytes(on_disk[8..12].try_into().unwrap()), format::FORMAT_VERSION);
}

/// The snapshot file's frame (header, meta, checksum) is this crate's format; the
/// state bytes inside are the domain's, versioned and golden-tested there. So
/// this test decodes the frame and re-frames the same body, whatever it holds.
#[test]
fn snapshot_v1_bytes_are_stable_and_decode() {
    let meta = SnapshotMeta {
        last_log_id: Some(log_id(3)),
        last_membership: StoredMembership::new(Some(log_id(1)), members()),
        snapshot_id: "1-3-0".into(),
    };
    let stored = std::fs::read(golden("snapshot-v1.snap")).unwrap();
    let (found, body) = snapshot_file::decode(&stored).unwrap();
    assert_eq!(found, meta);
    assert_eq!(snapshot_file::encode(&meta, body), stored);
}
