"""The world store on Redis (or Valkey): one state for several simulator processes.

The contract is MemoryStore's (core/world/store.py). Each check-and-change is one Lua script, so it
is atomic across clients; `update` runs the caller's Python between a read and a write, so it is
optimistic instead: it reads its keys' versions, and one script writes only if none has changed
since (else it reads again). A version is per key, so updates of different keys never collide. Expiry is on the virtual clock: every call passes the caller's
`clock.now()`, and an entry whose expires_at <= now is absent, whatever Redis's own time says.

Layout under `{prefix}` (a hash tag, so prefixes never collide and a cluster keeps them on one slot):
  {prefix}:namespaces      set of the namespaces written
  {prefix}:v:<namespace>   hash: encoded key -> encoded value
  {prefix}:i:<namespace>   sorted set: encoded key scored by its expires_at (inf for none)
  {prefix}:r:<namespace>   hash: encoded key -> its version, a number from {prefix}:versions
  {prefix}:log:<name>...   the world's logs (core/world/redis_log.py)
  {prefix}:sched:...       its due jobs (core/world/redis_scheduler.py)
The index makes `count` and `items` cheap, and lets every write evict a batch of due entries, so a
long run keeps only live state.
"""

import ast
import asyncio
import functools
import io
import math
import pickle
import random
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

from simulator.core.world.redis_batch import Batched
from simulator.core.world.store import KEEP, StoreUnavailable

EVICT_BATCH = 64          # due entries each write deletes from its namespace
POOL_CONNECTIONS = 64     # per process: its requests in flight, the scheduler and the event relay
POOL_WAIT_S = 5           # how long a request waits for a free connection before it is StoreUnavailable
UPDATE_ATTEMPTS = 32      # optimistic tries before `update` gives up on keys too contended
UPDATE_BACKOFF_CAP_S = 0.05   # contenders spread their retries (full jitter), so one of them wins each round
PICKLE_PROTOCOL = 5       # its frames start with b"\x80", which no counter's digits do
MAX_PLAIN_INT = 2 ** 53   # counters Lua's doubles hold exactly are stored as digits, for `incr` and `hit`


# --- keys: str, numbers or tuples of them, written as their repr and read back with literal_eval

def _check_key(key):
    if isinstance(key, tuple):
        for part in key:
            _check_key(part)
    elif not isinstance(key, (str, int, float)) or isinstance(key, float) and not math.isfinite(key):
        raise TypeError(f"a store key is a str, a number or a tuple of them, not {key!r}")


def encode_key(key) -> bytes:
    _check_key(key)
    return repr(key).encode()


def decode_key(field: bytes):
    return ast.literal_eval(field.decode())


# --- values: counters as digits (Lua counts them), anything else pickled and read back restricted

