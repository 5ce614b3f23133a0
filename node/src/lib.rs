//! # hodei (the binary's library)
//!
//! `main.rs` only parses the command line and calls into here, so tests can run
//! a node in-process with [`run::run`].
//!
//! - [`cli`]: the `hodei` command line.
//! - [`config`]: file < env < flag loading and validation (`ServerConfig`).
//! - [`run`]: one node: listeners, Raft, REST, gRPC, clean shutdown.
//! - [`dev`]: `hodei dev`, a local cluster of node processes.
//! - [`token`]: `hodei token`.
//! - [`client`]: the client verbs (`tenant`, `job`, `cluster`) over REST.
//! - [`restore`]: `hodei restore`, a fresh data dir from a backup.
//! - [`worker`]: the worker agent and its process runner.
//! - [`provision`]: the leader's reconciliation of dynamic pools to real workers.
//! - [`bench`]: `hodei bench`, load generators (and etcd's, for comparison).
//! - [`dashboards`]: `hodei dashboards push`, Grafana dashboards over its HTTP API.
//! - [`logging`]: tracing set-up (`HODEI_LOG`, `HODEI_LOG_FORMAT`).

pub mod bench;
pub mod cli;
pub mod client;
pub mod config;
pub mod dashboards;
pub mod dev;
pub mod logging;
pub mod provision;
pub mod restore;
pub mod run;
pub mod token;
pub mod worker;
