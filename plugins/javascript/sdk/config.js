// Reading a plugin's JSON configuration the way the Rust plugins do.
//
// A Rust plugin reads its configuration with serde_json into a
// `#[derive(Deserialize)]` struct, and a refusal quotes serde_json's message.
// A twin in JavaScript must accept the same configurations and refuse the
// others with the same words, at the same line and column. So this is a port
// of the part of serde_json's deserializer that such structs use (structs,
// sequences, strings, booleans, options), following its code paths: which
// bytes each step consumes decides the position an error reports. (The Python
// SDK has the same port; keep them alike.)
//
// Describe the Rust struct with `struct`, `field` and the value types, then
// `read(text, schema)`: an object keyed by the JSON field names, or a thrown
// `ConfigError` whose `message` is serde_json's `Error` display.
// `issuerConfig` reads an issuer's configuration as the Rust SDK's
// `Issuer::config` does.
//
// Floats where a configuration wants something else are described with the
// shortest digits that read back the same; serde_json's own float parsing can
// be one unit off in the last place for some long numbers (its
// `float_roundtrip` feature is off), and then the description differs.

import { debug } from './text.js';

const EOF_VALUE = 'EOF while parsing a value';
const EOF_LIST = 'EOF while parsing a list';
const EOF_OBJECT = 'EOF while parsing an object';
const EOF_STRING = 'EOF while parsing a string';
const U64_MAX = (1n << 64n) - 1n;
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES = new Map(
  Object.entries({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }).map(
    ([escape, char]) => [escape.charCodeAt(0), char],
  ),
);
const byte = (char) => char.charCodeAt(0);

/** serde_json's error: a message, and where it was found (line 0: not yet known). */
export class ConfigError extends Error {
  constructor(reason, line = 0, column = 0) {
    super(line === 0 ? reason : `${reason} at line ${line} column ${column}`);
    this.reason = reason;
    this.line = line;
  }
}

/** The plugin configuration cannot be read: the Rust SDK's `InvalidConfig`. */
export class InvalidConfig extends Error {
  constructor(detail) {
    super(`invalid plugin configuration: ${detail}`);
  }
}

/** A Rust `String`. */
export const string = {
  expecting: 'a string',
  deserialize(reader) {
    const peek = reader.whitespace();
    if (peek === undefined) {
      throw reader.peekError(EOF_VALUE);
    }
    if (peek !== byte('"')) {
      throw reader.peekInvalidType(this.expecting);
    }
    reader.eat();
    return reader.parseStr();
  },
};

/** A Rust `bool`. */
export const bool = {
  expecting: 'a boolean',
  deserialize(reader) {
    const peek = reader.whitespace();
    if (peek === undefined) {
      throw reader.peekError(EOF_VALUE);
    }
    for (const [literal, value] of [
      ['true', true],
      ['false', false],
    ]) {
      if (peek === byte(literal)) {
        reader.eat();
        reader.parseIdent(literal.slice(1));
        return value;
      }
    }
    throw reader.peekInvalidType(this.expecting);
  },
};

/** A Rust `Option<T>`: null is undefined. */
export function option(inner) {
  return {
    expecting: inner.expecting,
    deserialize(reader) {
      if (reader.whitespace() === byte('n')) {
        reader.eat();
        reader.parseIdent('ull');
        return undefined;
      }
      return inner.deserialize(reader);
    },
  };
}

/** A Rust `Vec<T>`. */
export function seq(inner) {
  return {
    expecting: 'a sequence',
    deserialize(reader) {
      const peek = reader.whitespace();
      if (peek === undefined) {
        throw reader.peekError(EOF_VALUE);
      }
      if (peek !== byte('[')) {
        throw reader.peekInvalidType(this.expecting);
      }
      reader.eat();
      return reader.visitThenEnd(
        () => Array.from(reader.elements(), () => inner.deserialize(reader)),
        () => reader.endSeq(),
      );
    },
  };
}

/** A struct field: its JSON name, its type, and its default (a function; none for a required field). */
export function field(name, kind, fallback) {
  return { name, kind, fallback };
}

/**
 * A `#[derive(Deserialize)] #[serde(deny_unknown_fields)]` struct named
 * `name` (serde quotes it), with its fields in declaration order.
 */
