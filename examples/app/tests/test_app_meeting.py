"""A Meeting member confirms a new phone number through the official SDK, which logs in over HTTPS."""

import pytest

from otp_app.errors import OtpError, RateLimited

pytestmark = pytest.mark.otpsim(tls=True)

PHONE = "+8613800000000"
TOKEN_REFUSED = {"name": "token-refused",
                 "rules": [{"match": {"operation": "meeting.SendVeriCodeForUpdateUserInfo"}, "error": "USG.000000004"}]}


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_the_code_that_was_sent_confirms_the_number(otpsim, meeting):
    meeting.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    assert not meeting.check(PHONE, other_than(code))
    assert meeting.check(PHONE, code)


def test_the_code_is_good_for_one_minute(otpsim, meeting):
    meeting.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    otpsim.clock.advance(60)
    assert not meeting.check(PHONE, code)


def test_five_tries_a_minute_then_the_member_must_wait(otpsim, meeting):
    meeting.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    for _ in range(5):
        assert not meeting.check(PHONE, other_than(code))
    with pytest.raises(RateLimited) as limited:
        meeting.check(PHONE, code)
    assert limited.value.code == "USG.000000012"
    otpsim.clock.advance(60)
    meeting.send(PHONE)
    assert meeting.check(PHONE, otpsim.outbox.latest(PHONE).code)


@pytest.mark.otpsim(scenario=["default", TOKEN_REFUSED])
def test_a_refused_token_reaches_the_app_as_the_documented_error(meeting):
    with pytest.raises(OtpError) as refused:
        meeting.send(PHONE)
    assert refused.value.code == "USG.000000004"
