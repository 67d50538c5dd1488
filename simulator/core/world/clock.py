"""The one virtual clock every time rule reads: real time plus an offset, or frozen (manual)."""

import math
import time
from datetime import datetime, timezone
from functools import lru_cache

# The virtual clock stays within years datetime can write (a clock at 9999-12-31 broke every
# time stamp a second later), with room to advance from the latest time it may be set to.
EARLIEST = 0.0                                                        # 1970-01-01T00:00:00Z
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp()      # 9000-01-01T00:00:00Z


def _in_range(when: float, what: str) -> float:
    if not math.isfinite(when) or not EARLIEST <= when <= LATEST:
        raise ValueError(f"{what} must be between {iso_utc(EARLIEST)} and {iso_utc(LATEST)}")
    return when


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
        """ValueError for a negative or non-finite step, or one beyond LATEST; the clock is unchanged then."""
        if not math.isfinite(seconds):
            raise ValueError("advance must be a finite number")
        if seconds < 0:
            raise ValueError("advance must not be negative")
        _in_range(self.now() + seconds, "the clock after advance")
        self._offset += seconds
        self._changed()

    def set(self, when: float):
        """ValueError when `when` is outside EARLIEST..LATEST; the clock is unchanged then."""
        _in_range(when, "set")
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

    def state(self) -> tuple[float | None, float]:
        """(frozen_at, offset): all a clock is, for sharing it with other workers."""
        return self._frozen_at, self._offset

    def adopt(self, frozen_at: float | None, offset: float):
        """Take the state another worker left (no listeners called: that worker announced the move)."""
        self._frozen_at, self._offset = frozen_at, offset

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


def format_second(epoch: float, fmt: str, zone=timezone.utc) -> str:
    """`epoch` in strftime format `fmt`, which shows nothing finer than seconds, in `zone`. Cached by
    the second (why: docs/performance.md, Shaped for speed)."""
    return _format_second(math.floor(epoch), fmt, zone)


@lru_cache(maxsize=64)
def _format_second(second: int, fmt: str, zone) -> str:
    return datetime.fromtimestamp(second, zone).strftime(fmt)


@lru_cache(maxsize=1024)
def parse_utc(text: str, fmt: str) -> float:
    """Epoch seconds of `text`, a UTC time in strptime format `fmt`; ValueError if it does not fit.
    Cached (why: docs/performance.md, Shaped for speed)."""
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