export function struct(name, fields) {
  const expecting = `struct ${name}`;
  const count = fields.length;
  const seqExpecting = `${expecting} with ${count} element${count === 1 ? '' : 's'}`;
  const byName = new Map(fields.map((f) => [f.name, f]));

  const visitMap = (reader) => {
    const values = new Map();
    for (const key of reader.keys()) {
      const found = byName.get(key);
      if (found === undefined) {
        throw new ConfigError(`unknown field \`${key}\`, ${expectedFields(fields)}`);
      }
      if (values.has(found.name)) {
        throw new ConfigError(`duplicate field \`${key}\``);
      }
      reader.objectColon();
      values.set(found.name, found.kind.deserialize(reader));
    }
    for (const f of fields) {
      if (!values.has(f.name)) {
        if (f.fallback === undefined) {
          throw new ConfigError(`missing field \`${f.name}\``);
        }
        values.set(f.name, f.fallback());
      }
    }
    return Object.fromEntries(values);
  };

  // serde reads a struct from an array too, its fields in order.
  const visitSeq = (reader) => {
    const values = {};
    const elements = reader.elements();
    fields.forEach((f, index) => {
      if (!elements.next().done) {
        values[f.name] = f.kind.deserialize(reader);
      } else if (f.fallback === undefined) {
        throw new ConfigError(`invalid length ${index}, expected ${seqExpecting}`);
      } else {
        values[f.name] = f.fallback();
      }
    });
    return values;
  };

  return {
    expecting,
    deserialize(reader) {
      const peek = reader.whitespace();
      if (peek === undefined) {
        throw reader.peekError(EOF_VALUE);
      }
      if (peek === byte('{')) {
        reader.eat();
        return reader.visitThenEnd(() => visitMap(reader), () => reader.endMap());
      }
      if (peek === byte('[')) {
        reader.eat();
        return reader.visitThenEnd(() => visitSeq(reader), () => reader.endSeq());
      }
      throw reader.peekInvalidType(expecting);
    },
  };
}

function expectedFields(fields) {
  const names = fields.map((f) => `\`${f.name}\``);
  switch (names.length) {
    case 0:
      return 'there are no fields';
    case 1:
      return `expected ${names[0]}`;
    case 2:
      return `expected ${names[0]} or ${names[1]}`;
    default:
      return `expected one of ${names.join(', ')}`;
  }
}

/** `serde_json::from_str::<T>(text)` for the type `schema` describes. */
export function read(text, schema) {
  const reader = new Reader(text);
  const value = schema.deserialize(reader);
  if (reader.whitespace() !== undefined) {
    throw reader.peekError('trailing characters');
  }
  return value;
}

// What Rust's `str::trim` removes: Unicode's White_Space.
const RUST_TRIM = /^[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** The Rust SDK's `Issuer::config`: an empty configuration reads as `{}`. */
export function issuerConfig(text, schema) {
  try {
    return read(text.replace(RUST_TRIM, '') || '{}', schema);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new InvalidConfig(error.message);
    }
    throw error;
  }
}

/** serde_json's `Deserializer` over a `StrRead`: positions count bytes. */
class Reader {
  constructor(text) {
    this.data = new TextEncoder().encode(text);
    this.index = 0;
  }

  peek() {
    return this.index < this.data.length ? this.data[this.index] : undefined;
  }

  eat() {
    this.index += 1;
  }

  nextByte() {
    const next = this.peek();
    if (next !== undefined) {
      this.index += 1;
    }
    return next;
  }

  positionOf(index) {
    const startOfLine = this.data.lastIndexOf(byte('\n'), index - 1) + 1;
    let line = 1;
    for (let i = 0; i < startOfLine; i += 1) {
      if (this.data[i] === byte('\n')) {
        line += 1;
      }
    }
    return [line, index - startOfLine];
  }

  /** An error at the last byte consumed. */
  error(reason) {
    return new ConfigError(reason, ...this.positionOf(this.index));
  }

  /** An error at the byte looked at but not consumed. */
  peekError(reason) {
    return new ConfigError(reason, ...this.positionOf(Math.min(this.data.length, this.index + 1)));
  }

