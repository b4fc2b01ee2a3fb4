"""`dnsNames` patterns: an exact name, or `*.<suffix>` for exactly one label
in front of the suffix."""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class PatternError(Exception):
    """Why a `dnsNames` entry is not a pattern (the words follow the entry)."""


def parse(text):
    """A valid pattern, normalised: `("exact", name)` or `("wildcard", suffix)`."""
    if not text.isascii():
        # CSRs carry IDNs as A-labels, so a U-label pattern could never match.
        raise PatternError("is not ASCII (write an IDN in its xn-- form)")
    normal = normalise(text)
    if not normal:
        raise PatternError("is empty")
    if normal.startswith("*."):
        suffix = normal[2:]
        if suffix and "*" not in suffix:
            return ("wildcard", suffix)
    elif "*" not in normal:
        return ("exact", normal)
    raise PatternError("has a `*` that is not the whole first label of `*.<suffix>`")


def matches(pattern, name):
    """Whether a requested DNS name matches. A wildcard matches one more
    label in front of its suffix, which includes the literal wildcard request
    `*.<suffix>` itself."""
    kind, value = pattern
    name = normalise(name)
    if kind == "exact":
        return name == value
    if not name.endswith("." + value):
        return False
    label = name[: -len(value) - 1]
    return bool(label) and "." not in label


def normalise(name):
    """ASCII lowercase, without one trailing dot (a fully qualified name)."""
    return name.removesuffix(".").translate(_ASCII_LOWER)
