"""The ASGI app: vendor traffic through the pipeline, `/__otpsim` to the admin API."""

import asyncio
import random
import logging
import time
from urllib.parse import parse_qsl

from simulator.core import ADMIN_PREFIX
from simulator.core.pipeline.call import Call
from simulator.core.pipeline.envelope import JSON_TYPE, Answer, encode_json, is_request_id, new_request_id, render_error
from simulator.core.pipeline.faults import deliver, send_whole, what_client_gets
from simulator.core.pipeline.headers import RequestHeaders
from simulator.core.pipeline.router import Ambiguous, Router
from simulator.core.pipeline.scenario import Scenario, merge_documents
from simulator.core.errors import SimError
from simulator.core.pipeline.stages import STAGES, answer_error, unavailable_error
from simulator.core.world.store import StoreUnavailable
from simulator.core.serving.admin import AdminSettings, build_admin
from simulator.core.world import World
from simulator.core.world.journal import Entry as JournalEntry, body_preview, pack_headers

log = logging.getLogger("otpsim")

PRODUCT_HEADER = "x-otpsim-product"
AUTHORITY = "otpsim.authority"
DEFAULT_MAX_BODY = 1 << 20


class Simulator:
    """One simulated cloud: the products of `parts` (compose.Parts) serving the scenario `document`.
    Build it with simulator.core.compose (create_simulator, simulator_from_texts)."""

    def __init__(self, parts, document: dict, seed: int = 0, max_body: int = DEFAULT_MAX_BODY,
                 journal_capacity: int = 10_000, outbox_capacity: int = 10_000, listeners: dict | None = None,
                 admin: AdminSettings | None = None, backend=None):
        self.products = parts.products
        self.modules = parts.contributions.modules
        self.schemes = parts.contributions.schemes
        self.rule_keys = parts.contributions.rule_keys
        self.handlers = self._handlers()
        self.router = Router(self.products)
        self.listeners = {}
        for port, name in (listeners or {}).items():
            self.listen(port, name)
        self.max_body = max_body
        self.scenario_format = parts.scenario_format
        self.base_scenario = parts.default_scenario
        self.world = World(self.products, Scenario(document, self.rule_keys), seed, journal_capacity,
                           outbox_capacity, backend)
        self.world.compile_scenario = self.compile_scenario
        self.loop = None
        self.admin = build_admin(self, admin)

    def _handlers(self) -> dict:
        """Each operation's handler by qualified name (compose.build_parts checked that each exists)."""
        return {op.qualified: self.modules[product.name].handlers[op.id]
                for product in self.products.values() for op in product.operations}

    def listen(self, port: int, name: str):
        """Requests arriving on local port `port` name product `name` (`otpsim serve --listen`)."""
        if name not in self.products:
            raise ValueError(f"no product {name!r}; one of {', '.join(sorted(self.products))}")
        self.listeners[port] = self.products[name]

    def prepare_scenario(self, text: str, source: str) -> tuple[Scenario, dict]:
        """A scenario from text, over the base one, and the document it came from; ScenarioError
        if refused. Touches no state, so the admin API runs it off the event loop; its texts are
        checked afresh, not kept between runs (most are put once, by one test)."""
        document = self.scenario_format.load(text, source, keep=False)
        return Scenario(merge_documents([document], base=self.base_scenario), self.rule_keys), document

    async def use_scenario(self, scenario: Scenario, document: dict):
        """A prepared scenario in force at once (its seed too, if it gives one), on every worker."""
        await self.world.put_scenario(scenario, document.get("seed"))

    def compile_scenario(self, document: dict) -> Scenario:
        """A scenario another worker put in force, from its merged document (checked there)."""
        return Scenario(document, self.rule_keys)

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            if not scope["path"].startswith("/"):
                scope = origin_form(scope)
            if scope["path"].startswith(ADMIN_PREFIX):
                if self.world.shared:
                    await self._refresh_for_admin(scope, receive, send)
                else:
                    await self.admin(scope, receive, send)
            else:
                await self.serve_vendor(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _refresh_for_admin(self, scope, receive, send):
        """An admin call on a shared world sees the clock and scenario the other workers left."""
        try:
            await self.world.backend.refresh(self.world)
        except StoreUnavailable as problem:
            message = f"the shared store is unavailable: {problem}; otpsim reconnects by itself when it is back"
            await send_whole(send, Answer(503, [(b"content-type", JSON_TYPE.encode())],
                                          encode_json({"error": message}), None))
            return
        await self.admin(scope, receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()   # embedded servers run work on it from other threads
                try:
                    await self.world.backend.start(self.world)
                except StoreUnavailable as problem:   # refuse to serve a world that is not there
                    await send({"type": "lifespan.startup.failed", "message": str(problem)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.world.scheduler.close()
                await self.world.callbacks.close()
                await self.world.backend.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def serve_vendor(self, scope, receive, send):
        started = time.perf_counter()
        world = self.world
        method, path = scope["method"], scope["path"]
        headers = RequestHeaders(scope)
        query_string = scope["query_string"].decode("utf-8", "replace")
        query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        host = scope.get(AUTHORITY) or headers.get("host", "")
        try:
            route = self.router.match(method, path, headers, query, lambda: self._named_product(scope, headers, host))
        except (LookupError, Ambiguous) as problem:
            await send_whole(send, _otpsim_answer(400, _explain(problem)))
            return
        product = route.product
        if product is None:
            await send_whole(send, _otpsim_answer(404, f"no product serves {method} {path}"))
            return
        try:
            if world.shared:
                await world.backend.refresh(world)   # the clock and scenario in force, as other workers left them
            rng = await world.draw("request-id", product.name)
            request_id = new_request_id(rng, product.request_id_format)
        except StoreUnavailable as problem:
            log.warning("%s %s: %s", method, path, problem)
            request_id = new_request_id(random, product.request_id_format)
            await send_whole(send, render_error(product, SimError(unavailable_error(product)), request_id, host))
            return
        if product.request_id_echo:
            # the client's own id comes back only when it has the shape the spec documents for ids
            given = headers.get(product.request_id_header)
            if given is not None and is_request_id(given, product.request_id_format):
                request_id = given
        wire_path = scope.get("raw_path")
        call = Call.routed(
            product=product, operation=route.operation, route_error=route.error, method=method, path=path,
            wire_path=wire_path.decode("latin-1") if wire_path else path, query_string=query_string,
            host=host, headers=headers, wire_params=query, request_id=request_id, rng=rng,
            received_at=world.clock.now(), settings=world.settings[product.name], scenario=world.scenario,
            world=world, receive=receive,
            path_params=route.path_params,
        )
        try:
            for stage in STAGES:
                waiting = stage(call, self)
                if waiting is not None:
                    await waiting
                if call.finished:
                    break
        except Exception as error:
            call.finish(answer_error(call, self, error))
        fault = call.rule.fault if call.rule is not None else None
        sent = what_client_gets(scope, call.answer, fault)
        elapsed_ms = (time.perf_counter() - started) * 1000
        try:   # recorded before it is sent: a client that has its answer finds it in the journal, on any worker
            await world.journal.record(journal_entry(call, sent, fault, elapsed_ms))
        except StoreUnavailable as problem:   # only its journal entry is lost
            log.warning("journal: %s", problem)
        await deliver(scope, receive, send, sent, fault)
        if log.isEnabledFor(logging.INFO):
            outcome = f"{sent.status} {sent.code or '-'}" if sent else f"fault {fault.kind}"
            log.info("%s %s %.1fms", call.operation.qualified if call.operation else f"{method} {path}",
                     outcome, elapsed_ms)

    def _named_product(self, scope, headers, host: str):
        """The product a request names: X-Otpsim-Product, else its listener, else its Host."""
        name = headers.get(PRODUCT_HEADER)
        if name is not None:
            if name not in self.products:
                raise LookupError(f"X-Otpsim-Product: no product {name!r}; one of {', '.join(sorted(self.products))}")
            return self.products[name]
        server = scope.get("server")
        pinned = self.listeners.get(server[1]) if server and self.listeners else None
        return pinned or self.router.product_for_host(host)


def origin_form(scope) -> dict:
    """A request sent to otpsim as to a proxy (`POST http://dysmsapi.aliyuncs.com/?… HTTP/1.1`, what an
    SDK's http_proxy setting does) as if sent directly, its authority kept for routing (RFC 9112 §3.2.2:
    the target's authority wins over Host). h11 leaves the absolute URL in `path`; httptools passes
    only its path, and the Host header then names the product."""
    scheme, sep, rest = scope["path"].partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return scope
    authority, slash, path = rest.partition("/")
    path = slash + path or "/"
    return {**scope, "path": path, "raw_path": path.encode("latin-1"), AUTHORITY: authority}


def _explain(problem: Exception) -> str:
    if isinstance(problem, Ambiguous):
        return (f"{problem.action} is an action of {' and '.join(problem.products)}: name the product by Host "
                f"(the vendor endpoint, directly or through http_proxy), a listener (otpsim serve --listen "
                f"PRODUCT=PORT) or the X-Otpsim-Product header")
    return str(problem.args[0])


def _otpsim_answer(status: int, message: str) -> Answer:
    return Answer(status, [(b"content-type", JSON_TYPE.encode())], encode_json({"otpsim": message}), None)


def journal_entry(call, sent: Answer | None, fault, elapsed_ms: float) -> JournalEntry:
    """The journal's record of a request: the context as it arrived, and what the client got."""
    # in Entry's field order, by position (why: docs/performance.md, Shaped for speed)
    return JournalEntry(
        call.received_at, call.product.name, call.operation.qualified if call.operation else None,
        call.method, call.path, call.query_string, pack_headers(call.headers.raw), call.request_id,
        body_preview(call.raw_body), call.rule.name if call.rule is not None else None, call.delay_ms,
        fault.kind if fault else None, sent.status if sent else None, sent.code if sent else None,
        body_preview(sent.body) if sent else None, round(elapsed_ms, 3), time.time(),
    )
