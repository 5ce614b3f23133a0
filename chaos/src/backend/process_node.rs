//! The process backend's nodes: each one's fixed addresses and data dir, its
//! process, and a guard that locks one node of the backend's list (the list
//! grows when a membership fault adds a node).

use std::net::Ipv4Addr;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::Child;
use std::sync::MutexGuard;

pub(super) struct Spec {
    pub(super) id: u64,
    pub(super) ip: Ipv4Addr,
    pub(super) http: u16,
    pub(super) grpc: u16,
    pub(super) peer: u16,
    pub(super) data_dir: PathBuf,
    /// A member's peer address to join through: set for nodes added during the
    /// campaign, which are not in `--initial-cluster`.
    pub(super) join: Option<String>,
}

pub(super) struct Node {
    pub(super) spec: Spec,
    pub(super) child: Option<Child>,
    pub(super) paused: bool,
    /// Removed from the cluster and stopped for good.
    pub(super) retired: bool,
}

impl Node {
    pub(super) fn new(spec: Spec) -> Self {
        Node { spec, child: None, paused: false, retired: false }
    }
}

/// One node of the backend's list, locked with the list.
pub(super) struct NodeGuard<'a> {
    pub(super) all: MutexGuard<'a, Vec<Node>>,
    pub(super) i: usize,
}

impl Deref for NodeGuard<'_> {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.all[self.i]
    }
}

impl DerefMut for NodeGuard<'_> {
    fn deref_mut(&mut self) -> &mut Node {
        &mut self.all[self.i]
    }
}
