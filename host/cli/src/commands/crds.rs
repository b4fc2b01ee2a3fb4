//! `wasm-issuer crds`: the CustomResourceDefinitions, generated from the API
//! types, as the multi-document YAML that `deploy/crds/` holds.

use std::process::ExitCode;

use anyhow::Context;

use crate::failure::{Class, Classify, Failure};

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> Result<ExitCode, Failure> {
    print!("{}", yaml().class(Class::Internal)?);
    Ok(ExitCode::SUCCESS)
}

/// Every CRD as one YAML document, each starting with `---`.
fn yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in wasm_issuer_controller::api::crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd).context("serializing a CRD as YAML")?);
    }
    Ok(out)
}
