"""A call through a Huawei Cloud SDK client, its refusals turned into the app's errors."""

from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException

from .errors import refusal


def call(operation, request, rate_limit_codes=()):
    """`operation(request)`; a refusal raises OtpError (RateLimited for `rate_limit_codes`)."""
    try:
        return operation(request)
    except ServiceResponseException as failure:
        raise refusal(failure.error_code, failure.error_msg, rate_limit_codes) from None
