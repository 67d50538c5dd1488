"""The report's thresholds: documented defaults, overridden by OTPSIM_REPORT_<NAME> in the server's
environment, then by the query parameters of one GET /__otpsim/report (docs/report.md)."""

import math
import os
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ReportSettings:
    early_retries: int = 1           # requests sooner than a throttle's window after its answer that make a finding
    resend_repeats: int = 2          # new-code requests inside one resend interval (after an accepted one) that make a finding
    backoff_min_s: float = 0.1       # a retry after a 5xx or a broken answer sooner than this has no back-off
    no_backoff_retries: int = 1      # retries without back-off that make a finding
    skew_warn_ratio: float = 0.5     # a signed time this share of the allowed skew away from the clock is drifting
    slow_receiver_ms: float = 2000   # a receiver answering a push slower than this (real ms) is slow
    duplicate_follow_s: float = 5.0  # virtual seconds after a duplicated push in which the client's requests count as its handling

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_sources(cls, *sources) -> "ReportSettings":
        """Defaults, then each mapping of name -> text in order; ValueError names a bad value."""
        values = {}
        for source in sources:
            for f in fields(cls):
                text = source.get(f.name)
                if text is None:
                    continue
                kind = int if f.type in (int, "int") else float
                try:
                    value = kind(text)
                except (TypeError, ValueError):
                    raise ValueError(f"report setting {f.name} must be a{'n integer' if kind is int else ' number'}") from None
                if not math.isfinite(value):   # NaN and infinity compare as no threshold can, and JSON holds neither
                    raise ValueError(f"report setting {f.name} must be a finite number")
                if value < 0:
                    raise ValueError(f"report setting {f.name} must not be negative")
                values[f.name] = value
        return cls(**values)

    @classmethod
    def from_environment(cls, environ=None) -> dict:
        environ = os.environ if environ is None else environ
        return {name: environ[f"OTPSIM_REPORT_{name.upper()}"] for name in cls.names()
                if f"OTPSIM_REPORT_{name.upper()}" in environ}

    def as_dict(self) -> dict:
        return asdict(self)
