"""Reading the issuer's configuration into rules, with the Rust twin's
types (serde quotes their names) and messages."""

import pattern
from rules import Rule
from wasm_issuer_plugin import config as serde
from wasm_issuer_plugin.text import debug

_STRINGS = serde.Seq(serde.String())
_RULE = serde.Struct(
    "RuleConfig",
    [serde.Field(name, _STRINGS, list) for name in ("users", "groups", "serviceAccounts", "dnsNames")],
)
_CONFIG = serde.Struct("Config", [serde.Field("rules", serde.Seq(_RULE))])


class InvalidConfiguration(Exception):
    """The configuration cannot be read: the policy denies everything with this."""

    def __str__(self):
        return f"invalid configuration: {self.args[0]}"


def parse(text):
    """The rules of the issuer's configuration (JSON text)."""
    try:
        config = serde.read(text, _CONFIG)
    except serde.ConfigError as error:
        raise InvalidConfiguration(str(error)) from None
    return [_validate(index, rule) for index, rule in enumerate(config["rules"])]


def _validate(index, rule):
    service_accounts = []
    for entry in rule["serviceAccounts"]:
        username = _service_account_username(entry)
        if username is None:
            raise InvalidConfiguration(
                f"rules[{index}].serviceAccounts: {debug(entry)} is not <namespace>/<name>"
            )
        service_accounts.append(username)
    dns_names = []
    for entry in rule["dnsNames"]:
        try:
            dns_names.append(pattern.parse(entry))
        except pattern.PatternError as why:
            raise InvalidConfiguration(f"rules[{index}].dnsNames: {debug(entry)} {why}") from None
    return Rule(
        users=rule["users"],
        groups=rule["groups"],
        service_accounts=service_accounts,
        dns_names=dns_names,
    )


def _service_account_username(entry):
    """The username Kubernetes gives the ServiceAccount `<namespace>/<name>`."""
    namespace, slash, name = entry.partition("/")
    if not slash or not namespace or not name or "/" in name:
        return None
    return f"system:serviceaccount:{namespace}:{name}"
