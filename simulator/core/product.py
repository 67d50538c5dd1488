"""What a product module contributes: its handlers, and the scenario parts it reads.

A product is its spec (`ProductSpec`, openapi/<product>.yaml: routes, fields, errors, settings)
and its module (`ProductModule`, simulator/products/<product>.py: behaviour). A module declares
what else it brings, so adding a product touches no core file:

- `credentials`: the kinds of entry it reads from a scenario's `credentials` (CredentialKind);
- `rule_keys`: scenario rule keys of its own, such as voice's `call` (RuleKey);
- `callback_kinds`: the kinds of push it makes (`callbacks: {kinds: [...]}` in a rule);
- `needs`: the catalogue keys it raises and the settings it reads (core/wiring.py `Needs`; a
  CodePolicy's `needs` name its own), checked against its spec at start-up.

The scenario JSON Schema is assembled from these declarations (scenario_schema.py), as it is from
the specs' settings. Auth schemes declare their credential kinds the same way (pipeline/auth.py).
"""

import hashlib
import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from simulator.core.errors import SimError, SpecError
from simulator.core.wiring import Needs
from simulator.core.world.codes import CodeThrottled

PRODUCT_PACKAGE = "simulator.products"


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
                 rule_keys: dict[str, RuleKey] | None = None, callback_kinds: tuple[str, ...] = (),
                 needs: Needs = Needs()):
        self.name = name
        self.handlers: dict[str, object] = {}
        self.credentials = credentials or {}
        self.rule_keys = rule_keys or {}
        self.callback_kinds = tuple(callback_kinds)
        self.needs = needs

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

    @property
    def needs(self) -> Needs:
        return Needs(errors=tuple(key for key in (self.wrong, self.expired, self.throttled) if key),
                     settings=tuple(name for name in (self.length, self.ttl, self.resend) if name))

    async def issue(self, call, scope: str, to: str) -> str:
        settings = call.settings
        try:
            return await call.world.codes.issue(f"{call.product.name}:{scope}", to, settings[self.length], settings[self.ttl],
                                          settings[self.resend] if self.resend else 0)
        except CodeThrottled:
            raise SimError(self.throttled) from None

    async def check(self, call, scope: str, to: str, code: str, then: str | None = None) -> None:
        """Returns when `code` is right (it is then used up, or with `then` kept for one check in
        that scope); else raises the catalogue's answer."""
        name = call.product.name
        outcome = await call.world.codes.check(f"{name}:{scope}", to, code, then=f"{name}:{then}" if then else None)
        if outcome == "ok":
            return
        raise SimError(self.expired if outcome == "expired" and self.expired else self.wrong)


def import_all(package: str) -> list:
    """Every module of `package`; a private module (`_name`) is a helper they import when needed."""
    module = importlib.import_module(package)
    return [importlib.import_module(f"{package}.{info.name}")
            for info in pkgutil.iter_modules(module.__path__) if not info.name.startswith("_")]


def import_files(directory: Path) -> list:
    """Every `*.py` of a folder of extra products (not `_name`), each imported once per process under
    a name made from its path; the folder is on sys.path, so they may import their `_helpers`."""
    directory = Path(directory).resolve()
    if str(directory) not in sys.path:
        sys.path.append(str(directory))
    prefix = "otpsim_extra_" + hashlib.blake2b(str(directory).encode(), digest_size=6).hexdigest()
    modules = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"{prefix}_{path.stem}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except Exception:
                del sys.modules[name]
                raise
        modules.append(sys.modules[name])
    return modules


def load_product_modules(extra_dirs=()) -> dict[str, ProductModule]:
    """The product modules of simulator/products/ and of each extra folder, by product name."""
    found: dict[str, ProductModule] = {}
    for module in [*import_all(PRODUCT_PACKAGE), *(m for d in extra_dirs for m in import_files(d))]:
        for value in vars(module).values():
            if isinstance(value, ProductModule):
                if value.name in found and found[value.name] is not value:
                    raise SpecError(f"{module.__file__}: a second module for product {value.name}")
                found[value.name] = value
    return found


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


def load_contributions(extra_dirs=()) -> Contributions:
    """Product modules and auth schemes; an extra folder's files may register either."""
    from simulator.core.pipeline.auth import load_schemes

    modules = load_product_modules(extra_dirs)   # imports the extra folders' schemes too
    return Contributions(modules, load_schemes())
