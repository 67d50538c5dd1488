"""Issue 15: a voice call that fails after taking its port frees it; `times` takes integers only."""

from voice_helpers import call_verify, freeze_clock, use_scenario, verify_body


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
