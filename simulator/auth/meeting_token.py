"""Huawei Meeting access tokens in `X-Access-Token`, as issued by the meeting login endpoints.

A login that evicts a token (more than `tokens_per_user`) pops it from the store; a missing,
unknown, evicted or expired token gets the product's `auth.failure` (USG.000000004).
"""

from simulator.core.pipeline.auth import stored_token_scheme
from simulator.core.report.signing import credential_header_reader

TOKENS = "meeting-tokens"

check = stored_token_scheme("meeting-token", "x-access-token", TOKENS)
credential_header_reader("meeting-token", "x-access-token")
