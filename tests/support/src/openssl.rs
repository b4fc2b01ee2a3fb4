//! Keys, CAs and CSRs made by the `openssl` command line.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A key type openssl makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa1024,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
    Dsa2048,
}

impl KeyKind {
    /// The key types cert-manager users ask for, all of which the contract
    /// supports. The other kinds are here to be refused.
    pub const ALL: [KeyKind; 6] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcP256,
        Self::EcP384,
        Self::Ed25519,
    ];

    /// `openssl genpkey` options for this kind; for DSA, those of its parameters.
    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            Self::Rsa1024 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            Self::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Self::Rsa3072 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            Self::Rsa4096 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
            Self::EcP256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Self::EcP384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Self::EcP521 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            Self::Ed25519 => &["-algorithm", "ED25519"],
            Self::Dsa2048 => &["-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048"],
        }
    }

    /// The signature algorithm a CA of this kind signs with, as the contract
    /// says: RSA by size, ECDSA by curve.
    ///
    /// # Panics
    /// For a kind outside [`KeyKind::ALL`], which no CA may have.
    pub fn signature_algorithm_oid(self) -> &'static str {
        match self {
            Self::Rsa2048 => "1.2.840.113549.1.1.11",
            Self::Rsa3072 => "1.2.840.113549.1.1.12",
            Self::Rsa4096 => "1.2.840.113549.1.1.13",
            Self::EcP256 => "1.2.840.10045.4.3.2",
            Self::EcP384 => "1.2.840.10045.4.3.3",
            Self::Ed25519 => "1.3.101.112",
            other => panic!("the contract names no signature algorithm for {other:?} keys"),
        }
    }

    /// The form cert-manager writes a key of this kind in by default
    /// (`encoding: PKCS1`): PKCS#1 for RSA, SEC1 for ECDSA, and PKCS#8 for
    /// the kinds that have neither.
    pub fn cert_manager_form(self) -> KeyForm {
        match self {
            Self::Rsa1024 | Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => KeyForm::Pkcs1,
            Self::EcP256 | Self::EcP384 | Self::EcP521 => KeyForm::Sec1,
            Self::Ed25519 | Self::Dsa2048 => KeyForm::Pkcs8,
        }
    }
}

/// How a private key file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyForm {
    /// PKCS#8, "PRIVATE KEY": any kind.
    Pkcs8,
    /// PKCS#1, "RSA PRIVATE KEY": RSA only.
    Pkcs1,
    /// SEC1, "EC PRIVATE KEY": ECDSA only.
    Sec1,
}

/// What to put in a CSR, and the key to make it with.
#[derive(Clone, Debug)]
pub struct CsrSpec {
    /// The kind of the fresh key, `<name>.key`, the CSR is made with.
    pub key: KeyKind,
    /// How `<name>.key` is written.
    pub key_form: KeyForm,
    /// openssl's `-subj` form, e.g. "/C=US/O=Acme/CN=app.example.com": at least
    /// one attribute; types by name or OID ("/1.2.3.4=x"), repeats allowed; no
    /// "/" in values.
    pub subject: String,
    /// openssl's subjectAltName form, e.g. "DNS:a.example.com", "IP:10.0.0.1",
    /// "URI:spiffe://x/y", "email:a@example.com",
    /// "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example.com".
    pub sans: Vec<String>,
    /// Further `-addext` values, e.g. "keyUsage=critical,digitalSignature".
    pub extensions: Vec<String>,
    /// openssl's `string_mask`, the string types the subject may use:
    /// "utf8only" for UTF8String throughout, "pkix" for PrintableString where
    /// it can and BMPString elsewhere.
    pub string_mask: &'static str,
}

impl CsrSpec {
    /// A CSR for just `subject`, with a PKCS#8 key of `key`, all strings UTF8String.
    pub fn new(key: KeyKind, subject: &str) -> Self {
        Self {
            key,
            key_form: KeyForm::Pkcs8,
            subject: subject.to_owned(),
            sans: Vec::new(),
            extensions: Vec::new(),
            string_mask: "utf8only",
        }
    }

    /// A server CSR for `name` (as CN and DNS SAN).
    pub fn server(key: KeyKind, name: &str) -> Self {
        Self {
            sans: vec![format!("DNS:{name}")],
            ..Self::new(key, &format!("/CN={name}"))
        }
    }

