//! Certificate templates for the host's certificate builder.

use std::fmt;

use crate::{CertificateRequest, CertificateTemplate, Subject, Usage, now};

/// The usages a certificate gets for a request, as cert-manager computes
/// them: its defaults (digital signature, key encipherment) when none are
/// requested, cert sign added for a CA, synonyms (`signing`, `s/mime`) folded
/// into one name each, no duplicates.
pub fn effective_usages(requested: &[Usage], is_ca: bool) -> Vec<Usage> {
    const DEFAULT: [Usage; 2] = [Usage::DigitalSignature, Usage::KeyEncipherment];
    let requested = if requested.is_empty() {
        &DEFAULT[..]
    } else {
        requested
    };
    let mut usages = Vec::with_capacity(requested.len() + 1);
    for usage in requested
        .iter()
        .copied()
        .chain(is_ca.then_some(Usage::CertSign))
    {
        let usage = usage.canonical();
        if !usages.contains(&usage) {
            usages.push(usage);
        }
    }
    usages
}

impl Usage {
    /// Whether this usage is an extended key usage (ExtendedKeyUsage
    /// extension) rather than a key usage (KeyUsage extension).
    pub fn is_extended(self) -> bool {
        !matches!(
            self,
            Usage::Signing
                | Usage::DigitalSignature
                | Usage::ContentCommitment
                | Usage::KeyEncipherment
                | Usage::KeyAgreement
                | Usage::DataEncipherment
                | Usage::CertSign
                | Usage::CrlSign
                | Usage::EncipherOnly
                | Usage::DecipherOnly
        )
    }

    /// One name for usages that cert-manager encodes the same way
    /// (`signing` is `digital signature`, `s/mime` is `email protection`).
    pub fn canonical(self) -> Usage {
        match self {
            Usage::Signing => Usage::DigitalSignature,
            Usage::Smime => Usage::EmailProtection,
            usage => usage,
        }
    }
}

/// cert-manager's name for the usage, as in a Certificate's `spec.usages`.
impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Usage::Signing => "signing",
            Usage::DigitalSignature => "digital signature",
            Usage::ContentCommitment => "content commitment",
            Usage::KeyEncipherment => "key encipherment",
            Usage::KeyAgreement => "key agreement",
            Usage::DataEncipherment => "data encipherment",
            Usage::CertSign => "cert sign",
            Usage::CrlSign => "crl sign",
            Usage::EncipherOnly => "encipher only",
            Usage::DecipherOnly => "decipher only",
            Usage::Any => "any",
            Usage::ServerAuth => "server auth",
            Usage::ClientAuth => "client auth",
            Usage::CodeSigning => "code signing",
            Usage::EmailProtection => "email protection",
            Usage::Smime => "s/mime",
            Usage::IpsecEndSystem => "ipsec end system",
            Usage::IpsecTunnel => "ipsec tunnel",
            Usage::IpsecUser => "ipsec user",
            Usage::Timestamping => "timestamping",
            Usage::OcspSigning => "ocsp signing",
            Usage::MicrosoftSgc => "microsoft sgc",
            Usage::NetscapeSgc => "netscape sgc",
        })
    }
}

impl CertificateTemplate {
    /// The certificate that cert-manager's CA issuer makes for `request`,
    /// valid from now: see [`from_request_at`](Self::from_request_at).
    pub fn from_request(request: &CertificateRequest) -> Self {
        Self::from_request_at(request, now())
    }

    /// The certificate that cert-manager's CA issuer makes for `request`: the
    /// CSR's subject copied literally, all its SANs, its public key; isCA and
    /// the [effective usages](effective_usages) as requested; valid from `now`
    /// (Unix seconds) for the [requested duration](CertificateRequest::duration).
    pub fn from_request_at(request: &CertificateRequest, now: i64) -> Self {
        let lifetime = i64::try_from(request.duration().as_secs()).unwrap_or(i64::MAX);
        CertificateTemplate {
            subject: Subject::Der(request.csr.subject.der.clone()),
            sans: request.csr.sans.clone(),
            public_key: request.csr.public_key.spki_der.clone(),
            not_before: now,
            not_after: now.saturating_add(lifetime),
            is_ca: request.is_ca,
            path_length: None,
            usages: effective_usages(&request.usages, request.is_ca),
            extensions: Vec::new(),
        }
    }

    /// Ends the validity at `limit` at the latest (e.g. the issuing CA's
    /// NotAfter, so that a leaf never outlives its CA). Returns whether it did.
    pub fn clamp_not_after(&mut self, limit: i64) -> bool {
        let clamped = self.not_after > limit;
        self.not_after = self.not_after.min(limit);
        clamped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::request;

    #[test]
    fn usages_default_fold_and_imply_cert_sign() {
        use Usage::*;
        assert_eq!(
            effective_usages(&[], false),
            [DigitalSignature, KeyEncipherment]
        );
        assert_eq!(
            effective_usages(&[], true),
            [DigitalSignature, KeyEncipherment, CertSign]
        );
        assert_eq!(
            effective_usages(&[Signing, DigitalSignature, Smime, ServerAuth], false),
            [DigitalSignature, EmailProtection, ServerAuth]
        );
        assert_eq!(effective_usages(&[CertSign], true), [CertSign]);
    }

    #[test]
    fn template_copies_the_request() {
        let mut request = request();
        request.duration_seconds = 3600;
        request.is_ca = true;
        let template = CertificateTemplate::from_request_at(&request, 1000);
        assert_eq!(
            template.subject,
            Subject::Der(request.csr.subject.der.clone())
        );
        assert_eq!(template.sans, request.csr.sans);
        assert_eq!(template.public_key, request.csr.public_key.spki_der);
        assert_eq!((template.not_before, template.not_after), (1000, 4600));
        assert!(template.is_ca);
        assert!(template.usages.contains(&Usage::CertSign));
    }

    #[test]
    fn no_duration_means_ninety_days_and_clamping_shortens_only() {
        let mut template = CertificateTemplate::from_request_at(&request(), 0);
        assert_eq!(template.not_after, 90 * 24 * 3600);
        assert!(!template.clamp_not_after(i64::MAX));
        assert!(template.clamp_not_after(100));
        assert_eq!(template.not_after, 100);
    }
}
