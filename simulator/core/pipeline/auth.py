"""Auth schemes by the names the specs use; each module in simulator/auth registers one.

A scheme is `async def check(call) -> dict | None`: the principal when its credentials are
present and right, `None` when the request does not use this scheme at all. It raises
`SimError(key)` for a failure the vendor documents a code for, or `AuthFailed(reason)` for the
product's generic `auth.failure` answer.
"""

from simulator.core.errors import AuthFailed, SimError
from simulator.core.product import _import_all

_SCHEMES: dict[str, object] = {}


def scheme(name: str):
    def register(check):
        _SCHEMES[name] = check
        return check
    return register


def load_schemes() -> dict[str, object]:
    _import_all("simulator.auth")
    return dict(_SCHEMES)


async def authenticate(call, schemes: dict) -> dict | None:
    operation = call.operation
    product = operation.product
    if operation.public or not product.auth_schemes:
        return None
    for name in product.auth_schemes:
        principal = await schemes[name](call)
        if principal is not None:
            return principal
    raise AuthFailed("no credentials of an accepted scheme")


def failure_error(product, failure: AuthFailed) -> SimError:
    return SimError(product.auth_failure or product.protocol_errors["internal-error"], reason=failure.reason)


def stored_token_scheme(name: str, header: str, namespace: str):
    """Register a scheme for tokens a product issued and keeps in the world store.

    The issuing product puts each token under `namespace` (key the token, value the principal)
    with the token lifetime as TTL, so tokens expire on the virtual clock.
    """
    async def check(call):
        token = call.headers.get(header)
        if token is None:
            return None
        principal = call.world.store.get(namespace, token)
        if principal is None:
            raise AuthFailed(f"unknown or expired token in {header}")
        return principal

    return scheme(name)(check)
