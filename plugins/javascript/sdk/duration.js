// Durations as cert-manager users write them, as the Rust SDK reads and
// writes them. Seconds are BigInts: the contract's durations are u64.

import { debug } from './text.js';

const U64_MAX = (1n << 64n) - 1n;
const UNITS = new Map([
  ['h', 3600n],
  ['m', 60n],
  ['s', 1n],
]);

/**
 * Seconds of a duration written the way cert-manager's fields are (Go's
 * `time.ParseDuration`, to the second): whole numbers with `h`, `m` or `s`
 * units in sequence, e.g. `24h`, `2h30m`; `0` alone is zero. Throws the
 * Rust SDK's message for anything else.
 */
export function parseDuration(text) {
  const invalid = (why) => new Error(`invalid duration ${debug(text)}: ${why}`);
  if (text === '0') {
    return 0n;
  }
  if (text === '') {
    throw invalid('empty');
  }
  let seconds = 0n;
  let rest = text;
  while (rest !== '') {
    const digits = rest.match(/^[0-9]*/)[0];
    if (digits === '') {
      throw invalid('expected a number');
    }
    const number = BigInt(digits);
    if (number > U64_MAX) {
      throw invalid('number too large');
    }
    const [unitChar] = rest.slice(digits.length);
    if (unitChar === undefined) {
      throw invalid('missing unit');
    }
    const unit = UNITS.get(unitChar);
    if (unit === undefined) {
      throw invalid('units are h, m and s');
    }
    seconds += number * unit;
    if (number * unit > U64_MAX || seconds > U64_MAX) {
      throw invalid('too long');
    }
    rest = rest.slice(digits.length + unitChar.length);
  }
  return seconds;
}

/** Seconds written the way `parseDuration` reads them, e.g. `2h30m`, `0s`. */
export function formatDuration(seconds) {
  const parts = [
    [seconds / 3600n, 'h'],
    [(seconds / 60n) % 60n, 'm'],
    [seconds % 60n, 's'],
  ];
  const text = parts
    .filter(([n]) => n > 0n)
    .map(([n, unit]) => `${n}${unit}`)
    .join('');
  return text === '' ? '0s' : text;
}
