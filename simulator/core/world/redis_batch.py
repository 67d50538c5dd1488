"""Scripts called in one step of the event loop go to Redis together, as one pipeline.

Every request in flight awaits its next store call in the same step of the loop, so they travel as
one batch: one connection taken from the pool, one write and one read for all of them. Each script
stays atomic on its own and runs in the order it was called; a batch is not a transaction. Sent
one by one, redis-py's work around each call (the pool, packing, the read) cost more CPU than the
script itself (docs/performance.md, Shaped for speed).
"""

import asyncio

from redis.exceptions import NoScriptError


class ScriptCalls:
    """`await calls(script, keys, args)`: what `script(keys, args)` returns, sent with the other
    calls of this step; a script the server does not know (it restarted) is loaded and run again."""

    def __init__(self, client):
        self._client = client
        self._pending: list[tuple] = []
        self._sending: set[asyncio.Task] = set()

    def __call__(self, script, keys: list, args: list) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._send_pending)
        future = loop.create_future()
        self._pending.append((script, keys, args, future))
        return future

    def _send_pending(self):
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple]):
        try:
            results = await self._run_all(batch)
            unknown = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
            if unknown:   # not run: load them, then run just those
                for script in {id(batch[i][0]): batch[i][0] for i in unknown}.values():
                    await self._client.script_load(script.script)
                for index, result in zip(unknown, await self._run_all([batch[i] for i in unknown])):
                    results[index] = result
        except BaseException as error:   # the connection failed: every call of the batch fails with it
            for *_, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results):
            if future.done():   # its caller was cancelled
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _run_all(self, batch: list[tuple]) -> list:
        async with self._client.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            return await pipe.execute(raise_on_error=False)
