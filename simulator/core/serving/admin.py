"""The test-facing admin API under /__otpsim (DESIGN §4).

Every call takes what it is sent through admin_input (bounded bodies, named keys, finite numbers,
scenarios read off the event loop within a time bound), so no admin call can freeze, break or
empty the server; every refusal is a 4xx with `{"error": "<what is wrong>"}`, never a 500.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator.core.world.store import StoreUnavailable
from simulator.core.serving.admin_input import (AdminError, ScenarioReading, body, command, error_response, number,
                                                query, whole)
from simulator.core.serving.admin_live import live_routes
from simulator.core.serving.admin_token import guarded
from simulator.core.serving.page import with_page
from simulator.core.serving.http1 import SERVER_EXTENSION
from simulator.core.spec import served_json
from simulator import __version__

MAX_WAIT_S = 60.0


@dataclass(frozen=True)
class AdminSettings:
    token: str | None = None          # when set, every admin call must carry it
    max_body: int = 1 << 20           # largest admin request body (a scenario is the largest)
    scenario_timeout_s: float = 30.0  # longest a scenario may take to read and check (1,000 rules: 6-10 s)


def recipient(to: str | None) -> str | None:
    """`to` as sent: in a query string an unencoded `+` arrives as a space, and neither a phone
    number nor an e-mail address holds a space, so a space is read as the `+` it was."""
    return to.replace(" ", "+") if to else to


def _limit(params: dict) -> int | None:
    """`limit`: only the newest so many entries."""
    value = params.get("limit")
    if value is None:
        return None
    if not value.isdigit() or len(value) > 9:
        raise AdminError(400, "limit must be a count (a whole number)")
    return int(value)


def build_admin(sim, settings: AdminSettings | None = None):
    world = sim.world
    settings = settings or AdminSettings()
    reading = ScenarioReading(settings.scenario_timeout_s)

    def known_product(name: str | None) -> str | None:
        if name is not None and name not in sim.products:
            raise AdminError(400, f"no product {name!r}", products=sorted(sim.products))
        return name

    async def health(request: Request):
        query(request, ())
        stack = request.scope.get("extensions", {}).get(SERVER_EXTENSION)   # None in-process (no server)
        return JSONResponse({
            "status": "ok", "version": __version__, "products": sorted(sim.products),
            "scenario": world.scenario.name, "clock": world.clock.describe(),
            "server": stack.as_dict() if stack else None,
        })

    async def outbox(request: Request):
        q = query(request, ("to", "channel", "product", "since", "limit"))
        since = whole(q["since"], "since") if "since" in q else 0
        limit = _limit(q)
        messages = await world.outbox.list(to=recipient(q.get("to")), channel=q.get("channel"),
                                     product=known_product(q.get("product")), since=since)
        if limit is not None:
            messages = messages[len(messages) - limit:] if limit else []
        return JSONResponse([m.as_dict() for m in messages])

    async def outbox_latest(request: Request):
        to = recipient(query(request, ("to",)).get("to"))
        if not to:
            raise AdminError(400, "to is required")
        message = await world.outbox.latest(to)
        if message is None:
            raise AdminError(404, f"no message to {to}")
        return JSONResponse(message.as_dict())

    async def outbox_wait(request: Request):
        q = query(request, ("to", "timeout", "since"))
        to = recipient(q.get("to"))
        if not to:
            raise AdminError(400, "to is required")
        timeout = min(number(q["timeout"], "timeout"), MAX_WAIT_S) if "timeout" in q else 10.0
        since = whole(q["since"], "since") if "since" in q else None
        message = await world.outbox.wait(to, timeout, since)
        if message is None:
            raise AdminError(408, f"no message to {to} within {timeout:g}s")
        return JSONResponse(message.as_dict())

    async def journal(request: Request):
        q = query(request, ("product", "operation", "limit"))
        return JSONResponse(await world.journal.list(product=known_product(q.get("product")), operation=q.get("operation"),
                                               limit=_limit(q)))

    async def callbacks(request: Request):
        # `masked` is accepted for the page; secrets are masked always
        return JSONResponse(await world.callbacks.list(kind=query(request, ("kind", "masked")).get("kind")))

    async def clock(request: Request):
        query(request, ())
        if request.method == "POST":
            sent = await command(request, settings.max_body, ("mode", "set", "advance"),
                                 'e.g. {"advance": seconds}, {"set": iso8601 | "now"}, {"mode": "real" | "manual"}')
            mode, when = sent.get("mode"), sent.get("set")
            if mode is not None and mode not in ("real", "manual"):
                raise AdminError(400, "mode is real or manual")
            if when is not None:
                when = _instant(when)
            seconds = number(sent["advance"], "advance") if "advance" in sent else None
            try:
                await world.move_clock(mode, when, seconds)
            except ValueError as problem:
                raise AdminError(400, f"{problem}; the clock is unchanged") from None
            await world.scheduler.settle()
        return JSONResponse(world.clock.describe())

    async def scenario(request: Request):
        query(request, ("format",))
        if request.method == "PUT":
            text = (await body(request, settings.max_body)).decode("utf-8", "replace")
            if not text.strip():
                raise AdminError(400, "empty body: send a scenario in YAML or JSON (`{}` puts the default one "
                                      "back); the previous one stays in force")
            prepared = await reading.read(sim.prepare_scenario, text, "request body",
                                          "scenario", "the previous one stays in force")
            await sim.use_scenario(*prepared)
        if request.query_params.get("format") == "yaml":
            text = yaml.safe_dump(world.scenario.document, sort_keys=False, allow_unicode=True, width=120)
            return Response(text, media_type="application/yaml; charset=utf-8")
        return JSONResponse(world.scenario.document)

    async def reset(request: Request):
        query(request, ())
        await world.reset()
        return JSONResponse({"status": "reset"})

    def named_product(request: Request):
        query(request, ())
        product = sim.products.get(request.path_params["product"])
        if product is None:
            raise AdminError(404, f"no product {request.path_params['product']}", products=sorted(sim.products))
        return product

    async def openapi(request: Request):
        return Response(served_json(named_product(request)), media_type="application/json")

    async def catalogue(request: Request):
        return JSONResponse([entry.as_dict() for entry in named_product(request).catalogue.values()])

    async def report(request: Request):
        from starlette.concurrency import run_in_threadpool

        from simulator.core.report import Observed, report_from
        from simulator.core.report.settings import ReportSettings
        from simulator.core.report.text import render

        q = request.query_params
        unknown = sorted(set(q) - set(ReportSettings.names()) - {"format"})
        if unknown:
            raise AdminError(400, f"no report setting {', '.join(unknown)}", settings=list(ReportSettings.names()))
        try:
            settings = ReportSettings.from_sources(ReportSettings.from_environment(), q)
        except ValueError as problem:
            raise AdminError(400, str(problem)) from None
        # a snapshot here, the work in a thread: a long journal does not hold up the requests meanwhile
        built = await run_in_threadpool(report_from, await Observed.read(sim), settings)
        if q.get("format") == "text":
            return PlainTextResponse(render(built))
        return JSONResponse(built)

    async def not_found(request: Request, exc):
        return error_response(exc.status_code, f"no admin call {request.method} {request.url.path}")

    async def refused(request: Request, problem: AdminError):
        return error_response(problem.status, problem.message, **problem.extra)

    routes = [
        Route("/__otpsim/health", health),
        Route("/__otpsim/outbox", outbox),
        Route("/__otpsim/outbox/latest", outbox_latest),
        Route("/__otpsim/outbox/wait", outbox_wait),
        Route("/__otpsim/journal", journal),
        Route("/__otpsim/callbacks", callbacks),
        Route("/__otpsim/clock", clock, methods=["GET", "POST"]),
        Route("/__otpsim/scenario", scenario, methods=["GET", "PUT"]),
        Route("/__otpsim/reset", reset, methods=["POST"]),
        Route("/__otpsim/openapi/{product}.json", openapi),
        Route("/__otpsim/catalogue/{product}", catalogue),
        Route("/__otpsim/report", report),
        *live_routes(sim, settings.max_body, reading),
    ]
    async def store_unavailable(request: Request, problem: StoreUnavailable):
        return error_response(503, f"the shared store is unavailable: {problem}; otpsim reconnects by itself "
                                   "when it is back")

    app = with_page(Starlette(routes=routes, exception_handlers={
        404: not_found, 405: not_found, AdminError: refused, StoreUnavailable: store_unavailable}))
    return guarded(app, settings.token) if settings.token else app


def _instant(value) -> float:
    """`set`: ISO 8601 with a zone, or "now" (wall time); epoch seconds."""
    if value == "now":
        return datetime.now(timezone.utc).timestamp()
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise AdminError(400, 'set takes ISO 8601 with a zone, e.g. 2026-01-01T00:00:00Z, or "now"') from None
    if when.tzinfo is None:
        raise AdminError(400, "set needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return when.timestamp()
