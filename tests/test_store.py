"""The world store's contract, held by the in-memory store and the Redis one alike (same assertions),
plus what only a shared store has to show: atomicity across clients and processes, a value it
refuses to load, and a Redis that goes away and comes back."""

import asyncio
import os
import pickle
import subprocess
import sys
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from functools import partial

import pytest
from redis_server import free_port

from simulator.client import Message
from simulator.core.pipeline.auth import Principal
from simulator.core.world.clock import iso_utc
from simulator.core.world.store import MemoryStore, StoreUnavailable

T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self, at: float = T0):
        self.at = at

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float):
        self.at += seconds


async def _redis_store(url: str, clock, prefix: str | None = None):
    from simulator.core.world.redis_store import connect
    return await connect(url, clock, prefix or f"test-{uuid.uuid4().hex}")


@pytest.fixture(params=["memory", "redis"])
def run(request):
    """`run(scenario)`: `await scenario(store, clock)` on a fresh store of each kind and a frozen clock."""
    if request.param == "memory":
        async def open_store(clock):
            return MemoryStore(clock)
    else:
        url = request.getfixturevalue("redis_server").url

        async def open_store(clock):
            return await _redis_store(url, clock)

    def run_scenario(scenario):
        async def main():
            clock = FakeClock()
            store = await open_store(clock)
            try:
                return await scenario(store, clock)
            finally:
                await store.close()
        return asyncio.run(main())

    return run_scenario


def test_get_put_pop(run):
    async def scenario(store, clock):
        assert await store.get("n", "k") is None
        assert await store.get("n", "k", "absent") == "absent"
        await store.put("n", "k", {"a": [1, 2]})
        assert await store.get("n", "k") == {"a": [1, 2]}
        assert await store.get("other", "k") is None
        await store.put("n", "k", "second")
        assert await store.get("n", "k") == "second"
        assert await store.pop("n", "k") == "second"
        assert await store.pop("n", "k", "gone") == "gone"
        assert await store.get("n", "k") is None
    run(scenario)


def test_entries_expire_on_the_virtual_clock(run):
    async def scenario(store, clock):
        await store.put("n", "short", 1, ttl=10)
        await store.put("n", "long", 2, ttl=100)
        await store.put("n", "forever", 3)
        clock.advance(9.5)
        assert await store.get("n", "short") == 1
        clock.advance(0.5)   # expires_at <= now: gone
        assert await store.get("n", "short") is None
        assert await store.pop("n", "short", "gone") == "gone"
        assert await store.count("n") == 2
        assert sorted(await store.items("n")) == [("forever", 3), ("long", 2)]
        clock.advance(1e6)
        assert await store.items("n") == [("forever", 3)]
    run(scenario)


def test_claim_once_until_it_lapses(run):
    async def scenario(store, clock):
        assert await store.claim("nonces", "n1", ttl=60)
        assert not await store.claim("nonces", "n1", ttl=60)
        assert await store.claim("nonces", "n2", ttl=60)
        clock.advance(60)
        assert await store.claim("nonces", "n1", ttl=60)
    run(scenario)


def test_claims_are_counted_listed_cleared_and_evicted_as_they_lapse(run):
    async def scenario(store, clock):
        for n in range(300):
            assert await store.claim("nonces", f"n{n}", ttl=1)
            clock.advance(0.25)
        # each claim evicts what has lapsed: the last three are live, little more is held
        assert await store.count("nonces") == 3
        assert sorted(await store.items("nonces")) == [("n297", True), ("n298", True), ("n299", True)]
        assert (await store.sizes())["nonces"] <= 4
        assert not await store.claim("nonces", "n299", ttl=1)
        assert await store.claim("nonces", "n0", ttl=1)   # long lapsed: claimable again
        await store.claim("kept", "k", ttl=10)
        await store.clear(keep={"kept"})
        assert await store.items("nonces") == [] and set(await store.sizes()) == {"kept"}
        assert not await store.claim("kept", "k", ttl=10)
        clock.advance(10)   # a kept claim still lapses on time
        assert await store.claim("kept", "k", ttl=10)
    run(scenario)


def test_reserve_up_to_a_limit_of_live_entries(run):
    async def scenario(store, clock):
        assert await store.reserve("ports", "a", 2, value="call-a", ttl=10)
        assert await store.reserve("ports", "b", 2)
        assert not await store.reserve("ports", "c", 2)
        assert await store.get("ports", "a") == "call-a"
        assert await store.get("ports", "c") is None
        clock.advance(10)   # a's port is free again
        assert await store.reserve("ports", "c", 2)
        assert sorted(key for key, _ in await store.items("ports")) == ["b", "c"]
    run(scenario)


