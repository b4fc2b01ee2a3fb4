//! `wasm-issuer`: the controller, and the plugin author's tools.
//!
//! Errors become one line on stderr naming the cause and its class; the exit
//! code says what kind of failure it was (see [`failure::Failure`]).

mod commands;
mod failure;
mod local_request;
mod logging;

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
    /// Run the controller: sign cert-manager CertificateRequests for
    /// WasmIssuers and WasmClusterIssuers.
    Controller(commands::controller::Args),
    /// Sign a CSR with a signer plugin, locally, with production limits.
    Sign(commands::sign::Args),
    /// Evaluate a policy plugin against a CSR: prints `allow` or `deny: <reason>`.
    Policy(commands::policy::Args),
    /// Describe a plugin (a file or an OCI reference): world, imports, exports, digest, size.
    Inspect(commands::inspect::Args),
    /// Publish a plugin to an OCI registry, or fetch one.
    Plugin(commands::plugin::Args),
    /// Print the CustomResourceDefinitions (YAML) of WasmIssuer and WasmClusterIssuer.
    Crds(commands::crds::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Controller(args) => logging::init(args.log_format, "info"),
        _ => logging::init(logging::LogFormat::Text, "warn"),
    }
    let outcome = match cli.command {
        Command::Controller(args) => commands::controller::run(args),
        Command::Sign(args) => commands::sign::run(args),
        Command::Policy(args) => commands::policy::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Plugin(args) => commands::plugin::run(args),
        Command::Crds(args) => commands::crds::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    /// Every flag's definition agrees with its field (clap checks at parse
    /// time only otherwise: a mismatch would panic in production).
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_controllers_defaults_parse_and_off_turns_an_endpoint_off() {
        let cli = Cli::try_parse_from(["wasm-issuer", "controller", "--metrics-address", "off"])
            .expect("parses");
        let Command::Controller(args) = cli.command else {
            panic!("not the controller");
        };
        assert!(args.leader_elect);
        assert_eq!(args.metrics_address.0, None);
        let health = "0.0.0.0:9403".parse().expect("an address");
        assert_eq!(args.health_address.0, Some(health));
        let refused =
            Cli::try_parse_from(["wasm-issuer", "controller", "--health-address", "9403"]);
        assert!(refused.is_err());
    }
}
