//! `hodei bench read`: submit `--keys` jobs once, then read them back in turn from
//! every client, each client on its own endpoint (i mod n), so followers serve
//! reads too: linearizable ones ask the leader for its read index first.

use std::sync::Arc;

use anyhow::Context;

use super::args::{ReadArgs, ReadConsistency};
use super::load::{drive, Op, Run, Shape};
use super::stats::Report;
use super::submit::create_tenants;
use super::target::{job_command, HodeiClient};

pub async fn read(args: ReadArgs) -> anyhow::Result<Report> {
    let client = HodeiClient::new(&args.target, args.load.concurrency)?;
    let tenants = create_tenants(&client, 1, 1).await?;
    let ids = Arc::new(seed(&client, tenants[0], args.keys).await?);
    let stale = args.consistency == ReadConsistency::Stale;
    let endpoints = client.endpoints();
    let op_client = client.clone();
    let op: Op = Arc::new(move |c, seq| {
        let (client, ids) = (op_client.clone(), ids.clone());
        Box::pin(async move { client.get_job(c % endpoints, ids[(seq % ids.len() as u64) as usize], stale).await })
    });
    let run = Run::new();
    let shape = Shape { concurrency: args.load.concurrency, rate: args.load.rate, timeout: args.load.timeout };
    let elapsed = drive(&run, shape, args.load.duration, op).await;
    let mut report = run.recorder().report("hodei", "read", elapsed);
    report.transport = format!("{}/{}", client.name(), if stale { "stale" } else { "linearizable" });
    report.concurrency = args.load.concurrency;
    report.rate = args.load.rate;
    report.tenants = tenants;
    Ok(report)
}

/// Submits `n` small jobs, 16 at a time, and returns their ids.
async fn seed(client: &HodeiClient, tenant: u64, n: u32) -> anyhow::Result<Vec<u64>> {
    let command = Arc::new(job_command(0));
    let mut ids = Vec::with_capacity(n as usize);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..n {
        let (client, command) = (client.clone(), command.clone());
        batch.spawn(async move { client.submit(i as usize, tenant, &command).await });
        if batch.len() == 16 || i + 1 == n {
            while let Some(r) = batch.join_next().await {
                let id = r.context("a seeding task failed")?.map_err(|e| anyhow::anyhow!("{}: {}", e.kind, e.message));
                ids.push(id.context("submitting the jobs to read")?);
            }
        }
    }
    Ok(ids)
}
