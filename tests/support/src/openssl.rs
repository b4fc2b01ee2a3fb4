//! Keys, CAs and CSRs made by the `openssl` command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The key types cert-manager users ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyKind {
    pub const ALL: [KeyKind; 6] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcP256,
        Self::EcP384,
        Self::Ed25519,
    ];

    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            Self::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Self::Rsa3072 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            Self::Rsa4096 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
            Self::EcP256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Self::EcP384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Self::Ed25519 => &["-algorithm", "ED25519"],
        }
    }

    /// The signature algorithm a CA of this kind signs with, as the contract
    /// says: RSA by size, ECDSA by curve.
    pub fn signature_algorithm_oid(self) -> &'static str {
        match self {
            Self::Rsa2048 => "1.2.840.113549.1.1.11",
            Self::Rsa3072 => "1.2.840.113549.1.1.12",
            Self::Rsa4096 => "1.2.840.113549.1.1.13",
            Self::EcP256 => "1.2.840.10045.4.3.2",
            Self::EcP384 => "1.2.840.10045.4.3.3",
            Self::Ed25519 => "1.3.101.112",
        }
    }
}

/// What to put in a CSR.
#[derive(Clone, Debug)]
pub struct CsrSpec {
    pub key: KeyKind,
    /// openssl's `-subj` form, e.g. "/C=US/O=Acme/CN=app.example.com"; empty for none.
    pub subject: String,
    /// openssl's subjectAltName form, e.g. "DNS:a.example.com", "IP:10.0.0.1",
    /// "URI:spiffe://x/y", "email:a@example.com",
    /// "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com".
    pub sans: Vec<String>,
    /// Further `-addext` values, e.g. "keyUsage=critical,digitalSignature".
    pub extensions: Vec<String>,
}

impl CsrSpec {
    /// A server CSR for `name` (as CN and DNS SAN).
    pub fn server(key: KeyKind, name: &str) -> Self {
        Self {
            key,
            subject: format!("/CN={name}"),
            sans: vec![format!("DNS:{name}")],
            extensions: Vec::new(),
        }
    }
}

/// A CA as a `kubernetes.io/tls` Secret holds it: a directory with tls.crt and tls.key.
#[derive(Clone, Debug)]
pub struct Ca {
    pub dir: PathBuf,
    pub kind: KeyKind,
}

impl Ca {
    pub fn cert(&self) -> PathBuf {
        self.dir.join("tls.crt")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("tls.key")
    }
}

/// A temporary directory to make fixtures in, removed on drop.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    /// Fails the test at once if `openssl` is missing.
    pub fn new() -> Self {
        let version = Command::new("openssl").arg("version").output();
        assert!(
            version.is_ok_and(|output| output.status.success()),
            "the `openssl` command is required by the tests: install it (apt-get install openssl)"
        );
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new private key (PKCS#8 PEM) at `<name>.key`.
    pub fn key(&self, name: &str, kind: KeyKind) -> PathBuf {
        let path = self.path().join(format!("{name}.key"));
        openssl(
            Command::new("openssl")
                .arg("genpkey")
                .args(kind.genpkey_args())
                .arg("-out")
                .arg(&path),
        );
        path
    }

    /// A self-signed CA valid for `days`, in directory `<name>/`. With
    /// `traditional_key`, tls.key is PKCS#1 / SEC1 as cert-manager writes it.
    pub fn ca(&self, name: &str, kind: KeyKind, days: u32, traditional_key: bool) -> Ca {
        let dir = self.path().join(name);
        fs::create_dir_all(&dir).expect("CA directory");
        let key = self.key(&format!("{name}-pkcs8"), kind);
        let ca = Ca { dir, kind };
        openssl(
            Command::new("openssl")
                .args(["req", "-x509", "-new", "-key"])
                .arg(&key)
                .args(["-subj", &format!("/O=wasm-issuer tests/CN={name}")])
                .args(["-days", &days.to_string()])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .arg("-out")
                .arg(ca.cert()),
        );
        if traditional_key && kind != KeyKind::Ed25519 {
            // `openssl ec` writes SEC1 by default; `openssl rsa` needs -traditional for PKCS#1.
            let mut command = Command::new("openssl");
            match kind {
                KeyKind::EcP256 | KeyKind::EcP384 => command.arg("ec"),
                _ => command.args(["rsa", "-traditional"]),
            };
            openssl(command.arg("-in").arg(&key).arg("-out").arg(ca.key()));
        } else {
            fs::copy(&key, ca.key()).expect("copy the CA key");
        }
        ca
    }

    /// A CSR (PEM) made by `openssl req` from `spec`, with a fresh key.
    pub fn csr(&self, name: &str, spec: &CsrSpec) -> PathBuf {
        let key = self.key(name, spec.key);
        let path = self.path().join(format!("{name}.csr"));
        let mut command = Command::new("openssl");
        command.args(["req", "-new", "-key"]).arg(&key);
        // An empty -subj is written "/" for openssl.
        let subject = if spec.subject.is_empty() {
            "/"
        } else {
            &spec.subject
        };
        command.args(["-subj", subject]);
        if !spec.sans.is_empty() {
            command.args([
                "-addext",
                &format!("subjectAltName={}", spec.sans.join(",")),
            ]);
        }
        for extension in &spec.extensions {
            command.args(["-addext", extension]);
        }
        openssl(command.arg("-out").arg(&path));
        path
    }

    /// Writes `pem` to `<name>` and runs `openssl verify -CAfile ca` on it.
    pub fn verify(&self, ca: &Path, name: &str, pem: &str) -> Result<(), String> {
        let path = self.path().join(name);
        fs::write(&path, pem).expect("write the certificate");
        let output = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(ca)
            .arg(&path)
            .output()
            .expect("run openssl verify");
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Default for Workdir {
    fn default() -> Self {
        Self::new()
    }
}

fn openssl(command: &mut Command) {
    let output = command.output().expect("run openssl");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
