"""Huawei Meeting access tokens in `X-Access-Token`, as issued by the meeting login endpoints.

The meeting product keeps each live token in the world store, namespace `meeting-tokens`, key
the token, value the principal dict, with the token lifetime as TTL: a token expires on the
virtual clock, and a login that evicts it (more than `tokens_per_user`) pops it.
A missing, unknown, evicted or expired token gets the product's `auth.failure` (USG.000000004).
"""

from ..core.auth import scheme
from ..core.errors import AuthFailed

TOKENS = "meeting-tokens"


@scheme("meeting-token")
async def check(call):
    token = call.headers.get("x-access-token")
    if token is None:
        return None
    principal = call.world.store.get(TOKENS, token)
    if principal is None:
        raise AuthFailed("unknown or expired access token")
    return principal
