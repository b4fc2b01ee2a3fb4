//! Signer names of our issuers, in cert-manager's form:
//! `wasmclusterissuers.wasm-issuer.dev/<name>` for a WasmClusterIssuer and
//! `wasmissuers.wasm-issuer.dev/<namespace>.<name>` for a WasmIssuer.

use crate::issuer_key::IssuerKey;

pub const CLUSTER_SIGNERS: &str = "wasmclusterissuers.wasm-issuer.dev";
pub const NAMESPACED_SIGNERS: &str = "wasmissuers.wasm-issuer.dev";

/// The issuer `signer_name` names, if it is one of ours.
///
/// A namespace is a DNS label and has no dot, so the namespaced form splits
/// at the first one; the issuer's name may have dots (cert-manager's parser
/// refuses those, needlessly).
pub fn issuer_of(signer_name: &str) -> Option<IssuerKey> {
    let (signers, rest) = signer_name.split_once('/')?;
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    match signers {
        CLUSTER_SIGNERS => Some(IssuerKey::Cluster {
            name: rest.to_owned(),
        }),
        NAMESPACED_SIGNERS => {
            let (namespace, name) = rest.split_once('.')?;
            (!namespace.is_empty() && !name.is_empty()).then(|| IssuerKey::Namespaced {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_signer_names_name_a_cluster_issuer() {
        assert_eq!(
            issuer_of("wasmclusterissuers.wasm-issuer.dev/corp-ca"),
            Some(IssuerKey::Cluster {
                name: "corp-ca".into()
            })
        );
        assert_eq!(
            issuer_of("wasmclusterissuers.wasm-issuer.dev/corp.ca"),
            Some(IssuerKey::Cluster {
                name: "corp.ca".into()
            })
        );
    }

    #[test]
    fn namespaced_signer_names_split_at_the_first_dot() {
        assert_eq!(
            issuer_of("wasmissuers.wasm-issuer.dev/team.ca.v2"),
            Some(IssuerKey::Namespaced {
                namespace: "team".into(),
                name: "ca.v2".into()
            })
        );
    }

    #[test]
    fn other_signer_names_are_not_ours() {
        for signer_name in [
            "kubernetes.io/kube-apiserver-client",
            "issuers.cert-manager.io/team.ca",
            "clusterissuers.cert-manager.io/ca",
            "wasmissuers.wasm-issuer.dev/ca",
            "wasmissuers.wasm-issuer.dev/.ca",
            "wasmissuers.wasm-issuer.dev/team.",
            "wasmclusterissuers.wasm-issuer.dev/",
            "wasmclusterissuers.wasm-issuer.dev/a/b",
            "wasmclusterissuers.wasm-issuer.dev",
            "WasmClusterIssuers.wasm-issuer.dev/ca",
        ] {
            assert_eq!(issuer_of(signer_name), None, "{signer_name}");
        }
    }
}
