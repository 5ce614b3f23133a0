//! `hodei dev`: the embedded default. Starts a local cluster of `hodei server`
//! processes (so one can be killed) with all data under one folder, prints each
//! node's endpoints and where the admin token is, and stops every node cleanly on
//! Ctrl-C. Run again with the same folder, it resumes the same cluster. Workers
//! are the leader's (its process provisioner keeps the static pool warm); a
//! tenant `default` and `<dir>/env` (endpoints, admin token, that tenant) make
//! `hodei job submit -- echo hello` work as it is.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use hodei_api::auth::{issue_token, Claims, Role, AUDIENCE, ISSUER};

use crate::cli::DevArgs;
use crate::run::write_secret;

/// The embedded default's pools: a static pool whose `--workers-static` warm
/// workers (`MIN_STATIC`) the leader's process provisioner keeps running
/// (replacing one that dies), and a dynamic pool of 0 to 4 workers that it
/// starts when a job it could run has waited over 2 s, and drains when idle.
const DEV_CONFIG: &str = r#"# Written by `hodei dev` at every start; see docs/configuration.md.
resource_pools:
  provisioner: process
  pools:
    - id: pool-default
      name: Default Pool
      type: static
      min_size: MIN_STATIC
      max_size: 20
    - id: pool-dynamic
      name: Dynamic Pool
      type: dynamic
      min_size: 0
      max_size: 4
      auto_scaling_enabled: true
      scaling_policies:
        - name: waiting-jobs
          trigger: "pending_wait_s > 2"
          action: scale_up
          cooldown: 10s
        - name: idle
          trigger: "allocation_ratio < 10"
          action: scale_down
          cooldown: 60s
"#;

struct DevNode {
    id: u64,
    http: String,
    grpc: String,
    peer: String,
}

/// A child process `hodei dev` supervises and stops: a node (workers are
/// the nodes' children, and drain when their node stops).
struct Proc {
    label: String,
    child: Child,
}

