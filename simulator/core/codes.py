"""The lifecycle every product shares: issue a code to a contact, check it once."""

import hmac
import string
from dataclasses import dataclass


class CodeThrottled(Exception):
    def __init__(self, retry_after_s: float):
        super().__init__(f"resend allowed in {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


@dataclass
class IssuedCode:
    code: str
    issued_at: float
    expires_at: float


# How long an expired code is remembered, so a late check says "expired" rather than "missing".
EXPIRED_MEMORY_S = 3600


class CodeBook:
    def __init__(self, store, clock, rng):
        self._store = store
        self._clock = clock
        self._rng = rng

    def issue(self, scope: str, to: str, length: int, ttl_s: float, resend_interval_s: float = 0,
              code: str | None = None) -> str:
        now = self._clock.now()
        last = self._store.get("codes.last-send", (scope, to))
        if last is not None and now - last < resend_interval_s:
            raise CodeThrottled(resend_interval_s - (now - last))
        if code is None:
            code = "".join(self._rng.choice(string.digits) for _ in range(length))
        self._store.put("codes", (scope, to), IssuedCode(code, now, now + ttl_s), ttl=ttl_s + EXPIRED_MEMORY_S)
        if resend_interval_s:
            self._store.put("codes.last-send", (scope, to), now, ttl=resend_interval_s)
        return code

    def check(self, scope: str, to: str, code: str) -> str:
        """'ok' (and the code is used up), 'wrong', 'expired' or 'missing' (never sent, or used)."""
        issued = self._store.get("codes", (scope, to))
        if issued is None:
            return "missing"
        if self._clock.now() >= issued.expires_at:
            self._store.pop("codes", (scope, to))
            return "expired"
        if not hmac.compare_digest(issued.code.encode(), str(code).encode()):
            return "wrong"
        self._store.pop("codes", (scope, to))
        return "ok"
