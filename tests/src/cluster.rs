//! A cluster of real node processes under one temp folder, and the waits and
//! checks the tests share.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use hodei_api::auth::{issue_token, Claims, Role, AUDIENCE, ISSUER};

use crate::client::{Client, Reply};
use crate::process::{free_addr, NodeProcess, NodeSpec, WorkerProcess};
use crate::wait_for;

pub struct ClusterOptions {
    pub nodes: usize,
    /// Extra YAML for every node's config file (e.g. small snapshot thresholds).
    pub config_yaml: String,
    /// A backup to seed every node from with `hodei restore` before it starts.
    pub restore_from: Option<PathBuf>,
    /// Extra environment of every node process.
    pub node_env: Vec<(String, String)>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { nodes: 3, config_yaml: String::new(), restore_from: None, node_env: Vec::new() }
    }
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<NodeProcess>,
    pub secret: Vec<u8>,
    pub admin: String,
    pub client: Client,
    config_file: Option<PathBuf>,
}

const SECRET: &[u8] = b"hodei-test-secret-0123456789abcdef";

pub fn token(secret: &[u8], roles: Vec<Role>, tenant: Option<u64>) -> String {
    let claims = Claims {
        sub: "test".into(),
        hodei_tenant: tenant.map(hodei_domain::TenantId),
        hodei_roles: roles,
        exp: 4_000_000_000,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    issue_token(secret, &claims).expect("sign token")
}

impl Cluster {
    /// Starts `opts.nodes` founding members and waits until one leads and every
    /// node is ready.
    pub async fn start(opts: ClusterOptions) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret_file = dir.path().join("jwt.secret");
        std::fs::write(&secret_file, SECRET).expect("write secret");
        let config_file = (!opts.config_yaml.is_empty()).then(|| {
            let p = dir.path().join("config.yaml");
            std::fs::write(&p, &opts.config_yaml).expect("write config");
            p
        });
        let specs: Vec<NodeSpec> = (1..=opts.nodes as u64)
            .map(|id| NodeSpec {
                id,
                http: free_addr(),
                grpc: free_addr(),
                peer: free_addr(),
                data_dir: dir.path().join(format!("node{id}")),
                secret_file: secret_file.clone(),
                config_file: config_file.clone(),
                initial_cluster: String::new(),
                join: None,
                env: opts.node_env.clone(),
            })
            .collect();
        let initial = specs.iter().map(|s| format!("{}={}", s.id, s.peer)).collect::<Vec<_>>().join(",");
        if let Some(backup) = &opts.restore_from {
            for s in &specs {
                let out = std::process::Command::new(crate::process::hodei_bin())
                    .arg("restore")
                    .arg("--snapshot")
                    .arg(backup)
                    .arg("--data-dir")
                    .arg(&s.data_dir)
                    .args(["--initial-cluster", &initial])
                    .output()
                    .expect("run hodei restore");
                assert!(out.status.success(), "hodei restore: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let nodes = specs
            .into_iter()
            .map(|mut s| {
                s.initial_cluster = initial.clone();
                NodeProcess::spawn(s)
            })
            .collect();
        let mut cluster = Cluster {
            dir,
            nodes,
            secret: SECRET.to_vec(),
            admin: token(SECRET, vec![Role::Admin], None),
            client: Client::default(),
            config_file,
        };
        cluster.wait_for_all_ready().await;
        cluster
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("http://{}{}", self.nodes[i].spec.http, path)
    }

    pub fn tenant_token(&self, tenant: u64) -> String {
        token(&self.secret, vec![Role::Tenant], Some(tenant))
    }

    pub async fn get(&self, i: usize, path: &str) -> Result<Reply, reqwest::Error> {
        self.client.call(Method::GET, &self.url(i, path), Some(&self.admin), None, &[]).await
    }

    /// The value of an unlabelled counter or gauge on node `i`'s `/metrics`.
    pub async fn metric(&self, i: usize, name: &str) -> u64 {
        let r = self.client.call(Method::GET, &self.url(i, "/metrics"), None, None, &[]).await.expect("scrape");
        let text = r.json.as_str().expect("metrics text").to_string();
        let prefix = format!("{name} ");
        let line = text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("node {} exports no {name}", i + 1));
        line.trim().parse::<f64>().expect("a number") as u64
    }

    pub async fn post(&self, i: usize, path: &str, body: &Value) -> Result<Reply, reqwest::Error> {
        self.client.call(Method::POST, &self.url(i, path), Some(&self.admin), Some(body), &[]).await
    }

    /// `GET` that must answer 200.
    pub async fn must_get(&self, i: usize, path: &str) -> Value {
        let r = self.get(i, path).await.unwrap_or_else(|e| panic!("GET {path} on node {}: {e}", i + 1));
        assert_eq!(r.status, 200, "GET {path} on node {}: {}", i + 1, r.json);
        r.json
    }

    /// Creates a tenant with a large quota through node `i`; returns its id.
    pub async fn must_create_tenant(&self, i: usize, name: &str) -> u64 {
        let body = json!({"name": name, "email": format!("{name}@example.com"),
            "quota": {"cpu_m": 100_000_000, "memory_mb": 100_000_000, "max_concurrent_jobs": 1_000_000}});
        let r = self.post(i, "/api/v1/tenants", &body).await.expect("create tenant");
        assert_eq!(r.status, 201, "create tenant {name}: {}", r.json);
        r.json["id"].as_u64().expect("tenant id")
    }

    /// Submits a small job through node `i`; returns the reply (which may be an error).
    pub async fn submit(&self, i: usize, tenant: u64, key: &str) -> Result<Reply, reqwest::Error> {
        let body = json!({"tenant_id": tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1});
        self.client
            .call(Method::POST, &self.url(i, "/api/v1/jobs"), Some(&self.admin), Some(&body), &[("idempotency-key", key)])
            .await
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].is_running()).collect()
    }

    /// The leader id that every running node agrees on.
    pub async fn wait_for_leader(&self) -> u64 {
        wait_for("all running nodes to agree on a leader", Duration::from_secs(30), || async {
            let mut seen = None;
            for i in self.running() {
                let r = self.get(i, "/api/v1/cluster?consistency=stale").await.ok()?;
                let id = r.json["leader_id"].as_u64()?;
                if seen.is_some_and(|s| s != id) {
                    return None;
                }
                seen = Some(id);
            }
            seen
        })
        .await
    }

    /// Index into `nodes` of the node with Raft id `id`.
    pub fn index_of(&self, id: u64) -> usize {
        self.nodes.iter().position(|n| n.spec.id == id).expect("known node id")
    }

    /// Waits until every running node answers `/ready`; on failure the panic
    /// carries every node's log.
    pub async fn wait_for_all_ready(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        for i in self.running() {
            loop {
                if let Some(status) = self.nodes[i].exited() {
                    panic!("node {} exited ({status}) before it was ready\n{}", i + 1, self.logs());
                }
                let r = self.client.call(Method::GET, &self.url(i, "/ready"), None, None, &[]).await;
                if r.is_ok_and(|r| r.status == 200) {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    panic!("timed out after 30s waiting for node {} to be ready\n{}", i + 1, self.logs());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Waits until every running node reports the same applied index and state
    /// hash, and returns them. On timeout it fails with what each node last
    /// reported and the nodes' log tails, so a lagging node and a diverged one
    /// look different.
    pub async fn wait_for_converged(&self) -> (u64, u64) {
        let timeout = Duration::from_secs(30);
        let last = std::sync::Mutex::new(Vec::new());
        let converged = crate::poll_until(timeout, || async {
            let mut seen = Vec::new();
            for i in self.running() {
                seen.push((i, self.applied_and_hash(i).await));
            }
            let first = seen.first().and_then(|(_, p)| *p);
            let agreed = first.filter(|_| seen.iter().all(|(_, p)| *p == first));
            *last.lock().unwrap_or_else(|e| e.into_inner()) = seen;
            agreed
        })
        .await;
        converged.unwrap_or_else(|| {
            let seen = last.lock().unwrap_or_else(|e| e.into_inner());
            let report: Vec<String> = seen
                .iter()
                .map(|(i, p)| match p {
                    Some((index, hash)) => format!("node {}: applied {index}, hash {hash:#x}", i + 1),
                    None => format!("node {}: no answer", i + 1),
                })
                .collect();
            panic!(
                "timed out after {timeout:?} waiting for every node at the same applied index and state hash; last seen: {}\n{}",
                report.join("; "),
                self.logs()
            )
        })
    }

    /// Node `i`'s own applied index and state hash, from a stale cluster read.
    async fn applied_and_hash(&self, i: usize) -> Option<(u64, u64)> {
        let r = self.get(i, "/api/v1/cluster?consistency=stale").await.ok()?;
        let me = r.json["node_id"].as_u64()?;
        let m = r.json["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(me))?.clone();
        Some((m["applied_index"].as_u64()?, m["state_hash"].as_u64()?))
    }

    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    pub fn restart(&mut self, i: usize) {
        self.nodes[i].start();
    }

    /// Starts one more node that joins through node `via`; returns its index.
    pub fn spawn_joining(&mut self, via: usize) -> usize {
        let id = self.nodes.iter().map(|n| n.spec.id).max().unwrap_or(0) + 1;
        let spec = NodeSpec {
            id,
            http: free_addr(),
            grpc: free_addr(),
            peer: free_addr(),
            data_dir: self.dir.path().join(format!("node{id}")),
            secret_file: self.dir.path().join("jwt.secret"),
            config_file: self.config_file.clone(),
            initial_cluster: String::new(),
            join: Some(self.nodes[via].spec.peer.clone()),
            env: Vec::new(),
        };
        self.nodes.push(NodeProcess::spawn(spec));
        self.nodes.len() - 1
    }

    /// Starts a worker agent in `pool` that knows every node's gRPC address.
    pub fn spawn_worker(&self, pool: &str, n: usize) -> WorkerProcess {
        let endpoints = self.nodes.iter().map(|x| x.spec.grpc.clone()).collect::<Vec<_>>().join(",");
        WorkerProcess::spawn(&endpoints, &self.admin, pool, self.dir.path().join(format!("worker{n}")))
    }

    /// Waits until job `id` (read through node `i`) satisfies `done`, and returns it.
    pub async fn wait_for_job(&self, i: usize, id: u64, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(r) = self.get(i, &format!("/api/v1/jobs/{id}")).await {
                if r.status == 200 && done(&r.json) {
                    return r.json;
                }
            }
            if std::time::Instant::now() >= deadline {
                let last = self.get(i, &format!("/api/v1/jobs/{id}")).await.map(|r| r.json).unwrap_or_default();
                panic!("timed out after {timeout:?} waiting for job {id} to be {what}; last seen {last}\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Installs transport-filter rules on node `i` (target id -> "drop").
    pub async fn cut(&self, i: usize, targets: &[u64]) {
        self.filter(i, targets, json!("drop")).await;
    }

    /// Holds back every message node `i` sends to `targets` by `ms`.
    pub async fn delay(&self, i: usize, targets: &[u64], ms: u64) {
        self.filter(i, targets, json!({"delay": {"ms": ms}})).await;
    }

    /// Removes node `i`'s transport-filter rules.
    pub async fn heal(&self, i: usize) {
        self.filter(i, &[], Value::Null).await;
    }

    async fn filter(&self, i: usize, targets: &[u64], rule: Value) {
        let rules: serde_json::Map<String, Value> = targets.iter().map(|t| (t.to_string(), rule.clone())).collect();
        let r = self
            .client
            .call(Method::PUT, &self.url(i, "/api/v1/debug/transport-filter"), Some(&self.admin), Some(&json!({"rules": rules})), &[])
            .await
            .expect("set filter");
        assert_eq!(r.status, 200, "set filter on node {}: {}", i + 1, r.json);
    }

    /// Dumps every node's log tail (call before failing a test).
    pub fn logs(&self) -> String {
        self.nodes.iter().map(|n| format!("--- node {} ---\n{}", n.spec.id, n.log_tail())).collect::<Vec<_>>().join("\n")
    }
}
