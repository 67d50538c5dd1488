"""The admin calls a live client (the page) adds: the event stream, products, recipes, one rule at once."""

from functools import partial

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from simulator import __version__
from simulator.core.packaged import packaged
from simulator.core.serving.admin_input import ScenarioReading, json_object, query
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


def live_routes(sim, max_body: int, reading: ScenarioReading) -> list[Route]:
    """The calls take what they are sent as the rest of the admin API does (admin_input): `max_body`
    bounds a rule, and `reading` reads and checks it off the event loop, one scenario text at a time."""
    world = sim.world

    async def events(request: Request):
        query(request, ())
        hello = {"version": __version__, "clock": world.clock.describe(), "scenario": world.scenario.name}
        return StreamingResponse(event_stream(world.events, hello), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def products(request: Request):
        query(request, ())
        return JSONResponse([
            {"name": name, "title": product.document.get("info", {}).get("title", name),
             "operations": [op.qualified for op in product.operations]}
            for name, product in sorted(sim.products.items())
        ])

    async def packaged_recipes(request: Request):
        query(request, ())
        return JSONResponse(recipes())

    async def scenario_rules(request: Request):
        """One rule put before all others, at once; the scenario's other rules keep their counters."""
        query(request, ())
        rule = await json_object(request, max_body, 'one scenario rule, e.g. {"match": {"operation": '
                                                    '"osm.SendVerifyCodes"}, "times": 1, "error": "OSM.0001"}')
        text = orjson.dumps({"rules": [rule]}, option=orjson.OPT_INDENT_2).decode()
        await reading.read(partial(sim.scenario_format.load, keep=False), text, "rule", "rule",
                           "the scenario is unchanged")
        rule = {"name": f"added-{len(world.scenario.rules) + 1}", **rule}   # named after the wait: rules added at once differ
        await world.prepend_rule(rule)
        return JSONResponse(rule, status_code=201)

    return [
        Route("/__otpsim/events", events),
        Route("/__otpsim/products", products),
        Route("/__otpsim/recipes", packaged_recipes),
        Route("/__otpsim/scenario/rules", scenario_rules, methods=["POST"]),
    ]
