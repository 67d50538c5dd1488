"""Work due at a moment of the virtual clock: moving the clock plays it forward.

Jobs are Tasks (core/world/tasks.py), run with the world: `job(world)`.
"""

import asyncio
import heapq
import inspect
import itertools
import logging

log = logging.getLogger("otpsim")


class Scheduler:
    """One process's due jobs, in a heap."""

    def __init__(self, clock):
        self._clock = clock
        self.world = None   # set by the World that owns it: jobs run with it
        self._heap: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        clock.on_change(self._poke)

    def __len__(self):
        return len(self._heap)

    async def at(self, when: float, job):
        """Run `job(world)` once the clock reaches `when` (epoch seconds). A coroutine function runs as a
        task of its own; a plain function runs at once, in turn with the other due jobs."""
        heapq.heappush(self._heap, (when, next(self._seq), job))
        self._ensure_runner()
        if self._heap[0][0] == when:   # the earliest now: the runner's timer is set for a later one
            self._poke()

    def _poke(self):
        if self._wake is not None:
            self._wake.set()

    poke = _poke

    def start(self):
        """Nothing to start: the runner starts with the first job."""

    async def close(self):
        await self.clear()

    def _ensure_runner(self):
        # A runner whose loop is not running is a stopped server's: this loop needs its own. (Asking
        # for the running loop on every call costs a getpid system call on Python 3.11.)
        runner = self._runner
        if runner is None or runner.done() or not runner.get_loop().is_running():
            self._wake = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run())

    def _start_due(self, loop):
        now = self._clock.now()
        while self._heap and self._heap[0][0] <= now:
            _, _, job = heapq.heappop(self._heap)
            try:
                result = job(self.world)
            except Exception:  # a failing job must not stop the clock for everyone else
                log.exception("scheduled job failed")
                continue
            if inspect.isawaitable(result):
                task = loop.create_task(self._guarded(result))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    @staticmethod
    async def _guarded(work):
        try:
            await work
        except Exception:
            log.exception("scheduled job failed")

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            self._start_due(loop)
            if not self._heap or self._clock.mode == "manual":
                await self._wake.wait()
                continue
            # Woken by a timer at the next due time, or earlier by a poke. (wait_for would wrap the
            # wait in a task and cancel it at every timeout: a task and an exception per wake-up.)
            timer = loop.call_later(max(self._heap[0][0] - self._clock.now(), 0), self._poke)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def settle(self, timeout: float = 2.0):
        """Start what is due, then wait (bounded) until the running jobs and what they scheduled for now are done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._start_due(loop)
            pending = set(self._running)
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.wait(pending, timeout=remaining)

    async def clear(self):
        self._heap.clear()
        for task in list(self._running):
            task.cancel()
