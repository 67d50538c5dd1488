"""Every request and its answer, in order; secrets masked.

Entries keep headers and bodies as the bytes that crossed the wire (bodies cut at BODY_PREVIEW);
they are decoded and masked only when the journal is read, so recording costs a request little.
"""

import itertools
from collections import deque
from dataclasses import asdict, dataclass, fields
from operator import attrgetter

import orjson

from simulator.core.world.clock import iso_utc

SECRET_HEADERS = frozenset({
    "authorization", "x-auth-token", "x-access-token", "x-aksk", "x-subject-token",
    "x-acs-security-token", "proxy-authorization", "cookie",
})
SECRET_FIELDS = frozenset({
    "password", "secret", "sk", "app_secret", "appKey", "app_key_secret", "access_key_secret",
    "accessToken", "refreshToken", "Signature",
})
MASK = "***"
BODY_PREVIEW = 4096


def body_preview(raw: bytes) -> bytes:
    """`raw` cut at BODY_PREVIEW, copied into an object of its own size (why: docs/performance.md, Shaped for speed)."""
    return memoryview(raw)[:BODY_PREVIEW].tobytes()


def pack_headers(raw: list[tuple[bytes, bytes]]) -> bytes:
    """A request's raw headers as one "name:value" line each, in one bytes object (why: docs/performance.md,
    Shaped for speed); unpack_headers gives them back. Header lines hold no newline (HTTP forbids it)."""
    return b"\n".join(name + b":" + value for name, value in raw)


def unpack_headers(packed: bytes) -> dict:
    headers = {}
    for line in packed.split(b"\n") if packed else ():
        name, _, value = line.partition(b":")
        key = name.decode("latin-1")
        headers[key] = MASK if key.lower() in SECRET_HEADERS else value.decode("latin-1")
    return headers


def mask_headers(headers: dict) -> dict:
    return {name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def mask_fields(value):
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_FIELDS else mask_fields(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fields(v) for v in value]
    return value


@dataclass(slots=True)
class Entry:
    """One request as it arrived and the answer it got; filled in as the request is served."""
    at: float                          # epoch seconds on the virtual clock
    product: str
    operation: str | None              # qualified, e.g. osm.SendVerifyCodes; None when nothing matched
    method: str
    path: str
    query: str
    headers: bytes                     # pack_headers
    request_id: str
    request_body: bytes | None = None  # body_preview
    rule: str | None = None
    delay_ms: float | None = None
    fault: str | None = None
    status: int | None = None
    code: str | None = None
    response_body: bytes | None = None
    duration_ms: float | None = None
    wall: float | None = None          # epoch seconds on the wall clock as it was answered (signed times may follow it)
    id: int = 0

    def readable(self) -> dict:
        """The entry as it is shown: time in ISO 8601, headers unpacked and masked, bodies decoded and masked."""
        shown = asdict(self)
        shown["at"] = iso_utc(self.at)
        del shown["wall"]   # for the client report's signature check; the journal as shown stays deterministic
        shown["headers"] = unpack_headers(self.headers)
        shown["request_body"] = readable_body(self.request_body)
        shown["response_body"] = readable_body(self.response_body)
        return shown


_AS_ROW = attrgetter(*(f.name for f in fields(Entry)))


class Journal:
    """Entries are kept as plain tuples of their fields: a tuple of atoms is dropped from the
    garbage collector's tracking, where ten thousand kept objects would be walked by every full
    collection and lengthen the pauses of the requests it interrupts; it is also a third of a dict."""

    def __init__(self, capacity: int = 10_000, events=None):
        self._rows: deque[tuple] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._events = events

    def record(self, entry: Entry):
        entry.id = next(self._ids)
        self._rows.append(_AS_ROW(entry))
        if self._events is not None and self._events.listening:
            self._events.publish("journal", entry.readable())

    def entries(self) -> list[Entry]:
        """Every entry as recorded, oldest first: raw headers and bodies, nothing masked (for in-process readers)."""
        return [Entry(*row) for row in self._rows]

    def list(self, product=None, operation=None, limit: int | None = None) -> list[dict]:
        """Entries oldest first; with `limit`, only the newest `limit` of those that match."""
        chosen = []
        for row in reversed(self._rows):
            if limit is not None and len(chosen) >= limit:
                break
            entry = Entry(*row)
            if (product is None or entry.product == product) and (
                    operation is None or entry.operation in (operation, f"{entry.product}.{operation}")):
                chosen.append(entry)
        return [entry.readable() for entry in reversed(chosen)]

    def clear(self):
        self._rows.clear()
        self._ids = itertools.count(1)


def readable_body(raw):
    """A body as shown: JSON with secret fields masked, else text."""
    if not isinstance(raw, bytes):
        return raw
    if not raw:
        return None
    try:
        return mask_fields(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")
