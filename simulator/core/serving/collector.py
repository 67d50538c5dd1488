"""CPython's garbage collector shaped for a long-running server (why: docs/performance.md, Shaped for speed).

The collector starts a young collection when more containers were made than freed since the last
one. A busy simulator keeps what it served (journal rows, outbox messages, claims, reservations) as
tuples and frees older ones at about the same pace, so that count hardly grows: the young
generation filled with tens of thousands of tuples until a burst of new connections tipped it, and
that one collection paused every request for 10–30 ms. Collecting the young generation on a timer
keeps each pause near a millisecond; the tuples of atoms leave the collector's tracking on their
first collection, as before.
"""

import asyncio
import gc

YOUNG_EVERY_S = 0.05


def settle():
    """Start-up objects out of the collector's generations; a full collection after 100 middle ones
    instead of 10, as full collections walk every live code, nonce and journal entry."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


class YoungCollections:
    """Collects the young generation every `every_s` on the running loop (and the middle one as often
    as its threshold asks) until stopped; full collections stay the collector's own."""

    def __init__(self, every_s: float = YOUNG_EVERY_S):
        self.every_s = every_s
        self._timer: asyncio.TimerHandle | None = None

    def start(self):
        self._timer = asyncio.get_running_loop().call_later(self.every_s, self._collect)

    def _collect(self):
        _, middle_threshold, _ = gc.get_threshold()
        _, young_collections, _ = gc.get_count()
        gc.collect(1 if young_collections >= middle_threshold else 0)
        self.start()

    def stop(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
