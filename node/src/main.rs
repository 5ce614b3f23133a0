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

fn runtime<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(f()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a client verb; its error decides the exit code.
fn client<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), hodei::client::http::ClientError>>,
{
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(f()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code)
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
