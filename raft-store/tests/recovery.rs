//! Start-up recovery: a torn tail left by a crash is cut off, the acknowledged
//! prefix survives; corruption before the tail is a loud error; a snapshot plus
//! the log rebuilds the state.

use std::io::Write;

use hodei_domain::command::CreateTenant;
use hodei_domain::{Command, Proposal};
use hodei_raft_store::log::format;
use hodei_raft_store::log::record::Record;
use hodei_raft_store::{Entry, LogId, LogStore, StateMachineStore, Vote};
use openraft::storage::{RaftLogReader, RaftLogStorage, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload};

fn entry(index: u64, name: &str) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(Proposal {
            at_ms: 1_700_000_000_000 + index,
            command: Command::CreateTenant(CreateTenant { name: name.into(), email: format!("{name}@x.io"), quota: None }),
        }),
    }
}

/// Writes a WAL file with a vote and `n` entries, exactly as the writer would.
fn write_wal(dir: &std::path::Path, n: u64) -> Vec<u8> {
    let mut bytes = format::header().to_vec();
    format::encode(&Record::Vote(Vote::new(1, 1)), &mut bytes);
    for i in 1..=n {
        format::encode(&Record::Entry(entry(i, &format!("t{i}"))), &mut bytes);
    }
    std::fs::create_dir_all(dir.join("raft")).unwrap();
    std::fs::write(dir.join("raft/wal"), &bytes).unwrap();
    bytes
}

async fn indexes(log: &mut LogStore) -> Vec<u64> {
    log.try_get_log_entries(0..).await.unwrap().iter().map(|e| e.log_id.index).collect()
}

#[tokio::test]
async fn a_torn_last_record_is_cut_and_the_prefix_survives() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_wal(dir.path(), 5);
    // Cut the last record in half, as a crash mid-write would.
    let torn = bytes.len() - 7;
    std::fs::OpenOptions::new().write(true).open(dir.path().join("raft/wal")).unwrap().set_len(torn as u64).unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, vec![1, 2, 3, 4]);
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(1, 1)));
    // The file itself was cut back to the last whole record.
    let len = std::fs::metadata(dir.path().join("raft/wal")).unwrap().len();
    assert!(len < torn as u64, "the torn tail is still on disk");
}

#[tokio::test]
async fn a_bad_checksum_before_the_tail_is_a_loud_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write_wal(dir.path(), 5);
    // Flip a byte inside the second record's body (after header and vote record).
    let at = format::HEADER_LEN + 40;
    bytes[at] ^= 0xff;
    std::fs::write(dir.path().join("raft/wal"), &bytes).unwrap();
    let err = LogStore::open(dir.path()).await.err().expect("corruption must not open");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[tokio::test]
async fn a_truncate_then_append_replays_to_the_new_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write_wal(dir.path(), 3);
    format::encode(&Record::Truncate(2), &mut bytes);
    format::encode(&Record::Entry(entry(2, "replacement")), &mut bytes);
    std::fs::write(dir.path().join("raft/wal"), &bytes).unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    let entries = log.try_get_log_entries(0..).await.unwrap();
    assert_eq!(entries.len(), 2);
    match &entries[1].payload {
        EntryPayload::Normal(p) => assert!(matches!(&p.command, Command::CreateTenant(c) if c.name == "replacement")),
        other => panic!("unexpected payload {other:?}"),
    }
}

#[tokio::test]
async fn vote_and_truncate_are_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    write_wal(dir.path(), 4);
    {
        let mut log = LogStore::open(dir.path()).await.unwrap();
        log.save_vote(&Vote::new(7, 2)).await.unwrap();
        log.truncate(LogId::new(CommittedLeaderId::new(1, 1), 3)).await.unwrap();
        log.purge(LogId::new(CommittedLeaderId::new(1, 1), 1)).await.unwrap();
        assert!(log.fsync_count() >= 3, "each durable call syncs: {}", log.fsync_count());
    }
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(7, 2)));
    assert_eq!(indexes(&mut log).await, vec![2]);
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(1));
}

