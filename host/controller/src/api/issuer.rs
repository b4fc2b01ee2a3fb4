//! The two kinds: `WasmIssuer` (namespaced) and `WasmClusterIssuer`
//! (cluster-scoped), the same but for their scope.

use std::ops::Deref;

use kube::{CustomResource, Resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::IssuerSpec;
use super::status::IssuerStatus;

/// What the reconcilers need of either kind, so they can be written once.
pub trait IssuerResource: Resource<DynamicType = ()> {
    fn issuer_spec(&self) -> &IssuerSpec;

    fn issuer_status(&self) -> Option<&IssuerStatus>;

    /// Ready for its current spec: Ready=True computed from this very
    /// generation (see [`IssuerStatus::is_ready_for`]).
    fn is_ready(&self) -> bool {
        match (self.issuer_status(), self.meta().generation) {
            (Some(status), Some(generation)) => status.is_ready_for(generation),
            _ => false,
        }
    }
}

/// Declares one kind. kube's derive makes the root type from a spec type, one
/// per kind, so each kind gets a thin spec that is [`IssuerSpec`] on the wire
/// (`serde(transparent)`) and in Rust (`Deref`); the shared CRD settings are
/// written once, here. The thin spec's doc comment is the CRD's description
/// of `spec`, so it is written for users, without rustdoc links.
///
/// The strings are `tt` fragments so that they reach the derive's attribute
/// parser as plain literals.
macro_rules! issuer_kind {
    (
        $(#[doc = $doc:tt])*
        $spec:ident => $root:ident {
            kind: $kind:tt,
            shortname: $shortname:tt,
            doc: $crd_doc:tt $(,)?
            $(scope: $namespaced:ident)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[kube(
            group = "wasm-issuer.dev",
            version = "v1alpha1",
            kind = $kind,
            shortname = $shortname,
            category = "cert-manager",
            doc = $crd_doc,
            status = "IssuerStatus",
            derive = "PartialEq",
            printcolumn(
                name = "Ready",
                type_ = "string",
                json_path = r#".status.conditions[?(@.type=="Ready")].status"#
            ),
            printcolumn(
                name = "Reason",
                type_ = "string",
                json_path = r#".status.conditions[?(@.type=="Ready")].reason"#
            ),
            // Long; shown with `-o wide`, as cert-manager does for its issuers.
            printcolumn(
                name = "Message",
                type_ = "string",
                priority = 1,
                json_path = r#".status.conditions[?(@.type=="Ready")].message"#
            ),
            printcolumn(
                name = "Age",
                type_ = "date",
                json_path = ".metadata.creationTimestamp"
            )
            $(, $namespaced)?
        )]
        #[serde(transparent)]
        pub struct $spec(pub IssuerSpec);

        impl Deref for $spec {
            type Target = IssuerSpec;

            fn deref(&self) -> &IssuerSpec {
                &self.0
            }
        }

        impl From<IssuerSpec> for $spec {
            fn from(spec: IssuerSpec) -> Self {
                Self(spec)
            }
        }

        impl IssuerResource for $root {
            fn issuer_spec(&self) -> &IssuerSpec {
                &self.spec
            }

            fn issuer_status(&self) -> Option<&IssuerStatus> {
                self.status.as_ref()
            }
        }
    };
}

issuer_kind! {
    /// The desired state of a WasmIssuer: its signer plugin, the keys the
    /// plugin may use (Secrets of the issuer's namespace), how often it is checked.
    WasmIssuerSpec => WasmIssuer {
        kind: "WasmIssuer",
        shortname: "wissuer",
        doc: "Signs cert-manager CertificateRequests of its namespace with a WebAssembly plugin.",
        scope: namespaced
    }
}

issuer_kind! {
    /// The desired state of a WasmClusterIssuer: its signer plugin, the keys
    /// the plugin may use (Secrets of the cluster resource namespace), how
    /// often it is checked.
    WasmClusterIssuerSpec => WasmClusterIssuer {
        kind: "WasmClusterIssuer",
        shortname: "wcissuer",
        doc: "Signs cert-manager CertificateRequests of every namespace with a WebAssembly plugin.",
    }
}
