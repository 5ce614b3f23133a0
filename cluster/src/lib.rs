//! # hodei-cluster
//!
//! One Raft member of a Hodei cluster, built on openraft and `hodei-raft-store`.
//!
//! ```text
//!   api ──write(cmd)──▶ ClusterNode ──leader?──▶ raft.client_write(Proposal{at_ms, cmd})
//!                            │ no
//!                            └──ForwardStream (peer gRPC, one hop)──▶ leader ──▶ client_write
//!   api ──read_barrier──▶ leader read index (ReadIndex RPC from followers) ──▶ wait applied
//! ```
//!
//! - [`config`]: start-up settings and Raft timing (etcd-like defaults).
//! - [`node`]: `ClusterNode`: start (bootstrap, join or rejoin), leader hints, shutdown.
//! - [`write`]: client writes, stamped by the leader, forwarded by followers
//!   (`forward`: on one stream to the leader); [`batch`]: concurrent writes of
//!   one node carried by one Raft entry.
//! - [`read`]: linearizable and stale read barriers; [`read_batch`]: concurrent
//!   reads share read-index rounds.
//! - [`membership`]: join, removal, advertised addresses.
//! - [`status`]: the cluster view served by `GET /api/v1/cluster`.
//! - [`version`]: members' protocol versions, raising the cluster version, and
//!   the gate that keeps newer command kinds out of the log until all can apply them.
//! - [`backup`]: consistent snapshots for `GET /api/v1/cluster/snapshot`.
//! - [`server`]: the peer gRPC service; [`network`]: openraft's network over it;
//!   [`peers`]: channel cache; [`codec`]: versioned payloads; `presend`: a
//!   leader's entries sent to followers before its own sync returns.
//! - [`filter`]: the transport filter that drops or delays messages per link.
//! - [`leader`]: leader-only loops (dispatch, worker-lease expiry, autoscaling,
//!   history samples) that only propose.
//! - `lease`: the leader's read lease (linearizable reads without a round while
//!   a quorum recently confirmed it).
//! - [`liveness`]: worker leases held in the leader's memory; [`heartbeat`]: relaying them.
//! - [`error`]: not-leader/unavailable, maybe-committed and invalid kept apart.
//! - [`request_id`]: the client's request id, carried to the leader as metadata
//!   when a write is forwarded.

pub mod backup;
pub mod batch;
pub mod codec;
pub mod config;
pub mod error;
pub mod filter;
mod forward;
pub mod heartbeat;
pub mod leader;
mod lease;
pub mod liveness;
pub mod membership;
pub mod network;
pub mod node;
pub mod peers;
mod presend;
pub mod read;
pub mod read_batch;
pub mod request_id;
pub mod server;
pub mod status;
pub mod version;
pub mod write;

pub use config::{ClusterConfig, RaftTiming};
pub use error::{ClusterError, LeaderHint};
pub use filter::{LinkRule, TransportFilter};
pub use membership::MembershipChange;
pub use presend::PresendCounts;
pub use node::ClusterNode;
pub use read::Consistency;
pub use status::{ClusterStatus, MemberStatus};
pub use write::Written;
pub use hodei_raft_store::sm::{SnapshotDone, SnapshotOp};
pub use hodei_raft_store::{has_raft_state, NodeInfo};
