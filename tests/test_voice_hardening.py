"""Issue 15: a voice call that fails after taking its port frees it; `times` takes integers only."""

import asyncio

import httpx
import pytest

from simulator.embedded import ThreadServer as LiveServer
from hardening import assert_still_serving, state_before
from simulator.core.world.callbacks import Callbacks
from simulator.core.world.log import MemoryLog
from voice_helpers import b64, call_verify, freeze_clock, use_scenario, verify_body


def test_times_2_0_is_an_invalid_parameter_and_no_port_leaks(client):
    freeze_clock(client)
    use_scenario(client, settings={"voice_ports": 2})
    for _ in range(5):
        refused = call_verify(client, verify_body(times=2.0))
        assert refused.json() == {"resultcode": "1020001", "resultdesc": "Parameter error.", "sessionId": ""}
    for callee in ("+8613800000031", "+8613800000032"):    # both ports are free
        assert call_verify(client, verify_body(callee, times=2)).json()["resultcode"] == "0"
    assert client.get("/__otpsim/outbox", params={"channel": "voice"}).json()[0]["text"].count("123456") == 2


def test_a_call_that_fails_after_taking_its_port_frees_it(client, sim, monkeypatch):
    freeze_clock(client)
    use_scenario(client, settings={"voice_ports": 1})

    def broken_outbox(*args):
        raise RuntimeError("the outbox failed")

    with monkeypatch.context() as patched:
        patched.setattr(sim.world.outbox, "send", broken_outbox)
        for _ in range(3):
            assert call_verify(client, verify_body()).status_code == 500
    assert call_verify(client, verify_body()).json()["resultcode"] == "0"     # the one port is free
    assert call_verify(client, verify_body("+8613800000033")).json()["resultcode"] == "1020154"


def test_a_scenario_push_url_into_the_admin_api_is_refused_at_load(client):
    code = state_before(client)
    app = {"app_key": "k", "app_secret": "s", "status_url": "http://127.0.0.1:1/__otpsim/reset"}
    refused = client.put("/__otpsim/scenario", json={"name": "evil", "credentials": {"voice_apps": [app]}})
    assert refused.status_code == 400
    assert any("a push may not target the admin API (/__otpsim)" in p for p in refused.json()["problems"])
    assert_still_serving(client, code)


def test_a_call_verify_push_url_into_the_admin_api_is_a_parameter_error(client):
    code = state_before(client)
    freeze_clock(client)
    answer = call_verify(client, verify_body(statusUrl=b64("http://127.0.0.1:1/__otpsim/reset")))
    assert answer.json()["resultcode"] == "1020001"      # `_` is not a character the vendor allows
    assert_still_serving(client, code)


@pytest.mark.parametrize("path", ["/__otpsim/reset", "/%5F%5Fotpsim/reset", "//__otpsim/./reset", "/x/../__otpsim/reset"])
def test_a_push_into_the_admin_api_is_dropped_and_nothing_is_reset(sim, path):
    world = sim.world
    with LiveServer(sim) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        host = f"127.0.0.1:{server.port}"
        code = state_before(client, host)
        callbacks = Callbacks(world.clock, world.scheduler, MemoryLog(10))   # pushes from this thread

        async def push():
            delivery = await callbacks.record("test.push", f"{server.url}{path}", {"x": 1}, {})
            await callbacks.send(delivery)
            return delivery
        delivery = asyncio.run(push())
        assert delivery.state == "dropped"
        assert "may not target the admin API" in delivery.attempts[0]["dropped"]
        assert_still_serving(client, code, host)
