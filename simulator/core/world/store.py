"""State behind one interface: namespaced keys with expiry on the virtual clock.

Every operation is a coroutine, so one product code serves the in-memory store and the Redis one
(core/world/redis_store.py). Each operation is one atomic step: a check and the change it decides
(`claim`, `hit`, `reserve`, `update`, ...) cannot interleave with another request's, in one process
or, on Redis, across processes. Values are plain data (tuples, dicts, dataclasses of the simulator):
a value read is a copy to change and `put` back, never a live object to mutate in place.

The in-memory store is atomic because no operation awaits before it ends, inside one event loop.
Expired entries are evicted as time passes, so a long run keeps only live state.
"""

import math
from collections import deque


# Namespaces POST /__otpsim/reset keeps (issued tokens: a test's login outlasts a reset, as its credentials do)
KEPT_ON_RESET: set[str] = set()


KEEP = "keep"   # an update's ttl that leaves a live key's expiry as it is


class StoreUnavailable(Exception):
    """The shared store cannot be reached: vendor calls answer the product's service-unavailable error."""


def _requeue(queue: deque, entry: tuple):
    """`entry` back in its expiry queue, in order: near the end, where a renewed entry's expiry falls."""
    place = len(queue)
    while place and queue[place - 1][1] > entry[1]:
        place -= 1
    queue.insert(place, entry)


