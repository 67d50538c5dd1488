"""Huawei IAM tokens in `X-Auth-Token`, as issued by the iam product (POST /v3/auth/tokens)."""

from simulator.core.pipeline.auth import stored_token_scheme
from simulator.core.report.signing import credential_header_reader

TOKENS = "iam-tokens"

check = stored_token_scheme("iam-token", "x-auth-token", TOKENS)
credential_header_reader("iam-token", "x-auth-token")
