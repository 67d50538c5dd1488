"""One seed, one request sequence: the same codes, ids, fault decisions and delays, run after run."""

import json
from datetime import datetime, timezone

import pytest

import httpx

from simulator.embedded import ThreadServer
from huawei_signing import signed_headers
from simulator.core.compose import create_simulator

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SEND = "/v2/servicerequest/verifycodes/send"
CHECK = "/v2/servicerequest/verifycodes"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)

MIXED = """\
name: mixed
seed: 42
rules:
  - name: flaky-send
    match: {operation: osm.SendVerifyCodes}
    probability: 0.3
    fault: connection_reset
  - name: sometimes-down
    match: {operation: osm.CheckVerifyCodes}
    probability: 0.3
    error: OSM.0004
  - name: jittery
    match: {product: osm}
    probability: 0.6
    delay: {lognormal: {median: 3, p99: 30}}
"""


def play(live) -> dict:
    """A mixed sequence of sends, checks and listings; what the simulator recorded."""
    with httpx.Client(base_url=live.url, timeout=10) as client:
        client.post("/__otpsim/clock", json={"mode": "manual", "set": START.isoformat()})

        def post(path, body):
            raw = json.dumps(body).encode()
            headers = signed_headers("POST", path, raw, when=START)  # one Host for every run
            try:
                return client.post(path, content=raw, headers=headers).status_code
            except httpx.TransportError:
                return "reset"

        outcomes = []
        for n in range(12):
            contact = {"contact_value": f"1380000{n % 4:04d}", "contact_way": 0, "area_code": "86"}
            outcomes.append(post(SEND, contact))
            sent = client.get("/__otpsim/outbox/latest", params={"to": contact["contact_value"]})
            code = sent.json()["code"] if sent.status_code == 200 else "000000"
            outcomes.append(post(CHECK, {"verify_code": code, **contact}))
        listing = "contact_way=0"
        headers = signed_headers("GET", "/v2/servicerequest/verifycodes/has-verified", query=listing, when=START)
        outcomes.append(client.get(f"/v2/servicerequest/verifycodes/has-verified?{listing}", headers=headers).json())
        journal = [{k: v for k, v in entry.items() if k != "duration_ms"} for entry in client.get("/__otpsim/journal").json()]
        # wall-clock readings (how long an answer took, when a message was sent by the wall) are not the seed's
        outbox = [{k: v for k, v in message.items() if k != "sent_at_wall"} for message in client.get("/__otpsim/outbox").json()]
        return {"outcomes": outcomes, "journal": journal, "outbox": outbox}


def run(scenario_file, seed=None) -> dict:
    with ThreadServer(create_simulator([scenario_file], seed=seed)) as live:
        return play(live)


def test_same_seed_same_requests_same_everything(tmp_path):
    scenario = tmp_path / "mixed.yaml"
    scenario.write_text(MIXED)
    first, second = run(scenario), run(scenario)
    assert first == second
    # the sequence really was mixed: resets, forced errors, delays, sent codes and successes
    outcomes, journal = first["outcomes"], first["journal"]
    assert {"reset", 200, 500} <= set(outcomes[:-1])
    assert {"flaky-send", "jittery", "sometimes-down", None} <= {e["rule"] for e in journal}
    assert any(e["delay_ms"] for e in journal) and len(first["outbox"]) >= 3
    assert outcomes[-1]["count"] >= 1


def test_another_seed_gives_other_codes_and_decisions(tmp_path):
    scenario = tmp_path / "mixed.yaml"
    scenario.write_text(MIXED)
    assert run(scenario)["journal"] != run(scenario, seed=43)["journal"]
