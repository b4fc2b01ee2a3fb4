//! Plugins in Python and JavaScript against their Rust twins: the same
//! inputs give the same decisions, with byte-identical reasons and errors,
//! and for signers certificates of the same shape (subject, issuer, SANs,
//! usages, isCA, validity, chain, CA), every one checked by `openssl verify`.
//!
//! A Python or JavaScript component takes tens of seconds to compile in a
//! debug build, and the local runner compiles its plugin on every run. So
//! each table runs in one runtime that compiles both twins once, building
//! requests as the local runner does (which also lets a case name its
//! requester, which the local runner cannot), and the first case of each
//! table also goes through `wasm-issuer policy` or `wasm-issuer sign`, the
//! path a plugin author takes.
//!
//! The components come from `cargo xtask plugins`; a missing one fails the
//! test and says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasm_issuer_pki::{GrantedKey, IssuedCertificate, ParsedCsr, Usage};
use wasm_issuer_runtime::{
    CallError, Decision, Grants, IssuerInfo, Limits, PluginRequest, PolicyPlugin, Requester,
    Runtime, RuntimeOptions, Sandbox, SignerPlugin,
};
use wasm_issuer_test_support::{
    Ca, CertificateShape, CsrSpec, KeyForm, KeyKind, LocalRunner, Workdir, now, plugin,
};

/// A reference plugin in Rust and its twin in another language.
struct Twin {
    rust: &'static str,
    other: &'static str,
}

const REQUESTER_POLICY: Twin = Twin {
    rust: "requester-policy",
    other: "requester-policy-python",
};
const ALLOW_DOMAINS: Twin = Twin {
    rust: "allow-domains",
    other: "allow-domains-javascript",
};
const CA: Twin = Twin {
    rust: "ca",
    other: "ca-python",
};

/// cert-manager's default lifetime, which the local runner asks for too.
const DEFAULT_DURATION: Duration = Duration::from_secs(2160 * 3600);

/// The request the local runner builds for `csr` and `config`.
fn request(csr: &Path, config: &str) -> PluginRequest {
    let pem = std::fs::read(csr).expect("read the CSR");
    PluginRequest {
        csr: ParsedCsr::from_pem(&pem).expect("openssl's CSR parses"),
        duration: DEFAULT_DURATION,
        is_ca: false,
        usages: Vec::new(),
        requester: Requester::default(),
        annotations: BTreeMap::new(),
        namespace: String::new(),
        name: "local".into(),
        issuer: IssuerInfo {
            name: "local".into(),
            kind: "WasmClusterIssuer".into(),
            namespace: String::new(),
            config: config.into(),
        },
    }
}

fn compile(runtime: &Runtime, name: &str) -> wasm_issuer_runtime::CompiledComponent {
    let path = plugin(name);
    let wasm = std::fs::read(&path).expect("read the component");
    runtime
        .compile(&wasm)
        .unwrap_or_else(|error| panic!("{} compiles: {error}", path.display()))
}

/// The local runner as a plugin author runs it.
fn runner() -> LocalRunner {
    LocalRunner::new(env!("CARGO_BIN_EXE_wasm-issuer"))
}

/// The subcommand and its `args` (`args[0]`) with the component of the
/// plugin `name` (a missing one fails the test).
fn with_plugin(name: &str, args: &[String]) -> Vec<String> {
    let (command, rest) = args.split_first().expect("a subcommand");
    let mut all = vec![
        command.clone(),
        "--plugin".to_owned(),
        plugin(name).display().to_string(),
    ];
    all.extend_from_slice(rest);
    all
}

/// One request to a policy, and what the Rust twin decides, written as the
/// local runner prints it (`allow`, `deny: <reason>`).
struct PolicyCase {
    what: &'static str,
    config: &'static str,
    csr: CsrSpec,
    username: &'static str,
    groups: &'static [&'static str],
    duration: Option<&'static str>,
    is_ca: bool,
    expected: &'static str,
}

