// A policy that allows certificates only for the configured domains: the
// JavaScript twin of the Rust `plugins/allow-domains`, with the same
// configuration, decisions and messages.
//
//     {"allowedDomains": ["example.com"], "maxDuration": "24h", "allowCA": false}
//
// Every SAN must be a DNS name (an IP address, email, URI or otherName is
// denied), and every DNS SAN, and a common name that looks like a DNS name,
// one of the domains or under one; the duration at most `maxDuration` (no
// limit when absent); isCA only with `allowCA`. A configuration it cannot
// read denies everything: the policy fails closed.

import { InvalidConfig, bool, field, issuerConfig, option, seq, string, struct } from '../sdk/config.js';
import { Rules } from './rules.js';

// cert-manager's default certificate lifetime, used when a request gives none.
const DEFAULT_DURATION_SECONDS = 90n * 24n * 3600n;

// The Rust twin's `Config` (serde quotes its name in messages).
const CONFIG = struct('Config', [
  field('allowedDomains', seq(string)),
  field('maxDuration', option(string), () => undefined),
  field('allowCA', bool, () => false),
]);

export const policy = {
  evaluate(request) {
    let rules;
    try {
      const config = issuerConfig(request.issuer.config, CONFIG);
      rules = new Rules(config.allowedDomains, config.maxDuration, config.allowCA);
    } catch (error) {
      if (error instanceof InvalidConfig) {
        return { tag: 'deny', val: error.message };
      }
      throw error;
    }
    const reason = rules.check(
      request.csr.sans,
      request.csr.subject.commonName,
      BigInt(request.durationSeconds) || DEFAULT_DURATION_SECONDS,
      request.isCa,
    );
    return reason === undefined ? { tag: 'allow' } : { tag: 'deny', val: reason };
  },
};
