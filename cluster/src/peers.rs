//! Connections to other nodes' peer services, one lazily connected channel per
//! address, shared by Raft replication, forwarding and status calls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hodei_proto::raft::v1::raft_service_client::RaftServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::error::ClusterError;

pub type PeerClient = RaftServiceClient<Channel>;

#[derive(Clone)]
pub struct PeerClients {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    /// Source address of outgoing connections, see [`PeerClients::from_listen_ip`].
    local: Option<IpAddr>,
}

impl PeerClients {
    /// Connections leave from the node's own peer listen IP when that is a
    /// loopback address: nodes sharing one host (127.0.0.11, .12, ...) then show
    /// distinct sources, so a firewall rule can cut one node's traffic to another.
    /// Otherwise the kernel picks the source (every loopback connection would
    /// come from 127.0.0.1).
    pub fn from_listen_ip(ip: IpAddr) -> Self {
        PeerClients { channels: Default::default(), local: ip.is_loopback().then_some(ip) }
    }

    /// A client for the peer service at `addr` (`host:port`). Connecting happens on
    /// first use, so a dead peer costs a failed call, not a blocked caller.
    pub fn client(&self, addr: &str) -> Result<PeerClient, ClusterError> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ch) = channels.get(addr) {
            return Ok(RaftServiceClient::new(ch.clone()).max_decoding_message_size(MAX_MESSAGE));
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| ClusterError::Invalid(format!("bad peer address {addr:?}: {e}")))?
            .connect_timeout(Duration::from_millis(500))
            .local_address(self.local)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5));
        let ch = endpoint.connect_lazy();
        channels.insert(addr.to_string(), ch.clone());
        Ok(RaftServiceClient::new(ch)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE))
    }
}

/// Peer messages carry log batches and snapshot chunks; both are bounded by the
/// Raft config (`max_payload_entries`, `snapshot_max_chunk_size`) well below this.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A gRPC server on a free loopback port that serves no services at all: an
/// older build as far as a newer RPC is concerned (every call `Unimplemented`).
/// Returns its address; it stops when the handle is aborted.
#[cfg(test)]
pub(crate) async fn serve_nothing() -> (String, tokio::task::JoinHandle<Result<(), tonic::transport::Error>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tokio::spawn(tonic::transport::Server::builder().add_routes(tonic::service::Routes::default()).serve_with_incoming(incoming));
    (addr, server)
}
