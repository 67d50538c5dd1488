"""Delivery receipts: messages a vendor accepts now and reports on later, on the virtual clock.

A product tracks each message it accepts with the fate the scenario gave it. When the fate is due
the message's state moves from waiting to delivered or failed (what the product's query API reads),
and its report joins the batch for its receiver: the reports that fall due at the same moment for
one receiver go out as one push (split at `batch_max`), through the callbacks with their retries
and the scenario's callback faults. A fate of `never` leaves the message waiting and unreported.
"""

from dataclasses import dataclass, field
from functools import partial

from simulator.core.world.callbacks import CallbackFaults, RetryPolicy

OUTCOMES = ("delivered", "failed", "never")
# The scenario rule key `receipt` (a product that tracks receipts declares it: RuleKey(RULE_SCHEMA, Fate.from_spec))
RULE_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "description": "what becomes of the messages a matched request sends; delivered by default",
    "properties": {
        "outcome": {"enum": list(OUTCOMES), "x-otpsim-what": "receipt outcome",
                    "description": "delivered: reaches the phone (outbox), reported DELIVERED; failed: never reaches "
                                   "the phone, reported with `code`; never: accepted, waiting for ever, never reported"},
        "code": {"type": "string", "minLength": 1,
                 "description": "failed: the receipt code (default: the product's failure code)"},
        "delay_s": {"type": "number", "minimum": 0,
                    "description": "virtual seconds from the send to its report (default: the product's)"},
    },
}


@dataclass(frozen=True)
class Fate:
    """What becomes of a message: the scenario rule key `receipt` (docs/scenarios.md)."""
    outcome: str = "delivered"     # delivered | failed | never (accepted, never reported)
    code: str | None = None        # the receipt code of a failed message; None: the product's default
    delay_s: float | None = None   # seconds from send to report; None: the product's default

    @classmethod
    def from_spec(cls, spec: dict) -> "Fate":
        """A rule's `receipt` value."""
        return cls(spec.get("outcome", "delivered"), spec.get("code"), spec.get("delay_s"))

    @property
    def reaches_phone(self) -> bool:
        return self.outcome != "failed"


@dataclass
class Tracked:
    id: str
    to: str
    sent_at: float
    fields: dict                   # what the product keeps for its reports and queries
    status: str = "waiting"        # waiting | delivered | failed
    code: str | None = None
    reported_at: float | None = None


@dataclass(frozen=True)
class Receiver:
    """Where and how a product pushes its reports."""
    kind: str                      # the delivery kind in /__otpsim/callbacks, e.g. <product>.report
    url: str
    render: object                 # callable(Tracked) -> one report
    policy: RetryPolicy
    headers: dict = field(default_factory=dict, hash=False, compare=False)
    accepts: object = None         # callable(response) -> bool; None: HTTP 200
    batch_max: int = 100
    faults: CallbackFaults | None = None


class Receipts:
    def __init__(self, store, clock, scheduler, callbacks):
        self._store = store
        self._clock = clock
        self._scheduler = scheduler
        self._callbacks = callbacks
        self._batches: dict[tuple, list] = {}

    def track(self, namespace: str, message: Tracked, fate: Fate, delay_s: float, failure_code: str,
              retention_s: float, receiver: Receiver | None):
        """Keep `message` for `retention_s` (its query window) and settle it as `fate` says."""
        self._store.put(namespace, message.id, message, ttl=retention_s)
        if fate.outcome == "never":
            return
        due = message.sent_at + (fate.delay_s if fate.delay_s is not None else delay_s)
        code = "DELIVERED" if fate.outcome == "delivered" else fate.code or failure_code
        self._scheduler.at(due, partial(self._settle, message, fate.outcome, code, due, receiver))

    def _settle(self, message: Tracked, outcome: str, code: str, due: float, receiver: Receiver | None):
        message.status, message.code, message.reported_at = outcome, code, due
        if receiver is None:
            return
        key = (receiver.kind, receiver.url, receiver.faults, due)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = []
            # runs after the other jobs due at this moment: reports settling together share the push
            self._scheduler.at(due, partial(self._push, key, receiver))
        batch.append(message)

    async def _push(self, key: tuple, receiver: Receiver):
        batch = self._batches.pop(key, [])
        for start in range(0, len(batch), receiver.batch_max):
            reports = [receiver.render(message) for message in batch[start:start + receiver.batch_max]]
            delivery = self._callbacks.record(receiver.kind, receiver.url, reports, receiver.headers,
                                              receiver.policy, accepts=receiver.accepts)
            await self._callbacks.send(delivery, receiver.faults)

    def messages(self, namespace: str) -> list[Tracked]:
        """The messages of `namespace` still inside their retention, oldest first."""
        return sorted((message for _, message in self._store.items(namespace)), key=lambda m: m.sent_at)

    def clear(self):
        self._batches.clear()
