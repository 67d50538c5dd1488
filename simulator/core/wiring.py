"""Start-up checks that the specs, the product modules and the auth schemes fit together.

What fails here would otherwise fail later, per request or silently: a route two products claim
(the later one took it over), a path the router cannot serve, a catalogue entry or setting that a
scheme or handler uses but the spec lacks. Each refusal names the spec file and the clash.
"""

import re
from dataclasses import dataclass

from starlette.routing import compile_path

from simulator.core.errors import SpecError

RPC_METHODS = ("GET", "POST")   # an RPC path serves its actions on both
TEMPLATE_PARAMETER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Needs:
    """What an auth scheme or a product module relies on the spec of each product it serves for."""
    errors: tuple[str, ...] = ()     # catalogue keys it raises
    settings: tuple[str, ...] = ()   # settings it reads

    def __or__(self, other: "Needs") -> "Needs":
        return Needs(tuple(dict.fromkeys(self.errors + other.errors)),
                     tuple(dict.fromkeys(self.settings + other.settings)))


def _told_apart(first, second) -> bool:
    """Two products may share a route when both declare the hosts they answer on, and none is common."""
    return (first is not second and bool(first.hosts) and bool(second.hosts)
            and not set(first.hosts) & set(second.hosts))


def _clash(what: str, first, second) -> SpecError:
    if first is second:
        return SpecError(f"{first.path}: {what} is claimed twice in {first.name}")
    return SpecError(f"{second.path}: {what} is claimed by {first.name} ({first.path}) and by {second.name}; "
                     f"declare x-otpsim.hosts in both, with no host in common, to tell them apart")


def _claim(owners: dict, key, what: str, product):
    for owner in owners.setdefault(key, []):
        if not _told_apart(owner, product):
            raise _clash(what, owner, product)
    owners[key].append(product)


def check_routes(products: dict) -> None:
    """No route or RPC action is claimed twice, unless the hosts tell the owners apart (two templates
    that differ only in their parameters' names are one route); every path is one the router serves. Path prefixes (x-otpsim.claims) may be shared, as Alibaba's RPC products
    share `/`: a miss under one is answered by the first product, in file-name order, that claims it."""
    routes, actions, rpc_owners = {}, {}, {}
    for product in products.values():
        for op in product.operations:
            if "{" in op.path or "}" in op.path:
                _check_template(product, op)
            if op.rpc_action:
                _claim(actions, (op.path, op.rpc_action), f"RPC action {op.rpc_action} on {op.path}", product)
                owners = rpc_owners.setdefault(op.path, [])
                if product not in owners:
                    owners.append(product)
            else:
                _claim(routes, (op.method, TEMPLATE_PARAMETER.sub("{}", op.path)), f"{op.method} {op.path}", product)
    for (method, path), owners in routes.items():
        for rpc_owner in rpc_owners.get(path, []) if method in RPC_METHODS else []:
            for owner in owners:
                if not _told_apart(rpc_owner, owner):
                    raise _clash(f"{method} {path} (where {rpc_owner.name} serves RPC actions)", rpc_owner, owner)
    hosts = {}
    for product in products.values():   # a Host names one product, even where they share no route
        for host in product.hosts:
            if host in hosts:
                raise SpecError(f"{product.path}: host {host} is declared by {hosts[host].name} ({hosts[host].path}) "
                                f"and by {product.name}")
            hosts[host] = product


def _check_template(product, op) -> None:
    """A path template the router serves: `{name}` segments (Starlette's path compiler), each one a
    parameter `in: path` of the operation, and no other."""
    where = f"{product.path}: {op.method} {op.path} ({op.id})"
    if op.rpc_action:
        raise SpecError(f"{where}: an RPC path is literal; it cannot be a template")
    try:
        _, _, convertors = compile_path(op.path)
    except (AssertionError, ValueError) as problem:
        raise SpecError(f"{where}: the router cannot serve this path template: {problem}") from None
    if not convertors:
        raise SpecError(f"{where}: braces without a `{{name}}` parameter")
    declared = {name for name, _ in op.validator.path}
    if set(convertors) != declared:
        raise SpecError(f"{where}: the template's parameters {sorted(convertors)} are not the operation's "
                        f"`in: path` parameters {sorted(declared)}")


def check_needs(product, needs: Needs, needed_by: str) -> None:
    missing = [f"error {key}" for key in needs.errors if key not in product.catalogue]
    missing += [f"setting {name}" for name in needs.settings if name not in product.settings]
    if missing:
        raise SpecError(f"{product.path}: {needed_by} needs {', '.join(missing)}, which {product.name}'s spec lacks "
                        f"(x-otpsim.errors / x-otpsim.settings, or an include that has them)")


def check_wiring(products: dict, contributions) -> None:
    """Every product has a module with a handler per operation, its auth schemes exist, and its spec
    has what they need; no route is claimed twice."""
    for product in products.values():
        for name in product.auth_schemes:
            scheme = contributions.schemes.get(name)
            if scheme is None:
                raise SpecError(f"{product.path}: auth scheme {name} is not implemented (simulator/auth/)")
            check_needs(product, scheme.needs, f"auth scheme {name}")
        module = contributions.modules.get(product.name)
        if module is None:
            raise SpecError(f"{product.path}: no product module registers {product.name}")
        for op in product.operations:
            if op.id not in module.handlers:
                raise SpecError(f"{product.path}: {op.qualified} has no handler in the {product.name} module")
        check_needs(product, module.needs, f"product module {product.name}")
    check_routes(products)
