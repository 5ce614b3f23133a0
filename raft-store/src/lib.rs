//! # hodei-raft-store
//!
//! Storage for openraft 0.9 (`storage-v2`): the durable log and vote, and the
//! state machine that wraps `hodei_domain::State`.
//!
//! ```text
//!   openraft ──append/vote──▶ LogStore ──records──▶ writer thread ──write + fdatasync──▶ raft/wal
//!            ◀──flushed──────────────────────────────────────┘ (one sync per queued batch)
//!   LogStore ──a leader's own entries, as queued──▶ leader-append hook (the cluster presends them)
//!   openraft ──apply──▶ StateMachineStore (State in memory) ──build_snapshot──▶ snapshots/current.snap
//! ```
//!
//! - [`types`]: the Raft type configuration (`TypeConfig`, `NodeInfo`).
//! - [`log`]: the write-ahead log (`log/record.rs` is its format, `log/writer.rs`
//!   its group-committing writer thread).
//! - [`sm`]: the state machine store; [`snapshot_file`]: the snapshot file format.
//! - [`memory`]: freed heap pages back to the kernel after a snapshot.
//!
//! Why not sled for Raft state: sled 0.34's `flush` is `sync_file_range`, not an
//! fsync, so it cannot make a vote or an entry durable. See `docs/storage.md`.

pub mod log;
pub mod memory;
pub mod sm;
pub mod snapshot_file;
pub mod types;

pub use log::{LeaderAppend, LeaderAppendHook, LogStore};
pub use sm::StateMachineStore;
pub use types::*;

/// True if `dir` holds a Raft log (this node was part of a cluster).
pub fn has_raft_state(dir: &std::path::Path) -> bool {
    log::wal_path(dir).exists()
}
