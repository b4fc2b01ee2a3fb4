//! A Kubernetes CSR as the contract's request, read as cert-manager reads
//! it. Anything that does not parse makes the CSR fail: asking again would
//! not change it.

use std::time::Duration;

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use wasm_issuer_pki::{ParsedCsr, Usage};
use wasm_issuer_runtime::{IssuerInfo, PluginRequest, Requester};

use crate::signing::DEFAULT_DURATION;

/// cert-manager's annotations for what a CSR's spec cannot say.
pub const REQUEST_DURATION: &str = "experimental.cert-manager.io/request-duration";
pub const REQUEST_IS_CA: &str = "experimental.cert-manager.io/request-is-ca";

/// The shortest lifetime a CSR may ask for (Kubernetes' own minimum for
/// `spec.expirationSeconds`, which cert-manager applies to the annotation).
const MIN_DURATION: Duration = Duration::from_secs(600);

/// Builds the plugin's view of `csr`; the error is why the CSR fails.
pub fn plugin_request(
    csr: &CertificateSigningRequest,
    issuer: &IssuerInfo,
) -> Result<PluginRequest, String> {
    let spec = &csr.spec;
    let parsed =
        ParsedCsr::from_pem(&spec.request.0).map_err(|error| format!("spec.request: {error}"))?;
    let annotations = csr.metadata.annotations.clone().unwrap_or_default();
    let usages = Usage::from_cert_manager_list(spec.usages.as_deref().unwrap_or_default())
        .map_err(|name| format!("spec.usages: unknown usage {name:?}"))?;
    Ok(PluginRequest {
        csr: parsed,
        duration: duration(csr)?,
        is_ca: annotations
            .get(REQUEST_IS_CA)
            .is_some_and(|value| value == "true"),
        usages,
        requester: Requester {
            username: spec.username.clone().unwrap_or_default(),
            uid: spec.uid.clone().unwrap_or_default(),
            groups: spec.groups.clone().unwrap_or_default(),
            extra: spec.extra.clone().unwrap_or_default(),
        },
        annotations,
        // A CSR is cluster-scoped.
        namespace: String::new(),
        name: csr.metadata.name.clone().unwrap_or_default(),
        issuer: issuer.clone(),
    })
}

/// The annotation wins over `spec.expirationSeconds`; 90 days without either.
fn duration(csr: &CertificateSigningRequest) -> Result<Duration, String> {
    let annotation = csr
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(REQUEST_DURATION));
    let (duration, source) = match (annotation, csr.spec.expiration_seconds) {
        (Some(text), _) => {
            let duration = humantime::parse_duration(text).map_err(|error| {
                format!("annotation {REQUEST_DURATION}: {text:?} is not a duration: {error}")
            })?;
            (duration, format!("annotation {REQUEST_DURATION}"))
        }
        (None, Some(seconds)) => (
            Duration::from_secs(u64::try_from(seconds).unwrap_or_default()),
            "spec.expirationSeconds".to_owned(),
        ),
        (None, None) => return Ok(DEFAULT_DURATION),
    };
    if duration < MIN_DURATION {
        return Err(format!(
            "{source}: {} is shorter than the minimum of {}",
            humantime::format_duration(duration),
            humantime::format_duration(MIN_DURATION)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn csr(
        annotations: &[(&str, &str)],
        expiration_seconds: Option<i32>,
    ) -> CertificateSigningRequest {
        let mut csr = CertificateSigningRequest::default();
        csr.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        );
        csr.spec.expiration_seconds = expiration_seconds;
        csr
    }

    #[test]
    fn without_annotation_or_expiration_it_is_ninety_days() {
        assert_eq!(duration(&csr(&[], None)), Ok(DEFAULT_DURATION));
    }

    #[test]
    fn expiration_seconds_is_the_duration() {
        assert_eq!(
            duration(&csr(&[], Some(7200))),
            Ok(Duration::from_secs(7200))
        );
    }

    #[test]
    fn the_annotation_wins_over_expiration_seconds() {
        assert_eq!(
            duration(&csr(&[(REQUEST_DURATION, "3h")], Some(7200))),
            Ok(Duration::from_secs(3 * 3600))
        );
    }

    #[test]
    fn durations_below_ten_minutes_are_refused_naming_their_source() {
        assert_eq!(
            duration(&csr(&[(REQUEST_DURATION, "5m")], Some(7200))),
            Err(format!(
                "annotation {REQUEST_DURATION}: 5m is shorter than the minimum of 10m"
            ))
        );
        assert_eq!(
            duration(&csr(&[], Some(60))),
            Err("spec.expirationSeconds: 1m is shorter than the minimum of 10m".to_owned())
        );
    }

    #[test]
    fn an_unreadable_annotation_is_refused() {
        let error = duration(&csr(&[(REQUEST_DURATION, "soon")], None)).expect_err("refused");
        assert!(
            error.starts_with(&format!("annotation {REQUEST_DURATION}: \"soon\"")),
            "{error}"
        );
    }

    #[test]
    fn a_csr_that_is_not_a_csr_fails_first() {
        let issuer = IssuerInfo {
            name: "ca".into(),
            kind: "WasmClusterIssuer".into(),
            namespace: String::new(),
            config: "{}".into(),
        };
        let error = plugin_request(&csr(&[], None), &issuer).expect_err("refused");
        assert!(error.starts_with("spec.request: "), "{error}");
    }
}
