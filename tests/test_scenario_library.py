"""scenarios/: every catalogue code of every loaded product is reachable through scenarios/errors/,
and every recipe of docs/scenarios.md is a file that `otpsim check` accepts and the server plays."""

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from conftest import LiveServer
from huawei_signing import signed_headers
from simulator.core.cli import create_simulator, main

ROOT = Path(__file__).resolve().parents[1]
ERRORS = sorted((ROOT / "scenarios" / "errors").glob("*.yaml"))
RECIPES = ROOT / "scenarios" / "recipes"
SEND = "/v2/servicerequest/verifycodes/send"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _nested(dotted: dict) -> dict:
    body: dict = {}
    for path, value in dotted.items():
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return body


def request_for(operation, match: dict) -> dict:
    """The request a rule's exact-value match describes, for httpx."""
    headers = {name: str(value) for name, value in (match.get("headers") or {}).items()}
    if operation.rpc_action:
        headers["x-acs-action"] = operation.rpc_action
    request = {"method": operation.method, "url": re.sub(r"\{[^}]+\}", "x", operation.path),
               "headers": headers, "params": match.get("query") or {}}
    if match.get("body"):
        request["json"] = _nested(match["body"])
    return request


def expected_body(product, entry, request_id: str, host: str):
    """The catalogue entry in its envelope, filled in straight from the spec."""
    values = {**entry.fields, "code": entry.code, "request_id": request_id, "host": host}
    values["message"] = PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), entry.message)

    def fill(template):
        if isinstance(template, str):
            return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)
        if isinstance(template, dict):
            return {k: fill(v) for k, v in template.items()}
        return [fill(v) for v in template] if isinstance(template, list) else template
    return fill(product.envelopes[entry.envelope]["body"])


def test_every_code_of_every_catalogue_is_answered_exactly_through_the_errors_library():
    sim = create_simulator(ERRORS)
    rules = {}
    for rule in sim.world.scenario.rules:
        if rule.error is not None and rule.match.operations:
            (operation,) = rule.match.operations
            rules.setdefault((operation.split(".")[0], rule.error), (operation, rule.spec["match"]))
    operations = {op.qualified: op for p in sim.products.values() for op in p.operations}
    unreachable = [f"{name}:{key}" for name, product in sim.products.items() for key in product.catalogue
                   if (name, key) not in rules]
    assert not unreachable, (
        f"no rule in scenarios/errors/ answers {unreachable}; make one with "
        "`otpsim catalogue-scenario OPERATION FIELD > scenarios/errors/PRODUCT.yaml`")
    host = "127.0.0.1:8080"
    with TestClient(sim, base_url=f"http://{host}") as client:
        for name, product in sim.products.items():
            for key, entry in product.catalogue.items():
                operation, match = rules[(name, key)]
                response = client.request(**request_for(operations[operation], match))
                request_id = sim.world.journal.list()[-1]["request_id"]
                assert response.status_code == entry.status, key
                assert response.json() == expected_body(product, entry, request_id, host), key
                for header, value in entry.headers.items():
                    assert response.headers[header] == str(value), key


def recipe(name: str) -> Path:
    return RECIPES / f"{name}.yaml"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_recipe_passes_check_and_is_printed_verbatim_in_the_docs(path, capsys):
    assert main(["check", str(path)]) == 0
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert f"```yaml\n# scenarios/recipes/{path.name}\n{path.read_text(encoding='utf-8')}```" in docs


def send(client, contact, host):
    """The status and vendor code a send gets, or "reset"."""
    raw = json.dumps({"contact_value": contact, "contact_way": 0, "area_code": "86"}).encode()
    try:
        response = client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw, host=host))
    except httpx.TransportError:
        return "reset"
    return response.status_code, response.json().get("error_code") if response.content else None


class Served:
    """A recipe served on a real socket, with a client for it."""

    def __init__(self, name):
        self.live = LiveServer(create_simulator([RECIPES / f"{name}.yaml"]))

    def __enter__(self):
        live = self.live.__enter__()
        self.client = httpx.Client(base_url=live.url)
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.live.__exit__(*exc)

    def send(self, contact="13800000000"):
        return send(self.client, contact, f"127.0.0.1:{self.live.port}")


def test_recipe_first_two_fail_then_succeed():
    with Served("first-two-fail") as served:
        assert [served.send(str(n)) for n in range(4)] == [(500, "OSM.0004"), (500, "OSM.0004"), (200, None), (200, None)]


def test_recipe_flaky_osm_resets_about_one_call_in_ten():
    with Served("flaky-osm") as served:
        outcomes = [served.send(str(n)) for n in range(60)]
        assert 1 <= outcomes.count("reset") <= 15
        assert outcomes.count((200, None)) == 60 - outcomes.count("reset")


def test_recipe_slow_network_delays_every_answer_and_trickles_its_body():
    with Served("slow-network") as served:
        assert [served.send(str(n)) for n in range(2)] == [(200, None), (200, None)]
        journal = served.client.get("/__otpsim/journal").json()
        assert all(entry["delay_ms"] > 0 and entry["fault"] == "slow_body" for entry in journal)
        assert all(entry["duration_ms"] >= entry["delay_ms"] + 300 for entry in journal)


def test_recipe_throttling_a_contact_and_then_the_gateway():
    with Served("throttling") as served:
        assert served.send("13800000000") == (200, None)
        assert served.send("13800000000") == (200, "OSM.01010024")
        assert served.send("13800000001") == (200, None)
        assert [served.send(str(n)) for n in range(2)] == [(429, "APIGW.0308")] * 2
