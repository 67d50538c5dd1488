"""Auth schemes by the names the specs use; each module in simulator/auth registers one.

A scheme is `async def check(call) -> Principal | None`: who the request comes from when its
credentials are present and right, `None` when the request does not use this scheme at all. It
raises `SimError(key)` for a failure the vendor documents a code for, or `AuthFailed(reason)` for
the product's generic `auth.failure` answer. A scheme declares the credential kinds it reads from
the scenario (`credentials=`), and they join the scenario schema, and what it needs from the spec
of each product that uses it (`needs=`: catalogue keys it raises, settings it reads), checked at
start-up (core/wiring.py). A product naming a scheme must have an `auth.failure` entry.
"""

from dataclasses import dataclass, field

from simulator.core.errors import AuthFailed, SimError
from simulator.core.product import CredentialKind, import_all
from simulator.core.wiring import Needs
from simulator.core.world.store import KEPT_ON_RESET

_SCHEMES: dict[str, "AuthScheme"] = {}


class Principal:
    """Who auth established: the scheme, and the credential it matched (a scenario `credentials`
    entry, or the record a product stored for a token it issued), so no product looks it up again.
    `principal["field"]` and `principal.get("field")` read the credential."""

    __slots__ = ("scheme", "credential")

    def __init__(self, scheme: str, credential: dict):
        self.scheme = scheme
        self.credential = credential

    def __getitem__(self, key: str):
        return self.credential[key]

    def get(self, key: str, default=None):
        return self.credential.get(key, default)

    def __repr__(self):
        return f"<Principal {self.scheme}>"


@dataclass(frozen=True)
class AuthScheme:
    name: str
    check: object
    credentials: dict[str, CredentialKind] = field(default_factory=dict)
    needs: Needs = Needs()


def scheme(name: str, credentials: dict[str, CredentialKind] | None = None, needs: Needs = Needs()):
    def register(check):
        _SCHEMES[name] = AuthScheme(name, check, credentials or {}, needs)
        return check
    return register


def load_schemes() -> dict[str, AuthScheme]:
    import_all("simulator.auth")
    return dict(_SCHEMES)


async def authenticate(call, schemes: dict) -> Principal | None:
    operation = call.operation
    product = operation.product
    if operation.public or not product.auth_schemes:
        return None
    for name in product.auth_schemes:
        principal = await schemes[name].check(call)
        if principal is not None:
            return principal
    raise AuthFailed("no credentials of an accepted scheme")


def refuse(codes: dict, reason: str, **fields):
    """The product's code for `reason` (its `x-otpsim.auth.<scheme>.codes`), else its generic auth failure."""
    code = codes.get(reason)
    if code is None:
        raise AuthFailed(reason)
    raise SimError(code, **fields)


def scheme_codes(call, name: str) -> dict:
    """The catalogue keys the product names for the reasons scheme `name` refuses a request."""
    return (call.operation.product.auth_options.get(name) or {}).get("codes") or {}


def stored_token_scheme(name: str, header: str, namespace: str):
    """Register a scheme for tokens a product issued and keeps in the world store.

    The issuing product puts each token's Principal under `namespace` (key: the token) with the
    token lifetime as TTL, so tokens expire on the virtual clock. A missing or expired token is the
    reason `unknown-token` (x-otpsim.auth.<name>.codes may answer it with its own entry).
    """
    async def check(call):
        token = call.headers.get(header)
        if token is None:
            return None
        principal = await call.world.store.get(namespace, token)
        if principal is None:
            refuse(scheme_codes(call, name), "unknown-token")
        return principal

    KEPT_ON_RESET.add(namespace)   # like credentials, issued tokens outlast a reset (they still expire)
    return scheme(name)(check)
