//! The `hodei` binary: parse, dispatch, map errors to exit codes.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;

use hodei::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => {
            let env: BTreeMap<String, String> = std::env::vars().collect();
            let config = match hodei::config::load(&args, &env) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(e.exit_code() as u8);
                }
            };
            hodei::logging::init();
            runtime(|| hodei::run::run(config, shutdown_signal()))
        }
        Command::Dev(args) => runtime(|| hodei::dev::dev(args)),
        Command::Worker(args) => {
            hodei::logging::init();
            runtime(|| hodei::worker::run(args))
        }
        Command::Tenant(cmd) => client(|| hodei::client::tenant(cmd)),
        Command::Job(cmd) => client(|| hodei::client::job(cmd)),
        Command::Cluster(cmd) => client(|| hodei::client::cluster(cmd)),
        Command::Pool(cmd) => client(|| hodei::client::admin::pool(cmd)),
        Command::Quota(cmd) => client(|| hodei::client::admin::quota(cmd)),
        Command::Burst(cmd) => client(|| hodei::client::admin::burst(cmd)),
        Command::Cost(cmd) => client(|| hodei::client::admin::cost(cmd)),
        Command::Queue(args) => client(|| hodei::client::admin::queue(args)),
        Command::Bench(cmd) => runtime(|| hodei::bench::run(cmd)),
        Command::Dashboards(cmd) => runtime(|| hodei::dashboards::run(cmd)),
        Command::Restore(args) => match hodei::restore::restore(&args) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "hodei", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Token(args) => match hodei::token::token(&args) {
            Ok(t) => {
                println!("{t}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// Runs a server-side command (node, dev cluster, worker) on a multi-threaded
/// runtime; any error exits with 1.
fn runtime<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    block_on(true, f, |e| (format!("{e:#}"), 1))
}

/// Runs a client verb on a single thread; its error decides the exit code.
fn client<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), hodei::client::http::ClientError>>,
{
    block_on(false, f, |e| (e.to_string(), e.code))
}

fn block_on<F, Fut, E>(multi_thread: bool, f: F, describe: impl Fn(&E) -> (String, u8)) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    let mut builder = if multi_thread { tokio::runtime::Builder::new_multi_thread() } else { tokio::runtime::Builder::new_current_thread() };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(f()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (message, code) = describe(&e);
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
