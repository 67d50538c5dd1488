"""The Scheduler's contract (core/world/scheduler.py) on Redis: due jobs that any worker may run.

Layout under the store's `{prefix}` (core/world/redis_store.py):
  {prefix}:sched:due      sorted set: job id scored by its due time on the virtual clock
  {prefix}:sched:leased   sorted set: job id claimed by a worker, scored by when its lease lapses (Redis's TIME)
  {prefix}:sched:jobs     hash: job id -> encoded Task
  {prefix}:sched:when     hash: job id -> its due time, to put it back as due
  {prefix}:sched:seq      the last job id given
A job id is a zero-padded sequence number, so jobs due at one moment sort, and start, in the order
they were scheduled.

Each process's runner claims due jobs in one script (due -> leased), runs them, and acks them
(deleted). It renews the leases of its jobs while they run; a lease that lapses, because its worker
died, is put back as due by the next claim of any worker. So each due job runs exactly once on some
worker while workers live, and at least once if one dies mid-job: it runs again on another worker
after lease_s. A worker that closes puts its unfinished jobs back as due at once.
"""

import asyncio
import inspect
import logging

from simulator.core.world.redis_batch import Batched
from simulator.core.world.redis_store import decode_value, encode_value, hash_tag, reachable, server_name
from simulator.core.world.store import StoreUnavailable

log = logging.getLogger("otpsim")

CLAIM_BATCH = 64   # jobs one claim takes, so a backlog spreads over the workers

# KEYS = due, leased, jobs, when, seq
_PRELUDE = """
local due, leased, jobs, when = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function real_now()
  local time = redis.call('TIME')
  return tonumber(time[1]) + tonumber(time[2]) / 1000000
end

local function put_back(id)
  if redis.call('ZREM', leased, id) == 1 then redis.call('ZADD', due, redis.call('HGET', when, id), id) end
end
"""

_SCRIPTS = {
    # ARGV[1] = due time, ARGV[2] = encoded job
    "schedule": """
local id = string.format('%020d', redis.call('INCR', KEYS[5]))
redis.call('ZADD', due, ARGV[1], id)
redis.call('HSET', jobs, id, ARGV[2])
redis.call('HSET', when, id, ARGV[1])
""",
    # ARGV[1] = virtual now, ARGV[2] = lease_s, ARGV[3] = limit -> id, job, id, job ...
    "claim": """
local now = real_now()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', leased, '-inf', now)) do put_back(id) end
local found = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  redis.call('ZREM', due, id)
  redis.call('ZADD', leased, now + tonumber(ARGV[2]), id)
  found[#found + 1] = id
  found[#found + 1] = redis.call('HGET', jobs, id)
end
return found
""",
    # ARGV[1] = lease_s, ARGV[2..] = ids still leased to this worker
    "renew": """
local lapses = real_now() + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', leased, 'XX', lapses, ARGV[i]) end
""",
    # ARGV = ids
    "release": """
for _, id in ipairs(ARGV) do put_back(id) end
""",
    # ARGV[1] = id; from due too, should its lease have lapsed meanwhile: it has run
    "ack": """
redis.call('ZREM', leased, ARGV[1])
redis.call('ZREM', due, ARGV[1])
redis.call('HDEL', jobs, ARGV[1])
redis.call('HDEL', when, ARGV[1])
""",
}


