"""The ASGI app: vendor traffic through the pipeline, `/__otpsim` to the admin API."""

import asyncio
import logging
import math
import time
from urllib.parse import parse_qsl

import orjson

from simulator.core.pipeline import auth as auth_mod
from simulator.core.serving.admin import AdminSettings, build_admin
from simulator.core.pipeline.envelope import JSON_TYPE, base_headers, encode_json, new_request_id, render_error
from simulator.core.errors import AuthFailed, SimError
from simulator.core.pipeline.faults import Answer, deliver, send_whole
from simulator.core.pipeline.headers import RequestHeaders
from simulator.core.world.journal import Entry as JournalEntry, body_preview, pack_headers
from simulator.core.world.outbox import delivery_lost
from simulator.core.product import Call, Reply, load_providers
from simulator.core.pipeline.router import Router
from simulator.core.pipeline.scenario import MAX_DELAY_MS, RequestView, Scenario, merge_documents
from simulator.core.scenario_schema import ScenarioFormat
from simulator.core.spec import load_products
from simulator.core.world import World

log = logging.getLogger("otpsim")

ADMIN_PREFIX = "/__otpsim"
DEFAULT_MAX_BODY = 1 << 20


class BodyTooLarge(Exception):
    pass


class MalformedBody(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


async def read_body(receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_body(raw: bytes, content_type: str, operation):
    """The body as JSON or form fields; MalformedBody('malformed-body' | 'unsupported-media-type')."""
    if not raw:
        return None, {}
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith("json") or media.endswith("+json"):
        try:
            return orjson.loads(raw), {}
        except orjson.JSONDecodeError:
            raise MalformedBody("malformed-body") from None
    if media == "application/x-www-form-urlencoded" and (
        operation.rpc_action or media in operation.body_media_types
    ):
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise MalformedBody("malformed-body") from None
        return (form if media in operation.body_media_types else None), form
    raise MalformedBody("unsupported-media-type")


class Simulator:
    def __init__(self, scenario: Scenario | None = None, seed: int = 0, max_body: int = DEFAULT_MAX_BODY,
                 products=None, journal_capacity: int = 10_000, outbox_capacity: int = 10_000,
                 scenario_format: ScenarioFormat | None = None, base_scenario: dict | None = None,
                 admin: AdminSettings | None = None):
        self.products = products or load_products()
        self.providers = load_providers()
        self.schemes = auth_mod.load_schemes()
        self._check_wiring()
        self.router = Router(self.products)
        self.max_body = max_body
        self.scenario_format = scenario_format or ScenarioFormat(self.products)
        self.base_scenario = base_scenario
        self.world = World(self.products, scenario or Scenario(), seed, journal_capacity, outbox_capacity)
        self.admin = build_admin(self, admin)

    def _check_wiring(self):
        """Fail at start-up, not per request, when a spec and the code disagree."""
        for product in self.products.values():
            for name in product.auth_schemes:
                if name not in self.schemes:
                    raise RuntimeError(f"{product.name}: auth scheme {name} is not implemented")
            provider = self.providers.get(product.name)
            for op in product.operations:
                if provider is None or op.id not in provider.handlers:
                    raise RuntimeError(f"{op.qualified} has no handler")

    def prepare_scenario(self, text: str, source: str) -> tuple[Scenario, dict]:
        """A scenario from text, over the base one, and the document it came from; ScenarioError
        if refused. Touches no state, so the admin API runs it off the event loop."""
        document = self.scenario_format.load(text, source)
        return Scenario(merge_documents([document], base=self.base_scenario)), document

    def use_scenario(self, scenario: Scenario, document: dict):
        """A prepared scenario in force at once (its seed too, if it gives one)."""
        self.world.use_scenario(scenario)
        if "seed" in document:
            self.world.reseed(document["seed"])

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith(ADMIN_PREFIX):
                await self.admin(scope, receive, send)
            else:
                await self.serve_vendor(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.world.scheduler.clear()
                await self.world.callbacks.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def serve_vendor(self, scope, receive, send):
        started = time.perf_counter()
        world = self.world
        method, path = scope["method"], scope["path"]
        headers = RequestHeaders(scope)
        query_string = scope["query_string"]
        query = dict(parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)) if query_string else {}
        operation, miss = self.router.resolve(method, path, headers, query)
        product = operation.product if operation else (miss[0] if miss else None)
        if product is None:
            await send_whole(send, Answer(404, [(b"content-type", JSON_TYPE.encode())],
                                          encode_json({"otpsim": f"no product serves {method} {path}"}), None))
            return
        request_id = new_request_id(world.rng, product.request_id_format)
        if product.request_id_echo:
            request_id = headers.get(product.request_id_header, request_id)
        entry = JournalEntry(world.clock.now(), product.name, operation.qualified if operation else None, method, path,
                             query_string.decode("utf-8", "replace"), pack_headers(scope["headers"]), request_id)
        answer, rule = await self._answer(product, operation, miss, scope, receive, headers, query, request_id, entry)
        fault = rule.fault if rule else None
        sent = await deliver(scope, receive, send, answer, fault)
        elapsed_ms = (time.perf_counter() - started) * 1000
        entry.fault = fault.kind if fault else None
        if sent:
            entry.status, entry.code, entry.response_body = sent.status, sent.code, body_preview(sent.body)
        entry.duration_ms = round(elapsed_ms, 3)
        world.journal.record(entry)
        if log.isEnabledFor(logging.INFO):
            outcome = f"{sent.status} {sent.code or '-'}" if sent else f"fault {fault.kind}"
            log.info("%s %s %.1fms", entry.operation or f"{method} {path}", outcome, elapsed_ms)

    async def _answer(self, product, operation, miss, scope, receive, headers, query, request_id, entry):
        """The answer to a vendor request and the rule that shaped it; no answer when a fault drops it."""
        host = headers.get("host", "")
        rule = None
        try:
            raw = await read_body(receive, self.max_body)
            entry.request_body = body_preview(raw)
            if operation is None:
                raise miss[1]
            try:
                body, form = parse_body(raw, headers.get("content-type", ""), operation)
                body_problem = None
            except MalformedBody as problem:
                body, form, body_problem = None, {}, problem
            params = {**query, **form} if operation.rpc_action else query
            rule = self.world.scenario.select(RequestView(operation, headers, params, body), self.world.scenario_rng)
            if rule is not None:
                entry.rule = rule.name
            await self._delay(headers, rule, entry)
            if rule is not None and rule.fault is not None and rule.fault.drops_request:
                return None, rule
            reply = await self._handle(operation, scope, headers, params, body, body_problem, raw,
                                       request_id, host, rule)
            return self._render_reply(product, reply, request_id), rule
        except RawAnswer as answer:
            return answer.render(), rule
        except TestHeaderRefused as refusal:
            return Answer(400, [(b"content-type", JSON_TYPE.encode())], encode_json({"otpsim": str(refusal)}), None), rule
        except BodyTooLarge:
            return Answer(*render_error(
                product, SimError(product.protocol_errors["body-too-large"], limit=self.max_body), request_id, host)), rule
        except SimError as error:
            return self._render_error(product, error, request_id, host), rule
        except AuthFailed as failure:
            return self._render_error(product, auth_mod.failure_error(product, failure), request_id, host), rule
        except Exception:
            log.exception("%s failed", operation.qualified if operation else scope["path"])
            return Answer(*render_error(
                product, SimError(product.protocol_errors["internal-error"]), request_id, host)), rule

    def _render_error(self, product, error: SimError, request_id, host) -> Answer:
        if error.key not in product.catalogue:
            return Answer(400, [(b"content-type", JSON_TYPE.encode())], encode_json(
                {"otpsim": f"{error.key} is not in the {product.name} catalogue"}), None)
        return Answer(*render_error(product, error, request_id, host))

    async def _delay(self, headers, rule, entry):
        """X-Otpsim-Delay-Ms, else the rule's delay drawn from the seeded generator."""
        delay_ms = _header_delay(headers.get("x-otpsim-delay-ms"))
        if delay_ms is None and rule is not None and rule.delay is not None:
            delay_ms = rule.delay(self.world.scenario_rng)
        if delay_ms:
            entry.delay_ms = round(delay_ms, 3)
            await asyncio.sleep(delay_ms / 1000)

    async def _handle(self, operation, scope, headers, params, body, body_problem, raw, request_id, host, rule):
        """Forced answers first (X-Otpsim-Error, the rule's error or respond), else auth, validation, provider."""
        forced = headers.get("x-otpsim-error") or (rule.error if rule else None)
        if forced:
            raise SimError(forced)
        if rule is not None and rule.respond is not None:
            raise RawAnswer(rule.respond)
        product = operation.product
        wire_path = scope.get("raw_path") or scope["path"].encode()
        call = Call(operation, scope["method"], wire_path.decode("latin-1"), scope["query_string"].decode("utf-8", "replace"),
                    headers, params, body, params, raw, self.world.settings[product.name], self.world,
                    request_id, rule.spec if rule else None, host)
        call.principal = await auth_mod.authenticate(call, self.schemes)
        if body_problem is not None:
            raise SimError(product.protocol_errors[body_problem.kind])
        instance = operation.validator.instance(headers, params, body)
        operation.validator.validate(instance)
        call.query = instance["query"]
        if operation.rpc_action:
            call.params = call.query
        handler = self.providers[product.name].handlers[operation.id]
        lost = delivery_lost.set(rule is not None and not rule.delivers)
        try:
            return await handler(call)
        finally:
            delivery_lost.reset(lost)

    def _render_reply(self, product, reply, request_id) -> Answer:
        if not isinstance(reply, Reply):
            reply = Reply(reply)
        headers = base_headers(product, request_id)
        headers.extend((k.encode(), str(v).encode()) for k, v in reply.headers.items())
        if reply.body is None:
            return Answer(reply.status, headers, b"", None)
        headers.append((b"content-type", JSON_TYPE.encode()))
        return Answer(reply.status, headers, encode_json(reply.body), None)


class TestHeaderRefused(Exception):
    """An X-Otpsim-* header otpsim cannot follow: a 400 of otpsim's own, not a vendor answer."""


def _header_delay(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        delay = float(value)
    except ValueError:
        delay = math.nan
    if not 0 <= delay <= MAX_DELAY_MS:   # also false for NaN
        raise TestHeaderRefused(f"X-Otpsim-Delay-Ms must be a number of milliseconds from 0 to {MAX_DELAY_MS}, "
                                f"not {value!r}")
    return delay


class RawAnswer(Exception):
    """A scenario's `respond`: status, headers and body sent as given."""

    def __init__(self, respond: dict):
        super().__init__("respond")
        self.respond = respond

    def render(self) -> Answer:
        body = self.respond.get("body", b"")
        if isinstance(body, (dict, list)):
            body = encode_json(body)
        elif isinstance(body, str):
            body = body.encode()
        # the length is the body's own; a second Content-Length would make the answer unreadable
        headers = [(k.lower().encode(), str(v).encode()) for k, v in (self.respond.get("headers") or {}).items()
                   if k.lower() != "content-length"]
        return Answer(int(self.respond["status"]), headers, body, None)
