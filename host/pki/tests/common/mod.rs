//! Test fixtures made by the real `openssl` command line, so nothing under
//! test is checked against this crate's own output.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// A key type openssl can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Rsa(u32),
    P256,
    P384,
    P521,
    Ed25519,
    Dsa,
}

/// How a private key file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// "PRIVATE KEY".
    Pkcs8,
    /// "RSA PRIVATE KEY" / "EC PRIVATE KEY", as cert-manager writes by default.
    Traditional,
}

/// The SAN section of [`leaf_request_config`]; `SANS` below is what it means.
pub const SAN_SECTION: &str = "\
DNS.1 = app.example.com
DNS.2 = www.example.com
IP.1 = 192.0.2.10
IP.2 = 2001:db8:0:0::10
URI.1 = spiffe://cluster.local/ns/default/sa/app
email.1 = ops@example.com
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:app@example.com
";

/// The UPN otherName of [`SAN_SECTION`]: its type and the DER of its UTF8String value.
pub const UPN_OID: &str = "1.3.6.1.4.1.311.20.2.3";
pub const UPN_VALUE_DER: &[u8] = b"\x0c\x0fapp@example.com";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs() as i64
}

/// A scratch directory with openssl.
pub struct Openssl {
    dir: TempDir,
}

impl Openssl {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// Runs openssl in the scratch directory; a missing openssl fails loudly, never skips.
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new("openssl").args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| {
            panic!("these tests need the `openssl` command line tool on PATH, and it could not be run: {e}")
        })
    }

    /// Runs openssl and insists that it succeeds; returns stdout.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generates a key into `<name>.key` in the given form.
    pub fn key(&self, name: &str, kind: Kind, form: Form) -> PathBuf {
        let file = format!("{name}.key");
        let bits;
        let mut args = vec!["genpkey", "-out", &file];
        match kind {
            Kind::Rsa(n) => {
                bits = format!("rsa_keygen_bits:{n}");
                args.extend(["-algorithm", "RSA", "-pkeyopt", &bits]);
            }
            Kind::P256 => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            Kind::P384 => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            Kind::P521 => args.extend(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
            Kind::Ed25519 => args.extend(["-algorithm", "ED25519"]),
            Kind::Dsa => {
                self.run(&[
                    "genpkey",
                    "-genparam",
                    "-algorithm",
                    "DSA",
                    "-pkeyopt",
                    "dsa_paramgen_bits:2048",
                    "-out",
                    "dsa.param",
                ]);
                args.extend(["-paramfile", "dsa.param"]);
            }
        }
        self.run(&args);
        if form == Form::Traditional {
            let traditional = format!("{name}.traditional.key");
            self.run(&["pkey", "-in", &file, "-traditional", "-out", &traditional]);
            std::fs::rename(self.path(&traditional), self.path(&file)).expect("rename key");
        }
        self.path(&file)
    }

    /// A CSR (PEM) for `<name>.key` with the `[dn]` section `dn` and `[ext]` section `ext`.
    pub fn csr(&self, name: &str, dn: &str, ext: &str, string_mask: &str) -> Vec<u8> {
        let config = format!(
            "[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = {string_mask}\nreq_extensions = ext\n\
             [dn]\n{dn}\n[ext]\n{ext}\n"
        );
        let config_file = format!("{name}.csr.cnf");
        self.write(&config_file, config);
        let out = format!("{name}.csr");
        self.run(&[
            "req",
            "-new",
            "-utf8",
            "-key",
            &format!("{name}.key"),
            "-config",
            &config_file,
            "-out",
            &out,
        ]);
        self.read(&out)
    }

    /// The CSR for a server certificate with every SAN kind of [`SAN_SECTION`].
    pub fn leaf_csr(&self, name: &str) -> Vec<u8> {
        self.csr(
            name,
            "C = DE\nO = Example Org\nCN = app.example.com",
            &format!(
                "subjectAltName = @alt\nkeyUsage = critical, digitalSignature, keyEncipherment\n\
                 extendedKeyUsage = serverAuth, clientAuth\nbasicConstraints = CA:FALSE\n[alt]\n{SAN_SECTION}"
            ),
            "utf8only",
        )
    }

    /// A self-signed root CA certificate `<name>.crt` for `<name>.key`.
    pub fn root_ca(&self, name: &str, subject_dn: &str) -> Vec<u8> {
        let config = format!(
            "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n[dn]\n{subject_dn}\n\
             [v3_ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n"
        );
        let config_file = format!("{name}.ca.cnf");
        self.write(&config_file, config);
        let out = format!("{name}.crt");
        self.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-config",
            &config_file,
            "-days",
            "30",
            "-out",
            &out,
        ]);
        self.read(&out)
    }

    /// `openssl verify -x509_strict` of `leaf` against the root `ca`, with optional intermediates.
    pub fn verify(&self, ca: &str, untrusted: Option<&str>, leaf: &str) -> Result<(), String> {
        let mut args = vec!["verify", "-x509_strict", "-CAfile", ca];
        if let Some(u) = untrusted {
            args.extend(["-untrusted", u]);
        }
        args.push(leaf);
        let out = self.output(&args);
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

/// PEM of one DER certificate.
pub fn pem(der: &[u8]) -> String {
    wasm_issuer_pki::certificates_to_pem(&[der])
}

/// A PEM block's DER.
pub fn der_of_pem(pem: &[u8]) -> Vec<u8> {
    pem::parse(pem).expect("PEM").into_contents()
}
