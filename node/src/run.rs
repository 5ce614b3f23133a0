//! `run(config, shutdown)`: one Hodei node, its three listeners and its clean
//! stop. `main` is a thin wrapper around this; tests can call it in-process.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use axum::response::IntoResponse;
use hodei_api::metrics::Metrics;
use hodei_api::{App, Authenticator};
use hodei_cluster::{ClusterConfig, ClusterNode, NodeInfo, RaftTiming};

use crate::config::pools::ProvisionerKind;
use crate::config::ServerConfig;
use crate::provision::docker::DockerProvisioner;
use crate::provision::process::ProcessProvisioner;
use crate::provision::Provisioner;

/// Starts the node and serves until `shutdown` resolves, then stops the public
/// servers, Raft and the peer service, in that order.
pub async fn run(config: ServerConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let secret = load_or_create_secret(config.jwt_secret_file.as_deref(), &config.data_dir)?;
    let http = bind(config.http_addr, "--http").await?;
    let grpc = bind(config.grpc_addr, "--grpc").await?;
    let peer = bind(config.peer_addr, "--peer").await?;
    let host = config.advertise_host.as_deref();
    let info = NodeInfo {
        peer_addr: advertised(host, peer.local_addr()?),
        http_addr: advertised(host, http.local_addr()?),
        grpc_addr: advertised(host, grpc.local_addr()?),
    };
    tracing::info!(id = config.id, peer = %info.peer_addr, http = %info.http_addr, grpc = %info.grpc_addr, "starting node");
    let cluster_config = ClusterConfig {
        id: config.id,
        info,
        data_dir: config.data_dir.clone(),
        initial_cluster: config.initial_cluster.clone(),
        join: config.join.clone(),
        timing: RaftTiming {
            heartbeat_ms: config.raft.heartbeat_ms,
            election_timeout_min_ms: config.raft.election_timeout_min_ms,
            election_timeout_max_ms: config.raft.election_timeout_max_ms,
            install_snapshot_timeout_ms: config.raft.install_snapshot_timeout_ms,
            snapshot_chunk_bytes: config.raft.snapshot_chunk_bytes,
            snapshot_logs_since_last: config.raft.snapshot_logs_since_last,
            max_in_snapshot_log_to_keep: config.raft.max_in_snapshot_log_to_keep,
        },
        protocol_version: config.raft.protocol_version,
        max_batch: config.raft.max_batch as usize,
        write_timeout: Duration::from_millis(config.api.request_timeout_ms),
        bootstrap: config.domain.bootstrap()?,
    };
    let node = ClusterNode::start(cluster_config, peer).await.context("starting the raft node")?;
    let app = App {
        cluster: node.clone(),
        auth: authenticator(&secret, &config.api)?,
        fault_injection: std::env::var("HODEI_FAULT_INJECTION").is_ok_and(|v| v == "1"),
    };
    let metrics = Metrics::new(config.domain.metrics.per_tenant_labels);
    let raft_metrics = metrics.watch_raft(node.clone());
    metrics.watch_storage(&node);
    let (stop_tx, stop_rx) = watch::channel(false);
    let provisioned = config.data_dir.join("provisioned");
    let provisioner: Option<Box<dyn Provisioner>> = match config.domain.resource_pools.provisioner {
        ProvisionerKind::None => None,
        ProvisionerKind::Process => {
            let exe = std::env::current_exe().context("locating the hodei binary for provisioned workers")?;
            Some(Box::new(ProcessProvisioner::new(exe, provisioned, worker_token(&secret)?)))
        }
        ProvisionerKind::Docker => {
            let settings = config.domain.resource_pools.docker.clone();
            Some(Box::new(DockerProvisioner::new(settings, provisioned, worker_token(&secret)?, config.id)))
        }
    };
    let provisioner = provisioner.map(|p| tokio::spawn(crate::provision::run(node.clone(), p, stop_rx.clone())));
    let rest = tokio::spawn(serve_rest(http, app.clone(), metrics.clone(), config.api.max_body_bytes as usize, stop_rx.clone()));
    let grpc = tokio::spawn(serve_grpc(grpc, app, metrics, stop_rx));
    shutdown.await;
    tracing::info!(id = config.id, "shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = rest.await;
        let _ = grpc.await;
        if let Some(p) = provisioner {
            let _ = p.await;
        }
    })
    .await;
    raft_metrics.abort();
    node.shutdown().await;
    tracing::info!(id = config.id, "stopped");
    Ok(())
}

