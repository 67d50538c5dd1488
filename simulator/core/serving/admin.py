"""The test-facing admin API under /__otpsim (DESIGN §4)."""

import time
from datetime import datetime

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator.core.scenario_format import ScenarioError
from simulator.core.serving.admin_live import live_routes
from simulator.core.serving.page import with_page
from simulator.core.spec import served_json
from simulator import __version__

MAX_WAIT_S = 60.0


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _float(value, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _refused(problem: ScenarioError, what: str) -> JSONResponse:
    return _error(400, what, problems=problem.problems, located=problem.located)


def _limit(value) -> int | None:
    if value is None:
        return None
    limit = int(value)
    if limit < 0:
        raise ValueError
    return limit


def build_admin(sim):
    world = sim.world

    async def health(request: Request):
        return JSONResponse({
            "status": "ok", "version": __version__, "products": sorted(sim.products),
            "scenario": world.scenario.name, "clock": world.clock.describe(),
        })

    async def outbox(request: Request):
        q = request.query_params
        try:
            since = int(q.get("since", 0))
        except ValueError:
            return _error(400, "since must be a message id")
        try:
            limit = _limit(q.get("limit"))
        except ValueError:
            return _error(400, "limit must be a count")
        messages = world.outbox.list(to=q.get("to"), channel=q.get("channel"), product=q.get("product"), since=since)
        if limit is not None:
            messages = messages[len(messages) - limit:] if limit else []
        return JSONResponse([m.as_dict() for m in messages])

    async def outbox_latest(request: Request):
        to = request.query_params.get("to")
        if not to:
            return _error(400, "to is required")
        message = world.outbox.latest(to)
        if message is None:
            return _error(404, f"no message to {to}")
        return JSONResponse(message.as_dict())

    async def outbox_wait(request: Request):
        q = request.query_params
        to = q.get("to")
        if not to:
            return _error(400, "to is required")
        try:
            timeout = min(_float(q.get("timeout"), "timeout", 10.0), MAX_WAIT_S)
            since = int(q["since"]) if "since" in q else None
        except ValueError as problem:
            return _error(400, str(problem))
        message = await world.outbox.wait(to, timeout, since)
        if message is None:
            return _error(408, f"no message to {to} within {timeout}s")
        return JSONResponse(message.as_dict())

    async def journal(request: Request):
        q = request.query_params
        try:
            limit = _limit(q.get("limit"))
        except ValueError:
            return _error(400, "limit must be a count")
        return JSONResponse(world.journal.list(product=q.get("product"), operation=q.get("operation"), limit=limit))

    async def callbacks(request: Request):
        q = request.query_params
        return JSONResponse(world.callbacks.list(kind=q.get("kind"), masked=q.get("masked") in ("1", "true")))

    async def clock(request: Request):
        if request.method == "POST":
            try:
                command = await request.json()
            except ValueError:
                return _error(400, "body must be JSON: {\"advance\": seconds} or {\"set\": iso8601} or {\"mode\": ...}")
            if not isinstance(command, dict):
                return _error(400, "body must be a JSON object")
            try:
                if "mode" in command:
                    if command["mode"] not in ("real", "manual"):
                        return _error(400, "mode is real or manual")
                    world.clock.set_mode(command["mode"])
                if command.get("set") == "now":   # back to wall time
                    world.clock.set(time.time())
                elif "set" in command:
                    when = datetime.fromisoformat(str(command["set"]).replace("Z", "+00:00"))
                    if when.tzinfo is None:
                        return _error(400, "set needs a time zone, e.g. 2026-01-01T00:00:00Z")
                    world.clock.set(when.timestamp())
                if "advance" in command:
                    seconds = _float(command["advance"], "advance", 0.0)
                    if seconds < 0:
                        return _error(400, "advance must not be negative")
                    world.clock.advance(seconds)
            except (ValueError, TypeError) as problem:
                return _error(400, str(problem))
            await world.scheduler.settle()
        return JSONResponse(world.clock.describe())

    async def scenario(request: Request):
        if request.method == "PUT":
            text = (await request.body()).decode("utf-8", "replace")
            try:
                sim.replace_scenario(text, source="request body")
            except ScenarioError as problem:
                return _refused(problem, "scenario refused; the previous one stays in force")
        if request.query_params.get("format") == "yaml":
            text = yaml.safe_dump(world.scenario.document, sort_keys=False, allow_unicode=True, width=120)
            return Response(text, media_type="application/yaml; charset=utf-8")
        return JSONResponse(world.scenario.document)

    async def reset(request: Request):
        world.reset()
        return JSONResponse({"status": "reset"})

    async def openapi(request: Request):
        product = sim.products.get(request.path_params["product"])
        if product is None:
            return _error(404, f"no product {request.path_params['product']}", products=sorted(sim.products))
        return Response(served_json(product), media_type="application/json")

    async def catalogue(request: Request):
        product = sim.products.get(request.path_params["product"])
        if product is None:
            return _error(404, f"no product {request.path_params['product']}", products=sorted(sim.products))
        return JSONResponse([entry.as_dict() for entry in product.catalogue.values()])

    async def report(request: Request):
        from starlette.concurrency import run_in_threadpool

        from simulator.core.report import Observed, report_from
        from simulator.core.report.settings import ReportSettings
        from simulator.core.report.text import render

        q = request.query_params
        unknown = sorted(set(q) - set(ReportSettings.names()) - {"format"})
        if unknown:
            return _error(400, f"no report setting {', '.join(unknown)}", settings=list(ReportSettings.names()))
        try:
            settings = ReportSettings.from_sources(ReportSettings.from_environment(), q)
        except ValueError as problem:
            return _error(400, str(problem))
        # a snapshot here, the work in a thread: a long journal does not hold up the requests meanwhile
        built = await run_in_threadpool(report_from, Observed(sim), settings)
        if q.get("format") == "text":
            return PlainTextResponse(render(built))
        return JSONResponse(built)

    async def not_found(request: Request, exc):
        return _error(exc.status_code, f"no admin call {request.method} {request.url.path}")

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
        *live_routes(sim, _error, _refused),
    ]
    return with_page(Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}))
