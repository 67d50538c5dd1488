"""What a product module contributes: its handlers, and the scenario parts it reads.

A product is its spec (`ProductSpec`, openapi/<product>.yaml: routes, fields, errors, settings)
and its module (`ProductModule`, simulator/products/<product>.py: behaviour). A module declares
what else it brings, so adding a product touches no core file:

- `credentials`: the kinds of entry it reads from a scenario's `credentials` (CredentialKind);
- `rule_keys`: scenario rule keys of its own, such as voice's `call` (RuleKey);
- `callback_kinds`: the kinds of push it makes (`callbacks: {kinds: [...]}` in a rule).

The scenario JSON Schema is assembled from these declarations (scenario_schema.py), as it is from
the specs' settings. Auth schemes declare their credential kinds the same way (pipeline/auth.py).
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from simulator.core.errors import SimError
from simulator.core.world.codes import CodeThrottled

_MODULES: dict[str, "ProductModule"] = {}


@dataclass(frozen=True)
class CredentialKind:
    """Entries of one list under a scenario's `credentials`: text fields, some required."""
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    description: str = ""

    def schema(self) -> dict:
        schema = {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": list(self.required),
            "properties": {name: {"type": "string"} for name in (*self.required, *self.optional)}}}
        if self.description:
            schema["description"] = self.description
        return schema


def _as_given(value):
    return value


@dataclass(frozen=True)
class RuleKey:
    """A scenario rule key a product adds: the JSON Schema of its value, and `parse`, which turns the
    (already valid) value into what the handler reads with `call.rule_data(key)`, once, when the
    scenario is loaded."""
    schema: dict
    parse: Callable = _as_given


class ProductModule:
    def __init__(self, name: str, *, credentials: dict[str, CredentialKind] | None = None,
                 rule_keys: dict[str, RuleKey] | None = None, callback_kinds: tuple[str, ...] = ()):
        self.name = name
        self.handlers: dict[str, object] = {}
        self.credentials = credentials or {}
        self.rule_keys = rule_keys or {}
        self.callback_kinds = tuple(callback_kinds)
        _MODULES[name] = self

    def operation(self, operation_id: str):
        def register(handler):
            self.handlers[operation_id] = handler
            return handler
        return register


@dataclass(frozen=True)
class CodePolicy:
    """How a product issues and checks verification codes: the settings that size them and the
    catalogue keys that answer a refusal. Codes are scoped per product: `scope` need not name it."""
    wrong: str | None = None            # a wrong code, or none outstanding (never sent, or used up)
    expired: str | None = None          # an expired one (default: `wrong`)
    throttled: str | None = None        # a resend sooner than `resend` allows
    length: str = "code_length"         # setting names
    ttl: str = "code_ttl_s"
    resend: str | None = "resend_interval_s"

    def issue(self, call, scope: str, to: str) -> str:
        settings = call.settings
        try:
            return call.world.codes.issue(f"{call.product.name}:{scope}", to, settings[self.length], settings[self.ttl],
                                          settings[self.resend] if self.resend else 0)
        except CodeThrottled:
            raise SimError(self.throttled) from None

    def check(self, call, scope: str, to: str, code: str) -> None:
        """Returns when `code` is right (it is then used up); else raises the catalogue's answer."""
        outcome = call.world.codes.check(f"{call.product.name}:{scope}", to, code)
        if outcome == "ok":
            return
        raise SimError(self.expired if outcome == "expired" and self.expired else self.wrong)


def import_all(package: str):
    """Every module of `package`; a private module (`_name`) is a helper they import when needed."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def load_product_modules() -> dict[str, ProductModule]:
    import_all("simulator.products")
    return dict(_MODULES)


@dataclass
class Contributions:
    """What the code brings beside the specs: product modules, auth schemes, and the scenario
    parts they declare, each declared once."""
    modules: dict[str, ProductModule]
    schemes: dict[str, object]
    credential_kinds: dict[str, CredentialKind] = field(default_factory=dict)
    rule_keys: dict[str, RuleKey] = field(default_factory=dict)
    callback_kinds: tuple[str, ...] = ()

    def __post_init__(self):
        declared_by = {}
        for owner, kinds in [*((f"product {m.name}", m.credentials) for m in self.modules.values()),
                             *((f"auth scheme {s.name}", s.credentials) for s in self.schemes.values())]:
            for kind, declaration in kinds.items():
                if kind in declared_by:
                    raise RuntimeError(f"credential kind {kind} is declared by {declared_by[kind]} and {owner}")
                declared_by[kind] = owner
                self.credential_kinds[kind] = declaration
        for module in self.modules.values():
            for key, declaration in module.rule_keys.items():
                if key in self.rule_keys:
                    raise RuntimeError(f"rule key {key} is declared twice (product {module.name})")
                self.rule_keys[key] = declaration
        self.callback_kinds = tuple(kind for module in self.modules.values() for kind in module.callback_kinds)


def load_contributions() -> Contributions:
    from simulator.core.pipeline.auth import load_schemes

    return Contributions(load_product_modules(), load_schemes())
