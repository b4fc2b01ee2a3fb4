//! The CA's decisions, as plain functions of plain data.

use std::collections::BTreeSet;

use wasm_issuer_plugin_api::{KeyCertificate, Usage, format_time};

/// The key's certificate, if it can issue at `now`: present, a CA, and
/// within its validity. Otherwise why not, naming the key.
pub fn usable_ca(
    key: &str,
    certificate: Option<KeyCertificate>,
    now: i64,
) -> Result<KeyCertificate, String> {
    let Some(certificate) = certificate else {
        return Err(format!("the key {key:?} has no certificate (tls.crt)"));
    };
    let subject = &certificate.subject;
    if !certificate.is_ca {
        return Err(format!(
            "the certificate of the key {key:?} ({subject}) is not a CA"
        ));
    }
    if now < certificate.not_before {
        return Err(format!(
            "the CA certificate of the key {key:?} ({subject}) is not valid before {}",
            format_time(certificate.not_before)
        ));
    }
    if now >= certificate.not_after {
        return Err(format!(
            "the CA certificate of the key {key:?} ({subject}) expired at {}",
            format_time(certificate.not_after)
        ));
    }
    Ok(certificate)
}

/// Whether what the CSR itself asks for (BasicConstraints, KeyUsage,
/// ExtendedKeyUsage) agrees with the request's isCA and usages; if not, why.
///
/// Like cert-manager, usages are compared only when both the CSR and the
/// request carry some, the KeyUsage and ExtendedKeyUsage parts each only when
/// the CSR has that part; a CA's cert sign counts as requested on both sides.
pub fn consistent_with_csr(
    csr_is_ca: Option<bool>,
    csr_usages: &[Usage],
    is_ca: bool,
    usages: &[Usage],
) -> Result<(), String> {
    if let Some(csr_is_ca) = csr_is_ca.filter(|&csr_is_ca| csr_is_ca != is_ca) {
        return Err(format!(
            "the CSR's BasicConstraints say isCA={csr_is_ca} but the request says isCA={is_ca}"
        ));
    }
    if usages.is_empty() {
        return Ok(());
    }
    for (extended, extension) in [(false, "KeyUsage"), (true, "ExtendedKeyUsage")] {
        let part = |usages: &[Usage]| -> BTreeSet<Usage> {
            let implied = (is_ca && !extended).then_some(Usage::CertSign);
            usages
                .iter()
                .copied()
                .filter(|usage| usage.is_extended() == extended)
                .chain(implied)
                .map(Usage::canonical)
                .collect()
        };
        if !csr_usages
            .iter()
            .any(|usage| usage.is_extended() == extended)
        {
            continue;
        }
        let (in_csr, requested) = (part(csr_usages), part(usages));
        if in_csr != requested {
            return Err(format!(
                "the CSR's {extension} ({}) contradicts the requested usages ({})",
                list(&in_csr),
                list(&requested)
            ));
        }
    }
    Ok(())
}

fn list(usages: &BTreeSet<Usage>) -> String {
    let names: Vec<String> = usages.iter().map(Usage::to_string).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Usage::*;

    fn ca(is_ca: bool, not_before: i64, not_after: i64) -> Option<KeyCertificate> {
        Some(KeyCertificate {
            der: Vec::new(),
            subject: "CN=Test CA".into(),
            not_before,
            not_after,
            is_ca,
        })
    }

    #[test]
    fn a_valid_ca_is_usable() {
        assert!(usable_ca("ca", ca(true, 0, 100), 50).is_ok());
    }

    #[test]
    fn an_unusable_ca_is_refused_with_a_clear_reason() {
        let cases = [
            (None, "the key \"ca\" has no certificate (tls.crt)"),
            (
                ca(false, 0, 100),
                "the certificate of the key \"ca\" (CN=Test CA) is not a CA",
            ),
            (
                ca(true, 60, 100),
                "the CA certificate of the key \"ca\" (CN=Test CA) is not valid before 1970-01-01T00:01:00Z",
            ),
            (
                ca(true, 0, 50),
                "the CA certificate of the key \"ca\" (CN=Test CA) expired at 1970-01-01T00:00:50Z",
            ),
        ];
        for (certificate, reason) in cases {
            assert_eq!(usable_ca("ca", certificate, 50).unwrap_err(), reason);
        }
    }

    #[test]
    fn is_ca_must_agree_when_the_csr_says() {
        assert!(consistent_with_csr(None, &[], true, &[]).is_ok());
        assert!(consistent_with_csr(Some(true), &[], true, &[]).is_ok());
        let reason = consistent_with_csr(Some(false), &[], true, &[]).unwrap_err();
        assert_eq!(
            reason,
            "the CSR's BasicConstraints say isCA=false but the request says isCA=true"
        );
    }

    #[test]
    fn usages_agree_up_to_synonyms_and_a_cas_cert_sign() {
        let requested = [Signing, KeyEncipherment, ServerAuth];
        let csr = [DigitalSignature, KeyEncipherment, ServerAuth];
        assert!(consistent_with_csr(None, &csr, false, &requested).is_ok());
        assert!(consistent_with_csr(None, &[DigitalSignature, CertSign], true, &[Signing]).is_ok());
        // A CSR with only an ExtendedKeyUsage says nothing about KeyUsage.
        assert!(consistent_with_csr(None, &[ServerAuth], false, &requested).is_ok());
        // Either side without usages: cert-manager's defaults apply, nothing to compare.
        assert!(consistent_with_csr(None, &[], false, &requested).is_ok());
        assert!(consistent_with_csr(None, &csr, false, &[]).is_ok());
    }

    #[test]
    fn contradicting_usages_are_named() {
        let reason = consistent_with_csr(
            None,
            &[DigitalSignature, ClientAuth],
            false,
            &[DigitalSignature, ServerAuth],
        )
        .unwrap_err();
        assert_eq!(
            reason,
            "the CSR's ExtendedKeyUsage (client auth) contradicts the requested usages (server auth)"
        );
        let reason =
            consistent_with_csr(None, &[CertSign], false, &[DigitalSignature]).unwrap_err();
        assert_eq!(
            reason,
            "the CSR's KeyUsage (cert sign) contradicts the requested usages (digital signature)"
        );
    }
}