def test_replace_keeps_the_expiry_and_skips_a_missing_key(run):
    async def scenario(store, clock):
        await store.put("n", "k", "old", ttl=10)
        clock.advance(5)
        await store.replace("n", "k", "new")
        assert await store.get("n", "k") == "new"
        clock.advance(5)
        assert await store.get("n", "k") is None
        await store.replace("n", "missing", "value")
        await store.replace("n", "k", "after expiry")
        assert await store.get("n", "missing") is None
        assert await store.get("n", "k") is None
    run(scenario)


def test_update_reads_and_writes_several_keys(run):
    async def scenario(store, clock):
        await store.put("n", "a", 1)
        await store.put("n", "b", 2)

        def move(values):
            a, b, c = values
            return [None, a + b, c], f"saw {values}"

        assert await store.update("n", ["a", "b", "c"], move, ttl=10) == "saw [1, 2, None]"
        assert await store.get("n", "a") is None   # a new value of None removes the key
        assert await store.get("n", "b") == 3
        assert await store.count("n") == 1   # c stays absent
        clock.advance(10)   # b was put with the update's ttl
        assert await store.get("n", "b") is None
    run(scenario)


def test_incr_counts_from_zero_and_renews_its_ttl(run):
    async def scenario(store, clock):
        assert await store.incr("c", "k", ttl=10) == 1
        clock.advance(8)
        assert await store.incr("c", "k", ttl=10) == 2
        clock.advance(8)
        assert await store.incr("c", "k", ttl=10) == 3
        assert await store.get("c", "k") == 3
        clock.advance(10)
        assert await store.incr("c", "k", ttl=10) == 1
        assert await store.incr("c", "forever") == 1
    run(scenario)


def test_hit_admits_a_limit_per_window_that_opens_with_its_first_event(run):
    async def scenario(store, clock):
        assert [await store.hit("qps", "app", 3, 1.0) for _ in range(5)] == [True, True, True, False, False]
        clock.advance(0.5)
        assert not await store.hit("qps", "app", 3, 1.0)   # the window does not slide
        assert await store.hit("qps", "other app", 3, 1.0)
        clock.advance(0.5)
        assert [await store.hit("qps", "app", 3, 1.0) for _ in range(4)] == [True, True, True, False]
        assert not await store.hit("qps", "none at all", 0, 1.0)
    run(scenario)


def test_clear_keeps_only_the_namespaces_named(run):
    async def scenario(store, clock):
        await store.put("tokens", "t", "kept", ttl=10)
        await store.put("codes", "c", "dropped")
        await store.put("nonces", "n", True, ttl=10)
        await store.clear(keep={"tokens"})
        assert await store.get("tokens", "t") == "kept"
        assert await store.get("codes", "c") is None
        assert await store.items("nonces") == []
        assert set(await store.sizes()) == {"tokens"}
        clock.advance(10)   # a kept namespace still expires on time
        assert await store.get("tokens", "t") is None
        await store.put("codes", "c", "again")
        assert await store.get("codes", "c") == "again"
    run(scenario)


