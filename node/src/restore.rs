//! `hodei restore`: seeds a fresh data dir from a backup (`GET
//! /api/v1/cluster/snapshot`), like `etcdutl snapshot restore`. Every member of
//! the new cluster is restored from the same file with the same
//! `--initial-cluster`, so they agree on the state and the membership; then they
//! start with `hodei server` as usual.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use hodei_raft_store::{snapshot_file, NodeInfo, StoredMembership};

use crate::config::parse_initial_cluster;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// An empty (or missing) data dir for one member of the new cluster.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The new cluster's members: `1=host:peerport,2=...`.
    #[arg(long)]
    pub initial_cluster: String,
}

pub fn restore(args: &RestoreArgs) -> anyhow::Result<String> {
    let bytes = std::fs::read(&args.snapshot).with_context(|| format!("reading {}", args.snapshot.display()))?;
    let (mut meta, body) = snapshot_file::decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.snapshot.display()))?;
    let state = hodei_domain::snapshot::decode(body).map_err(|e| anyhow::anyhow!("{}: {e}", args.snapshot.display()))?;
    anyhow::ensure!(
        !hodei_raft_store::has_raft_state(&args.data_dir) && !snapshot_file::path(&args.data_dir).exists(),
        "{} already holds a cluster; restore into an empty data dir",
        args.data_dir.display()
    );
    let members = parse_initial_cluster(&args.initial_cluster).map_err(|e| anyhow::anyhow!("{e}"))?;
    let voters: BTreeSet<u64> = members.keys().copied().collect();
    let nodes: BTreeMap<u64, NodeInfo> =
        members.into_iter().map(|(id, peer)| (id, NodeInfo { peer_addr: peer, ..Default::default() })).collect();
    let membership = openraft::Membership::new(vec![voters], nodes);
    meta.last_membership = StoredMembership::new(meta.last_log_id, membership);
    let restored = snapshot_file::encode(&meta, body);
    snapshot_file::write(&args.data_dir, &restored).with_context(|| format!("writing into {}", args.data_dir.display()))?;
    // The log starts where the snapshot ends: record it as purged up to there, so
    // the first new entry gets the next index instead of index 1.
    if let Some(last) = meta.last_log_id {
        hodei_raft_store::log::write_purged(&args.data_dir, last).with_context(|| format!("writing the log in {}", args.data_dir.display()))?;
    }
    Ok(format!(
        "restored index {} ({} tenants, {} jobs) into {}",
        meta.last_log_id.map(|l| l.index).unwrap_or(0),
        state.tenants().count(),
        state.jobs().count(),
        args.data_dir.display()
    ))
}
