//! `wasm-issuer controller` as a process on a real control plane: it takes
//! the Lease, says so on `/readyz`, and on SIGTERM gives the lease up and
//! exits 0.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wasm_issuer_test_support::{free_address, http_get};
use wasm_issuer_testenv::{CLUSTER_RESOURCE_NAMESPACE, shared, unique_namespace, yaml_files};

const TIMEOUT: Duration = Duration::from_secs(60);

fn wait_for_exit(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the controller's status") {
            return status;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "still running {TIMEOUT:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn sigterm_gives_the_lease_up_and_exits_zero() {
    let control_plane = shared().await.expect("start the control plane");
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds");
    control_plane
        .install_crds(&yaml_files(&crds).expect("deploy/crds"))
        .await
        .expect("install our CRDs");
    let client = control_plane.client().await.expect("admin client");
    let namespace = unique_namespace(&client, "shutdown")
        .await
        .expect("a namespace");
    let health = free_address();
    let identity = format!("{namespace}-replica");
    let mut controller = Command::new(env!("CARGO_BIN_EXE_wasm-issuer"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(control_plane.kubeconfig())
        .args(["--cluster-resource-namespace", CLUSTER_RESOURCE_NAMESPACE])
        .args(["--leader-election-namespace", &namespace])
        .args(["--metrics-address", "off"])
        .args(["--health-address", &health.to_string()])
        .arg("--no-compile-cache")
        .env("POD_NAME", &identity)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start wasm-issuer controller");

    let start = Instant::now();
    let leading = "ok: leading, caches synced\n";
    while http_get(health, "/readyz").map(|(_, body)| body).as_deref() != Some(leading) {
        if let Some(status) = controller.try_wait().expect("the controller's status") {
            panic!("the controller exited before leading: {status}");
        }
        assert!(start.elapsed() < TIMEOUT, "not leading after {TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leases = Api::<Lease>::namespaced(client, &namespace);
    let holder = |lease: Lease| lease.spec.and_then(|spec| spec.holder_identity);
    let lease = leases.get("wasm-issuer").await.expect("the Lease");
    assert_eq!(holder(lease).as_deref(), Some(identity.as_str()));

    let pid = i32::try_from(controller.id()).expect("a pid");
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("send SIGTERM");
    let status = wait_for_exit(&mut controller);
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let lease = leases.get("wasm-issuer").await.expect("the Lease");
    assert_eq!(holder(lease), None, "the lease was given up");
}
