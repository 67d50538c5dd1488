"""What the report reads: the journal's requests and the kept deliveries, with the specs they belong to.

Everything here runs when a report is asked for; the request path records nothing extra.
"""

from functools import cached_property
from urllib.parse import parse_qsl

import orjson

from simulator.core.pipeline.scenario import _dig as dig
from simulator.core.world.journal import Entry

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


class Request:
    """One journal entry, with its headers, parameters and body parsed on first use."""

    def __init__(self, entry: Entry, product, codes: dict):
        self.entry = entry
        self.product = product                # ProductSpec, or None when no spec names it
        self._codes = codes                   # catalogue_index of the product
        self.id = entry.id
        self.at = entry.at
        self.operation = entry.operation

    @cached_property
    def headers(self) -> dict:
        headers = {}
        for line in entry_lines(self.entry.headers):
            name, _, value = line.partition(b":")
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        return headers

    @cached_property
    def body(self):
        raw = self.entry.request_body
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None

    @cached_property
    def params(self) -> dict:
        params = dict(parse_qsl(self.entry.query, keep_blank_values=True))
        if self.body is None and self.entry.request_body and b"=" in self.entry.request_body:
            params.update(parse_qsl(self.entry.request_body.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    def field(self, path: str):
        """`body.a.b`, `query.x` (query or form) or `headers.x` as the request carried it; None when absent."""
        section, _, name = path.partition(".")
        if section == "headers":
            return self.headers.get(name.lower())
        if section == "query":
            return self.params.get(name)
        return dig(self.body, tuple(name.split(".")))

    @cached_property
    def key(self) -> str | None:
        """The catalogue key of the answer's code (the wire code and status together pick it)."""
        code = self.entry.code
        if code is None:
            return None
        keys = self._codes.get((code, self.entry.status)) or self._codes.get(code)
        if not keys:
            return None
        if len(keys) > 1:
            body = self.entry.response_body or b""
            return next((key for key, marker in keys if marker and marker in body), keys[0][0])
        return keys[0][0]

    @property
    def accepted(self) -> bool:
        status = self.entry.status
        return status is not None and 200 <= status < 300 and self.entry.code is None and self.entry.fault is None

    @property
    def failed(self) -> bool:
        """A 5xx answer, or none at all (a connection fault): what a client retries."""
        status = self.entry.status
        return self.entry.fault is not None or status is None or status >= 500

    def evidence(self) -> dict:
        e = self.entry
        return {"id": e.id, "at": e.at, "operation": e.operation or f"{e.method} {e.path}",
                "status": e.status, "code": e.code, "fault": e.fault}


def entry_lines(packed: bytes):
    return packed.split(b"\n") if packed else ()


def catalogue_index(product) -> dict:
    """(wire code, status) and wire code -> the keys that answer with them, each with the fixed start
    of its message (the text before any placeholder), which tells apart keys sharing a code."""
    index: dict = {}
    for key, entry in product.catalogue.items():
        marker = entry.message.split("{", 1)[0].encode()
        index.setdefault((entry.code, entry.status), []).append((key, marker))
        index.setdefault(entry.code, []).append((key, marker))
    return index


class PushSpec:
    """A delivery kind as a product's spec documents it: an OpenAPI callback marked `x-otpsim-kind`."""

    def __init__(self, kind: str, operation, name: str, path_item: dict):
        self.kind = kind
        self.operation = operation
        self.name = name
        self.outcome = path_item.get("x-otpsim-outcome")
        post = next((path_item[m] for m in HTTP_METHODS if m in path_item), {})
        self.responses = {}
        for status, response in (post.get("responses") or {}).items():
            content = (response or {}).get("content") or {}
            schema = next((c.get("schema") for c in content.values() if isinstance(c, dict) and "schema" in c), None)
            self.responses[str(status)] = {"description": (response or {}).get("description", ""), "schema": schema}

    def accepts(self, status) -> bool:
        if not self.responses:
            return status is not None and 200 <= status < 300
        return str(status) in self.responses and 200 <= int(status) < 300

    @property
    def where(self) -> str:
        return f"callback {self.name} of {self.operation.qualified} in openapi/{self.operation.product.name}.yaml"

    def rule(self) -> str:
        accepted = [s for s in self.responses if s.isdigit() and 200 <= int(s) < 300] or ["2xx"]
        descriptions = " ".join(self.responses[s]["description"] for s in accepted if s in self.responses)
        return f"answer {' or '.join(accepted)}. {descriptions}".strip()


class PushSpecs:
    """Delivery kind -> its callback: the one marked `x-otpsim-kind: <kind>`, else, for a kind
    `<product>.<anything>` whose product documents callbacks of one name only, that callback."""

    def __init__(self, products: dict):
        from simulator.core.spec import _resolve

        self._marked, by_product = {}, {}
        for product in products.values():
            for operation in product.operations:
                for name, expressions in (operation.raw.get("callbacks") or {}).items():
                    for path_item in (expressions or {}).values():
                        spec = PushSpec((path_item or {}).get("x-otpsim-kind"), operation, name,
                                        _resolve(path_item or {}, product.document))
                        if spec.kind:
                            self._marked[spec.kind] = spec
                        by_product.setdefault(product.name, {}).setdefault(name, spec)
        self._only = {name: next(iter(specs.values())) for name, specs in by_product.items() if len(specs) == 1}

    def get(self, kind: str) -> PushSpec | None:
        return self._marked.get(kind) or self._only.get(kind.partition(".")[0])


class Observed:
    """The journal and the deliveries of one simulator, read once for one report: a snapshot taken on
    the simulator's own thread, so the report can be worked out in another while requests go on."""

    def __init__(self, sim, entries: list, deliveries: list):
        self.products = sim.products
        self.now = sim.world.clock.now()
        self._settings = {name: dict(values) for name, values in sim.world.settings.items()}
        indexes = {name: catalogue_index(product) for name, product in self.products.items()}
        self.requests = [Request(entry, self.products.get(entry.product), indexes.get(entry.product, {}))
                         for entry in entries]
        self.deliveries = deliveries
        self.pushes = PushSpecs(self.products)
        self.operations = {op.qualified: op for product in self.products.values() for op in product.operations}
        self.error_rules = [rule for rule in sim.world.scenario.rules if rule.error is not None]
        self.error_rule_names = {rule.name for rule in self.error_rules}
        self.base_rule_names = {rule.get("name") for rule in ((sim.base_scenario or {}).get("rules") or [])}

    @classmethod
    async def read(cls, sim) -> "Observed":
        world = sim.world
        return cls(sim, await world.journal.entries(), await world.callbacks.list())

    def settings(self, product: str) -> dict:
        return self._settings.get(product, {})
