//! Membership faults: the cluster's voters change under load, the way an
//! operator adds, removes and replaces nodes.
//!
//! - `add-remove`: a fresh node (new id, empty data dir) joins through a member
//!   (`--join`: learner, then voter once caught up), serves for the hold, and is
//!   removed again (`DELETE /api/v1/cluster/members/{id}`), then stopped;
//! - `replace-node`: the same join, then an old member (the leader half of the
//!   time) is removed and stopped for good; the newcomer stays.
//!
//! What must hold while they run: a node is added before any is removed, and a
//! removal that would leave fewer members than the campaign started with is
//! refused, so the voter count never drops below the original. Faults run one
//! at a time and only after the previous heal and recovery, so no removal (the
//! leader's included) meets a partition. Clients stop using a node before its
//! removal and start using a newcomer once it is a voter; both changes are kept
//! in the history, which is how the checkers know whom the final state binds.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use reqwest::Method;

use crate::backend::Backend;
use crate::client::Rest;
use crate::history::MemberChange;
use crate::monitor::own_hash;
use crate::recovery::{Prober, RECOVERY_DEADLINE};

/// Adds a fresh node, holds, then removes that node again.
pub async fn add_remove<B: Backend>(prober: &Prober<B>, rng: &mut StdRng, hold_ms: u64) -> anyhow::Result<String> {
    let (id, joined) = add(prober, rng).await?;
    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    remove(prober, id).await?;
    Ok(format!("node {id} joined (voter after {joined} ms), node {id} removed"))
}

/// Adds a fresh node, holds, then removes an old one: the leader half of the
/// time (when one is known), else a random member that was there before it.
pub async fn replace<B: Backend>(prober: &Prober<B>, rng: &mut StdRng, leader: Option<u64>, hold_ms: u64) -> anyhow::Result<String> {
    let old: Vec<u64> = prober.backend.node_ids();
    let (id, joined) = add(prober, rng).await?;
    tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    let victim = match leader {
        Some(l) if old.contains(&l) && rng.random_bool(0.5) => l,
        _ => *old.choose(rng).context("no member to replace")?,
    };
    remove(prober, victim).await?;
    let role = if Some(victim) == leader { " (the leader)" } else { "" };
    Ok(format!("node {id} joined (voter after {joined} ms), node {victim}{role} removed"))
}

/// Starts a fresh node that joins through a random member and waits until it is
/// a voter and serves; returns its id and how long that took. A node that does
/// not get there is removed and stopped again.
async fn add<B: Backend>(prober: &Prober<B>, rng: &mut StdRng) -> anyhow::Result<(u64, u128)> {
    let backend = &prober.backend;
    let via = *backend.node_ids().choose(rng).context("no member to join through")?;
    let started = Instant::now();
    let id = backend.add_node(via).await?;
    if let Err(e) = wait_for_voter(prober, id).await {
        let undo = delete_member(prober, id).await.and(backend.retire(id).await);
        bail!("node {id} (joining through {via}): {e:#}; undone: {undo:?}");
    }
    prober.recorder.member_change(MemberChange::Added { node: id, at_ms: prober.recorder.now_ms() });
    follow_members(prober);
    Ok((id, started.elapsed().as_millis()))
}

/// Takes `id` out of the clients' rotation, has the cluster remove it, then stops
/// it for good. Refused when it would leave fewer members than the campaign
/// started with.
async fn remove<B: Backend>(prober: &Prober<B>, id: u64) -> anyhow::Result<()> {
    let members = prober.backend.node_ids();
    let founding = prober.recorder.founding_count();
    if members.len() <= founding {
        bail!("removing node {id} would leave {} members, fewer than the {founding} the campaign started with", members.len() - 1);
    }
    let rest: Vec<(u64, String)> = prober.traffic.nodes().into_iter().filter(|(n, _)| *n != id).collect();
    prober.traffic.set_nodes(rest);
    delete_member(prober, id).await?;
    prober.recorder.member_change(MemberChange::Removed { node: id, at_ms: prober.recorder.now_ms() });
    prober.backend.retire(id).await?;
    follow_members(prober);
    Ok(())
}

/// Points the clients at the backend's members.
fn follow_members<B: Backend>(prober: &Prober<B>) {
    prober.traffic.set_nodes(prober.backend.node_ids().into_iter().map(|id| (id, prober.backend.base_url(id))).collect());
}

/// Waits (at most [`RECOVERY_DEADLINE`]) until the leader lists `id` as a voter
/// and `id` itself names a leader.
async fn wait_for_voter<B: Backend>(prober: &Prober<B>, id: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    let mut last = String::from("no leader named yet");
    while Instant::now() < deadline {
        if let Some(leader) = prober.leader().await {
            let url = format!("{}/api/v1/cluster?consistency=stale", prober.backend.base_url(leader));
            let voter = prober.status.get(&url).await.ok().is_some_and(|r| {
                r.json["members"].as_array().into_iter().flatten().any(|m| m["id"].as_u64() == Some(id) && m["voter"] == true)
            });
            let serves = own_hash(&prober.status, &prober.backend.base_url(id)).await.is_some_and(|(_, _, l)| l.is_some());
            if voter && serves {
                return Ok(());
            }
            last = format!("voter per leader {leader}: {voter}; names a leader itself: {serves}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("not a serving voter within {RECOVERY_DEADLINE:?}: {last}")
}

/// `DELETE /api/v1/cluster/members/{id}` through the other members in turn until
/// it is committed (200) or the node is no member (404, after an attempt that
/// timed out but was applied), at most [`RECOVERY_DEADLINE`].
async fn delete_member<B: Backend>(prober: &Prober<B>, id: u64) -> anyhow::Result<()> {
    let rest = Rest::new(prober.backend.admin_token(), Duration::from_secs(10))?;
    let others: Vec<u64> = prober.backend.node_ids().into_iter().filter(|n| *n != id).collect();
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    let mut last = String::new();
    for via in others.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let url = format!("{}/api/v1/cluster/members/{id}", prober.backend.base_url(*via));
        match rest.call(Method::DELETE, &url, None, &[]).await {
            Ok(r) if r.status == 200 || r.status == 404 => return Ok(()),
            Ok(r) => last = format!("via node {via}: {} {}", r.status, r.json),
            Err(e) => last = format!("via node {via}: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the removal of node {id} was not committed within {RECOVERY_DEADLINE:?}: {last}")
}
