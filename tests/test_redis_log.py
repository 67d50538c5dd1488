"""The log's contract, held by the in-memory log and the Redis one alike (same assertions), plus what
only the shared one has to show: one run of ids for several clients, under its own prefix."""

import asyncio

import pytest

from simulator.core.world.log import MemoryLog


@pytest.fixture(params=["memory", "redis"])
def run(request):
    """`run(scenario, capacity)`: `await scenario(first, second)`, two views of one fresh log
    (one MemoryLog twice; two RedisLogs on two clients of one prefix)."""
    def run_scenario(scenario, capacity):
        async def main():
            if request.param == "memory":
                log = MemoryLog(capacity)
                return await scenario(log, log)
            from simulator.core.world.redis_log import RedisLog
            from simulator.core.world.redis_store import connect_client
            url = request.getfixturevalue("redis_server").url
            clients = [await connect_client(url), await connect_client(url)]
            first, second = (RedisLog(client, request.node.name, "outbox", capacity) for client in clients)
            try:
                await first.clear()
                return await scenario(first, second)
            finally:
                await first.clear()
                for client in clients:
                    await client.aclose()
        return asyncio.run(main())
    return run_scenario


def test_ids_count_from_one_across_clients(run):
    async def scenario(first, second):
        assert await first.add({"to": "a"}) == 1
        assert await second.add({"to": "b"}) == 2
        assert await first.get(2) == {"to": "b"}
        assert await second.get(3) is None
        assert await second.rows() == [(1, {"to": "a"}), (2, {"to": "b"})]
    run(scenario, capacity=10)


def test_keeps_the_newest_capacity_rows(run):
    async def scenario(first, second):
        for n in range(1, 13):   # ids past 9 sort after 1..9 only as numbers
            assert await (first if n % 2 else second).add(f"row {n}") == n
        assert await first.rows() == [(n, f"row {n}") for n in range(3, 13)]
        assert await second.get(2) is None
        assert await second.get(3) == "row 3"
    run(scenario, capacity=10)


def test_put_changes_only_a_kept_row(run):
    async def scenario(first, second):
        for n in range(3):
            await first.add(f"row {n + 1}")
        await second.put(3, "row 3, delivered")
        await second.put(1, "row 1, too late")   # dropped at the third add
        await second.put(4, "never added")
        assert await first.rows() == [(2, "row 2"), (3, "row 3, delivered")]
    run(scenario, capacity=2)


def test_concurrent_adds_get_distinct_ids(run):
    async def scenario(first, second):
        ids = await asyncio.gather(*((first, second)[n % 2].add(n) for n in range(60)))
        assert sorted(ids) == list(range(1, 61))
        kept = await first.rows()
        assert [row_id for row_id, _ in kept] == list(range(11, 61))
        assert all(ids[row] == row_id for row_id, row in kept)   # each row under the id its add returned
    run(scenario, capacity=50)


def test_clear_restarts_the_ids(run):
    async def scenario(first, second):
        await first.add("old")
        await first.add("older")
        await second.clear()
        assert await first.rows() == []
        assert await first.get(1) is None
        assert await first.add("new") == 1
    run(scenario, capacity=10)


# --- the Redis log alone

def test_redis_log_keeps_its_keys_under_its_prefix_and_name(redis_server):
    from simulator.core.world.redis_log import RedisLog
    from simulator.core.world.redis_store import connect_client

    async def main():
        client = await connect_client(redis_server.url)
        outbox, journal = RedisLog(client, "log-keys", "outbox", 5), RedisLog(client, "log-keys", "journal", 5)
        try:
            await outbox.add("sms")
            await journal.add("call")
            assert await journal.rows() == [(1, "call")]
            assert sorted(await client.keys("{log-keys}*")) == [
                b"{log-keys}:log:journal:last", b"{log-keys}:log:journal:rows",
                b"{log-keys}:log:outbox:last", b"{log-keys}:log:outbox:rows"]
            await outbox.clear()
            assert await journal.rows() == [(1, "call")]
        finally:
            await outbox.clear()
            await journal.clear()
            await client.aclose()
    asyncio.run(main())


def test_redis_log_unavailable_then_back(redis_server):
    from simulator.core.world.redis_log import RedisLog
    from simulator.core.world.redis_store import connect_client
    from simulator.core.world.store import StoreUnavailable

    async def main():
        client = await connect_client(redis_server.url)
        log = RedisLog(client, "log-outage", "outbox", 5)
        try:
            redis_server.stop()
            try:
                with pytest.raises(StoreUnavailable, match=str(redis_server.port)):
                    await log.add("lost")
            finally:
                redis_server.start()
            assert await log.add("kept") == 1   # no persistence: the restarted server is empty
        finally:
            await log.clear()
            await client.aclose()
    asyncio.run(main())
