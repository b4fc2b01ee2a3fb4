//! Distinguished names: the contract's view (attributes, RFC 4514 text) and
//! the rcgen form used to write subjects and issuers back.

use std::collections::HashSet;

use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{DnType, DnValue};
use x509_parser::asn1_rs::{Class, Oid, Tag};

use crate::der::{self, Element};
use crate::{Error, Result};

/// One attribute of a distinguished name, in the order it appears (WIT `name-attribute`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAttribute {
    /// Dotted OID, e.g. "2.5.4.3" for commonName.
    pub oid: String,
    /// Conventional short name ("CN", "O", ...), empty when unknown.
    pub short_name: String,
    /// The value as text; a value that is not a string is `#` followed by its DER in hex (RFC 4514).
    pub value: String,
}

/// A distinguished name (WIT `distinguished-name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName {
    /// The DER encoding, exactly as it appeared.
    pub der: Vec<u8>,
    /// RFC 4514 text, e.g. "CN=example.com,O=Example" (last RDN first).
    pub text: String,
    /// The first commonName, if any.
    pub common_name: Option<String>,
    /// Every attribute in encoding order (a multi-valued RDN contributes each of its attributes).
    pub attributes: Vec<NameAttribute>,
}

const COMMON_NAME: &str = "2.5.4.3";

/// Short names of RFC 4514 plus the two Go (and so cert-manager) prints too.
const SHORT_NAMES: &[(&str, &str)] = &[
    (COMMON_NAME, "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.17", "POSTALCODE"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
];

/// One AttributeTypeAndValue, borrowed from the name's DER.
struct RawAttribute<'a> {
    oid: Oid<'a>,
    value: Element<'a>,
}

impl RawAttribute<'_> {
    /// The value decoded as text, when it is one of the directory string types.
    fn text(&self) -> Option<String> {
        let data = self.value.any.data;
        if self.value.any.class() != Class::Universal {
            return None;
        }
        match self.value.any.tag() {
            Tag::Utf8String
            | Tag::PrintableString
            | Tag::Ia5String
            | Tag::NumericString
            | Tag::VisibleString => String::from_utf8(data.to_vec()).ok(),
            // T.61 in practice carries Latin-1.
            Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
            Tag::BmpString if data.len().is_multiple_of(2) => char::decode_utf16(
                data.chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]])),
            )
            .collect::<Result<String, _>>()
            .ok(),
            Tag::UniversalString if data.len().is_multiple_of(4) => data
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            _ => None,
        }
    }

    /// The value as the contract shows it: text, or RFC 4514's `#hex` of the DER.
    fn display_value(&self) -> String {
        self.text()
            .unwrap_or_else(|| format!("#{}", hex(self.value.raw)))
    }

    /// The same value as rcgen writes it, or why rcgen cannot.
    fn rcgen_value(&self) -> Result<DnValue> {
        let data = self.value.any.data;
        let unrepresentable =
            |why: &str| Error::UnrepresentableName(format!("attribute {}: {why}", self.oid));
        let text = || std::str::from_utf8(data).map_err(|_| unrepresentable("value is not UTF-8"));
        if self.value.any.class() != Class::Universal {
            return Err(unrepresentable("value is not a string"));
        }
        Ok(match self.value.any.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?.to_owned()),
            Tag::PrintableString => DnValue::PrintableString(
                PrintableString::try_from(text()?)
                    .map_err(|_| unrepresentable("invalid PrintableString"))?,
            ),
            Tag::Ia5String => DnValue::Ia5String(
                Ia5String::try_from(text()?).map_err(|_| unrepresentable("invalid IA5String"))?,
            ),
            Tag::TeletexString => DnValue::TeletexString(
                TeletexString::try_from(text()?)
                    .map_err(|_| unrepresentable("TeletexString outside ASCII"))?,
            ),
            Tag::BmpString => DnValue::BmpString(
                BmpString::from_utf16be(data.to_vec())
                    .map_err(|_| unrepresentable("invalid BMPString"))?,
            ),
            Tag::UniversalString => DnValue::UniversalString(
                UniversalString::from_utf32be(data.to_vec())
                    .map_err(|_| unrepresentable("invalid UniversalString"))?,
            ),
            tag => {
                return Err(unrepresentable(&format!(
                    "rcgen cannot write a value of tag {tag}"
                )));
            }
        })
    }
}

