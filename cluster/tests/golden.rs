//! Golden bytes for the peer wire payloads (`hodei.raft.v1.Payload`, version 1):
//! a forwarded write, a membership change, its reply and an openraft append
//! request; and the `ForwardFrame` a forwarded write travels in on a stream. Bytes written by this build must decode in later builds; a change
//! that alters them fails here until the wire version is bumped and the old one
//! still read. `HODEI_BLESS=1` rewrites the fixtures.

use std::path::PathBuf;

use hodei_cluster::codec::{self, WIRE_VERSION};
use hodei_cluster::write::ForwardRequest;
use hodei_cluster::{ClusterError, LeaderHint, MembershipChange, NodeInfo, Written};
use hodei_domain::command::{SubmitJob, Tick};
use hodei_domain::WorkerId;
use hodei_domain::{Command, JobSpec, Proposal, Rejection, Outcome, TenantId};
use hodei_raft_store::{Entry, LogId, SnapshotMeta, StoredMembership, TypeConfig, Vote};
use openraft::error::RaftError;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest, VoteResponse};
use openraft::Membership;
use std::collections::{BTreeMap, BTreeSet};
use openraft::{CommittedLeaderId, EntryPayload};
use serde::{de::DeserializeOwned, Serialize};

fn check<T: Serialize + DeserializeOwned + std::fmt::Debug>(name: &str, value: &T) {
    let payload = codec::encode(value).unwrap();
    assert_eq!(payload.version, WIRE_VERSION);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &payload.payload).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(payload.payload, golden, "{name}: the wire encoding changed");
    let decoded: T = codec::decode(&hodei_proto::raft::v1::Payload { version: WIRE_VERSION, payload: golden }).unwrap();
    assert_eq!(format!("{decoded:?}"), format!("{value:?}"), "{name}: decodes to something else");
}

fn submit() -> Command {
    Command::SubmitJob(SubmitJob {
        tenant_id: TenantId(3),
        spec: JobSpec { command: vec!["echo".into(), "hello".into()], cpu_m: 500, memory_mb: 256, ..Default::default() },
        idempotency_key: Some("k-1".into()),
    })
}

#[test]
fn forwarded_writes_and_their_replies_keep_their_bytes() {
    check("forward-request-v1.bin", &ForwardRequest { command: submit() });
    let ok: Result<Written, ClusterError> = Ok(Written { index: 42, outcome: Outcome::Rejected(Rejection::QuotaExceeded { resource: "cpu_m".into(), used: 3500, requested: 1000, limit: 4000 }) });
    check("forward-reply-ok-v1.bin", &ok);
    let hint = LeaderHint { id: 2, node: Some(NodeInfo { peer_addr: "10.0.0.2:10091".into(), http_addr: "10.0.0.2:8081".into(), grpc_addr: "10.0.0.2:9091".into() }) };
    let err: Result<Written, ClusterError> = Err(ClusterError::unavailable("not the leader", Some(hint)));
    check("forward-reply-unavailable-v1.bin", &err);
}

#[test]
fn membership_changes_keep_their_bytes() {
    let node = NodeInfo { peer_addr: "10.0.0.4:10091".into(), http_addr: "10.0.0.4:8081".into(), grpc_addr: "10.0.0.4:9091".into() };
    check("membership-add-v1.bin", &MembershipChange::Add { id: 4, node, learner_only: false });
    check("membership-remove-v1.bin", &MembershipChange::Remove { id: 2 });
}

#[test]
fn raft_append_requests_keep_their_bytes() {
    let req: AppendEntriesRequest<TypeConfig> = AppendEntriesRequest {
        vote: Vote::new_committed(3, 1),
        prev_log_id: Some(log_id(9)),
        entries: vec![
            Entry { log_id: log_id(10), payload: EntryPayload::Blank },
            Entry { log_id: log_id(11), payload: EntryPayload::Normal(Proposal { at_ms: 1_763_800_000_000, command: submit() }) },
        ],
        leader_commit: Some(log_id(9)),
    };
    check("append-entries-v1.bin", &req);
}

