"""Issue 15: the admin API refuses hostile or mistaken calls with a clear 4xx and loses nothing."""

import threading

import httpx
import pytest

from hardening import assert_still_serving, send_code, state_before
from simulator.core.compose import create_simulator
from simulator.core.serving.admin import AdminSettings
from simulator.embedded import ThreadServer


@pytest.mark.parametrize("command", [
    b'{"advance": NaN}', b'{"advance": "nan"}', b'{"advance": Infinity}', b'{"advance": "inf"}',
    b'{"advance": 1e18}', b'{"advance": 1e300}', b'{"advance": true}', b'{"set": "9999-12-31T23:59:59Z"}',
    b'{"set": "0001-01-01T00:00:00Z"}', b'{"mode": "manual", "set": "2030-01-01T00:00:00Z", "advance": 1e12}',
])
def test_a_clock_command_out_of_range_is_refused_and_the_clock_keeps_working(client, command):
    code = state_before(client)
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2040-01-01T00:00:00Z"})
    refused = client.post("/__otpsim/clock", content=command, headers={"content-type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]
    clock = client.get("/__otpsim/clock").json()
    assert clock["mode"] == "manual" and clock["now"].startswith("2040-01-01T00:00:00")
    assert client.post("/__otpsim/clock", json={"advance": 60}).json()["now"].startswith("2040-01-01T00:01:00")
    assert_still_serving(client, code)
    assert client.post("/__otpsim/reset").status_code == 200


def test_the_clock_goes_back_to_wall_time(client):
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2040-01-01T00:00:00Z"})
    back = client.post("/__otpsim/clock", json={"mode": "real", "set": "now"}).json()
    assert back["mode"] == "real" and abs(back["offset_s"]) < 5


def test_deeply_nested_json_to_the_clock_is_a_400(client):
    code = state_before(client)
    refused = client.post("/__otpsim/clock", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert refused.status_code == 400 and refused.json()["error"].startswith("body must be JSON")
    assert_still_serving(client, code)


def test_unknown_admin_keys_are_refused_by_name(client):
    code = state_before(client)
    refused = client.post("/__otpsim/clock", json={"advanse": 5})
    assert refused.status_code == 400
    assert refused.json()["error"] == "unknown key 'advanse'; known: mode, set, advance"
    refused = client.get("/__otpsim/outbox", params={"too": "1"})
    assert refused.status_code == 400 and "unknown query parameter too" in refused.json()["error"]
    assert_still_serving(client, code)


def test_an_admin_body_over_the_limit_is_a_413(client):
    code = state_before(client)
    refused = client.put("/__otpsim/scenario", content=b"#" * ((1 << 20) + 1))
    assert refused.status_code == 413 and "larger than 1048576 bytes" in refused.json()["error"]
    assert client.get("/__otpsim/scenario").json()["name"] == "default"
    assert_still_serving(client, code)


def test_an_empty_scenario_body_is_refused_not_taken_as_the_default(client):
    code = state_before(client)
    assert client.put("/__otpsim/scenario", content=b"name: mine\n").status_code == 200
    refused = client.put("/__otpsim/scenario", content=b"  \n")
    assert refused.status_code == 400 and refused.json()["error"].startswith("empty body")
    assert client.get("/__otpsim/scenario").json()["name"] == "mine"
    assert_still_serving(client, code)


def test_journal_of_an_unknown_product_is_a_400_naming_the_known_ones(client):
    code = state_before(client)
    refused = client.get("/__otpsim/journal", params={"product": "nope"})
    assert refused.status_code == 400 and refused.json()["error"] == "no product 'nope'"
    assert "osm" in refused.json()["products"]
    assert_still_serving(client, code)


def test_an_unencoded_plus_in_to_finds_the_message(client):
    assert send_code(client, "+8613800000017").status_code == 200
    raw = client.get("/__otpsim/outbox/latest?to=+8613800000017")   # `+` read as a space by the query parser
    assert raw.status_code == 200 and raw.json()["to"] == "+8613800000017"
    assert client.get("/__otpsim/outbox?to=+8613800000017").json()[0]["to"] == "+8613800000017"


RULE = {"match": {"operation": "osm.SendVerifyCodes"}, "times": 1, "error": "OSM.0001"}


@pytest.mark.parametrize("attack, status, problem", [
    (b"{" * 10 + b'"match": {}}' + b"#" * (1 << 20), 413, "larger than 1048576 bytes"),
    (b'{"match": {"operation": "osm.SendVerifyCodes"}, "delay_ms": NaN}', 400, "body must be JSON"),
    (b"[" * 100_000, 400, "body must be JSON"),
    (b"", 400, "body must be JSON"),
    (b"{}", 400, "body must be a JSON object"),
])
def test_a_one_time_rule_goes_through_the_admin_body_checks(client, attack, status, problem):
    code = state_before(client)
    before = client.get("/__otpsim/scenario").json()
    refused = client.post("/__otpsim/scenario/rules", content=attack, headers={"content-type": "application/json"})
    assert refused.status_code == status and problem in refused.json()["error"], refused.text
    assert client.get("/__otpsim/scenario").json() == before
    assert_still_serving(client, code)


def test_a_one_time_rule_with_an_unknown_key_is_refused_by_name(client):
    code = state_before(client)
    before = client.get("/__otpsim/scenario").json()
    refused = client.post("/__otpsim/scenario/rules", json={**RULE, "tims": 2})
    assert refused.status_code == 400 and refused.json()["error"] == "rule refused; the scenario is unchanged"
    assert "unknown key 'tims' (did you mean 'times'?)" in refused.json()["located"][0]["message"]
    assert client.get("/__otpsim/scenario").json() == before
    assert_still_serving(client, code)


@pytest.mark.parametrize("method, path", [
    ("GET", "/__otpsim/events"), ("GET", "/__otpsim/products"), ("GET", "/__otpsim/recipes"),
    ("POST", "/__otpsim/scenario/rules"),
])
def test_the_live_calls_name_an_unknown_query_parameter(client, method, path):
    before = client.get("/__otpsim/scenario").json()
    refused = client.request(method, path, params={"too": "1"}, json=RULE if method == "POST" else None)
    assert refused.status_code == 400 and "unknown query parameter too; this call takes none" in refused.json()["error"]
    assert client.get("/__otpsim/scenario").json() == before


def test_a_rule_or_scenario_read_past_its_time_bound_is_refused_while_otpsim_serves(monkeypatch):
    sim = create_simulator(admin=AdminSettings(scenario_timeout_s=0.3))
    release, load = threading.Event(), sim.scenario_format.load

    def stuck(text, source="scenario", **options):   # a check that runs long, as 1,000 heavy rules can
        release.wait(30)
        return load(text, source, **options)

    monkeypatch.setattr(sim.scenario_format, "load", stuck)
    with ThreadServer(sim) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        host = f"127.0.0.1:{server.port}"
        code = state_before(client, host)
        before = client.get("/__otpsim/scenario").json()
        refused = client.post("/__otpsim/scenario/rules", json=RULE)
        assert refused.status_code == 400
        assert refused.json()["error"] == ("rule refused: not read and checked within 0.3s (too large?); "
                                           "the scenario is unchanged")
        assert_still_serving(client, code, host)               # the read still runs, off the event loop
        refused = client.put("/__otpsim/scenario", content=b"name: late\n")   # waits its turn, in the bound
        assert refused.status_code == 400 and refused.json()["error"].startswith("scenario refused: not read")
        release.set()
        assert client.get("/__otpsim/scenario").json() == before               # nothing late got applied
        assert client.post("/__otpsim/scenario/rules", json=RULE).status_code == 201
        assert send_code(client, "13800000018", host).json()["error_code"] == "OSM.0001"
