"""cert-manager's key usages, as the Rust SDK names and folds them."""

from wit_world.imports.types import Usage

# cert-manager's name for each usage, as in a Certificate's `spec.usages`.
NAMES = {
    Usage.SIGNING: "signing",
    Usage.DIGITAL_SIGNATURE: "digital signature",
    Usage.CONTENT_COMMITMENT: "content commitment",
    Usage.KEY_ENCIPHERMENT: "key encipherment",
    Usage.KEY_AGREEMENT: "key agreement",
    Usage.DATA_ENCIPHERMENT: "data encipherment",
    Usage.CERT_SIGN: "cert sign",
    Usage.CRL_SIGN: "crl sign",
    Usage.ENCIPHER_ONLY: "encipher only",
    Usage.DECIPHER_ONLY: "decipher only",
    Usage.ANY: "any",
    Usage.SERVER_AUTH: "server auth",
    Usage.CLIENT_AUTH: "client auth",
    Usage.CODE_SIGNING: "code signing",
    Usage.EMAIL_PROTECTION: "email protection",
    Usage.SMIME: "s/mime",
    Usage.IPSEC_END_SYSTEM: "ipsec end system",
    Usage.IPSEC_TUNNEL: "ipsec tunnel",
    Usage.IPSEC_USER: "ipsec user",
    Usage.TIMESTAMPING: "timestamping",
    Usage.OCSP_SIGNING: "ocsp signing",
    Usage.MICROSOFT_SGC: "microsoft sgc",
    Usage.NETSCAPE_SGC: "netscape sgc",
}

_KEY_USAGES = frozenset(
    {
        Usage.SIGNING,
        Usage.DIGITAL_SIGNATURE,
        Usage.CONTENT_COMMITMENT,
        Usage.KEY_ENCIPHERMENT,
        Usage.KEY_AGREEMENT,
        Usage.DATA_ENCIPHERMENT,
        Usage.CERT_SIGN,
        Usage.CRL_SIGN,
        Usage.ENCIPHER_ONLY,
        Usage.DECIPHER_ONLY,
    }
)

# cert-manager's defaults when a request names no usages.
_DEFAULT = (Usage.DIGITAL_SIGNATURE, Usage.KEY_ENCIPHERMENT)


def is_extended(usage):
    """Whether the usage is an extended key usage (ExtendedKeyUsage
    extension) rather than a key usage (KeyUsage extension)."""
    return usage not in _KEY_USAGES


def canonical(usage):
    """One name for usages that cert-manager encodes the same way
    (`signing` is `digital signature`, `s/mime` is `email protection`)."""
    return {Usage.SIGNING: Usage.DIGITAL_SIGNATURE, Usage.SMIME: Usage.EMAIL_PROTECTION}.get(
        usage, usage
    )


def effective_usages(requested, is_ca):
    """The usages a certificate gets, as cert-manager computes them: its
    defaults when none are requested, cert sign added for a CA, synonyms
    folded, no duplicates, in order."""
    usages = []
    for usage in [*(requested or _DEFAULT), *([Usage.CERT_SIGN] if is_ca else [])]:
        usage = canonical(usage)
        if usage not in usages:
            usages.append(usage)
    return usages