class RedisScheduler:
    """Due jobs shared by the workers of one world; this process's runner is one of them."""

    def __init__(self, clock, client, prefix: str, lease_s: float = 30.0, poll_s: float = 0.05):
        self._clock = clock
        self._client = client
        self.world = None   # set by the World that owns it: jobs run with it
        self._lease_s = lease_s
        self._poll_s = poll_s
        tag = hash_tag(prefix)
        self._keys = [f"{tag}:sched:{part}" for part in ("due", "leased", "jobs", "when", "seq")]
        self._scripts = {name: client.register_script(_PRELUDE + body) for name, body in _SCRIPTS.items()}
        self._batched = Batched(client)
        self.where = server_name(client)
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task | None = None
        self._running: dict[asyncio.Task, str] = {}   # this worker's jobs -> their ids
        self._renew_at = 0.0
        self._unreachable = False
        self._closing = False

    @reachable
    async def _script(self, name: str, *args):
        return await self._batched.script(self._scripts[name], self._keys, list(args))

    async def at(self, when: float, job):
        """Run `job(world)` on some worker once the clock reaches `when` (epoch seconds). StoreUnavailable
        when Redis cannot be reached."""
        await self._script("schedule", repr(float(when)), encode_value(job))
        self.poke()

    def poke(self):
        """Claim at once rather than at the next poll: the clock moved, or a job was scheduled."""
        if self._wake is not None:
            self._wake.set()

    def start(self):
        """Run due jobs from now on, in the running loop."""
        if self._runner is None or self._runner.done():
            self._closing = False
            self._wake = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        loop = asyncio.get_running_loop()
        while not self._closing:   # besides cancelling: redis-py may swallow a cancellation mid-command
            self._wake.clear()
            try:
                await self._start_due()
                await self._renew_leases()
            except StoreUnavailable as error:
                if not self._unreachable:
                    log.warning("the scheduler retries every %ss: %s", self._poll_s, error)
                    self._unreachable = True
            except Exception:   # a bug in one round must not stop every later job
                log.exception("the scheduler's round failed")
            else:
                if self._unreachable:
                    log.info("the scheduler reaches the shared store again")
                    self._unreachable = False
            # the poll: another worker may have moved the clock or scheduled a job for now
            timer = loop.call_later(self._poll_s, self.poke)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def _start_due(self):
        refresh = getattr(getattr(self.world, "backend", None), "refresh", None)
        if refresh is not None:   # the shared clock, as another worker may have moved it
            await refresh(self.world)
        while True:
            found = await self._script("claim", repr(self._clock.now()), self._lease_s, CLAIM_BATCH)
            for job_id, blob in zip(found[::2], found[1::2]):
                self._start(job_id, blob)
            if len(found) < 2 * CLAIM_BATCH:
                return

    def _start(self, job_id: bytes, blob: bytes):
        """A plain function runs at once, in turn with the other due jobs; a coroutine in a task of its own."""
        try:
            result = decode_value(blob)(self.world)
        except Exception:  # a failing job must not stop the clock for everyone else
            log.exception("scheduled job failed")
            result = None
        task = asyncio.get_running_loop().create_task(self._finish(job_id, result))
        self._running[task] = job_id
        task.add_done_callback(self._running.pop)

    async def _finish(self, job_id: bytes, result):
        try:
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("scheduled job failed")
        try:
            await self._script("ack", job_id)
        except StoreUnavailable as error:   # its lease lapses and it runs again elsewhere: at least once
            log.warning("a finished job stays leased: %s", error)

    async def _renew_leases(self):
        now = asyncio.get_running_loop().time()
        if now >= self._renew_at:
            self._renew_at = now + self._lease_s / 3
            if self._running:
                await self._script("renew", self._lease_s, *self._running.values())

    @reachable
    async def _pending(self) -> int:
        """Jobs due now or leased by any worker."""
        due, leased = self._keys[:2]
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zcount(due, "-inf", repr(self._clock.now()))
            pipe.zcard(leased)
            return sum(await pipe.execute())

    async def settle(self, timeout: float = 2.0):
        """Start what is due, then wait (bounded) until no job is due or running here or on another worker.
        StoreUnavailable when Redis cannot be reached."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self._start_due()
            running = set(self._running)
            if not running and not await self._pending():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            if running:
                await asyncio.wait(running, timeout=min(remaining, self._poll_s))
            else:   # another worker's: its ack is seen at the next poll
                await asyncio.sleep(min(remaining, self._poll_s))

    @reachable
    async def clear(self):
        """Forget every worker's due jobs; stop this one's running jobs. Ids keep counting, so a job
        still running elsewhere acks its own id, never a new job's."""
        for task in list(self._running):
            task.cancel()
        await self._client.delete(*self._keys[:4])

    async def close(self):
        """Stop the runner and this worker's jobs; put those back as due for another worker. The
        client is the caller's to close."""
        self._closing = True
        self.poke()
        tasks = dict(self._running)
        if self._runner is not None:
            tasks[self._runner] = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        unfinished = [job_id for job_id in tasks.values() if job_id is not None]
        if unfinished:
            try:
                await self._script("release", *unfinished)
            except StoreUnavailable:   # their leases lapse instead
                pass