fn log_id(index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(3, 1), index)
}

#[test]
fn raft_votes_snapshots_and_replies_keep_their_bytes() {
    check("vote-request-v1.bin", &VoteRequest { vote: Vote::new(4, 2), last_log_id: Some(log_id(11)) });
    let vote: Result<VoteResponse<u64>, RaftError<u64>> = Ok(VoteResponse { vote: Vote::new(4, 2), vote_granted: true, last_log_id: Some(log_id(11)) });
    check("vote-reply-v1.bin", &vote);
    let appended: Result<AppendEntriesResponse<u64>, RaftError<u64>> = Ok(AppendEntriesResponse::Success);
    check("append-entries-reply-v1.bin", &appended);
    let node = NodeInfo { peer_addr: "10.0.0.1:10091".into(), http_addr: "10.0.0.1:8081".into(), grpc_addr: "10.0.0.1:9091".into() };
    let membership = Membership::new(vec![BTreeSet::from([1u64])], BTreeMap::from([(1u64, node)]));
    let meta = SnapshotMeta {
        last_log_id: Some(log_id(11)),
        last_membership: StoredMembership::new(Some(log_id(1)), membership),
        snapshot_id: "3-11-0".into(),
    };
    let chunk = InstallSnapshotRequest::<TypeConfig> { vote: Vote::new_committed(3, 1), meta, offset: 0, data: vec![1, 2, 3, 4], done: true };
    check("install-snapshot-v1.bin", &chunk);
}

#[test]
fn heartbeats_membership_replies_and_batches_keep_their_bytes() {
    check("heartbeat-v1.bin", &WorkerId(7));
    check("heartbeat-reply-v1.bin", &Ok::<bool, ClusterError>(true));
    let node = NodeInfo { peer_addr: "10.0.0.4:10091".into(), http_addr: "10.0.0.4:8081".into(), grpc_addr: "10.0.0.4:9091".into() };
    check("membership-set-node-v1.bin", &MembershipChange::SetNode { id: 4, node });
    check("membership-reply-v1.bin", &Ok::<u64, ClusterError>(17));
    check("forward-reply-maybe-v1.bin", &Err::<Written, ClusterError>(ClusterError::MaybeCommitted));
    // Protocol 3: a follower forwards its batch in one call.
    check("forward-request-batch-v1.bin", &ForwardRequest { command: Command::Batch(vec![submit(), Command::Tick(Tick {})]) });
    let batch: Result<Written, ClusterError> = Ok(Written { index: 43, outcome: Outcome::Batch(vec![Outcome::ClusterVersionSet(3), Outcome::Rejected(Rejection::NotFound { what: "job 9".into() })]) });
    check("forward-reply-batch-v1.bin", &batch);
}

/// A forwarded write on a `ForwardStream`: the protobuf frame (id, payload,
/// request ids) around the versioned payload. The leader's answer is the same
/// frame with the reply as payload.
#[test]
fn a_forward_stream_frame_keeps_its_bytes() {
    use hodei_proto::raft::v1::ForwardFrame;
    use prost::Message;
    let payload = codec::encode(&ForwardRequest { command: submit() }).unwrap();
    let frame = ForwardFrame { id: 300, payload: Some(payload), request_id: "req-1,req-2".into() };
    let bytes = frame.encode_to_vec();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/forward-frame-v1.bin");
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(bytes, golden, "forward-frame-v1.bin: the wire encoding changed");
    // Field 1 (id) leads as a varint: 300 is 0xac 0x02.
    assert_eq!(&golden[..3], &[0x08, 0xac, 0x02], "the frame's id is field 1, a varint");
    assert_eq!(ForwardFrame::decode(golden.as_slice()).unwrap(), frame, "decodes to something else");
}
