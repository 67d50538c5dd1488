"""The world's own behaviour, read through its parts: the same assertions for every backend."""

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from simulator.core.compose import create_simulator
from simulator.core.world.clock import format_second
from simulator.core.world.journal import Entry
from simulator.core.world.tasks import task

RAN = []


@pytest.fixture(params=["memory", "redis"])
def world_of(request):
    """make(**simulator options) -> a world of the backend under test (on Redis: a world of its own)."""
    if request.param == "memory":
        return lambda **options: create_simulator(**options).world
    from simulator.core.world.redis_backend import RedisBackend

    url = request.getfixturevalue("redis_server").url
    return lambda **options: create_simulator(backend=RedisBackend(url, f"w-{uuid.uuid4().hex}"), **options).world


def run(world, work):
    """`work()` on a started world, in one event loop, the world closed after it."""
    async def inside():
        await world.backend.start(world)
        try:
            return await work()
        finally:
            await world.scheduler.close()
            await world.backend.close()
    return asyncio.run(inside())


def test_journal_and_outbox_keep_only_the_newest_entries(world_of):
    world = world_of(journal_capacity=3, outbox_capacity=2)

    async def scenario():
        for n in range(5):
            await world.outbox.send("osm", "osm.SendVerifyCodes", "sms", str(n), "123456", "text")
            await world.journal.record(Entry(0.0, "osm", None, "GET", f"/{n}", "", b"", str(n)))
        assert [m.to for m in await world.outbox.list()] == ["3", "4"]
        assert [m.id for m in await world.outbox.list()] == [4, 5]
        assert [e["path"] for e in await world.journal.list()] == ["/2", "/3", "/4"]
    run(world, scenario)


def test_expired_state_is_evicted_as_time_passes(world_of):
    world = world_of()

    async def scenario():
        await world.move_clock("manual")
        for n in range(1000):
            await world.codes.issue("osm", str(n), 6, ttl_s=300, resend_interval_s=60)
        assert (await world.store.sizes())["codes"] == 1000
        await world.move_clock(seconds=300 + 3600 + 1)
        for n in range(40):   # each write evicts a batch of what has lapsed (Redis: up to 64 at a time)
            await world.codes.issue("osm", f"fresh-{n}", 6, ttl_s=300)
        assert (await world.store.sizes())["codes"] <= 41   # the fresh codes, and at most one lapsed
        assert await world.store.count("codes") == 40
    run(world, scenario)


def test_a_read_of_the_world_sent_before_a_clock_move_does_not_take_the_clock_back(redis_server):
    """The scheduler reads the shared clock while a test moves it: the older read must not win."""
    from simulator.core.world.redis_backend import RedisBackend

    world = create_simulator(backend=RedisBackend(redis_server.url, f"w-{uuid.uuid4().hex}")).world

    async def scenario():
        await world.move_clock("manual")
        moved_to = []
        for _ in range(20):
            reading = asyncio.ensure_future(world.backend.refresh(world))
            for _ in range(3):   # the read on its way to Redis
                await asyncio.sleep(0)
            await world.move_clock(seconds=1000)
            moved_to.append(world.clock.now())
            await reading
            assert world.clock.now() == moved_to[-1]
    run(world, scenario)


def test_entries_of_different_lifetimes_lapse_each_on_time(world_of):
    world = world_of()
    store = world.store

    async def scenario():
        await world.move_clock("manual")
        for n in range(10):
            await store.put("limits", n, "short" if n % 2 else "long", ttl=5 if n % 2 else 10)
        await store.put("limits", "again", "first", ttl=5)
        await store.put("limits", "again", "renewed", ttl=10)   # the earlier expiry no longer applies
        await world.move_clock(seconds=5)
        assert await store.count("limits") == 6
        assert [await store.get("limits", n) for n in range(4)] == ["long", None, "long", None]
        assert await store.get("limits", "again") == "renewed"
        await world.move_clock(seconds=5)
        assert await store.count("limits") == 0
    run(world, scenario)


def remember_time(world):
    RAN.append(world.clock.now())


def test_scheduled_work_runs_when_the_clock_moves(world_of, monkeypatch):
    world = world_of()
    RAN.clear()
    if world.shared:   # the shared scheduler unpickles only the simulator's own functions, and this test's job
        from simulator.core.world import redis_store
        monkeypatch.setitem(redis_store._SAFE_GLOBALS, __name__, frozenset({"remember_time"}))

    async def scenario():
        await world.move_clock("manual")
        await world.scheduler.at(world.clock.now() + 3600, task(remember_time))
        await world.scheduler.settle(0.1)
        assert RAN == []
        await world.move_clock(seconds=3600)
        await world.scheduler.settle()
        assert len(RAN) == 1
    run(world, scenario)


def test_a_code_is_the_seeds_whatever_else_is_sent_meanwhile(world_of):
    quiet, busy = world_of(seed=7), world_of(seed=7)

    async def first_code(world, noise: int):
        for n in range(noise):
            await world.codes.issue("osm", f"+86139{n:08d}", 6, ttl_s=300)
        return await world.codes.issue("osm", "+8613800000001", 6, ttl_s=300)
    assert run(quiet, lambda: first_code(quiet, 0)) == run(busy, lambda: first_code(busy, 25))


@pytest.mark.parametrize("epoch", [0.0, 0.999, 1.0, 1_764_000_000.5, 1_764_000_000.9999, 4_102_444_799.25])
def test_a_time_formatted_by_the_second_is_what_datetime_writes(epoch):
    beijing = timezone(timedelta(hours=8))
    for fmt, zone in (("%Y%m%d%H%M%S", timezone.utc), ("%Y-%m-%d %H:%M:%S", beijing)):
        assert format_second(epoch, fmt, zone) == datetime.fromtimestamp(epoch, zone).strftime(fmt)
