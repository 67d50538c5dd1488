"""A Python client for the admin API (`/__otpsim`) of a running otpsim, for any test framework.

    from simulator.client import OtpsimClient

    with OtpsimClient("http://127.0.0.1:8080") as otpsim:
        code = otpsim.outbox.wait("13800000000", timeout=5).code
        otpsim.clock.advance(60)
"""

import os
import ssl
import time
from dataclasses import dataclass, fields
from datetime import datetime
import httpx

from simulator.core.compose import read_scenario

ADMIN = "/__otpsim"
ADMIN_TOKEN_ENVIRONMENT = "OTPSIM_ADMIN_TOKEN"
SERVER_MAX_WAIT_S = 60.0   # the admin API caps one long-poll at this


class OtpsimError(Exception):
    """Base of every error this client raises."""


class Unreachable(OtpsimError):
    def __init__(self, base_url: str, cause: Exception):
        super().__init__(f"otpsim at {base_url} is not reachable: {cause}")
        self.base_url = base_url


class AdminCallFailed(OtpsimError):
    """The admin API refused a call (bad argument, unknown product...)."""

    def __init__(self, method: str, path: str, status: int, message: str):
        super().__init__(f"{method} {path} answered {status}: {message}")
        self.status = status
        self.message = message


class NoMessage(OtpsimError):
    """No message to `to` in the outbox (after waiting `timeout` seconds, when waiting)."""

    def __init__(self, to: str, timeout: float | None = None):
        waited = f" within {timeout:g}s" if timeout is not None else ""
        super().__init__(f"no message to {to!r}{waited}")
        self.to = to
        self.timeout = timeout


class ScenarioRefused(OtpsimError):
    """The simulator refused a scenario; the previous one stays in force."""

    def __init__(self, problems: list[str]):
        super().__init__("scenario refused:\n  " + "\n  ".join(problems))
        self.problems = problems


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _known_fields(cls, data: dict) -> dict:
    """The fields `cls` declares; keys a newer otpsim adds are ignored."""
    return {f.name: data.get(f.name) for f in fields(cls)}


@dataclass(frozen=True)
class Message:
    id: int
    product: str
    operation: str        # qualified, e.g. osm.SendVerifyCodes (as in the journal)
    channel: str          # sms | email | voice
    to: str               # the contact exactly as the request carried it
    code: str
    text: str
    sent_at: datetime

    @classmethod
    def from_json(cls, data: dict) -> "Message":
        return cls(**{**_known_fields(cls, data), "sent_at": _time(data["sent_at"])})


@dataclass(frozen=True)
class JournalEntry:
    id: int
    at: datetime
    product: str
    operation: str | None      # None when no operation matched the path
    method: str
    path: str
    query: str
    headers: dict              # secrets masked
    request_id: str
    rule: str | None           # the scenario rule that answered
    request_body: object
    status: int
    code: str | None           # the vendor error code, None on success
    response_body: str | None
    duration_ms: float

    @classmethod
    def from_json(cls, data: dict) -> "JournalEntry":
        return cls(**{**_known_fields(cls, data), "at": _time(data.get("at"))})


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status: int | None = None      # the receiver's HTTP status
    error: str | None = None       # why the attempt failed to connect
    dropped: str | None = None     # why the delivery was given up
    answer: str | None = None      # the receiver's answer body (its first KB)
    latency_ms: float | None = None   # how long the receiver took to answer, in real milliseconds

    @classmethod
    def from_json(cls, data: dict) -> "Attempt":
        return cls(**{**_known_fields(cls, data), "at": _time(data.get("at"))})


@dataclass(frozen=True)
class Delivery:
    id: int
    kind: str
    url: str
    body: object
    headers: dict
    attempts: list[Attempt]
    state: str                 # pending | delivered | failed | dropped
    max_attempts: int
    duplicate_of: int | None = None   # a scenario's `callbacks: {duplicate: ...}` sent this push twice
    faults: list[str] | None = None   # the scenario's push faults applied: drop, duplicate, delay, out_of_order

    @classmethod
    def from_json(cls, data: dict) -> "Delivery":
        attempts = [Attempt.from_json(a) for a in data.get("attempts") or []]
        return cls(**{**_known_fields(cls, data), "attempts": attempts})


