//! The control plane's certificates: one CA that signs the apiserver's
//! serving certificate and the admin's client certificate, plus the key pair
//! that signs ServiceAccount tokens.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::error::Error;

/// Paths of the PEM files written by [`write`].
pub(crate) struct PkiFiles {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    pub service_account_public: PathBuf,
    pub service_account_private: PathBuf,
}

/// Generates fresh certificates and keys into `dir`.
pub(crate) fn write(dir: &Path) -> Result<PkiFiles, Error> {
    fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let files = PkiFiles {
        ca_cert: dir.join("ca.crt"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        admin_cert: dir.join("admin.crt"),
        admin_key: dir.join("admin.key"),
        service_account_public: dir.join("sa.pub"),
        service_account_private: dir.join("sa.key"),
    };

    // A proper v3 CA: rustls (our client) rejects a CA without basic constraints.
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "wasm-issuer-testenv CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut serving =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    serving
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let (serving_cert, serving_key) = leaf(serving, &ca)?;

    // kube-apiserver maps a client certificate's CN to the user and O to groups.
    let mut admin = CertificateParams::default();
    admin.distinguished_name.push(DnType::CommonName, "admin");
    admin
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let (admin_cert, admin_key) = leaf(admin, &ca)?;

    let service_account = KeyPair::generate()?;

    for (path, pem) in [
        (&files.ca_cert, ca.pem()),
        (&files.serving_cert, serving_cert),
        (&files.serving_key, serving_key),
        (&files.admin_cert, admin_cert),
        (&files.admin_key, admin_key),
        (
            &files.service_account_public,
            service_account.public_key_pem(),
        ),
        (
            &files.service_account_private,
            service_account.serialize_pem(),
        ),
    ] {
        fs::write(path, pem).map_err(Error::io(format!("writing {}", path.display())))?;
    }
    Ok(files)
}

/// Signs an end-entity certificate with a fresh key; returns (cert PEM, key PEM).
fn leaf(
    mut params: CertificateParams,
    ca: &CertifiedIssuer<'_, KeyPair>,
) -> Result<(String, String), Error> {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}
