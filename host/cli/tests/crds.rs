//! `deploy/crds/` and the Helm chart's copy are what `wasm-issuer crds`
//! prints: the CRDs users install must be the ones the types generate.

use std::path::Path;
use std::process::Command;

/// Every committed copy of the CRDs: the manifests, and the chart's (which
/// its crds.yaml template renders; Helm reads only files inside the chart).
const CRDS_FILES: [&str; 2] = [
    "deploy/crds/wasm-issuer.dev_crds.yaml",
    "deploy/charts/wasm-issuer/files/crds/wasm-issuer.dev_crds.yaml",
];

#[test]
fn deploy_crds_match_the_generated_ones() {
    let output = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .arg("crds")
        .output()
        .expect("run wasm-issuer crds");
    assert!(
        output.status.success(),
        "wasm-issuer crds failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).expect("UTF-8 YAML");

    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for file in CRDS_FILES {
        let committed = std::fs::read_to_string(workspace.join(file))
            .unwrap_or_else(|error| panic!("read {file}: {error}"));
        assert!(
            committed == generated,
            "{file} is out of date with the API types; regenerate it with\n\n    \
             cargo run -p wasm-issuer -- crds > {file}\n"
        );
    }
}
