"""State behind one interface: namespaced keys with expiry on the virtual clock.

The in-memory store is safe under concurrent requests because every operation runs to the end
without awaiting, inside one event loop. Expired entries are evicted as time passes, so a long
run keeps only live state.
"""

import heapq
import itertools


class MemoryStore:
    def __init__(self, clock):
        self._clock = clock
        self._data: dict[tuple, tuple] = {}
        self._expiries: list[tuple[float, int, tuple]] = []
        self._seq = itertools.count()

    def __len__(self):
        return len(self._data)

    def _evict_expired(self, now: float):
        heap = self._expiries
        while heap and heap[0][0] <= now:
            expires_at, _, slot = heapq.heappop(heap)
            entry = self._data.get(slot)
            if entry is not None and entry[1] == expires_at:
                del self._data[slot]

    def get(self, namespace: str, key, default=None):
        slot = (namespace, key)
        entry = self._data.get(slot)
        if entry is None:
            return default
        value, expires_at = entry
        if expires_at is not None and expires_at <= self._clock.now():
            del self._data[slot]
            return default
        return value

    def put(self, namespace: str, key, value, ttl: float | None = None):
        now = self._clock.now()
        self._evict_expired(now)
        expires_at = None if ttl is None else now + ttl
        slot = (namespace, key)
        self._data[slot] = (value, expires_at)
        if expires_at is not None:
            heapq.heappush(self._expiries, (expires_at, next(self._seq), slot))

    def pop(self, namespace: str, key, default=None):
        value = self.get(namespace, key, default)
        self._data.pop((namespace, key), None)
        return value

    def items(self, namespace: str) -> list[tuple]:
        now = self._clock.now()
        return [
            (key, value)
            for (ns, key), (value, expires_at) in list(self._data.items())
            if ns == namespace and (expires_at is None or expires_at > now)
        ]

    def hit(self, namespace: str, key, limit: int, window_s: float) -> bool:
        """Count one event in a fixed window that opens with its first event; True while within `limit`."""
        now = self._clock.now()
        window = self.get(namespace, key)
        if window is None:
            window = [now, 0]
            self.put(namespace, key, window, ttl=window_s)
        window[1] += 1
        return window[1] <= limit

    def clear(self):
        self._data.clear()
        self._expiries.clear()
