use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::*;

fn spec(dir: &tempfile::TempDir, command: &[&str]) -> RunSpec {
    RunSpec {
        command: command.iter().map(|s| s.to_string()).collect(),
        env: BTreeMap::from([("GREETING".to_string(), "hello".to_string())]),
        work_dir: dir.path().join("work"),
        output: dir.path().join("out.log"),
        timeout: None,
        memory_mb: 256,
        grace: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn a_job_runs_with_its_env_and_dir_and_its_output_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let r = run(spec(&dir, &["sh", "-c", "echo $GREETING from $(pwd); exit 3"]), rx).await;
    assert_eq!(r.ending, Ending::Exited(3), "{r:?}");
    let out = String::from_utf8(tail(&dir.path().join("out.log"), 1024).unwrap()).unwrap();
    assert_eq!(out.trim(), format!("hello from {}", dir.path().join("work").display()));
    assert!(r.peak_memory_kb > 0, "wait4 reported no memory: {r:?}");
}

#[tokio::test]
async fn cpu_time_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let r = run(spec(&dir, &["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]), rx).await;
    assert_eq!(r.ending, Ending::Exited(0));
    assert!(r.cpu_ms > 0, "{r:?}");
}

#[tokio::test]
async fn a_timeout_stops_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let mut s = spec(&dir, &["sh", "-c", "sleep 30 & sleep 30; wait"]);
    s.timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let r = run(s, rx).await;
    assert_eq!(r.ending, Ending::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn cancel_sends_term_then_kill_to_a_process_that_ignores_term() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = watch::channel(false);
    let s = spec(&dir, &["sh", "-c", "trap '' TERM; echo started; while true; do sleep 0.1; done"]);
    let job = tokio::spawn(run(s, rx));
    let out = dir.path().join("out.log");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&out).unwrap_or_default().contains("started") {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tx.send(true).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), job).await.expect("cancel must finish").unwrap();
    assert_eq!(r.ending, Ending::Cancelled);
}

#[tokio::test]
async fn a_missing_program_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let r = run(spec(&dir, &["/nonexistent/program"]), rx).await;
    assert_eq!(r.ending, Ending::SpawnFailed);
    assert!(r.error.unwrap().contains("cannot start"));
}

#[tokio::test]
async fn the_job_leads_its_own_group_with_its_limits_and_default_signals() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let script = "echo pid $$; echo pgrp $(cut -d' ' -f5 /proc/$$/stat); echo as $(ulimit -v); echo core $(ulimit -c); grep -E '^Sig(Blk|Ign)' /proc/self/status";
    let r = run(spec(&dir, &["sh", "-c", script]), rx).await;
    assert_eq!(r.ending, Ending::Exited(0), "{r:?}");
    let out = String::from_utf8(tail(&dir.path().join("out.log"), 4096).unwrap()).unwrap();
    let field = |name: &str| out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {out:?}")).trim().to_string();
    assert_eq!(field("pgrp "), field("pid "), "the job must lead a process group of its own: {out}");
    assert_eq!(field("as "), (address_space_limit(256) / 1024).to_string(), "{out}");
    assert_eq!(field("core "), "0", "{out}");
    assert_eq!(u64::from_str_radix(&field("SigBlk:"), 16).unwrap(), 0, "no signal may stay blocked: {out}");
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_eq!(u64::from_str_radix(&field("SigIgn:"), 16).unwrap() & sigpipe, 0, "SIGPIPE must be back to its default: {out}");
}

#[tokio::test]
async fn the_program_is_looked_up_in_the_jobs_own_path_as_execvp_does() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    for (d, mode) in [(&first, 0o644), (&second, 0o755)] {
        std::fs::create_dir_all(d).unwrap();
        let p = d.join("hello-job");
        std::fs::write(&p, format!("#!/bin/sh\necho from {}\n", d.display())).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let mut s = spec(&dir, &["hello-job"]);
    s.env.insert("PATH".into(), format!("{}:{}:/usr/bin:/bin", first.display(), second.display()));
    let (_tx, rx) = watch::channel(false);
    let r = run(s, rx).await;
    assert_eq!(r.ending, Ending::Exited(0), "a candidate that is not executable is passed over: {r:?}");
    let out = String::from_utf8(tail(&dir.path().join("out.log"), 1024).unwrap()).unwrap();
    assert_eq!(out.trim(), format!("from {}", second.display()));

    let mut s = spec(&dir, &["hello-job"]);
    s.env.insert("PATH".into(), first.display().to_string());
    let (_tx, rx) = watch::channel(false);
    let r = run(s, rx).await;
    assert_eq!(r.ending, Ending::SpawnFailed);
    assert!(r.error.as_deref().unwrap().contains("Permission denied"), "{r:?}");
}

#[tokio::test]
async fn a_job_has_one_path_the_workers_unless_it_sets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    // The environment as execve passed it (a shell would merge duplicates).
    let script = "tr '\\0' '\\n' < /proc/$$/environ | grep -c '^PATH='; echo \"$PATH\"";
    let (_tx, rx) = watch::channel(false);
    let r = run(spec(&dir, &["/bin/sh", "-c", script]), rx).await;
    assert_eq!(r.ending, Ending::Exited(0), "{r:?}");
    let out = String::from_utf8(tail(&dir.path().join("out.log"), 4096).unwrap()).unwrap();
    assert_eq!(out, format!("1\n{}\n", std::env::var("PATH").unwrap()), "the worker's PATH, once");

    let mut s = spec(&dir, &["/bin/sh", "-c", script]);
    s.output = dir.path().join("own.log");
    s.env.insert("PATH".into(), "/usr/bin:/bin:/job/own".into());
    let (_tx, rx) = watch::channel(false);
    let r = run(s, rx).await;
    assert_eq!(r.ending, Ending::Exited(0), "{r:?}");
    let out = String::from_utf8(tail(&dir.path().join("own.log"), 4096).unwrap()).unwrap();
    assert_eq!(out, "1\n/usr/bin:/bin:/job/own\n", "the job's own PATH, once");
}

#[tokio::test]
async fn a_nul_byte_in_an_argument_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let r = run(spec(&dir, &["echo", "a\0b"]), rx).await;
    assert_eq!(r.ending, Ending::SpawnFailed);
    assert!(r.error.as_deref().unwrap().contains("NUL"), "{r:?}");
}

/// Tokio's blocking pool stops at 512 threads, so jobs must not each hold one
/// while they run: with more long jobs than that running, a short job's end
/// is still seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_job_ends_promptly_beside_more_long_jobs_than_the_blocking_pool_has_threads() {
    const LONG: usize = 520;
    let dir = tempfile::tempdir().unwrap();
    let (stop, cancel) = watch::channel(false);
    let mut long = Vec::new();
    for i in 0..LONG {
        let mut s = spec(&dir, &["sh", "-c", "echo up; exec sleep 60"]);
        s.output = dir.path().join(format!("long-{i}.log"));
        long.push(tokio::spawn(run(s, cancel.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..LONG {
        while !std::fs::read_to_string(dir.path().join(format!("long-{i}.log"))).unwrap_or_default().contains("up") {
            assert!(Instant::now() < deadline, "long job {i} never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let short = tokio::time::timeout(Duration::from_secs(10), run(spec(&dir, &["true"]), cancel.clone())).await;
    stop.send(true).unwrap();
    for j in long {
        assert_eq!(j.await.unwrap().ending, Ending::Cancelled);
    }
    assert_eq!(short.expect("the short job's end was not seen within 10 s").ending, Ending::Exited(0));
}
