// The policy's rules, as plain functions of plain data.

import { InvalidConfig } from '../sdk/config.js';
import { formatDuration, parseDuration } from '../sdk/duration.js';
import { debug } from '../sdk/text.js';

// How the denial names a SAN that is not a DNS name, and the value it quotes.
const NON_DNS = new Map([
  ['ip', ['IP address', (value) => value]],
  ['email', ['email', (value) => value]],
  ['uri', ['URI', (value) => value]],
  ['other-name', ['otherName', (value) => value.typeId]],
]);

/** A valid configuration, domains normalised; throws `InvalidConfig` naming what is not. */
export class Rules {
  constructor(domains, maxDuration, allowCa) {
    this.domains = domains.map((domain) => {
      const normal = normalise(domain);
      // An empty entry would match nothing useful and a wildcard would never
      // match as written: both are typos to report.
      if (normal === '' || normal.startsWith('.') || normal.includes('*')) {
        throw new InvalidConfig(`allowedDomains: ${debug(domain)} is not a domain name`);
      }
      return normal;
    });
    this.maxDuration = undefined;
    if (maxDuration !== undefined) {
      try {
        this.maxDuration = parseDuration(maxDuration);
      } catch (error) {
        throw new InvalidConfig(`maxDuration: ${error.message}`);
      }
    }
    this.allowCa = allowCa;
  }

  /** Undefined to allow, or the reason to deny naming the first offending value. */
  check(sans, commonName, durationSeconds, isCa) {
    for (const san of sans) {
      // An IP, email, URI or otherName is under no domain: letting it
      // through would grant names the policy never lists.
      if (san.tag !== 'dns') {
        const [kind, value] = NON_DNS.get(san.tag);
        return `${kind} SAN ${debug(value(san.val))} is not allowed: only DNS names under an allowed domain are`;
      }
      const denied = this.allowed(san.val, 'DNS name');
      if (denied !== undefined) {
        return denied;
      }
    }
    if (commonName !== undefined && isDnsLike(commonName)) {
      const denied = this.allowed(commonName, 'common name');
      if (denied !== undefined) {
        return denied;
      }
    }
    if (this.maxDuration !== undefined && durationSeconds > this.maxDuration) {
      return `duration ${formatDuration(durationSeconds)} is longer than maxDuration ${formatDuration(this.maxDuration)}`;
    }
    if (isCa && !this.allowCa) {
      return 'isCA is not allowed (allowCA is false)';
    }
    return undefined;
  }

  allowed(name, what) {
    const normal = normalise(name);
    if (this.domains.some((domain) => isUnder(normal, domain))) {
      return undefined;
    }
    return `${what} ${debug(name)} is not under an allowed domain (${this.domains.join(', ')})`;
  }
}

/** ASCII lowercase, without the trailing dot of a fully qualified name. */
function normalise(name) {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/**
 * Whether `name` is `domain` or a name under it (both normalised), so
 * `*.example.com` is under `example.com` and `badexample.com` is not.
 */
function isUnder(name, domain) {
  return name === domain || (name.endsWith(domain) && name.slice(0, -domain.length).endsWith('.'));
}

/**
 * Whether a common name has the shape of a DNS name (at least two labels of
 * hostname characters), as opposed to a person's or a service's name.
 */
function isDnsLike(commonName) {
  return commonName.includes('.') && /^[A-Za-z0-9_.*-]*$/.test(commonName);
}
