//! One fault interface, several ways to run a cluster. A backend starts the
//! nodes, tells where each one's REST endpoint is, and applies faults to them;
//! the nemesis decides which faults and when. Only the process backend exists so
//! far; in-process and docker backends implement the same trait.

pub mod process;

use std::future::Future;

pub use process::{ProcessBackend, ProcessOptions};

pub trait Backend: Send + Sync + 'static {
    /// Raft ids of every node, in order.
    fn node_ids(&self) -> Vec<u64>;
    /// `http://host:port` of a node's REST endpoint.
    fn base_url(&self, id: u64) -> String;
    /// A token with the admin role.
    fn admin_token(&self) -> String;

    /// Cuts what `from` sends to `to` (one direction only).
    fn cut(&self, from: u64, to: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Removes every cut on every running node.
    fn heal_network(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// SIGKILL (or the backend's equivalent): no shutdown path runs.
    fn kill(&self, id: u64) -> anyhow::Result<()>;
    /// Starts a killed node again on its own data.
    fn restart(&self, id: u64) -> anyhow::Result<()>;
    /// Freezes a node (SIGSTOP): it keeps its sockets but answers nothing.
    fn pause(&self, id: u64) -> anyhow::Result<()>;
    fn resume(&self, id: u64) -> anyhow::Result<()>;
    /// Resumes paused nodes, restarts dead ones, then heals the network.
    fn heal_all(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The tail of each node's log, for a failure message.
    fn logs(&self) -> String;
}
