"""Huawei IAM tokens in `X-Auth-Token`, as issued by the iam product.

The iam product stores each token it issues in the world store, namespace `iam-tokens`, key the
token, value the principal dict, with the token lifetime as TTL: so a token expires on the
virtual clock.
"""

from ..core.auth import scheme
from ..core.errors import AuthFailed

TOKENS = "iam-tokens"


@scheme("iam-token")
async def check(call):
    token = call.headers.get("x-auth-token")
    if token is None:
        return None
    principal = call.world.store.get(TOKENS, token)
    if principal is None:
        raise AuthFailed("decrypt token fail")
    return principal
