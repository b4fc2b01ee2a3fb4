//! `cargo xtask plugins`: build every plugin component.
//!
//! Reference plugins (`plugins/<name>`) land in `target/plugins/<name>.wasm`,
//! test fixtures (`tests/plugins/<name>`) in `target/test-plugins/<name>.wasm`,
//! plugins in other languages (`plugins/<language>/<name>`) in
//! `target/plugins/<name>-<language>.wasm`.

mod javascript;
mod languages;
mod python;
mod toolchain;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::workspace;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

/// A plugin crate: its folder name (the output name) and its package name.
struct PluginCrate {
    name: String,
    package: String,
    out_dir: PathBuf,
}

/// Builds all plugins; returns the directory of the reference plugins.
pub fn build_all() -> anyhow::Result<PathBuf> {
    workspace::run(std::process::Command::new("rustup").args(["target", "add", TARGET]))?;
    let root = workspace::root();
    let mut crates = discover(&root.join("plugins"), &workspace::plugin_dir())?;
    crates.extend(discover(
        &root.join("tests/plugins"),
        &workspace::test_plugin_dir(),
    )?);

    let mut cargo = workspace::cargo();
    cargo.args(["build", "--profile", PROFILE, "--target", TARGET]);
    for plugin in &crates {
        cargo.args(["--package", &plugin.package]);
    }
    workspace::run(&mut cargo)?;

    let built = workspace::target_dir().join(TARGET).join(PROFILE);
    for plugin in &crates {
        let artifact = built.join(format!("{}.wasm", plugin.package.replace('-', "_")));
        fs::create_dir_all(&plugin.out_dir)?;
        let destination = plugin.out_dir.join(format!("{}.wasm", plugin.name));
        fs::copy(&artifact, &destination).with_context(|| {
            format!(
                "copying {} to {}",
                artifact.display(),
                destination.display()
            )
        })?;
        eprintln!("built {}", destination.display());
    }
    python::build_all(&workspace::plugin_dir())?;
    javascript::build_all(&workspace::plugin_dir())?;
    Ok(workspace::plugin_dir())
}

/// Every crate folder under `dir`, with its package name from Cargo.toml.
fn discover(dir: &Path, out_dir: &Path) -> anyhow::Result<Vec<PluginCrate>> {
    let mut crates = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("{} has no UTF-8 name", path.display()))?
            .to_owned();
        crates.push(PluginCrate {
            package: package_name(&manifest)?,
            name,
            out_dir: out_dir.to_path_buf(),
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// The `name = "..."` of a manifest's [package] table.
fn package_name(manifest: &Path) -> anyhow::Result<String> {
    let text = fs::read_to_string(manifest)?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("parsing {}", manifest.display()))?;
    table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no package name", manifest.display()))
}
