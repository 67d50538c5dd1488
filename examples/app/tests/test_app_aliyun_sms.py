"""Sign-up codes by SMS through Alibaba Cloud's official SDKs: the app's own code (Dysmsapi), the
platform's code (Dypnsapi), and the delivery receipts the app receives."""

from datetime import datetime, timedelta, timezone

import pytest

from otp_app.errors import OtpError, RateLimited

PHONE = "13800000001"


def beijing_date(otpsim) -> str:
    return otpsim.clock.read().now.astimezone(timezone(timedelta(hours=8))).strftime("%Y%m%d")


def test_the_code_the_app_sent_is_checked_once(otpsim, aliyun_sms):
    aliyun_sms.send(PHONE)
    message = otpsim.outbox.latest(PHONE)
    assert message.product == "dysms" and message.code in message.text
    assert aliyun_sms.check(PHONE, message.code)
    assert not aliyun_sms.check(PHONE, message.code)


def test_one_code_a_minute_per_number_then_the_clock_moves(otpsim, aliyun_sms):
    aliyun_sms.send(PHONE)
    with pytest.raises(RateLimited) as limited:   # HTTP 200 with another Code: the app must look
        aliyun_sms.send(PHONE)
    assert (limited.value.code, limited.value.message) == ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
    otpsim.clock.advance(60)
    aliyun_sms.send(PHONE)


def test_a_malformed_number_is_the_documented_business_error(aliyun_sms):
    with pytest.raises(OtpError) as refused:
        aliyun_sms.send("1380000abcd")
    assert (refused.value.code, refused.value.message) == ("isv.MOBILE_NUMBER_ILLEGAL", "1380000abcdinvalid mobile number")


def test_the_receipt_reaches_the_app_and_the_query_agrees(otpsim, aliyun_sms, sms_receipts):
    otpsim.scenario.load({"products": {"dysms": {"receipt_url": sms_receipts.url}}})
    otpsim.clock.set_mode("manual")
    aliyun_sms.send(PHONE)
    assert aliyun_sms.delivery(PHONE, beijing_date(otpsim)) == "waiting"
    otpsim.clock.advance(5)
    (report,) = sms_receipts.reports
    assert (report["phone_number"], report["success"], report["err_code"]) == (PHONE, True, "DELIVERED")
    assert report["biz_id"] == aliyun_sms.sent[PHONE]
    assert aliyun_sms.delivery(PHONE, beijing_date(otpsim)) == "delivered"


def test_a_number_that_never_gets_the_sms(otpsim, aliyun_sms):
    otpsim.clock.set_mode("manual")
    aliyun_sms.send("13500000007")     # a magic number of the default scenario: fails with UNDELIV
    otpsim.clock.advance(60)
    assert aliyun_sms.delivery("13500000007", beijing_date(otpsim)) == "failed"
    assert otpsim.outbox.list(to="13500000007") == []


def test_the_platform_makes_and_checks_the_code(otpsim, aliyun_auth):
    aliyun_auth.send(PHONE)
    code = otpsim.outbox.latest(PHONE).code
    assert not aliyun_auth.check(PHONE, "000000" if code != "000000" else "111111")   # Code OK, UNKNOWN
    assert aliyun_auth.check(PHONE, code)
    with pytest.raises(RateLimited) as limited:
        aliyun_auth.send(PHONE)
    assert limited.value.code == "biz.FREQUENCY"
