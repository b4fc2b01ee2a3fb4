//! A real Kubernetes control plane for tests and the local demo: etcd,
//! kube-apiserver and cert-manager's controller, built from the Go module
//! proxy and run as local processes (no containers, no nodes).
//!
//! - [`ensure_binaries`] builds (or finds in the cache) the binaries.
//! - [`ControlPlane::start`] starts a private control plane
//!   ([`ControlPlane::start_with`] takes [`Options`], e.g. no auto-approval);
//!   [`shared`] gives the test binary's shared one,
//!   [`shared_without_auto_approval`] a shared one whose CertificateRequests
//!   the tests approve or deny themselves, and [`unique_namespace`] a
//!   namespace per test.
//! - [`local::up`] / [`local::down`] run a detached cluster for `cargo xtask cluster`.
//! - [`Registry::start`] starts a real OCI registry (CNCF distribution) on
//!   loopback, optionally with Basic auth; [`ensure_registry`] builds only it.
//! - [`ensure_helm`] builds helm, for the tests of the Helm chart.
//!
//! See docs/control-plane.md for how it works and what it costs.

mod build;
mod control_plane;
mod error;
pub mod local;
mod pki;
mod process;
mod registry;
mod shared;

pub use build::{Binaries, Versions, cache_dir, ensure_binaries, ensure_helm, ensure_registry};
pub use control_plane::{CLUSTER_RESOURCE_NAMESPACE, ControlPlane, KEEP_ENV, Options, yaml_files};
pub use error::Error;
pub use registry::{Registry, RegistryOptions};
pub use shared::{shared, shared_without_auto_approval, unique_namespace};