/// Parses Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue).
fn parse_rdns(der: &[u8]) -> Result<Vec<Vec<RawAttribute<'_>>>> {
    const WHAT: &str = "the distinguished name";
    let name = der::single(der, WHAT)?;
    der::elements(name.sequence(WHAT)?, WHAT)?
        .iter()
        .map(|rdn| {
            let set = rdn.expect(Class::Universal, Tag::Set, WHAT)?;
            let attributes = der::elements(set, WHAT)?
                .iter()
                .map(
                    |atv| match der::elements(atv.sequence(WHAT)?, WHAT)?.as_slice() {
                        [oid, value] => Ok(RawAttribute {
                            oid: oid.oid(WHAT)?,
                            value: Element {
                                any: value.any.clone(),
                                raw: value.raw,
                            },
                        }),
                        _ => Err(der::bad(
                            WHAT,
                            "an attribute is not a (type, value) pair".into(),
                        )),
                    },
                )
                .collect::<Result<Vec<_>>>()?;
            if attributes.is_empty() {
                return Err(der::bad(WHAT, "empty relative distinguished name".into()));
            }
            Ok(attributes)
        })
        .collect()
}

impl DistinguishedName {
    /// Parses a DER Name, keeping its bytes.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let rdns = parse_rdns(der)?;
        let attributes: Vec<NameAttribute> = rdns
            .iter()
            .flatten()
            .map(|a| {
                let oid = a.oid.to_id_string();
                NameAttribute {
                    short_name: short_name(&oid).unwrap_or_default().to_owned(),
                    value: a.display_value(),
                    oid,
                }
            })
            .collect();
        let text = rdns
            .iter()
            .rev()
            .map(|rdn| {
                rdn.iter()
                    .map(rfc4514_attribute)
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",");
        let common_name = attributes
            .iter()
            .find(|a| a.oid == COMMON_NAME)
            .map(|a| a.value.clone());
        Ok(Self {
            der: der.to_vec(),
            text,
            common_name,
            attributes,
        })
    }
}

/// RFC 4514 text of a DER Name (used for certificates' subjects).
pub(crate) fn rfc4514(der: &[u8]) -> Result<String> {
    DistinguishedName::from_der(der).map(|n| n.text)
}

fn short_name(oid: &str) -> Option<&'static str> {
    SHORT_NAMES.iter().find(|(o, _)| *o == oid).map(|(_, s)| *s)
}

fn rfc4514_attribute(a: &RawAttribute<'_>) -> String {
    let oid = a.oid.to_id_string();
    match (short_name(&oid), a.text()) {
        (Some(short), Some(text)) => format!("{short}={}", escape(&text)),
        // RFC 4514 2.4: a type without a short name is written with its value's DER in hex.
        _ => format!("{oid}=#{}", hex(a.value.raw)),
    }
}

/// Escapes a value as RFC 4514 section 2.4 requires.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => out.push('\\'),
            '#' if i == 0 => out.push('\\'),
            ' ' if i == 0 || i == last => out.push('\\'),
            _ => {}
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// rcgen's form of a DER Name, with every value's string type kept.
///
/// rcgen 0.14 holds a name as a map from attribute type to value, so it can
/// neither write a multi-valued RDN nor the same attribute type twice (e.g. two
/// OUs); such names are refused here rather than silently changed.
pub(crate) fn rcgen_from_der(der: &[u8]) -> Result<rcgen::DistinguishedName> {
    let mut seen = HashSet::new();
    let mut name = rcgen::DistinguishedName::new();
    for rdn in parse_rdns(der)? {
        let [attribute] = rdn.as_slice() else {
            return Err(Error::UnrepresentableName(
                "multi-valued RDNs are not supported".into(),
            ));
        };
        let oid = attribute.oid.to_id_string();
        if !seen.insert(oid.clone()) {
            return Err(Error::UnrepresentableName(format!(
                "attribute {oid} appears more than once"
            )));
        }
        name.push(
            DnType::from_oid(&der::oid_arcs(&attribute.oid)?),
            attribute.rcgen_value()?,
        );
    }
    Ok(name)
}

/// rcgen's form of a list of attributes, each value a UTF8String (as the WIT says).
pub(crate) fn rcgen_from_attributes(
    attributes: &[NameAttribute],
) -> Result<rcgen::DistinguishedName> {
    let mut name = rcgen::DistinguishedName::new();
    for a in attributes {
        let ty = DnType::from_oid(&der::oid_arcs(&der::parse_oid(
            &a.oid,
            "subject attribute",
        )?)?);
        if name.get(&ty).is_some() {
            return Err(Error::UnrepresentableName(format!(
                "attribute {} appears more than once",
                a.oid
            )));
        }
        name.push(ty, DnValue::Utf8String(a.value.clone()));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_rfc4514_specials() {
        assert_eq!(
            escape(" a,b+c\"d\\e;f<g>h "),
            "\\ a\\,b\\+c\\\"d\\\\e\\;f\\<g\\>h\\ "
        );
        assert_eq!(escape("#x#"), "\\#x#");
    }
}
