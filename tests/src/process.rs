//! One `hodei server` process.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where the test binary's sibling `hodei` lives.
pub fn hodei_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HODEI_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/hodei
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = profile_dir.join("hodei");
    assert!(bin.exists(), "{} is missing: build it first (cargo build --release)", bin.display());
    bin
}

/// Picks a free loopback port by binding to port 0 and letting it go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A free `ip:port` on a loopback address of this test process's own
/// (127.x.y.z from the pid; Linux routes all of 127/8 to `lo`). A port found
/// free and let go can be taken by another process before the node binds it;
/// on an address no other process uses, that race cannot happen. Within this
/// process the tests run in parallel and the kernel may hand a released port
/// out again, so every address handed out is remembered and never repeated.
pub fn free_addr() -> String {
    static HANDED_OUT: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());
    let pid = std::process::id();
    let ip = std::net::Ipv4Addr::new(127, 100 + (pid % 100) as u8, 1 + ((pid / 100) % 250) as u8, 1 + ((pid / 25_000) % 250) as u8);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let l = std::net::TcpListener::bind((ip, 0)).expect("a free port on this process's loopback address");
        let addr = l.local_addr().expect("bound address").to_string();
        if handed_out.insert(addr.clone()) {
            return addr;
        }
    }
}

#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub id: u64,
    pub http: String,
    pub grpc: String,
    pub peer: String,
    pub data_dir: PathBuf,
    pub secret_file: PathBuf,
    pub config_file: Option<PathBuf>,
    /// `id=peer` for every founding member; empty when joining.
    pub initial_cluster: String,
    pub join: Option<String>,
    /// Extra environment of the process (e.g. `HODEI_RAFT_PROTOCOL_VERSION`);
    /// read again at every start.
    pub env: Vec<(String, String)>,
}

pub struct NodeProcess {
    pub spec: NodeSpec,
    child: Option<Child>,
}

impl NodeProcess {
    pub fn spawn(spec: NodeSpec) -> Self {
        let mut p = NodeProcess { spec, child: None };
        p.start();
        p
    }

    /// Starts the process (again) on the same data dir and ports.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "node {} is already running", self.spec.id);
        let s = &self.spec;
        let log = std::fs::File::create(s.data_dir.with_extension("log")).expect("node log file");
        let mut cmd = Command::new(hodei_bin());
        cmd.arg("server")
            .args(["--id", &s.id.to_string()])
            .arg("--data-dir")
            .arg(&s.data_dir)
            .args(["--http", &s.http, "--grpc", &s.grpc, "--peer", &s.peer])
            .arg("--jwt-secret-file")
            .arg(&s.secret_file)
            .env("HODEI_FAULT_INJECTION", "1")
            .env("HODEI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        if !s.initial_cluster.is_empty() {
            cmd.args(["--initial-cluster", &s.initial_cluster]);
        }
        if let Some(j) = &s.join {
            cmd.args(["--join", j]);
        }
        if let Some(c) = &s.config_file {
            cmd.arg("--config").arg(c);
        }
        cmd.envs(s.env.iter().map(|(k, v)| (k, v)));
        self.child = Some(cmd.spawn().expect("spawn hodei server"));
    }

    /// SIGKILL: no shutdown path runs, exactly like a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        c.wait().ok().and_then(|s| s.code())
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The exit status if the process has died on its own.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// The node's log so far, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.spec.data_dir.with_extension("log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `hodei worker` agent process.
pub struct WorkerProcess {
    pub work_dir: PathBuf,
    child: Option<Child>,
}

impl WorkerProcess {
    pub fn spawn(endpoints: &str, token: &str, pool: &str, work_dir: PathBuf) -> Self {
        std::fs::create_dir_all(&work_dir).expect("worker dir");
        let log = std::fs::File::create(work_dir.with_extension("log")).expect("worker log");
        let child = Command::new(hodei_bin())
            .args(["worker", "--endpoints", endpoints, "--pool", pool, "--heartbeat", "500ms"])
            .arg("--work-dir")
            .arg(&work_dir)
            .env("HODEI_TOKEN", token)
            .env("HODEI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn hodei worker");
        WorkerProcess { work_dir, child: Some(child) }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the agent.
    pub fn signal(&self, signal: i32) {
        if let Some(c) = &self.child {
            unsafe { libc::kill(c.id() as i32, signal) };
        }
    }

    /// Waits up to `timeout` for the agent to exit on its own; its status, or
    /// `None` if it still runs.
    pub async fn wait_for_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    /// The agent's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.work_dir.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
