"""State behind one interface: namespaced keys with expiry on the virtual clock.

The in-memory store is safe under concurrent requests because every operation runs to the end
without awaiting, inside one event loop. Expired entries are evicted as time passes, so a long
run keeps only live state.
"""

import math
from collections import deque
from contextlib import contextmanager


# Namespaces POST /__otpsim/reset keeps (issued tokens: a test's login outlasts a reset, as its credentials do)
KEPT_ON_RESET: set[str] = set()


class MemoryStore:
    """Entries per namespace, each expiring one in a queue per (namespace, ttl) (why: docs/performance.md,
    Shaped for speed). Should the clock be set back, an entry may wait behind a later one: it is
    evicted late, and `get` never returns it meanwhile."""

    def __init__(self, clock):
        self._clock = clock
        self._spaces: dict[str, dict] = {}   # namespace -> key -> (value, expires_at, key)
        self._expiries: dict[tuple[str, float], deque] = {}   # (namespace, ttl) -> its entries, oldest first
        self._next_expiry = math.inf

    def __len__(self):
        return sum(len(space) for space in self._spaces.values())

    def _evict_expired(self, now: float):
        if now < self._next_expiry:
            return
        next_expiry = math.inf
        for queue_key, queue in list(self._expiries.items()):
            space = self._spaces[queue_key[0]]
            while queue and queue[0][1] <= now:
                _, expires_at, key = queue.popleft()
                current = space.get(key)
                if current is not None and current[1] == expires_at:   # not put again since
                    del space[key]
            if queue:
                next_expiry = min(next_expiry, queue[0][1])
            else:
                del self._expiries[queue_key]
        self._next_expiry = next_expiry

    def get(self, namespace: str, key, default=None):
        space = self._spaces.get(namespace)
        entry = space.get(key) if space is not None else None
        if entry is None:
            return default
        value, expires_at, _ = entry
        if expires_at is not None and expires_at <= self._clock.now():
            del space[key]
            return default
        return value

    def put(self, namespace: str, key, value, ttl: float | None = None):
        now = self._clock.now()
        self._evict_expired(now)
        expires_at = None if ttl is None else now + ttl
        entry = (value, expires_at, key)
        self._spaces.setdefault(namespace, {})[key] = entry
        if expires_at is not None:
            queue = self._expiries.get((namespace, ttl))
            if queue is None:
                queue = self._expiries[(namespace, ttl)] = deque()
            queue.append(entry)
            self._next_expiry = min(self._next_expiry, expires_at)

    def claim(self, namespace: str, key, ttl: float) -> bool:
        """True the first time `key` is claimed, which it then stays for `ttl`; False while it is (a used nonce)."""
        if self.get(namespace, key) is not None:
            return False
        self.put(namespace, key, True, ttl=ttl)
        return True

    @contextmanager
    def reserved(self, namespace: str, key, value=True, ttl: float | None = None):
        """`key` put for good if the block ends normally, taken back if it raises: a slot (a voice
        port, say) is never held by a request that failed after taking it."""
        self.put(namespace, key, value, ttl)
        try:
            yield
        except BaseException:
            self.pop(namespace, key)
            raise

    def replace(self, namespace: str, key, value):
        """A new value for a live entry, which keeps its expiry; nothing if there is none."""
        space = self._spaces.get(namespace)
        entry = space.get(key) if space is not None else None
        if entry is not None:
            space[key] = (value, entry[1], key)

    def pop(self, namespace: str, key, default=None):
        value = self.get(namespace, key, default)
        self._spaces.get(namespace, {}).pop(key, None)
        return value

    def items(self, namespace: str) -> list[tuple]:
        now = self._clock.now()
        return [
            (key, value)
            for value, expires_at, key in list(self._spaces.get(namespace, {}).values())
            if expires_at is None or expires_at > now
        ]

    def sizes(self) -> dict[str, int]:
        """Entries per namespace, expired ones not yet evicted included: for watching memory."""
        return {namespace: len(space) for namespace, space in self._spaces.items()}

    def count(self, namespace: str) -> int:
        """How many live entries `namespace` holds, without listing them."""
        self._evict_expired(self._clock.now())
        return len(self._spaces.get(namespace, ()))

    def hit(self, namespace: str, key, limit: int, window_s: float) -> bool:
        """Count one event in a fixed window that opens with its first event; True while within `limit`."""
        now = self._clock.now()
        window = self.get(namespace, key)
        if window is None:
            window = [now, 0]
            self.put(namespace, key, window, ttl=window_s)
        window[1] += 1
        return window[1] <= limit

    def clear(self, keep=()):
        """Forget every entry but those of the namespaces in `keep` (which still expire on time)."""
        self._spaces = {namespace: space for namespace, space in self._spaces.items() if namespace in keep}
        self._expiries = {queue_key: queue for queue_key, queue in self._expiries.items() if queue_key[0] in keep}
        self._next_expiry = min((queue[0][1] for queue in self._expiries.values() if queue), default=math.inf)
