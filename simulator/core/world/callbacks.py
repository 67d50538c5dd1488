"""Deliveries to the client's own servers (e.g. voice call events), recorded with every attempt.

A slow or dead receiver never slows requests: deliveries run as scheduled jobs with a timeout (the policy's),
at most `concurrency` at once; at most `max_pending` wait (more are dropped, and recorded so),
and at most `capacity` are remembered.
"""

import asyncio
import json
import posixpath
import re
import time
from urllib.parse import urlencode
from dataclasses import dataclass, field
from simulator.core.world.tasks import run, task
from typing import TYPE_CHECKING

from urllib.parse import unquote, urlsplit

from simulator.core import ADMIN_PREFIX
from simulator.core.world.clock import iso_utc
from simulator.core.world.journal import Secrets

if TYPE_CHECKING:
    import httpx

ANSWER_PREVIEW = 1024   # bytes of a receiver's answer kept with its attempt


def targets_admin(url: str) -> bool:
    """Whether `url` points into an admin API path (on any host: otpsim cannot tell its own names),
    where a push could reset or reconfigure the server."""
    try:
        path = unquote(urlsplit(url).path)   # the server decodes %5F before it routes
    except ValueError:
        return False
    path = posixpath.normpath(re.sub("/+", "/", path) or "/")   # and so do //, . and ..
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


@dataclass
class RetryPolicy:
    attempts: int = 1          # total tries, the first included
    interval_s: float = 0.0    # virtual seconds between tries
    timeout_s: float = 5.0     # real seconds an attempt waits for the receiver's answer
    ladder: tuple = ()         # virtual seconds before each retry in turn; when given, 1 + len(ladder) tries

    @property
    def tries(self) -> int:
        return 1 + len(self.ladder) if self.ladder else self.attempts

    def wait_after(self, tried: int) -> float | None:
        """Seconds from the attempt numbered `tried` (1 = the first) to the next one; None when none is left."""
        if tried >= self.tries:
            return None
        return self.ladder[tried - 1] if self.ladder else self.interval_s


def answered_200(response) -> bool:
    return response.status_code == 200


