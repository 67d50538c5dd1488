"""CPython's garbage collector shaped for a long-running server (why: docs/performance.md, Shaped for speed).

The collector starts a young collection when more containers were made than freed since the last
one. A busy simulator keeps what it served (journal rows, outbox messages, claims, reservations) as
tuples and frees older ones at about the same pace, so that count hardly grows: the young
generation filled with tens of thousands of tuples until a burst of new connections tipped it, and
that one collection paused every request for 10–30 ms. Collecting the young generation on a timer,
when the collector has not done so itself since the last tick, keeps each pause near a millisecond
without adding collections where its own trigger works (each young collection also brings the
middle and full ones nearer); the tuples of atoms leave the collector's tracking on their first
collection, as before.
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
    """Every `every_s` on the running loop until stopped: collects the young generation (and the
    middle one as often as its threshold asks) unless the collector did since the last tick; full
    collections stay the collector's own."""

    def __init__(self, every_s: float = YOUNG_EVERY_S):
        self.every_s = every_s
        self._timer: asyncio.TimerHandle | None = None
        self._counts_after_last_tick = None

    def start(self):
        self._timer = asyncio.get_running_loop().call_later(self.every_s, self._tick)

    def _tick(self):
        # the collections counted in the older generations change with every collection
        _, young_collections, middle_collections = gc.get_count()
        if (young_collections, middle_collections) == self._counts_after_last_tick:
            _, middle_threshold, _ = gc.get_threshold()
            gc.collect(1 if young_collections >= middle_threshold else 0)
        self._counts_after_last_tick = gc.get_count()[1:]
        self.start()

    def stop(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
