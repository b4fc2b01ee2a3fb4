//! The host's check of what a signer returned: nothing reaches a status
//! field until the certificate parses, certifies the CSR's key, is valid now,
//! carries the requested SANs and isCA, and chains to the returned CA.

use std::time::{SystemTime, UNIX_EPOCH};

pub use wasm_issuer_pki::IssuedCertificate;
use wasm_issuer_pki::{Expected, check_issued};

use crate::bindings::types::Issued;
use crate::request::PluginRequest;

pub(crate) fn check(
    request: &PluginRequest,
    issued: Issued,
) -> Result<IssuedCertificate, wasm_issuer_pki::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    let expected = Expected {
        is_ca: request.is_ca,
    };
    check_issued(
        &request.csr,
        &expected,
        &issued.chain,
        issued.ca.as_deref(),
        now,
    )
}