#[tokio::test]
async fn the_state_machine_restarts_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let hash = {
        let mut sm = StateMachineStore::open(dir.path()).await.unwrap();
        let out = sm.apply((1..=3).map(|i| entry(i, &format!("t{i}")))).await.unwrap();
        assert!(out.iter().all(|o| o.is_some()));
        sm.build_snapshot().await.unwrap();
        sm.state_hash()
    };
    let sm = StateMachineStore::open(dir.path()).await.unwrap();
    assert_eq!(sm.state_hash(), hash);
    assert_eq!(sm.applied_index(), 3);
    assert_eq!(sm.read(|s| s.tenants().count()), 3);
    let mut f = std::fs::OpenOptions::new().append(true).open(hodei_raft_store::snapshot_file::path(dir.path())).unwrap();
    f.write_all(b"garbage").unwrap();
    assert!(StateMachineStore::open(dir.path()).await.is_err(), "a damaged snapshot must not load");
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    range.collect()
}

/// Appends through the real writer, drops the store without any shutdown, cuts
/// the last record short as a crash mid-write would, and reopens.
#[tokio::test]
async fn a_crash_mid_append_keeps_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = LogStore::open(dir.path()).await.unwrap();
        log.save_vote(&Vote::new(1, 1)).await.unwrap();
        for batch in 0..4u64 {
            log.append_durable((1..=16).map(|i| entry(batch * 16 + i, "t")).collect()).await.unwrap();
        }
    }
    let wal = dir.path().join("raft/wal");
    let len = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 20).unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, ids(1..=63), "only the torn last entry is gone");
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(1, 1)));
    // The log goes on from the cut.
    log.append_durable(vec![entry(64, "again")]).await.unwrap();
    drop(log);
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await, ids(1..=64));
}

#[tokio::test]
async fn a_failed_sync_is_an_error_and_stops_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    log.append_durable(vec![entry(1, "a")]).await.unwrap();
    log.fail_next_sync();
    assert!(log.append_durable(vec![entry(2, "b")]).await.is_err(), "a failed sync reported success");
    assert!(log.save_vote(&Vote::new(2, 1)).await.is_err(), "the log took a write after a failed sync");
    drop(log);
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(indexes(&mut log).await.first(), Some(&1), "the acknowledged entry survives");
}

#[tokio::test]
async fn a_purge_compacts_the_file_and_the_contents_survive() {
    let dir = tempfile::tempdir().unwrap();
    let options = hodei_raft_store::log::LogOptions { compact_min_dead_bytes: 1 };
    let mut log = LogStore::open_with(dir.path(), options.clone()).await.unwrap();
    log.save_vote(&Vote::new(4, 2)).await.unwrap();
    log.append_durable((1..=100).map(|i| entry(i, "tenant")).collect()).await.unwrap();
    log.save_committed(Some(entry(100, "").log_id)).await.unwrap();
    let wal = dir.path().join("raft/wal");
    let before = std::fs::metadata(&wal).unwrap().len();
    log.purge(entry(90, "").log_id).await.unwrap();
    let after = std::fs::metadata(&wal).unwrap().len();
    assert!(after * 4 < before, "file not compacted: {before} -> {after} bytes");
    assert_eq!(after, log.file_bytes());
    drop(log);
    let mut log = LogStore::open_with(dir.path(), options).await.unwrap();
    assert_eq!(indexes(&mut log).await, ids(91..=100));
    assert_eq!(log.read_vote().await.unwrap(), Some(Vote::new(4, 2)));
    assert_eq!(log.read_committed().await.unwrap().map(|l| l.index), Some(100));
    assert_eq!(log.get_log_state().await.unwrap().last_purged_log_id.map(|l| l.index), Some(90));
}

#[tokio::test]
async fn raft_state_means_a_durable_record() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!hodei_raft_store::has_raft_state(dir.path()));
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert!(!hodei_raft_store::has_raft_state(dir.path()), "an empty log is no cluster");
    log.save_vote(&Vote::new(1, 1)).await.unwrap();
    assert!(hodei_raft_store::has_raft_state(dir.path()));
    drop(log);
    // A first record torn by a crash was never acknowledged.
    let wal = dir.path().join("raft/wal");
    let len = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 3).unwrap();
    assert!(!hodei_raft_store::has_raft_state(dir.path()));
}
