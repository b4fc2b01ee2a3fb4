//! Just enough DER to tell a self-signed certificate (issuer = subject), so
//! that plugins need no X.509 parser to leave the root out of a chain.

/// One TLV: its tag, the whole encoding, and its content.
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

/// Reads the TLV at the front of `input` and advances past it.
fn next<'a>(input: &mut &'a [u8]) -> Option<Tlv<'a>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
            (length, rest)
        }
        _ => return None,
    };
    let (content, rest) = rest.split_at_checked(length)?;
    let whole = &input[..input.len() - rest.len()];
    *input = rest;
    Some(Tlv {
        tag,
        whole,
        content,
    })
}

/// The issuer and subject Names (whole encodings) of a certificate.
fn issuer_and_subject(certificate: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut input = certificate;
    let mut certificate = next(&mut input)?.content;
    let mut tbs = next(&mut certificate)?.content;
    // Skip the serial number, and the optional [0] version before it.
    if next(&mut tbs)?.tag == 0xa0 {
        next(&mut tbs)?;
    }
    let _signature_algorithm = next(&mut tbs)?;
    let issuer = next(&mut tbs)?.whole;
    let _validity = next(&mut tbs)?;
    let subject = next(&mut tbs)?.whole;
    Some((issuer, subject))
}

/// Whether the certificate names itself as its issuer; false for anything unreadable.
pub(crate) fn is_self_signed(certificate: &[u8]) -> bool {
    issuer_and_subject(certificate).is_some_and(|(issuer, subject)| issuer == subject)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    fn name(cn: &str) -> Vec<u8> {
        tlv(0x30, cn.as_bytes())
    }

    /// A certificate shaped enough for `issuer_and_subject`.
    pub(crate) fn certificate(issuer: &str, subject: &str) -> Vec<u8> {
        let tbs = [
            tlv(0xa0, &tlv(0x02, &[2])),
            tlv(0x02, &[1]),
            tlv(0x30, &[]),
            name(issuer),
            tlv(0x30, &[]),
            name(subject),
            tlv(0x30, &[0; 200]),
        ]
        .concat();
        tlv(
            0x30,
            &[tlv(0x30, &tbs), tlv(0x30, &[]), tlv(0x03, &[0])].concat(),
        )
    }

    #[test]
    fn reads_issuer_and_subject() {
        let cert = certificate("root", "intermediate");
        assert_eq!(
            issuer_and_subject(&cert),
            Some((&name("root")[..], &name("intermediate")[..]))
        );
        assert!(!is_self_signed(&cert));
        assert!(is_self_signed(&certificate("root", "root")));
    }

    #[test]
    fn garbage_is_not_self_signed() {
        let cert = certificate("root", "root");
        for bad in [
            &[][..],
            &[0x30, 0x85, 0, 0, 0, 0, 1][..],
            &cert[..cert.len() / 2],
        ] {
            assert!(!is_self_signed(bad));
        }
    }
}