@dataclass(frozen=True)
class ClockState:
    now: datetime
    epoch: float
    mode: str                  # real | manual
    offset_s: float            # virtual minus real time

    @classmethod
    def from_json(cls, data: dict) -> "ClockState":
        return cls(**{**_known_fields(cls, data), "now": _time(data["now"])})


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    products: list[str]
    scenario: str
    clock: ClockState
    server: dict | None = None   # the HTTP parser and event loop serving it: {"http": "httptools", "loop": "uvloop"}

    @classmethod
    def from_json(cls, data: dict) -> "Health":
        return cls(**{**_known_fields(cls, data), "clock": ClockState.from_json(data["clock"])})


@dataclass(frozen=True)
class CatalogueEntry:
    key: str
    code: str
    status: int
    message: str
    envelope: str
    source: str
    synthetic: bool            # True where the vendor is silent and otpsim chose
    headers: dict
    description: str
    fields: dict | None = None  # placeholder values used when the error is forced

    @classmethod
    def from_json(cls, data: dict) -> "CatalogueEntry":
        return cls(**_known_fields(cls, data))


def _verify(verify):
    """httpx wants an SSLContext for a CA file."""
    if isinstance(verify, (str, os.PathLike)):
        return ssl.create_default_context(cafile=os.fspath(verify))
    return verify


class OtpsimClient:
    """The admin API of the otpsim at `base_url`.

    `verify` is True, False, an `ssl.SSLContext` or the path of the CA file an otpsim started
    with `--tls` prints. `admin_token` is the token an otpsim started with `--admin-token` wants
    (default: the environment's OTPSIM_ADMIN_TOKEN).
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8080", *, verify=True, timeout: float = 10.0,
                 trust_env: bool = True, admin_token: str | None = None):
        self.base_url = base_url.rstrip("/")
        token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENVIRONMENT)
        self._http = httpx.Client(base_url=self.base_url, verify=_verify(verify), timeout=timeout,
                                  trust_env=trust_env, headers={"Authorization": f"Bearer {token}"} if token else None)
        self.outbox = Outbox(self)
        self.clock = Clock(self)
        self.scenario = ScenarioControl(self)

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method: str, path: str, *, expect=(200,), **options) -> httpx.Response:
        try:
            response = self._http.request(method, ADMIN + path, **options)
        except httpx.TransportError as cause:
            raise Unreachable(self.base_url, cause) from None
        if response.status_code not in expect:
            try:
                body = response.json()
            except ValueError:
                body = None
            message = body.get("error", response.text) if isinstance(body, dict) else response.text
            raise AdminCallFailed(method, ADMIN + path, response.status_code, message)
        return response

    def health(self) -> Health:
        return Health.from_json(self._call("GET", "/health").json())

    def journal(self, product: str | None = None, operation: str | None = None) -> list[JournalEntry]:
        """Every request and its answer, oldest first; `operation` as `osm.SendVerifyCodes` or `SendVerifyCodes`."""
        params = _present(product=product, operation=operation)
        return [JournalEntry.from_json(e) for e in self._call("GET", "/journal", params=params).json()]

    def callbacks(self, kind: str | None = None) -> list[Delivery]:
        """Every delivery to a client's server (voice call events, fee records), with its attempts."""
        params = _present(kind=kind)
        return [Delivery.from_json(d) for d in self._call("GET", "/callbacks", params=params).json()]

    def reset(self) -> None:
        """Forget codes, outbox, journal, limits and calls; the scenario, credentials and issued tokens stay."""
        self._call("POST", "/reset")

    def report(self, **settings) -> dict:
        """The client report (docs/report.md): documented failures met, and findings; `settings` override
        its thresholds, e.g. `report(slow_receiver_ms=500)`."""
        return self._call("GET", "/report", params=_present(**settings)).json()

    def catalogue(self, product: str) -> list[CatalogueEntry]:
        return [CatalogueEntry.from_json(e) for e in self._call("GET", f"/catalogue/{product}").json()]

    def openapi(self, product: str) -> dict:
        return self._call("GET", f"/openapi/{product}.json").json()


