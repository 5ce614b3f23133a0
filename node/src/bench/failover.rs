//! `hodei bench failover`: start a 3-node cluster of `hodei server` processes,
//! keep closed-loop submits running, and per round SIGKILL the leader and time
//! from the kill to the first acknowledged write that was *sent after* the kill
//! (an earlier request can be answered late from an entry the old leader had
//! already committed, which says nothing about recovery). Then restart the dead
//! node on its data dir, wait until it is ready and writes flow again, and repeat.
//!
//! Before each kill the load runs for `--steady` with every node up, and the
//! Raft term is read from each node's `/metrics` at both ends: any change is an
//! election nobody caused, which a timing too tight for the load would show.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use super::args::{FailoverArgs, TargetArgs};
use super::load::{drive, Op, Run, Shape};
use super::local::{with_three_nodes, LocalCluster};
use super::stats::{round3, BenchReport, Report};
use super::submit::create_tenants;
use super::target::{job_command, HodeiClient};

/// What the clients saw around a kill.
#[derive(Default)]
struct Clock {
    killed_at: Option<Instant>,
    first_ack: Option<Instant>,
    acks: u64,
}

#[derive(Debug, Serialize)]
pub struct FailoverReport {
    pub rounds: Vec<Round>,
    pub recovery_p50_ms: f64,
    pub recovery_min_ms: f64,
    pub recovery_max_ms: f64,
    pub recovery_mean_ms: f64,
    /// Seconds of load with every node up, and the elections during them.
    pub steady_s: f64,
    pub spurious_elections: u64,
    /// The submits that ran throughout, kills included.
    pub load: Report,
}

#[derive(Debug, Serialize)]
pub struct Round {
    pub killed_node: u64,
    pub new_leader: u64,
    /// From SIGKILL to the first acknowledged write sent after it.
    pub recovery_ms: f64,
    /// Term changes while the load ran with every node up before the kill.
    pub spurious_elections: u64,
}

pub async fn failover(args: FailoverArgs) -> anyhow::Result<FailoverReport> {
    with_three_nodes("failover", args.data_dir.clone(), args.config.clone(), |cluster, _| rounds(&args, cluster)).await
}

async fn rounds(args: &FailoverArgs, mut cluster: LocalCluster) -> anyhow::Result<FailoverReport> {
    let target = TargetArgs {
        endpoints: cluster.nodes.iter().map(|n| n.grpc.clone()).collect(),
        token: Some(cluster.admin.clone()),
        grpc: true,
        rest: false,
    };
    let client = HodeiClient::new(&target, args.concurrency)?;
    let tenant = create_tenants(&client, 1, 1).await?[0];
    let clock = Arc::new(Mutex::new(Clock::default()));
    let run = Run::new();
    let load = {
        let op = submit_op(client, tenant, args, clock.clone());
        let shape = Shape { concurrency: args.concurrency, rate: None, timeout: args.timeout };
        let run = run.clone();
        tokio::spawn(async move { drive(&run, shape, Duration::from_secs(365 * 24 * 3600), op).await })
    };
    let mut done = Vec::new();
    let outcome = async {
        for round in 1..=args.rounds {
            done.push(one_round(args, &mut cluster, &clock).await.with_context(|| format!("round {round}"))?);
            let r = done.last().expect("just pushed");
            eprintln!(
                "round {round}: {} elections before the kill; killed leader {}, first write acknowledged after {:.0} ms, node {} leads",
                r.spurious_elections, r.killed_node, r.recovery_ms, r.new_leader
            );
        }
        anyhow::Ok(())
    }
    .await;
    run.stop();
    let elapsed = load.await.context("the load task failed")?;
    outcome?;
    let mut load = run.recorder().report("hodei", "submit", elapsed);
    load.transport = "grpc".into();
    load.concurrency = args.concurrency;
    load.payload_bytes = args.payload_bytes;
    let mut ms: Vec<f64> = done.iter().map(|r| r.recovery_ms).collect();
    ms.sort_by(f64::total_cmp);
    Ok(FailoverReport {
        recovery_p50_ms: median(&ms),
        recovery_min_ms: ms.first().copied().unwrap_or(0.0),
        recovery_max_ms: ms.last().copied().unwrap_or(0.0),
        recovery_mean_ms: round3(ms.iter().sum::<f64>() / ms.len().max(1) as f64),
        steady_s: round3(args.steady.as_secs_f64() * done.len() as f64),
        spurious_elections: done.iter().map(|r| r.spurious_elections).sum(),
        rounds: done,
        load,
    })
}

