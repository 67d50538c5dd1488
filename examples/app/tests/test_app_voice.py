"""A code read out in a phone call, and the call's events as the app's receiver gets them."""

import pytest

from otp_app.errors import OtpError, RateLimited

CALLEE = "+8613800000001"
BUSY = {"name": "busy", "rules": [{"match": {"operation": "voice.CallVerify"}, "call": {"outcome": "busy"}}]}
BLACKLISTED = {"name": "blacklisted", "rules": [{"match": {"operation": "voice.CallVerify"}, "error": "1013004"}]}
ONE_CALL_A_MINUTE = {"name": "one-call-a-minute", "products": {"voice": {"callee_calls_max": 1}}}


def test_the_callee_hears_the_code_and_the_app_follows_the_call(otpsim, voice, call_events):
    session = voice.call(CALLEE, "123456")
    heard = otpsim.outbox.latest(CALLEE)
    assert (heard.channel, heard.code) == ("voice", "123456")
    assert call_events.outcome(session) is None
    otpsim.clock.advance(60)   # the call plays out; the pushes now due are made before this returns
    assert call_events.events(session) == ["callout", "alerting", "answer", "disconnect"]
    assert call_events.outcome(session) == "answered"
    assert all(d.state == "delivered" for d in otpsim.callbacks(kind="voice.status"))


@pytest.mark.otpsim(scenario=["default", BUSY])
def test_a_busy_callee_hears_nothing_and_the_app_learns_why(otpsim, voice, call_events):
    session = voice.call(CALLEE, "123456")
    otpsim.clock.advance(60)
    assert call_events.events(session) == ["callout", "disconnect"]
    assert call_events.outcome(session) == "8102"
    assert otpsim.outbox.list(to=CALLEE) == []


@pytest.mark.otpsim(scenario=["default", ONE_CALL_A_MINUTE])
def test_a_second_call_to_one_number_waits_for_the_clock(otpsim, voice):
    voice.call(CALLEE, "123456")
    with pytest.raises(RateLimited) as limited:
        voice.call(CALLEE, "654321")
    assert limited.value.code == "1013117"
    otpsim.clock.advance(60)
    voice.call(CALLEE, "654321")
    assert otpsim.outbox.latest(CALLEE).code == "654321"


@pytest.mark.otpsim(scenario=["default", BLACKLISTED])
def test_a_blacklisted_callee_reaches_the_app_as_the_documented_error(voice):
    with pytest.raises(OtpError) as refused:
        voice.call(CALLEE, "123456")
    assert refused.value.code == "1013004"