@dataclass(frozen=True)
class CallbackFaults:
    """What a scenario rule (key `callbacks`) does to the pushes a matched request causes."""
    kinds: frozenset | None = None   # only deliveries of these kinds; all when None
    drop: float = 0.0                # chance a push is never sent
    duplicate: float = 0.0           # chance a push is sent twice
    delay_s: float = 0.0             # virtual seconds every push is held back
    out_of_order_s: float = 0.0      # each push held back a random 0..this, so pushes can overtake

    @classmethod
    def from_spec(cls, spec: dict | None) -> "CallbackFaults | None":
        """A rule's `callbacks` value."""
        if not spec:
            return None
        kinds = spec.get("kinds")
        return cls(frozenset(kinds) if kinds else None, spec.get("drop", 0.0), spec.get("duplicate", 0.0),
                   spec.get("delay_s", 0.0), spec.get("out_of_order_s", 0.0))

    def applies(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


@dataclass
class Delivery:
    id: int
    kind: str
    url: str
    body: object
    headers: dict
    policy: RetryPolicy
    sign: object = None        # callable(payload bytes) -> headers made afresh for each attempt (nonce, time)
    accepts: object = answered_200   # callable(httpx.Response) -> whether the receiver took the push
    encoding: str = "json"     # how the body goes on the wire: "json", or "form" (a flat dict, urlencoded)
    due: float | None = None   # when the current (or, while pending, the next) attempt is due on the virtual clock
    duplicate_of: int | None = None
    faults: list = field(default_factory=list)   # the scenario's push faults applied: drop, duplicate, delay, out_of_order
    subjects: tuple = ()       # what it is about (e.g. calls' session ids): deliveries of one subject form a timeline
    created: float = 0.0       # when it was recorded, on the virtual clock
    attempts: list = field(default_factory=list)
    state: str = "pending"     # pending | delivered | failed | dropped

    def as_dict(self, secrets: Secrets) -> dict:
        return {
            "id": self.id, "kind": self.kind, "url": secrets.text(self.url), "body": secrets.fields(self.body),
            "headers": secrets.headers(self.headers), "attempts": self.attempts, "state": self.state,
            "max_attempts": self.policy.tries, "duplicate_of": self.duplicate_of,
            "subjects": list(self.subjects), "created": iso_utc(self.created),
            "faults": self.faults,
            "due": iso_utc(self.due) if self.state == "pending" and self.due is not None else None,
        }


def encode_body(body, encoding: str) -> bytes:
    if encoding == "form":
        return urlencode(body).encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Callbacks:
    """Deliveries kept in a log (newest `capacity`), each saved again after every change, so any
    worker can make the next attempt. `max_pending` and `concurrency` hold per process."""

    def __init__(self, clock, scheduler, log, secrets: Secrets | None = None, concurrency: int = 32,
                 max_pending: int = 10_000, events=None):
        self._clock = clock
        self._secrets = secrets or Secrets()
        self._events = events
        self._scheduler = scheduler
        self._log = log
        self._max_pending = max_pending
        self._pending = 0
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None
        self.world = None   # set by the World that owns it: fault draws and signers use it

    def _http(self) -> "httpx.AsyncClient":
        if self._client is None:
            import httpx  # deferred: its import is a sixth of start-up, and many runs push nothing
            self._client = httpx.AsyncClient(verify=False, trust_env=False)
            self._slots = asyncio.Semaphore(self._concurrency)
        return self._client

    async def record(self, kind: str, url: str, body, headers: dict, policy: RetryPolicy | None = None,
                     sign=None, duplicate_of: int | None = None, accepts=None, encoding: str = "json",
                     subjects=()) -> Delivery:
        """`sign` and `accepts` are module-level functions or Tasks: a delivery is data any worker can resume."""
        delivery = Delivery(0, kind, url, body, dict(headers), policy or RetryPolicy(), sign,
                            accepts or answered_200, encoding, duplicate_of=duplicate_of, subjects=tuple(subjects),
                            created=self._clock.now())
        delivery.id = await self._log.add(delivery)
        await self._log.put(delivery.id, delivery)   # now with its id
        self._pending += 1
        self._published(delivery)
        return delivery

    async def _save(self, delivery: Delivery):
        await self._log.put(delivery.id, delivery)
        self._published(delivery)

    def _published(self, delivery: Delivery):
        if self._events is not None and self._events.listening:
            self._events.publish("delivery", delivery.as_dict(self._secrets))

    def _finish(self, delivery: Delivery, state: str):
        if delivery.state == "pending":
            self._pending = max(self._pending - 1, 0)
        delivery.state = state

    async def send(self, delivery: Delivery, faults: CallbackFaults | None = None):
        """Deliver now, or as the scenario's callback faults say: dropped, sent twice, held back."""
        if self._pending > self._max_pending:
            await self.drop(delivery, "queue full")
            return
        if targets_admin(delivery.url):
            await self.drop(delivery, f"refused: a push may not target the admin API ({ADMIN_PREFIX})")
            return
        copies = [delivery]
        if faults is not None and faults.applies(delivery.kind):
            rng = await self.world.draw("callbacks", delivery.kind)
            if faults.drop and rng.random() < faults.drop:
                delivery.faults.append("drop")
                await self.drop(delivery, "scenario: drop")
                return
            if faults.duplicate and rng.random() < faults.duplicate:
                delivery.faults.append("duplicate")
                copy = await self.record(delivery.kind, delivery.url, delivery.body, delivery.headers,
                                         delivery.policy, delivery.sign, duplicate_of=delivery.id,
                                         accepts=delivery.accepts, encoding=delivery.encoding,
                                         subjects=delivery.subjects)
                copy.faults.append("duplicate")
                copies.append(copy)
            hold = faults.delay_s + (rng.uniform(0, faults.out_of_order_s) if faults.out_of_order_s else 0)
            if hold > 0:
                held = [name for name, value in (("delay", faults.delay_s), ("out_of_order", faults.out_of_order_s)) if value]
                for copy in copies:
                    copy.faults.extend(held)
                    copy.due = self._clock.now() + hold
                    await self._save(copy)
                    await self._scheduler.at(copy.due, task(attempt_delivery, copy.id))
                return
        for copy in copies:
            await self.deliver(copy)

    async def deliver(self, delivery: Delivery) -> bool:
        """One attempt now; the next one, if it fails and tries remain, is due one interval after this one was."""
        import httpx  # loaded by _http() below; a lookup in sys.modules from then on
        client = self._http()
        if delivery.due is None:
            delivery.due = self._clock.now()
        payload = encode_body(delivery.body, delivery.encoding)
        if delivery.sign is not None:
            delivery.headers.update(await run(delivery.sign, self.world, payload))
        attempt = {"at": iso_utc(self._clock.now())}
        async with self._slots:
            started = time.perf_counter()
            try:
                response = await client.post(delivery.url, content=payload, headers=delivery.headers,
                                             timeout=delivery.policy.timeout_s)
                attempt["status"] = response.status_code
                attempt["answer"] = response.content[:ANSWER_PREVIEW].decode("utf-8", "replace")
                ok = delivery.accepts(response)
                if not ok and response.status_code == 200:
                    attempt["refused"] = response.text[:200]
            except (httpx.HTTPError, OSError) as exc:
                attempt["error"] = type(exc).__name__
                ok = False
            attempt["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        delivery.attempts.append(attempt)
        if ok:
            self._finish(delivery, "delivered")
        elif (wait := delivery.policy.wait_after(len(delivery.attempts))) is not None:
            delivery.due += wait
            await self._scheduler.at(delivery.due, task(attempt_delivery, delivery.id))
        else:
            self._finish(delivery, "failed")
        await self._save(delivery)
        return ok

    async def drop(self, delivery: Delivery, reason: str):
        self._finish(delivery, "dropped")
        delivery.attempts.append({"at": iso_utc(self._clock.now()), "dropped": reason})
        await self._save(delivery)

    async def list(self, kind: str | None = None) -> list[dict]:
        """Every delivery, secrets masked (issue 15: a push's X-AKSK is never shown)."""
        return [d.as_dict(self._secrets) for _, d in await self._log.rows() if kind is None or d.kind == kind]

    async def get(self, delivery_id: int) -> Delivery | None:
        return await self._log.get(delivery_id)

    async def clear(self):
        await self._log.clear()
        self._pending = 0

    async def close(self):
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def attempt_delivery(world, delivery_id: int):
    """A scheduled attempt of a kept delivery (gone if the log dropped it meanwhile)."""
    delivery = await world.callbacks.get(delivery_id)
    if delivery is not None and delivery.state == "pending":
        await world.callbacks.deliver(delivery)
