"""The CA's decisions, as plain functions of plain data: None when all is
well, else why not, in the Rust twin's words."""

from wasm_issuer_plugin.text import debug, format_time
from wasm_issuer_plugin.usage import NAMES, canonical, is_extended
from wit_world.imports.types import Usage


def usable_ca(key, certificate, now):
    """Why the key's certificate cannot issue at `now` (absent, not a CA,
    outside its validity), naming the key; None if it can."""
    if certificate is None:
        return f"the key {debug(key)} has no certificate (tls.crt)"
    subject = certificate.subject
    if not certificate.is_ca:
        return f"the certificate of the key {debug(key)} ({subject}) is not a CA"
    if now < certificate.not_before:
        return (
            f"the CA certificate of the key {debug(key)} ({subject}) "
            f"is not valid before {format_time(certificate.not_before)}"
        )
    if now >= certificate.not_after:
        return (
            f"the CA certificate of the key {debug(key)} ({subject}) "
            f"expired at {format_time(certificate.not_after)}"
        )
    return None


def consistent_with_csr(csr_is_ca, csr_usages, is_ca, usages):
    """Why what the CSR itself asks for (BasicConstraints, KeyUsage,
    ExtendedKeyUsage) contradicts the request's isCA and usages; None if not.

    Like cert-manager, usages are compared only when both the CSR and the
    request carry some, the KeyUsage and ExtendedKeyUsage parts each only
    when the CSR has that part; a CA's cert sign counts as requested on both
    sides."""
    if csr_is_ca is not None and csr_is_ca != is_ca:
        return (
            f"the CSR's BasicConstraints say isCA={_bool(csr_is_ca)} "
            f"but the request says isCA={_bool(is_ca)}"
        )
    if not usages:
        return None
    for extended, extension in ((False, "KeyUsage"), (True, "ExtendedKeyUsage")):
        if not any(is_extended(usage) == extended for usage in csr_usages):
            continue
        implied = [Usage.CERT_SIGN] if is_ca and not extended else []
        in_csr = _part(csr_usages, extended, implied)
        requested = _part(usages, extended, implied)
        if in_csr != requested:
            return (
                f"the CSR's {extension} ({_names(in_csr)}) "
                f"contradicts the requested usages ({_names(requested)})"
            )
    return None


def _part(usages, extended, implied):
    """The key or extended key usages among `usages`, folded, in the Rust
    twin's (the WIT enum's) order."""
    part = {canonical(usage) for usage in usages if is_extended(usage) == extended}
    part.update(canonical(usage) for usage in implied)
    return sorted(part, key=lambda usage: usage.value)


def _names(usages):
    return ", ".join(NAMES[usage] for usage in usages)


def _bool(value):
    return "true" if value else "false"
