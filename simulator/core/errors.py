"""Errors a product handler or an auth scheme raises; the envelope turns them into the vendor's answer."""


class SimError(Exception):
    """Answer with the catalogue entry `key` of the current product.

    `fields` fill placeholders in the catalogue message (e.g. `{field}`) and the envelope.
    """

    def __init__(self, key: str, **fields):
        super().__init__(key)
        self.key = key
        self.fields = fields


class AuthFailed(Exception):
    """Credentials were absent or wrong: the product's `auth.failure` entry answers."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SpecError(Exception):
    """A spec in openapi/ breaks the conventions; raised at start-up, never per request."""
