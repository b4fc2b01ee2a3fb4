//! `wasm-issuer inspect`: what a plugin file is.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wasm_issuer_runtime::{Runtime, RuntimeOptions};

use crate::failure::{Class, Classify, Failure};
use crate::local_request::read;

#[derive(clap::Args)]
pub struct Args {
    /// The plugin component (.wasm).
    plugin: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let wasm = read(&args.plugin)?;
    let runtime = Runtime::new(&RuntimeOptions::default()).class(Class::Plugin)?;
    let info = wasm_issuer_runtime::inspect(&runtime, &wasm)
        .with_context(|| format!("plugin {}", args.plugin.display()))
        .class(Class::Plugin)?;
    println!("world:   {}", info.world);
    println!("digest:  {}", info.digest);
    println!("size:    {} bytes", info.size);
    println!("imports:");
    for import in &info.imports {
        println!("  {import}");
    }
    println!("exports:");
    for export in &info.exports {
        println!("  {export}");
    }
    Ok(ExitCode::SUCCESS)
}
