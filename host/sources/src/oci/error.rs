//! The one error type of OCI operations, and the translation of
//! `oci-client`'s errors into it.
//!
//! Every message names the reference (as the user wrote it) and the cause, on
//! one line: it ends up in a CLI's one-line failure and in a Kubernetes
//! condition message, where newlines do not survive.

use oci_client::errors::{DigestError, OciDistributionError, OciEnvelope, OciErrorCode};

use super::layout;

/// What went wrong pulling, resolving or pushing a plugin.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference does not parse, or cannot be used for this operation.
    #[error("{reference}: not a usable OCI reference: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// A `.dockerconfigjson` could not give credentials for the registry.
    #[error("registry credentials for {registry}: {reason}")]
    Credentials { registry: String, reason: String },

    /// The registry wants (other) credentials.
    #[error("{reference}: the registry refused access ({detail}); check the credentials")]
    Unauthorized { reference: String, detail: String },

    /// No such repository, tag or digest.
    #[error("{reference}: not found in the registry ({detail})")]
    NotFound { reference: String, detail: String },

    /// The registry could not be reached or the connection broke.
    #[error("{reference}: cannot reach the registry: {cause}")]
    Unreachable { reference: String, cause: String },

    /// The registry answered with an error we have no better name for.
    #[error("{reference}: registry error: {cause}")]
    Registry {
        reference: String,
        cause: String,
        /// Worth retrying (a 5xx, a rate limit)?
        transient: bool,
    },

    /// The artifact is not a Wasm component in a layout we accept.
    #[error(
        "{reference}: not a Wasm component artifact: found {found}; expected {}",
        layout::EXPECTED
    )]
    UnsupportedArtifact { reference: String, found: String },

    /// The bytes the registry sent do not hash to the digest that names them.
    #[error(
        "{reference}: digest mismatch: expected {expected}, the registry sent content with digest {actual}"
    )]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },

    /// The layer's length differs from the manifest's descriptor.
    #[error("{reference}: layer {digest} is {actual} bytes but the manifest says {declared}")]
    SizeMismatch {
        reference: String,
        digest: String,
        declared: u64,
        actual: u64,
    },

    /// The component is larger than we are willing to hold in memory.
    #[error("{reference}: the component is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        reference: String,
        size: u64,
        limit: u64,
    },

    /// What was asked to be pushed cannot be pushed.
    #[error("{reference}: cannot push: {reason}")]
    InvalidPush { reference: String, reason: String },
}

impl OciError {
    /// Whether trying again later may succeed without anyone changing
    /// anything: the registry was unreachable, overloaded or rate limiting.
    /// Bad references, credentials, layouts and digests are permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            OciError::Unreachable { .. } => true,
            OciError::Registry { transient, .. } => *transient,
            _ => false,
        }
    }

    /// Translates an `oci-client` error about `reference`.
    pub(crate) fn from_client(reference: &str, error: OciDistributionError) -> OciError {
        let reference = reference.to_string();
        match error {
            OciDistributionError::UnauthorizedError { .. } => OciError::Unauthorized {
                reference,
                detail: "HTTP 401 Unauthorized".into(),
            },
            OciDistributionError::AuthenticationFailure(reason) => OciError::Unauthorized {
                reference,
                detail: one_line(&reason),
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                from_envelope(reference, &envelope)
            }
            OciDistributionError::ServerError { code, message, .. } => {
                from_status(reference, code, &message)
            }
            OciDistributionError::DigestError(DigestError::VerificationError {
                expected,
                actual,
            }) => OciError::DigestMismatch {
                reference,
                expected,
                actual,
            },
            OciDistributionError::RequestError(error) => OciError::Unreachable {
                reference,
                cause: chain(&error),
            },
            OciDistributionError::IoError(error) => from_io(reference, error),
            other => OciError::Registry {
                reference,
                cause: chain(&other),
                transient: false,
            },
        }
    }

    /// Says what a TLS handshake failing on garbage usually means: the
    /// registry speaks plain HTTP (a local registry) and HTTPS was used.
    pub(crate) fn with_protocol_hint(self, insecure: bool) -> OciError {
        match self {
            OciError::Unreachable { reference, cause }
                if !insecure && cause.contains("InvalidContentType") =>
            {
                OciError::Unreachable {
                    reference,
                    cause: format!(
                        "{cause} (the registry answers in plain HTTP, not HTTPS: for a registry on loopback, use the insecure option)"
                    ),
                }
            }
            other => other,
        }
    }

    /// Translates an error met while reading a blob's byte stream.
    pub(crate) fn from_stream(reference: &str, error: std::io::Error) -> OciError {
        from_io(reference.to_string(), error)
    }
}

