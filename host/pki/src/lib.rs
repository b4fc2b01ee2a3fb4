//! X.509 for the host, behind the WIT contract (`types`, `keys`,
//! `certificate-builder`), in plain Rust: parse CSRs into the contract's view
//! and verify them, hold granted keys and sign with them, issue certificates
//! from templates, and check what plugins return before it reaches
//! cert-manager.
//!
//! The types mirror the WIT records field for field, so the runtime's
//! conversion is mechanical. Keys and signatures are what ring supports: RSA
//! 2048–8192 bits, ECDSA P-256 and P-384, Ed25519.

mod certs;
mod check;
mod csr;
mod der;
mod error;
mod extension;
mod issue;
mod key;
mod name;
mod public_key;
mod san;
mod usage;

pub use certs::certificates_to_pem;
pub use check::{CLOCK_SKEW_SECS, Expected, IssuedCertificate, check_issued};
pub use csr::ParsedCsr;
pub use error::{Error, Result};
pub use extension::Extension;
pub use issue::{CertificateTemplate, SubjectTemplate, issue};
pub use key::{GrantedKey, KeyCertificate};
pub use name::{DistinguishedName, NameAttribute};
pub use public_key::{KeyAlgorithm, PublicKeyInfo};
pub use san::{OtherName, San};
pub use usage::Usage;
