//! `hodei bench`: load generators for a running cluster, and for etcd with the
//! same driver so the two can be compared on one machine.
//!
//! - [`args`]: the subcommands and their flags.
//! - [`load`]: closed- and open-loop driver, per-second progress on stderr.
//! - [`stats`]: HDR latency histograms, errors by kind, the final report.
//! - [`target`]: the Hodei client (gRPC or REST), spread over the endpoints.
//! - [`submit`], [`read`]: the Hodei workloads.
//! - [`failover`] with [`local`]: leader kills against a cluster it starts itself.
//! - [`dispatch`]: no-op jobs through real workers, on a cluster it starts itself.
//! - [`cpu`]: CPU time of the processes a bench started, from `/proc`.
//! - [`scale`]: a million queued jobs: memory per node, snapshot, restore, restart.
//! - [`etcd`]: KV Put and Range against etcd (hidden subcommands).

pub mod args;
pub mod cpu;
pub mod dispatch;
pub mod etcd;
pub mod failover;
pub mod load;
pub mod local;
pub mod read;
pub mod scale;
pub mod stats;
pub mod submit;
pub mod target;

use args::{BenchCmd, BenchMode};
use stats::BenchReport;

/// Runs one bench and prints its report on stdout (`-o json`: one JSON object).
pub async fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd.mode {
        BenchMode::Submit(a) => {
            let out = a.load.output;
            submit::submit(a).await?.print(out);
        }
        BenchMode::Read(a) => {
            let out = a.load.output;
            read::read(a).await?.print(out);
        }
        BenchMode::Failover(a) => {
            let out = a.output;
            failover::failover(a).await?.print(out);
        }
        BenchMode::Dispatch(a) => {
            let out = a.output;
            dispatch::dispatch(a).await?.print(out);
        }
        BenchMode::Scale(a) => {
            let out = a.output;
            scale::scale(a).await?.print(out);
        }
        BenchMode::EtcdPut(a) => {
            let out = a.load.output;
            etcd::etcd(a, etcd::EtcdOp::Put).await?.print(out);
        }
        BenchMode::EtcdRange(a) => {
            let out = a.load.output;
            etcd::etcd(a, etcd::EtcdOp::Range).await?.print(out);
        }
    }
    Ok(())
}
