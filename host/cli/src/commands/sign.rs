//! `wasm-issuer sign`: run a signer plugin on a CSR, print the chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wasm_issuer_pki::GrantedKey;
use wasm_issuer_runtime::{Grants, Sandbox};

use crate::failure::{Class, Classify, Failure};
use crate::local_request::RequestArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    request: RequestArgs,
    /// Grant a key: <name>=<directory holding tls.crt and tls.key (and ca.crt)>.
    #[arg(long = "key", value_parser = parse_key_grant)]
    keys: Vec<(String, PathBuf)>,
    /// Also write the CA (PEM) to this file.
    #[arg(long)]
    ca_out: Option<PathBuf>,
}

fn parse_key_grant(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !dir.is_empty() => {
            Ok((name.to_owned(), dir.into()))
        }
        _ => Err(format!("{text:?} is not <name>=<directory>")),
    }
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let request = args.request.request()?;
    let mut grants = Grants::new();
    for (name, dir) in &args.keys {
        let key = GrantedKey::from_dir(dir)
            .with_context(|| format!("key {name:?} from {}", dir.display()))
            .class(Class::Key)?;
        grants.grant_key(name.clone(), key.into());
    }
    let (runtime, component) = args.request.load_plugin()?;
    let signer = runtime
        .signer(&component)
        .with_context(|| format!("plugin {}", args.request.plugin.display()))
        .class(Class::Plugin)?;
    let sandbox = Sandbox {
        grants,
        limits: args.request.limits(),
    };
    let issued = signer
        .sign(&sandbox, &request)
        .map_err(|error| Failure::new(Class::Call(error.class()), error))?;
    if let Some(path) = &args.ca_out {
        let ca = issued.ca_pem().unwrap_or_default();
        std::fs::write(path, ca)
            .with_context(|| format!("cannot write {}", path.display()))
            .class(Class::Input)?;
    }
    print!("{}", issued.chain_pem());
    Ok(ExitCode::SUCCESS)
}
