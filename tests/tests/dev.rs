//! The embedded default as the README runs it: `hodei dev`, then
//! `hodei job submit -- echo hello` and `hodei job logs <id>` with the
//! environment `hodei dev` writes, then Ctrl-C (SIGINT) stops every process it
//! started, workers included.

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use hodei_tests::process::hodei_bin;
use hodei_tests::wait_for;

/// Three consecutive loopback ports `base+1..=base+3` free for each of the
/// three bases `hodei dev` takes, below the ephemeral range so no outgoing
/// connection takes one in between.
fn free_bases() -> (u16, u16, u16) {
    let free = |base: u16| (1..=3).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
    let seed = 20_000 + (std::process::id() % 500) as u16 * 20;
    let mut bases = (seed..30_000).step_by(5).filter(|b| free(*b));
    (bases.next().unwrap(), bases.next().unwrap(), bases.next().unwrap())
}

/// `KEY=value` pairs of the `export KEY=value` lines of `hodei dev`'s env file.
fn exports(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(|l| l.strip_prefix("export ")?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

fn hodei(env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(hodei_bin()).args(args).envs(env.iter().map(|(k, v)| (k, v))).output().expect("run hodei")
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "exit {:?}: {}{}", out.status.code(), String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Every live process descended from `root` (zombies count as gone).
fn descendants(root: u32) -> BTreeSet<u32> {
    let mut parent = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        if let (Some(state), Some(ppid)) = (fields.first(), fields.get(1).and_then(|p| p.parse::<u32>().ok())) {
            if *state != "Z" {
                parent.push((pid, ppid));
            }
        }
    }
    let mut out = BTreeSet::from([root]);
    loop {
        let more: Vec<u32> = parent.iter().filter(|(p, pp)| out.contains(pp) && !out.contains(p)).map(|(p, _)| *p).collect();
        if more.is_empty() {
            out.remove(&root);
            return out;
        }
        out.extend(more);
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

/// Stops `hodei dev` (SIGTERM: it stops its nodes) if the test ends early.
struct Dev(std::process::Child);

impl Drop for Dev {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
            let _ = self.0.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hodei_dev_runs_echo_hello_from_the_readme_and_sigint_stops_every_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (http, grpc, peer) = free_bases();
    let log = std::fs::File::create(tmp.path().join("dev.log")).unwrap();
    let dev = Command::new(hodei_bin())
        .args(["dev", "--http-base", &http.to_string(), "--grpc-base", &grpc.to_string(), "--peer-base", &peer.to_string()])
        .current_dir(tmp.path())
        .env("HODEI_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn hodei dev");
    let mut dev = Dev(dev);
    let dev_log = || std::fs::read_to_string(tmp.path().join("dev.log")).unwrap_or_default();
    let env_file = tmp.path().join("hodei-dev/env");
    let env = wait_for("hodei dev to write hodei-dev/env", Duration::from_secs(60), || async {
        let text = std::fs::read_to_string(&env_file).ok()?;
        text.contains("HODEI_TENANT=").then(|| exports(&text))
    })
    .await;

    // As the README has it: no --tenant.
    let job = stdout_json(&hodei(&env, &["job", "submit", "-o", "json", "--", "echo", "hello"]));
    let id = job["id"].as_u64().expect("job id").to_string();
    let done = wait_for("the echo job to be SUCCEEDED", Duration::from_secs(60), || async {
        let j = stdout_json(&hodei(&env, &["job", "get", &id, "-o", "json"]));
        (j["state"] == "SUCCEEDED").then_some(j)
    })
    .await;
    assert_eq!(done["attempts"], 1, "{done}");
    let logs = hodei(&env, &["job", "logs", &id]);
    assert!(logs.status.success() && String::from_utf8_lossy(&logs.stdout).contains("hello"), "job logs: {logs:?}");

    let var = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("{k} in hodei-dev/env"));
    let (endpoint, token) = (var("HODEI_ENDPOINTS").split(',').next().unwrap().to_string(), var("HODEI_TOKEN"));
    let http_client = reqwest::Client::new();
    wait_for("the static pool's two warm workers, started by the leader", Duration::from_secs(30), || async {
        let r = http_client.get(format!("{endpoint}/api/v1/workers")).bearer_auth(&token).send().await.ok()?;
        let list: Value = r.json().await.ok()?;
        let n = list.as_array()?.iter().filter(|w| w["pool"] == "pool-default" && w["state"] == "ACTIVE").count();
        (n == 2).then_some(())
    })
    .await;
    let started = descendants(dev.0.id());
    assert!(started.len() >= 5, "3 nodes and 2 workers under hodei dev: {started:?}\n{}", dev_log());
    unsafe { libc::kill(dev.0.id() as i32, libc::SIGINT) };
    let interrupted = std::time::Instant::now();
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = dev.0.try_wait().expect("wait for hodei dev") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "hodei dev still runs 40 s after SIGINT\n{}", dev_log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "hodei dev exit {status:?}\n{}", dev_log());
    wait_for("every process hodei dev started to be gone", Duration::from_secs(40), || async {
        started.iter().all(|p| !alive(*p)).then_some(())
    })
    .await;
    println!("SIGINT to all {} processes gone: {:?}", started.len(), interrupted.elapsed());
}
