//! `wasm-issuer`: the controller (coming), and the plugin author's tools.
//!
//! Errors become one line on stderr naming the cause and its class; the exit
//! code says what kind of failure it was (see [`failure::Failure`]).

mod commands;
mod failure;
mod local_request;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wasm-issuer",
    version,
    about = "cert-manager issuers as WebAssembly plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign a CSR with a signer plugin, locally, with production limits.
    Sign(commands::sign::Args),
    /// Evaluate a policy plugin against a CSR: prints `allow` or `deny: <reason>`.
    Policy(commands::policy::Args),
    /// Describe a plugin: world, imports, exports, digest, size.
    Inspect(commands::inspect::Args),
    /// Print the CustomResourceDefinitions (YAML) of WasmIssuer and WasmClusterIssuer.
    Crds(commands::crds::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcome = match Cli::parse().command {
        Command::Sign(args) => commands::sign::run(args),
        Command::Policy(args) => commands::policy::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Crds(args) => commands::crds::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