def _present(**params) -> dict:
    return {k: v for k, v in params.items() if v is not None}


class Outbox:
    """Every code the simulator sent, by SMS, e-mail or voice."""

    def __init__(self, client: OtpsimClient):
        self._client = client

    def list(self, to: str | None = None, channel: str | None = None, product: str | None = None,
             since: "Message | int | None" = None) -> list[Message]:
        """Messages oldest first; `since` keeps only those newer than that message (or id)."""
        params = _present(to=to, channel=channel, product=product, since=_message_id(since))
        return [Message.from_json(m) for m in self._client._call("GET", "/outbox", params=params).json()]

    def latest(self, to: str) -> Message:
        """The newest message to `to`; NoMessage if there is none."""
        response = self._client._call("GET", "/outbox/latest", params={"to": to}, expect=(200, 404))
        if response.status_code == 404:
            raise NoMessage(to)
        return Message.from_json(response.json())

    def wait(self, to: str, timeout: float = 10.0, since: "Message | int | None" = None) -> Message:
        """The newest message to `to` at once if there is one, else the first to arrive within
        `timeout` seconds; with `since`, the first message newer than that one. NoMessage if none."""
        deadline = time.monotonic() + timeout
        params = _present(to=to, since=_message_id(since))
        while True:
            remaining = max(deadline - time.monotonic(), 0.0)
            poll = min(remaining, SERVER_MAX_WAIT_S)
            response = self._client._call("GET", "/outbox/wait", params={**params, "timeout": poll},
                                          expect=(200, 408), timeout=poll + 10)
            if response.status_code == 200:
                return Message.from_json(response.json())
            if remaining <= SERVER_MAX_WAIT_S:
                raise NoMessage(to, timeout)


def _message_id(since) -> int | None:
    return since.id if isinstance(since, Message) else since


class Clock:
    """The one virtual clock every time rule reads: codes expire and limits reset as it moves."""

    def __init__(self, client: OtpsimClient):
        self._client = client

    def read(self) -> ClockState:
        return ClockState.from_json(self._client._call("GET", "/clock").json())

    def _command(self, **command) -> ClockState:
        return ClockState.from_json(self._client._call("POST", "/clock", json=command).json())

    def advance(self, seconds: float) -> ClockState:
        """Move time forward; callbacks that fall due play out before this returns."""
        return self._command(advance=seconds)

    def set(self, when: datetime | str) -> ClockState:
        """Jump to `when` (an aware datetime or ISO 8601 text with a zone)."""
        return self._command(set=when.isoformat() if isinstance(when, datetime) else when)

    def set_mode(self, mode: str) -> ClockState:
        """`manual` freezes time (it moves only by advance/set); `real` lets it run."""
        return self._command(mode=mode)

    def wall_time(self) -> ClockState:
        """Back to the wall clock, running: undoes every set, advance and freeze."""
        return self._command(mode="real", set="now")


class ScenarioControl:
    """The scenario in force: credentials, product settings and rules."""

    def __init__(self, client: OtpsimClient):
        self._client = client

    def get(self) -> dict:
        return self._client._call("GET", "/scenario").json()

    def load(self, source, base_dir: str | os.PathLike | None = None) -> dict:
        """Replace the scenario atomically (see `read_scenario` for what `source` may be);
        ScenarioRefused lists the problems, and the previous scenario stays."""
        _, text = read_scenario(source, base_dir)
        response = self._client._call("PUT", "/scenario", content=text.encode(), expect=(200, 400),
                                      headers={"content-type": "application/yaml"})
        if response.status_code == 400:
            raise ScenarioRefused(response.json().get("problems") or [response.json().get("error", "")])
        return response.json()
