//! Appends per second and fsyncs per batch, measured through a real single-node
//! openraft instance on this machine's disk: C concurrent writers call
//! `client_write`, so openraft batches entries and the log's writer thread
//! group-commits them. Prints one line per concurrency.
//!
//! Run: `cargo bench -p hodei-raft-store --bench append` (`BENCH_SECS` sets the
//! seconds per row, default 3).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hodei_domain::command::CreateTenant;
use hodei_domain::{Command, Proposal};
use hodei_raft_store::{LogStore, NodeId, NodeInfo, Raft, StateMachineStore, TypeConfig};
use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};

/// A single node never sends: every call is unreachable.
struct Alone;

impl RaftNetworkFactory<TypeConfig> for Alone {
    type Network = Alone;
    async fn new_client(&mut self, _: NodeId, _: &NodeInfo) -> Alone {
        Alone
    }
}

fn unreachable<E: std::error::Error>() -> RPCError<NodeId, NodeInfo, E> {
    RPCError::Unreachable(Unreachable::new(&std::io::Error::other("single node")))
}

impl RaftNetwork<TypeConfig> for Alone {
    async fn append_entries(
        &mut self,
        _: AppendEntriesRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        Err(unreachable())
    }
    async fn install_snapshot(
        &mut self,
        _: InstallSnapshotRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId, InstallSnapshotError>>> {
        Err(unreachable())
    }
    async fn vote(
        &mut self,
        _: VoteRequest<NodeId>,
        _: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        Err(unreachable())
    }
}

fn proposal(n: u64) -> Proposal {
    // About 300 bytes encoded, like a small job submission.
    Proposal {
        at_ms: 1_763_800_000_000 + n,
        command: Command::CreateTenant(CreateTenant {
            name: format!("tenant-{n:016}-{}", "x".repeat(220)),
            email: "bench@example.com".into(),
            quota: None,
        }),
    }
}

async fn run(concurrency: usize, duration: Duration) {
    let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
    let log = LogStore::open(dir.path()).await.expect("log");
    let sm = StateMachineStore::open(dir.path()).await.expect("sm");
    let config = openraft::Config { heartbeat_interval: 100, election_timeout_min: 1000, election_timeout_max: 2000, ..Default::default() };
    let raft = Raft::new(1, Arc::new(config.validate().unwrap()), Alone, log.clone(), sm).await.expect("raft");
    raft.initialize(BTreeMap::from([(1, NodeInfo::default())])).await.expect("init");
    raft.wait(Some(Duration::from_secs(10))).metrics(|m| m.current_leader == Some(1), "leader").await.expect("leader");
    let (fsyncs0, rounds0) = (log.fsync_count(), log.write_rounds());
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let raft = raft.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                raft.client_write(proposal(w as u64 * 1_000_000_000 + n)).await.expect("write");
                n += 1;
            }
            n
        }));
    }
    let mut writes = 0;
    for t in tasks {
        writes += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let fsyncs = log.fsync_count() - fsyncs0;
    let rounds = log.write_rounds() - rounds0;
    println!(
        "concurrency {concurrency:>3}: {:>7.0} writes/s  {writes:>7} writes  {fsyncs:>6} fsyncs  {:>5.1} writes/fsync  {rounds:>6} writer rounds  {:>5.0} fsyncs/s",
        writes as f64 / secs,
        writes as f64 / fsyncs.max(1) as f64,
        fsyncs as f64 / secs
    );
    raft.shutdown().await.ok();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    println!("single-node openraft + hodei WAL in the working directory's disk, ~300-byte proposals, {secs} s per row");
    for c in [1, 16, 64] {
        rt.block_on(run(c, Duration::from_secs(secs)));
    }
}
