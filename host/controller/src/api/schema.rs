//! Hand-written schemas for fields whose Rust type says too little (or
//! nothing) to schemars.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Any JSON object, kept as is by the apiserver: without
/// `x-kubernetes-preserve-unknown-fields` a structural schema prunes every
/// property it does not declare, and the plugin's config has its own schema.
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// An RFC 3339 timestamp (`metav1.Time`). Spelled out here so that
/// k8s-openapi's `schemars` feature, which makes every build of its API
/// types much slower, stays off.
pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "format": "date-time",
    })
}
