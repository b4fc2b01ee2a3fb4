//! Keys the issuer grants: open one by name, issue certificates with it.

use std::ops::Deref;

use crate::__private::signer::wasm_issuer::plugin::{certificate_builder, keys};
use crate::{CertificateRequest, CertificateTemplate, Error, Issued, der};

/// A key the issuer grants to the plugin under a name (`ca`, ...).
///
/// The private key stays in the host: the plugin holds a handle. Through
/// `Deref` it offers the host's methods: `public_key()`, `certificate()` (the
/// first certificate of tls.crt), `chain()` (all of tls.crt), `ca()` (ca.crt),
/// `signature_algorithm()` and the raw `sign(data)`.
#[derive(Debug)]
pub struct Key {
    raw: keys::Key,
    name: String,
}

impl Key {
    /// Opens the key granted under `name`. A key that is not granted, or
    /// cannot be used, is the operator's to fix: [`Error::IssuerNotReady`]
    /// naming the key and what the host found missing.
    pub fn open(name: &str) -> Result<Key, Error> {
        match keys::Key::open(name) {
            Ok(raw) => Ok(Key {
                raw,
                name: name.to_owned(),
            }),
            Err(reason) => Err(Error::IssuerNotReady(format!(
                "cannot open the key {name:?}: {reason}"
            ))),
        }
    }

    /// The name the key was opened under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Has the host build the certificate `template` describes and sign it
    /// with this key (which also names the issuer); returns its DER.
    ///
    /// The template is the plugin's own making, so a refusal will not go away
    /// on a retry: [`Error::Permanent`] with the host's reason.
    pub fn issue(&self, template: &CertificateTemplate) -> Result<Vec<u8>, Error> {
        certificate_builder::issue(template, &self.raw).map_err(|reason| {
            Error::Permanent(format!(
                "issuing with the key {:?} failed: {reason}",
                self.name
            ))
        })
    }

    /// What a signer returns for `leaf`, issued with this key: see [`chain_for`].
    pub fn issued(&self, leaf: Vec<u8>) -> Issued {
        chain_for(leaf, self.raw.chain(), self.raw.ca())
    }

    /// Issues the certificate cert-manager's CA issuer would for `request`
    /// ([`CertificateTemplate::from_request`]) with this key.
    pub fn sign_request(&self, request: &CertificateRequest) -> Result<Issued, Error> {
        let leaf = self.issue(&CertificateTemplate::from_request(request))?;
        Ok(self.issued(leaf))
    }
}

impl Deref for Key {
    type Target = keys::Key;

    fn deref(&self) -> &keys::Key {
        &self.raw
    }
}

/// The chain returned for `leaf`: the leaf, then the issuing key's chain
/// (tls.crt) without a self-signed root; the CA is ca.crt when granted, else
/// the top of tls.crt.
pub fn chain_for(leaf: Vec<u8>, mut key_chain: Vec<Vec<u8>>, ca: Option<Vec<u8>>) -> Issued {
    let top = key_chain.last().cloned();
    if key_chain
        .last()
        .is_some_and(|root| der::is_self_signed(root))
    {
        key_chain.pop();
    }
    key_chain.insert(0, leaf);
    Issued {
        chain: key_chain,
        ca: ca.or(top),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::tests::certificate;

    #[test]
    fn a_self_signed_ca_is_the_ca_not_part_of_the_chain() {
        let root = certificate("root", "root");
        let issued = chain_for(b"leaf".to_vec(), vec![root.clone()], None);
        assert_eq!(issued.chain, [b"leaf".to_vec()]);
        assert_eq!(issued.ca, Some(root));
    }

    #[test]
    fn intermediates_stay_and_ca_crt_wins() {
        let intermediate = certificate("root", "intermediate");
        let root = certificate("root", "root");
        let issued = chain_for(
            b"leaf".to_vec(),
            vec![intermediate.clone(), root.clone()],
            None,
        );
        assert_eq!(issued.chain, [b"leaf".to_vec(), intermediate.clone()]);
        assert_eq!(issued.ca, Some(root));

        let issued = chain_for(
            b"leaf".to_vec(),
            vec![intermediate.clone()],
            Some(b"ca".to_vec()),
        );
        assert_eq!(issued.chain, [b"leaf".to_vec(), intermediate]);
        assert_eq!(issued.ca, Some(b"ca".to_vec()));
    }
}
