"""Text the way the Rust plugins write it, so that twins word their messages
byte for byte alike."""

from bisect import bisect_right

from .unicode_escapes import ESCAPED_RANGES

# The starts of the ranges, to search.
_STARTS = ESCAPED_RANGES[::2]
_ESCAPES = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"'}


def debug(text):
    """Rust's `{:?}` of a string: quoted, with `\\n`-style escapes, and
    `\\u{...}` for what is not printable or extends a grapheme."""
    out = ['"']
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _escaped_as_unicode(ord(char)):
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _escaped_as_unicode(code):
    """Whether Rust writes the code point as `\\u{...}`: it is not printable
    (Unicode's Other and Separator categories but for the ASCII space) or it
    extends a grapheme."""
    if code < 0x80:
        return code < 0x20 or code == 0x7F
    index = bisect_right(_STARTS, code) - 1
    return index >= 0 and code <= ESCAPED_RANGES[2 * index + 1]


def format_time(unix):
    """Unix seconds as RFC 3339 UTC text (`2025-01-31T12:00:00Z`), as the
    Rust SDK's `format_time` writes them."""
    days, seconds = divmod(unix, 86_400)
    year, month, day = _civil_from_days(days)
    return (
        f"{year:04}-{month:02}-{day:02}T"
        f"{seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02}Z"
    )


def _civil_from_days(days):
    """The proleptic Gregorian date of a day count since 1970-01-01
    (Howard Hinnant's `civil_from_days`, as in the Rust SDK)."""
    z = days + 719_468
    era, day_of_era = divmod(z, 146_097)
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day
