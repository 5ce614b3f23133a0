//! One fault interface, several ways to run a cluster. A backend starts the
//! nodes, tells where each one's REST endpoint is, and applies faults to them;
//! the nemesis decides which faults and when.
//!
//! - [`process`]: `hodei server` OS processes, each on its own loopback address
//!   (its nodes in `process_node`);
//!   network faults by [`iptables`] rules (and delay by [`netem`]) when it is
//!   usable, else by each node's transport filter ([`filter`]);
//! - [`inprocess`]: nodes inside this process, cut by their transport filters;
//! - [`docker`]: one container per node from the `hodei:dev` image on a network
//!   of the campaign's own ([`docker_cli`] runs the `docker` commands,
//!   [`docker_netns`] makes link faults inside the containers);
//! - [`workers`]: `hodei worker` agents beside the process backend's nodes.
//! - [`versions`]: nodes still capped at the previous protocol version, so a
//!   roll is a rolling upgrade.

pub mod docker;
pub mod docker_cli;
pub mod docker_netns;
pub mod filter;
pub mod inprocess;
pub mod iptables;
pub mod netem;
pub mod process;
mod process_node;
pub mod versions;
pub mod workers;

use std::future::Future;

pub use docker::{DockerBackend, DockerOptions};
pub use inprocess::InProcessBackend;
pub use process::{ProcessBackend, ProcessOptions};

use crate::nemesis::Fault;

pub trait Backend: Send + Sync + 'static {
    /// Raft ids of every node, in order.
    fn node_ids(&self) -> Vec<u64>;
    /// `http://host:port` of a node's REST endpoint.
    fn base_url(&self, id: u64) -> String;
    /// `http://host:port` of a node's gRPC endpoint, when it serves one the
    /// campaign can reach (clients then send a share of their calls there).
    fn grpc_url(&self, _id: u64) -> Option<String> {
        None
    }
    /// A token with the admin role.
    fn admin_token(&self) -> String;
    /// How this backend makes network faults, for the report.
    fn network_faults(&self) -> String;
    /// Why this backend cannot apply `fault`, or `None` when it can.
    fn unsupported(&self, fault: Fault) -> Option<String>;

    /// Cuts what `from` sends to `to` (one direction only).
    fn cut(&self, from: u64, to: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Cuts every link between nodes on different sides, both ways.
    fn split(&self, sides: &[Vec<u64>]) -> impl Future<Output = anyhow::Result<()>> + Send {
        async move {
            let mut pairs = Vec::new();
            for (i, a) in sides.iter().enumerate() {
                for b in &sides[i + 1..] {
                    pairs.extend(a.iter().flat_map(|&x| b.iter().map(move |&y| (x, y))));
                }
            }
            for (x, y) in pairs {
                self.cut(x, y).await?;
                self.cut(y, x).await?;
            }
            Ok(())
        }
    }
    /// Holds back what `from` sends to `to` by `ms` (the transport filter, or netem).
    fn delay(&self, from: u64, to: u64, ms: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Drops each packet between `a` and `b` (both directions) with `probability`.
    fn lose(&self, a: u64, b: u64, probability: f64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Removes every cut and every loss.
    fn heal_network(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// SIGKILL (or the backend's equivalent): no shutdown path runs.
    fn kill(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Starts a killed node again on its own data.
    fn restart(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Freezes a node: it keeps its sockets but answers nothing.
    fn pause(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn resume(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Stops a node cleanly and starts a fresh one (process or container) on the
    /// same data and addresses at this build's protocol version (an upgrade if
    /// it ran capped, see [`versions`]); returns once it is ready.
    fn roll(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Starts a fresh node (the next unused id, an empty data dir) that joins the
    /// cluster through member `via` (learner, then voter, as `hodei server
    /// --join` does); returns its id at once. It is in [`Backend::node_ids`] from
    /// then on, and is killed, restarted and healed like any other.
    fn add_node(&self, via: u64) -> impl Future<Output = anyhow::Result<u64>> + Send;
    /// Stops node `id` for good once the cluster has removed it: it leaves
    /// [`Backend::node_ids`] and is never restarted; its data dir stays, so its
    /// committed log is still compared with the others'.
    fn retire(&self, id: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Resumes paused nodes, restarts dead ones, then heals the network.
    fn heal_all(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The protocol version node `id` runs.
    fn protocol_version(&self, id: u64) -> u32;
    /// The tail of each node's log, for a failure message.
    fn logs(&self) -> String;
    /// (node id, data dir) of every node whose files this process can read,
    /// retired ones included; empty when it can read none (the committed log is
    /// then not replayed).
    fn data_dirs(&self) -> Vec<(u64, std::path::PathBuf)> {
        Vec::new()
    }
    /// How many `hodei worker` agents run the campaign's jobs.
    fn workers(&self) -> usize {
        0
    }
}

/// A fresh 32-letter JWT secret and an admin token signed with it.
pub(crate) fn new_secret() -> anyhow::Result<(Vec<u8>, String)> {
    use hodei_api::auth::{issue_token, Claims, Role, AUDIENCE, ISSUER};
    let secret: Vec<u8> = (0..32).map(|_| rand::random::<u8>() % 26 + b'a').collect();
    let claims = Claims {
        sub: "hodei-chaos".into(),
        hodei_tenant: None,
        hodei_roles: vec![Role::Admin],
        exp: 4_000_000_000,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    let token = issue_token(&secret, &claims)?;
    Ok((secret, token))
}

/// Polls `base_url/ready` until it answers 200, failing at `deadline` or as soon
/// as `gone` reports why the node cannot come up (it exited).
pub(crate) async fn wait_until_ready(
    rest: &crate::client::Rest,
    id: u64,
    base_url: &str,
    deadline: std::time::Instant,
    mut gone: impl FnMut() -> Option<String>,
) -> anyhow::Result<()> {
    loop {
        if let Some(why) = gone() {
            anyhow::bail!("node {id} {why} before it was ready");
        }
        if rest.get(&format!("{base_url}/ready")).await.is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            anyhow::bail!("timed out waiting for node {id} to be ready at {base_url}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last 30 lines of a text file (a node's log), or "" when unreadable.
pub(crate) fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