    /// A server CSR with a SAN of every kind, in this order: DNS
    /// app.example.com and www.example.com, IP 192.0.2.10 and 2001:db8::10,
    /// URI spiffe://cluster.local/ns/default/sa/app, email ops@example.com,
    /// and the UPN otherName (1.3.6.1.4.1.311.20.2.3) UTF8String
    /// app@example.com. Subject C=DE, O=Example Org, CN=app.example.com; then
    /// keyUsage critical digitalSignature and keyEncipherment, extendedKeyUsage
    /// serverAuth and clientAuth, basicConstraints CA:FALSE.
    pub fn every_san(key: KeyKind) -> Self {
        Self {
            sans: [
                "DNS:app.example.com",
                "DNS:www.example.com",
                "IP:192.0.2.10",
                "IP:2001:db8:0:0::10",
                "URI:spiffe://cluster.local/ns/default/sa/app",
                "email:ops@example.com",
                "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:app@example.com",
            ]
            .map(String::from)
            .to_vec(),
            extensions: [
                "keyUsage=critical,digitalSignature,keyEncipherment",
                "extendedKeyUsage=serverAuth,clientAuth",
                "basicConstraints=CA:FALSE",
            ]
            .map(String::from)
            .to_vec(),
            ..Self::new(key, "/C=DE/O=Example Org/CN=app.example.com")
        }
    }
}

/// A CA as a `kubernetes.io/tls` Secret holds it: a directory with tls.crt and tls.key.
#[derive(Clone, Debug)]
pub struct Ca {
    pub dir: PathBuf,
}

impl Ca {
    /// The certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.join("tls.crt")
    }

    /// The private key (PEM), in the form the CA was made with.
    pub fn key(&self) -> PathBuf {
        self.dir.join("tls.key")
    }
}

