"""scenarios/: every catalogue code of every loaded product is reachable through scenarios/errors/,
and every recipe of docs/scenarios.md is a file that `otpsim check` accepts and the server plays."""

import json
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from simulator.embedded import ThreadServer
from catalogue_requests import expected_body, request_for
from huawei_signing import signed_headers
from simulator.core.compose import create_simulator
from simulator.core.serving.cli import main
from voice_helpers import Receiver, advance, b64, call_verify, freeze_clock, verify_body

ROOT = Path(__file__).resolve().parents[1]
ERRORS = sorted((ROOT / "scenarios" / "errors").glob("*.yaml"))
RECIPES = ROOT / "scenarios" / "recipes"
SEND = "/v2/servicerequest/verifycodes/send"


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
                request_id = client.get("/__otpsim/journal", params={"limit": 1}).json()[-1]["request_id"]
                assert response.status_code == entry.status, key
                assert response.json() == expected_body(product, entry, request_id, host), key
                for header, value in entry.headers.items():
                    assert response.headers[header] == str(value), key


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
        self.live = ThreadServer(create_simulator([RECIPES / f"{name}.yaml"]))

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
        waited_s = []
        for n in range(2):
            started = time.monotonic()
            assert served.send(str(n)) == (200, None)
            waited_s.append(time.monotonic() - started)
        journal = served.client.get("/__otpsim/journal").json()
        assert all(entry["delay_ms"] > 0 and entry["fault"] == "slow_body" for entry in journal)
        # the delay is otpsim's time, then the body trickles for 300 ms to the client; uvloop's timers have
        # millisecond resolution: each sleep may end up to 1 ms early
        assert all(entry["duration_ms"] >= entry["delay_ms"] - 2 for entry in journal)
        assert all(waited >= (entry["delay_ms"] + 300 - 20) / 1000 for waited, entry in zip(waited_s, journal))


def test_recipe_throttling_a_contact_and_then_the_gateway():
    with Served("throttling") as served:
        assert served.send("13800000000") == (200, None)
        assert served.send("13800000000") == (200, "OSM.01010024")
        assert served.send("13800000001") == (200, None)
        assert [served.send(str(n)) for n in range(2)] == [(429, "APIGW.0308")] * 2


def test_recipe_busy_callee_is_busy_twice_then_answers():
    with Served("busy-callee") as served, Receiver() as receiver:
        freeze_clock(served.client)
        for _ in range(3):
            body = verify_body("+8613900000001", statusUrl=b64(f"{receiver.url}/status"))
            assert call_verify(served.client, body).json()["resultcode"] == "0"
            advance(served.client, 60)
        disconnects = [b["statusInfo"]["stateCode"] for b in receiver.bodies("/status") if b["eventType"] == "disconnect"]
        assert disconnects == [8102, 8102, 0]
        assert [m["to"] for m in served.client.get("/__otpsim/outbox").json()] == ["+8613900000001"]
