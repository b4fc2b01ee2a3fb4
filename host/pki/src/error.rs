//! The crate's one error type.
//!
//! Variants are split by who is at fault, so the runtime can map them onto the
//! WIT error classes: a bad CSR is an invalid request, a bad Secret makes the
//! issuer not ready, a failed [`check_issued`](crate::check_issued) means the
//! plugin returned something the host must not trust.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input has no PEM block at all.
    #[error("{what} is not PEM: {reason}")]
    NotPem {
        /// What was being read, e.g. "the CSR".
        what: &'static str,
        /// Why the PEM decoder gave up.
        reason: String,
    },
    /// The input is PEM, but of another kind (e.g. a certificate where a CSR was expected).
    #[error("{what} is a PEM {found:?} block, not {expected:?}")]
    UnexpectedPem {
        /// What was being read.
        what: &'static str,
        /// The PEM label that was expected.
        expected: &'static str,
        /// The PEM label that was found.
        found: String,
    },
    /// The DER does not decode as the structure it should be.
    #[error("{what} is not valid DER: {reason}")]
    BadDer {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// The CSR's self-signature does not verify with the public key it carries.
    #[error("the CSR's signature does not verify with its own public key")]
    BadCsrSignature,
    /// A key of a type, size or curve the host cannot use.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// A signature algorithm the host cannot verify (e.g. ECDSA P-256 with SHA-512).
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// A subject alternative name the contract cannot express or encode.
    #[error("unsupported subject alternative name: {0}")]
    UnsupportedSan(String),
    /// A distinguished name that cannot be written back byte for byte (see [`issue`](crate::issue)).
    #[error("the name cannot be encoded exactly: {0}")]
    UnrepresentableName(String),
    /// The certificate template contradicts itself.
    #[error("invalid certificate template: {0}")]
    InvalidTemplate(String),
    /// The private key does not decode or the crypto library rejects it.
    #[error("the private key was rejected: {0}")]
    KeyRejected(String),
    /// tls.key is not the key of the first certificate in tls.crt.
    #[error("the private key does not match the public key of the first certificate in tls.crt")]
    KeyCertificateMismatch,
    /// Issuing needs the issuer's certificate, and the key has none.
    #[error("the key has no certificate (tls.crt is empty), so it cannot name an issuer")]
    NoIssuerCertificate,
    /// The issuer's certificate ends before the certificate would start.
    #[error(
        "the issuer certificate expires at {issuer_not_after}, not after the requested not-before {not_before}"
    )]
    IssuerExpired {
        /// The issuer certificate's notAfter (Unix seconds).
        issuer_not_after: i64,
        /// The template's notBefore (Unix seconds).
        not_before: i64,
    },
    /// The signing primitive failed or the certificate could not be assembled.
    #[error("building or signing the certificate failed: {0}")]
    Signing(String),
    /// A file of a key directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The plugin returned no certificate.
    #[error("the returned chain is empty")]
    EmptyChain,
    /// The issued certificate certifies another key than the CSR's.
    #[error("the certificate's public key differs from the CSR's")]
    PublicKeyMismatch,
    /// The issued certificate is already expired.
    #[error("the certificate expired at {not_after} (now {now})")]
    Expired {
        /// notAfter (Unix seconds).
        not_after: i64,
        /// The time of the check (Unix seconds).
        now: i64,
    },
    /// The issued certificate starts too far in the future.
    #[error("the certificate is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// notBefore (Unix seconds).
        not_before: i64,
        /// The time of the check (Unix seconds).
        now: i64,
    },
    /// The issued certificate's SANs are not the CSR's.
    #[error("the certificate's SANs differ from the CSR's: missing [{}], unexpected [{}]", missing.join(", "), unexpected.join(", "))]
    SanMismatch {
        /// Asked for but absent.
        missing: Vec<String>,
        /// Present but not asked for.
        unexpected: Vec<String>,
    },
    /// The issued certificate's BasicConstraints cA is not what was asked.
    #[error("the certificate's isCA is {found}, but isCA {expected} was asked")]
    IsCaMismatch {
        /// What was asked.
        expected: bool,
        /// What the certificate says.
        found: bool,
    },
    /// `chain[index]` is not issued by `chain[index + 1]`.
    #[error("chain certificate {index} is not issued by certificate {}: {reason}", index + 1)]
    ChainBroken {
        /// Position of the child in the chain (0 is the leaf).
        index: usize,
        /// Why the link fails.
        reason: String,
    },
    /// The last chain certificate is not issued by the CA certificate.
    #[error("the last chain certificate is not issued by the CA certificate: {0}")]
    NotIssuedByCa(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
