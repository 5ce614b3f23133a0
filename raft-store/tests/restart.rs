//! A real single-node openraft on these stores: a restart rebuilds the state
//! from the snapshot plus the committed log after it, and a failed sync never
//! turns into an acknowledged write.

mod support;

use std::time::Duration;

use hodei_raft_store::StateMachineStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_rebuilds_the_state_from_snapshot_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let (raft, _log, sm) = support::must_start(dir.path()).await;
        for n in 0..10 {
            raft.client_write(support::proposal(n)).await.expect("write");
        }
        raft.trigger().snapshot().await.unwrap();
        let at = sm.applied_index();
        raft.wait(Some(Duration::from_secs(10)))
            .metrics(|m| m.snapshot.is_some_and(|s| s.index >= at), "snapshot built")
            .await
            .expect("snapshot");
        raft.trigger().purge_log(at).await.unwrap();
        raft.wait(Some(Duration::from_secs(10)))
            .metrics(|m| m.purged.is_some_and(|p| p.index >= at), "log purged")
            .await
            .expect("purge");
        for n in 10..15 {
            raft.client_write(support::proposal(n)).await.expect("write");
        }
        let before = sm.state_hash();
        raft.shutdown().await.unwrap();
        before
    };
    // The snapshot alone is behind the log ...
    let from_snapshot = StateMachineStore::open(dir.path()).await.unwrap();
    assert!(from_snapshot.applied_index() < before.0);
    assert!(from_snapshot.current_snapshot_bytes().is_some());
    // ... and openraft replays the committed entries after it on start-up.
    let (raft, _log, sm) = support::must_start(dir.path()).await;
    raft.wait(Some(Duration::from_secs(10))).applied_index(Some(before.0), "committed entries re-applied").await.expect("replay");
    let after = sm.state_hash();
    assert!(after.0 >= before.0);
    assert_eq!(sm.read(|s| s.tenants().count()), 15);
    if after.0 == before.0 {
        assert_eq!(after, before, "same index, same state");
    }
    raft.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_is_never_an_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, log, sm) = support::must_start(dir.path()).await;
    raft.client_write(support::proposal(1)).await.expect("write before the fault");
    let applied = sm.applied_index();
    log.fail_next_sync();
    let res = tokio::time::timeout(Duration::from_secs(5), raft.client_write(support::proposal(2))).await;
    assert!(!matches!(res, Ok(Ok(_))), "a write whose sync failed was acknowledged");
    assert_eq!(sm.applied_index(), applied, "nothing after the failed sync was applied");
    let later = tokio::time::timeout(Duration::from_secs(5), raft.client_write(support::proposal(3))).await;
    assert!(!matches!(later, Ok(Ok(_))), "the log accepted writes after a failed sync");
    let _ = raft.shutdown().await;
}
