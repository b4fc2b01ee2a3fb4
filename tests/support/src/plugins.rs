//! Where `cargo xtask plugins` put the components.

use std::path::{Path, PathBuf};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn built(dir: &str, name: &str) -> PathBuf {
    let path = target_dir().join(dir).join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "plugin {name} is not built at {}: run `cargo xtask plugins` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// A reference plugin, `target/plugins/<name>.wasm`.
pub fn plugin(name: &str) -> PathBuf {
    built("plugins", name)
}

/// A test fixture plugin, `target/test-plugins/<name>.wasm`.
pub fn test_plugin(name: &str) -> PathBuf {
    built("test-plugins", name)
}