/// Submits through the client's endpoint; a client whose node is unreachable
/// moves on to the next one, as a real client with several endpoints would.
fn submit_op(client: HodeiClient, tenant: u64, args: &FailoverArgs, clock: Arc<Mutex<Clock>>) -> Op {
    let command = Arc::new(job_command(args.payload_bytes as usize));
    let offsets: Arc<Vec<AtomicUsize>> = Arc::new((0..args.concurrency).map(|_| AtomicUsize::new(0)).collect());
    let n = client.endpoints();
    Arc::new(move |c, _seq| {
        let (client, command, clock, offsets) = (client.clone(), command.clone(), clock.clone(), offsets.clone());
        Box::pin(async move {
            let ep = (c + offsets[c].load(Ordering::Relaxed)) % n;
            let sent = Instant::now();
            match client.submit(ep, tenant, &command).await {
                Ok(_) => {
                    let mut k = clock.lock().unwrap_or_else(|p| p.into_inner());
                    k.acks += 1;
                    if k.killed_at.is_some_and(|at| sent >= at) && k.first_ack.is_none() {
                        k.first_ack = Some(Instant::now());
                    }
                    Ok(())
                }
                Err(e) => {
                    if e.kind == "unavailable" {
                        offsets[c].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e)
                }
            }
        })
    })
}

async fn one_round(args: &FailoverArgs, cluster: &mut LocalCluster, clock: &Mutex<Clock>) -> anyhow::Result<Round> {
    let lock = || clock.lock().unwrap_or_else(|p| p.into_inner());
    // Writes must be flowing before the kill, or the round measures start-up.
    let base = lock().acks;
    let want = base + 2 * u64::from(args.concurrency);
    let deadline = Instant::now() + Duration::from_secs(60);
    while lock().acks < want {
        anyhow::ensure!(Instant::now() < deadline, "writes did not resume within 60 s of the last restart");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let term_before = cluster.highest_term().await?;
    tokio::time::sleep(args.steady).await;
    let spurious_elections = cluster.highest_term().await?.saturating_sub(term_before);
    let leader = cluster.wait_for_leader(Instant::now() + Duration::from_secs(60)).await?;
    let killed_node = cluster.nodes[leader].id;
    let killed_at = Instant::now();
    {
        let mut k = lock();
        k.killed_at = Some(killed_at);
        k.first_ack = None;
    }
    cluster.kill(leader);
    let deadline = killed_at + args.recovery_timeout;
    let first_ack = loop {
        if let Some(at) = lock().first_ack {
            break at;
        }
        anyhow::ensure!(Instant::now() < deadline, "no write was acknowledged within {:?} of killing node {killed_node}", args.recovery_timeout);
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    lock().killed_at = None;
    let new_leader = cluster.nodes[cluster.wait_for_leader(Instant::now() + Duration::from_secs(60)).await?].id;
    cluster.spawn(leader)?;
    cluster.wait_ready(leader, Instant::now() + Duration::from_secs(60)).await?;
    cluster.wait_caught_up(leader, Instant::now() + Duration::from_secs(60)).await?;
    Ok(Round { killed_node, new_leader, recovery_ms: round3((first_ack - killed_at).as_secs_f64() * 1000.0), spurious_elections })
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

impl BenchReport for FailoverReport {
    /// The rounds, then the load's own report.
    fn table(&self) -> String {
        let mut s = format!("failover: {} leader kills under load\n", self.rounds.len());
        for (i, r) in self.rounds.iter().enumerate() {
            s += &format!("  round {:>3}: killed node {}, node {} leads, first write after {:.0} ms\n", i + 1, r.killed_node, r.new_leader, r.recovery_ms);
        }
        s += &format!(
            "  recovery ms: p50 {:.0}  min {:.0}  max {:.0}  mean {:.0}\n",
            self.recovery_p50_ms, self.recovery_min_ms, self.recovery_max_ms, self.recovery_mean_ms
        );
        s += &format!("  elections during {:.0} s of load with every node up: {}\n", self.steady_s, self.spurious_elections);
        s + &self.load.table()
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), 3.0);
    }
}