pub async fn dev(args: DevArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=9).contains(&args.nodes), "--nodes must be between 1 and 9");
    let dir = absolute(&args.data_dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret_file = dir.join("jwt.secret");
    if !secret_file.exists() {
        write_secret(&secret_file)?;
    }
    let secret = std::fs::read(&secret_file)?.trim_ascii().to_vec();
    let token_file = dir.join("admin.token");
    let claims = Claims {
        sub: "dev-admin".into(),
        hodei_tenant: None,
        hodei_roles: vec![Role::Admin],
        exp: now_s() + 30 * 24 * 3600,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    std::fs::write(&token_file, issue_token(&secret, &claims)?)?;

    let config_file = dir.join("config.yaml");
    anyhow::ensure!(args.workers_static <= 20, "--workers-static must be at most 20");
    let config = DEV_CONFIG.replace("MIN_STATIC", &args.workers_static.to_string());
    std::fs::write(&config_file, config).with_context(|| format!("writing {}", config_file.display()))?;
    let exe = std::env::current_exe().context("locating the hodei binary")?;
    let addr = |base: u16, i: u64| format!("127.0.0.1:{}", u64::from(base) + i);
    let initial: String =
        (1..=args.nodes).map(|i| format!("{i}={}", addr(args.peer_base, i))).collect::<Vec<_>>().join(",");
    let mut nodes = Vec::new();
    let mut procs = Vec::new();
    for id in 1..=args.nodes {
        let (http, grpc, peer) = (addr(args.http_base, id), addr(args.grpc_base, id), addr(args.peer_base, id));
        let log = std::fs::File::create(dir.join(format!("node{id}.log")))?;
        let child = Command::new(&exe)
            .arg("server")
            .args(["--id", &id.to_string()])
            .arg("--data-dir")
            .arg(dir.join(format!("node{id}")))
            .args(["--http", &http, "--grpc", &grpc, "--peer", &peer, "--initial-cluster", &initial])
            .arg("--jwt-secret-file")
            .arg(&secret_file)
            .arg("--config")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting node {id}"))?;
        procs.push(Proc { label: format!("node {id}"), child });
        nodes.push(DevNode { id, http, grpc, peer });
    }
    println!("hodei dev: {} nodes, data in {}", args.nodes, dir.display());
    for n in &nodes {
        println!("  node {}: REST http://{}  gRPC {}  peer {}  (log {}/node{}.log)", n.id, n.http, n.grpc, n.peer, dir.display(), n.id);
    }
    println!("  admin token: {}", token_file.display());
    println!("  try: curl -H \"Authorization: Bearer $(cat {})\" http://{}/api/v1/cluster", token_file.display(), nodes[0].http);
    println!("Ctrl-C stops every node.");

    wait_for_ready(&nodes).await;
    let token = std::fs::read_to_string(&token_file)?.trim().to_string();
    let endpoints = nodes.iter().map(|n| format!("http://{}", n.http)).collect::<Vec<_>>().join(",");
    let tenant = default_tenant(&endpoints, &token).await?;
    let env_file = dir.join("env");
    let env = format!("export HODEI_ENDPOINTS={endpoints}\nexport HODEI_TOKEN={token}\nexport HODEI_TENANT={tenant}\n");
    std::fs::write(&env_file, env).with_context(|| format!("writing {}", env_file.display()))?;
    println!("  {} warm workers in pool `pool-default`, kept by the leader (logs under node<N>/provisioned/)", args.workers_static);
    println!("  pool `pool-dynamic`: 0 to 4 workers started by the leader when the queue grows (logs under node<N>/provisioned/)");
    println!("  tenant `default` (id {tenant}) is the one the client submits to when it names none");
    println!("  try: source {}; hodei job submit -- echo hello; hodei job logs <job id>", env_file.display());
    supervise(&mut procs).await;
    stop_all(&mut procs);
    Ok(())
}

/// The tenant named `default`, created on the first start and found by name
/// afterwards: `<dir>/env` sets `HODEI_TENANT` to it, so `hodei job submit`
/// with the admin token needs no `--tenant`.
async fn default_tenant(endpoints: &str, token: &str) -> anyhow::Result<u64> {
    use reqwest::Method;
    let args = crate::cli::ClientArgs { endpoints: endpoints.split(',').map(str::to_string).collect(), token: Some(token.to_string()), output: None };
    let c = crate::client::http::Client::new(&args).map_err(|e| anyhow::anyhow!("{e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = serde_json::json!({"name": "default", "email": "dev@localhost"});
    loop {
        let listed = c.json(Method::GET, "/api/v1/tenants", None, &[]).await;
        let found = listed.ok().and_then(|v| {
            let items = v.get("items").and_then(|i| i.as_array()).or(v.as_array()).cloned().unwrap_or_default();
            items.iter().find(|t| t["name"] == "default").and_then(|t| t["id"].as_u64())
        });
        if let Some(id) = found {
            return Ok(id);
        }
        match c.json(Method::POST, "/api/v1/tenants", Some(&body), &[]).await {
            Ok(t) if t["id"].as_u64().is_some() => return Ok(t["id"].as_u64().unwrap_or_default()),
            Ok(_) | Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            Ok(t) => anyhow::bail!("creating the default tenant answered {t}"),
            Err(e) => anyhow::bail!("creating the default tenant: {e}"),
        }
    }
}

/// Prints when the cluster first answers `/ready` on every node.
async fn wait_for_ready(nodes: &[DevNode]) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    for n in nodes {
        while Instant::now() < deadline {
            if probe(&n.http, "/ready").await == Some(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!("cluster ready after {:?}", started.elapsed());
}

/// A minimal HTTP/1.0 GET on loopback, returning the status code.
async fn probe(addr: &str, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut buf = [0u8; 16];
    tokio::time::timeout(Duration::from_millis(1500), s.read_exact(&mut buf)).await.ok()?.ok()?;
    std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()
}

/// Runs until Ctrl-C or SIGTERM; reports processes that exit on their own.
async fn supervise(procs: &mut [Proc]) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => break,
            _ = tick.tick() => {
                for p in procs.iter_mut() {
                    if let Ok(Some(status)) = p.child.try_wait() {
                        eprintln!("{} exited ({status}); the others keep running", p.label);
                    }
                }
            }
        }
    }
}

/// Every node: SIGTERM (each asks the workers it started to drain), then
/// SIGKILL after 10 s.
fn stop_all(procs: &mut [Proc]) {
    println!("stopping {} processes", procs.len());
    for n in procs.iter().rev() {
        // SAFETY: kill(2) on a child pid we spawned and have not yet reaped.
        unsafe { libc::kill(n.child.id() as i32, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for n in procs.iter_mut().rev() {
        loop {
            match n.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    eprintln!("{} did not stop in time; killing it", n.label);
                    let _ = n.child.kill();
                    let _ = n.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    println!("all stopped");
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) })
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
