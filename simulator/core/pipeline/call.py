"""The request context: one object per vendor request, built by routing, filled in by the stages.

Every stage of the pipeline (stages.py) reads and writes it; the product's handler gets it as
`call`; the journal entry is written from it and the answer once the answer is sent.
"""

from simulator.core.pipeline.envelope import JSON_TYPE, Answer, base_headers, encode_json
from simulator.core.world.receipts import ALL_DELIVERED

JSON_CONTENT_TYPE = (b"content-type", JSON_TYPE.encode())


class Call:
    __slots__ = (
        # what routing found
        "product",        # ProductSpec
        "operation",      # Operation, or None when nothing matched (route_error says why)
        "route_error",    # SimError: the product's answer to a request no operation serves
        "method",
        "path",           # decoded, as routed
        "path_params",    # values of the operation's path template parameters (coerced by validation), or None
        "wire_path",      # as sent (percent-encoding kept), for signatures
        "query_string",   # as sent, decoded as text
        "host",
        "headers",        # RequestHeaders: case-insensitive, constant-time
        "request_id",     # this request's id, in the product's format
        "rng",            # the generator that drew request_id: values unique to this request draw from it too
        "received_at",    # epoch seconds on the virtual clock
        "settings",       # the product's settings: spec defaults overridden by the scenario
        "scenario",       # the Scenario in force as the request arrived: it is answered under that one throughout
        "world",
        "receive",        # the ASGI receive channel the body comes from
        # what the stages add
        "raw_body",       # the exact bytes
        "body",           # JSON body (or form fields, when the operation takes a form); None when absent
        "body_problem",   # protocol-errors kind when the body could not be read (answered after auth)
        "wire_params",    # query (+ form, RPC) parameters as sent: text, for signatures and rule matching
        "params",         # the same, coerced to their spec types by validation: for handlers
        "rule",           # the scenario Rule that matched, or None
        "delay_ms",       # the delay applied, if any
        "principal",      # Principal that auth established, or None
        "answer",         # Answer: what is sent (None while there is none, or when a fault drops it)
        "finished",       # True once a stage has decided the answer: the stages after it are skipped
    )

    @classmethod
    def routed(cls, *, product, operation, route_error, method, path, wire_path, query_string, host, headers,
               wire_params, request_id, rng, received_at, settings, scenario, world, receive, path_params=None) -> "Call":
        """The context of a request routing has just matched (why a classmethod: docs/performance.md,
        Shaped for speed)."""
        self = object.__new__(cls)
        self.product = product
        self.operation = operation
        self.route_error = route_error
        self.method = method
        self.path = path
        self.path_params = path_params
        self.wire_path = wire_path
        self.query_string = query_string
        self.host = host
        self.headers = headers
        self.wire_params = wire_params
        self.params = wire_params
        self.request_id = request_id
        self.rng = rng
        self.received_at = received_at
        self.settings = settings
        self.scenario = scenario
        self.world = world
        self.receive = receive
        self.raw_body = b""
        self.body = None
        self.body_problem = None
        self.rule = None
        self.delay_ms = None
        self.principal = None
        self.answer = None
        self.finished = False
        return self

    def finish(self, answer: Answer | None):
        """This is the answer (None: nothing is sent); the remaining stages are skipped."""
        self.answer = answer
        self.finished = True

    def respond(self, body=None, status: int = 200, headers: dict | None = None) -> Answer:
        """An answer of this product: its request-id header, `body` as JSON (None: empty), extra headers."""
        wire_headers = base_headers(self.product, self.request_id)
        if headers:
            wire_headers.extend((k.encode(), str(v).encode()) for k, v in headers.items())
        if body is None:
            return Answer(status, wire_headers, b"", None)
        wire_headers.append(JSON_CONTENT_TYPE)
        return Answer(status, wire_headers, encode_json(body), None)

    async def send_code(self, channel: str, to: str, code: str, text: str):
        """Send `code` to `to` as this product and operation: it lands in the outbox, unless the
        scenario rule that matched says `deliver: false` (accepted, never arrives)."""
        rule = self.rule
        await self.world.outbox.send(self.product.name, self.operation.qualified, channel, to, code, text,
                               delivered=rule is None or rule.delivers)

    def rule_data(self, key: str, default=None):
        """What the matched rule gives for a rule key this product declared (ProductModule rule_keys),
        as its RuleKey parsed it; `default` when no rule matched or it has no such key."""
        rule = self.rule
        return default if rule is None else rule.data.get(key, default)

    @property
    def receipts(self):
        """The matched rule's `receipts` (Fates): what becomes of each number this send reached."""
        rule = self.rule
        return ALL_DELIVERED if rule is None or rule.receipts is None else rule.receipts

    @property
    def callback_faults(self):
        """The matched rule's `callbacks` (CallbackFaults) for the pushes this request causes, or None."""
        rule = self.rule
        return None if rule is None else rule.callback_faults
