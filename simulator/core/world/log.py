"""Rows kept in order under ids counted from 1, the newest `capacity` of them: the outbox, the
journal and the push deliveries. One interface for the in-memory log and the Redis one
(core/world/redis_log.py)."""


class MemoryLog:
    def __init__(self, capacity: int):
        self._capacity = capacity
        self._rows: dict[int, object] = {}   # insertion order is id order
        self._last_id = 0

    async def add(self, row) -> int:
        """Keep `row`; its id."""
        self._last_id += 1
        self._rows[self._last_id] = row
        # the oldest kept row, by its id: a dict's first key is found by walking past every
        # removed entry before it, which grows with the removals until the dict is resized
        self._rows.pop(self._last_id - self._capacity, None)
        return self._last_id

    async def put(self, row_id: int, row):
        """A new version of a kept row; nothing if it has been dropped since."""
        if row_id in self._rows:
            self._rows[row_id] = row

    async def get(self, row_id: int):
        return self._rows.get(row_id)

    async def rows(self) -> list[tuple[int, object]]:
        """(id, row) pairs, oldest first."""
        return list(self._rows.items())

    async def clear(self):
        self._rows.clear()
        self._last_id = 0
