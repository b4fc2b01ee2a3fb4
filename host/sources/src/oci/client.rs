//! The `oci-client` client and references, set up the same way for every
//! operation.

use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::{Client, Reference};

use super::OciError;

/// A registry that accepts a connection but never answers must not hang a
/// reconcile (or the CLI) forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for one operation. `insecure` means plain HTTP: for a registry on
/// loopback or inside a test, never for one across a network.
pub(crate) fn client(reference: &str, insecure: bool) -> Result<Client, OciError> {
    install_crypto_provider();
    let config = ClientConfig {
        protocol: if insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        // An image index is refused with our own message (see `pull`):
        // picking "the current platform" of a multi-platform container
        // image makes no sense for a Wasm component.
        platform_resolver: None,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        user_agent: concat!("wasm-issuer/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    };
    // `Client::new` would log a warning and fall back to defaults on failure;
    // we want the failure.
    Client::try_from(config).map_err(|e| OciError::from_client(reference, e))
}

/// reqwest is built with `rustls-no-provider` (its default provider,
/// aws-lc-rs, is a C build the workspace does not otherwise need) and panics
/// when building a client if no process-wide rustls provider is installed.
/// Install ring, which kube already uses, unless the program installed one.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: any provider works.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// Parses `registry/repository[:tag][@digest]`. A reference without a
/// registry means Docker Hub, as everywhere else.
pub(crate) fn parse(reference: &str) -> Result<Reference, OciError> {
    Reference::from_str(reference.trim()).map_err(|e| OciError::InvalidReference {
        reference: reference.to_string(),
        reason: e.to_string(),
    })
}

/// The registry host (`host[:port]`) of a reference, as a
/// `.dockerconfigjson`'s `auths` keys name it: what to pass to
/// [`Credentials::from_docker_config_json`](super::Credentials::from_docker_config_json).
pub fn registry_host(reference: &str) -> Result<String, OciError> {
    Ok(parse(reference)?.registry().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_with_registry_tag_and_digest() {
        let reference = parse("127.0.0.1:5000/plugins/ca:v1").expect("reference");
        assert_eq!(reference.registry(), "127.0.0.1:5000");
        assert_eq!(reference.repository(), "plugins/ca");
        assert_eq!(reference.tag(), Some("v1"));

        let digest = format!("sha256:{}", "a".repeat(64));
        let reference = parse(&format!("ghcr.io/o/ca@{digest}")).expect("reference");
        assert_eq!(reference.digest(), Some(digest.as_str()));

        assert_eq!(registry_host("plugins/ca").expect("host"), "docker.io");
        for invalid in ["", "has space/x:v1", "r/x@sha256:short", "r/x:bad:tag"] {
            assert!(parse(invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn a_pinned_reference_drops_the_tag_and_keeps_the_port() {
        assert_eq!(
            super::super::pinned("127.0.0.1:5000/plugins/ca:v1", "sha256:12").expect("valid"),
            "127.0.0.1:5000/plugins/ca@sha256:12"
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            super::super::pinned(&format!("ghcr.io/acme/ca@{digest}"), "sha256:34").expect("valid"),
            "ghcr.io/acme/ca@sha256:34"
        );
    }
}
