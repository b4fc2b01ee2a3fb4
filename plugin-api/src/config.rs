//! The issuer's plugin configuration, parsed into the plugin's own type.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::{Decision, Error, Issuer};

/// The plugin configuration could not be parsed. It is the operator's to fix,
/// so it converts into [`Error::IssuerNotReady`] (the issuer goes not-Ready
/// and says why) and into [`Decision::Deny`] (a policy fails closed).
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidConfig(String);

impl Issuer {
    /// Parses the issuer's configuration (JSON) into `T`.
    ///
    /// An empty configuration reads as `{}`, so a type whose fields all have
    /// defaults accepts an issuer that configures nothing.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, InvalidConfig> {
        let text = match self.config.trim() {
            "" => "{}",
            text => text,
        };
        serde_json::from_str(text).map_err(|e| InvalidConfig(e.to_string()))
    }
}

impl InvalidConfig {
    /// For checks a plugin makes itself after parsing (a value out of range, ...).
    pub fn new(reason: impl Into<String>) -> Self {
        InvalidConfig(reason.into())
    }
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid plugin configuration: {}", self.0)
    }
}

impl std::error::Error for InvalidConfig {}

impl From<InvalidConfig> for Error {
    fn from(invalid: InvalidConfig) -> Self {
        Error::IssuerNotReady(invalid.to_string())
    }
}

impl From<InvalidConfig> for Decision {
    fn from(invalid: InvalidConfig) -> Self {
        Decision::Deny(invalid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        key: Option<String>,
    }

    fn issuer(config: &str) -> Issuer {
        Issuer {
            name: "ca".into(),
            kind: "WasmIssuer".into(),
            namespace: "default".into(),
            config: config.into(),
        }
    }

    #[test]
    fn empty_config_reads_as_an_empty_object() {
        assert_eq!(issuer(" ").config::<Config>(), Ok(Config { key: None }));
    }

    #[test]
    fn bad_json_makes_the_issuer_not_ready_or_denies() {
        let invalid = issuer("{\"key\": 1}").config::<Config>().unwrap_err();
        let Error::IssuerNotReady(message) = Error::from(invalid.clone()) else {
            panic!("not an issuer-not-ready error");
        };
        assert!(
            message.starts_with("invalid plugin configuration: invalid type"),
            "{message}"
        );
        assert_eq!(Decision::from(invalid), Decision::Deny(message));
    }
}
