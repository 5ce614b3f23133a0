//! `hodei-chaos run --backend process|docker --nemesis partition,kill,pause,loss,upgrade
//! --nodes 3|5 --duration 60s --seed N`: a campaign against real nodes, then a report.
//! `hodei-chaos check DIR/history.json`: the checkers again on a saved history.
//! Exit codes: 0 no violation, 1 a violation, 2 the campaign could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hodei_chaos::backend::process::NetChoice;
use hodei_chaos::checker::check_all;
use hodei_chaos::history::History;
use hodei_chaos::nemesis::{parse_nemeses, Fault};
use hodei_chaos::report::Report;
use hodei_chaos::{default_bin, parse_duration, CampaignConfig};

#[derive(Parser)]
#[command(name = "hodei-chaos", about = "Chaos campaigns against a Hodei cluster")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a campaign and checks its history.
    Run {
        /// inprocess (nodes in this process), process (OS processes on loopback) or docker (containers of --image).
        #[arg(long, default_value = "process")]
        backend: String,
        /// Fault groups (partition, kill, pause, loss, delay, upgrade, membership, all) or single faults, comma separated.
        #[arg(long, default_value = "partition,kill,pause")]
        nemesis: String,
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[arg(long, default_value = "60s")]
        duration: String,
        /// Seeds the fault schedule and the clients' choices (default: from the clock).
        #[arg(long)]
        seed: Option<u64>,
        /// The hodei binary (default: $HODEI_BIN, else target/release/hodei).
        #[arg(long)]
        bin: Option<PathBuf>,
        /// Where the seed, history, report and node logs go (default: chaos-out/<seed>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Process backend: network faults by iptables, the nodes' transport filter, or auto (iptables when usable).
        #[arg(long, default_value = "auto", value_parser = ["auto", "iptables", "filter"])]
        net: String,
        /// Process backend: `hodei worker` agents that run the campaign's jobs (0: jobs stay queued).
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Docker backend: the image to run (build it with scripts/build-image).
        #[arg(long, default_value = "hodei:dev")]
        image: String,
        /// Start every node at this protocol version; each roll of the upgrade
        /// nemesis brings one to this build's. Default: the oldest this build
        /// runs beside when the upgrade nemesis is on (a real N-1 to N upgrade),
        /// else this build's.
        #[arg(long)]
        from_protocol: Option<u32>,
    },
    /// Runs the checkers on a saved history.json.
    Check { history: PathBuf },
}

#[tokio::main]
async fn main() -> ExitCode {
    match real_main().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hodei-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when no checker found a violation.
async fn real_main() -> anyhow::Result<bool> {
    match Cli::parse().cmd {
        Cmd::Run { backend, nemesis, nodes, duration, seed, bin, out, clients, net, workers, image, from_protocol } => {
            let seed = seed.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs()));
            if !(3..=9).contains(&nodes) {
                anyhow::bail!("--nodes must be from 3 to 9");
            }
            let net = match net.as_str() {
                "iptables" => NetChoice::Iptables,
                "filter" => NetChoice::Filter,
                _ => NetChoice::Auto,
            };
            let nemeses = parse_nemeses(&nemesis)?;
            let from_protocol = from_protocol.or_else(|| nemeses.contains(&Fault::RollingRestart).then_some(hodei_domain::OLDEST_PROTOCOL_VERSION));
            let cfg = CampaignConfig {
                backend,
                nemeses,
                nodes,
                duration: parse_duration(&duration)?,
                seed,
                bin: bin.unwrap_or_else(default_bin),
                out: out.unwrap_or_else(|| PathBuf::from(format!("chaos-out/{seed}"))),
                clients: clients.max(1),
                progress: true,
                net,
                workers,
                image,
                from_protocol,
            };
            eprintln!("hodei-chaos: seed {seed}, output in {}", cfg.out.display());
            // Ctrl-C drops the campaign, and with it the nodes, containers and rules.
            let report = tokio::select! {
                r = hodei_chaos::run(&cfg) => r?,
                _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted; nodes and fault rules removed"),
            };
            println!("{}", report.text());
            println!("history, report.json and node logs: {}", cfg.out.display());
            Ok(report.ok)
        }
        Cmd::Check { history } => {
            let text = std::fs::read(&history)?;
            let h: History = serde_json::from_slice(&text)?;
            let report = Report::new("replay", Vec::new(), 0.0, &h, check_all(&h));
            println!("{}", report.text());
            Ok(report.ok)
        }
    }
}
