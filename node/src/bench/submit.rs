//! `hodei bench submit`: create the bench tenants, then submit jobs from every
//! client until the duration is up.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::args::SubmitArgs;
use super::load::{drive, Op, Run, Shape};
use super::stats::Report;
use super::target::{job_command, HodeiClient};

pub async fn submit(args: SubmitArgs) -> anyhow::Result<Report> {
    let client = HodeiClient::new(&args.target, args.load.concurrency)?;
    let tenants = create_tenants(&client, args.tenants, args.load.concurrency).await?;
    let command = Arc::new(job_command(args.payload_bytes as usize));
    let endpoints = client.endpoints();
    let ids = Arc::new(tenants.clone());
    let op_client = client.clone();
    let op: Op = Arc::new(move |c, seq| {
        let (client, command, ids) = (op_client.clone(), command.clone(), ids.clone());
        // Submissions rotate over the tenants, so each holds a 1/T share of the queue.
        let tenant = ids[(seq % ids.len() as u64) as usize];
        Box::pin(async move { client.submit(c % endpoints, tenant, &command).await.map(drop) })
    });
    let run = Run::new();
    let shape = Shape { concurrency: args.load.concurrency, rate: args.load.rate, timeout: args.load.timeout };
    let elapsed = drive(&run, shape, args.load.duration, op).await;
    let mut report = run.recorder().report("hodei", "submit", elapsed);
    report.transport = client.name().into();
    report.concurrency = args.load.concurrency;
    report.rate = args.load.rate;
    report.payload_bytes = args.payload_bytes;
    report.tenants = tenants;
    Ok(report)
}

/// `n` fresh tenants named after this process and the clock, so runs never
/// collide; created by up to `concurrency` clients at once, returned in order.
pub async fn create_tenants(client: &HodeiClient, n: u32, concurrency: u32) -> anyhow::Result<Vec<u64>> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let next = Arc::new(AtomicU32::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (client, next) = (client.clone(), next.clone());
        tasks.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(made);
                }
                let name = format!("bench-{}-{stamp}-{i}", std::process::id());
                made.push((i, client.create_tenant(&name).await.with_context(|| format!("creating bench tenant {name}"))?));
            }
        });
    }
    let mut ids = Vec::with_capacity(n as usize);
    while let Some(done) = tasks.join_next().await {
        ids.extend(done.context("a tenant-creating client panicked")??);
    }
    ids.sort_unstable();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

/// Acknowledged submits, errors by kind, and the seconds they took.
pub type Counted = (u64, BTreeMap<String, u64>, f64);

/// `concurrency` closed-loop clients submit `total` jobs of `command`, job i
/// for tenant i mod T; each second `tick(acknowledged so far, elapsed)` runs
/// (the caller's progress line).
pub async fn submit_count<F, Fut>(client: &HodeiClient, tenants: &[u64], total: u64, concurrency: u32, command: Vec<String>, mut tick: F) -> Counted
where
    F: FnMut(u64, Duration) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let (command, tenants) = (Arc::new(command), Arc::new(tenants.to_vec()));
    let endpoints = client.endpoints();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency as usize {
        let (client, next, acked, errors, command, tenants) = (client.clone(), next.clone(), acked.clone(), errors.clone(), command.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let tenant = tenants[(i % tenants.len() as u64) as usize];
                match client.submit(c % endpoints, tenant, &command).await {
                    Ok(_) => {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => *errors.lock().unwrap_or_else(|p| p.into_inner()).entry(e.kind.to_string()).or_insert(0) += 1,
                }
            }
        }));
    }
    let progress = {
        let acked = acked.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            loop {
                every.tick().await;
                tick(acked.load(Ordering::Relaxed), started.elapsed()).await;
            }
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    progress.abort();
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (acked.load(Ordering::Relaxed), errors, elapsed)
}
