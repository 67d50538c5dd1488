"""The admin API as a test uses it: outbox, long-poll, clock, journal, reset, scenario, bounds."""

import json
import threading
import time

import httpx
import pytest

from huawei_signing import signed_headers
from starlette.testclient import TestClient

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SEND = "/v2/servicerequest/verifycodes/send"


def send(client, contact_value, headers_extra=None):
    raw = json.dumps({"contact_value": contact_value, "contact_way": 0, "area_code": "86"}).encode()
    return client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw, extra=headers_extra))


def test_health(client):
    health = client.get("/__otpsim/health").json()
    assert health["status"] == "ok"
    assert "osm" in health["products"]


def test_outbox_filters_and_latest(client):
    send(client, "111")
    send(client, "222")
    assert [m["to"] for m in client.get("/__otpsim/outbox").json()] == ["111", "222"]
    assert [m["to"] for m in client.get("/__otpsim/outbox", params={"to": "222"}).json()] == ["222"]
    assert client.get("/__otpsim/outbox", params={"channel": "email"}).json() == []
    assert client.get("/__otpsim/outbox/latest", params={"to": "222"}).json()["to"] == "222"
    assert client.get("/__otpsim/outbox/latest", params={"to": "333"}).status_code == 404
    assert client.get("/__otpsim/outbox/latest").status_code == 400


def test_outbox_wait_returns_a_message_sent_while_waiting(live):
    result = {}

    def waiter():
        result["response"] = httpx.get(f"{live.url}/__otpsim/outbox/wait", params={"to": "444", "timeout": 5})

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    with httpx.Client(base_url=live.url) as client:
        send(client, "444")
    thread.join(10)
    assert result["response"].status_code == 200
    assert result["response"].json()["to"] == "444"


def test_outbox_wait_times_out_with_408(client):
    response = client.get("/__otpsim/outbox/wait", params={"to": "nobody", "timeout": 0.1})
    assert response.status_code == 408


def test_outbox_wait_since_waits_for_a_newer_message(live):
    with httpx.Client(base_url=live.url) as client:
        send(client, "555")
        first = client.get("/__otpsim/outbox/latest", params={"to": "555"}).json()
        assert client.get("/__otpsim/outbox/wait", params={"to": "555", "timeout": 0.1}).json()["id"] == first["id"]
        newer = client.get("/__otpsim/outbox/wait", params={"to": "555", "timeout": 0.2, "since": first["id"]})
        assert newer.status_code == 408


def test_clock_modes_set_and_advance(client):
    state = client.post("/__otpsim/clock", json={"mode": "manual", "set": "2030-01-01T00:00:00Z"}).json()
    assert state["mode"] == "manual" and state["now"].startswith("2030-01-01T00:00:00")
    state = client.post("/__otpsim/clock", json={"advance": 90}).json()
    assert state["now"].startswith("2030-01-01T00:01:30")
    assert client.get("/__otpsim/clock").json()["now"].startswith("2030-01-01T00:01:30")
    assert client.post("/__otpsim/clock", json={"advance": -1}).status_code == 400
    assert client.post("/__otpsim/clock", json={"set": "yesterday"}).status_code == 400
    assert client.post("/__otpsim/clock", content=b"{").status_code == 400
    assert client.post("/__otpsim/clock", json={"mode": "real"}).json()["mode"] == "real"


def test_journal_masks_secrets_and_records_codes(client):
    send(client, "666")
    client.post(SEND, content=b"{}", headers={"content-type": "application/json", "x-auth-token": "secret-token"})
    entries = client.get("/__otpsim/journal", params={"operation": "osm.SendVerifyCodes"}).json()
    assert [e["status"] for e in entries] == [200, 401]
    assert entries[1]["code"] == "APIGW.0301"
    assert entries[0]["headers"]["authorization"] == "***"
    assert entries[1]["headers"]["x-auth-token"] == "***"
    assert entries[0]["request_body"]["contact_value"] == "666"
    assert "secret-token" not in json.dumps(entries)


def test_a_request_is_in_the_journal_before_its_answer_starts(sim):
    """A test that has its answer finds the request in the journal, on Redis through any worker too."""
    journals_seen = []

    async def watching(scope, receive, send_on):
        async def look_then_send(message):
            if message["type"] == "http.response.start" and not scope["path"].startswith("/__otpsim"):
                journals_seen.append([entry["operation"] for entry in await sim.world.journal.list()])
            await send_on(message)
        await sim(scope, receive, look_then_send)

    with TestClient(watching, base_url="http://127.0.0.1:8080") as client:
        assert send(client, "901").status_code == 200
        assert send(client, "901").json()["error_code"] == "OSM.01010024"
    assert journals_seen == [["osm.SendVerifyCodes"], ["osm.SendVerifyCodes"] * 2]


def test_reset_forgets_state_but_keeps_the_scenario(client):
    send(client, "777")
    assert send(client, "777").json()["error_code"] == "OSM.01010024"
    client.post("/__otpsim/reset")
    assert client.get("/__otpsim/outbox").json() == []
    assert client.get("/__otpsim/journal").json() == []
    send(client, "778")
    assert client.get("/__otpsim/outbox").json()[0]["id"] == 1     # ids start over, too
    assert send(client, "777").status_code == 200 and send(client, "777").json()["error_code"] == "OSM.01010024"
    assert client.get("/__otpsim/scenario").json()["name"] == "default"


def test_a_bad_scenario_is_refused_and_the_old_one_stays(client):
    refused = client.put("/__otpsim/scenario", content=b"name: x\nrules:\n  - match: {operation: osm.Nope}\n")
    assert refused.status_code == 400
    assert any("osm.Nope" in p for p in refused.json()["problems"])
    assert client.get("/__otpsim/scenario").json()["name"] == "default"


def test_unknown_admin_call_is_a_clear_404(client):
    response = client.get("/__otpsim/nothing")
    assert response.status_code == 404
    assert "no admin call" in response.json()["error"]