def test_keys_and_values_round_trip_with_their_types(run):
    message = Message(1, "osm", "osm.SendVerifyCodes", "sms", "+8613800000001", "123456", "code 123456",
                      datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    values = {
        ("+8613800000001", "sms"): (("123456", T0, T0 + 300), ("654321", T0, None)),
        ("nested", (1, "two")): message,
        42: OrderedDict(a={1, 2}, b=frozenset({"x"}), c=b"\x00bytes", d=[1.5, None, True]),
        -7: -7,
        "principal": Principal("aksk", {"app_key": "k"}),
        "call back": partial(iso_utc, 0.0, timespec="seconds"),
        "not a counter": True,
        "huge": 2 ** 70,
    }

    async def scenario(store, clock):
        for key, value in values.items():
            await store.put("n", key, value)
        items = dict(await store.items("n"))
        assert set(items) == set(values)
        for key in values:
            assert type(next(k for k in items if k == key)) is type(key)
        called_back = items.pop("call back")
        assert called_back() == "1970-01-01T00:00:00Z"
        principal = items.pop("principal")
        assert (principal.scheme, principal.credential) == ("aksk", {"app_key": "k"})
        expected = {key: value for key, value in values.items() if key not in ("call back", "principal")}
        assert items == expected
        assert type(items[("+8613800000001", "sms")]) is tuple
        assert await store.get("n", "not a counter") is True
        assert await store.get("n", ("nested", (1, "two"))) == message
    run(scenario)


def test_eviction_keeps_only_live_state(run):
    async def scenario(store, clock):
        for n in range(500):
            await store.put("codes", ("+86138", n), ("code", n), ttl=1)
            await store.incr("counters", n, ttl=1)
            clock.advance(2)
        # each write evicts what is due: of 500 entries per namespace, at most the last one is still held
        sizes = await store.sizes()
        assert set(sizes) == {"codes", "counters"} and max(sizes.values()) <= 1
        assert await store.count("codes") == 0
    run(scenario)


def test_a_renewed_key_lives_its_ttl_from_the_last_renewal_and_then_goes(run):
    async def scenario(store, clock):
        await store.put("n", "renewed", 1, ttl=10)
        await store.put("n", "other", 1, ttl=10)
        clock.advance(6)
        await store.put("n", "renewed", 2, ttl=10)     # now lives until 16
        await store.put("n", "later", 1, ttl=10)       # until 16 too
        clock.advance(5)                               # 11: "other" has lapsed
        assert await store.count("n") == 2 and await store.get("n", "renewed") == 2
        await store.pop("n", "later")
        await store.put("n", "later", 2, ttl=10)       # a new entry: until 21
        clock.advance(5.5)                             # 16.5: "renewed" has lapsed
        assert await store.count("n") == 1 and await store.get("n", "renewed") is None
        assert await store.get("n", "later") == 2
        clock.advance(5)                               # 21.5
        assert await store.count("n") == 0
    run(scenario)


def test_a_key_put_again_to_lapse_sooner_lapses_then(run):
    async def scenario(store, clock):
        await store.put("n", "k", 1, ttl=100)
        await store.put("n", "k", 2, ttl=10)           # until 10 now, not 100
        clock.advance(11)
        assert await store.count("n") == 0 and await store.get("n", "k") is None
        await store.put("n", "k", 3, ttl=10)           # until 21
        await store.put("n", "k", 4, ttl=100)          # until 111
        clock.advance(50)
        assert await store.count("n") == 1 and await store.get("n", "k") == 4
        clock.advance(50)
        assert await store.count("n") == 0
    run(scenario)


def test_a_counter_renewed_on_every_request_holds_no_more_memory():
    """The request-id counter is renewed by every request: its memory stays that of one entry."""
    import tracemalloc

    async def renew(store, times):
        for _ in range(times):
            await store.incr("draws", ("request-id", "voice"), ttl=86_400)

    async def main():
        store = MemoryStore(FakeClock())
        await renew(store, 1000)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await renew(store, 20_000)
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert grown < 20_000, f"{grown} bytes after 20,000 renewals"
    asyncio.run(main())


def test_a_used_nonce_holds_less_memory_than_an_entry():
    """A claim keeps no value: its key, its expiry (shared by the claims of one millisecond) and its
    place in the queue (a 600 s replay window at thousands of requests per second holds millions)."""
    import tracemalloc

    async def main():
        clock = FakeClock()
        store = MemoryStore(clock)
        nonces = [f"nonce-{n:012d}" for n in range(20_000)]   # the client's strings, held anyway
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for nonce in nonces:
            await store.claim("nonces", nonce, ttl=600)
            clock.advance(0.000_15)   # 6,667 claims a second
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert grown / len(nonces) < 48, f"{grown / len(nonces):.0f} bytes a claim"
    asyncio.run(main())


# --- the Redis store alone

def test_redis_keeps_every_key_under_its_prefix(redis_server):
    import redis.asyncio as redis

    async def main():
        clock = FakeClock()
        store = await _redis_store(redis_server.url, clock, "prefix-a")
        neighbour = await _redis_store(redis_server.url, clock, "prefix-a:v")   # not a prefix of a's keys
        raw = redis.Redis.from_url(redis_server.url)
        try:
            await store.clear()
            await neighbour.put("n", "k", "theirs")
            await store.put("n", "k", "ours", ttl=5)
            assert await neighbour.get("n", "k") == "theirs"
            assert sorted(await raw.keys("{prefix-a}*")) == [
                b"{prefix-a}:i:n", b"{prefix-a}:namespaces", b"{prefix-a}:r:n", b"{prefix-a}:v:n",
                b"{prefix-a}:versions"]
            await store.clear()
            assert await raw.keys("{prefix-a}*") == [b"{prefix-a}:versions"]   # a version never comes back
            assert await neighbour.get("n", "k") == "theirs"
        finally:
            await neighbour.clear()
            for client in (store, neighbour):
                await client.close()
            await raw.aclose()
    asyncio.run(main())


class Foreign:
    def __reduce__(self):
        return (os.system, ("echo should never run",))


def _global(module: str, name: str) -> bytes:
    """A pickle of the object `module`.`name` names, whatever it is."""
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode()   # SHORT_BINUNICODE
    return b"\x80\x04" + text(module) + text(name) + b"\x93."   # STACK_GLOBAL, STOP


def test_redis_refuses_to_load_a_foreign_class(redis_server):
    import redis.asyncio as redis

    async def main():
        store = await _redis_store(redis_server.url, FakeClock(), "foreign")
        raw = redis.Redis.from_url(redis_server.url)
        try:
            await store.put("n", "k", "innocent")
            [values_key] = await raw.keys("{foreign}:v:*")
            # os.system itself, and through a simulator module that imports os
            for crafted in (pickle.dumps(Foreign(), protocol=5), _global("simulator.client", "os.system")):
                await raw.hset(values_key, repr("k"), crafted)
                with pytest.raises(pickle.UnpicklingError, match="refuses"):
                    await store.get("n", "k")
            await raw.hset(values_key, repr("k"), _global("simulator.client", "Message"))
            assert await store.get("n", "k") is Message
        finally:
            await store.clear()
            await store.close()
            await raw.aclose()
    asyncio.run(main())


def test_redis_unavailable_then_back(redis_server):
    async def main():
        store = await _redis_store(redis_server.url, FakeClock(), "outage")
        try:
            await store.put("n", "k", 1)
            redis_server.stop()
            try:
                for operation in (store.get("n", "k"), store.claim("n", "c", 10), store.update("n", ["k"], lambda v: (v, 0))):
                    with pytest.raises(StoreUnavailable, match=str(redis_server.port)):
                        await operation
                with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{redis_server.port}"):
                    await _redis_store(redis_server.url, FakeClock(), "outage")
            finally:
                redis_server.start()
            assert await store.get("n", "k") is None   # no persistence: the restarted server is empty
            assert await store.claim("n", "c", 10)
            assert await store.incr("n", "k") == 1
        finally:
            await store.clear()
            await store.close()
    asyncio.run(main())


def test_redis_calls_made_together_travel_together_and_each_gets_its_own_answer(redis_server):
    """A hundred requests in flight call the store in the same step: one pipeline on one connection."""
    import redis.asyncio as redis

    async def main():
        store = await _redis_store(redis_server.url, FakeClock(), "together")
        raw = redis.Redis.from_url(redis_server.url)
        try:
            await store.put("n", "warm", 1)
            connections = (await raw.info("stats"))["total_connections_received"]
            answers = await asyncio.gather(*(store.incr("n", n % 10) for n in range(100)),
                                           *(store.claim("c", n % 50, 10) for n in range(100)))
            assert sorted(answers[:100]) == sorted(k for _ in range(10) for k in range(1, 11))
            assert answers[100:].count(True) == 50 and answers[100:].count(False) == 50
            assert (await raw.info("stats"))["total_connections_received"] - connections <= 1
            await raw.script_flush()   # as a restarted server: the scripts are loaded again
            assert await asyncio.gather(store.get("n", "warm"), store.incr("n", "after")) == [1, 1]
        finally:
            await store.clear()
            await store.close()
            await raw.aclose()
    asyncio.run(main())


def test_redis_identical_reads_of_one_step_go_once_and_a_later_read_sees_what_was_written(redis_server):
    """The world's clock is read by every request: the requests of one loop step share one read."""
    import redis.asyncio as redis

    from simulator.core.world.redis_batch import Batched

    async def main():
        raw = redis.Redis.from_url(redis_server.url)
        batched = Batched(raw)
        key = f"test-{uuid.uuid4().hex}:world"
        try:
            await raw.hset(key, "offset", "1")
            before = (await raw.info("commandstats")).get("cmdstat_hgetall", {}).get("calls", 0)
            answers = await asyncio.gather(*(batched.read("HGETALL", key) for _ in range(20)))
            assert answers == [{b"offset": b"1"}] * 20
            assert (await raw.info("commandstats"))["cmdstat_hgetall"]["calls"] - before == 1
            await raw.hset(key, "offset", "2")
            assert await batched.read("HGETALL", key) == {b"offset": b"2"}
        finally:
            await raw.delete(key)
            await raw.aclose()
    asyncio.run(main())


def test_redis_unreachable_names_its_url_without_the_password():
    closed_port = free_port()   # nothing listens there
    url = f"redis://:s3cret@127.0.0.1:{closed_port}/0"
    with pytest.raises(StoreUnavailable) as unavailable:
        asyncio.run(_redis_store(url, FakeClock()))
    assert f"redis://:***@127.0.0.1:{closed_port}/0" in str(unavailable.value)
    assert "s3cret" not in str(unavailable.value)


# --- atomicity: many at once, across two clients (Redis) or in one loop (memory)

@pytest.fixture(params=["memory", "redis"])
def two_stores(request):
    """`two_stores(scenario)`: `await scenario(first, second, clock)`, two views of one store."""
    def run_scenario(scenario):
        async def main():
            clock = FakeClock()
            if request.param == "memory":
                store = MemoryStore(clock)
                return await scenario(store, store, clock)
            url = request.getfixturevalue("redis_server").url
            prefix = f"test-{uuid.uuid4().hex}"
            first, second = await _redis_store(url, clock, prefix), await _redis_store(url, clock, prefix)
            try:
                return await scenario(first, second, clock)
            finally:
                await first.clear()
                await first.close()
                await second.close()
        return asyncio.run(main())
    return run_scenario


def _alternating(first, second, call, times=100):
    return asyncio.gather(*(call(first if n % 2 else second) for n in range(times)))


def test_concurrent_claims_admit_one(two_stores):
    async def scenario(first, second, clock):
        results = await _alternating(first, second, lambda store: store.claim("nonces", "n", 60))
        assert results.count(True) == 1
    two_stores(scenario)


def test_concurrent_hits_admit_the_limit(two_stores):
    async def scenario(first, second, clock):
        results = await _alternating(first, second, lambda store: store.hit("qps", "app", 10, 60))
        assert results.count(True) == 10
    two_stores(scenario)


def test_concurrent_updates_lose_none(two_stores):
    def add_one(values):
        [count] = values
        return [(count or 0) + 1], None

    async def scenario(first, second, clock):
        await _alternating(first, second, lambda store: store.update("counts", ["k"], add_one))
        assert await first.get("counts", "k") == 100
    two_stores(scenario)


def test_concurrent_updates_of_other_keys_never_collide(two_stores, monkeypatch):
    """One try each is enough when no two updates share a key, however many run at once."""
    from simulator.core.world import redis_store
    monkeypatch.setattr(redis_store, "UPDATE_ATTEMPTS", 1)

    async def scenario(first, second, clock):
        stores = [first, second] * 50
        await asyncio.gather(*(store.update("codes", [f"contact-{n}"], lambda values: (["sent"], None))
                               for n, store in enumerate(stores)))
        assert await first.count("codes") == 100
    two_stores(scenario)


_HAMMER = """
import asyncio, sys
from simulator.core.world.redis_store import connect

class Clock:
    def now(self):
        return float(sys.argv[3])

async def main():
    store = await connect(sys.argv[1], Clock(), sys.argv[2])
    hits = await asyncio.gather(*(store.hit("qps", "app", 25, 60) for _ in range(100)))
    ports = await asyncio.gather(*(store.reserve("ports", f"{sys.argv[4]}-{n}", 7, ttl=60) for n in range(50)))
    await store.close()
    print(hits.count(True), ports.count(True))

asyncio.run(main())
"""


def test_two_processes_share_the_limits(redis_server):
    prefix = f"test-{uuid.uuid4().hex}"
    workers = [
        subprocess.Popen([sys.executable, "-c", _HAMMER, redis_server.url, prefix, str(T0), name],
                         stdout=subprocess.PIPE, text=True)
        for name in ("one", "two")
    ]
    admitted = [tuple(map(int, worker.communicate(timeout=60)[0].split())) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sum(hits for hits, _ in admitted) == 25
    assert sum(ports for _, ports in admitted) == 7
