//! Toolchains that build components in other languages, installed from
//! their package registries into a cache, pinned by manifests kept in the
//! repository, and reused while those manifests stay the same.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// One pinned toolchain: installed into `<cache>/toolchains/<name>-<version>`.
pub struct Toolchain<'a> {
    pub name: &'a str,
    pub version: String,
    /// The files that pin it (name in the install dir, contents).
    pub manifests: Vec<(&'a str, String)>,
}

/// Written last into an install dir: the manifests it was installed from.
/// Its modification time is when the toolchain was installed.
pub const STAMP: &str = ".installed-from";

impl Toolchain<'_> {
    /// The install dir, installing with `install` (which gets the dir, the
    /// manifests already written into it) unless a complete install from the
    /// same manifests is there.
    pub fn ensure(
        &self,
        install: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<PathBuf> {
        let root = cache_dir()?;
        let dir = root.join(format!("{}-{}", self.name, self.version));
        let stamp = self.stamp();
        if self.installed(&dir, &stamp) {
            return Ok(dir);
        }
        fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let _lock = lock(&root.join(format!("{}.lock", self.name)))?;
        // Another build may have installed it while we waited.
        if self.installed(&dir, &stamp) {
            return Ok(dir);
        }
        eprintln!(
            "installing {} {} into {}",
            self.name,
            self.version,
            dir.display()
        );
        if dir.exists() {
            // A broken or outdated install: tools such as venvs cannot be
            // moved once made, so they are made in place, from scratch.
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, contents) in &self.manifests {
            fs::write(dir.join(name), contents)
                .with_context(|| format!("writing {name} into {}", dir.display()))?;
        }
        install(&dir).with_context(|| format!("installing {} {}", self.name, self.version))?;
        fs::write(dir.join(STAMP), stamp)
            .with_context(|| format!("finishing {}", dir.display()))?;
        Ok(dir)
    }

    fn stamp(&self) -> String {
        self.manifests
            .iter()
            .map(|(name, contents)| format!("== {name}\n{contents}"))
            .collect()
    }

    fn installed(&self, dir: &Path, stamp: &str) -> bool {
        fs::read_to_string(dir.join(STAMP)).is_ok_and(|found| found == stamp)
    }
}

/// `$XDG_CACHE_HOME/wasm-issuer/toolchains`, or `~/.cache/...` without it.
fn cache_dir() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::home_dir()
            .context("no home directory and no $XDG_CACHE_HOME to install toolchains into")?
            .join(".cache"),
    };
    Ok(base.join("wasm-issuer").join("toolchains"))
}

/// Holds an install lock until dropped, so that two builds never install
/// into the same dir at once.
fn lock(path: &Path) -> anyhow::Result<File> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!(
            "another build is installing a toolchain; waiting for {}",
            path.display()
        );
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
    }
    Ok(file)
}

/// Reads a manifest from the repository, naming it when it cannot.
pub fn read_manifest(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Fails with `hint` unless `program --version` runs.
pub fn require(program: &str, hint: &str) -> anyhow::Result<()> {
    let runs = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !runs {
        bail!("`{program}` is not installed or does not run: {hint}");
    }
    Ok(())
}
