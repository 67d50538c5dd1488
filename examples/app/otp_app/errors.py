"""What the rest of the app sees when a provider refuses, whichever provider it is."""


class OtpError(Exception):
    """The provider refused the request; `code` is its documented error code."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class RateLimited(OtpError):
    """Too many codes or attempts for now; try again later."""


def refusal(code: str, message: str, rate_limit_codes=()) -> OtpError:
    """The app's error for a provider's refusal: RateLimited for that provider's rate-limit codes."""
    kind = RateLimited if code in rate_limit_codes else OtpError
    return kind(code, message)