impl PolicyCase {
    /// A request from the anonymous requester, for cert-manager's default duration.
    fn new(what: &'static str, config: &'static str, csr: CsrSpec, expected: &'static str) -> Self {
        Self {
            what,
            config,
            csr,
            username: "",
            groups: &[],
            duration: None,
            is_ca: false,
            expected,
        }
    }

    fn by(self, username: &'static str, groups: &'static [&'static str]) -> Self {
        Self {
            username,
            groups,
            ..self
        }
    }

    fn lasting(self, duration: &'static str) -> Self {
        Self {
            duration: Some(duration),
            ..self
        }
    }

    fn for_a_ca(self) -> Self {
        Self {
            is_ca: true,
            ..self
        }
    }

    /// The local runner's flags for this case (which has no requester flags).
    fn flags(&self) -> Vec<String> {
        assert!(
            self.username.is_empty() && self.groups.is_empty(),
            "{}: the local runner asks as the anonymous requester",
            self.what
        );
        let mut flags = Vec::new();
        if let Some(duration) = self.duration {
            flags.extend(["--duration".to_owned(), duration.to_owned()]);
        }
        if self.is_ca {
            flags.push("--is-ca".to_owned());
        }
        flags
    }

    fn request(&self, csr: &Path) -> PluginRequest {
        let mut request = request(csr, self.config);
        request.requester.username = self.username.into();
        request.requester.groups = self.groups.iter().map(|group| group.to_string()).collect();
        if let Some(duration) = self.duration {
            request.duration = humantime::parse_duration(duration).expect("a duration");
        }
        request.is_ca = self.is_ca;
        request
    }
}

/// A decision as the local runner prints it.
fn printed(decision: &Decision) -> String {
    match decision {
        Decision::Allow => "allow".to_owned(),
        Decision::Deny(reason) => format!("deny: {reason}"),
        Decision::Invalid(reason) => format!("invalid: {reason}"),
    }
}

/// Runs every case through both twins: the Rust twin must decide what the
/// case expects, the other exactly the same. The first case also goes
/// through `wasm-issuer policy`.
fn assert_policy_twins(twin: &Twin, cases: Vec<PolicyCase>) {
    let work = Workdir::new();
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
    let load = |name| -> PolicyPlugin {
        runtime
            .policy(&compile(&runtime, name))
            .unwrap_or_else(|error| panic!("{name} is a policy: {error}"))
    };
    let (rust, other) = (load(twin.rust), load(twin.other));
    let sandbox = Sandbox::default();
    for (index, case) in cases.iter().enumerate() {
        let what = case.what;
        let csr = work.csr(&format!("case{index}"), &case.csr);
        let request = case.request(&csr);
        let decide = |policy: &PolicyPlugin, name: &str| {
            policy
                .evaluate(&sandbox, &request)
                .map(|decision| printed(&decision))
                .unwrap_or_else(|error| panic!("{name}: {what}: {error}"))
        };
        let decided = decide(&rust, twin.rust);
        assert_eq!(decided, case.expected, "{}: {what}", twin.rust);
        assert_eq!(
            decide(&other, twin.other),
            decided,
            "{} decides unlike {}: {what}",
            twin.other,
            twin.rust
        );
    }
    let first = cases.first().expect("a case");
    let csr = work.path().join("case0.csr");
    let config = work.write("case0.json", first.config);
    let mut args = vec![
        "policy".to_owned(),
        "--csr".to_owned(),
        csr.display().to_string(),
        "--config".to_owned(),
        config.display().to_string(),
    ];
    args.extend(first.flags());
    let rust = runner().run(with_plugin(twin.rust, &args));
    let expected_code = if first.expected == "allow" { 0 } else { 1 };
    assert_eq!(
        (rust.code, rust.stdout.trim_end()),
        (Some(expected_code), first.expected),
        "wasm-issuer policy with {}: {}",
        twin.rust,
        rust.stderr
    );
    let other = runner().run(with_plugin(twin.other, &args));
    assert_eq!(other, rust, "wasm-issuer policy with {}", twin.other);
}

/// A server CSR for a name with a P-256 key.
fn server(name: &str) -> CsrSpec {
    CsrSpec::server(KeyKind::EcP256, name)
}

/// A CSR for `subject` with DNS SANs `names`.
fn with_names(subject: &str, names: &[&str]) -> CsrSpec {
    CsrSpec {
        sans: names.iter().map(|name| format!("DNS:{name}")).collect(),
        ..CsrSpec::new(KeyKind::EcP256, subject)
    }
}

#[test]
fn requester_policy_twins_decide_alike() {
    // The specification's example; the local runner's anonymous requester
    // (the empty username) gets the rule for `""`.
    const RULES: &str = r#"{"rules": [
        {"users": ["alice"], "groups": ["web-team"], "dnsNames": ["api.example.com", "*.apps.example.com"]},
        {"serviceAccounts": ["team/builder"], "dnsNames": ["ci.example.com", "xn--bcher-kva.example"]},
        {"users": [""], "dnsNames": ["anonymous.example.com"]}
    ]}"#;
    const BUILDER: &str = "system:serviceaccount:team:builder";
    let cases = vec![
        PolicyCase::new(
            "the anonymous requester's name",
            RULES,
            server("anonymous.example.com"),
            "allow",
        ),
        PolicyCase::new("a user's name", RULES, server("api.example.com"), "allow")
            .by("alice", &[]),
        PolicyCase::new(
            "a group member's names: one label under a wildcard, the literal wildcard, any \
             case and a trailing dot",
            RULES,
            with_names(
                "/CN=A.Apps.Example.COM",
                &[
                    "a.apps.example.com",
                    "*.apps.example.com",
                    "API.example.com.",
                ],
            ),
            "allow",
        )
        .by("bob", &["system:authenticated", "web-team"]),
        PolicyCase::new(
            "a ServiceAccount's IDN",
            RULES,
            server("XN--BCHER-KVA.example."),
            "allow",
        )
        .by(BUILDER, &[]),
        PolicyCase::new(
            "names granted to a ServiceAccount and to its group, combined",
            RULES,
            with_names("/O=Example", &["api.example.com", "ci.example.com"]),
            "allow",
        )
        .by(BUILDER, &["web-team"]),
        PolicyCase::new(
            "another requester's name",
            RULES,
            server("api.example.com"),
            "deny: system:serviceaccount:team:builder may not request DNS name api.example.com",
        )
        .by(BUILDER, &[]),
        PolicyCase::new(
            "a ServiceAccount of the same name in another namespace",
            RULES,
            server("ci.example.com"),
            "deny: system:serviceaccount:other:builder may not request certificates from this \
             issuer",
        )
        .by("system:serviceaccount:other:builder", &[]),
        PolicyCase::new(
            "names and groups compared exactly",
            RULES,
            server("api.example.com"),
            "deny: Alice may not request certificates from this issuer",
        )
        .by("Alice", &["Web-Team"]),
        PolicyCase::new(
            "two labels under a wildcard",
            RULES,
            with_names("/O=Example", &["api.example.com", "a.b.apps.example.com"]),
            "deny: alice may not request DNS name a.b.apps.example.com",
        )
        .by("alice", &[]),
        PolicyCase::new(
            "a common name that looks like a DNS name counts",
            RULES,
            with_names("/CN=Evil.Example.NET", &["api.example.com"]),
            "deny: alice may not request DNS name Evil.Example.NET",
        )
        .by("alice", &[]),
        PolicyCase::new(
            "a common name that is no DNS name does not",
            RULES,
            with_names("/CN=My Service", &["api.example.com"]),
            "allow",
        )
        .by("alice", &[]),
        PolicyCase::new(
            "a SAN that is not a DNS name",
            RULES,
            CsrSpec::every_san(KeyKind::EcP256),
            "deny: alice may not request IP address SANs: only DNS names are granted",
        )
        .by("alice", &[]),
        PolicyCase::new(
            "no rules at all",
            r#"{"rules": []}"#,
            server("api.example.com"),
            "deny: alice may not request certificates from this issuer",
        )
        .by("alice", &[]),
        PolicyCase::new(
            "a missing field",
            "{}",
            server("api.example.com"),
            "deny: invalid configuration: missing field `rules` at line 1 column 2",
        ),
        PolicyCase::new(
            "an unknown field, on the second line",
            "{\"rules\": [\n  {\"user\": [\"alice\"]}]}",
            server("api.example.com"),
            "deny: invalid configuration: unknown field `user`, expected one of `users`, \
             `groups`, `serviceAccounts`, `dnsNames` at line 2 column 9",
        ),
        PolicyCase::new(
            "a field of the wrong type",
            r#"{"rules": [{"users": "alice"}]}"#,
            server("api.example.com"),
            "deny: invalid configuration: invalid type: string \"alice\", expected a sequence \
             at line 1 column 28",
        ),
        PolicyCase::new(
            "a rule that is not an object",
            r#"{"rules": [1.5e300]}"#,
            server("api.example.com"),
            "deny: invalid configuration: invalid type: floating point `1.5e+300`, expected \
             struct RuleConfig at line 1 column 18",
        ),
        PolicyCase::new(
            "a ServiceAccount that is not <namespace>/<name>",
            r#"{"rules": [{}, {"serviceAccounts": ["team:builder"]}]}"#,
            server("api.example.com"),
            "deny: invalid configuration: rules[1].serviceAccounts: \"team:builder\" is not \
             <namespace>/<name>",
        ),
        PolicyCase::new(
            "a pattern in Unicode",
            r#"{"rules": [{"dnsNames": ["bücher.example"]}]}"#,
            server("api.example.com"),
            "deny: invalid configuration: rules[0].dnsNames: \"bücher.example\" is not ASCII \
             (write an IDN in its xn-- form)",
        ),
        PolicyCase::new(
            "a misplaced wildcard",
            r#"{"rules": [{"dnsNames": ["a.*.example.com"]}]}"#,
            server("api.example.com"),
            "deny: invalid configuration: rules[0].dnsNames: \"a.*.example.com\" has a `*` \
             that is not the whole first label of `*.<suffix>`",
        ),
    ];
    assert_policy_twins(&REQUESTER_POLICY, cases);
}

