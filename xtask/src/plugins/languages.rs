//! Plugins written in languages other than Rust: each is a folder
//! `plugins/<language>/<name>/` with a `plugin.toml` naming its world, built
//! by its language's toolchain into `target/plugins/<name>-<language>.wasm`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

/// One plugin in another language.
pub struct Plugin {
    /// Its folder.
    pub dir: PathBuf,
    /// The WIT world it implements, e.g. `policy-plugin`.
    pub world: String,
    /// Where it goes: `<out_dir>/<name>-<language>.wasm`.
    pub output: PathBuf,
}

impl Plugin {
    /// Whether `output` is newer than everything it is built from (the
    /// plugin, the folders it shares code from, the WIT, the toolchain):
    /// a component build takes tens of seconds, and `cargo xtask test` and
    /// `demo` build the plugins every time.
    pub fn up_to_date(&self, inputs: &[&Path]) -> anyhow::Result<bool> {
        let Ok(built) = fs::metadata(&self.output).and_then(|meta| meta.modified()) else {
            return Ok(false);
        };
        for input in std::iter::once(self.dir.as_path()).chain(inputs.iter().copied()) {
            if newest(input)? > built {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The plugins under `plugins/<language>/`: the folders with a plugin.toml.
pub fn discover(
    language_dir: &Path,
    language: &str,
    out_dir: &Path,
) -> anyhow::Result<Vec<Plugin>> {
    let mut plugins = Vec::new();
    for entry in
        fs::read_dir(language_dir).with_context(|| format!("listing {}", language_dir.display()))?
    {
        let dir = entry?.path();
        let manifest = dir.join("plugin.toml");
        if !manifest.is_file() {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("{} has no UTF-8 name", dir.display()))?;
        plugins.push(Plugin {
            world: world(&manifest)?,
            output: out_dir.join(format!("{name}-{language}.wasm")),
            dir,
        });
    }
    plugins.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(plugins)
}

/// The `world = "..."` of a plugin.toml.
fn world(manifest: &Path) -> anyhow::Result<String> {
    let table: toml::Table = fs::read_to_string(manifest)?
        .parse()
        .with_context(|| format!("parsing {}", manifest.display()))?;
    table
        .get("world")
        .and_then(|world| world.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} names no `world`", manifest.display()))
}

/// The newest modification time of a file, or of any file under a folder.
fn newest(path: &Path) -> anyhow::Result<SystemTime> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mut newest = meta.modified()?;
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            newest = newest.max(self::newest(&entry?.path())?);
        }
    }
    Ok(newest)
}
