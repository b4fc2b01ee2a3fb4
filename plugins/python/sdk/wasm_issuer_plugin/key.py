"""Keys the issuer grants: open one by name, issue certificates with it.
The private key stays in the host: the plugin holds a handle."""

from componentize_py_types import Err
from wit_world.imports import certificate_builder, keys, types

from .text import debug


class Key:
    """A key the issuer grants to the plugin under a name (`ca`, ...)."""

    def __init__(self, raw, name):
        self.raw = raw
        self.name = name

    @classmethod
    def open(cls, name):
        """Opens the key granted under `name`. One that is not granted, or
        cannot be used, is the operator's to fix: issuer-not-ready."""
        try:
            return cls(keys.Key.open(name), name)
        except Err as error:
            raise Err(
                types.Error_IssuerNotReady(f"cannot open the key {debug(name)}: {error.value}")
            ) from None

    def certificate(self):
        """The key's certificate (the first of tls.crt), if the grant has one."""
        return self.raw.certificate()

    def issue(self, template):
        """Has the host build and sign the certificate `template` describes;
        its DER. The template is the plugin's own making, so a refusal will
        not go away on a retry: permanent."""
        try:
            return certificate_builder.issue(template, self.raw)
        except Err as error:
            raise Err(
                types.Error_Permanent(f"issuing with the key {debug(self.name)} failed: {error.value}")
            ) from None

    def issued(self, leaf):
        """What a signer returns for `leaf`, issued with this key."""
        return chain_for(leaf, self.raw.chain(), self.raw.ca())


def chain_for(leaf, key_chain, ca):
    """The leaf, then the issuing key's chain (tls.crt) without a self-signed
    root; the CA is ca.crt when granted, else the top of tls.crt."""
    top = key_chain[-1] if key_chain else None
    if key_chain and _is_self_signed(key_chain[-1]):
        key_chain = key_chain[:-1]
    return types.Issued(chain=[leaf, *key_chain], ca=ca if ca is not None else top)


def _is_self_signed(certificate):
    """Whether the certificate names itself as its issuer; false for anything unreadable."""
    names = _issuer_and_subject(certificate)
    return names is not None and names[0] == names[1]


def _issuer_and_subject(certificate):
    """The issuer and subject Names (whole encodings) of a certificate:
    just enough DER to leave a root out of a chain without an X.509 parser."""
    outer = _tlv(certificate, 0, len(certificate))
    tbs = outer and _tlv(certificate, outer[0], outer[1])
    if tbs is None:
        return None
    fields = _Fields(certificate, *tbs)
    # The serial number, after the optional [0] version.
    if fields.next_tag() == 0xA0:
        fields.next_tag()
    fields.next_tag()  # the signature algorithm
    issuer = fields.next_whole()
    fields.next_tag()  # the validity
    subject = fields.next_whole()
    return None if fields.broken else (issuer, subject)


class _Fields:
    """The TLVs of a constructed value's content, one after the other."""

    def __init__(self, data, start, end):
        self.data, self.position, self.end = data, start, end
        self.broken = False

    def next_whole(self):
        start = self.position
        return None if self.next_tag() is None else self.data[start : self.position]

    def next_tag(self):
        found = None if self.broken else _tlv(self.data, self.position, self.end)
        if found is None:
            self.broken = True
            return None
        tag = self.data[self.position]
        self.position = found[1]
        return tag


def _tlv(data, start, limit):
    """The TLV at `start`, within `limit`: (content start, end), or None if
    it does not fit."""
    if start + 2 > limit:
        return None
    first = data[start + 1]
    if first < 0x80:
        length, content = first, start + 2
    elif 0x81 <= first <= 0x84:
        content = start + 2 + (first & 0x7F)
        if content > limit:
            return None
        length = int.from_bytes(data[start + 2 : content], "big")
    else:
        return None
    end = content + length
    return None if end > limit else (content, end)
