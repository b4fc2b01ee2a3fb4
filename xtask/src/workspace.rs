//! Where things are, and running commands with clear failures.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory, honouring CARGO_TARGET_DIR.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Where `cargo xtask plugins` puts reference plugins: a stable path users rely on.
pub fn plugin_dir() -> PathBuf {
    target_dir().join("plugins")
}

/// Where test fixture plugins go.
pub fn test_plugin_dir() -> PathBuf {
    target_dir().join("test-plugins")
}

/// `cargo` as invoked us (so the toolchain and flags match).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs `command`, echoing it; fails naming the command if it fails.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("cannot start `{}`", describe(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(command));
    }
    Ok(())
}

/// Runs `command` and returns its stdout; fails with its stderr.
pub fn output(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("cannot start `{}`", describe(command)))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout)
        .with_context(|| format!("`{}` printed non-UTF-8", describe(command)))
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fails with `hint` when `program` is not on PATH.
pub fn require(program: &str, hint: &str) -> anyhow::Result<()> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("`{program}` is not installed: {hint}");
    }
    Ok(())
}

/// Fails naming the shortfall when the file system holding `dir` has less
/// than `needed` bytes free, counting what `dir` already holds as usable:
/// a build that runs out of disk fails late and obscurely (a linker's bus
/// error), so we fail first and say so.
pub fn require_free_disk(dir: &Path, needed: u64, what: &str) -> anyhow::Result<()> {
    let existing = dir
        .ancestors()
        .find(|ancestor| ancestor.exists())
        .context("no part of the target directory's path exists")?;
    let stats = nix::sys::statvfs::statvfs(existing)
        .with_context(|| format!("cannot read free disk space of {}", existing.display()))?;
    let free = stats.blocks_available() * stats.fragment_size();
    let usable = free + size_on_disk(dir);
    if usable < needed {
        bail!(
            "{what} needs {} GiB of disk under {}; only {} GiB is free there (counting what it already holds)",
            gib(needed),
            dir.display(),
            gib(usable)
        );
    }
    Ok(())
}

/// Bytes the files under `path` take on disk; 0 when it does not exist.
fn size_on_disk(path: &Path) -> u64 {
    let Ok(metadata) = path.symlink_metadata() else {
        return 0;
    };
    if !metadata.is_dir() {
        return std::os::unix::fs::MetadataExt::blocks(&metadata) * 512;
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| size_on_disk(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_disk_counts_what_the_directory_already_holds() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("target");
        std::fs::create_dir_all(target.join("debug"))?;
        std::fs::write(target.join("debug/artifact"), vec![1u8; 1 << 20])?;
        assert!(size_on_disk(&target) >= 1 << 20);
        assert_eq!(size_on_disk(&dir.path().join("absent")), 0);

        // A target directory that does not exist yet is judged by its parent.
        require_free_disk(&dir.path().join("absent/target"), 1, "a tiny build")?;
        let refusal = require_free_disk(&target, u64::MAX, "an enormous build")
            .expect_err("no disk holds u64::MAX bytes");
        let message = refusal.to_string();
        assert!(
            message.starts_with("an enormous build needs 17179869184.0 GiB of disk under ")
                && message.contains(&target.display().to_string()),
            "{message}"
        );
        Ok(())
    }
}
