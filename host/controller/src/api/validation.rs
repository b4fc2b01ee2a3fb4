//! From the spec's strings to the runtime's types, with errors that name the
//! field: they become the message of the issuer's Failed condition.

use std::time::Duration;

use wasm_issuer_runtime::{Digest, InvalidDigest, InvalidQuantity, Limits};

use super::spec::{
    ConfigMapPluginSource, FilePluginSource, IssuerSpec, OciPluginSource, PluginLimits, PluginSpec,
};

const SIGNER_FIELD: &str = "spec.plugin";
const CHECK_INTERVAL_FIELD: &str = "spec.checkInterval";

/// A spec the controller cannot serve with; the message names the field
/// (`spec.plugin.limits.memory`, `spec.policies[domains].plugin.digest`).
///
/// The causes are part of the message rather than `source()`s: the message is
/// shown alone, in a condition, where a chain would be lost.
#[derive(Debug, thiserror::Error)]
pub enum InvalidSpec {
    /// No plugin source is set (the CRD's validation rule normally refuses this).
    #[error("{plugin}: no plugin source is set; set one of configMap, oci or file")]
    NoPluginSource { plugin: String },
    /// More than one source (the CRD's validation rule normally refuses this).
    #[error(
        "{plugin}: more than one plugin source is set; set exactly one of configMap, oci or file"
    )]
    ManyPluginSources { plugin: String },
    #[error("{field}: {cause}")]
    Digest { field: String, cause: InvalidDigest },
    #[error("{field}: {path:?} is not an absolute path")]
    RelativePath { field: String, path: String },
    #[error("{field}: {cause}")]
    Memory {
        field: String,
        cause: InvalidQuantity,
    },
    #[error("{field}: {value:?} is not a duration such as 2s, 10m or 1h30m: {cause}")]
    Duration {
        field: String,
        value: String,
        cause: humantime::DurationError,
    },
    #[error("{field}: must be greater than zero")]
    Zero { field: String },
    /// Two policies of one name (the CRD's list type normally refuses this).
    #[error("spec.policies: two policies are named {name:?}")]
    DuplicatePolicy { name: String },
}

/// Where the plugin's bytes come from: exactly one of the spec's sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginSource<'a> {
    ConfigMap(&'a ConfigMapPluginSource),
    Oci {
        source: &'a OciPluginSource,
        poll_interval: Duration,
    },
    File(&'a FilePluginSource),
}

/// A [`PluginSpec`] whose values all parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidPlugin<'a> {
    pub source: PluginSource<'a>,
    /// The content the plugin must have, if pinned.
    pub digest: Option<Digest>,
    pub limits: Limits,
    /// The plugin's configuration, as it is handed to the plugin.
    pub config: &'a serde_json::Map<String, serde_json::Value>,
}

impl ValidPlugin<'_> {
    /// The configuration as the JSON text the plugin reads.
    pub fn config_json(&self) -> String {
        serde_json::Value::Object(self.config.clone()).to_string()
    }
}

/// A policy whose plugin spec parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidPolicy<'a> {
    pub name: &'a str,
    pub plugin: ValidPlugin<'a>,
}

/// An [`IssuerSpec`] whose values all parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSpec<'a> {
    pub signer: ValidPlugin<'a>,
    /// In the order they are asked.
    pub policies: Vec<ValidPolicy<'a>>,
    pub check_interval: Duration,
}

impl ValidSpec<'_> {
    /// Every plugin of the issuer: the signer, then the policies.
    pub fn plugins(&self) -> impl Iterator<Item = &ValidPlugin<'_>> {
        std::iter::once(&self.signer).chain(self.policies.iter().map(|policy| &policy.plugin))
    }
}

impl IssuerSpec {
    /// Parses every value of the spec; the first bad one is the error.
    pub fn validate(&self) -> Result<ValidSpec<'_>, InvalidSpec> {
        let mut policies: Vec<ValidPolicy<'_>> = Vec::with_capacity(self.policies.len());
        for policy in &self.policies {
            if policies.iter().any(|valid| valid.name == policy.name) {
                return Err(InvalidSpec::DuplicatePolicy {
                    name: policy.name.clone(),
                });
            }
            let field = format!("spec.policies[{}].plugin", policy.name);
            policies.push(ValidPolicy {
                name: &policy.name,
                plugin: policy.plugin.validate(&field)?,
            });
        }
        Ok(ValidSpec {
            signer: self.plugin.validate(SIGNER_FIELD)?,
            policies,
            check_interval: parse_duration(CHECK_INTERVAL_FIELD, &self.check_interval)?,
        })
    }
}

