//! Nodes as containers of the `hodei:dev` image (`scripts/build-image`) on a
//! bridge network of the campaign's own, `hodei-chaos-<pid>-net`, with fixed
//! addresses; containers are `hodei-chaos-<pid>-n<id>` and reach each other by
//! name (`--advertise-host`). Data dirs are host directories mounted at `/data`,
//! so a node keeps its data across kills and recreation.
//!
//! - split: the nodes outside the largest side are disconnected from the
//!   network (`docker network disconnect`), which cuts each of them off from
//!   every other node and from clients;
//! - one-way cuts (and so bridges) and packet loss: iptables rules inside the
//!   sender's network namespace ([`super::docker_netns`]), when the host has
//!   `nsenter` and `iptables`;
//! - kill and restart: `docker kill` (SIGKILL), `docker start`;
//! - pause and resume: `docker pause`, `docker unpause` (the cgroup freezer);
//! - roll: `docker stop` (SIGTERM), `docker rm`, then a new container on the
//!   same data and address;
//! - membership changes (add, remove, replace a node) are not supported: the
//!   nodes' addresses are fixed when the network is made.
//!
//! Containers and the network are removed when the backend is dropped; their
//! logs are kept in the log dir first.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::docker_cli::{create_network, docker, docker_blocking, engine, remove_stale, PID_LABEL};
use super::docker_netns;
use super::{lock, new_secret, tail, wait_until_ready, Backend};

/// Why the docker backend applies no membership fault.
const MEMBERSHIP_UNSUPPORTED: &str =
    "docker backend: membership changes (add, remove, replace a node) are not supported; use the process or in-process backend";
use crate::client::Rest;
use crate::nemesis::Fault;

pub struct DockerOptions {
    pub nodes: usize,
    pub image: String,
    /// Where each container's log is saved (`node<id>.log`).
    pub log_dir: PathBuf,
    /// Start every node at this protocol version (a roll upgrades it).
    pub from_protocol: Option<u32>,
}

const HTTP_PORT: u16 = 8080;
const PEER_PORT: u16 = 10090;
/// The user the image runs as.
const IMAGE_UID: u32 = 65532;

pub struct DockerBackend {
    dir: tempfile::TempDir,
    image: String,
    prefix: String,
    network: String,
    subnet: [u8; 3],
    ids: Vec<u64>,
    admin: String,
    rest: Rest,
    log_dir: PathBuf,
    disconnected: Mutex<BTreeSet<u64>>,
    /// Containers whose namespace holds link rules.
    with_rules: Mutex<BTreeSet<u64>>,
    /// Why link rules cannot be made, if so.
    no_link_rules: Option<String>,
    versions: super::versions::Versions,
}