  /** serde_json's `fix_position`: a visitor's error gets the current position. */
  fix(error) {
    return error.line === 0 ? this.error(error.reason) : error;
  }

  whitespace() {
    let next = this.peek();
    while (next === 0x20 || next === 0x0a || next === 0x09 || next === 0x0d) {
      this.eat();
      next = this.peek();
    }
    return next;
  }

  /**
   * A compound value after its opening bracket: serde_json ends it even when
   * visiting failed (which moves the position), then fixes the error.
   */
  visitThenEnd(visit, end) {
    let failure;
    let value;
    try {
      value = visit();
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      failure = error;
    }
    try {
      end();
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      failure ??= error;
    }
    if (failure !== undefined) {
      throw this.fix(failure);
    }
    return value;
  }

  /** serde_json's `SeqAccess`: yields before each element of an array. */
  *elements() {
    let first = true;
    for (;;) {
      let peek = this.whitespace();
      if (peek === undefined) {
        throw this.peekError(EOF_LIST);
      }
      if (peek === byte(']')) {
        return;
      }
      if (first) {
        first = false;
      } else if (peek === byte(',')) {
        this.eat();
        peek = this.whitespace();
        if (peek === byte(']')) {
          throw this.peekError('trailing comma');
        }
        if (peek === undefined) {
          throw this.peekError(EOF_VALUE);
        }
      } else {
        throw this.peekError('expected `,` or `]`');
      }
      yield true;
    }
  }

  /** serde_json's `MapAccess`: yields each key of an object. */
  *keys() {
    let first = true;
    for (;;) {
      let peek = this.whitespace();
      if (peek === byte('}')) {
        return;
      }
      if (peek === undefined) {
        throw this.peekError(EOF_OBJECT);
      }
      if (first) {
        first = false;
      } else if (peek === byte(',')) {
        this.eat();
        peek = this.whitespace();
      } else {
        throw this.peekError('expected `,` or `}`');
      }
      if (peek === byte('"')) {
        this.eat();
        yield this.parseStr();
      } else if (peek === byte('}')) {
        throw this.peekError('trailing comma');
      } else if (peek === undefined) {
        throw this.peekError(EOF_VALUE);
      } else {
        throw this.peekError('key must be a string');
      }
    }
  }

  objectColon() {
    const peek = this.whitespace();
    if (peek === byte(':')) {
      this.eat();
    } else if (peek === undefined) {
      throw this.peekError(EOF_OBJECT);
    } else {
      throw this.peekError('expected `:`');
    }
  }

  endSeq() {
    const peek = this.whitespace();
    if (peek === byte(']')) {
      this.eat();
    } else if (peek === byte(',')) {
      this.eat();
      if (this.whitespace() === byte(']')) {
        throw this.peekError('trailing comma');
      }
      throw this.peekError('trailing characters');
    } else if (peek === undefined) {
      throw this.peekError(EOF_LIST);
    } else {
      throw this.peekError('trailing characters');
    }
  }

  endMap() {
    const peek = this.whitespace();
    if (peek === byte('}')) {
      this.eat();
    } else if (peek === byte(',')) {
      throw this.peekError('trailing comma');
    } else if (peek === undefined) {
      throw this.peekError(EOF_OBJECT);
    } else {
      throw this.peekError('trailing characters');
    }
  }

  parseIdent(rest) {
    for (const expected of rest) {
      const next = this.nextByte();
      if (next === undefined) {
        throw this.error(EOF_VALUE);
      }
      if (next !== byte(expected)) {
        throw this.error('expected ident');
      }
    }
  }

  /** The rest of a string whose opening quote was consumed. */
  parseStr() {
    const start = this.index;
    let out = '';
    let run = start;
    const flush = () => {
      out += new TextDecoder().decode(this.data.subarray(run, this.index - 1));
    };
    for (;;) {
      const next = this.nextByte();
      if (next === undefined) {
        throw this.error(EOF_STRING);
      }
      if (next === byte('"')) {
        flush();
        return out;
      }
      if (next < 0x20) {
        throw this.error('control character (\\u0000-\\u001F) found while parsing a string');
      }
      if (next !== byte('\\')) {
        continue;
      }
      flush();
      const escape = this.nextByte();
      if (escape === undefined) {
        throw this.error(EOF_STRING);
      }
      if (ESCAPES.has(escape)) {
        out += ESCAPES.get(escape);
      } else if (escape === byte('u')) {
        out += String.fromCodePoint(this.parseUnicodeEscape());
      } else {
        throw this.error('invalid escape');
      }
      run = this.index;
    }
  }

