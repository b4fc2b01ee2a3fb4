//! `wasm-issuer inspect`: what a plugin is, from a file or an OCI registry.
//!
//! The argument is a file if it names one. Otherwise it is an OCI reference
//! when it says which registry (`ghcr.io/org/plugin:v1`,
//! `localhost:5000/plugin@sha256:...`: a first component with a `.` or `:`,
//! or `localhost`, as Docker decides), or always with `--oci` (which also
//! allows Docker Hub's short names).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use wasm_issuer_runtime::{Runtime, RuntimeOptions};
use wasm_issuer_sources::oci;

use crate::commands::plugin::{RegistryArgs, block_on, registry_failure};
use crate::failure::{Class, Classify, Failure};
use crate::local_request::read;

#[derive(clap::Args)]
pub struct Args {
    /// The plugin component: a .wasm file, or an OCI reference
    /// (<registry>/<repository>:<tag> or @sha256:<digest>).
    plugin: PathBuf,
    /// Take the argument as an OCI reference even if a file has that name.
    #[arg(long)]
    oci: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    let (wasm, described) = match oci_reference(&args) {
        Some(reference) => {
            let credentials = args.registry.credentials()?;
            let pulled = block_on(oci::pull(reference, &credentials, args.registry.insecure))?
                .map_err(registry_failure)?;
            println!("source:  {reference}");
            println!("manifest: {}", pulled.manifest_digest);
            (pulled.wasm, reference.to_string())
        }
        None => (read_file(&args.plugin)?, args.plugin.display().to_string()),
    };
    let runtime = Runtime::new(&RuntimeOptions::default()).class(Class::Plugin)?;
    let info = wasm_issuer_runtime::inspect(&runtime, &wasm)
        .with_context(|| format!("plugin {described}"))
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

/// The argument as an OCI reference, if it is to be taken as one.
fn oci_reference(args: &Args) -> Option<&str> {
    let text = args.plugin.to_str()?;
    if args.oci {
        return Some(text);
    }
    (!args.plugin.exists() && names_a_registry(text)).then_some(text)
}

/// Docker's rule for "the first component is a registry host"; a `.wasm`
/// suffix or a relative path (`./`, `../`) means a file that is missing.
fn names_a_registry(text: &str) -> bool {
    if text.ends_with(".wasm") {
        return false;
    }
    match text.split_once('/') {
        Some((first, rest)) if !rest.is_empty() && first != "." && first != ".." => {
            first.contains('.') || first.contains(':') || first == "localhost"
        }
        _ => false,
    }
}

/// Reads the file; a missing one gets a hint in case a reference was meant.
fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    if !path.exists() {
        return Err(Failure::new(
            Class::Input,
            anyhow!(
                "cannot read {}: no such file (an OCI reference names its registry, e.g. ghcr.io/org/plugin:v1, or use --oci)",
                path.display()
            ),
        ));
    }
    read(path)
}

#[cfg(test)]
mod tests {
    use super::names_a_registry;

    #[test]
    fn references_name_their_registry() {
        for reference in [
            "ghcr.io/org/plugin:v1",
            "localhost:5000/plugin@sha256:abc",
            "127.0.0.1:5000/plugins/ca:v1",
            "localhost/plugin",
        ] {
            assert!(names_a_registry(reference), "{reference}");
        }
        for file in [
            "ca.wasm",
            "target/plugins/ca.wasm",
            "./plugins/ca",
            "../ca",
            "plugin",
            "org/plugin:v1",
            "ghcr.io/org/ca.wasm",
        ] {
            assert!(!names_a_registry(file), "{file}");
        }
    }
}
