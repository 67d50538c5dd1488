"""The one virtual clock every time rule reads: real time plus an offset, or frozen (manual)."""

import time
from datetime import datetime, timezone
from functools import lru_cache


class Clock:
    def __init__(self):
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._listeners = []

    @property
    def mode(self) -> str:
        return "real" if self._frozen_at is None else "manual"

    def now(self) -> float:
        base = time.time() if self._frozen_at is None else self._frozen_at
        return base + self._offset

    def accepts(self, signed_at: float, skew_s: float) -> bool:
        """Whether a client's signing time is fresh: near the virtual clock, or near the wall clock
        that real SDKs sign with even while a test has moved the virtual clock away."""
        return abs(self.now() - signed_at) <= skew_s or abs(time.time() - signed_at) <= skew_s

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    def on_change(self, listener):
        self._listeners.append(listener)

    def _changed(self):
        for listener in self._listeners:
            listener()

    def advance(self, seconds: float):
        self._offset += seconds
        self._changed()

    def set(self, when: float):
        if self._frozen_at is None:
            self._offset = when - time.time()
        else:
            self._frozen_at, self._offset = when, 0.0
        self._changed()

    def set_mode(self, mode: str):
        if mode == self.mode:
            return
        now = self.now()
        if mode == "manual":
            self._frozen_at, self._offset = now, 0.0
        else:
            self._frozen_at, self._offset = None, now - time.time()
        self._changed()

    def describe(self) -> dict:
        now = self.now()
        return {
            "now": iso_utc(now),
            "epoch": now,
            "mode": self.mode,
            "offset_s": round(now - time.time(), 3),
        }


def iso_utc(epoch: float, timespec: str = "auto") -> str:
    """`epoch` as ISO 8601 in UTC with a Z, e.g. 2026-11-23T22:55:41.123Z (timespec as datetime.isoformat)."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


@lru_cache(maxsize=1024)
def parse_utc(text: str, fmt: str) -> float:
    """Epoch seconds of `text`, a UTC time in strptime format `fmt`; ValueError if it does not fit.
    Cached (why: docs/performance.md, Shaped for speed)."""
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