/// `oci-client` reports a digest mismatch found while streaming as an I/O
/// error wrapping its `DigestError`; anything else there is a broken transfer.
fn from_io(reference: String, error: std::io::Error) -> OciError {
    if let Some(DigestError::VerificationError { expected, actual }) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<DigestError>())
    {
        return OciError::DigestMismatch {
            reference,
            expected: expected.clone(),
            actual: actual.clone(),
        };
    }
    OciError::Unreachable {
        reference,
        cause: chain(&error),
    }
}

/// The registry's own error codes say best what happened.
fn from_envelope(reference: String, envelope: &OciEnvelope) -> OciError {
    let detail = one_line(
        &envelope
            .errors
            .iter()
            .map(|e| {
                if e.message.is_empty() {
                    format!("{:?}", e.code)
                } else {
                    e.message.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    );
    let has = |wanted: &[OciErrorCode]| envelope.errors.iter().any(|e| wanted.contains(&e.code));
    if has(&[OciErrorCode::Unauthorized, OciErrorCode::Denied]) {
        OciError::Unauthorized { reference, detail }
    } else if has(&[
        OciErrorCode::ManifestUnknown,
        OciErrorCode::NameUnknown,
        OciErrorCode::BlobUnknown,
        OciErrorCode::NotFound,
    ]) {
        OciError::NotFound { reference, detail }
    } else {
        OciError::Registry {
            reference,
            transient: has(&[OciErrorCode::Toomanyrequests]),
            cause: detail,
        }
    }
}

/// An HTTP error without an OCI error body.
fn from_status(reference: String, code: u16, message: &str) -> OciError {
    let detail = if message.trim().is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {}", one_line(message))
    };
    match code {
        401 | 403 => OciError::Unauthorized { reference, detail },
        404 => OciError::NotFound { reference, detail },
        _ => OciError::Registry {
            reference,
            cause: detail,
            transient: code == 429 || code >= 500,
        },
    }
}

/// An error and its sources joined with ": " (reqwest's top-level message
/// alone says "error sending request", the cause is in the sources).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source in their own message.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    one_line(&text)
}

/// Collapses whitespace runs, newlines included, into single spaces; long
/// bodies (an HTML error page) are cut.
pub(crate) fn one_line(text: &str) -> String {
    const MAX: usize = 300;
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > MAX {
        line.truncate(line.floor_char_boundary(MAX));
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_collapses_newlines_and_cuts_long_text() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        let long = "é".repeat(400);
        let cut = one_line(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= 300 + '…'.len_utf8());
    }

    #[test]
    fn registry_codes_pick_the_variant() {
        let envelope: OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        )
        .expect("envelope");
        let error = from_envelope("r".into(), &envelope);
        assert!(matches!(error, OciError::NotFound { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            "r: not found in the registry (manifest unknown)"
        );

        let envelope: OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
        )
        .expect("envelope");
        assert!(matches!(
            from_envelope("r".into(), &envelope),
            OciError::Unauthorized { .. }
        ));
    }

    #[test]
    fn statuses_without_a_body_are_classified() {
        assert!(matches!(
            from_status("r".into(), 401, ""),
            OciError::Unauthorized { .. }
        ));
        assert!(matches!(
            from_status("r".into(), 404, ""),
            OciError::NotFound { .. }
        ));
        assert!(from_status("r".into(), 503, "").is_transient());
        assert!(!from_status("r".into(), 400, "bad\nrequest").is_transient());
    }

    #[test]
    fn streamed_digest_errors_become_digest_mismatches() {
        let io = std::io::Error::other(DigestError::VerificationError {
            expected: "sha256:aa".into(),
            actual: "sha256:bb".into(),
        });
        let error = OciError::from_stream("r", io);
        let text = error.to_string();
        assert!(
            text.contains("sha256:aa") && text.contains("sha256:bb"),
            "{text}"
        );
    }
}
