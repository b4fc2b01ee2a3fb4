//! A CertificateRequest as the contract's request. Anything that does not
//! parse makes the request invalid: asking again would not change it.

use wasm_issuer_pki::{ParsedCsr, Usage};
use wasm_issuer_runtime::{IssuerInfo, PluginRequest, Requester};

use crate::api::CertificateRequest;
use crate::signing::DEFAULT_DURATION;

/// Builds the plugin's view of `request`; the error is why it is invalid.
pub fn plugin_request(
    request: &CertificateRequest,
    issuer: &IssuerInfo,
) -> Result<PluginRequest, String> {
    let spec = &request.spec;
    let csr =
        ParsedCsr::from_pem(&spec.request.0).map_err(|error| format!("spec.request: {error}"))?;
    let duration = match &spec.duration {
        None => DEFAULT_DURATION,
        Some(text) => humantime::parse_duration(text)
            .map_err(|error| format!("spec.duration: {text:?} is not a duration: {error}"))?,
    };
    let usages = Usage::from_cert_manager_list(&spec.usages)
        .map_err(|name| format!("spec.usages: unknown usage {name:?}"))?;
    Ok(PluginRequest {
        csr,
        duration,
        is_ca: spec.is_ca,
        usages,
        requester: Requester {
            username: spec.username.clone(),
            uid: spec.uid.clone(),
            groups: spec.groups.clone(),
            extra: spec.extra.clone(),
        },
        annotations: request.metadata.annotations.clone().unwrap_or_default(),
        namespace: request.metadata.namespace.clone().unwrap_or_default(),
        name: request.metadata.name.clone().unwrap_or_default(),
        issuer: issuer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;

    use super::*;

    fn issuer() -> IssuerInfo {
        IssuerInfo {
            name: "ca".into(),
            kind: "WasmIssuer".into(),
            namespace: "team".into(),
            config: "{}".into(),
        }
    }

    fn request_with(edit: impl FnOnce(&mut CertificateRequest)) -> CertificateRequest {
        let mut request = CertificateRequest::new("req", Default::default());
        request.spec.request = ByteString(b"not a CSR".to_vec());
        edit(&mut request);
        request
    }

    #[test]
    fn a_request_that_is_not_a_csr_is_invalid() {
        let error = plugin_request(&request_with(|_| {}), &issuer()).expect_err("invalid");
        assert!(error.starts_with("spec.request: "), "{error}");
    }

    // The CSR is checked first; the other fields are covered on the real
    // control plane with CSRs made by openssl (host/controller/tests).
}
