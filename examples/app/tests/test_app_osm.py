"""Phone and e-mail verification through OSM and its official SDK."""

import pytest

from otp_app.errors import OtpError, RateLimited

PHONE = "13800000000"
OSM_DOWN = {"name": "osm-down", "rules": [{"match": {"operation": "osm.SendVerifyCodes"}, "error": "OSM.0004"}]}
# The rule `pytest --otpsim-report` suggested for the one OSM limit these tests never hit
GATEWAY_THROTTLED = {"name": "gateway-throttled", "rules": [
    {"name": "meet-APIGW.0308", "match": {"operation": "osm.SendVerifyCodes"}, "times": 1, "error": "APIGW.0308"}]}


def test_the_code_that_was_sent_verifies_once(otpsim, osm):
    osm.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    assert osm.check(PHONE, code)
    assert not osm.check(PHONE, code)


def test_an_email_address_gets_its_code_by_email(otpsim, osm):
    osm.send("user@example.com")
    message = otpsim.outbox.latest("user@example.com")
    assert message.channel == "email"
    assert osm.check("user@example.com", message.code)


def test_a_wrong_code_is_refused(otpsim, osm):
    osm.send(PHONE)
    sent = otpsim.outbox.latest(PHONE).code
    assert not osm.check(PHONE, "000000" if sent != "000000" else "111111")


def test_a_second_code_within_a_minute_is_refused_until_the_minute_has_passed(otpsim, osm):
    osm.send(PHONE)
    with pytest.raises(RateLimited) as limited:
        osm.send(PHONE)
    assert limited.value.code == "OSM.01010024"
    otpsim.clock.advance(60)
    osm.send(PHONE)
    assert len(otpsim.outbox.list(to=PHONE)) == 2


def test_a_code_expires_after_five_minutes(otpsim, osm):
    osm.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    otpsim.clock.advance(300)
    assert not osm.check(PHONE, code)


@pytest.mark.otpsim(scenario=["default", OSM_DOWN])
def test_an_osm_outage_reaches_the_app_as_the_documented_error(otpsim, osm):
    with pytest.raises(OtpError) as failed:
        osm.send(PHONE)
    assert failed.value.code == "OSM.0004"
    assert otpsim.outbox.list() == []


@pytest.mark.otpsim(scenario=["default", GATEWAY_THROTTLED])
def test_gateway_throttling_reaches_the_app_as_a_rate_limit(otpsim, osm):
    with pytest.raises(RateLimited) as limited:
        osm.send(PHONE)
    assert limited.value.code == "APIGW.0308"
    otpsim.clock.advance(1)   # the gateway's window; then the code goes out
    osm.send(PHONE)
    assert len(otpsim.outbox.list(to=PHONE)) == 1
