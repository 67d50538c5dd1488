"""The admin calls a live client (the page) adds: the event stream, products, recipes, one rule at once."""

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

import yaml

from simulator import __version__
from simulator.core.packaged import packaged
from simulator.core.scenario_format import ScenarioError
from simulator.core.serving.event_stream import event_stream

RECIPES = "recipes"


def recipes() -> list[dict]:
    """The packaged scenario recipes: name, description and text of each."""
    found = []
    for path in sorted((packaged("scenarios") / RECIPES).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text) or {}
        found.append({"name": path.stem, "description": document.get("description", ""), "text": text})
    return found


def live_routes(sim, error, refused) -> list[Route]:
    """`error(status, message)` and `refused(ScenarioError, message)` answer as the rest of the admin API does."""
    world = sim.world

    async def events(request: Request):
        hello = {"version": __version__, "clock": world.clock.describe(), "scenario": world.scenario.name}
        return StreamingResponse(event_stream(world.events, hello), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def products(request: Request):
        return JSONResponse([
            {"name": name, "title": product.document.get("info", {}).get("title", name),
             "operations": [op.qualified for op in product.operations]}
            for name, product in sorted(sim.products.items())
        ])

    async def packaged_recipes(request: Request):
        return JSONResponse(recipes())

    async def scenario_rules(request: Request):
        """One rule put before all others, at once; the scenario's other rules keep their counters."""
        try:
            rule = await request.json()
        except ValueError:
            return error(400, "body must be a JSON scenario rule, e.g. "
                              '{"match": {"operation": "osm.SendVerifyCodes"}, "times": 1, "error": "OSM.0001"}')
        if not isinstance(rule, dict):
            return error(400, "body must be a JSON object: one scenario rule")
        rule = {"name": f"added-{len(world.scenario.rules) + 1}", **rule}
        try:
            sim.scenario_format.load(json.dumps({"rules": [rule]}, indent=2, ensure_ascii=False), source="rule")
        except ScenarioError as problem:
            return refused(problem, "rule refused; the scenario is unchanged")
        world.scenario.prepend(rule)
        world.scenario_changed()
        return JSONResponse(rule, status_code=201)

    return [
        Route("/__otpsim/events", events),
        Route("/__otpsim/products", products),
        Route("/__otpsim/recipes", packaged_recipes),
        Route("/__otpsim/scenario/rules", scenario_rules, methods=["POST"]),
    ]
