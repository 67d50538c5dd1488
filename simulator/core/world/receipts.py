"""Delivery receipts: what becomes of each number a send reached, and the messages a vendor
accepts now and reports on later, on the virtual clock.

A scenario rule's `receipts` (Fates) gives each number its `Fate`: delivered (the default), failed
with a receipt code, or never reported; after the product's own delay or the rule's. A product asks
`call.receipts.of(number)` and turns the fate into its own receipt format.

A product that also answers queries about its messages tracks each one here (`Receipts.track`):
when its fate falls due the message moves from waiting to delivered or failed, and its report joins
the batch for its receiver, so the reports falling due together for one receiver go out as one
push (split at `batch_max`), through the callbacks with their retries and callback faults.
"""

from dataclasses import dataclass, field, replace

from simulator.core.world.callbacks import CallbackFaults, RetryPolicy
from simulator.core.world.tasks import task

OUTCOMES = ("delivered", "failed", "never")


@dataclass(frozen=True)
class Fate:
    outcome: str = "delivered"        # delivered | failed | never (accepted, then nothing: no receipt, no message)
    code: str | None = None           # the receipt's status code; None: the product's default for the outcome
    description: str | None = None    # the receipt's description, where the product's format has one
    delay_s: float | None = None      # seconds from the send to the receipt; None: the product's setting
    fields: dict = field(default_factory=dict)   # further receipt fields, named as the product's format names them

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"

    @property
    def reported(self) -> bool:
        return self.outcome != "never"


DELIVERED = Fate()


class Fates:
    """The rule's `receipts` list: the first entry whose `to` matches a number (or that has no `to`) decides."""

    def __init__(self, entries: list):
        self._entries = []
        if not entries:   # ALL_DELIVERED is built while the scenario module may still be importing
            return
        # imported here: the scenario module builds Fates for its rules, and owns the matchers
        from simulator.core.pipeline.scenario import compile_matcher

        self._entries = [
            (compile_matcher(entry["to"]) if "to" in entry else None,
             Fate(entry.get("outcome", "delivered"), _text(entry.get("code")), entry.get("description"),
                  entry.get("delay_s"), {name: str(value) for name, value in (entry.get("fields") or {}).items()}))
            for entry in entries
        ]

    @classmethod
    def from_spec(cls, entries: list | None) -> "Fates | None":
        return cls(entries) if entries else None

    def of(self, number: str) -> Fate:
        for matches, fate in self._entries:
            if matches is None or matches(number):
                return fate
        return DELIVERED


def _text(value) -> str | None:
    return None if value is None else str(value)


ALL_DELIVERED = Fates([])   # every number delivered


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
    single: bool = False           # True: each report is a push of its own, its body the report (not a list)
    encoding: str = "json"         # the push body as JSON, or "form" (urlencoded; single reports only)
    sign: object = field(default=None, hash=False, compare=False)   # callable(payload) -> headers, per attempt


BATCHES = "receipt-batches"
BATCH_TTL_S = 7 * 86_400   # well past any report's moment (its push takes the batch); one ttl keeps expiry cheap


class Receipts:
    """Messages live in the store; settling and pushing are Tasks, so any worker may run them. A
    message joins its receiver's batch when it is tracked (its report's moment is known then), so
    the batches do not depend on how the workers interleave."""

    def __init__(self, store, scheduler):
        self._store = store
        self._scheduler = scheduler

    async def track(self, namespace: str, message: Tracked, fate: Fate, delay_s: float, codes: tuple[str, str],
                    retention_s: float, receiver: Receiver | None):
        """Keep `message` for `retention_s` (its query window) and settle it as `fate` says, after
        `delay_s` unless the fate says otherwise; `codes` are the product's (delivered, failed) defaults."""
        await self._store.put(namespace, message.id, message, ttl=retention_s)
        if not fate.reported:
            return
        due = message.sent_at + (fate.delay_s if fate.delay_s is not None else delay_s)
        settled = (namespace, message, fate, fate.code or codes[0 if fate.delivered else 1], due)
        if receiver is None:
            await self._scheduler.at(due, task(_settle_alone, settled))
            return
        # the reports falling due together for one receiver share a push; the first of them schedules it
        key = (receiver.kind, receiver.url, repr(receiver.faults), due)
        opened = await self._store.update(BATCHES, [key], lambda batches: (
            [(batches[0] or ()) + (settled,)], batches[0] is None), ttl=BATCH_TTL_S)
        if opened:
            await self._scheduler.at(due, task(_push, key, receiver))

    async def messages(self, namespace: str) -> list[Tracked]:
        """The messages of `namespace` still inside their retention, oldest first."""
        return sorted((message for _, message in await self._store.items(namespace)), key=lambda m: m.sent_at)


async def _settle(world, namespace: str, message: Tracked, fate: Fate, code: str, due: float) -> Tracked:
    message = replace(message, status=fate.outcome, code=code, description=fate.description, extra=fate.fields,
                      reported_at=due)
    await world.store.replace(namespace, message.id, message)   # for queries, while it is kept
    return message


async def _settle_alone(world, settled: tuple):
    await _settle(world, *settled)


async def _push(world, key: tuple, receiver: Receiver):
    batch = [await _settle(world, *settled) for settled in await world.store.pop(BATCHES, key, ())]
    if receiver.single:
        parts = [(receiver.render(message), [message]) for message in batch]
    else:
        parts = [([receiver.render(m) for m in batch[start:start + receiver.batch_max]],
                  batch[start:start + receiver.batch_max]) for start in range(0, len(batch), receiver.batch_max)]
    for body, messages in parts:
        delivery = await world.callbacks.record(receiver.kind, receiver.url, body, receiver.headers, receiver.policy,
                                                sign=receiver.sign, accepts=receiver.accepts,
                                                encoding=receiver.encoding, subjects=[m.id for m in messages])
        await world.callbacks.send(delivery, receiver.faults)