/// A temporary directory to make fixtures in, removed on drop. Fixtures are
/// named relative to it.
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

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` to `<name>`.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, bytes).unwrap_or_else(|error| panic!("write {name}: {error}"));
        path
    }

    /// Runs `openssl` with `args` in this directory and insists that it
    /// succeeds; returns what it printed.
    pub fn run<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Vec<u8> {
        let mut command = Command::new("openssl");
        command.args(args);
        let output = self.output(&mut command);
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    fn output(&self, command: &mut Command) -> Output {
        command
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|error| panic!("run {command:?}: {error}"))
    }

    /// A new private key at `<name>.key`.
    ///
    /// # Panics
    /// If `kind` has no `form` (see [`KeyForm`]).
    pub fn key(&self, name: &str, kind: KeyKind, form: KeyForm) -> PathBuf {
        let file = format!("{name}.key");
        self.make_key(&file, kind, form);
        self.path().join(file)
    }

    fn make_key(&self, file: &str, kind: KeyKind, form: KeyForm) {
        assert!(
            form == KeyForm::Pkcs8 || form == kind.cert_manager_form(),
            "{kind:?} keys have no {form:?} form"
        );
        let pkcs8 = if form == KeyForm::Pkcs8 {
            file.to_owned()
        } else {
            format!("{file}.pkcs8")
        };
        if kind == KeyKind::Dsa2048 {
            let params = format!("{file}.params");
            self.run(
                ["genpkey", "-genparam"]
                    .iter()
                    .chain(kind.genpkey_args())
                    .chain(&["-out", &params]),
            );
            self.run(["genpkey", "-paramfile", &params, "-out", &pkcs8]);
        } else {
            self.run(
                ["genpkey"]
                    .iter()
                    .chain(kind.genpkey_args())
                    .chain(&["-out", &pkcs8]),
            );
        }
        if form != KeyForm::Pkcs8 {
            self.run(["pkey", "-in", &pkcs8, "-traditional", "-out", file]);
        }
    }

    /// Writes `<name>.cnf`, the `openssl req` config for `subject` (in `-subj`
    /// form) with `string_mask`, and returns its name. The subject goes in the
    /// config, not `-subj`, so that types given by OID are kept.
    fn req_config(&self, name: &str, subject: &str, string_mask: &str) -> String {
        let attributes: Vec<String> = subject
            .split('/')
            .filter(|attribute| !attribute.is_empty())
            .enumerate()
            .map(|(index, attribute)| {
                let (kind, value) = attribute
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{attribute:?} in subject {subject:?} has no '='"));
                // openssl skips each name up to its first '.', so types may repeat.
                format!("{index}.{kind} = {value}")
            })
            .collect();
        assert!(!attributes.is_empty(), "an empty subject {subject:?}");
        let file = format!("{name}.cnf");
        self.write(
            &file,
            format!(
                "[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = {string_mask}\n[dn]\n{}\n",
                attributes.join("\n")
            ),
        );
        file
    }

    /// A self-signed CA in directory `<name>/`, valid for `days`, its subject
    /// in `-subj` form, its key of `kind` in `form`. Its extensions are
    /// basicConstraints critical CA:TRUE, keyUsage critical keyCertSign and
    /// cRLSign, and subjectKeyIdentifier.
    pub fn ca(&self, name: &str, subject: &str, kind: KeyKind, form: KeyForm, days: u32) -> Ca {
        let ca = Ca {
            dir: self.path().join(name),
        };
        fs::create_dir_all(&ca.dir).expect("CA directory");
        let key = format!("{name}/tls.key");
        self.make_key(&key, kind, form);
        let config = self.req_config(name, subject, "utf8only");
        self.run([
            "req",
            "-x509",
            "-new",
            "-utf8",
            "-config",
            &config,
            "-key",
            &key,
            "-days",
            &days.to_string(),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-out",
            &format!("{name}/tls.crt"),
        ]);
        ca
    }

    /// An intermediate CA in directory `<name>/`, signed by `root` and valid
    /// for `days`, its subject in `-subj` form and a PKCS#8 key of `kind`:
    /// tls.crt holds the intermediate then the root, as a Secret for an
    /// intermediate does. Its extensions are those of [`Workdir::ca`] plus
    /// authorityKeyIdentifier.
    pub fn intermediate_ca(
        &self,
        name: &str,
        root: &Ca,
        subject: &str,
        kind: KeyKind,
        days: u32,
    ) -> Ca {
        let ca = Ca {
            dir: self.path().join(name),
        };
        fs::create_dir_all(&ca.dir).expect("CA directory");
        let key = format!("{name}/tls.key");
        self.make_key(&key, kind, KeyForm::Pkcs8);
        let config = self.req_config(name, subject, "utf8only");
        let csr = format!("{name}.csr");
        self.run([
            "req", "-new", "-utf8", "-config", &config, "-key", &key, "-out", &csr,
        ]);
        let extensions = self.write(
            &format!("{name}.ext"),
            "basicConstraints = critical, CA:TRUE\n\
             keyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n",
        );
        let intermediate = format!("{name}/intermediate.crt");
        self.run([
            "x509".as_ref(),
            "-req".as_ref(),
            "-in".as_ref(),
            csr.as_ref(),
            "-CA".as_ref(),
            root.cert().as_os_str(),
            "-CAkey".as_ref(),
            root.key().as_os_str(),
            "-set_serial".as_ref(),
            "2".as_ref(),
            "-days".as_ref(),
            days.to_string().as_ref(),
            "-extfile".as_ref(),
            extensions.as_os_str(),
            "-out".as_ref(),
            intermediate.as_ref(),
        ] as [&OsStr; 16]);
        let chain = [
            fs::read(ca.dir.join("intermediate.crt")).expect("the intermediate"),
            fs::read(root.cert()).expect("the root"),
        ]
        .concat();
        fs::write(ca.cert(), chain).expect("write tls.crt");
        ca
    }

    /// A CSR (PEM) at `<name>.csr`, made by `openssl req` from `spec` with a
    /// fresh key at `<name>.key`.
    pub fn csr(&self, name: &str, spec: &CsrSpec) -> PathBuf {
        let key = format!("{name}.key");
        self.make_key(&key, spec.key, spec.key_form);
        let config = self.req_config(name, &spec.subject, spec.string_mask);
        let out = format!("{name}.csr");
        let mut args = vec!["req", "-new", "-utf8", "-config", &config, "-key", &key];
        let sans = format!("subjectAltName={}", spec.sans.join(","));
        if !spec.sans.is_empty() {
            args.extend(["-addext", &sans]);
        }
        for extension in &spec.extensions {
            args.extend(["-addext", extension]);
        }
        args.extend(["-out", &out]);
        self.run(args);
        self.path().join(out)
    }

    /// Writes `pem` to `<name>` and runs `openssl verify -x509_strict` on it
    /// against the root `ca`, with `untrusted` intermediates if any.
    pub fn verify(
        &self,
        ca: &Path,
        untrusted: Option<&Path>,
        name: &str,
        pem: &str,
    ) -> Result<(), String> {
        let path = self.write(name, pem);
        let mut command = Command::new("openssl");
        command.args(["verify", "-x509_strict", "-CAfile"]).arg(ca);
        if let Some(untrusted) = untrusted {
            command.arg("-untrusted").arg(untrusted);
        }
        let output = self.output(command.arg(path));
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

/// The PEM of a DER certificate.
pub fn pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der))
}

/// The DER of the first PEM block in `pem`.
pub fn der_of_pem(pem: &[u8]) -> Vec<u8> {
    pem::parse(pem).expect("PEM").into_contents()
}
