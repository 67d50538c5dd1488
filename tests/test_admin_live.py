"""What the page reads from the admin API: the event stream, recipes, one-time rules, located problems."""

import asyncio
import json
import time

import httpx
import pytest

from huawei_signing import signed_headers
from simulator.core.world.events import Events
from voice_helpers import Receiver, b64, call_verify, freeze_clock, verify_body

SEND = "/v2/servicerequest/verifycodes/send"


def send(client, contact_value):
    raw = json.dumps({"contact_value": contact_value, "contact_way": 0, "area_code": "86"}).encode()
    return client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw))


def read_events(lines, until: str, limit_s: float = 5.0) -> list[tuple[str, dict]]:
    """(event, data) pairs read from an event stream's lines up to the first event named `until`."""
    found, kind = [], None
    deadline = time.monotonic() + limit_s
    for line in lines:
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: "):
            found.append((kind, json.loads(line[len("data: "):])))
            if kind == until:
                return found
        assert time.monotonic() < deadline, f"no {until} event within {limit_s}s: {found}"
    raise AssertionError(f"stream ended before {until}: {found}")


def test_the_event_stream_carries_sends_requests_and_clock_moves_as_they_happen(live, sim):
    assert not sim.world.events.listening
    with httpx.Client(base_url=live.url, timeout=10) as client, \
            client.stream("GET", "/__otpsim/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        [(kind, hello)] = read_events(lines, "hello")
        assert hello["clock"]["mode"] == "real" and hello["scenario"] == "default"
        assert sim.world.events.listening
        sent_at = time.monotonic()
        with httpx.Client(base_url=live.url, timeout=10) as sender:
            assert send(sender, "13800000009").status_code == 200
            seen = read_events(lines, "journal")
            assert time.monotonic() - sent_at < 3.0   # pushed as it happens (a second; margin for a loaded machine)
            [message] = [data for kind, data in seen if kind == "outbox"]
            assert message["to"] == "13800000009" and len(message["code"]) == 6
            assert sender.get("/__otpsim/outbox/latest", params={"to": "13800000009"}).json() == message
            entry = seen[-1][1]
            assert entry["operation"] == "osm.SendVerifyCodes" and entry["headers"]["authorization"] == "***"
            sender.post("/__otpsim/clock", json={"set": "2030-01-01T00:00:00Z"})
            clock = [data for kind, data in read_events(lines, "clock") if kind == "clock"][-1]
            assert clock["now"].startswith("2030-01-01T00:00:00")
    deadline = time.monotonic() + 5
    while sim.world.events.listening:   # the stream closed: the subscriber is gone
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_slow_listener_keeps_only_the_newest_events_and_learns_how_many_it_missed():
    async def scenario():
        events = Events(capacity=3)
        subscription = events.subscribe()
        for n in range(5):
            events.publish("outbox", {"n": n})
        batch, missed = await subscription.take(timeout=0.1)
        assert [json.loads(data)["n"] for _, _, data in batch] == [2, 3, 4] and missed == 2
        assert await subscription.take(timeout=0.01) == ([], 0)
        subscription.close()
        assert not events.listening
    asyncio.run(scenario())


def test_deliveries_show_on_the_stream_with_their_signature_masked(live, sim):
    with Receiver() as receiver, httpx.Client(base_url=live.url, timeout=10) as client:
        freeze_clock(client)
        body = verify_body(statusUrl=b64(f"{receiver.url}/status"))
        session_id = call_verify(client, body).json()["sessionId"]
        client.post("/__otpsim/clock", json={"advance": 0})
        masked = client.get("/__otpsim/callbacks", params={"masked": "true"}).json()
        assert masked and all(d["headers"]["X-AKSK"] == "***" for d in masked)
        assert masked[0]["subjects"] == [session_id]
        assert masked[0]["attempts"][0]["status"] == 200 and masked[0]["attempts"][0]["latency_ms"] >= 0
        assert client.get("/__otpsim/callbacks").json()[0]["headers"]["X-AKSK"] == "***"   # issue 15: masked always


def test_recipes_lists_the_packaged_scenarios_with_their_text(client):
    recipes = {r["name"]: r for r in client.get("/__otpsim/recipes").json()}
    assert "busy-callee" in recipes and "voice calls" in recipes["busy-callee"]["description"]
    assert client.put("/__otpsim/scenario", content=recipes["busy-callee"]["text"].encode()).status_code == 200
    assert client.get("/__otpsim/scenario").json()["name"] == "busy-callee"


def test_a_one_time_rule_answers_the_next_matching_request_only(client):
    added = client.post("/__otpsim/scenario/rules", json={"match": {"operation": "osm.SendVerifyCodes"}, "times": 1,
                                                           "error": "OSM.0001"})
    assert added.status_code == 201
    first = send(client, "13800000001")
    assert first.status_code == 400 and first.json()["error_code"] == "OSM.0001"
    assert send(client, "13800000001").status_code == 200
    assert client.get("/__otpsim/outbox/latest", params={"to": "13800000001"}).status_code == 200
    rules = client.get("/__otpsim/scenario").json()["rules"]
    assert rules[0] == {"name": added.json()["name"], "match": {"operation": "osm.SendVerifyCodes"}, "times": 1,
                        "error": "OSM.0001"}


def test_a_one_time_rule_leaves_the_other_rules_counters_alone(client):
    recipe = "rules:\n  - {name: once, match: {operation: osm.SendVerifyCodes}, times: 1, error: OSM.0001}\n"
    assert client.put("/__otpsim/scenario", content=recipe.encode()).status_code == 200
    assert send(client, "13800000003").status_code == 400          # `once` answered
    added = client.post("/__otpsim/scenario/rules", json={"match": {"operation": "osm.CheckVerifyCodes"},
                                                         "times": 1, "error": "OSM.01010010"})
    assert added.status_code == 201
    assert send(client, "13800000004").status_code == 200          # `once` stays spent


def test_a_bad_rule_is_refused_with_its_problems_and_changes_nothing(client):
    before = client.get("/__otpsim/scenario").json()
    refused = client.post("/__otpsim/scenario/rules", json={"match": {"operation": "osm.SendVerifyCodes"}, "error": "NOPE"})
    assert refused.status_code == 400
    assert "NOPE" in refused.json()["located"][0]["message"]
    assert client.post("/__otpsim/scenario/rules", content=b"[1]").status_code == 400
    assert client.post("/__otpsim/scenario/rules", content=b"{").status_code == 400
    assert client.get("/__otpsim/scenario").json() == before


def test_a_refused_scenario_locates_each_problem_by_line_and_column(client):
    text = b"name: typo\nrules:\n  - match: {operation: osm.SendVerifyCode}\n    eror: OSM.0001\n"
    refused = client.put("/__otpsim/scenario", content=text).json()
    assert [(p["line"], p["column"]) for p in refused["located"]] == [(3, 24), (4, 5)]
    assert "did you mean 'osm.SendVerifyCodes'" in refused["located"][0]["message"]
    assert "did you mean 'error'" in refused["located"][1]["message"]
    syntax = client.put("/__otpsim/scenario", content=b"rules: [\n").json()
    assert syntax["located"][0]["line"] == 2
    assert client.get("/__otpsim/scenario").json()["name"] == "default"


def test_the_scenario_in_force_reads_as_yaml_that_saves_back_unchanged(client):
    text = client.get("/__otpsim/scenario", params={"format": "yaml"})
    assert text.headers["content-type"].startswith("application/yaml")
    before = client.get("/__otpsim/scenario").json()
    assert client.put("/__otpsim/scenario", content=text.content).status_code == 200
    assert client.get("/__otpsim/scenario").json() == before


def test_listings_take_a_limit_of_the_newest(client):
    for n in range(3):
        send(client, f"1380000010{n}")
    assert [m["to"] for m in client.get("/__otpsim/outbox", params={"limit": 2}).json()] == ["13800000101", "13800000102"]
    assert len(client.get("/__otpsim/journal", params={"limit": 1}).json()) == 1
    assert client.get("/__otpsim/outbox", params={"limit": 0}).json() == []
    assert client.get("/__otpsim/journal", params={"limit": "x"}).status_code == 400


def test_the_clock_goes_back_to_wall_time(client):
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2030-01-01T00:00:00Z"})
    state = client.post("/__otpsim/clock", json={"mode": "real", "set": "now"}).json()
    assert state["mode"] == "real" and abs(state["offset_s"]) < 5


def test_products_name_their_operations(client):
    products = {p["name"]: p for p in client.get("/__otpsim/products").json()}
    assert "osm.SendVerifyCodes" in products["osm"]["operations"] and "Voice" in products["voice"]["title"]


@pytest.mark.parametrize("path", ["/__otpsim/", "/__otpsim/page/app.js", "/__otpsim/page/app.css"])
def test_the_page_is_served_from_the_package_with_a_strict_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.content
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_the_page_lives_at_one_url(client):
    assert client.get("/__otpsim", follow_redirects=False).headers["location"].endswith("/__otpsim/")
    assert client.get("/__otpsim/page/nope.js").status_code == 404
