//! Test fixture: a signer that does what its configuration says, e.g.
//! `{"check": "issuer-not-ready", "sign": "pending", "retryAfterSeconds": 5}`
//! (defaults: check `ok`, sign `issue` with the key `ca`). `checkDelayMs`
//! and `signDelayMs` keep the call busy for that long first, as a slow CA would.

use serde::Deserialize;
use wasm_issuer_plugin_api::{CertificateRequest, Error, Issued, Issuer, Key, Signer};

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum Check {
    #[default]
    Ok,
    IssuerNotReady,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
enum Sign {
    #[default]
    Issue,
    Pending,
    Retryable,
    Permanent,
    InvalidRequest,
    IssuerNotReady,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Script {
    #[serde(default)]
    check: Check,
    #[serde(default)]
    sign: Sign,
    #[serde(default)]
    retry_after_seconds: u32,
    #[serde(default)]
    check_delay_ms: u64,
    #[serde(default)]
    sign_delay_ms: u64,
}

/// Busy, not asleep: the host's deadline must be able to stop it.
fn busy_for(milliseconds: u64) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_millis(milliseconds) {
        std::hint::spin_loop();
    }
}

struct Scripted;

impl Signer for Scripted {
    fn check(issuer: Issuer) -> Result<(), Error> {
        let script: Script = issuer.config()?;
        busy_for(script.check_delay_ms);
        match script.check {
            Check::Ok => Ok(()),
            Check::IssuerNotReady => Err(Error::IssuerNotReady("scripted check".into())),
        }
    }

    fn sign(request: CertificateRequest) -> Result<Issued, Error> {
        let script: Script = request.issuer.config()?;
        busy_for(script.sign_delay_ms);
        let message = "scripted sign".to_owned();
        Err(match script.sign {
            Sign::Issue => return Key::open("ca")?.sign_request(&request),
            Sign::Pending => Error::pending(message, script.retry_after_seconds),
            Sign::Retryable => Error::Retryable(message),
            Sign::Permanent => Error::Permanent(message),
            Sign::InvalidRequest => Error::InvalidRequest(message),
            Sign::IssuerNotReady => Error::IssuerNotReady(message),
        })
    }
}

wasm_issuer_plugin_api::export_signer!(Scripted);
