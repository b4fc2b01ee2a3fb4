//! Naming an issuer of either kind, and finding the one a request refers to.

use std::fmt;

use crate::api::IssuerReference;

/// Our API group: an issuerRef must name it to be ours.
pub const GROUP: &str = "wasm-issuer.dev";
pub const NAMESPACED_KIND: &str = "WasmIssuer";
pub const CLUSTER_KIND: &str = "WasmClusterIssuer";

/// One WasmIssuer or WasmClusterIssuer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssuerKey {
    Namespaced { namespace: String, name: String },
    Cluster { name: String },
}

impl IssuerKey {
    /// The issuer that a CertificateRequest in `namespace` refers to, if it
    /// is one of ours. An empty group means cert-manager's own and is never
    /// ours; an empty kind means the namespaced kind, as cert-manager reads it.
    pub fn of_request(namespace: &str, issuer_ref: &IssuerReference) -> Option<Self> {
        if issuer_ref.group != GROUP {
            return None;
        }
        let name = issuer_ref.name.clone();
        match issuer_ref.kind.as_str() {
            "" | NAMESPACED_KIND => Some(Self::Namespaced {
                namespace: namespace.to_owned(),
                name,
            }),
            CLUSTER_KIND => Some(Self::Cluster { name }),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Namespaced { .. } => NAMESPACED_KIND,
            Self::Cluster { .. } => CLUSTER_KIND,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Namespaced { name, .. } | Self::Cluster { name } => name,
        }
    }

    /// The issuer's own namespace; None for a cluster issuer.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Namespaced { namespace, .. } => Some(namespace),
            Self::Cluster { .. } => None,
        }
    }
}

impl fmt::Display for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Namespaced { namespace, name } => {
                write!(f, "{NAMESPACED_KIND} {namespace}/{name}")
            }
            Self::Cluster { name } => write!(f, "{CLUSTER_KIND} {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CERT_MANAGER_GROUP;

    fn reference(group: &str, kind: &str) -> IssuerReference {
        IssuerReference {
            name: "ca".into(),
            kind: kind.into(),
            group: group.into(),
        }
    }

    #[test]
    fn our_group_and_kinds_are_ours() {
        assert_eq!(
            IssuerKey::of_request("team", &reference(GROUP, "WasmIssuer")),
            Some(IssuerKey::Namespaced {
                namespace: "team".into(),
                name: "ca".into()
            })
        );
        assert_eq!(
            IssuerKey::of_request("team", &reference(GROUP, "WasmClusterIssuer")),
            Some(IssuerKey::Cluster { name: "ca".into() })
        );
    }

    #[test]
    fn an_empty_kind_is_the_namespaced_kind() {
        assert_eq!(
            IssuerKey::of_request("team", &reference(GROUP, "")).map(|key| key.kind()),
            Some(NAMESPACED_KIND)
        );
    }

    #[test]
    fn other_groups_and_kinds_are_not_ours() {
        for (group, kind) in [
            ("", "WasmIssuer"),
            (CERT_MANAGER_GROUP, "WasmIssuer"),
            ("cert-manager.io", "Issuer"),
            ("example.com", "WasmIssuer"),
            (GROUP, "Issuer"),
            (GROUP, "wasmissuer"),
        ] {
            assert_eq!(
                IssuerKey::of_request("team", &reference(group, kind)),
                None,
                "{group}/{kind}"
            );
        }
    }
}
