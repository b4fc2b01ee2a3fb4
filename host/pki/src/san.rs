//! Subject alternative names: parsed from and written to the SAN extension's
//! GeneralNames ourselves, so that every kind (otherName included) survives
//! verbatim, which rcgen's `SanType` cannot promise.

use std::fmt;
use std::net::IpAddr;

use x509_parser::asn1_rs::Class;

use crate::der;
use crate::{Error, Result};

/// An otherName SAN (WIT `other-name`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OtherName {
    /// Dotted OID naming the type, e.g. "1.3.6.1.4.1.311.20.2.3" (UPN).
    pub type_id: String,
    /// The DER of the value: the content of the explicit `[0]` tag.
    pub value: Vec<u8>,
}

/// A subject alternative name (WIT `san`).
///
/// Names parsed by this crate are canonical (an IP is Rust's textual form of
/// the address, e.g. "2001:db8::1"), so they compare with `==`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    /// dNSName.
    Dns(String),
    /// iPAddress as text (IPv4 or IPv6).
    Ip(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// rfc822Name.
    Email(String),
    /// otherName.
    OtherName(OtherName),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(s) => write!(f, "DNS:{s}"),
            San::Ip(s) => write!(f, "IP:{s}"),
            San::Uri(s) => write!(f, "URI:{s}"),
            San::Email(s) => write!(f, "email:{s}"),
            San::OtherName(o) => {
                write!(f, "otherName:{};", o.type_id)?;
                o.value.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

// GeneralName CHOICE tags (RFC 5280 4.2.1.6).
const OTHER_NAME: u32 = 0;
const RFC822_NAME: u32 = 1;
const DNS_NAME: u32 = 2;
const URI: u32 = 6;
const IP_ADDRESS: u32 = 7;

const WHAT: &str = "the subject alternative names";

/// Parses the SAN extension's value (GeneralNames).
pub(crate) fn parse(extension_value: &[u8]) -> Result<Vec<San>> {
    let names = der::single(extension_value, WHAT)?;
    der::elements(names.sequence(WHAT)?, WHAT)?
        .iter()
        .map(|name| {
            if name.any.class() != Class::ContextSpecific {
                return Err(der::bad(WHAT, "a GeneralName is not context-tagged".into()));
            }
            let data = name.any.data;
            let ia5 = || {
                std::str::from_utf8(data)
                    .map(str::to_owned)
                    .map_err(|_| der::bad(WHAT, "a name is not text".into()))
            };
            Ok(match name.any.tag().0 {
                OTHER_NAME => San::OtherName(parse_other_name(data)?),
                RFC822_NAME => San::Email(ia5()?),
                DNS_NAME => San::Dns(ia5()?),
                URI => San::Uri(ia5()?),
                IP_ADDRESS => San::Ip(parse_ip(data)?.to_string()),
                tag => {
                    return Err(Error::UnsupportedSan(format!(
                        "GeneralName [{tag}] (only DNS, IP, URI, email and otherName are supported)"
                    )));
                }
            })
        })
        .collect()
}

/// otherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }, content only.
fn parse_other_name(content: &[u8]) -> Result<OtherName> {
    match der::elements(content, WHAT)?.as_slice() {
        [type_id, value] if value.is_context(0) => Ok(OtherName {
            type_id: type_id.oid(WHAT)?.to_id_string(),
            value: value.any.data.to_vec(),
        }),
        _ => Err(der::bad(WHAT, "malformed otherName".into())),
    }
}

fn parse_ip(octets: &[u8]) -> Result<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        Ok(IpAddr::from(v4))
    } else if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        Ok(IpAddr::from(v6))
    } else {
        Err(der::bad(
            WHAT,
            format!("an IP address of {} bytes", octets.len()),
        ))
    }
}

/// Encodes SANs as the SAN extension's value (GeneralNames).
pub(crate) fn encode(sans: &[San]) -> Result<Vec<u8>> {
    let mut content = Vec::new();
    for san in sans {
        let implicit = |tag: u32, text: &str| {
            if text.is_ascii() {
                Ok(der::tlv(0x80 | tag as u8, text.as_bytes()))
            } else {
                Err(Error::UnsupportedSan(format!(
                    "{san} is not ASCII (an IA5String)"
                )))
            }
        };
        content.extend(match san {
            San::Dns(s) => implicit(DNS_NAME, s)?,
            San::Email(s) => implicit(RFC822_NAME, s)?,
            San::Uri(s) => implicit(URI, s)?,
            San::Ip(s) => {
                let octets = match s.parse::<IpAddr>() {
                    Ok(IpAddr::V4(a)) => a.octets().to_vec(),
                    Ok(IpAddr::V6(a)) => a.octets().to_vec(),
                    Err(_) => {
                        return Err(Error::UnsupportedSan(format!("{s:?} is not an IP address")));
                    }
                };
                der::tlv(0x80 | IP_ADDRESS as u8, &octets)
            }
            San::OtherName(o) => {
                // The value must itself be one DER element, or the extension would be garbage.
                der::single(&o.value, "an otherName value")?;
                let mut inner = der::oid_tlv(&der::parse_oid(&o.type_id, "otherName type-id")?);
                inner.extend(der::tlv(0xa0, &o.value));
                der::tlv(0xa0 | OTHER_NAME as u8, &inner)
            }
        });
    }
    Ok(der::tlv(0x30, &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let sans = vec![
            San::Dns("example.com".into()),
            San::Ip("192.0.2.1".into()),
            San::Ip("2001:db8::1".into()),
            San::Uri("spiffe://example.org/ns/a".into()),
            San::Email("a@example.com".into()),
            San::OtherName(OtherName {
                type_id: "1.3.6.1.4.1.311.20.2.3".into(),
                value: der::tlv(0x0c, b"u@x"),
            }),
        ];
        assert_eq!(parse(&encode(&sans).unwrap()).unwrap(), sans);
    }

    #[test]
    fn ip_text_is_made_canonical() {
        let encoded = encode(&[San::Ip("2001:DB8:0::1".into())]).unwrap();
        assert_eq!(
            parse(&encoded).unwrap(),
            vec![San::Ip("2001:db8::1".into())]
        );
    }

    #[test]
    fn rejects_what_cannot_be_encoded() {
        assert!(matches!(
            encode(&[San::Ip("nope".into())]),
            Err(Error::UnsupportedSan(_))
        ));
        assert!(matches!(
            encode(&[San::Dns("bücher.example".into())]),
            Err(Error::UnsupportedSan(_))
        ));
    }
}