#[test]
fn allow_domains_twins_decide_alike() {
    const CONFIG: &str = r#"{"allowedDomains": ["example.com"], "maxDuration": "24h"}"#;
    let cases = vec![
        PolicyCase::new(
            "a name outside",
            CONFIG,
            server("app.example.org"),
            "deny: DNS name \"app.example.org\" is not under an allowed domain (example.com)",
        )
        .lasting("1h"),
        PolicyCase::new(
            "a name under the domain",
            CONFIG,
            server("app.example.com"),
            "allow",
        )
        .lasting("1h"),
        PolicyCase::new(
            "a look-alike domain",
            CONFIG,
            with_names("/O=Example", &["a.example.com", "badexample.com"]),
            "deny: DNS name \"badexample.com\" is not under an allowed domain (example.com)",
        )
        .lasting("1h"),
        PolicyCase::new(
            "a common name outside",
            CONFIG,
            with_names("/CN=example.com.evil.net", &["example.com."]),
            "deny: common name \"example.com.evil.net\" is not under an allowed domain \
             (example.com)",
        )
        .lasting("1h"),
        PolicyCase::new(
            "longer than maxDuration",
            CONFIG,
            server("app.example.com"),
            "deny: duration 48h is longer than maxDuration 24h",
        )
        .lasting("48h"),
        PolicyCase::new(
            "cert-manager's default duration",
            CONFIG,
            server("app.example.com"),
            "deny: duration 2160h is longer than maxDuration 24h",
        ),
        PolicyCase::new(
            "a CA without allowCA",
            r#"{"allowedDomains": ["example.com"]}"#,
            server("app.example.com"),
            "deny: isCA is not allowed (allowCA is false)",
        )
        .for_a_ca(),
        PolicyCase::new(
            "a CA with allowCA",
            r#"{"allowedDomains": ["example.com"], "allowCA": true}"#,
            server("app.example.com"),
            "allow",
        )
        .for_a_ca(),
        PolicyCase::new(
            "a SAN that is not a DNS name",
            r#"{"allowedDomains": ["example.com"]}"#,
            CsrSpec::every_san(KeyKind::EcP256),
            "deny: IP address SAN \"192.0.2.10\" is not allowed: only DNS names under an \
             allowed domain are",
        ),
        PolicyCase::new(
            "a typo in a field name",
            r#"{"allowedDomain": ["example.com"]}"#,
            server("app.example.com"),
            "deny: invalid plugin configuration: unknown field `allowedDomain`, expected one \
             of `allowedDomains`, `maxDuration`, `allowCA` at line 1 column 16",
        ),
        PolicyCase::new(
            "a field of the wrong type",
            r#"{"allowedDomains": ["example.com"], "allowCA": null}"#,
            server("app.example.com"),
            "deny: invalid plugin configuration: invalid type: null, expected a boolean at \
             line 1 column 51",
        ),
        PolicyCase::new(
            "a duration it cannot read",
            r#"{"allowedDomains": ["example.com"], "maxDuration": "1d"}"#,
            server("app.example.com"),
            "deny: invalid plugin configuration: maxDuration: invalid duration \"1d\": units \
             are h, m and s",
        ),
        PolicyCase::new(
            "a wildcard, quoted with the combining mark Rust escapes",
            r#"{"allowedDomains": ["*.e\u0301xample.com"]}"#,
            server("app.example.com"),
            "deny: invalid plugin configuration: allowedDomains: \"*.e\\u{301}xample.com\" is \
             not a domain name",
        ),
        PolicyCase::new(
            "domains listed as configured",
            r#"{"allowedDomains": ["e\u0301.example", "bücher.example"]}"#,
            server("app.example.com"),
            "deny: DNS name \"app.example.com\" is not under an allowed domain (e\u{301}.example, \
             bücher.example)",
        ),
    ];
    assert_policy_twins(&ALLOW_DOMAINS, cases);
}

