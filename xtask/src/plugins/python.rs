//! Python plugins (`plugins/python/<name>/`, entry module `app.py`), built
//! with componentize-py from PyPI, pinned in `plugins/python/requirements.txt`
//! and installed into a venv in the cache.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::languages;
use super::toolchain::{self, Toolchain};
use crate::workspace;

const TOOL: &str = "componentize-py";

/// Builds every Python plugin into `out_dir`.
pub fn build_all(out_dir: &Path) -> anyhow::Result<()> {
    let root = workspace::root();
    let python_dir = root.join("plugins/python");
    let plugins = languages::discover(&python_dir, "python", out_dir)?;
    let venv = install()?;
    let sdk = python_dir.join("sdk");
    let wit = root.join("wit");
    let installed = venv.join(toolchain::STAMP);
    for plugin in plugins {
        if plugin.up_to_date(&[&sdk, &wit, &installed])? {
            eprintln!("up to date: {}", plugin.output.display());
            continue;
        }
        workspace::run(
            Command::new(venv.join("bin").join(TOOL))
                .arg("--wit-path")
                .arg(&wit)
                .args(["--world", &plugin.world, "componentize", "app"])
                .arg("--python-path")
                .arg(&plugin.dir)
                .arg("--python-path")
                .arg(&sdk)
                .arg("--output")
                .arg(&plugin.output),
        )?;
        eprintln!("built {}", plugin.output.display());
    }
    Ok(())
}

/// The venv with componentize-py as requirements.txt pins it.
fn install() -> anyhow::Result<std::path::PathBuf> {
    toolchain::require(
        "python3",
        "the Python plugins are built with componentize-py from PyPI: \
         install Python 3.9 or newer with its venv module (apt-get install python3 python3-venv)",
    )?;
    let requirements_path = workspace::root().join("plugins/python/requirements.txt");
    let requirements = toolchain::read_manifest(&requirements_path)?;
    let version = pinned_version(&requirements).with_context(|| {
        format!(
            "{} pins no `{TOOL}==<version>`",
            requirements_path.display()
        )
    })?;
    let toolchain = Toolchain {
        name: TOOL,
        version,
        manifests: vec![("requirements.txt", requirements)],
    };
    toolchain.ensure(|dir| {
        workspace::run(Command::new("python3").args(["-m", "venv"]).arg(dir)).context(
            "creating a venv (on Debian the venv module is `apt-get install python3-venv`)",
        )?;
        workspace::run(
            Command::new(dir.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--requirement",
                ])
                .arg(dir.join("requirements.txt")),
        )
    })
}

/// The version of `componentize-py==<version>` in requirements.txt.
fn pinned_version(requirements: &str) -> Option<String> {
    requirements.lines().find_map(|line| {
        let (name, version) = line.trim().split_once("==")?;
        (name.trim() == TOOL).then(|| version.trim().to_owned())
    })
}
