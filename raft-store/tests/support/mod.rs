//! A single-node openraft on real stores, for tests and the append bench.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
pub struct Alone;

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

/// A proposal of about 300 encoded bytes, like a small job submission.
pub fn proposal(n: u64) -> Proposal {
    Proposal {
        at_ms: 1_763_800_000_000 + n,
        command: Command::CreateTenant(CreateTenant {
            name: format!("tenant-{n:016}-{}", "x".repeat(220)),
            email: "bench@example.com".into(),
            quota: None,
        }),
    }
}

/// Opens the stores under `dir` and starts node 1; initializes it when the dir
/// held no Raft state, and waits until it leads.
pub async fn must_start(dir: &Path) -> (Raft, LogStore, StateMachineStore) {
    let fresh = !hodei_raft_store::has_raft_state(dir);
    let log = LogStore::open(dir).await.expect("open log");
    let sm = StateMachineStore::open(dir).await.expect("open state machine");
    let config = openraft::Config {
        heartbeat_interval: 100,
        election_timeout_min: 300,
        election_timeout_max: 600,
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: 0,
        ..Default::default()
    };
    let raft = Raft::new(1, Arc::new(config.validate().unwrap()), Alone, log.clone(), sm.clone()).await.expect("raft");
    if fresh {
        raft.initialize(BTreeMap::from([(1, NodeInfo::default())])).await.expect("initialize");
    }
    raft.wait(Some(Duration::from_secs(10))).metrics(|m| m.current_leader == Some(1), "node 1 leads").await.expect("leader");
    (raft, log, sm)
}
