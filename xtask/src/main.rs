//! `cargo xtask <command>`: the project's one entry point for tooling.

mod cluster;
mod demo;
mod plugins;
mod test;
mod workspace;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "wasm-issuer project tooling")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every plugin into target/plugins/<name>.wasm (test fixtures into target/test-plugins/).
    Plugins,
    /// Run the main job: a local control plane, the controller, a WasmIssuer
    /// with the `ca` plugin and a cert-manager Certificate issued by it.
    Demo(demo::Args),
    /// Install what the tests need, then run every test.
    Test,
    /// A local control plane (etcd, kube-apiserver, cert-manager) for humans and scripts.
    Cluster {
        #[command(subcommand)]
        action: cluster::Action,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Plugins => plugins::build_all().map(|_| ()),
        Command::Demo(args) => demo::run(args),
        Command::Test => test::run(),
        Command::Cluster { action } => cluster::run(action),
    }
}
