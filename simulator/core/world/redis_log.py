"""MemoryLog's contract (core/world/log.py) on Redis: one log that every worker adds to.

Layout under the store's `{prefix}` (core/world/redis_store.py):
  {prefix}:log:<name>:rows   hash: id -> encoded row, the kept ids always a run without gaps
  {prefix}:log:<name>:last   the last id given
Adding gives the next id and drops what fell out of the newest `capacity` in one script, so ids are
unique and the log never holds more than `capacity` rows, whoever adds.
"""

from simulator.core.world.redis_batch import Batched
from simulator.core.world.redis_store import decode_value, encode_value, hash_tag, reachable, server_name

# KEYS = rows, last; ARGV[1] = row, ARGV[2] = capacity -> the row's id
_ADD = """
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], id, ARGV[1])
-- the kept ids have no gaps: delete downwards from the newest one dropped until one is missing
local dropped = id - tonumber(ARGV[2])
while dropped > 0 and redis.call('HDEL', KEYS[1], dropped) == 1 do dropped = dropped - 1 end
return id
"""

# KEYS = rows; ARGV[1] = id, ARGV[2] = row
_PUT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""


class RedisLog:
    def __init__(self, client, prefix: str, name: str, capacity: int):
        self._client = client
        self._rows = f"{hash_tag(prefix)}:log:{name}:rows"
        self._last = f"{hash_tag(prefix)}:log:{name}:last"
        self._capacity = capacity
        self._add = client.register_script(_ADD)
        self._put = client.register_script(_PUT)
        self._batched = Batched(client)
        self.where = server_name(client)

    @reachable
    async def add(self, row) -> int:
        """Keep `row`; its id."""
        return await self._batched.script(self._add, [self._rows, self._last], [encode_value(row), self._capacity])

    @reachable
    async def put(self, row_id: int, row):
        """A new version of a kept row; nothing if it has been dropped since."""
        await self._batched.script(self._put, [self._rows], [row_id, encode_value(row)])

    @reachable
    async def get(self, row_id: int):
        blob = await self._client.hget(self._rows, row_id)
        return None if blob is None else decode_value(blob)

    @reachable
    async def rows(self) -> list[tuple[int, object]]:
        """(id, row) pairs, oldest first."""
        kept = await self._client.hgetall(self._rows)
        return [(row_id, decode_value(kept[field])) for row_id, field in sorted((int(field), field) for field in kept)]

    @reachable
    async def clear(self):
        await self._client.delete(self._rows, self._last)