impl PluginSpec {
    /// Parses the plugin's values; `field` is where it is in the spec.
    pub fn validate(&self, field: &str) -> Result<ValidPlugin<'_>, InvalidSpec> {
        Ok(ValidPlugin {
            source: self.source(field)?,
            digest: self
                .digest
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|cause| InvalidSpec::Digest {
                    field: format!("{field}.digest"),
                    cause,
                })?,
            limits: self.limits.to_runtime(&format!("{field}.limits"))?,
            config: &self.config,
        })
    }

    /// The one plugin source that is set.
    fn source(&self, field: &str) -> Result<PluginSource<'_>, InvalidSpec> {
        let mut sources = Vec::new();
        if let Some(source) = &self.config_map {
            sources.push(PluginSource::ConfigMap(source));
        }
        if let Some(source) = &self.oci {
            sources.push(PluginSource::Oci {
                source,
                poll_interval: parse_duration(
                    &format!("{field}.oci.pollInterval"),
                    &source.poll_interval,
                )?,
            });
        }
        if let Some(source) = &self.file {
            if !std::path::Path::new(&source.path).is_absolute() {
                return Err(InvalidSpec::RelativePath {
                    field: format!("{field}.file.path"),
                    path: source.path.clone(),
                });
            }
            sources.push(PluginSource::File(source));
        }
        let plugin = || field.to_owned();
        match sources.as_slice() {
            [] => Err(InvalidSpec::NoPluginSource { plugin: plugin() }),
            [source] => Ok(*source),
            _ => Err(InvalidSpec::ManyPluginSources { plugin: plugin() }),
        }
    }
}

impl PluginLimits {
    /// The runtime's limits; what users cannot set keeps the runtime's
    /// default. `field` is where the limits are in the spec.
    pub fn to_runtime(&self, field: &str) -> Result<Limits, InvalidSpec> {
        let memory_field = format!("{field}.memory");
        let memory_bytes =
            Limits::parse_memory(&self.memory).map_err(|cause| InvalidSpec::Memory {
                field: memory_field.clone(),
                cause,
            })?;
        if memory_bytes == 0 {
            return Err(InvalidSpec::Zero {
                field: memory_field,
            });
        }
        Ok(Limits {
            memory_bytes,
            timeout: parse_duration(&format!("{field}.timeout"), &self.timeout)?,
            ..Limits::default()
        })
    }
}