  parseUnicodeEscape() {
    const code = this.hex4();
    if (code >= 0xdc00 && code <= 0xdfff) {
      throw this.error('lone leading surrogate in hex escape');
    }
    if (code < 0xd800 || code > 0xdbff) {
      return code;
    }
    if (this.nextByte() !== byte('\\') || this.nextByte() !== byte('u')) {
      throw this.error('unexpected end of hex escape');
    }
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) {
      throw this.error('lone leading surrogate in hex escape');
    }
    return 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
  }

  hex4() {
    const digits = new TextDecoder().decode(this.data.subarray(this.index, this.index + 4));
    if (digits.length < 4) {
      this.index = this.data.length;
      throw this.error(EOF_STRING);
    }
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      throw this.error('invalid escape');
    }
    this.index += 4;
    return parseInt(digits, 16);
  }

  /**
   * serde_json's `peek_invalid_type`: reads the value that is there to
   * describe it, and reports at the position after it.
   */
  peekInvalidType(expecting) {
    const peek = this.peek();
    let unexpected;
    if (peek === byte('n')) {
      this.eat();
      this.parseIdent('ull');
      unexpected = 'null';
    } else if (peek === byte('t') || peek === byte('f')) {
      const literal = peek === byte('t') ? 'true' : 'false';
      this.eat();
      this.parseIdent(literal.slice(1));
      unexpected = `boolean \`${literal}\``;
    } else if (peek === byte('-') || (peek >= byte('0') && peek <= byte('9'))) {
      unexpected = this.parseNumber();
    } else if (peek === byte('"')) {
      this.eat();
      unexpected = `string ${debug(this.parseStr())}`;
    } else if (peek === byte('[')) {
      unexpected = 'sequence';
    } else if (peek === byte('{')) {
      unexpected = 'map';
    } else {
      return this.peekError('expected value');
    }
    return this.error(`invalid type: ${unexpected}, expected ${expecting}`);
  }

  /**
   * Consumes a number; how serde describes it: an integer when it fits u64
   * (or i64, negative), else a float.
   */
  parseNumber() {
    const rest = new TextDecoder().decode(this.data.subarray(this.index, this.index + 1024));
    NUMBER.lastIndex = 0;
    const match = NUMBER.exec(rest);
    if (match === null) {
      // serde_json consumes the '-' and the byte after it.
      this.index = Math.min(this.data.length, this.index + 2);
      throw this.error('invalid number');
    }
    this.index += match[0].length;
    const lexeme = match[0];
    if (match[2] === undefined && match[3] === undefined) {
      const value = BigInt(lexeme);
      const fits = lexeme.startsWith('-') ? value < 0n && -value <= 1n << 63n : value <= U64_MAX;
      if (fits) {
        return `integer \`${value}\``;
      }
    }
    const value = Number(lexeme);
    if (!Number.isFinite(value)) {
      throw this.error('number out of range');
    }
    return `floating point \`${formatFloat(value)}\``;
  }
}

/**
 * A float as serde_json describes it: the shortest digits that read back the
 * same, `1.0`, `0.001`, `1e+20`, `1.5e-7`.
 */
function formatFloat(value) {
  if (value === 0) {
    return Object.is(value, -0) ? '-0.0' : '0.0';
  }
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '');
  const length = digits.length;
  const kk = Number(exponent) + 1;
  const k = kk - length;
  let text;
  if (k >= 0 && kk <= 16) {
    text = `${digits}${'0'.repeat(k)}.0`;
  } else if (kk > 0 && kk <= 16) {
    text = `${digits.slice(0, kk)}.${digits.slice(kk)}`;
  } else if (kk > -5 && kk <= 0) {
    text = `0.${'0'.repeat(-kk)}${digits}`;
  } else {
    const e = kk - 1;
    const rest = length === 1 ? '' : `.${digits.slice(1)}`;
    text = `${digits[0]}${rest}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  return sign + text;
}
