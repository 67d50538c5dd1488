"""Every code sent — SMS, e-mail, voice — lands here, readable by tests."""

import asyncio
import itertools
import time
from collections import deque
from dataclasses import asdict, dataclass

from simulator.core.world.clock import iso_utc


@dataclass(slots=True)
class Message:
    id: int
    product: str
    operation: str   # qualified, e.g. osm.SendVerifyCodes: as the journal and scenarios name it
    channel: str
    to: str
    code: str
    text: str
    sent_at: float   # epoch seconds on the virtual clock
    sent_at_wall: float   # epoch seconds on the wall clock

    def as_dict(self) -> dict:
        return {**asdict(self), "sent_at": iso_utc(self.sent_at, timespec="milliseconds"),
                "sent_at_wall": iso_utc(self.sent_at_wall, timespec="milliseconds")}


class Outbox:
    """Messages are kept as tuples of their fields and become Message objects when read (why:
    docs/performance.md, Shaped for speed)."""

    def __init__(self, clock, capacity: int = 10_000, events=None):
        self._clock = clock
        self._events = events
        self._rows: deque[tuple] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._waiters: dict[str, list[asyncio.Future]] = {}

    def send(self, product: str, operation: str, channel: str, to: str, code: str, text: str,
             delivered: bool = True):
        """A message; `delivered=False`: the vendor accepted it and it never arrives (its id is spent)."""
        row = (next(self._ids), product, operation, channel, to, code, text, self._clock.now(), time.time())
        if not delivered:
            return
        self._rows.append(row)
        if self._events is not None and self._events.listening:
            self._events.publish("outbox", Message(*row).as_dict())
        for waiter in self._waiters.pop(to, []):
            if not waiter.done():
                waiter.set_result(Message(*row))

    def list(self, to=None, channel=None, product=None, since: int = 0) -> list[Message]:
        messages = (Message(*row) for row in self._rows)
        return [
            m for m in messages
            if m.id > since
            and (to is None or m.to == to)
            and (channel is None or m.channel == channel)
            and (product is None or m.product == product)
        ]

    def latest(self, to: str) -> Message | None:
        for message in (Message(*row) for row in reversed(self._rows)):
            if message.to == to:
                return message
        return None

    async def wait(self, to: str, timeout: float, since: int | None = None) -> Message | None:
        """The newest message to `to` (newer than `since` when given), waiting up to `timeout` seconds."""
        existing = self.list(to=to, since=since or 0)
        if existing:
            return existing[0] if since is not None else existing[-1]
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(to, []).append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(to)
            if waiters and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[to]

    def clear(self):
        self._rows.clear()
        self._ids = itertools.count(1)
