//! `wasm-issuer policy`: run a policy plugin on a CSR. Exit 0 on allow, 1 on
//! deny (or invalid), 2 on error.

use std::process::ExitCode;

use anyhow::Context;
use wasm_issuer_runtime::{Decision, Sandbox};

use crate::failure::{Class, Classify, Failure};
use crate::local_request::RequestArgs;

const EXIT_DENIED: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    request: RequestArgs,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    decide(&args).map_err(|failure| failure.with_exit_code(EXIT_ERROR))
}

fn decide(args: &Args) -> Result<ExitCode, Failure> {
    let request = args.request.request()?;
    let (runtime, component) = args.request.load_plugin()?;
    let policy = runtime
        .policy(&component)
        .with_context(|| format!("plugin {}", args.request.plugin.display()))
        .class(Class::Plugin)?;
    let sandbox = Sandbox {
        limits: args.request.limits(),
        ..Sandbox::default()
    };
    let decision = policy
        .evaluate(&sandbox, &request)
        .map_err(|error| Failure::new(Class::Call(error.class()), error))?;
    Ok(match decision {
        Decision::Allow => {
            println!("allow");
            ExitCode::SUCCESS
        }
        Decision::Deny(reason) => {
            println!("deny: {reason}");
            ExitCode::from(EXIT_DENIED)
        }
        Decision::Invalid(reason) => {
            println!("invalid: {reason}");
            ExitCode::from(EXIT_DENIED)
        }
    })
}
