//! Registry credentials, and reading them from the `.dockerconfigjson` of a
//! `kubernetes.io/dockerconfigjson` Secret (the format of Docker's
//! `~/.docker/config.json` and of Kubernetes imagePullSecrets).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

use super::OciError;

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No credentials: public repositories only.
    #[default]
    Anonymous,
    /// HTTP Basic credentials. Registries with token auth (Docker Hub, GHCR,
    /// Harbor, ...) exchange them for a bearer token; `oci-client` does that.
    Basic { username: String, password: String },
}

// Never print the password: these values end up in logs and in `{:?}` of
// the structs that hold them.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// `{"auths": {"<registry>": {...}}}`; other top-level keys (credsStore,
/// credHelpers, ...) name programs we cannot run and are ignored.
#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    /// base64 of `username:password`.
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(rename = "identitytoken")]
    identity_token: Option<String>,
}

impl Credentials {
    /// The credentials a `.dockerconfigjson` holds for `registry_host`
    /// (`host[:port]`, as in the reference; see [`registry_host`](super::registry_host)).
    ///
    /// Keys of `auths` are matched after dropping a scheme and a path, so
    /// `https://ghcr.io/v1/` matches `ghcr.io`; Docker Hub's aliases
    /// (`docker.io`, `index.docker.io`, `registry-1.docker.io`) match each other.
    /// An entry gives either `auth` (base64 of `user:password`) or `username`
    /// and `password`. A config without an entry for the host is an error
    /// rather than anonymous access: whoever pointed at this Secret expected
    /// it to hold credentials for this registry.
    pub fn from_docker_config_json(
        bytes: &[u8],
        registry_host: &str,
    ) -> Result<Credentials, OciError> {
        let error = |reason: String| OciError::Credentials {
            registry: registry_host.to_string(),
            reason,
        };
        let config: DockerConfig = serde_json::from_slice(bytes)
            .map_err(|e| error(format!("not a Docker config JSON ({e})")))?;
        let wanted = normalize_host(registry_host);
        let entry = config
            .auths
            .iter()
            .find(|(key, _)| normalize_host(key) == wanted)
            .map(|(_, entry)| entry)
            .ok_or_else(|| {
                let known: Vec<&str> = config.auths.keys().map(String::as_str).collect();
                error(format!(
                    "no entry in `auths` for this registry (entries: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            })?;
        entry.credentials().map_err(error)
    }

    pub(crate) fn to_registry_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
        }
    }
}

impl AuthEntry {
    fn credentials(&self) -> Result<Credentials, String> {
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            });
        }
        if let Some(auth) = &self.auth {
            let decoded = STANDARD
                .decode(auth.trim())
                .map_err(|e| format!("`auth` is not base64 ({e})"))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| "`auth` does not decode to UTF-8 text".to_string())?;
            let (username, password) = text
                .split_once(':')
                .ok_or_else(|| "`auth` does not decode to `username:password`".to_string())?;
            return Ok(Credentials::Basic {
                username: username.to_string(),
                password: password.to_string(),
            });
        }
        if self.identity_token.is_some() {
            return Err(
                "the entry holds only an `identitytoken` (OAuth refresh token), which is not supported; use a username and password or access token".into(),
            );
        }
        Err("the entry has neither `auth` nor `username` and `password`".into())
    }
}

/// `https://Host:5000/v1/` → `host:5000`; Docker Hub's names → `docker.io`.
fn normalize_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn auth_field_is_base64_of_user_and_password() {
        let json = format!(
            r#"{{"auths":{{"registry.example:5000":{{"auth":"{}"}}}}}}"#,
            STANDARD.encode("alice:s3cr:et")
        );
        let credentials =
            Credentials::from_docker_config_json(json.as_bytes(), "registry.example:5000")
                .expect("credentials");
        // Only the first colon separates: passwords may contain colons.
        assert_eq!(credentials, basic("alice", "s3cr:et"));
    }

    #[test]
    fn username_and_password_fields_work_and_keys_are_normalized() {
        let json = r#"{"auths":{"https://GHCR.io/v1/":{"username":"bob","password":"pw"}}}"#;
        let credentials =
            Credentials::from_docker_config_json(json.as_bytes(), "ghcr.io").expect("credentials");
        assert_eq!(credentials, basic("bob", "pw"));
    }

    #[test]
    fn docker_hub_aliases_match() {
        let json = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}}}}}}"#,
            STANDARD.encode("u:p")
        );
        let credentials = Credentials::from_docker_config_json(json.as_bytes(), "docker.io")
            .expect("credentials");
        assert_eq!(credentials, basic("u", "p"));
    }

    #[test]
    fn a_missing_entry_names_the_entries_there_are() {
        let json = r#"{"auths":{"other.example":{"auth":"dTpw"}}}"#;
        let error = Credentials::from_docker_config_json(json.as_bytes(), "registry.example")
            .expect_err("no entry");
        let text = error.to_string();
        assert!(text.contains("registry.example"), "{text}");
        assert!(text.contains("other.example"), "{text}");
    }

    #[test]
    fn malformed_configs_are_refused_clearly() {
        for (json, expected) in [
            ("not json", "not a Docker config JSON"),
            (r#"{"auths":{"r":{"auth":"%%%"}}}"#, "not base64"),
            (
                r#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#,
                "username:password",
            ),
            (r#"{"auths":{"r":{"identitytoken":"t"}}}"#, "identitytoken"),
            (r#"{"auths":{"r":{}}}"#, "neither"),
        ] {
            let error = Credentials::from_docker_config_json(json.as_bytes(), "r")
                .expect_err(json)
                .to_string();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let text = format!("{:?}", basic("alice", "hunter2"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("alice"), "{text}");
    }
}
