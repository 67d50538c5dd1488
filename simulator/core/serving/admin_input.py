"""What every admin call does with what it is sent: bodies are bounded, JSON commands name their
keys, numbers are finite, query parameters are known, and scenario text (a whole scenario or one
rule) is read and checked off the event loop within a time bound. A refusal is an AdminError:
a 4xx with `{"error": "<what is wrong>"}` and details beside it, never a 500.
"""

import asyncio
import math

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulator.core.scenario_format import ScenarioError


class AdminError(Exception):
    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def error_response(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def number(value, name: str) -> float:
    """`value` (text or JSON) as a finite number; AdminError naming `name` if it is not one."""
    try:
        parsed = float(value)
    except (TypeError, ValueError, OverflowError):
        raise AdminError(400, f"{name} must be a number") from None
    if isinstance(value, bool) or not math.isfinite(parsed):
        raise AdminError(400, f"{name} must be a finite number")
    if parsed < 0:
        raise AdminError(400, f"{name} must not be negative")
    return parsed


def whole(value: str, name: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise AdminError(400, f"{name} must be a message id (a whole number)")
    return int(value)


def query(request: Request, allowed: tuple[str, ...]) -> dict:
    """The query parameters; AdminError naming any this call does not know."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise AdminError(400, f"unknown query parameter {', '.join(unknown)}; this call takes "
                              f"{', '.join(allowed) or 'none'}")
    return dict(request.query_params)


async def body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes; AdminError 413 beyond."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AdminError(413, f"admin request body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise AdminError(413, f"admin request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_object(request: Request, limit: int, shape: str) -> dict:
    """A non-empty JSON object body; AdminError saying what is wrong otherwise (`shape`: an example)."""
    try:
        sent = orjson.loads(await body(request, limit))   # orjson refuses NaN and nesting past 1024
    except orjson.JSONDecodeError as problem:
        raise AdminError(400, f"body must be JSON, {shape}: {problem}") from None
    if not isinstance(sent, dict) or not sent:
        raise AdminError(400, f"body must be a JSON object, {shape}")
    return sent


async def command(request: Request, limit: int, allowed: tuple[str, ...], shape: str) -> dict:
    """A JSON object body with only `allowed` keys."""
    sent = await json_object(request, limit, shape)
    unknown = sorted(set(sent) - set(allowed))
    if unknown:
        raise AdminError(400, f"unknown key {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}")
    return sent


class ScenarioReading:
    """Scenario text read and checked in a worker thread, one at a time: the event loop keeps
    serving, and a read that outlives its time bound holds the turn until it ends, so reads never
    pile up."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._turn = asyncio.Semaphore(1)

    async def read(self, work, text: str, source: str, what: str, unchanged: str):
        """`work(text, source)` off the loop; AdminError naming every problem if it refuses the
        text (`what` names the text, `unchanged` says what stays in force)."""
        try:
            return await self._run(work, text, source)
        except ScenarioError as problem:
            raise AdminError(400, f"{what} refused; {unchanged}",
                             problems=problem.problems, located=problem.located) from None
        except TimeoutError:
            raise AdminError(400, f"{what} refused: not read and checked within {self.timeout_s:g}s "
                                  f"(too large?); {unchanged}") from None

    async def _run(self, work, *args):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        await asyncio.wait_for(self._turn.acquire(), self.timeout_s)
        job = loop.run_in_executor(None, work, *args)
        job.add_done_callback(self._finished)
        return await asyncio.wait_for(asyncio.shield(job), max(deadline - loop.time(), 0))

    def _finished(self, job):
        self._turn.release()
        if not job.cancelled():
            job.exception()   # retrieved: a read that timed out is no one's to report
