//! Appends per second and fsyncs per batch on this machine's disk.
//!
//! Part 1, the log alone: one caller appends batches of 1, 16 and 64 entries
//! (~300-byte proposals) through `LogStore::append_durable`, the same path
//! openraft's `append` takes, waiting for each batch to be durable before the
//! next; then 8 callers append single entries at once, to show group commit.
//! Part 2, end to end: C concurrent `client_write` callers on a single-node
//! openraft over these stores.
//!
//! fsyncs are counted inside the writer thread (`LogStore::fsync_count`).
//! Run: `cargo bench -p hodei-raft-store --bench append` (`BENCH_SECS` sets the
//! seconds per row, default 3).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hodei_raft_store::{Entry, LogId, LogStore};
use openraft::{CommittedLeaderId, EntryPayload};

fn entry(index: u64) -> Entry {
    Entry { log_id: LogId::new(CommittedLeaderId::new(1, 1), index), payload: EntryPayload::Normal(support::proposal(index)) }
}

fn disk_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(".").expect("temp dir on the project's disk")
}

async fn log_alone(batch: u64, callers: u64, duration: Duration) {
    let dir = disk_dir();
    let log = LogStore::open(dir.path()).await.expect("log");
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let (fsyncs0, bytes0) = (log.fsync_count(), log.file_bytes());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (log, next) = (log.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut batches = 0u64;
            while start.elapsed() < duration {
                let first = next.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
                log.append_durable((first..first + batch).map(entry).collect()).await.expect("append");
                batches += 1;
            }
            batches
        }));
    }
    let mut batches = 0;
    for t in tasks {
        batches += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let fsyncs = log.fsync_count() - fsyncs0;
    let entries = batches * batch;
    println!(
        "log alone   batch {batch:>2} x {callers} caller(s): {:>8.0} entries/s {:>7.0} batches/s  {:>5.2} fsyncs/batch  {:>4.0} B/entry  ({batches} batches, {fsyncs} fsyncs)",
        entries as f64 / secs,
        batches as f64 / secs,
        fsyncs as f64 / batches.max(1) as f64,
        (log.file_bytes() - bytes0) as f64 / entries.max(1) as f64,
    );
}

async fn through_openraft(concurrency: u64, duration: Duration) {
    let dir = disk_dir();
    let (raft, log, _sm) = support::must_start(dir.path()).await;
    let (fsyncs0, rounds0) = (log.fsync_count(), log.write_rounds());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let raft = raft.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < duration {
                raft.client_write(support::proposal(w * 1_000_000_000 + n)).await.expect("write");
                n += 1;
            }
            n
        }));
    }
    let mut writes = 0;
    for t in tasks {
        writes += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let fsyncs = log.fsync_count() - fsyncs0;
    println!(
        "openraft    {concurrency:>2} writer(s): {:>8.0} writes/s  {:>5.2} fsyncs/write  ({writes} writes, {fsyncs} fsyncs, {} writer rounds)",
        writes as f64 / secs,
        fsyncs as f64 / writes.max(1) as f64,
        log.write_rounds() - rounds0,
    );
    raft.shutdown().await.ok();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let d = Duration::from_secs(secs);
    println!("hodei WAL on the working directory's disk, ~300-byte proposals, {secs} s per row");
    rt.block_on(async {
        for batch in [1, 16, 64] {
            log_alone(batch, 1, d).await;
        }
        log_alone(1, 8, d).await;
        for c in [1, 16, 64] {
            through_openraft(c, d).await;
        }
    });
}
