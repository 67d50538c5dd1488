"""Delivery receipts: messages a vendor accepts now and reports on later, on the virtual clock.

A product tracks each message it accepts with the fate the scenario gave it (the rule key
`receipt`: one fate, or a list of fates for numbers). When the fate is due the message's state moves
from waiting to delivered or failed (what the product's query API reads), and its report joins the
batch for its receiver: the reports that fall due at the same moment for one receiver go out as one
push (split at `batch_max`), through the callbacks with their retries and the scenario's callback
faults. A fate of `never` leaves the message waiting and unreported.
"""

from dataclasses import dataclass, field
from functools import partial

from simulator.core.world.callbacks import CallbackFaults, RetryPolicy

OUTCOMES = ("delivered", "failed", "never")
FATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "to": {"$ref": "#/$defs/matcher",
               "description": "in a list: the numbers (exact, {regex}, or a list) this entry is for; every number when absent"},
        "outcome": {"enum": list(OUTCOMES), "x-otpsim-what": "receipt outcome",
                    "description": "delivered: reaches the phone (outbox), reported as delivered; failed: never reaches "
                                   "the phone, reported with `code`; never: accepted, waiting for ever, never reported"},
        "code": {"type": "string", "minLength": 1,
                 "description": "failed: the receipt code (default: the product's failure code)"},
        "deliver": {"const": False, "x-otpsim-message": "deliver takes only false (the default is to deliver)",
                    "description": "in a list: false, this number's message never reaches the phone (the rule's "
                                   "`deliver: false`, for one number)"},
        "description": {"type": "string", "minLength": 1,
                        "description": "the receipt's description text, where the product's receipts carry one"},
        "delay_s": {"type": "number", "minimum": 0,
                    "description": "virtual seconds from the send to its report (default: the product's)"},
        "fields": {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                   "description": "further receipt fields by their wire names, where the product's receipts carry them"},
    },
}
# The scenario rule key `receipt`: one fate for every message the matched request sends, or a list of
# fates for numbers (the first entry whose `to` matches, or that has no `to`; others are delivered).
# Every product that tracks receipts declares it alike: RuleKey(RULE_SCHEMA, Fates.from_spec).
RULE_SCHEMA = {
    "description": "what becomes of the messages a matched request sends; delivered by default",
    "if": {"type": "array"}, "then": {"type": "array", "minItems": 1, "items": FATE_SCHEMA}, "else": FATE_SCHEMA,
}


@dataclass(frozen=True)
class Fate:
    """What becomes of a message: one entry of the scenario rule key `receipt` (docs/scenarios.md)."""
    outcome: str = "delivered"     # delivered | failed | never (accepted, never reported)
    code: str | None = None        # the receipt code of a failed message; None: the product's default
    delay_s: float | None = None   # seconds from send to report; None: the product's default
    description: str | None = None  # the receipt's description, where the product's format has one
    fields: dict = field(default_factory=dict, hash=False, compare=False)   # further receipt fields, wire names
    delivers: bool = True          # False: the message never reaches the phone, whatever the report says

    @classmethod
    def from_spec(cls, spec: dict) -> "Fate":
        return cls(spec.get("outcome", "delivered"), spec.get("code"), spec.get("delay_s"), spec.get("description"),
                   {name: str(value) for name, value in (spec.get("fields") or {}).items()},
                   spec.get("deliver", True))

    @property
    def reaches_phone(self) -> bool:
        return self.outcome != "failed" and self.delivers


class Fates:
    """A rule's `receipt`, parsed: `of(number)` is that number's Fate."""

    def __init__(self, entries: list):
        self._entries = entries   # (matcher of `to`, or None for every number; Fate)

    @classmethod
    def from_spec(cls, spec) -> "Fates":
        # imported here: the scenario module, which owns the matchers, imports the world
        from simulator.core.pipeline.scenario import compile_matcher

        entries = spec if isinstance(spec, list) else [spec]
        return cls([(compile_matcher(entry["to"]) if "to" in entry else None, Fate.from_spec(entry))
                    for entry in entries])

    def of(self, number: str) -> Fate:
        for matches, fate in self._entries:
            if matches is None or matches(number):
                return fate
        return DELIVERED


DELIVERED = Fate()
ALL_DELIVERED = Fates([])   # no rule, or a rule without `receipt`


@dataclass
class Tracked:
    id: str
    to: str
    sent_at: float
    fields: dict                   # what the product keeps for its reports and queries
    status: str = "waiting"        # waiting | delivered | failed
    code: str | None = None
    description: str | None = None
    extra: dict = field(default_factory=dict)   # the fate's further receipt fields
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

    def track(self, namespace: str, message: Tracked, fate: Fate, delay_s: float, codes: tuple[str, str],
              retention_s: float, receiver: Receiver | None):
        """Keep `message` for `retention_s` (its query window) and settle it as `fate` says, after
        `delay_s` unless the fate says otherwise; `codes` are the product's (delivered, failed) defaults."""
        self._store.put(namespace, message.id, message, ttl=retention_s)
        if fate.outcome == "never":
            return
        due = message.sent_at + (fate.delay_s if fate.delay_s is not None else delay_s)
        code = fate.code or codes[0 if fate.outcome == "delivered" else 1]
        self._scheduler.at(due, partial(self._settle, message, fate, code, due, receiver))

    def _settle(self, message: Tracked, fate: Fate, code: str, due: float, receiver: Receiver | None):
        message.status, message.code, message.description, message.extra, message.reported_at = (
            fate.outcome, code, fate.description, fate.fields, due)
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
