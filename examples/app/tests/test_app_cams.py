"""Proving a WhatsApp number is yours before migrating it, through CAMS and its official SDK."""

import pytest

from otp_app.errors import OtpError, RateLimited

PHONE = "8613800000000"
NOT_SUBSCRIBED = {"name": "not-subscribed",
                  "rules": [{"match": {"operation": "cams.GetMigrationVerifyCode"}, "error": "Product.Unsubscript"}]}


def test_the_code_that_was_sent_proves_the_number_once(otpsim, cams):
    cams.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    assert cams.check(PHONE, code)
    assert not cams.check(PHONE, code)


def test_a_code_by_voice_call(otpsim, cams):
    cams.send(PHONE, method="voice")
    message = otpsim.outbox.latest(PHONE)
    assert message.channel == "voice"
    assert cams.check(PHONE, message.code)


def test_a_second_code_within_a_minute_waits_for_the_clock(otpsim, cams):
    cams.send(PHONE)
    with pytest.raises(RateLimited) as limited:
        cams.send(PHONE)
    assert limited.value.code == "VerifyCode.TooFrequent"
    otpsim.clock.advance(60)
    cams.send(PHONE)
    assert cams.check(PHONE, otpsim.outbox.latest(PHONE).code)


@pytest.mark.otpsim(scenario=["default", NOT_SUBSCRIBED])
def test_an_unsubscribed_account_reaches_the_app_as_the_documented_error(cams):
    with pytest.raises(OtpError) as refused:
        cams.send(PHONE)
    assert refused.value.code == "Product.Unsubscript"
