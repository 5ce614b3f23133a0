//! `hodei bench submit`: create the bench tenants, then submit jobs from every
//! client until the duration is up.

use std::sync::Arc;

use anyhow::Context;

use super::args::SubmitArgs;
use super::load::{drive, Op, Run, Shape};
use super::stats::Report;
use super::target::{job_command, HodeiClient};

pub async fn submit(args: SubmitArgs) -> anyhow::Result<Report> {
    let client = HodeiClient::new(&args.target, args.load.concurrency)?;
    let tenants = create_tenants(&client, args.tenants).await?;
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

/// `n` fresh tenants named after this process and the clock, so runs never collide.
pub async fn create_tenants(client: &HodeiClient, n: u32) -> anyhow::Result<Vec<u64>> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let mut ids = Vec::with_capacity(n as usize);
    for i in 0..n {
        let name = format!("bench-{}-{stamp}-{i}", std::process::id());
        ids.push(client.create_tenant(&name).await.with_context(|| format!("creating bench tenant {name}"))?);
    }
    Ok(ids)
}