/// What a `sign` case expects of the Rust twin.
enum Expect {
    /// A chain of `chain_length` certificates whose leaf has this subject, a
    /// lifetime of `lifetime` seconds (`None`: it ends with its CA) and these
    /// texts among its extensions as openssl prints them.
    Issued {
        subject: &'static str,
        lifetime: Option<i64>,
        chain_length: usize,
        extensions: &'static [&'static str],
    },
    /// An error with this in its message.
    Error(&'static str),
}

/// One request to a signer.
struct SignCase {
    what: &'static str,
    csr: PathBuf,
    /// The CA granted under `key_name`, if any.
    ca: Option<Ca>,
    key_name: &'static str,
    config: &'static str,
    duration: Option<Duration>,
    is_ca: bool,
    usages: &'static [&'static str],
    expect: Expect,
}

impl SignCase {
    fn request(&self) -> PluginRequest {
        let mut request = request(&self.csr, self.config);
        request.duration = self.duration.unwrap_or(DEFAULT_DURATION);
        request.is_ca = self.is_ca;
        let usages: Vec<String> = self.usages.iter().map(|usage| usage.to_string()).collect();
        request.usages = Usage::from_cert_manager_list(&usages).expect("cert-manager usages");
        request
    }

    fn sandbox(&self) -> Sandbox {
        let mut grants = Grants::new();
        if let Some(ca) = &self.ca {
            let key = GrantedKey::from_dir(&ca.dir).expect("the CA loads");
            grants.grant_key(self.key_name, Arc::new(key));
        }
        Sandbox {
            grants,
            limits: Limits::default(),
        }
    }

