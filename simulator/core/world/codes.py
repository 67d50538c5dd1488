"""The lifecycle every product shares: issue a code to a contact, check it once."""

import hmac
import string
import sys


class CodeThrottled(Exception):
    def __init__(self, retry_after_s: float):
        super().__init__(f"resend allowed in {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


# How long an expired code is remembered, so a late check says "expired" rather than "missing".
EXPIRED_MEMORY_S = 3600
CODES = "codes"


class CodeBook:
    """One store entry per (scope, contact), a `(code, sent_at, expires_at)` tuple (why: docs/performance.md,
    Shaped for speed). A code used up or found expired stays as `(None, sent_at, expires_at)`
    until its record lapses, which keeps its send time for the resend limit."""

    def __init__(self, store, clock, rng):
        self._store = store
        self._clock = clock
        self._rng = rng

    def issue(self, scope: str, to: str, length: int, ttl_s: float, resend_interval_s: float = 0,
              code: str | None = None) -> str:
        now = self._clock.now()
        key = (sys.intern(scope), to)  # a scope is one of a few strings, shared by every code in it
        last = self._store.get(CODES, key)
        if last is not None and now - last[1] < resend_interval_s:
            raise CodeThrottled(resend_interval_s - (now - last[1]))
        if code is None:
            code = "".join(self._rng.choice(string.digits) for _ in range(length))
        remembered_s = max(ttl_s + EXPIRED_MEMORY_S, resend_interval_s)
        self._store.put(CODES, key, (code, now, now + ttl_s), ttl=remembered_s)
        return code

    def check(self, scope: str, to: str, code: str, then: str | None = None) -> str:
        """'ok' (and the code is used up), 'wrong', 'expired' or 'missing' (never sent, or used).
        With `then`, a right code stays usable once more, in scope `then`, until it expires: the
        vendor's next step carries it again (Meeting's UpdateContact after its verify call)."""
        key = (scope, to)
        issued = self._store.get(CODES, key)
        if issued is None or issued[0] is None:
            return "missing"
        sent_code, sent_at, expires_at = issued
        if self._clock.now() >= expires_at:
            outcome = "expired"
        elif hmac.compare_digest(sent_code.encode(), str(code).encode()):
            outcome = "ok"
        else:
            return "wrong"
        self._store.replace(CODES, key, (None, sent_at, expires_at))
        if outcome == "ok" and then is not None:
            remaining = expires_at - self._clock.now()
            self._store.put(CODES, (sys.intern(then), to), (sent_code, sent_at, expires_at),
                            ttl=remaining + EXPIRED_MEMORY_S)
        return outcome
