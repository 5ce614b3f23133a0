//! Samples each node's own applied index and state hash about twice a second
//! while faults run, so the state-hash checker can compare nodes at equal indexes
//! during the campaign, not only after healing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::client::Rest;
use crate::history::{HashSample, Recorder};

/// A node's own (applied index, state hash), from its `/api/v1/cluster`.
pub async fn own_hash(rest: &Rest, base_url: &str) -> Option<(u64, u64, Option<u64>)> {
    let r = rest.get(&format!("{base_url}/api/v1/cluster?consistency=stale")).await.ok()?;
    let me = r.json["node_id"].as_u64()?;
    let m = r.json["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(me))?;
    Some((m["applied_index"].as_u64()?, m["state_hash"].as_u64()?, r.json["leader_id"].as_u64()))
}

/// (cluster version it records, protocol version it speaks) of the node at `base_url`.
pub async fn versions(rest: &Rest, base_url: &str) -> Option<(u32, u32)> {
    let r = rest.get(&format!("{base_url}/api/v1/cluster?consistency=stale")).await.ok()?;
    let me = r.json["node_id"].as_u64()?;
    let m = r.json["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(me))?;
    let version = |v: &serde_json::Value| v.as_u64().and_then(|v| u32::try_from(v).ok());
    Some((version(&r.json["cluster_version"])?, version(&m["protocol_version"])?))
}

pub async fn run<B: Backend>(backend: Arc<B>, recorder: Arc<Recorder>, stop: Arc<AtomicBool>) {
    let Ok(rest) = Rest::new(backend.admin_token(), Duration::from_millis(800)) else { return };
    while !stop.load(Ordering::Relaxed) {
        for id in backend.node_ids() {
            if let Some((applied_index, state_hash, _)) = own_hash(&rest, &backend.base_url(id)).await {
                recorder.sample(HashSample { node: id, at_ms: recorder.now_ms(), applied_index, state_hash });
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