    /// The local runner's arguments for this case.
    fn args(&self, config: &Path) -> Vec<String> {
        let mut args = vec![
            "sign".to_owned(),
            "--csr".to_owned(),
            self.csr.display().to_string(),
            "--config".to_owned(),
            config.display().to_string(),
        ];
        if let Some(ca) = &self.ca {
            args.extend([
                "--key".to_owned(),
                format!("{}={}", self.key_name, ca.dir.display()),
            ]);
        }
        if let Some(duration) = self.duration {
            args.extend(["--duration".to_owned(), format!("{}s", duration.as_secs())]);
        }
        if self.is_ca {
            args.push("--is-ca".to_owned());
        }
        for usage in self.usages {
            args.extend(["--usage".to_owned(), usage.to_string()]);
        }
        args
    }
}

/// What one twin issued: the chain and the CA, PEM.
struct Chain {
    chain: String,
    ca: String,
}

impl From<IssuedCertificate> for Chain {
    fn from(issued: IssuedCertificate) -> Self {
        Self {
            chain: issued.chain_pem(),
            ca: issued.ca_pem().unwrap_or_default(),
        }
    }
}

/// Runs every case through both twins and compares what they issue or how
/// they fail; the first case also goes through `wasm-issuer sign`.
fn assert_signer_twins(twin: &Twin, work: &Workdir, root: &Ca, cases: Vec<SignCase>) {
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
    let load = |name| -> SignerPlugin {
        runtime
            .signer(&compile(&runtime, name))
            .unwrap_or_else(|error| panic!("{name} is a signer: {error}"))
    };
    let (rust, other) = (load(twin.rust), load(twin.other));
    for (index, case) in cases.iter().enumerate() {
        let (request, sandbox) = (case.request(), case.sandbox());
        let sign = |signer: &SignerPlugin| -> Result<Chain, CallError> {
            signer.sign(&sandbox, &request).map(Chain::from)
        };
        match (&case.expect, sign(&rust), sign(&other)) {
            (Expect::Error(expected), Err(rust_error), Err(other_error)) => {
                let message = rust_error.to_string();
                assert!(
                    message.contains(expected),
                    "{}: {expected:?} not in {message}",
                    case.what
                );
                assert_eq!(
                    (other_error.class(), other_error.to_string()),
                    (rust_error.class(), message),
                    "{} fails unlike {}: {}",
                    twin.other,
                    twin.rust,
                    case.what
                );
            }
            (Expect::Issued { .. }, Ok(rust_chain), Ok(other_chain)) => {
                let name = format!("sign{index}");
                assert_issued_alike(work, root, case, &name, &rust_chain, &other_chain);
            }
            (_, rust_result, other_result) => panic!(
                "{}: {} gave {:?}, {} gave {:?}",
                case.what,
                twin.rust,
                rust_result.map(|chain| chain.chain),
                twin.other,
                other_result.map(|chain| chain.chain)
            ),
        }
    }
    let first = cases.first().expect("a case");
    let config = work.write("sign-cli.json", first.config);
    let args = first.args(&config);
    let cli = |name: &str| -> Chain {
        let ca_out = work.path().join(format!("{name}-ca-out.pem"));
        let mut args = with_plugin(name, &args);
        args.extend(["--ca-out".to_owned(), ca_out.display().to_string()]);
        let output = runner().run(args);
        assert_eq!(
            output.code,
            Some(0),
            "wasm-issuer sign with {name}: {}",
            output.stderr
        );
        Chain {
            chain: output.stdout,
            ca: std::fs::read_to_string(&ca_out).expect("the CA was written"),
        }
    };
    assert_issued_alike(
        work,
        root,
        first,
        "sign-cli",
        &cli(twin.rust),
        &cli(twin.other),
    );
}

