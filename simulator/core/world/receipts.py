"""What becomes of each number a send reached, as a scenario rule (key `receipts`) says.

A product that reports deliveries (status reports, receipts) asks `call.receipts.of(number)` for
each number's `Fate`: delivered (the default), failed with a receipt code, or never reported;
after the product's own delay or the rule's. The product turns a fate into its own receipt format.
"""

from dataclasses import dataclass, field

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