/// A long-lived worker-role token for the workers this node provisions.
fn worker_token(secret: &[u8]) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let claims = hodei_api::auth::Claims {
        sub: "provisioned-worker".into(),
        hodei_tenant: None,
        hodei_roles: vec![hodei_api::Role::Worker],
        exp: now + 365 * 24 * 3600,
        iss: hodei_api::auth::ISSUER.into(),
        aud: hodei_api::auth::AUDIENCE.into(),
    };
    Ok(hodei_api::auth::issue_token(secret, &claims)?)
}

/// What other nodes and clients dial: the bound address, or the advertised host
/// with the bound port.
fn advertised(host: Option<&str>, bound: std::net::SocketAddr) -> String {
    match host {
        Some(h) => format!("{h}:{}", bound.port()),
        None => bound.to_string(),
    }
}

async fn bind(addr: std::net::SocketAddr, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} ({flag})"))
}

async fn until_stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn serve_rest(listener: TcpListener, app: App, metrics: Metrics, max_body: usize, stop: watch::Receiver<bool>) {
    // `/metrics` is open, for Prometheus; its `/api/` twin needs a token like every
    // `/api/` route.
    let node = app.cluster.clone();
    let (m, auth) = (metrics.clone(), app.auth.clone());
    let prometheus = axum::routing::get(move |headers: axum::http::HeaderMap| {
        let (m, auth, node) = (m.clone(), auth.clone(), node.clone());
        async move {
            let token = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            match auth.verify_header(token) {
                Ok(_) => ([(axum::http::header::CONTENT_TYPE, hodei_api::metrics::CONTENT_TYPE)], m.render(&node)).into_response(),
                Err(e) => e.into_response(),
            }
        }
    });
    let router = hodei_api::rest::router(app.clone(), max_body)
        .merge(metrics.router(app.cluster.clone()))
        .route("/api/v1/metrics/prometheus", prometheus)
        .layer(axum::middleware::from_fn_with_state(metrics, hodei_api::metrics::track))
        .layer(axum::middleware::from_fn(hodei_api::request_id::track));
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(until_stopped(stop)).await {
        tracing::error!(error = %e, "REST server stopped");
    }
}

async fn serve_grpc(listener: TcpListener, app: App, metrics: Metrics, stop: watch::Receiver<bool>) {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", tonic_health::ServingStatus::Serving).await;
    for name in hodei_api::grpc::service_names() {
        health.set_service_status(name, tonic_health::ServingStatus::Serving).await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hodei_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (Ok(v1), Ok(v1alpha)) = (reflection().build_v1(), reflection().build_v1alpha()) else {
        tracing::error!("gRPC reflection did not build");
        return;
    };
    // The builder's `tcp_nodelay` is ignored for an incoming stream we pass in;
    // without it on each accepted socket, a reply's trailers wait out the client's
    // delayed ACK (40 ms per unary call, seen with `hodei bench submit`).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let result = tonic::transport::Server::builder()
        .add_routes(metrics.instrument_grpc(hodei_api::request_id::instrument_grpc(hodei_api::grpc::routes(app))))
        .add_service(health_service)
        .add_service(v1)
        .add_service(v1alpha)
        .serve_with_incoming_shutdown(incoming, until_stopped(stop))
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "gRPC server stopped");
    }
}

/// The JWT secret: the configured file, or `<data-dir>/jwt.secret`, created with
/// 32 random bytes (hex) on first start.
pub fn load_or_create_secret(file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path: PathBuf = match file {
        Some(f) => f.to_path_buf(),
        None => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let p = data_dir.join("jwt.secret");
            if !p.exists() {
                write_secret(&p)?;
            }
            p
        }
    };
    let secret = std::fs::read(&path).with_context(|| format!("reading the JWT secret {}", path.display()))?;
    let trimmed = secret.trim_ascii().to_vec();
    anyhow::ensure!(!trimmed.is_empty(), "the JWT secret file {} is empty", path.display());
    Ok(trimmed)
}

/// Writes a new random secret readable by the owner only.
pub fn write_secret(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(hex.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The shared-secret verifier, plus the external issuer's key when configured
/// (checked at load; read again here, so a key swapped since fails loudly).
fn authenticator(secret: &[u8], api: &crate::config::ApiSettings) -> anyhow::Result<Authenticator> {
    let auth = Authenticator::hs256(secret);
    match (&api.jwt_public_key_file, &api.jwt_public_key_algorithm) {
        (Some(file), Some(alg)) => {
            let pem = std::fs::read(file).with_context(|| format!("reading api.jwt_public_key_file {}", file.display()))?;
            auth.with_public_key(alg, &pem).map_err(|e| anyhow::anyhow!("api.jwt_public_key_file {}: {e}", file.display()))
        }
        _ => Ok(auth),
    }
}
