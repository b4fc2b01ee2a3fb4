//! What `deploy/Dockerfile` assumes, checked without a container engine
//! (there is none here to build the image with): the binary needs no shared
//! library its distroless base lacks, the builder is the workspace's Rust,
//! and the image's user is the one the chart runs as.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared libraries `gcr.io/distroless/cc-debian12` has: glibc's,
/// libgcc's, libstdc++ and libgomp (Debian 12 package contents).
const DISTROLESS_CC: &[&str] = &[
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libgomp.so.1",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dockerfile() -> String {
    let path = repository().join("deploy/Dockerfile");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The image stages' base images, in order.
fn bases(dockerfile: &str) -> Vec<&str> {
    dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("FROM "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[test]
fn the_binary_needs_only_libraries_of_the_runtime_base() {
    assert_eq!(
        bases(&dockerfile()).last(),
        Some(&"gcr.io/distroless/cc-debian12:nonroot"),
        "the runtime base this test knows the libraries of"
    );
    let output = Command::new("readelf")
        .args(["--dynamic", "--wide"])
        .arg(env!("CARGO_BIN_EXE_wasm-issuer"))
        .output()
        .expect("readelf (binutils) reads the binary's dynamic section: apt-get install binutils");
    assert!(output.status.success(), "readelf: {output:?}");
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| line.split_once('[')?.1.split_once(']'))
        .map(|(library, _)| library)
        .collect();
    assert!(
        needed.contains(&"libc.so.6"),
        "dynamically linked: {needed:?}"
    );
    let missing: Vec<&&str> = needed
        .iter()
        .filter(|library| !DISTROLESS_CC.contains(library))
        .collect();
    assert!(
        missing.is_empty(),
        "the image's base lacks {missing:?} (the binary needs {needed:?})"
    );
}

#[test]
fn the_builder_is_the_workspace_rust_on_the_runtime_debian() {
    let manifest = std::fs::read_to_string(repository().join("Cargo.toml")).expect("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .map(|value| value.trim_matches('"'))
        .expect("the workspace's rust-version");
    let dockerfile = dockerfile();
    let bases = bases(&dockerfile);
    assert_eq!(
        bases.first(),
        Some(&format!("docker.io/library/rust:{rust_version}-slim-bookworm").as_str()),
        "the builder: Rust {rust_version} on Debian 12 (bookworm), whose glibc the runtime base has"
    );
}

#[test]
fn the_image_user_is_the_one_the_chart_runs_as() {
    let values = repository().join("deploy/charts/wasm-issuer/values.yaml");
    let values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&values).expect("values.yaml"))
            .expect("values.yaml is YAML");
    let pod = &values["podSecurityContext"];
    let chart_user = format!(
        "{}:{}",
        pod["runAsUser"].as_u64().expect("runAsUser"),
        pod["runAsGroup"].as_u64().expect("runAsGroup")
    );
    let dockerfile = dockerfile();
    let image_user = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("USER "))
        .next_back()
        .expect("the image sets its USER");
    assert_eq!(image_user.trim(), chart_user);
    assert_eq!(chart_user, "65532:65532", "distroless's nonroot user");
}
