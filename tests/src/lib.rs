//! # hodei-tests
//!
//! A harness that runs real `hodei server` processes on loopback, each with its
//! own data dir under one temp folder, and talks to them over REST like any client.
//!
//! - [`process`]: one node process: spawn, SIGKILL, restart on the same data dir.
//! - [`cluster`]: a set of nodes, an admin token, and `wait_for_*` helpers.
//! - [`client`]: thin REST calls that return status and JSON.
//! - [`grpc`]: gRPC channels, bearer metadata, decoded `google.rpc` details.
//! - [`promql`]: the PromQL of the shipped dashboards and rules, and the
//!   Prometheus tools (promtool, prometheus) that check it.
//!
//! The binary is `target/<profile>/hodei` next to the test executable (or
//! `$HODEI_BIN`); the test command builds it first.

pub mod client;
pub mod grpc;
pub mod cluster;
pub mod process;
pub mod promql;

pub use client::Reply;
pub use cluster::{Cluster, ClusterOptions};

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or fails naming `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    match poll_until(timeout, check).await {
        Some(v) => v,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Polls `check` every 50 ms until it returns `Some`; `None` after `timeout`
/// (for a caller that explains the failure itself).
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
