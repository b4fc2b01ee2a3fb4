"""The reference CA signer in Python: the twin of the Rust `plugins/ca`,
with the same configuration, checks, template and messages. It signs with a
key the issuer grants (tls.crt/tls.key from a Secret), through the host's
certificate builder: a leaf never outlives its CA, and an expired or
not-yet-valid CA is refused with a clear issuer condition.

Configuration: `{"key": "ca"}`, all optional; the key defaults to `ca`.
"""

import time

import rules
from componentize_py_types import Err
from wasm_issuer_plugin import config as serde
from wasm_issuer_plugin import template
from wasm_issuer_plugin.key import Key
from wasm_issuer_plugin.text import format_time
from wit_world import exports
from wit_world.imports import log, types

# The name under which the issuer grants the CA's key.
_CONFIG = serde.Struct("Config", [serde.Field("key", serde.String(), lambda: "ca")])


class Signer(exports.Signer):
    def check(self, issuer: types.Issuer) -> None:
        _open_ca(issuer)

    def sign(self, request: types.CertificateRequest) -> types.Issued:
        key, ca = _open_ca(request.issuer)
        contradiction = rules.consistent_with_csr(
            request.csr.requested_is_ca,
            request.csr.requested_usages,
            request.is_ca,
            request.usages,
        )
        if contradiction is not None:
            raise Err(types.Error_InvalidRequest(contradiction))
        certificate = template.from_request_at(request, _now())
        if template.clamp_not_after(certificate, ca.not_after):
            log.log(
                log.Level.INFO,
                f"{request.namespace}/{request.name}: NotAfter clamped to the CA's, "
                f"{format_time(ca.not_after)}",
            )
        return key.issued(key.issue(certificate))


def _open_ca(issuer):
    """The configured key and its certificate, which must be a CA valid now."""
    try:
        config = serde.issuer_config(issuer.config, _CONFIG)
    except serde.InvalidConfig as invalid:
        raise Err(types.Error_IssuerNotReady(str(invalid))) from None
    key = Key.open(config["key"])
    certificate = key.certificate()
    refusal = rules.usable_ca(key.name, certificate, _now())
    if refusal is not None:
        raise Err(types.Error_IssuerNotReady(refusal))
    return key, certificate


def _now():
    """The host's wall clock as Unix seconds, the contract's unit."""
    return int(time.time())