/// Both chains verify with openssl up to `root`, the Rust twin's is what the
/// case expects, and the other's has the same shape and the same CA.
fn assert_issued_alike(
    work: &Workdir,
    root: &Ca,
    case: &SignCase,
    name: &str,
    rust: &Chain,
    other: &Chain,
) {
    let what = case.what;
    let Expect::Issued {
        subject,
        lifetime,
        chain_length,
        extensions,
    } = case.expect
    else {
        panic!("{what}: expected to fail");
    };
    let shape = |chain: &Chain, language: &str| -> CertificateShape {
        assert_eq!(
            chain.chain.matches("-----BEGIN CERTIFICATE-----").count(),
            chain_length,
            "{language}: {what}: the chain's length"
        );
        let file = work.write(&format!("{name}-{language}.pem"), &chain.chain);
        work.verify(
            &root.cert(),
            Some(&file),
            &format!("{name}-{language}-leaf.pem"),
            &chain.chain,
        )
        .unwrap_or_else(|error| panic!("{language}: {what}: openssl verify: {error}"));
        work.certificate_shape(&file)
    };
    let rust_shape = shape(rust, "rust");
    let other_shape = shape(other, "other");
    assert_eq!(rust_shape.subject, subject, "{what}");
    for text in extensions {
        assert!(
            rust_shape.extensions.contains(text),
            "{what}: {text:?} not in {}",
            rust_shape.extensions
        );
    }
    let ca = case.ca.as_ref().expect("an issuing case grants a CA");
    let ca_shape = work.certificate_shape(&ca.cert());
    assert_eq!(rust_shape.issuer, ca_shape.subject, "{what}: the issuer");
    assert!(
        (rust_shape.not_before - now()).abs() < 120,
        "{what}: valid from now"
    );
    // Issued a moment apart: the same lifetime, or the same end when the CA's
    // own end cuts both short.
    match lifetime {
        Some(lifetime) => {
            assert_eq!(rust_shape.lifetime(), lifetime, "{what}");
            assert_eq!(other_shape.lifetime(), lifetime, "{what}: the lifetime");
        }
        None => {
            assert_eq!(rust_shape.not_after, ca_shape.not_after, "{what}");
            assert_eq!(other_shape.not_after, ca_shape.not_after, "{what}: the end");
        }
    }
    assert_eq!(
        (
            &other_shape.subject,
            &other_shape.issuer,
            &other_shape.extensions
        ),
        (
            &rust_shape.subject,
            &rust_shape.issuer,
            &rust_shape.extensions
        ),
        "{what}"
    );
    assert!(
        (other_shape.not_before - rust_shape.not_before).abs() < 120,
        "{what}: issued at about the same time"
    );
    assert_eq!(other.ca, rust.ca, "{what}: the CA both return");
    assert!(
        rust.ca.contains("-----BEGIN CERTIFICATE-----"),
        "{what}: a CA"
    );
}

