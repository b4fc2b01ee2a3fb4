//! `cargo xtask demo`: the main job, locally. Makes a throwaway CA and a CSR,
//! signs the CSR through the `ca` plugin with the local runner
//! (`wasm-issuer sign`), and prints the certificate, checked by openssl.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};

use crate::{plugins, workspace};

const DEMO_NAME: &str = "demo.example.com";

pub fn run() -> anyhow::Result<()> {
    workspace::require("openssl", "install it with `apt-get install openssl`")?;
    let plugin_dir = plugins::build_all()?;
    workspace::run(workspace::cargo().args(["build", "--quiet", "--package", "wasm-issuer"]))?;

    let work = tempfile::tempdir()?;
    let ca_dir = work.path().join("ca");
    write_ca(&ca_dir)?;
    let csr = work.path().join("csr.pem");
    fs::write(&csr, demo_csr()?)?;

    let cert = work.path().join("tls.crt");
    let chain = workspace::output(
        Command::new(workspace::target_dir().join("debug/wasm-issuer"))
            .arg("sign")
            .arg("--plugin")
            .arg(plugin_dir.join("ca.wasm"))
            .arg("--csr")
            .arg(&csr)
            .arg("--key")
            .arg(format!("ca={}", ca_dir.display()))
            .args([
                "--duration",
                "24h",
                "--usage",
                "server auth",
                "--usage",
                "digital signature",
            ]),
    )?;
    fs::write(&cert, &chain)?;

    println!("Issued by the `ca` plugin through `wasm-issuer sign`:\n");
    print!(
        "{}",
        workspace::output(
            Command::new("openssl")
                .arg("x509")
                .arg("-in")
                .arg(&cert)
                .args([
                    "-noout",
                    "-subject",
                    "-issuer",
                    "-dates",
                    "-ext",
                    "subjectAltName,keyUsage,extendedKeyUsage",
                ])
        )?
    );
    print!(
        "{}",
        workspace::output(
            Command::new("openssl")
                .arg("verify")
                .arg("-CAfile")
                .arg(ca_dir.join("tls.crt"))
                .arg(&cert)
        )?
    );
    Ok(())
}

/// A self-signed P-256 CA, written as a kubernetes.io/tls Secret would hold it.
fn write_ca(dir: &Path) -> anyhow::Result<()> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "wasm-issuer demo CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key)?;
    fs::create_dir_all(dir)?;
    fs::write(dir.join("tls.crt"), cert.pem())?;
    fs::write(dir.join("tls.key"), key.serialize_pem()).context("writing the demo CA key")?;
    Ok(())
}

fn demo_csr() -> anyhow::Result<String> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec![DEMO_NAME.to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, DEMO_NAME);
    Ok(params.serialize_request(&key)?.pem()?)
}
