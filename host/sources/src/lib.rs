//! Where plugins come from, besides ConfigMaps (which the controller reads
//! itself): OCI registries ([`oci`]) and files on the controller's
//! filesystem ([`file`](mod@file)); and the on-disk cache of compiled plugins
//! ([`cache`]) that lets a restarted controller skip compilation.
//!
//! Nothing here knows Kubernetes: the controller resolves Secrets into
//! credentials and hands over plain values.

pub mod cache;
pub mod file;
pub mod oci;
