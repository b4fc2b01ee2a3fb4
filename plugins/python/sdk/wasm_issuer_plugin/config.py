"""Reading a plugin's JSON configuration the way the Rust plugins do.

A Rust plugin reads its configuration with serde_json into a
`#[derive(Deserialize)]` struct, and a refusal quotes serde_json's message.
A twin in Python must accept the same configurations and refuse the others
with the same words, at the same line and column. So this is a port of the
part of serde_json's deserializer that such structs use (structs, sequences,
strings, booleans, options), following its code paths: which bytes each step
consumes decides the position an error reports.

Describe the Rust struct with `Struct`, `Field` and the value types, then
`read(text, schema)`: a dict keyed by the JSON field names, or `ConfigError`
whose `str()` is serde_json's `Error` display. `issuer_config` reads an
issuer's configuration as the Rust SDK's `Issuer::config` does.

Floats where a configuration wants something else are described with the
shortest digits that read back the same; serde_json's own float parsing
can be one unit off in the last place for some long numbers (its
`float_roundtrip` feature is off), and then the description differs.
"""

import re

from .text import debug

_EOF_VALUE = "EOF while parsing a value"
_EOF_LIST = "EOF while parsing a list"
_EOF_OBJECT = "EOF while parsing an object"
_EOF_STRING = "EOF while parsing a string"
_WHITESPACE = b" \n\t\r"
_NUMBER = re.compile(rb"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_ESCAPES = {
    ord('"'): '"',
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}
_U64_MAX = (1 << 64) - 1


class ConfigError(Exception):
    """serde_json's error: a message, and where it was found (line 0: not yet known)."""

    def __init__(self, message, line=0, column=0):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self):
        if self.line == 0:
            return self.message
        return f"{self.message} at line {self.line} column {self.column}"


class String:
    """A Rust `String`."""

    expecting = "a string"

    def deserialize(self, reader):
        peek = reader.whitespace()
        if peek is None:
            raise reader.peek_error(_EOF_VALUE)
        if peek != ord('"'):
            raise reader.peek_invalid_type(self.expecting)
        reader.eat()
        return reader.parse_str()


class Bool:
    """A Rust `bool`."""

    expecting = "a boolean"

    def deserialize(self, reader):
        peek = reader.whitespace()
        if peek is None:
            raise reader.peek_error(_EOF_VALUE)
        for literal, value in ((b"true", True), (b"false", False)):
            if peek == literal[0]:
                reader.eat()
                reader.parse_ident(literal[1:])
                return value
        raise reader.peek_invalid_type(self.expecting)


class Option:
    """A Rust `Option<T>`: null is None."""

    def __init__(self, inner):
        self.inner = inner
        self.expecting = inner.expecting

    def deserialize(self, reader):
        if reader.whitespace() == ord("n"):
            reader.eat()
            reader.parse_ident(b"ull")
            return None
        return self.inner.deserialize(reader)


class Seq:
    """A Rust `Vec<T>`."""

    expecting = "a sequence"

    def __init__(self, inner):
        self.inner = inner

    def deserialize(self, reader):
        peek = reader.whitespace()
        if peek is None:
            raise reader.peek_error(_EOF_VALUE)
        if peek != ord("["):
            raise reader.peek_invalid_type(self.expecting)
        reader.eat()
        return reader.visit_then_end(self._visit, reader.end_seq)

    def _visit(self, reader):
        return [self.inner.deserialize(reader) for _ in reader.elements()]


class Field:
    """A struct field: its JSON name, its type, and its default (a
    callable; None for a required field)."""

    def __init__(self, name, kind, default=None):
        self.name = name
        self.kind = kind
        self.default = default


class Struct:
    """A `#[derive(Deserialize)] #[serde(deny_unknown_fields)]` struct named
    `name` (serde quotes it), with its fields in declaration order."""

    def __init__(self, name, fields):
        self.expecting = f"struct {name}"
        self.fields = fields
        self._by_name = {field.name: field for field in fields}
        count = len(fields)
        self._seq_expecting = f"{self.expecting} with {count} element{'' if count == 1 else 's'}"

    def deserialize(self, reader):
        peek = reader.whitespace()
        if peek is None:
            raise reader.peek_error(_EOF_VALUE)
        if peek == ord("{"):
            reader.eat()
            return reader.visit_then_end(self._visit_map, reader.end_map)
        if peek == ord("["):
            reader.eat()
            return reader.visit_then_end(self._visit_seq, reader.end_seq)
        raise reader.peek_invalid_type(self.expecting)

    def _visit_map(self, reader):
        values = {}
        for key in reader.keys():
            field = self._by_name.get(key)
            if field is None:
                raise ConfigError(f"unknown field `{key}`, {_expected_fields(self.fields)}")
            if field.name in values:
                raise ConfigError(f"duplicate field `{key}`")
            reader.object_colon()
            values[field.name] = field.kind.deserialize(reader)
        for field in self.fields:
            if field.name not in values:
                if field.default is None:
                    raise ConfigError(f"missing field `{field.name}`")
                values[field.name] = field.default()
        return values

    def _visit_seq(self, reader):
        # serde reads a struct from an array too, its fields in order.
        values = {}
        elements = reader.elements()
        for index, field in enumerate(self.fields):
            if next(elements, None) is not None:
                values[field.name] = field.kind.deserialize(reader)
            elif field.default is None:
                raise ConfigError(f"invalid length {index}, expected {self._seq_expecting}")
            else:
                values[field.name] = field.default()
        return values