impl DockerBackend {
    /// Creates the network and one container per node, and waits (at most 60 s)
    /// until each answers `/ready`.
    pub async fn start(opts: DockerOptions) -> anyhow::Result<Self> {
        let version = engine()?;
        docker(&["image", "inspect", "--format", "{{.Id}}", &opts.image])
            .await
            .with_context(|| format!("image {} is missing: build it with scripts/build-image", opts.image))?;
        remove_stale().context("remove what earlier campaigns left")?;
        std::fs::create_dir_all(&opts.log_dir).context("create the log dir")?;
        let dir = tempfile::tempdir().context("temp dir for the nodes")?;
        let (secret, admin) = new_secret()?;
        std::fs::write(dir.path().join("jwt.secret"), &secret).context("write the jwt secret")?;
        let rest = Rest::new(admin.clone(), Duration::from_secs(2))?;
        let pid = std::process::id();
        let prefix = format!("hodei-chaos-{pid}");
        let network = format!("{prefix}-net");
        // From here on, the backend's Drop removes what was made.
        let subnet = create_network(&network, pid).await?;
        let backend = DockerBackend {
            dir,
            image: opts.image,
            prefix,
            network,
            subnet,
            ids: (1..=opts.nodes as u64).collect(),
            rest,
            admin,
            log_dir: opts.log_dir,
            disconnected: Mutex::new(BTreeSet::new()),
            with_rules: Mutex::new(BTreeSet::new()),
            no_link_rules: docker_netns::unusable(),
            versions: super::versions::Versions::new(opts.from_protocol, 1..=opts.nodes as u64)?,
        };
        eprintln!("hodei-chaos: docker engine {version}, network {} ({})", backend.network, backend.ip(0));
        for id in backend.node_ids() {
            backend.run_container(id).await?;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for id in backend.node_ids() {
            backend.wait_for_ready(id, deadline).await?;
        }
        Ok(backend)
    }

    fn name(&self, id: u64) -> String {
        format!("{}-n{id}", self.prefix)
    }

    fn ip(&self, id: u64) -> String {
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.{}", 10 + id)
    }

    /// `docker run` of node `id`: listens on every interface, advertises its
    /// container name.
    async fn run_container(&self, id: u64) -> anyhow::Result<()> {
        let data = self.dir.path().join(format!("node{id}"));
        std::fs::create_dir_all(&data).context("create a data dir")?;
        // The image runs as an unprivileged user (deploy/docker/Dockerfile).
        std::os::unix::fs::chown(&data, Some(IMAGE_UID), Some(IMAGE_UID)).context("give the data dir to the image's user")?;
        let initial: Vec<String> = self.ids.iter().map(|i| format!("{i}={}:{PEER_PORT}", self.name(*i))).collect();
        let (name, ip) = (self.name(id), self.ip(id));
        let (label, data_mount) = (format!("{PID_LABEL}={}", std::process::id()), format!("{}:/data", data.display()));
        let secret_mount = format!("{}:/etc/hodei/jwt.secret:ro", self.dir.path().join("jwt.secret").display());
        let (id_s, http, peer) = (id.to_string(), format!("0.0.0.0:{HTTP_PORT}"), format!("0.0.0.0:{PEER_PORT}"));
        let initial = initial.join(",");
        let version = self.versions.env(id).map(|(k, v)| format!("{k}={v}"));
        #[rustfmt::skip]
        let mut args = vec![
            "run", "-d", "--name", &name, "--hostname", &name, "--label", &label,
            "--network", &self.network, "--ip", &ip, "-v", &data_mount, "-v", &secret_mount,
            "-e", "HODEI_FAULT_INJECTION=1", "-e", "HODEI_LOG=info",
        ];
        if let Some(v) = &version {
            args.extend(["-e", v.as_str()]);
        }
        #[rustfmt::skip]
        args.extend([
            &self.image, "server", "--id", &id_s, "--data-dir", "/data", "--http", &http, "--grpc", "0.0.0.0:9090",
            "--peer", &peer, "--advertise-host", &name, "--initial-cluster", &initial,
            "--jwt-secret-file", "/etc/hodei/jwt.secret",
        ]);
        docker(&args).await.with_context(|| format!("start container {name}"))?;
        Ok(())
    }

    async fn wait_for_ready(&self, id: u64, deadline: Instant) -> anyhow::Result<()> {
        let name = self.name(id);
        let mut last_check = Instant::now();
        let exited = || {
            // Asking docker costs a process: once a second is plenty.
            if last_check.elapsed() < Duration::from_secs(1) {
                return None;
            }
            last_check = Instant::now();
            let state = docker_blocking(&["inspect", "--format", "{{.State.Status}}", &name]).ok()?;
            (state == "exited" || state == "dead").then(|| format!("container {state}"))
        };
        wait_until_ready(&self.rest, id, &self.base_url(id), deadline, exited)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}\n{}", self.logs()))
    }

    /// Appends a container's whole log to `node<id>.log`, before it is removed.
    fn save_log(&self, id: u64) {
        let path = self.log_dir.join(format!("node{id}.log"));
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text += &container_log(&self.name(id), "all");
        let _ = std::fs::write(path, text);
    }

    async fn status(&self, id: u64) -> anyhow::Result<String> {
        docker(&["inspect", "--format", "{{.State.Status}}", &self.name(id)]).await
    }
}

impl Backend for DockerBackend {
    fn node_ids(&self) -> Vec<u64> {
        self.ids.clone()
    }

    fn base_url(&self, id: u64) -> String {
        format!("http://{}:{HTTP_PORT}", self.ip(id))
    }

    fn admin_token(&self) -> String {
        self.admin.clone()
    }

    fn network_faults(&self) -> String {
        let links = match &self.no_link_rules {
            None => "iptables in each container's namespace".to_string(),
            Some(why) => format!("none: {why}"),
        };
        format!("docker network disconnect/connect ({}); links: {links}", self.network)
    }

    fn unsupported(&self, fault: Fault) -> Option<String> {
        match fault {
            Fault::OneWayCut | Fault::Bridge | Fault::MajoritiesRing | Fault::PacketLoss => self.no_link_rules.clone(),
            Fault::PacketDelay => Some("packet delay is not available on docker yet".into()),
            Fault::AddRemove | Fault::ReplaceNode => Some(MEMBERSHIP_UNSUPPORTED.into()),
            _ => None,
        }
    }

