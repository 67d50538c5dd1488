"""Every code sent — SMS, e-mail, voice — lands here, readable by tests."""

import asyncio
import time
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
    """Messages are kept as tuples of their fields, without the id, and become Message objects
    when read (why: docs/performance.md, Shaped for speed)."""

    def __init__(self, clock, log, events=None, announce: bool = False):
        self._clock = clock
        self._events = events
        self._log = log
        self._announce = announce   # a shared world: every message is announced, for waits on other workers
        self._waiters: dict[str, list[asyncio.Future]] = {}

    async def send(self, product: str, operation: str, channel: str, to: str, code: str, text: str,
                   delivered: bool = True):
        """A message; `delivered=False`: the vendor accepted it and it never arrives."""
        if not delivered:
            return
        row = (product, operation, channel, to, code, text, self._clock.now(), time.time())
        message = Message(await self._log.add(row), *row)
        if self._events is not None and (self._announce or self._events.listening):
            self._events.publish("outbox", message.as_dict())
        self.arrived(to)

    def arrived(self, to: str):
        """Wake the waits for `to`, which look again (a message sent here, or through another worker)."""
        for waiter in self._waiters.pop(to, []):
            if not waiter.done():
                waiter.set_result(None)

    async def list(self, to=None, channel=None, product=None, since: int = 0) -> list[Message]:
        messages = (Message(row_id, *row) for row_id, row in await self._log.rows())
        return [
            m for m in messages
            if m.id > since
            and (to is None or m.to == to)
            and (channel is None or m.channel == channel)
            and (product is None or m.product == product)
        ]

    async def latest(self, to: str) -> Message | None:
        for row_id, row in reversed(await self._log.rows()):
            if row[3] == to:
                return Message(row_id, *row)
        return None

    async def wait(self, to: str, timeout: float, since: int | None = None) -> Message | None:
        """The newest message to `to` (newer than `since` when given), waiting up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = loop.create_future()
            self._waiters.setdefault(to, []).append(waiter)   # before looking: a message sent meanwhile wakes it
            try:
                existing = await self.list(to=to, since=since or 0)
                if existing:
                    return existing[0] if since is not None else existing[-1]
                await asyncio.wait_for(waiter, max(deadline - loop.time(), 0))
            except asyncio.TimeoutError:
                return None
            finally:
                waiters = self._waiters.get(to)
                if waiters and waiter in waiters:
                    waiters.remove(waiter)
                    if not waiters:
                        del self._waiters[to]

    async def clear(self):
        await self._log.clear()
