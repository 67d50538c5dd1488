"""The lifecycle every product shares: issue a code to a contact, check it once."""

import hmac
import sys

from simulator.core.world.draw import Draw
from simulator.core.world.store import KEEP


class CodeThrottled(Exception):
    def __init__(self, retry_after_s: float):
        super().__init__(f"resend allowed in {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


# How long an expired code is remembered, so a late check says "expired" rather than "missing".
EXPIRED_MEMORY_S = 3600
CODES = "codes"


def drawn_code(seed, scope: str, to: str, n: int, length: int) -> str:
    """The n-th code to `to` in `scope`: fixed by the seed alone, whatever else is sent meanwhile."""
    return f"{Draw(f'{seed}/code/{scope}/{to}/{n}').randrange(10 ** length):0{length}d}"


class CodeBook:
    """One store entry per (scope, contact), a `(code, sent_at, expires_at, n)` tuple, n counting the
    codes sent to it while its record lives (why: docs/performance.md, Shaped for speed). A code used
    up or found expired stays with code None until its record lapses, which keeps its send time for
    the resend limit. Each issue and check is one atomic store update."""

    def __init__(self, store, clock, seed):
        self._store = store
        self._clock = clock
        self.seed = seed

    async def issue(self, scope: str, to: str, length: int, ttl_s: float, resend_interval_s: float = 0,
                    code: str | None = None) -> str:
        now = self._clock.now()
        key = (sys.intern(scope), to)  # a scope is one of a few strings, shared by every code in it
        seed = self.seed

        def change(values):
            last = values[0]
            if last is not None and now - last[1] < resend_interval_s:
                return [last], CodeThrottled(resend_interval_s - (now - last[1]))
            n = 1 if last is None else last[3] + 1
            sent = code if code is not None else drawn_code(seed, scope, to, n, length)
            return [(sent, now, now + ttl_s, n)], sent

        outcome = await self._store.update(CODES, [key], change, ttl=max(ttl_s + EXPIRED_MEMORY_S, resend_interval_s))
        if isinstance(outcome, CodeThrottled):
            raise outcome
        return outcome

    async def check(self, scope: str, to: str, code: str, then: str | None = None) -> str:
        """'ok' (and the code is used up), 'wrong', 'expired' or 'missing' (never sent, or used).
        With `then`, a right code stays usable once more, in scope `then`, until it expires: the
        vendor's next step carries it again (Meeting's UpdateContact after its verify call)."""
        now = self._clock.now()

        def change(values):
            issued = values[0]
            if issued is None or issued[0] is None:
                return values, ("missing", issued)
            sent_code, sent_at, expires_at, n = issued
            if now >= expires_at:
                outcome = "expired"
            elif hmac.compare_digest(sent_code.encode(), str(code).encode()):
                outcome = "ok"
            else:
                return values, ("wrong", issued)
            return [(None, sent_at, expires_at, n)], (outcome, issued)

        outcome, issued = await self._store.update(CODES, [(scope, to)], change, ttl=KEEP)
        if outcome == "ok" and then is not None:
            sent_code, sent_at, expires_at, _ = issued
            await self._store.put(CODES, (sys.intern(then), to), (sent_code, sent_at, expires_at, 0),
                                  ttl=expires_at - now + EXPIRED_MEMORY_S)
        return outcome