#[test]
fn ca_twins_issue_alike() {
    let work = Workdir::new();
    let root = work.ca(
        "root",
        "/O=Example/CN=Test Root",
        KeyKind::Rsa2048,
        KeyForm::Pkcs1,
        30,
    );
    let intermediate = work.intermediate_ca(
        "intermediate",
        &root,
        "/O=Example/CN=Test Intermediate",
        KeyKind::EcP256,
        20,
    );
    let server_csr = work.csr("server", &server("app.example.com"));
    let every_san = work.csr("every-san", &CsrSpec::every_san(KeyKind::Ed25519));
    let case = |what, csr: &PathBuf, ca: Option<&Ca>, expect| SignCase {
        what,
        csr: csr.clone(),
        ca: ca.cloned(),
        key_name: "ca",
        config: "{}",
        duration: None,
        is_ca: false,
        usages: &[],
        expect,
    };
    let hours = |hours: u64| Some(Duration::from_secs(hours * 3600));
    let cases = vec![
        SignCase {
            duration: hours(24),
            usages: &["server auth", "digital signature"],
            ..case(
                "a server certificate from a root",
                &server_csr,
                Some(&root),
                Expect::Issued {
                    subject: "CN=app.example.com",
                    lifetime: Some(86_400),
                    chain_length: 1,
                    extensions: &[
                        "DNS:app.example.com",
                        "TLS Web Server Authentication",
                        "Digital Signature",
                    ],
                },
            )
        },
        SignCase {
            key_name: "issuing",
            config: r#"{"key": "issuing"}"#,
            duration: hours(1),
            usages: &[
                "digital signature",
                "key encipherment",
                "server auth",
                "client auth",
            ],
            ..case(
                "every kind of SAN from an intermediate, the CSR's usages",
                &every_san,
                Some(&intermediate),
                Expect::Issued {
                    subject: "CN=app.example.com,O=Example Org,C=DE",
                    lifetime: Some(3600),
                    chain_length: 2,
                    extensions: &[
                        "DNS:app.example.com, DNS:www.example.com, IP Address:192.0.2.10",
                        "URI:spiffe://cluster.local/ns/default/sa/app",
                        "email:ops@example.com",
                        "TLS Web Client Authentication",
                    ],
                },
            )
        },
        SignCase {
            config: "",
            ..case(
                "cert-manager's default duration, longer than the CA: ends with it",
                &server_csr,
                Some(&intermediate),
                Expect::Issued {
                    subject: "CN=app.example.com",
                    lifetime: None,
                    chain_length: 2,
                    extensions: &["DNS:app.example.com", "Key Encipherment"],
                },
            )
        },
        SignCase {
            is_ca: true,
            duration: hours(2),
            ..case(
                "a CA certificate",
                &server_csr,
                Some(&root),
                Expect::Issued {
                    subject: "CN=app.example.com",
                    lifetime: Some(7200),
                    chain_length: 1,
                    extensions: &["CA:TRUE", "Certificate Sign"],
                },
            )
        },
        SignCase {
            is_ca: true,
            ..case(
                "isCA against the CSR's BasicConstraints",
                &every_san,
                Some(&root),
                Expect::Error(
                    "the CSR's BasicConstraints say isCA=false but the request says isCA=true",
                ),
            )
        },
        SignCase {
            usages: &["server auth", "crl sign"],
            ..case(
                "usages against the CSR's KeyUsage",
                &every_san,
                Some(&root),
                Expect::Error(
                    "the CSR's KeyUsage (digital signature, key encipherment) contradicts the \
                     requested usages (crl sign)",
                ),
            )
        },
        case(
            "no key granted",
            &server_csr,
            None,
            Expect::Error("cannot open the key \"ca\""),
        ),
        case(
            "a key whose certificate is no CA",
            &server_csr,
            Some(&leaf_as_ca(&work, &root)),
            Expect::Error("the certificate of the key \"ca\" (CN=Not A CA) is not a CA"),
        ),
        SignCase {
            config: r#"{"key": "ca", "kee": 1}"#,
            ..case(
                "a configuration it cannot read",
                &server_csr,
                Some(&root),
                Expect::Error(
                    "invalid plugin configuration: unknown field `kee`, expected `key` at line \
                     1 column 19",
                ),
            )
        },
    ];
    assert_signer_twins(&CA, &work, &root, cases);
}

/// A grant whose certificate is no CA (the root's own key, certified as a
/// leaf), for the CA's refusal.
fn leaf_as_ca(work: &Workdir, root: &Ca) -> Ca {
    let ca = Ca {
        dir: work.path().join("not-a-ca"),
    };
    std::fs::create_dir_all(&ca.dir).expect("directory");
    std::fs::copy(root.key(), ca.key()).expect("copy the key");
    work.run([
        "req".as_ref(),
        "-x509".as_ref(),
        "-new".as_ref(),
        "-key".as_ref(),
        root.key().as_os_str(),
        "-subj".as_ref(),
        "/CN=Not A CA".as_ref(),
        "-addext".as_ref(),
        "basicConstraints=critical,CA:FALSE".as_ref(),
        "-days".as_ref(),
        "1".as_ref(),
        "-out".as_ref(),
        ca.cert().as_os_str(),
    ] as [&std::ffi::OsStr; 13]);
    ca
}
