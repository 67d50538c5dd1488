"""Deliveries to the client's own servers (e.g. voice call events), recorded with every attempt.

A slow or dead receiver never slows requests: deliveries run as scheduled jobs with a timeout,
at most `concurrency` at once, and at most `capacity` are remembered.
"""

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field

import httpx


@dataclass
class RetryPolicy:
    attempts: int = 1          # total tries, the first included
    interval_s: float = 0.0    # virtual seconds between tries


@dataclass
class Delivery:
    id: int
    kind: str
    url: str
    body: object
    headers: dict
    policy: RetryPolicy
    sign: object = None        # callable -> headers made afresh for each attempt (nonce, time)
    due: float | None = None   # when the current attempt was due on the virtual clock
    attempts: list = field(default_factory=list)
    state: str = "pending"     # pending | delivered | failed | dropped

    def as_dict(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "url": self.url, "body": self.body,
            "headers": self.headers, "attempts": self.attempts, "state": self.state,
            "max_attempts": self.policy.attempts,
        }


class Callbacks:
    def __init__(self, clock, scheduler, timeout_s: float = 5.0, concurrency: int = 32, capacity: int = 10_000):
        self._clock = clock
        self._scheduler = scheduler
        self._timeout_s = timeout_s
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None
        self._deliveries: deque[Delivery] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s, verify=False, trust_env=False)
            self._slots = asyncio.Semaphore(self._concurrency)
        return self._client

    def record(self, kind: str, url: str, body, headers: dict, policy: RetryPolicy | None = None,
               sign=None) -> Delivery:
        delivery = Delivery(next(self._ids), kind, url, body, dict(headers), policy or RetryPolicy(), sign)
        self._deliveries.append(delivery)
        return delivery

    async def deliver(self, delivery: Delivery) -> bool:
        """One attempt now; the next one, if it fails and tries remain, is due one interval after this one was."""
        client = self._http()
        if delivery.due is None:
            delivery.due = self._clock.now()
        if delivery.sign is not None:
            delivery.headers.update(delivery.sign())
        payload = json.dumps(delivery.body, ensure_ascii=False, separators=(",", ":")).encode()
        attempt = {"at": self._clock.utcnow().isoformat().replace("+00:00", "Z")}
        async with self._slots:
            try:
                response = await client.post(delivery.url, content=payload, headers=delivery.headers)
                attempt["status"] = response.status_code
                ok = response.status_code == 200
            except (httpx.HTTPError, OSError) as exc:
                attempt["error"] = type(exc).__name__
                ok = False
        delivery.attempts.append(attempt)
        if ok:
            delivery.state = "delivered"
        elif len(delivery.attempts) < delivery.policy.attempts:
            delivery.due += delivery.policy.interval_s
            self._scheduler.at(delivery.due, lambda: self.deliver(delivery))
        else:
            delivery.state = "failed"
        return ok

    def drop(self, delivery: Delivery, reason: str):
        delivery.state = "dropped"
        delivery.attempts.append({"at": self._clock.utcnow().isoformat().replace("+00:00", "Z"), "dropped": reason})

    def list(self, kind: str | None = None) -> list[dict]:
        return [d.as_dict() for d in self._deliveries if kind is None or d.kind == kind]

    def clear(self):
        self._deliveries.clear()

    async def close(self):
        if self._client is not None:
            await self._client.aclose()
            self._client = None
