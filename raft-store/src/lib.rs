//! # hodei-raft-store
//!
//! Storage for openraft 0.9 (`storage-v2`): the durable log and vote, and the
//! state machine that wraps `hodei_domain::State`.
//!
//! - [`types`]: the Raft type configuration (`TypeConfig`, `NodeInfo`).

pub mod types;

pub use types::*;
