"""The Redis scheduler: due jobs shared by workers (here two schedulers on two clients of one prefix),
each run once by one of them, in order, surviving a failing job, a dead worker and a Redis outage."""

import asyncio
import logging

import pytest

from simulator.core.world.store import StoreUnavailable
from simulator.core.world.tasks import task

T0 = 1_800_000_000.0
WAIT_S = 5   # how long a test waits for what must happen before it fails


class FakeClock:
    def __init__(self):
        self.at = T0

    def now(self) -> float:
        return self.at


class FakeWorld:
    """What a job sees: the clock, and where it leaves its trace."""

    def __init__(self, name: str, clock, ran: list):
        self.name = name
        self.clock = clock
        self.ran = ran
        self.entered = []
        self.release = asyncio.Event()


def record(world, label):
    world.ran.append((world.name, label))


async def record_later(world, label):
    await asyncio.sleep(0)
    world.ran.append((world.name, label))


async def hold(world, label):
    """Runs until the test sets the world's `release`."""
    world.entered.append(label)
    await world.release.wait()
    world.ran.append((world.name, label))


def fail(world):
    raise RuntimeError("failed on purpose")


async def fail_later(world):
    await asyncio.sleep(0)
    raise RuntimeError("failed on purpose")


async def eventually(condition):
    async def poll():
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), WAIT_S)


def labels(ran):
    return [label for _, label in ran]


JOBS = frozenset({"record", "record_later", "hold", "fail", "fail_later"})


@pytest.fixture
def workers(request, redis_server, monkeypatch):
    """`workers(scenario, lease_s=30)`: `await scenario(first, second, clock, ran)`, two schedulers of one
    prefix on two clients, not started, with worlds named "first" and "second" that share `ran`."""
    from simulator.core.world import redis_store
    from simulator.core.world.redis_scheduler import RedisScheduler
    from simulator.core.world.redis_store import connect_client

    # the shared store loads only the simulator's own functions: these tests' jobs are let in by name
    monkeypatch.setitem(redis_store._SAFE_GLOBALS, __name__, JOBS)

    def run_scenario(scenario, lease_s=30.0):
        async def main():
            clock, ran = FakeClock(), []
            clients = [await connect_client(redis_server.url) for _ in range(2)]
            schedulers = [RedisScheduler(clock, client, request.node.name, lease_s=lease_s) for client in clients]
            for name, scheduler in zip(("first", "second"), schedulers):
                scheduler.world = FakeWorld(name, clock, ran)
            try:
                return await scenario(*schedulers, clock, ran)
            finally:
                for scheduler in schedulers:
                    await scheduler.close()
                await schedulers[0].clear()
                for client in clients:
                    await client.aclose()
        return asyncio.run(main())
    return run_scenario


def test_each_due_job_runs_once_on_some_worker(workers):
    async def scenario(first, second, clock, ran):
        first.start()
        second.start()
        for n in range(50):
            await (first, second)[n % 2].at(T0 + 1 + n % 5, task(record_later, n))
        for _ in range(5):   # the workers race to claim each moment's jobs
            clock.at += 1
            first.poke()
            second.poke()
            await asyncio.sleep(0.01)
        await first.settle(timeout=WAIT_S)
        assert sorted(labels(ran)) == list(range(50))
    workers(scenario)


def test_jobs_due_together_start_in_the_order_they_were_scheduled(workers):
    async def scenario(first, second, clock, ran):
        for n in range(20):
            await (first, second)[n % 2].at(T0 + 5, task(record, n))
        await second.at(T0 + 1, task(record, "earlier"))
        await first.settle()
        assert ran == []   # not due yet
        clock.at += 10
        await second.settle()
        assert labels(ran) == ["earlier", *range(20)]
    workers(scenario)


def test_a_failing_job_does_not_stop_the_next(workers, caplog):
    async def scenario(first, second, clock, ran):
        first.start()
        await first.at(T0 + 1, task(fail))
        await first.at(T0 + 2, task(fail_later))
        await first.at(T0 + 3, task(record, "after"))
        clock.at += 5
        first.poke()
        await eventually(lambda: ran)
        await first.settle()
        assert ran == [("first", "after")]
        assert [record.message for record in caplog.records if record.exc_info] == ["scheduled job failed"] * 2
    workers(scenario)


def _die(scheduler):
    """The worker's process ends: its runner and jobs stop without a word to Redis."""
    for running in [scheduler._runner, *scheduler._running]:
        running.cancel()


def test_a_dead_workers_job_runs_on_another_once_its_lease_lapses(workers):
    async def scenario(dying, survivor, clock, ran):
        dying.start()
        await dying.at(T0 + 1, task(hold, "held"))
        clock.at += 1
        dying.poke()
        await eventually(lambda: dying.world.entered)
        _die(dying)
        survivor.world.release.set()
        survivor.start()
        await survivor.settle(timeout=WAIT_S)   # the lease lapses, the survivor claims the job and runs it
        assert ran == [("second", "held")]
        assert survivor.world.entered == ["held"]
    workers(scenario, lease_s=0.5)


def test_a_closing_worker_hands_its_running_jobs_back(workers):
    async def scenario(closing, other, clock, ran):
        closing.start()
        await closing.at(T0 + 1, task(hold, "held"))
        clock.at += 1
        closing.poke()
        await eventually(lambda: closing.world.entered)
        await closing.close()
        other.world.release.set()
        await other.settle(timeout=WAIT_S)   # at once: the lease (30 s) has not lapsed
        assert ran == [("second", "held")]
    workers(scenario)


def test_settle_waits_for_a_job_another_worker_runs(workers):
    async def scenario(runner, settler, clock, ran):
        runner.start()
        await runner.at(T0 + 1, task(hold, "held"))
        clock.at += 1
        runner.poke()
        await eventually(lambda: runner.world.entered)
        settling = asyncio.get_running_loop().create_task(settler.settle(timeout=WAIT_S))
        await asyncio.sleep(0.2)
        assert not settling.done()
        runner.world.release.set()
        await settling
        assert ran == [("first", "held")]
        assert settler.world.entered == []
    workers(scenario)


class SharedClockBackend:
    """Another worker moved the shared clock: a refresh brings it here."""

    def __init__(self):
        self.shared_now = T0

    async def refresh(self, world):
        world.clock.at = self.shared_now


def test_the_runner_refreshes_the_world_then_runs_what_fell_due(workers):
    async def scenario(first, second, clock, ran):
        first.world.backend = backend = SharedClockBackend()
        first.start()
        await second.at(T0 + 1, task(record, "due elsewhere"))
        backend.shared_now = T0 + 1   # no poke: the poll finds it
        await eventually(lambda: ran)
        assert ran == [("first", "due elsewhere")]
    workers(scenario)


def test_redis_outage_then_back(workers, redis_server, caplog):
    async def scenario(first, second, clock, ran):
        first.start()
        redis_server.stop()
        try:
            with pytest.raises(StoreUnavailable, match=str(redis_server.port)):
                await first.at(T0 + 1, task(record, "lost"))
            await asyncio.sleep(0.3)   # several polls fail
        finally:
            redis_server.start()
        warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert len(warnings) == 1 and str(redis_server.port) in warnings[0].message
        await first.at(T0 + 1, task(record, "after the outage"))
        clock.at += 1
        await eventually(lambda: ran)
        assert ran == [("first", "after the outage")]
    workers(scenario)
