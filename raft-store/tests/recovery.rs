//! Start-up recovery: a torn tail left by a crash is cut off, the acknowledged
//! prefix survives; corruption before the tail is a loud error; a vote comes
//! back uncommitted; a snapshot plus the log rebuilds the state.

mod support;

use std::io::Write;

use hodei_domain::Command;
use hodei_raft_store::log::record::{self, Record};
use hodei_raft_store::{LogId, LogStore, StateMachineStore, Vote};
use openraft::storage::{RaftLogReader, RaftLogStorage, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload};
use support::{entry, indexes};

/// Writes a WAL file with a vote and `n` entries, exactly as the writer would.
fn write_wal(dir: &std::path::Path, n: u64) -> Vec<u8> {
    let mut bytes = record::header().to_vec();
    record::encode(&Record::Vote(Vote::new(1, 1)), &mut bytes);
    for i in 1..=n {
        record::encode(&Record::Entry(entry(i, &format!("t{i}"))), &mut bytes);
    }
    std::fs::create_dir_all(dir.join("raft")).unwrap();
    std::fs::write(dir.join("raft/wal"), &bytes).unwrap();
    bytes
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
    let at = record::HEADER_LEN + 40;
    bytes[at] ^= 0xff;
    std::fs::write(dir.path().join("raft/wal"), &bytes).unwrap();
    let err = LogStore::open(dir.path()).await.err().expect("corruption must not open");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[tokio::test]
async fn a_truncate_then_append_replays_to_the_new_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write_wal(dir.path(), 3);
    record::encode(&Record::Truncate(2), &mut bytes);
    record::encode(&Record::Entry(entry(2, "replacement")), &mut bytes);
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

/// A leader's entries may reach followers before they are durable on the
/// leader, so a leader must not resume its term after a restart: its own
/// committed vote comes back uncommitted (same term, same candidate), and
/// openraft starts it as a follower.
#[tokio::test]
async fn a_committed_vote_comes_back_uncommitted_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_wal(dir.path(), 2);
    let granted = Vote::new_committed(3, 1);
    {
        let mut log = LogStore::open(dir.path()).await.unwrap();
        log.save_vote(&granted).await.unwrap();
        assert_eq!(log.read_vote().await.unwrap(), Some(granted), "the running log keeps what openraft saved");
    }
    let mut log = LogStore::open(dir.path()).await.unwrap();
    let vote = log.read_vote().await.unwrap().expect("a vote");
    assert_eq!(vote, Vote::new(3, 1), "same term and candidate, not committed");
    assert!(!vote.is_committed());
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

#[tokio::test]
async fn the_committed_index_follows_save_committed_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    write_wal(dir.path(), 4);
    {
        let mut log = LogStore::open(dir.path()).await.unwrap();
        assert_eq!(log.committed_index(), 0, "nothing committed yet");
        log.save_committed(Some(LogId::new(CommittedLeaderId::new(1, 1), 3))).await.unwrap();
        assert_eq!(log.committed_index(), 3);
        // A durable write queued after it: once it is acknowledged, so is the committed id.
        log.save_vote(&Vote::new(1, 1)).await.unwrap();
    }
    assert_eq!(LogStore::open(dir.path()).await.unwrap().committed_index(), 3);
}
