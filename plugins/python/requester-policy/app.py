"""A policy that lets only the configured users, groups and ServiceAccounts
request the configured DNS names: the Python twin of the Rust
`plugins/requester-policy`, implementing the same specification with the
same messages.

    {"rules": [
      {"users": ["alice"], "groups": ["web-team"], "serviceAccounts": ["team/builder"],
       "dnsNames": ["api.example.com", "*.apps.example.com"]}
    ]}

See the Rust twin's documentation for the rules; a configuration it cannot
read denies everything: the policy fails closed.
"""

import config
import rules
from wit_world import exports
from wit_world.imports import types


class Policy(exports.Policy):
    def evaluate(self, request: types.CertificateRequest) -> types.Decision:
        try:
            configured = config.parse(request.issuer.config)
        except config.InvalidConfiguration as invalid:
            return types.Decision_Deny(str(invalid))
        reason = rules.check(
            configured,
            request.requester,
            request.csr.sans,
            request.csr.subject.common_name,
        )
        return types.Decision_Allow() if reason is None else types.Decision_Deny(reason)