_SAFE_BUILTINS = frozenset({
    "bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list", "range", "set",
    "slice", "str", "tuple",
})
_SAFE_GLOBALS = {
    "functools": frozenset({"partial"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter", "ChainMap"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds only plain data and the simulator's own classes and functions: a value in a shared
    Redis never makes this process call anything else."""

    def find_class(self, module, name):
        if module == "builtins" and name in _SAFE_BUILTINS or name in _SAFE_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        if module.startswith("simulator."):
            found = super().find_class(module, name)
            # a dotted name could reach through the module to anything it imported
            if getattr(found, "__module__", "").startswith("simulator.") and callable(found):
                return found
        raise pickle.UnpicklingError(f"the store refuses to load {module}.{name}")


def encode_value(value) -> bytes:
    if type(value) is int and -MAX_PLAIN_INT < value < MAX_PLAIN_INT:
        return b"%d" % value
    return pickle.dumps(value, protocol=PICKLE_PROTOCOL)


def decode_value(blob: bytes):
    if blob[:1] == b"\x80":
        return _RestrictedUnpickler(io.BytesIO(blob)).load()
    return int(blob)


# --- scripts: KEYS = values hash, index, registry, versions hash, sequence; ARGV[1] = namespace,
# ARGV[2] = now, then each script's own. Every change to a field gives it a new version (from the
# world's one sequence, so a version never comes back), which `update` compares before it writes.

_PRELUDE = """
local values, index, registry, versions, sequence = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local namespace, now = ARGV[1], tonumber(ARGV[2])

local function set(field, value)
  redis.call('HSET', values, field, value)
  redis.call('HSET', versions, field, redis.call('INCR', sequence))
end

local function live(field)
  local expires_at = redis.call('ZSCORE', index, field)
  return expires_at and tonumber(expires_at) > now
end

local function value_of(field)
  if live(field) then return redis.call('HGET', values, field) end
  return false
end

local function evict_due()
  local due = redis.call('ZRANGEBYSCORE', index, '-inf', ARGV[2], 'LIMIT', 0, %(batch)d)
  if #due > 0 then
    redis.call('HDEL', values, unpack(due))
    redis.call('HDEL', versions, unpack(due))
    redis.call('ZREM', index, unpack(due))
  end
end

local function put(field, value, expires_at)
  set(field, value)
  redis.call('ZADD', index, expires_at, field)
  redis.call('SADD', registry, namespace)
end

local function remove(field)
  redis.call('HDEL', values, field)
  redis.call('HDEL', versions, field)
  redis.call('ZREM', index, field)
end

local function counter(field)
  local current = value_of(field)
  if not current then return false end
  local count = tonumber(current)
  if not count then error('the value of ' .. field .. ' is not a counter') end
  return count
end
""" % {"batch": EVICT_BATCH}

_SCRIPTS = {
    # ARGV[3..]: fields -> their live values (nil where absent)
    "read": """
local found = {}
for i = 3, #ARGV do found[i - 2] = value_of(ARGV[i]) end
return found
""",
    # ARGV[3] = expires_at, ARGV[4..] = field, value pairs (an empty value removes the field)
    "write": """
evict_due()
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then remove(ARGV[i]) else put(ARGV[i], ARGV[i + 1], ARGV[3]) end
end
""",
    # ARGV[3..]: fields -> value (nil where absent), version, expires_at of each, in threes
    "read_versions": """
local found = {}
for i = 3, #ARGV do
  local at = 3 * (i - 3)
  found[at + 1] = value_of(ARGV[i])
  found[at + 2] = redis.call('HGET', versions, ARGV[i])
  found[at + 3] = redis.call('ZSCORE', index, ARGV[i])
end
return found
""",
    # ARGV[3..] = field, version read ('' none), expires_at, value ('' removes) fours: written only
    # while no field has changed since it was read; 1 if written, 0 if another change came first
    "write_unchanged": """
for i = 3, #ARGV, 4 do
  if (redis.call('HGET', versions, ARGV[i]) or '') ~= ARGV[i + 1] then return 0 end
end
evict_due()
for i = 3, #ARGV, 4 do
  if ARGV[i + 3] == '' then remove(ARGV[i]) else put(ARGV[i], ARGV[i + 3], ARGV[i + 2]) end
end
return 1
""",
    # ARGV[3] = field
    "pop": """
evict_due()
local found = value_of(ARGV[3])
remove(ARGV[3])
return found
""",
    # ARGV[3] = field, ARGV[4] = value, ARGV[5] = expires_at
    "claim": """
evict_due()
if live(ARGV[3]) then return 0 end
put(ARGV[3], ARGV[4], ARGV[5])
return 1
""",
    # ARGV[3] = field, ARGV[4] = limit, ARGV[5] = value, ARGV[6] = expires_at
    "reserve": """
evict_due()
if redis.call('ZCOUNT', index, '(' .. ARGV[2], '+inf') >= tonumber(ARGV[4]) then return 0 end
put(ARGV[3], ARGV[5], ARGV[6])
return 1
""",
    # ARGV[3] = field, ARGV[4] = value
    "replace": """
evict_due()
if live(ARGV[3]) then set(ARGV[3], ARGV[4]) end
""",
    # ARGV[3] = field, ARGV[4] = expires_at
    "incr": """
evict_due()
local count = (counter(ARGV[3]) or 0) + 1
put(ARGV[3], string.format('%d', count), ARGV[4])
return count
""",
    # ARGV[3] = field, ARGV[4] = limit, ARGV[5] = expires_at of a window it opens
    "hit": """
evict_due()
local count = counter(ARGV[3])
if count then
  count = count + 1
  set(ARGV[3], string.format('%d', count))
else
  count = 1
  put(ARGV[3], '1', ARGV[5])
end
if count <= tonumber(ARGV[4]) then return 1 end
return 0
""",
    # -> field, value, field, value ... of the live entries
    "items": """
local fields = redis.call('ZRANGEBYSCORE', index, '(' .. ARGV[2], '+inf')
local found = {}
for first = 1, #fields, 1000 do
  local chunk = {unpack(fields, first, math.min(first + 999, #fields))}
  local chunk_values = redis.call('HMGET', values, unpack(chunk))
  for i, field in ipairs(chunk) do
    found[#found + 1] = field
    found[#found + 1] = chunk_values[i]
  end
end
return found
""",
}

# KEYS[1] = registry; ARGV[1..3] = the values', the index's and the versions' key prefixes; ARGV[4..] = namespaces kept
_CLEAR = """
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
for _, namespace in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not keep[namespace] then
    redis.call('DEL', ARGV[1] .. namespace, ARGV[2] .. namespace, ARGV[3] .. namespace)
    redis.call('SREM', KEYS[1], namespace)
  end
end
"""


def _expires_at(now: float, ttl: float | None) -> str:
    return repr(math.inf if ttl is None else now + ttl)


def hash_tag(prefix: str) -> str:
    """`{prefix}`, the start of every key of one shared world (the store's, its logs', its scheduler's)."""
    if "{" in prefix or "}" in prefix:
        raise ValueError("the store's prefix must not contain braces")
    return f"{{{prefix}}}"


def server_name(client: redis.Redis) -> str:
    """host:port/db (or the socket's path), without credentials: for error messages."""
    where = client.connection_pool.connection_kwargs
    return f"{where.get('host', where.get('path'))}:{where.get('port', '')}/{where.get('db', 0)}"


def reachable(operation):
    """Redis unreachable, timing out or still loading becomes StoreUnavailable (a documented 503).
    For the methods of an object whose `where` names its server (`server_name`)."""

    @functools.wraps(operation)
    async def guarded(self, *args, **kwargs):
        try:
            return await operation(self, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as error:   # BusyLoadingError is a ConnectionError
            raise StoreUnavailable(f"the shared store at {self.where} is unavailable: {error}") from error

    return guarded


class RedisStore:
    """MemoryStore's operations on a Redis that several worlds (and processes) share."""

    shared = True

    def __init__(self, client: redis.Redis, clock, prefix: str):
        tag = hash_tag(prefix)
        self._client = client
        self._clock = clock
        self._registry = f"{tag}:namespaces"
        self._values_prefix = f"{tag}:v:"
        self._index_prefix = f"{tag}:i:"
        self._versions_prefix = f"{tag}:r:"
        self._sequence = f"{tag}:versions"
        self._scripts = {name: client.register_script(_PRELUDE + body) for name, body in _SCRIPTS.items()}
        self._batched = Batched(client)
        self._clear = client.register_script(_CLEAR)
        self.where = server_name(client)

    def _keys(self, namespace: str) -> list[str]:
        return [self._values_prefix + namespace, self._index_prefix + namespace, self._registry,
                self._versions_prefix + namespace, self._sequence]

    async def _run(self, script: str, namespace: str, *args):
        return await self._batched.script(self._scripts[script], self._keys(namespace),
                                 [namespace, repr(self._clock.now()), *args])

    @reachable
    async def get(self, namespace: str, key, default=None):
        [found] = await self._run("read", namespace, encode_key(key))
        return default if found is None else decode_value(found)

    @reachable
    async def put(self, namespace: str, key, value, ttl: float | None = None):
        await self._run("write", namespace, _expires_at(self._clock.now(), ttl), encode_key(key), encode_value(value))

    @reachable
    async def pop(self, namespace: str, key, default=None):
        found = await self._run("pop", namespace, encode_key(key))
        return default if found is None else decode_value(found)

    @reachable
    async def claim(self, namespace: str, key, ttl: float) -> bool:
        return bool(await self._run(
            "claim", namespace, encode_key(key), encode_value(True), _expires_at(self._clock.now(), ttl)))

    @reachable
    async def reserve(self, namespace: str, key, limit: int, value=True, ttl: float | None = None) -> bool:
        return bool(await self._run(
            "reserve", namespace, encode_key(key), limit, encode_value(value), _expires_at(self._clock.now(), ttl)))

    @reachable
    async def replace(self, namespace: str, key, value):
        await self._run("replace", namespace, encode_key(key), encode_value(value))

    @reachable
    async def update(self, namespace: str, keys: list, change, ttl=None):
        """Read the keys with their versions, run `change`, and write only if none of them changed
        meanwhile (one script checks and writes); else read again. Updates of other keys of the
        namespace never make it retry."""
        fields = [encode_key(key) for key in keys]
        for attempt in range(UPDATE_ATTEMPTS):
            found = await self._run("read_versions", namespace, *fields)
            blobs, versions, scores = found[0::3], found[1::3], found[2::3]
            new_values, result = change([None if blob is None else decode_value(blob) for blob in blobs])
            now = self._clock.now()
            if ttl == KEEP:   # a live key keeps its expiry, a new one has none
                expiries = [score.decode() if score is not None and float(score) > now else repr(math.inf)
                            for score in scores]
            else:
                expiries = [_expires_at(now, ttl)] * len(fields)
            writes = [part for field, version, expires_at, value in zip(fields, versions, expiries, new_values)
                      for part in (field, version or b"", expires_at, b"" if value is None else encode_value(value))]
            if await self._run("write_unchanged", namespace, *writes):
                return result
            # another client changed one of the keys since the read: contenders spread their retries
            await asyncio.sleep(random.uniform(0, min(UPDATE_BACKOFF_CAP_S, 0.001 * 2 ** attempt)))
        raise StoreUnavailable(f"the shared store at {self.where} changed {namespace} under "
                               f"{UPDATE_ATTEMPTS} attempts of one update")

    @reachable
    async def incr(self, namespace: str, key, ttl: float | None = None) -> int:
        return await self._run("incr", namespace, encode_key(key), _expires_at(self._clock.now(), ttl))

    @reachable
    async def items(self, namespace: str) -> list[tuple]:
        flat = await self._run("items", namespace)
        return [(decode_key(field), decode_value(blob)) for field, blob in zip(flat[::2], flat[1::2])]

    @reachable
    async def count(self, namespace: str) -> int:
        return await self._client.zcount(self._index_prefix + namespace, f"({self._clock.now()!r}", "+inf")

    @reachable
    async def hit(self, namespace: str, key, limit: int, window_s: float) -> bool:
        return bool(await self._run(
            "hit", namespace, encode_key(key), limit, _expires_at(self._clock.now(), window_s)))

    @reachable
    async def clear(self, keep=()):
        await self._clear([self._registry], [self._values_prefix, self._index_prefix, self._versions_prefix, *keep])

    @reachable
    async def sizes(self) -> dict[str, int]:
        namespaces = sorted(name.decode() for name in await self._client.smembers(self._registry))
        async with self._client.pipeline(transaction=False) as pipe:
            for namespace in namespaces:
                pipe.hlen(self._values_prefix + namespace)
            return dict(zip(namespaces, await pipe.execute()))

    async def close(self):
        await self._client.aclose()


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


def client_for(url: str) -> redis.Redis:
    """A client of `url` (redis://, rediss://, unix://; Valkey too) for the store, the logs and the
    scheduler, reconnecting by itself to a restarted server: dead connections are retried, idle ones
    checked. Connects on first use. Its pool holds at most POOL_CONNECTIONS; a request beyond them
    waits for one (redis-py's default pool refuses it: "Too many connections")."""
    return redis.Redis.from_pool(redis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_CONNECTIONS,
        timeout=POOL_WAIT_S,
        decode_responses=False,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2, supported_errors=(RedisConnectionError,)),
    ))


async def answers(client: redis.Redis, url: str):
    """StoreUnavailable naming `url` (its password masked) unless it answers PING."""
    try:
        await client.ping()
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise StoreUnavailable(f"the shared store at {without_password(url)} cannot be reached: {error}") from error


async def connect_client(url: str) -> redis.Redis:
    """A client of `url` once it answers PING."""
    client = client_for(url)
    try:
        await answers(client, url)
    except StoreUnavailable:
        await client.aclose()
        raise
    return client


async def connect(url: str, clock, prefix: str = "otpsim") -> RedisStore:
    """A RedisStore on `url`, once it answers PING."""
    return RedisStore(await connect_client(url), clock, prefix)
