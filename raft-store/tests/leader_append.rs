//! The log tells its leader-append hook of the entries this node appends as
//! leader, with the id of the entry before them, as it takes them (before
//! they are durable); never of entries appended as a follower or a candidate.

mod support;

use std::sync::{Arc, Mutex};

use hodei_raft_store::{LeaderAppend, LogId, LogStore, Vote};
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use support::{entry, entry_in};

/// What the hook saw of one append: the previous index, the entries' indexes
/// and the vote.
type Seen = Arc<Mutex<Vec<(u64, Vec<u64>, Vote)>>>;

fn hook(seen: &Seen) -> hodei_raft_store::LeaderAppendHook {
    let seen = seen.clone();
    Box::new(move |a: LeaderAppend| {
        let indexes = a.entries.iter().map(|e| e.log_id.index).collect();
        seen.lock().unwrap().push((a.prev.index, indexes, a.vote));
    })
}

#[tokio::test]
async fn the_hook_hears_of_a_leaders_own_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = LogStore::open(dir.path()).await.unwrap();
    let seen: Seen = Arc::default();
    assert!(log.on_leader_append(1, hook(&seen)));
    assert!(!log.on_leader_append(1, hook(&seen)), "a second hook is refused");

    // Node 1 follows node 2 in term 1: not told, though the entry before
    // (purged) is known.
    log.save_vote(&Vote::new_committed(1, 2)).await.unwrap();
    log.purge(LogId::new(openraft::CommittedLeaderId::new(1, 1), 0)).await.unwrap();
    log.blocking_append([entry(1, "a"), entry(2, "b")]).await.unwrap();
    assert!(seen.lock().unwrap().is_empty(), "a follower's append was handed on");

    // Node 1 leads term 2: told of its entries, with the entry before them.
    let leading = Vote::new_committed(2, 1);
    log.save_vote(&leading).await.unwrap();
    log.blocking_append([entry_in(2, 3, "c"), entry_in(2, 4, "d")]).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![(2, vec![3, 4], leading)]);

    // After a purge of everything, the entry before is the purged one.
    log.purge(LogId::new(openraft::CommittedLeaderId::new(2, 1), 4)).await.unwrap();
    log.blocking_append([entry_in(2, 5, "e")]).await.unwrap();
    assert_eq!(seen.lock().unwrap().last(), Some(&(4, vec![5], leading)));

    // Entries of another term under this vote were not proposed by this leader.
    log.blocking_append([entry_in(1, 6, "f")]).await.unwrap();
    // A candidate's vote for itself, not yet granted by a quorum: not leading.
    log.save_vote(&Vote::new(3, 1)).await.unwrap();
    log.blocking_append([entry_in(3, 7, "g")]).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2, "only the leader's own appends are handed on");

    // What the hook saw was appended all the same, and durably.
    drop(log);
    let mut log = LogStore::open(dir.path()).await.unwrap();
    assert_eq!(support::indexes(&mut log).await, vec![5, 6, 7]);
}
