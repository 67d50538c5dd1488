"""Huawei Meeting access tokens in `X-Access-Token`, as issued by the meeting login endpoints.

A login that evicts a token (more than `tokens_per_user`) pops it from the store; a missing,
unknown, evicted or expired token gets the product's `auth.failure` (USG.000000004).
"""

from simulator.core.pipeline.auth import stored_token_scheme

TOKENS = "meeting-tokens"

check = stored_token_scheme("meeting-token", "x-access-token", TOKENS)
