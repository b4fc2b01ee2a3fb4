//! Reading a certificate request: the host has parsed the CSR already.

use std::time::Duration;

use crate::{CertificateRequest, San};

/// cert-manager's default certificate lifetime, used when a request gives none.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(90 * 24 * 3600);

impl CertificateRequest {
    /// The DNS names among the CSR's SANs, in order.
    pub fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.sans_of(|san| match san {
            San::Dns(name) => Some(name),
            _ => None,
        })
    }

    /// The IP addresses among the CSR's SANs, as text.
    pub fn ip_addresses(&self) -> impl Iterator<Item = &str> {
        self.sans_of(|san| match san {
            San::Ip(address) => Some(address),
            _ => None,
        })
    }

    /// The URIs among the CSR's SANs.
    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.sans_of(|san| match san {
            San::Uri(uri) => Some(uri),
            _ => None,
        })
    }

    /// The email addresses among the CSR's SANs.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        self.sans_of(|san| match san {
            San::Email(email) => Some(email),
            _ => None,
        })
    }

    /// The first commonName of the CSR's subject.
    pub fn common_name(&self) -> Option<&str> {
        self.csr.subject.common_name.as_deref()
    }

    /// The requested lifetime, or [`DEFAULT_DURATION`] when the request gives none.
    pub fn duration(&self) -> Duration {
        match self.duration_seconds {
            0 => DEFAULT_DURATION,
            seconds => Duration::from_secs(seconds),
        }
    }

    /// The value of one of the request's annotations.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }

    fn sans_of<'a>(
        &'a self,
        pick: impl Fn(&'a San) -> Option<&'a String>,
    ) -> impl Iterator<Item = &'a str> {
        self.csr.sans.iter().filter_map(pick).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::request;

    #[test]
    fn reads_sans_by_kind_and_annotations() {
        let request = request();
        assert_eq!(request.dns_names().collect::<Vec<_>>(), ["a.example.com"]);
        assert_eq!(request.ip_addresses().collect::<Vec<_>>(), ["10.0.0.1"]);
        assert_eq!(request.uris().count() + request.emails().count(), 0);
        assert_eq!(request.annotation("team"), Some("blue"));
        assert_eq!(request.annotation("nope"), None);
    }

    #[test]
    fn duration_defaults_to_ninety_days() {
        let mut request = request();
        assert_eq!(request.duration(), DEFAULT_DURATION);
        request.duration_seconds = 60;
        assert_eq!(request.duration(), Duration::from_secs(60));
    }
}
