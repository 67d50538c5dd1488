"""SMS codes through Huawei Message & SMS and its official SDK, and the status reports the app receives."""

import pytest

from otp_app.errors import OtpError

PHONE = "+8613800000000"
REJECTED = "+8613500000007"     # a magic number of otpsim's default scenario: the carrier rejects it


def test_the_code_arrives_and_the_report_says_so(otpsim, sms, sms_reports):
    code, message_id = sms.send(PHONE)
    assert otpsim.outbox.latest(PHONE).code == code
    assert sms_reports.delivered(message_id) is None
    otpsim.clock.advance(5)   # the report is pushed before this returns
    assert sms_reports.delivered(message_id) is True


def test_a_rejected_sms_never_arrives_and_the_report_says_so(otpsim, sms, sms_reports):
    _, message_id = sms.send(REJECTED)
    otpsim.clock.advance(5)
    assert sms_reports.status[message_id] == "REJECTD"
    assert otpsim.outbox.list(to=REJECTED) == []


def test_a_malformed_number_reaches_the_app_as_the_platform_code(sms):
    with pytest.raises(OtpError) as refused:
        sms.send("+86 138 0000 0000")
    assert refused.value.code == "E000503"


@pytest.mark.otpsim(scenario=["default", {"name": "two-variables", "products": {"msgsms": {
    "templates": {"t-otp": "Your code: ${NUM_6}, valid ${NUM_2} minutes"}}}}])
def test_a_template_that_wants_other_parameters_refuses_every_number(sms):
    with pytest.raises(OtpError) as refused:
        sms.send(PHONE)
    assert refused.value.code == "E000510"
