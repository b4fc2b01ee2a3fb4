//! The few DER primitives the crate needs beyond what x509-parser offers:
//! splitting a structure into its elements (keeping each element's raw bytes,
//! so values can be copied verbatim) and writing a TLV.

use std::str::FromStr;

use x509_parser::asn1_rs::{Any, Class, FromDer, Oid, Tag};

use crate::{Error, Result};

/// One DER element: the decoded header and content, and the exact bytes it came from.
pub(crate) struct Element<'a> {
    pub(crate) any: Any<'a>,
    pub(crate) raw: &'a [u8],
}

impl<'a> Element<'a> {
    /// The content of a universal SEQUENCE, or an error naming `what`.
    pub(crate) fn sequence(&self, what: &'static str) -> Result<&'a [u8]> {
        self.expect(Class::Universal, Tag::Sequence, what)
    }

    /// The content of an element of class `class` and tag `tag`.
    pub(crate) fn expect(&self, class: Class, tag: Tag, what: &'static str) -> Result<&'a [u8]> {
        if self.any.class() == class && self.any.tag() == tag {
            Ok(self.any.data)
        } else {
            Err(bad(
                what,
                format!(
                    "expected {class:?} tag {tag}, found {:?} tag {}",
                    self.any.class(),
                    self.any.tag()
                ),
            ))
        }
    }

    /// Whether this is a context-specific element with tag number `n`.
    pub(crate) fn is_context(&self, n: u32) -> bool {
        self.any.class() == Class::ContextSpecific && self.any.tag() == Tag(n)
    }

    /// The element as an OBJECT IDENTIFIER.
    pub(crate) fn oid(&self, what: &'static str) -> Result<Oid<'a>> {
        self.expect(Class::Universal, Tag::Oid, what)?;
        Oid::try_from(self.any.clone()).map_err(|e| bad(what, e.to_string()))
    }
}

/// Decodes exactly one element spanning all of `der`.
pub(crate) fn single<'a>(der: &'a [u8], what: &'static str) -> Result<Element<'a>> {
    match elements(der, what)?.as_slice() {
        [one] => Ok(Element {
            any: one.any.clone(),
            raw: one.raw,
        }),
        [] => Err(bad(what, "empty input".into())),
        _ => Err(bad(what, "trailing data after the structure".into())),
    }
}

/// Splits `content` (e.g. a SEQUENCE's content) into its elements, in order.
pub(crate) fn elements<'a>(mut content: &'a [u8], what: &'static str) -> Result<Vec<Element<'a>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (rest, any) = Any::from_der(content).map_err(|e| bad(what, e.to_string()))?;
        out.push(Element {
            any,
            raw: &content[..content.len() - rest.len()],
        });
        content = rest;
    }
    Ok(out)
}

/// Encodes a TLV whose tag fits in one byte (all the crate writes).
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let significant = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// Parses a dotted OID such as "2.5.4.3".
pub(crate) fn parse_oid(dotted: &str, what: &'static str) -> Result<Oid<'static>> {
    Oid::from_str(dotted)
        .map_err(|_| Error::InvalidTemplate(format!("{what} {dotted:?} is not a dotted OID")))
}

/// The arcs of an OID (rcgen takes OIDs as `&[u64]`).
pub(crate) fn oid_arcs(oid: &Oid<'_>) -> Result<Vec<u64>> {
    oid.iter()
        .map(Iterator::collect)
        .ok_or_else(|| Error::InvalidTemplate(format!("OID {oid} has an arc too large to encode")))
}

/// An OID's DER TLV.
pub(crate) fn oid_tlv(oid: &Oid<'_>) -> Vec<u8> {
    tlv(0x06, oid.as_bytes())
}

pub(crate) fn bad(what: &'static str, reason: String) -> Error {
    Error::BadDer { what, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_uses_short_and_long_lengths() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
