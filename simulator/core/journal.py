"""Every request and its answer, in order; secrets masked."""

import itertools
from collections import deque

SECRET_HEADERS = frozenset({
    "authorization", "x-auth-token", "x-access-token", "x-aksk", "x-subject-token",
    "x-acs-security-token", "proxy-authorization", "cookie",
})
SECRET_FIELDS = frozenset({
    "password", "secret", "sk", "app_secret", "appKey", "app_key_secret", "access_key_secret",
    "accessToken", "refreshToken", "Signature",
})
MASK = "***"
BODY_PREVIEW = 4096


def mask_headers(headers) -> dict:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def mask_fields(value):
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_FIELDS else mask_fields(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fields(v) for v in value]
    return value


class Journal:
    def __init__(self, capacity: int = 10_000):
        self._entries: deque[dict] = deque(maxlen=capacity)
        self._ids = itertools.count(1)

    def record(self, entry: dict) -> dict:
        entry["id"] = next(self._ids)
        self._entries.append(entry)
        return entry

    def list(self, product=None, operation=None) -> list[dict]:
        return [
            e for e in self._entries
            if (product is None or e.get("product") == product)
            and (operation is None or e.get("operation") in (operation, f"{e.get('product')}.{operation}"))
        ]

    def clear(self):
        self._entries.clear()
        self._ids = itertools.count(1)
