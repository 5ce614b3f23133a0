//! Format 2 of the log: records go into file space allocated ahead, a
//! format-1 log is raised to format 2 at start-up with its records kept, and a
//! torn write whose sectors reached the disk out of order is cut, not refused.

mod support;

use hodei_raft_store::log::record::{self, Record};
use hodei_raft_store::log::ALLOCATE_STEP;
use hodei_raft_store::{LogStore, Vote};
use openraft::storage::RaftLogStorage;
use support::{entry, indexes};

/// The header and records of a log with a vote and entries named `names`.
fn log_bytes(names: &[String]) -> Vec<u8> {
    let mut bytes = record::header().to_vec();
    record::encode(&Record::Vote(Vote::new(1, 1)), &mut bytes);
    for (i, name) in names.iter().enumerate() {
        record::encode(&Record::Entry(entry(i as u64 + 1, name)), &mut bytes);
    }
    bytes
}

fn wal(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("raft/wal")
}

#[tokio::test]
async fn records_go_into_space_allocated_ahead_and_replay_exactly() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = LogStore::open(dir.path()).await.unwrap();
        for term in 2..=4 {
            log.save_vote(&Vote::new(term, 1)).await.unwrap();
        }
    }
    let bytes = std::fs::read(wal(dir.path())).unwrap();
    assert_eq!(bytes.len() as u64, ALLOCATE_STEP, "the file is allocated ahead, not grown per write");
    let decoded = record::decode_file(&bytes).unwrap();
    assert_eq!((decoded.records.len(), decoded.torn, decoded.version), (3, false, record::FORMAT_VERSION));
    assert!(bytes[decoded.valid_len..].iter().all(|&b| b == 0), "past the records the space reads as zeros");
    // Reopened, the next record goes right after the last one, not after the space.
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(4, 1)));
    log.save_vote(&Vote::new(5, 1)).await.unwrap();
    drop(log);
    let decoded = record::decode_file(&std::fs::read(wal(dir.path())).unwrap()).unwrap();
    assert_eq!(decoded.records.last(), Some(&Record::Vote(Vote::new(5, 1))));
    assert_eq!(decoded.records.len(), 4);
}

#[tokio::test]
async fn a_format_1_log_is_raised_to_format_2_and_keeps_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = log_bytes(&["a".into(), "b".into(), "c".into()]);
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::create_dir_all(dir.path().join("raft")).unwrap();
    std::fs::write(wal(dir.path()), &bytes).unwrap();

    let mut log = LogStore::open(dir.path()).await.unwrap();
    let on_disk = std::fs::read(wal(dir.path())).unwrap();
    assert_eq!(&on_disk[8..12], &2u32.to_le_bytes(), "the header now says format 2");
    assert_eq!(on_disk[12..], bytes[12..], "and the records are untouched");
    assert_eq!(indexes(&mut log).await, vec![1, 2, 3]);
    log.save_vote(&Vote::new(2, 1)).await.unwrap();
    drop(log);
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, vec![1, 2, 3]);
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(2, 1)));
}

#[tokio::test]
async fn a_torn_write_whose_sectors_landed_out_of_order_is_cut_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (1..=4).map(|i| format!("t{i}")).collect();
    let whole = log_bytes(&names);
    // The last write: two entries, the first over several sectors of which one
    // never landed, while the sectors after it (the second entry's) did.
    let mut bytes = whole.clone();
    record::encode(&Record::Entry(entry(5, &"x".repeat(3000))), &mut bytes);
    let sector = (whole.len() / 512 + 2) * 512;
    assert!(sector + 512 < bytes.len(), "the entry spans the zeroed sector and more");
    record::encode(&Record::Entry(entry(6, "landed")), &mut bytes);
    bytes[sector..sector + 512].fill(0);
    bytes.resize(64 * 1024, 0);
    std::fs::create_dir_all(dir.path().join("raft")).unwrap();
    std::fs::write(wal(dir.path()), &bytes).unwrap();

    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, vec![1, 2, 3, 4]);
    let on_disk = std::fs::read(wal(dir.path())).unwrap();
    assert_eq!(on_disk, whole, "the torn write and everything after it are cut off");

    // The same write, with only its first sector missing: the one it shares
    // with the last whole record, which still holds that record's bytes.
    let mut bytes = whole.clone();
    record::encode(&Record::Entry(entry(5, &"x".repeat(3000))), &mut bytes);
    record::encode(&Record::Entry(entry(6, "landed")), &mut bytes);
    let first_sector_end = (whole.len() / 512 + 1) * 512;
    assert!(whole.len() % 512 != 0, "the last whole record ends inside a sector");
    bytes[whole.len()..first_sector_end].fill(0);
    bytes.resize(64 * 1024, 0);
    std::fs::write(wal(dir.path()), &bytes).unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, vec![1, 2, 3, 4]);
    drop(log);
    assert_eq!(std::fs::read(wal(dir.path())).unwrap(), whole, "cut at the start of the torn write");

    // The same bytes with no sector missing, followed by more records, are corruption.
    let mut corrupt = whole.clone();
    record::encode(&Record::Entry(entry(5, &"x".repeat(3000))), &mut corrupt);
    let body = whole.len() + 100;
    corrupt[body] ^= 0xff;
    record::encode(&Record::Vote(Vote::new(2, 1)), &mut corrupt);
    corrupt.resize(64 * 1024, 0);
    std::fs::write(wal(dir.path()), &corrupt).unwrap();
    let err = LogStore::open(dir.path()).await.err().expect("corruption before other records must not open");
    assert!(err.to_string().contains("corrupt"), "{err}");
}
