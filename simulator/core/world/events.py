"""What happens in the world, as it happens, for whoever listens (the admin API's event stream).

Services publish only while someone listens (`listening`), so a request pays one attribute read
when nobody does. Each subscriber holds at most `capacity` unread events: a listener that reads
too slowly loses the oldest and is told so (`missed`), and memory stays bounded.
"""

import asyncio
import itertools
from collections import deque

import orjson

DEFAULT_CAPACITY = 1000


class Subscription:
    def __init__(self, events: "Events", capacity: int):
        self._events = events
        self._queue: deque[tuple[int, str, bytes]] = deque(maxlen=capacity)
        self._ready = asyncio.Event()
        self.missed = 0        # events dropped unread since the last take()
        self.closed = False

    def put(self, event: tuple[int, str, bytes]):
        if len(self._queue) == self._queue.maxlen:
            self.missed += 1
        self._queue.append(event)
        self._ready.set()

    async def take(self, timeout: float) -> tuple[list[tuple[int, str, bytes]], int]:
        """The events waiting (waiting up to `timeout` s for one) and how many were dropped before them."""
        if not self._queue and not self.closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        self._ready.clear()
        events, missed = list(self._queue), self.missed
        self._queue.clear()
        self.missed = 0
        return events, missed

    def close(self):
        self.closed = True
        self._events.unsubscribe(self)
        self._ready.set()


class Events:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self._capacity = capacity
        self._subscribers: set[Subscription] = set()
        self._ids = itertools.count(1)
        # a shared world (redis_backend) relays events to the other workers and says whether any listens
        self.relay = None                 # callable(kind, payload bytes)
        self.listening_elsewhere = False
        self.announce_listener = None     # coroutine function: tell the other workers someone listens here

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    @property
    def listening(self) -> bool:
        return bool(self._subscribers) or self.listening_elsewhere

    def publish(self, kind: str, data):
        """Send `data` (JSON-able) as an event of `kind` to every subscriber, here and through the relay;
        encoded once for all."""
        payload = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        if self.relay is not None:
            self.relay(kind, payload)
        self.receive(kind, payload)

    def receive(self, kind: str, payload: bytes):
        """An event for the subscribers of this process (published here, or relayed from another worker)."""
        if not self._subscribers:
            return
        event = (next(self._ids), kind, payload)
        for subscriber in self._subscribers:
            subscriber.put(event)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, self._capacity)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription):
        self._subscribers.discard(subscription)

    def close(self):
        """End every subscription (server shutdown): streams finish instead of holding the server open."""
        for subscription in list(self._subscribers):
            subscription.close()
