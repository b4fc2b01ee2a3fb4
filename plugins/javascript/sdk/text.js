// Text the way the Rust plugins write it, so that twins word their messages
// byte for byte alike.

import { ESCAPED_RANGES } from './unicode-escapes.js';

const ESCAPES = new Map([
  ['\0', '\\0'],
  ['\t', '\\t'],
  ['\r', '\\r'],
  ['\n', '\\n'],
  ['\\', '\\\\'],
  ['"', '\\"'],
]);

/** Rust's `{:?}` of a string: quoted, with `\n`-style escapes. */
export function debug(text) {
  let out = '"';
  for (const char of text) {
    if (ESCAPES.has(char)) {
      out += ESCAPES.get(char);
    } else if (escapedAsUnicode(char.codePointAt(0))) {
      out += `\\u{${char.codePointAt(0).toString(16)}}`;
    } else {
      out += char;
    }
  }
  return out + '"';
}

/**
 * Whether Rust writes the code point as `\u{...}`: it is not printable
 * (Unicode's Other and Separator categories but for the ASCII space) or it
 * extends a grapheme.
 */
function escapedAsUnicode(code) {
  if (code < 0x80) {
    return code < 0x20 || code === 0x7f;
  }
  // The last range start at or below `code`, by binary search over the starts.
  let low = 0;
  let high = ESCAPED_RANGES.length / 2;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ESCAPED_RANGES[2 * middle] <= code) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low > 0 && code <= ESCAPED_RANGES[2 * (low - 1) + 1];
}
