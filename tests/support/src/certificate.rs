//! What `openssl x509` reads in a certificate, to compare certificates
//! issued for the same request by different plugins.

use std::path::Path;

use crate::Workdir;

/// A certificate as openssl reads it: everything but its serial number, key
/// identifiers and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateShape {
    /// RFC 2253 text.
    pub subject: String,
    pub issuer: String,
    /// openssl's text of the subjectAltName, keyUsage, extendedKeyUsage and
    /// basicConstraints extensions (with their criticality), in that
    /// openssl's order.
    pub extensions: String,
    /// Validity as Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl CertificateShape {
    /// The lifetime in seconds.
    pub fn lifetime(&self) -> i64 {
        self.not_after - self.not_before
    }
}

impl Workdir {
    /// The shape of the certificate in the PEM file `path`, as `openssl x509` reads it.
    pub fn certificate_shape(&self, path: &Path) -> CertificateShape {
        let text = self.run([
            "x509".as_ref(),
            "-noout".as_ref(),
            "-in".as_ref(),
            path.as_os_str(),
            "-subject".as_ref(),
            "-issuer".as_ref(),
            "-nameopt".as_ref(),
            "RFC2253".as_ref(),
            "-dates".as_ref(),
            "-dateopt".as_ref(),
            "iso_8601".as_ref(),
            "-ext".as_ref(),
            "subjectAltName,keyUsage,extendedKeyUsage,basicConstraints".as_ref(),
        ]);
        let text = String::from_utf8(text).expect("openssl prints UTF-8");
        let mut lines = text.lines();
        let mut field = |prefix: &str| {
            let line = lines.next().unwrap_or_default();
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?} from openssl, got {line:?}"))
                .to_owned()
        };
        let subject = field("subject=");
        let issuer = field("issuer=");
        let not_before = unix_of_iso(&field("notBefore="));
        let not_after = unix_of_iso(&field("notAfter="));
        CertificateShape {
            subject,
            issuer,
            extensions: lines.collect::<Vec<_>>().join("\n"),
            not_before,
            not_after,
        }
    }
}

/// Unix seconds of openssl's `2025-01-31 12:00:00Z`.
fn unix_of_iso(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| -> i64 {
        text.get(range)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("{text:?} is not YYYY-MM-DD HH:MM:SSZ"))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let seconds = number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    days_from_civil(year, month, day) * 86_400 + seconds
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openssl_dates() {
        assert_eq!(unix_of_iso("1970-01-01 00:00:00Z"), 0);
        assert_eq!(unix_of_iso("2000-02-29 00:00:00Z"), 951_782_400);
        assert_eq!(unix_of_iso("2024-12-31 23:59:59Z"), 1_735_689_599);
    }
}