class MemoryStore:
    """Entries per namespace, each expiring one in a queue per (namespace, ttl) (why: docs/performance.md,
    Shaped for speed). Should the clock be set back, an entry may wait behind a later one: it is
    evicted late, and `get` never returns it meanwhile."""

    shared = False   # one process's world

    def __init__(self, clock):
        self._clock = clock
        self._spaces: dict[str, dict] = {}   # namespace -> key -> (value, expires_at, key)
        self._expiries: dict[tuple[str, float], deque] = {}   # (namespace, ttl) -> its entries, oldest first
        # claimed keys (used nonces) hold no value: namespace -> key -> expires_at, and the keys in
        # a queue per (namespace, ttl) (why: docs/performance.md, Shaped for speed)
        self._claims: dict[str, dict] = {}
        self._claim_queues: dict[tuple[str, float], deque] = {}
        self._last_claim_expiry = math.nan
        self._next_expiry = math.inf

    def _evict_expired(self, now: float):
        if now < self._next_expiry:
            return
        next_expiry = math.inf
        for queue_key, queue in list(self._expiries.items()):
            space = self._spaces[queue_key[0]]
            while queue and queue[0][1] <= now:
                queued = queue.popleft()
                current = space.get(queued[2])
                if current is None:
                    continue
                if current[1] is not None and current[1] <= now:
                    del space[queued[2]]
                elif current is not queued and current[1] is not None:
                    _requeue(queue, current)   # renewed since it was queued: its turn comes later
            if queue:
                next_expiry = min(next_expiry, queue[0][1])
            else:
                del self._expiries[queue_key]
        for queue_key, queue in list(self._claim_queues.items()):
            claims = self._claims[queue_key[0]]
            while queue and claims.get(queue[0], now) <= now:
                claims.pop(queue.popleft(), None)
            if queue:
                next_expiry = min(next_expiry, claims[queue[0]])
            else:
                del self._claim_queues[queue_key]
        self._next_expiry = next_expiry

    def _get(self, namespace: str, key, default=None):
        space = self._spaces.get(namespace)
        entry = space.get(key) if space is not None else None
        if entry is None:
            return default
        value, expires_at = entry[0], entry[1]
        if expires_at is not None and expires_at <= self._clock.now():
            del space[key]
            return default
        return value

    def _put(self, namespace: str, key, value, ttl: float | None = None):
        now = self._clock.now()
        self._evict_expired(now)
        expires_at = None if ttl is None else now + ttl
        space = self._spaces.setdefault(namespace, {})
        renewed = space.get(key)
        entry = space[key] = (value, expires_at, key)
        if expires_at is None:
            return
        if renewed is not None and renewed[1] is not None and now < renewed[1] <= expires_at:
            return   # its place in the queue, no later than its new expiry, holds it; eviction moves it on
        queue = self._expiries.get((namespace, ttl))
        if queue is None:
            queue = self._expiries[(namespace, ttl)] = deque()
        queue.append(entry)
        self._next_expiry = min(self._next_expiry, expires_at)

    def _pop(self, namespace: str, key, default=None):
        value = self._get(namespace, key, default)
        self._spaces.get(namespace, {}).pop(key, None)
        return value

    def _count(self, namespace: str) -> int:
        self._evict_expired(self._clock.now())
        return len(self._spaces.get(namespace, ())) + len(self._claims.get(namespace, ()))

    async def get(self, namespace: str, key, default=None):
        return self._get(namespace, key, default)

    async def put(self, namespace: str, key, value, ttl: float | None = None):
        """Each distinct `ttl` of a namespace has an expiry queue, and eviction visits every queue: a ttl
        worked out per request is rounded by its caller (voice's call durations, to the millisecond)."""
        self._put(namespace, key, value, ttl)

    async def pop(self, namespace: str, key, default=None):
        return self._pop(namespace, key, default)

    async def claim(self, namespace: str, key, ttl: float) -> bool:
        """True the first time `key` is claimed, which it then stays for `ttl` (to the next millisecond); False
        while it is (a used nonce)."""
        now = self._clock.now()
        self._evict_expired(now)
        claims = self._claims.get(namespace)
        if claims is None:
            claims = self._claims[namespace] = {}
        elif claims.get(key, now) > now:
            return False
        # to the next millisecond, so the claims of one millisecond share one float (24 B each)
        expires_at = math.ceil((now + ttl) * 1000) / 1000
        if expires_at == self._last_claim_expiry:
            expires_at = self._last_claim_expiry
        claims[key] = self._last_claim_expiry = expires_at
        queue = self._claim_queues.get((namespace, ttl))
        if queue is None:
            queue = self._claim_queues[(namespace, ttl)] = deque()
        queue.append(key)
        self._next_expiry = min(self._next_expiry, expires_at)
        return True

    async def reserve(self, namespace: str, key, limit: int, value=True, ttl: float | None = None) -> bool:
        """Put `key` if `namespace` holds fewer than `limit` live entries (a voice port); False if full."""
        if self._count(namespace) >= limit:
            return False
        self._put(namespace, key, value, ttl)
        return True

    def _replace(self, namespace: str, key, value):
        space = self._spaces.get(namespace)
        entry = space.get(key) if space is not None else None
        if entry is not None and self._get(namespace, key) is not None:
            space[key] = (value, entry[1], key)

    async def replace(self, namespace: str, key, value):
        """A new value for a live entry, which keeps its expiry; nothing if there is none."""
        self._replace(namespace, key, value)

    async def update(self, namespace: str, keys: list, change, ttl=None):
        """One atomic read-and-write of several keys: `change(values)` gets their live values (None
        where absent) and returns `(new_values, result)`; a new value of None removes its key, the
        others are put with `ttl`: seconds, None (no expiry) or KEEP (a live key keeps its expiry,
        a new one has none). Returns `result`. `change` must be a pure function of the
        values: on Redis it may run again when another process changed a key meanwhile."""
        new_values, result = change([self._get(namespace, key) for key in keys])
        for key, value in zip(keys, new_values):
            if value is None:
                self._pop(namespace, key)
            elif ttl == KEEP and self._get(namespace, key) is not None:
                self._replace(namespace, key, value)
            else:
                self._put(namespace, key, value, None if ttl == KEEP else ttl)
        return result

    async def incr(self, namespace: str, key, ttl: float | None = None) -> int:
        """Add one to a counter (0 when absent or lapsed) and return it; each increment renews `ttl`."""
        value = self._get(namespace, key, 0) + 1
        self._put(namespace, key, value, ttl)
        return value

    async def items(self, namespace: str) -> list[tuple]:
        now = self._clock.now()
        return [
            (key, value)
            for value, expires_at, key in list(self._spaces.get(namespace, {}).values())
            if expires_at is None or expires_at > now
        ] + [(key, True) for key, expires_at in list(self._claims.get(namespace, {}).items()) if expires_at > now]

    async def count(self, namespace: str) -> int:
        """How many live entries `namespace` holds, without listing them."""
        return self._count(namespace)

    async def hit(self, namespace: str, key, limit: int, window_s: float) -> bool:
        """Count one event in a fixed window that opens with its first event; True while within `limit`."""
        window = self._get(namespace, key)
        if window is None:
            self._put(namespace, key, 1, ttl=window_s)
            return 1 <= limit
        self._replace(namespace, key, window + 1)
        return window + 1 <= limit

    async def clear(self, keep=()):
        """Forget every entry but those of the namespaces in `keep` (which still expire on time)."""
        self._spaces = {namespace: space for namespace, space in self._spaces.items() if namespace in keep}
        self._expiries = {queue_key: queue for queue_key, queue in self._expiries.items() if queue_key[0] in keep}
        self._claims = {namespace: claims for namespace, claims in self._claims.items() if namespace in keep}
        self._claim_queues = {queue_key: queue for queue_key, queue in self._claim_queues.items()
                              if queue_key[0] in keep}
        self._next_expiry = min([queue[0][1] for queue in self._expiries.values() if queue]
                                + [self._claims[queue_key[0]][queue[0]] for queue_key, queue in
                                   self._claim_queues.items() if queue], default=math.inf)

    async def sizes(self) -> dict[str, int]:
        """Entries per namespace, expired ones not yet evicted included: for watching memory."""
        return {**{namespace: len(space) for namespace, space in self._spaces.items()},
                **{namespace: len(claims) for namespace, claims in self._claims.items()}}

    async def close(self):
        pass