/// A positive Go-style duration (`2s`, `10m`, `1h30m`, `500ms`).
fn parse_duration(field: &str, value: &str) -> Result<Duration, InvalidSpec> {
    let duration = humantime::parse_duration(value).map_err(|cause| InvalidSpec::Duration {
        field: field.to_owned(),
        value: value.to_owned(),
        cause,
    })?;
    if duration.is_zero() {
        return Err(InvalidSpec::Zero {
            field: field.to_owned(),
        });
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A spec as a user writes it, on top of the minimal one.
    fn spec(overrides: serde_json::Value) -> IssuerSpec {
        let mut spec =
            json!({"plugin": {"configMap": {"name": "ca-plugin", "key": "plugin.wasm"}}});
        merge(&mut spec, overrides);
        serde_json::from_value(spec).expect("a well-formed spec")
    }

    fn merge(base: &mut serde_json::Value, overrides: serde_json::Value) {
        match (base, overrides) {
            (serde_json::Value::Object(base), serde_json::Value::Object(overrides)) => {
                for (key, value) in overrides {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
            (base, overrides) => *base = overrides,
        }
    }

    /// The limits and check interval of a valid spec with `overrides`.
    fn parsed(overrides: serde_json::Value) -> (Limits, Duration) {
        let spec = spec(overrides);
        let valid = spec.validate().expect("valid");
        (valid.signer.limits, valid.check_interval)
    }

    #[test]
    fn defaults_are_the_runtimes() {
        assert_eq!(
            parsed(json!({})),
            (Limits::default(), Duration::from_secs(600))
        );
    }

    #[test]
    fn reads_the_configmap_source() {
        let spec = spec(json!({}));
        let valid = spec.validate().expect("valid");
        let PluginSource::ConfigMap(source) = valid.signer.source else {
            panic!("not the ConfigMap source: {:?}", valid.signer.source);
        };
        assert_eq!(
            (source.name.as_str(), source.key.as_str()),
            ("ca-plugin", "plugin.wasm")
        );
    }

    #[test]
    fn parses_go_style_values() {
        let (limits, check_interval) = parsed(json!({
            "plugin": {"limits": {"memory": "1Gi", "timeout": "500ms"}},
            "checkInterval": "1h30m",
        }));
        assert_eq!(limits.memory_bytes, 1 << 30);
        assert_eq!(limits.timeout, Duration::from_millis(500));
        assert_eq!(check_interval, Duration::from_secs(90 * 60));
    }

    #[test]
    fn a_partial_limits_keeps_the_other_default() {
        let (limits, _) = parsed(json!({"plugin": {"limits": {"timeout": "5s"}}}));
        assert_eq!(limits.memory_bytes, Limits::default().memory_bytes);
        assert_eq!(limits.timeout, Duration::from_secs(5));
    }

    /// The message of the error a spec with `overrides` gets.
    fn error(overrides: serde_json::Value) -> String {
        spec(overrides).validate().expect_err("invalid").to_string()
    }

    #[test]
    fn errors_name_the_field_and_the_value() {
        assert_eq!(
            error(json!({"plugin": {"limits": {"memory": "64MB"}}})),
            "spec.plugin.limits.memory: \"64MB\" is not a memory quantity such as 64Mi, 1Gi or 500M"
        );
        let timeout = error(json!({"plugin": {"limits": {"timeout": "soon"}}}));
        assert!(
            timeout.starts_with("spec.plugin.limits.timeout: \"soon\" is not a duration"),
            "{timeout}"
        );
        let interval = error(json!({"checkInterval": "10"}));
        assert!(
            interval.starts_with("spec.checkInterval: \"10\" is not a duration"),
            "{interval}"
        );
    }

    #[test]
    fn zero_is_refused() {
        assert_eq!(
            error(json!({"plugin": {"limits": {"memory": "0"}}})),
            "spec.plugin.limits.memory: must be greater than zero"
        );
        assert_eq!(
            error(json!({"plugin": {"limits": {"timeout": "0s"}}})),
            "spec.plugin.limits.timeout: must be greater than zero"
        );
        assert_eq!(
            error(json!({"checkInterval": "0m"})),
            "spec.checkInterval: must be greater than zero"
        );
    }

    #[test]
    fn a_spec_without_a_source_is_invalid() {
        let mut spec = spec(json!({}));
        spec.plugin.config_map = None;
        assert!(matches!(
            spec.validate(),
            Err(InvalidSpec::NoPluginSource { .. })
        ));
    }

    #[test]
    fn reads_the_oci_source_and_its_poll_interval() {
        let mut spec = spec(json!({}));
        spec.plugin.config_map = None;
        spec.plugin.oci = Some(
            serde_json::from_value(json!({"reference": "registry.example/ca:v1"})).expect("valid"),
        );
        let valid = spec.validate().expect("valid");
        let PluginSource::Oci {
            source,
            poll_interval,
        } = valid.signer.source
        else {
            panic!("not the OCI source");
        };
        assert_eq!(source.reference, "registry.example/ca:v1");
        assert_eq!(poll_interval, Duration::from_secs(300));
    }

    #[test]
    fn a_file_source_must_be_absolute_and_alone() {
        let mut spec = spec(json!({}));
        spec.plugin.file = Some(FilePluginSource {
            path: "/plugins/ca.wasm".into(),
        });
        assert!(matches!(
            spec.validate(),
            Err(InvalidSpec::ManyPluginSources { .. })
        ));
        spec.plugin.config_map = None;
        assert!(matches!(
            spec.validate().map(|v| v.signer.source),
            Ok(PluginSource::File(_))
        ));
        spec.plugin.file = Some(FilePluginSource {
            path: "plugins/ca.wasm".into(),
        });
        assert_eq!(
            spec.validate().expect_err("relative").to_string(),
            "spec.plugin.file.path: \"plugins/ca.wasm\" is not an absolute path"
        );
    }

    #[test]
    fn a_digest_pin_is_parsed() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let spec = spec(json!({"plugin": {"digest": digest}}));
        assert_eq!(
            spec.validate()
                .expect("valid")
                .signer
                .digest
                .map(|d| d.to_string()),
            Some(digest)
        );
        let error = self::spec(json!({"plugin": {"digest": "sha256:12"}}))
            .validate()
            .expect_err("invalid")
            .to_string();
        assert!(error.starts_with("spec.plugin.digest: "), "{error}");
    }

    #[test]
    fn policies_are_parsed_in_order_and_their_errors_name_them() {
        let source = json!({"configMap": {"name": "p", "key": "plugin.wasm"}});
        let spec = spec(json!({"policies": [
            {"name": "domains", "plugin": source},
            {"name": "keys", "plugin": {"configMap": {"name": "k", "key": "plugin.wasm"}, "limits": {"timeout": "1s"}}},
        ]}));
        let valid = spec.validate().expect("valid");
        let names: Vec<_> = valid.policies.iter().map(|policy| policy.name).collect();
        assert_eq!(names, ["domains", "keys"]);
        assert_eq!(
            valid.policies[1].plugin.limits.timeout,
            Duration::from_secs(1)
        );
        assert_eq!(valid.plugins().count(), 3);

        let bad_limit = error(json!({"policies": [
            {"name": "domains", "plugin": {"configMap": {"name": "p", "key": "k"}, "limits": {"memory": "0"}}},
        ]}));
        assert_eq!(
            bad_limit,
            "spec.policies[domains].plugin.limits.memory: must be greater than zero"
        );
        let twice = error(json!({"policies": [
            {"name": "domains", "plugin": source},
            {"name": "domains", "plugin": source},
        ]}));
        assert_eq!(twice, "spec.policies: two policies are named \"domains\"");
    }
}
