"""Certificate templates for the host's certificate builder."""

from wit_world.imports import certificate_builder

from .usage import effective_usages

# cert-manager's default certificate lifetime, used when a request gives none.
DEFAULT_DURATION_SECONDS = 90 * 24 * 3600
_I64_MAX = (1 << 63) - 1


def from_request_at(request, now):
    """The certificate that cert-manager's CA issuer makes for `request`: the
    CSR's subject copied literally, all its SANs, its public key; isCA and the
    effective usages as requested; valid from `now` (Unix seconds) for the
    requested duration."""
    lifetime = request.duration_seconds or DEFAULT_DURATION_SECONDS
    return certificate_builder.CertificateTemplate(
        subject=certificate_builder.Subject_Der(request.csr.subject.der),
        sans=request.csr.sans,
        public_key=request.csr.public_key.spki_der,
        not_before=now,
        not_after=min(now + min(lifetime, _I64_MAX), _I64_MAX),
        is_ca=request.is_ca,
        path_length=None,
        usages=effective_usages(request.usages, request.is_ca),
        extensions=[],
    )


def clamp_not_after(template, limit):
    """Ends the validity at `limit` at the latest (e.g. the issuing CA's
    NotAfter, so that a leaf never outlives its CA). Returns whether it did."""
    clamped = template.not_after > limit
    template.not_after = min(template.not_after, limit)
    return clamped
