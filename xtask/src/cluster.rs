//! `cargo xtask cluster up|down`: a local control plane that outlives the command.
//!
//! The logic lives in `wasm_issuer_testenv::local`; this only picks the state
//! directory and prints.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use wasm_issuer_testenv::{local, yaml_files};

use crate::workspace;

#[derive(Subcommand)]
pub enum Action {
    /// Build (or reuse) the binaries, start etcd, kube-apiserver and cert-manager,
    /// and print the kubeconfig's path as the last line once everything is ready.
    Up,
    /// Stop everything `up` started.
    Down,
}

pub fn run(action: Action) -> anyhow::Result<()> {
    let state_dir = state_dir();
    match action {
        Action::Up => {
            let kubeconfig =
                local::up(&state_dir, &crds()?).context("bringing the local cluster up")?;
            eprintln!(
                "cluster running; logs in {}; stop it with `cargo xtask cluster down`",
                state_dir.join("logs").display()
            );
            println!("{}", kubeconfig.display());
        }
        Action::Down => {
            if local::down(&state_dir).context("stopping the local cluster")? {
                eprintln!("cluster stopped");
            } else {
                eprintln!("no cluster was running");
            }
        }
    }
    Ok(())
}

/// Our CRDs, as `wasm-issuer crds` wrote them to `deploy/crds/`.
pub fn crds() -> anyhow::Result<Vec<PathBuf>> {
    Ok(yaml_files(&workspace::root().join("deploy").join("crds"))?)
}

/// `<workspace>/target/cluster`: per checkout, next to the build output, out of git.
pub fn state_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|workspace| workspace.join("target").join("cluster"))
        .unwrap_or_else(|| PathBuf::from("target/cluster"))
}
