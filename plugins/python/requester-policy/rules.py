"""The policy's decision, as plain functions of plain data."""

from dataclasses import dataclass, field

import pattern
from wit_world.imports import types


@dataclass
class Rule:
    """One valid rule: who it applies to and the names it grants them."""

    users: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    # Usernames of the rule's ServiceAccounts, `system:serviceaccount:<namespace>:<name>`.
    service_accounts: list = field(default_factory=list)
    dns_names: list = field(default_factory=list)

    def applies_to(self, requester):
        return (
            requester.username in self.users
            or requester.username in self.service_accounts
            or any(group in requester.groups for group in self.groups)
        )

    def grants(self, name):
        return any(pattern.matches(dns_pattern, name) for dns_pattern in self.dns_names)


# How the denial names a SAN that is not a DNS name.
_NON_DNS_KINDS = (
    (types.San_Ip, "IP address"),
    (types.San_Email, "email"),
    (types.San_Uri, "URI"),
    (types.San_OtherName, "otherName"),
)


def check(rules, requester, sans, common_name):
    """None to allow, or the reason to deny as the specification words it:
    first who asks, then the kinds of SANs, then each name in order."""
    who = requester.username or "(anonymous)"
    applying = [rule for rule in rules if rule.applies_to(requester)]
    if not applying:
        return f"{who} may not request certificates from this issuer"
    for san in sans:
        for kind, words in _NON_DNS_KINDS:
            if isinstance(san, kind):
                return f"{who} may not request {words} SANs: only DNS names are granted"
    names = [san.value for san in sans if isinstance(san, types.San_Dns)]
    if common_name is not None and _looks_like_dns(common_name):
        names.append(common_name)
    for name in names:
        if not any(rule.grants(name) for rule in applying):
            return f"{who} may not request DNS name {name}"
    return None


_DNS_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.*")


def _looks_like_dns(common_name):
    """Whether a common name has the shape of a DNS name, as opposed to a
    person's or a service's name: a dot, and only ASCII letters, digits,
    `-`, `.` and `*`."""
    return "." in common_name and all(char in _DNS_CHARACTERS for char in common_name)