    async fn cut(&self, from: u64, to: u64) -> anyhow::Result<()> {
        if let Some(why) = &self.no_link_rules {
            bail!("cannot cut {from} -> {to}: {why}");
        }
        lock(&self.with_rules).insert(from);
        docker_netns::cut(&self.name(from), &self.ip(to), PEER_PORT).await
    }

    async fn split(&self, sides: &[Vec<u64>]) -> anyhow::Result<()> {
        let largest = sides.iter().max_by_key(|s| s.len()).cloned().unwrap_or_default();
        for id in sides.iter().flatten().filter(|id| !largest.contains(id)) {
            if lock(&self.disconnected).insert(*id) {
                docker(&["network", "disconnect", &self.network, &self.name(*id)]).await?;
            }
        }
        Ok(())
    }

    async fn delay(&self, _from: u64, _to: u64, _ms: u64) -> anyhow::Result<()> {
        bail!("packet delay is not available on docker yet")
    }

    async fn lose(&self, a: u64, b: u64, probability: f64) -> anyhow::Result<()> {
        if let Some(why) = &self.no_link_rules {
            bail!("cannot drop packets between {a} and {b}: {why}");
        }
        for (from, to) in [(a, b), (b, a)] {
            lock(&self.with_rules).insert(from);
            docker_netns::lose(&self.name(from), &self.ip(to), probability).await?;
        }
        Ok(())
    }

    async fn heal_network(&self) -> anyhow::Result<()> {
        let ids = std::mem::take(&mut *lock(&self.with_rules));
        for id in ids {
            // A container that stopped took its namespace, and its rules, with it.
            if matches!(self.status(id).await?.as_str(), "running" | "paused") {
                docker_netns::clear(&self.name(id)).await?;
            }
        }
        let ids = std::mem::take(&mut *lock(&self.disconnected));
        for id in ids {
            docker(&["network", "connect", "--ip", &self.ip(id), &self.network, &self.name(id)]).await?;
        }
        Ok(())
    }

    async fn kill(&self, id: u64) -> anyhow::Result<()> {
        lock(&self.with_rules).remove(&id);
        docker(&["kill", &self.name(id)]).await.map(drop)
    }

    async fn restart(&self, id: u64) -> anyhow::Result<()> {
        docker(&["start", &self.name(id)]).await.map(drop)
    }

    async fn pause(&self, id: u64) -> anyhow::Result<()> {
        docker(&["pause", &self.name(id)]).await.map(drop)
    }

    async fn resume(&self, id: u64) -> anyhow::Result<()> {
        docker(&["unpause", &self.name(id)]).await.map(drop)
    }

    async fn roll(&self, id: u64) -> anyhow::Result<()> {
        let name = self.name(id);
        lock(&self.with_rules).remove(&id);
        docker(&["stop", "-t", "10", &name]).await?;
        self.save_log(id);
        docker(&["rm", &name]).await?;
        self.versions.upgrade(id);
        self.run_container(id).await?;
        self.wait_for_ready(id, Instant::now() + Duration::from_secs(30)).await
    }

    fn protocol_version(&self, id: u64) -> u32 {
        self.versions.of(id)
    }

    async fn add_node(&self, _via: u64) -> anyhow::Result<u64> {
        bail!("{MEMBERSHIP_UNSUPPORTED}")
    }

    async fn retire(&self, _id: u64) -> anyhow::Result<()> {
        bail!("{MEMBERSHIP_UNSUPPORTED}")
    }

    async fn heal_all(&self) -> anyhow::Result<()> {
        for id in self.node_ids() {
            match self.status(id).await?.as_str() {
                "paused" => self.resume(id).await?,
                "exited" | "created" | "dead" => self.restart(id).await?,
                _ => {}
            }
        }
        self.heal_network().await
    }

    fn logs(&self) -> String {
        let mut out = Vec::new();
        for id in self.node_ids() {
            let saved = tail(&self.log_dir.join(format!("node{id}.log")));
            let live = container_log(&self.name(id), "30");
            out.push(format!("--- node {id} ({}) ---\n{saved}\n{live}", self.name(id)));
        }
        out.join("\n")
    }
}

/// The last `lines` lines (or "all") a container wrote, stdout and stderr.
fn container_log(name: &str, lines: &str) -> String {
    match std::process::Command::new("docker").args(["logs", "--tail", lines, name]).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        Err(_) => String::new(),
    }
}

impl Drop for DockerBackend {
    fn drop(&mut self) {
        for id in self.node_ids() {
            self.save_log(id);
            let _ = docker_blocking(&["rm", "-f", &self.name(id)]);
        }
        let _ = docker_blocking(&["network", "rm", &self.network]);
    }
}