class InvalidConfig(Exception):
    """The plugin configuration cannot be read: the Rust SDK's
    `InvalidConfig` (a signer's issuer is not ready, a policy denies)."""

    def __str__(self):
        return f"invalid plugin configuration: {self.args[0]}"


# What Rust's `str::trim` removes: Unicode's White_Space.
_RUST_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)


def issuer_config(text, schema):
    """The Rust SDK's `Issuer::config`: an empty configuration reads as `{}`."""
    try:
        return read(text.strip(_RUST_WHITESPACE) or "{}", schema)
    except ConfigError as error:
        raise InvalidConfig(str(error)) from None


def _expected_fields(fields):
    names = [f"`{field.name}`" for field in fields]
    if not names:
        return "there are no fields"
    if len(names) == 1:
        return f"expected {names[0]}"
    if len(names) == 2:
        return f"expected {names[0]} or {names[1]}"
    return "expected one of " + ", ".join(names)


def read(text, schema):
    """`serde_json::from_str::<T>(text)` for the type `schema` describes."""
    reader = _Reader(text)
    value = schema.deserialize(reader)
    if reader.whitespace() is not None:
        raise reader.peek_error("trailing characters")
    return value


class _Reader:
    """serde_json's `Deserializer` over a `StrRead`: positions count bytes."""

    def __init__(self, text):
        self.data = text.encode("utf-8", "surrogatepass")
        self.index = 0

    def peek(self):
        return self.data[self.index] if self.index < len(self.data) else None

    def eat(self):
        self.index += 1

    def next_byte(self):
        byte = self.peek()
        if byte is not None:
            self.index += 1
        return byte

    def _position_of(self, index):
        start_of_line = self.data.rfind(b"\n", 0, index) + 1
        return 1 + self.data.count(b"\n", 0, start_of_line), index - start_of_line

    def error(self, message):
        """An error at the last byte consumed."""
        return ConfigError(message, *self._position_of(self.index))

    def peek_error(self, message):
        """An error at the byte looked at but not consumed."""
        return ConfigError(message, *self._position_of(min(len(self.data), self.index + 1)))

    def fix(self, error):
        """serde_json's `fix_position`: a visitor's error gets the current position."""
        if error.line == 0:
            return self.error(error.message)
        return error

    def whitespace(self):
        while (byte := self.peek()) is not None and byte in _WHITESPACE:
            self.eat()
        return byte

    def visit_then_end(self, visit, end):
        """A compound value after its opening bracket: serde_json ends it even
        when visiting failed (which moves the position), then fixes the error."""
        error = None
        try:
            value = visit(self)
        except ConfigError as raised:
            error = raised
        try:
            end()
        except ConfigError as raised:
            error = error or raised
        if error is not None:
            raise self.fix(error)
        return value

    def elements(self):
        """serde_json's `SeqAccess`: yields before each element of an array."""
        first = True
        while True:
            peek = self.whitespace()
            if peek is None:
                raise self.peek_error(_EOF_LIST)
            if peek == ord("]"):
                return
            if first:
                first = False
            elif peek == ord(","):
                self.eat()
                peek = self.whitespace()
                if peek == ord("]"):
                    raise self.peek_error("trailing comma")
                if peek is None:
                    raise self.peek_error(_EOF_VALUE)
            else:
                raise self.peek_error("expected `,` or `]`")
            yield True

    def keys(self):
        """serde_json's `MapAccess`: yields each key of an object."""
        first = True
        while True:
            peek = self.whitespace()
            if peek == ord("}"):
                return
            if peek is None:
                raise self.peek_error(_EOF_OBJECT)
            if first:
                first = False
            elif peek == ord(","):
                self.eat()
                peek = self.whitespace()
            else:
                raise self.peek_error("expected `,` or `}`")
            if peek == ord('"'):
                self.eat()
                yield self.parse_str()
            elif peek == ord("}"):
                raise self.peek_error("trailing comma")
            elif peek is None:
                raise self.peek_error(_EOF_VALUE)
            else:
                raise self.peek_error("key must be a string")

    def object_colon(self):
        peek = self.whitespace()
        if peek == ord(":"):
            self.eat()
        elif peek is None:
            raise self.peek_error(_EOF_OBJECT)
        else:
            raise self.peek_error("expected `:`")

    def end_seq(self):
        peek = self.whitespace()
        if peek == ord("]"):
            self.eat()
        elif peek == ord(","):
            self.eat()
            if self.whitespace() == ord("]"):
                raise self.peek_error("trailing comma")
            raise self.peek_error("trailing characters")
        elif peek is None:
            raise self.peek_error(_EOF_LIST)
        else:
            raise self.peek_error("trailing characters")

    def end_map(self):
        peek = self.whitespace()
        if peek == ord("}"):
            self.eat()
        elif peek == ord(","):
            raise self.peek_error("trailing comma")
        elif peek is None:
            raise self.peek_error(_EOF_OBJECT)
        else:
            raise self.peek_error("trailing characters")

    def parse_ident(self, rest):
        for expected in rest:
            byte = self.next_byte()
            if byte is None:
                raise self.error(_EOF_VALUE)
            if byte != expected:
                raise self.error("expected ident")

    def parse_str(self):
        """The rest of a string whose opening quote was consumed."""
        out = bytearray()
        while True:
            byte = self.next_byte()
            if byte is None:
                raise self.error(_EOF_STRING)
            if byte == ord('"'):
                return out.decode("utf-8")
            if byte < 0x20:
                raise self.error("control character (\\u0000-\\u001F) found while parsing a string")
            if byte != ord("\\"):
                out.append(byte)
                continue
            escape = self.next_byte()
            if escape is None:
                raise self.error(_EOF_STRING)
            if escape in _ESCAPES:
                out += _ESCAPES[escape].encode()
            elif escape == ord("u"):
                out += chr(self._parse_unicode_escape()).encode("utf-8")
            else:
                raise self.error("invalid escape")

    def _parse_unicode_escape(self):
        code = self._hex4()
        if 0xDC00 <= code <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        if not 0xD800 <= code <= 0xDBFF:
            return code
        if self.next_byte() != ord("\\") or self.next_byte() != ord("u"):
            raise self.error("unexpected end of hex escape")
        low = self._hex4()
        if not 0xDC00 <= low <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)

    def _hex4(self):
        digits = self.data[self.index : self.index + 4]
        if len(digits) < 4:
            self.index = len(self.data)
            raise self.error(_EOF_STRING)
        try:
            code = int(digits.decode("ascii"), 16)
        except ValueError:
            raise self.error("invalid escape") from None
        self.index += 4
        return code

    def peek_invalid_type(self, expecting):
        """serde_json's `peek_invalid_type`: reads the value that is there to
        describe it, and reports at the position after it."""
        peek = self.peek()
        if peek == ord("n"):
            self.eat()
            self.parse_ident(b"ull")
            unexpected = "null"
        elif peek in (ord("t"), ord("f")):
            literal = b"true" if peek == ord("t") else b"false"
            self.eat()
            self.parse_ident(literal[1:])
            unexpected = f"boolean `{literal.decode()}`"
        elif peek == ord("-") or (peek is not None and ord("0") <= peek <= ord("9")):
            unexpected = self._parse_number()
        elif peek == ord('"'):
            self.eat()
            unexpected = f"string {debug(self.parse_str())}"
        elif peek == ord("["):
            unexpected = "sequence"
        elif peek == ord("{"):
            unexpected = "map"
        else:
            return self.peek_error("expected value")
        return self.error(f"invalid type: {unexpected}, expected {expecting}")

    def _parse_number(self):
        """Consumes a number; how serde describes it: an integer when it fits
        u64 (or i64, negative), else a float."""
        match = _NUMBER.match(self.data, self.index)
        if match is None:
            # serde_json consumes the '-' and the byte after it.
            self.index = min(len(self.data), self.index + 2)
            raise self.error("invalid number")
        self.index = match.end()
        lexeme = match.group().decode()
        if match.group(2) is None and match.group(3) is None:
            value = int(lexeme)
            fits = 0 < -value <= 1 << 63 if lexeme.startswith("-") else value <= _U64_MAX
            if fits:
                return f"integer `{value}`"
        value = float(lexeme)
        if value in (float("inf"), float("-inf")):
            raise self.error("number out of range")
        return f"floating point `{_ryu(value)}`"


def _ryu(value):
    """A float as serde_json describes it: the shortest digits that read
    back the same, `1.0`, `0.001`, `1e+20`, `1.5e-7`."""
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    digits, k = _shortest(abs(value))
    length = len(digits)
    kk = length + k
    if 0 <= k and kk <= 16:
        text = digits + "0" * k + ".0"
    elif 0 < kk <= 16:
        text = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1:+}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1:+}"
    return sign + text


def _shortest(value):
    """The shortest round-tripping decimal digits of a positive float, and
    the exponent of their last digit (Python's repr finds the same digits)."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = int(exponent or 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped, exponent
