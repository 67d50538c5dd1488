"""Every code sent — SMS, e-mail, voice — lands here, readable by tests."""

import asyncio
import itertools
from collections import deque
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

# True while a request is handled whose scenario rule says `deliver: false`
delivery_lost: ContextVar[bool] = ContextVar("otpsim_delivery_lost", default=False)


@dataclass(slots=True)  # ten thousand of them are kept: no __dict__ each
class Message:
    id: int
    product: str
    operation: str
    channel: str
    to: str
    code: str
    text: str
    sent_at: float   # epoch seconds on the virtual clock

    def as_dict(self) -> dict:
        shown = asdict(self)
        sent = datetime.fromtimestamp(self.sent_at, timezone.utc)
        shown["sent_at"] = sent.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return shown


class Outbox:
    def __init__(self, clock, capacity: int = 10_000):
        self._clock = clock
        self._messages: deque[Message] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._waiters: dict[str, list[asyncio.Future]] = {}

    def send(self, product: str, operation: str, channel: str, to: str, code: str, text: str) -> Message:
        message = Message(next(self._ids), product, operation, channel, to, code, text, self._clock.now())
        if delivery_lost.get():  # the vendor accepted it; it never arrives
            return message
        self._messages.append(message)
        for waiter in self._waiters.pop(to, []):
            if not waiter.done():
                waiter.set_result(message)
        return message

    def list(self, to=None, channel=None, product=None, since: int = 0) -> list[Message]:
        return [
            m for m in self._messages
            if m.id > since
            and (to is None or m.to == to)
            and (channel is None or m.channel == channel)
            and (product is None or m.product == product)
        ]

    def latest(self, to: str) -> Message | None:
        for message in reversed(self._messages):
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
        self._messages.clear()
        self._ids = itertools.count(1)
