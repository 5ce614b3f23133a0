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
//! - [`logging`]: tracing set-up (`HODEI_LOG`, `HODEI_LOG_FORMAT`).

pub mod cli;
pub mod config;
pub mod dev;
pub mod logging;
pub mod run;
pub mod token;
