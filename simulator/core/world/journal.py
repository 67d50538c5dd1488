"""Every request and its answer, in order; secrets masked (names from the specs, see Secrets).

Entries keep headers and bodies as the bytes that crossed the wire (bodies cut at BODY_PREVIEW);
they are decoded and masked only when the journal is read, so recording costs a request little.
"""

import re
from dataclasses import asdict, dataclass, fields
from operator import attrgetter

import orjson

from simulator.core.world.clock import iso_utc

# HTTP's own credential headers (RFC 9110 §11, RFC 6265); every product's secrets come from its spec
HTTP_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")
MASK = "***"
BODY_PREVIEW = 4096


def body_preview(raw: bytes) -> bytes:
    """`raw` cut at BODY_PREVIEW, copied into an object of its own size (why: docs/performance.md, Shaped for speed)."""
    return memoryview(raw)[:BODY_PREVIEW].tobytes()


def pack_headers(raw: list[tuple[bytes, bytes]]) -> bytes:
    """A request's raw headers as one "name:value" line each, in one bytes object (why: docs/performance.md,
    Shaped for speed); unpack_headers gives them back. Header lines hold no newline (HTTP forbids it)."""
    return b"\n".join(name + b":" + value for name, value in raw)


class Secrets:
    """Masks the values of secret names (any case) wherever they show: headers, JSON fields at
    any depth, and `name=value` or `"name": value` inside any other text (a form body, a query
    string, malformed JSON, a body cut at BODY_PREVIEW)."""

    def __init__(self, names=()):
        self.names = frozenset(name.lower() for name in (*HTTP_CREDENTIAL_HEADERS, *names))
        alternatives = "|".join(re.escape(name) for name in sorted(self.names, key=len, reverse=True))
        # "name": "value" (its closing quote may have been cut off) or "name": 123; an object or
        # list value is left to the names inside it
        self._quoted = re.compile(rf'("(?:{alternatives})"\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|[^\s,{{}}\[\]"][^,}}\]\s]*)', re.I)
        # name=value in a form body or query string
        self._pair = re.compile(rf'(?<![^&?;\s])((?:{alternatives})=)[^&\s]*', re.I)

    def header(self, name: str, value: str) -> str:
        return MASK if name.lower() in self.names else value

    def headers(self, headers: dict) -> dict:
        return {name: self.header(name, value) for name, value in headers.items()}

    def fields(self, value):
        if isinstance(value, dict):
            return {k: (MASK if str(k).lower() in self.names else self.fields(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fields(v) for v in value]
        return value

    def text(self, text: str) -> str:
        return self._pair.sub(rf"\1{MASK}", self._quoted.sub(rf'\1"{MASK}"', text))

    def body(self, raw):
        """A body as shown: JSON with secret fields masked, else text with secret pairs masked."""
        if not isinstance(raw, bytes):
            return self.fields(raw)
        if not raw:
            return None
        try:
            return self.fields(orjson.loads(raw))
        except (orjson.JSONDecodeError, RecursionError):   # not JSON, or nested past Python's stack
            return self.text(raw.decode("utf-8", "replace"))


def unpack_headers(packed: bytes) -> dict:
    headers = {}
    for line in packed.split(b"\n") if packed else ():
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return headers


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

    def readable(self, secrets: Secrets) -> dict:
        """The entry as it is shown: time in ISO 8601, headers unpacked, bodies decoded, secrets masked."""
        shown = asdict(self)
        shown["at"] = iso_utc(self.at)
        del shown["wall"]   # for the client report's signature check; the journal as shown stays deterministic
        shown["query"] = secrets.text(self.query)
        shown["headers"] = secrets.headers(unpack_headers(self.headers))
        shown["request_body"] = secrets.body(self.request_body)
        shown["response_body"] = secrets.body(self.response_body)
        return shown


_AS_ROW = attrgetter(*(f.name for f in fields(Entry)))


class Journal:
    """Entries are kept as plain tuples of their fields: a tuple of atoms is dropped from the
    garbage collector's tracking, where ten thousand kept objects would be walked by every full
    collection and lengthen the pauses of the requests it interrupts; it is also a third of a dict."""

    def __init__(self, log, events=None, secrets: Secrets | None = None):
        self._secrets = secrets or Secrets()
        self._log = log
        self._events = events

    async def record(self, entry: Entry):
        entry.id = await self._log.add(_AS_ROW(entry))
        if self._events is not None and self._events.listening:
            self._events.publish("journal", entry.readable(self._secrets))

    async def entries(self) -> list[Entry]:
        """Every entry as recorded, oldest first: raw headers and bodies, nothing masked (for in-process readers)."""
        return [_entry(row_id, row) for row_id, row in await self._log.rows()]

    async def list(self, product=None, operation=None, limit: int | None = None) -> list[dict]:
        """Entries oldest first; with `limit`, only the newest `limit` of those that match."""
        chosen = []
        for row_id, row in reversed(await self._log.rows()):
            if limit is not None and len(chosen) >= limit:
                break
            entry = _entry(row_id, row)
            if (product is None or entry.product == product) and (
                    operation is None or entry.operation in (operation, f"{entry.product}.{operation}")):
                chosen.append(entry)
        return [entry.readable(self._secrets) for entry in reversed(chosen)]

    async def clear(self):
        await self._log.clear()


def _entry(row_id: int, row: tuple) -> Entry:
    entry = Entry(*row)
    entry.id = row_id
    return entry
