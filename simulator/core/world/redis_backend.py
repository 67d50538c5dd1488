"""The world in Redis (or Valkey): several workers, on one host or many, are one world.

Every part keeps its state in Redis under one prefix: the store (redis_store), the outbox, journal
and deliveries (redis_log), the due jobs (redis_scheduler), and here the clock and the scenario in
force. A worker reads the clock and the scenario version at the start of each request (one HGETALL),
so a move or a scenario answered by any worker is in force for every request that starts after it,
and a request keeps the scenario it started with. Events (the page's stream, and the outbox's
arrivals that wake `outbox/wait`) are relayed between workers through a pub/sub channel.
"""

import asyncio
import logging
import math
import time
import uuid

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

from simulator.core.world.redis_batch import Batched
from simulator.core.world.redis_log import RedisLog
from simulator.core.world.redis_scheduler import RedisScheduler
from simulator.core.world.redis_store import (RedisStore, answers, client_for, decode_value, encode_value,
                                              without_password)
from simulator.core.world.store import StoreUnavailable

log = logging.getLogger("otpsim")

LISTENING_S = 15            # a worker whose page stream has a reader says so for this long, renewed every third
RECONNECT_S = 1.0           # the event relay's pause before it subscribes again after Redis went away
SEPARATOR = b"\n"

# the scenario's version moves on as its document is written: one step, so no worker reads a version
# with another's document
PUT_SCENARIO = """
local version = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], 'scenario_version', version)
return version
"""


class RedisBackend:
    shared = True

    def __init__(self, url: str, prefix: str = "otpsim"):
        self.url = url
        self.where = without_password(url)   # for messages and the banner
        self.prefix = prefix
        self.client = client_for(url)
        self.worker = uuid.uuid4().hex.encode()
        space = f"{{{prefix}}}"
        self._world_key = f"{space}:world"            # hash: clock and scenario version, page listeners
        self._scenario_key = f"{space}:scenario"      # (generation, document, seed)
        self._version_key = f"{space}:scenario-version"
        self._generation_key = f"{space}:generation"
        self._channel = f"{space}:events"
        self._put_scenario = self.client.register_script(PUT_SCENARIO)
        self._batched = Batched(self.client)   # the requests of one loop step read the world once
        self._seen_version = None
        self._clock_version = 0   # the newest clock state this worker wrote or adopted
        self._tasks: set[asyncio.Task] = set()

    def store(self, clock):
        return RedisStore(self.client, clock, self.prefix)

    def log(self, name: str, capacity: int):
        return RedisLog(self.client, self.prefix, name, capacity)

    def scheduler(self, clock):
        return RedisScheduler(clock, self.client, self.prefix)

    async def start(self, world):
        """Join the shared world (the first worker founds it with its own clock and scenario)."""
        await answers(self.client, self.url)
        own = world.scenario.name
        await self._found(world)
        await self.refresh(world)
        if world.scenario.name != own:
            log.warning("joined the world already in %s (prefix %s): its scenario %r is in force, not %r "
                        "(PUT /__otpsim/scenario changes it for every otpsim on it)", self.where, self.prefix,
                        world.scenario.name, own)
        world.events.relay = self._relay
        world.events.announce_listener = self._announce
        self._spawn(self._listen(world))
        self._spawn(self._announce_listeners(world))
        world.scheduler.start()

    async def _found(self, world):
        """Write this worker's clock and scenario where the store has none (a new world, or a Redis that
        restarted empty); a world already there is left as it is."""
        frozen_at, offset = world.clock.state()
        await self.client.hsetnx(self._world_key, "frozen_at", "" if frozen_at is None else repr(frozen_at))
        await self.client.hsetnx(self._world_key, "offset", repr(offset))
        if not await self.client.exists(self._scenario_key):
            world.generation = await self.next_generation(world)
            world.scenario.generation = world.generation
            await self.scenario_put(world)

    async def refresh(self, world):
        """The clock and the scenario as the other workers left them."""
        try:
            fields = await self._batched.read("HGETALL", self._world_key)
            if b"scenario_version" not in fields:
                await self._found(world)
                fields = await self.client.hgetall(self._world_key)
        except (RedisConnectionError, RedisTimeoutError) as error:
            raise StoreUnavailable(f"the shared store is unavailable: {error}") from error
        clock_version = int(fields.get(b"clock_version", 0))
        if clock_version >= self._clock_version:   # not older than this worker's own move
            frozen_at = fields.get(b"frozen_at")
            world.clock.adopt(float(frozen_at) if frozen_at else None, float(fields.get(b"offset", 0)))
            self._clock_version = clock_version
        world.events.listening_elsewhere = float(fields.get(b"listening_until", 0)) > time.time()
        version = fields.get(b"scenario_version")
        if version is not None and version != self._seen_version:
            generation, document, seed = decode_value(await self.client.get(self._scenario_key))
            world.use_scenario(world.compile_scenario(document), generation)
            if seed != world.seed:
                world.reseed(seed)
            self._seen_version = version

    async def clock_moved(self, world):
        # the whole state, as this worker computed it: of two moves racing on two workers the last
        # written wins (a test's clock moves come from one driver, one at a time)
        frozen_at, offset = world.clock.state()
        # a read of the world sent before this write lands must not take the clock back: none is
        # adopted while the move is on its way, and after it only one at least as new
        self._clock_version = math.inf
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(self._world_key, mapping={
                    "frozen_at": "" if frozen_at is None else repr(frozen_at), "offset": repr(offset)})
                pipe.hincrby(self._world_key, "clock_version", 1)
                _, self._clock_version = await pipe.execute()
        except BaseException:
            self._clock_version = 0   # the move may or may not have landed: the next read is adopted
            raise
        world.scheduler.poke()

    async def next_generation(self, world) -> int:
        return await self.client.incr(self._generation_key)

    async def scenario_put(self, world):
        blob = encode_value((world.generation, world.scenario.document, world.seed))
        version = await self._put_scenario([self._version_key, self._scenario_key, self._world_key], [blob])
        self._seen_version = str(version).encode()

    def _spawn(self, work):
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _relay(self, kind: str, payload: bytes):
        """Send an event to the other workers; a lost one only costs a page update or a wait's early wake."""
        async def publish():
            try:
                await self.client.publish(self._channel, SEPARATOR.join((self.worker, kind.encode(), payload)))
            except Exception as error:   # Redis gone: the event is lost, the request it came from is not
                log.debug("event relay: %s", error)
        self._spawn(publish())

    async def _listen(self, world):
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._received(world, message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event relay from %s lost (%s); subscribing again", self.where, error)
                await asyncio.sleep(RECONNECT_S)

    def _received(self, world, data: bytes):
        worker, kind, payload = data.split(SEPARATOR, 2)
        if worker == self.worker:
            return
        kind = kind.decode()
        world.events.receive(kind, payload)
        if kind == "outbox":
            world.outbox.arrived(orjson.loads(payload)["to"])
        elif kind == "clock":
            world.scheduler.poke()

    async def _announce_listeners(self, world):
        """While this worker's page stream has readers, every worker publishes its events."""
        while True:
            await asyncio.sleep(LISTENING_S / 3)
            if world.events.has_subscribers:
                await self._announce()

    async def _announce(self):
        try:
            await self.client.hset(self._world_key, "listening_until", repr(time.time() + LISTENING_S))
        except Exception as error:   # Redis away: the page sees this worker's events only, until it is back
            log.debug("listener announcement: %s", error)

    async def close(self):
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
