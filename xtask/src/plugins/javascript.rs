//! JavaScript plugins (`plugins/javascript/<name>/`, entry `plugin.js`),
//! built with componentize-js from npm, pinned by
//! `plugins/javascript/package.json` and its package-lock.json and installed
//! with `npm ci` into the cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::languages;
use super::toolchain::{self, Toolchain};
use crate::workspace;

const TOOL: &str = "componentize-js";
const PACKAGE: &str = "@bytecodealliance/componentize-js";

/// WASI features componentize-js adds unless told not to. Our hosts link no
/// `wasi:http` (and a plugin needs none of these): a component importing
/// them would not link.
const DISABLED_FEATURES: [&str; 5] = ["stdio", "random", "clocks", "http", "fetch-event"];

/// Builds every JavaScript plugin into `out_dir`.
pub fn build_all(out_dir: &Path) -> anyhow::Result<()> {
    let root = workspace::root();
    let javascript_dir = root.join("plugins/javascript");
    let plugins = languages::discover(&javascript_dir, "javascript", out_dir)?;
    let prefix = install(&javascript_dir)?;
    let sdk = javascript_dir.join("sdk");
    let wit = root.join("wit");
    let installed = prefix.join(toolchain::STAMP);
    for plugin in plugins {
        if plugin.up_to_date(&[&sdk, &wit, &installed])? {
            eprintln!("up to date: {}", plugin.output.display());
            continue;
        }
        workspace::run(
            Command::new(prefix.join("node_modules/.bin").join(TOOL))
                .arg(plugin.dir.join("plugin.js"))
                .arg("--wit")
                .arg(&wit)
                .args(["--world-name", &plugin.world, "--disable"])
                .args(DISABLED_FEATURES)
                .arg("--out")
                .arg(&plugin.output),
        )?;
        eprintln!("built {}", plugin.output.display());
    }
    Ok(())
}

/// The npm prefix with componentize-js as the package-lock.json pins it.
fn install(javascript_dir: &Path) -> anyhow::Result<PathBuf> {
    let hint = "the JavaScript plugins are built with componentize-js from npm: \
                install Node.js 18 or newer and npm (apt-get install nodejs npm)";
    toolchain::require("node", hint)?;
    toolchain::require("npm", hint)?;
    let manifest_path = javascript_dir.join("package.json");
    let manifest = toolchain::read_manifest(&manifest_path)?;
    let lock = toolchain::read_manifest(&javascript_dir.join("package-lock.json"))?;
    let version = pinned_version(&manifest).with_context(|| {
        format!(
            "{} pins no exact `{PACKAGE}` version",
            manifest_path.display()
        )
    })?;
    let toolchain = Toolchain {
        name: TOOL,
        version,
        manifests: vec![("package.json", manifest), ("package-lock.json", lock)],
    };
    toolchain.ensure(|dir| {
        workspace::run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(dir),
        )
    })
}

/// The exact version package.json gives the componentize-js dependency.
fn pinned_version(manifest: &str) -> Option<String> {
    let manifest: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let version = manifest.get("dependencies")?.get(PACKAGE)?.as_str()?;
    version
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.')
        .then(|| version.to_owned())
}
