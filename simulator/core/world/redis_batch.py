"""Calls made in one step of the event loop go to Redis together, as one pipeline.

Every request in flight awaits its next store call in the same step of the loop, so they travel as
one batch: one connection taken from the pool, one write and one read for all of them. Each script
stays atomic on its own and runs in the order it was called; a batch is not a transaction. Sent
one by one, redis-py's work around each call (the pool, packing, the read) cost more CPU than the
script itself (docs/performance.md, Shaped for speed). A read is sent after the step that asked
for it, so it sees every write that ended before its caller's request arrived; identical reads of
one step are sent once.
"""

import asyncio

from redis.exceptions import NoScriptError

RELOADS = 3   # a script flushed again between its load and its run (SCRIPT FLUSH racing) is loaded again


class Batched:
    """`await batched.script(script, keys, args)`: what `script(keys, args)` returns; `await
    batched.read(*command)`: a read-only command's answer, shared by the identical reads of this step
    (read it, do not change it); each sent with the other calls of this step. A script the server
    does not know (it restarted) is loaded and run again."""

    def __init__(self, client):
        self._client = client
        self._pending: list[list] = []          # [script or None, keys or command, args, futures]
        self._reads: dict[tuple, list] = {}     # this step's reads, by command
        self._sending: set[asyncio.Task] = set()

    def script(self, script, keys: list, args: list) -> asyncio.Future:
        return self._add(script, keys, args)

    def read(self, *command) -> asyncio.Future:
        same = self._reads.get(command)
        if same is not None:
            future = asyncio.get_running_loop().create_future()
            same[3].append(future)
            return future
        future = self._add(None, command, None)
        self._reads[command] = self._pending[-1]
        return future

    def _add(self, script, keys_or_command, args) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._send_pending)
        future = loop.create_future()
        self._pending.append([script, keys_or_command, args, [future]])
        return future

    def _send_pending(self):
        batch, self._pending, self._reads = self._pending, [], {}
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[list]):
        try:
            results = await self._run_all(batch)
            for _ in range(RELOADS):   # the ones not run: load their scripts, then run just those
                unknown = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
                if not unknown:
                    break
                for script in {id(batch[i][0]): batch[i][0] for i in unknown}.values():
                    await self._client.script_load(script.script)
                for index, result in zip(unknown, await self._run_all([batch[i] for i in unknown])):
                    results[index] = result
        except BaseException as error:   # the connection failed: every call of the batch fails with it
            for *_, futures in batch:
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (*_, futures), result in zip(batch, results):
            for future in futures:
                if future.done():   # its caller was cancelled
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _run_all(self, batch: list[list]) -> list:
        async with self._client.pipeline(transaction=False) as pipe:
            for script, keys_or_command, args, _ in batch:
                if script is None:
                    pipe.execute_command(*keys_or_command)
                else:
                    pipe.evalsha(script.sha, len(keys_or_command), *keys_or_command, *args)
            return await pipe.execute(raise_on_error=False)
