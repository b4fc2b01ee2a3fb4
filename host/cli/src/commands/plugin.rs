//! `wasm-issuer plugin push|pull`: publish a plugin to an OCI registry and
//! fetch it back. The registry options are shared with `inspect`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use wasm_issuer_sources::oci::{self, Credentials, OciError};

use crate::failure::{Class, Classify, Failure};
use crate::local_request::read;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Push a plugin (.wasm) to an OCI registry in the CNCF Wasm layout;
    /// prints the immutable reference, <registry>/<repository>@sha256:...
    Push(PushArgs),
    /// Pull a plugin from an OCI registry into a file; prints the manifest
    /// digest the reference resolved to.
    Pull(PullArgs),
}

#[derive(clap::Args)]
struct PushArgs {
    /// The plugin component (.wasm).
    file: PathBuf,
    /// Where to push it: <registry>/<repository>:<tag>.
    reference: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(clap::Args)]
struct PullArgs {
    /// What to pull: <registry>/<repository>:<tag> or <registry>/<repository>@sha256:<digest>.
    reference: String,
    /// Write the component to this file.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// How to reach a registry: the protocol and the credentials.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Plain HTTP instead of HTTPS: for a registry on loopback only.
    #[arg(long)]
    pub insecure: bool,
    /// Registry user name; the password (or access token) comes from standard input.
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password from standard input (with --username).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

impl RegistryArgs {
    /// Anonymous, or --username with the password read from stdin (not a
    /// flag: flags show in `ps` and shell history).
    pub fn credentials(&self) -> Result<Credentials, Failure> {
        let Some(username) = &self.username else {
            return Ok(Credentials::Anonymous);
        };
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("cannot read the registry password from standard input")
            .class(Class::Input)?;
        // `echo $TOKEN | ...` adds a newline that is not part of the password.
        let password = password.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err(Failure::new(
                Class::Input,
                anyhow!("--password-stdin: standard input is empty"),
            ));
        }
        Ok(Credentials::Basic {
            username: username.clone(),
            password,
        })
    }
}

pub fn run(args: Args) -> Result<ExitCode, Failure> {
    match args.command {
        Command::Push(args) => push(args),
        Command::Pull(args) => pull(args),
    }
}

fn push(args: PushArgs) -> Result<ExitCode, Failure> {
    let wasm = read(&args.file)?;
    let credentials = args.registry.credentials()?;
    let immutable = block_on(oci::push(
        &wasm,
        &args.reference,
        &credentials,
        args.registry.insecure,
    ))?
    .map_err(registry_failure)?;
    println!("{immutable}");
    Ok(ExitCode::SUCCESS)
}

fn pull(args: PullArgs) -> Result<ExitCode, Failure> {
    let credentials = args.registry.credentials()?;
    let pulled = block_on(oci::pull(
        &args.reference,
        &credentials,
        args.registry.insecure,
    ))?
    .map_err(registry_failure)?;
    std::fs::write(&args.output, &pulled.wasm)
        .with_context(|| format!("cannot write {}", args.output.display()))
        .class(Class::Input)?;
    println!("{}", pulled.manifest_digest);
    Ok(ExitCode::SUCCESS)
}

/// Runs one registry operation on a runtime of its own: the other commands
/// are synchronous and need none.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .class(Class::Internal)?;
    Ok(runtime.block_on(future))
}

/// A registry error as a failure: an artifact that is not a Wasm component
/// is a plugin problem; the rest (reference, credentials, network, registry)
/// concerns what the user gave us to reach it.
pub fn registry_failure(error: OciError) -> Failure {
    let class = match error {
        OciError::UnsupportedArtifact { .. } => Class::Plugin,
        _ => Class::Input,
    };
    Failure::new(class, error)
}
