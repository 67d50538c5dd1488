"""simulator.client against a running otpsim: typed results and the errors a test author meets."""

import json
import threading
import time
from datetime import datetime, timezone

import httpx
import pytest

from huawei_signing import signed_headers
from simulator.client import (AdminCallFailed, NoMessage, OtpsimClient, ScenarioRefused, Unreachable)
from simulator.embedded import ThreadServer

SEND = "/v2/servicerequest/verifycodes/send"
FORCED_500 = {"name": "osm-down", "rules": [{"match": {"operation": "osm.SendVerifyCodes"}, "error": "OSM.0004"}]}


def send_code(otpsim, contact_value: str) -> httpx.Response:
    raw = json.dumps({"contact_value": contact_value, "contact_way": 0, "area_code": "86"}).encode()
    headers = signed_headers("POST", SEND, raw, host=f"127.0.0.1:{otpsim.port}")
    return httpx.post(otpsim.base_url + SEND, content=raw, headers=headers)


def test_health_names_the_products_and_the_scenario(otpsim):
    health = otpsim.health()
    assert health.status == "ok"
    assert "osm" in health.products
    assert health.scenario == "default"
    assert health.clock.mode == "real"


def test_outbox_gives_typed_messages(otpsim):
    send_code(otpsim, "13800000001")
    send_code(otpsim, "13800000002")
    latest = otpsim.outbox.latest("13800000002")
    assert latest.to == "13800000002" and latest.product == "osm" and latest.channel == "sms"
    assert len(latest.code) == 6 and latest.code in latest.text
    assert latest.sent_at.tzinfo is not None
    assert [m.to for m in otpsim.outbox.list()] == ["13800000001", "13800000002"]
    assert otpsim.outbox.list(channel="email") == []
    assert otpsim.outbox.list(since=latest) == []


def test_no_message_says_to_whom_and_how_long_it_waited(otpsim):
    with pytest.raises(NoMessage) as nothing:
        otpsim.outbox.latest("13800000003")
    assert nothing.value.to == "13800000003" and nothing.value.timeout is None
    started = time.monotonic()
    with pytest.raises(NoMessage, match=r"no message to '13800000003' within 0.2s") as waited:
        otpsim.outbox.wait("13800000003", timeout=0.2)
    assert waited.value.timeout == 0.2
    assert 0.2 <= time.monotonic() - started < 2


def test_wait_returns_the_message_sent_while_waiting_and_since_skips_older_ones(otpsim):
    send_code(otpsim, "13800000004")
    first = otpsim.outbox.wait("13800000004", timeout=1)
    otpsim.clock.advance(60)    # past the resend interval
    sender = threading.Timer(0.2, send_code, args=(otpsim, "13800000004"))
    sender.start()
    try:
        newer = otpsim.outbox.wait("13800000004", timeout=5, since=first)
    finally:
        sender.join()
    assert newer.id > first.id and newer.to == "13800000004"


def test_clock_reads_moves_sets_and_freezes(otpsim):
    frozen = otpsim.clock.set_mode("manual")
    assert frozen.mode == "manual"
    moved = otpsim.clock.advance(90)
    assert moved.epoch == pytest.approx(frozen.epoch + 90, abs=0.01)
    assert otpsim.clock.set(datetime(2030, 1, 1, tzinfo=timezone.utc)).now == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert otpsim.clock.set("2031-01-01T00:00:00Z").now.year == 2031
    assert otpsim.clock.read().now.year == 2031
    assert otpsim.clock.set_mode("real").mode == "real"
    assert otpsim.clock.read().now.year == 2031
    back = otpsim.clock.wall_time()
    assert back.mode == "real" and abs(back.offset_s) < 5
    with pytest.raises(AdminCallFailed, match="advance must not be negative") as refused:
        otpsim.clock.advance(-1)
    assert refused.value.status == 400


def test_scenario_loads_from_a_dict_yaml_text_a_file_or_a_packaged_name(otpsim, tmp_path):
    assert otpsim.scenario.load(FORCED_500)["name"] == "osm-down"
    assert send_code(otpsim, "13800000005").json()["error_code"] == "OSM.0004"
    assert otpsim.scenario.load("name: from-text\nrules: []\n")["name"] == "from-text"
    scenario_file = tmp_path / "mine.yaml"
    scenario_file.write_text("name: from-file\n")
    assert otpsim.scenario.load(scenario_file)["name"] == "from-file"
    assert otpsim.scenario.load("mine.yaml", base_dir=tmp_path)["name"] == "from-file"
    assert otpsim.scenario.load("default")["name"] == "default"
    assert otpsim.scenario.get()["name"] == "default"
    with pytest.raises(FileNotFoundError, match="packaged: .*default"):
        otpsim.scenario.load("no-such-scenario")


def test_a_refused_scenario_lists_its_problems_and_the_old_one_stays(otpsim):
    with pytest.raises(ScenarioRefused) as refused:
        otpsim.scenario.load({"name": "typo", "rules": [{"match": {"operation": "osm.SendVerifyCode"}}]})
    assert any("osm.SendVerifyCode" in problem for problem in refused.value.problems)
    assert otpsim.scenario.get()["name"] == "default"


def test_journal_records_typed_requests_and_answers(otpsim):
    send_code(otpsim, "13800000006")
    httpx.post(otpsim.base_url + SEND, json={"contact_value": "1"})
    sent, unsigned = otpsim.journal(operation="osm.SendVerifyCodes")
    assert (sent.status, sent.code) == (200, None)
    assert (unsigned.status, unsigned.code) == (401, "APIGW.0301")
    assert sent.headers["authorization"] == "***"
    assert sent.request_body["contact_value"] == "13800000006"
    with pytest.raises(AdminCallFailed, match="no product 'nothing'"):   # issue 15: a typo is not an empty journal
        otpsim.journal(product="nothing")


def test_reset_forgets_messages_and_requests(otpsim):
    send_code(otpsim, "13800000007")
    otpsim.reset()
    assert otpsim.outbox.list() == [] and otpsim.journal() == [] and otpsim.callbacks() == []


def test_catalogue_and_openapi_of_a_product(otpsim):
    entries = {entry.code: entry for entry in otpsim.catalogue("osm")}
    assert entries["OSM.01010024"].status == 200
    assert otpsim.openapi("osm")["openapi"].startswith("3.1")
    with pytest.raises(AdminCallFailed, match="no product nope") as unknown:
        otpsim.catalogue("nope")
    assert unknown.value.status == 404


def test_a_simulator_that_is_not_there_is_unreachable():
    server = ThreadServer(lambda scope, receive, send: None)
    url = server.url
    server.stop()      # bound, never served, now closed: nothing listens there
    with OtpsimClient(url, timeout=2) as client, pytest.raises(Unreachable, match=url):
        client.health()
