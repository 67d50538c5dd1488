"""Alibaba Cloud SMS authentication (dypns): the platform makes, sends and checks codes as documented;
a wrong code is Code OK with VerifyResult UNKNOWN; receipts; the official SDK through its HTTP proxy."""

import json
import re

import httpx
import pytest

from alibaba_signing import acs3, rpc
from alibaba_sms import (SIGNATURE_IDS, SIGNATURES, advance, call, freeze, query, receipt_receiver,
                         set_settings)

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

PHONE = "13800000010"
SIGN = "速通互联验证码"


def send(client, phone=PHONE, sign=acs3, template_param='{"code":"##code##","min":"5"}', **extra):
    params = {"PhoneNumber": phone, "SignName": SIGN, "TemplateCode": "100001", "TemplateParam": template_param,
              **{k: str(v) for k, v in extra.items()}}
    answer = call(client, "dypns", "SendSmsVerifyCode", params, sign)
    assert answer.status_code == 200, answer.text
    return answer.json()


def check(client, code, phone=PHONE, sign=acs3, **extra) -> str:
    params = {"PhoneNumber": phone, "VerifyCode": code, **{k: str(v) for k, v in extra.items()}}
    answer = call(client, "dypns", "CheckSmsVerifyCode", params, sign).json()
    assert (answer["Code"], answer["Success"]) == ("OK", True), answer
    return answer["Model"]["VerifyResult"]


def latest(client, phone=PHONE) -> dict:
    return client.get("/__otpsim/outbox/latest", params={"to": phone}).json()


@pytest.mark.parametrize("sign", [acs3, rpc], ids=["acs3", "rpc"])
def test_send_read_check_once(client, sign):
    answer = send(client, sign=sign, CodeLength=6, ReturnVerifyCode="True", OutId="order-1")
    assert (answer["Code"], answer["Message"], answer["Success"]) == ("OK", "成功", True)
    model = answer["Model"]
    assert model["BizId"].endswith("^0") and model["OutId"] == "order-1" and model["RequestId"] == answer["RequestId"]
    message = latest(client)
    assert message["code"] == model["VerifyCode"] and re.fullmatch(r"\d{6}", message["code"])
    assert message["text"] == f"【{SIGN}】您的验证码为{message['code']}，该验证码5分钟内有效，请勿泄漏于他人！"
    wrong = "000000" if message["code"] != "000000" else "111111"
    assert check(client, wrong, sign=sign) == "UNKNOWN"          # not an error
    assert check(client, message["code"], sign=sign) == "PASS"
    assert check(client, message["code"], sign=sign) == "UNKNOWN"  # a code is good once


def test_defaults_return_no_code_and_make_four_digits(client):
    answer = send(client)
    assert "VerifyCode" not in answer["Model"]
    assert re.fullmatch(r"\d{4}", latest(client)["code"])
    assert "VerifyCode" not in send(client, "13800000011", ReturnVerifyCode="false")["Model"]


@pytest.mark.parametrize("code_type, pattern", [
    (1, r"[0-9]{8}"), (2, r"[A-Z]{8}"), (3, r"[a-z]{8}"), (4, r"[A-Za-z]{8}"),
    (5, r"[0-9A-Z]{8}"), (6, r"[0-9a-z]{8}"), (7, r"[0-9A-Za-z]{8}"),
])
def test_code_type_and_length(client, code_type, pattern):
    code = send(client, CodeLength=8, CodeType=code_type, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    assert re.fullmatch(pattern, code)


def test_case_auth_policy(client):
    code = send(client, CodeLength=8, CodeType=2, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    assert check(client, code.lower(), CaseAuthPolicy=2) == "UNKNOWN"
    assert check(client, code.lower()) == "PASS"   # 1, the default, ignores case


def test_interval_is_biz_frequency_on_the_virtual_clock(client):
    freeze(client)
    send(client, Interval=120)
    refused = send(client, Interval=120)
    assert (refused["Code"], refused["Success"]) == ("biz.FREQUENCY", False) and "Model" not in refused
    assert send(client, "13800000011")["Code"] == "OK"   # another number
    assert send(client, SchemeName="other")["Code"] == "OK"   # another scheme
    advance(client, 119)
    assert send(client, Interval=120)["Code"] == "biz.FREQUENCY"
    advance(client, 1)
    assert send(client, Interval=120)["Code"] == "OK"


def test_valid_time_and_duplicate_policy(client):
    freeze(client)
    first = send(client, ValidTime=300, Interval=0, CodeLength=8, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    second = send(client, ValidTime=300, Interval=0, CodeLength=8, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    assert first != second
    assert check(client, first) == "UNKNOWN"    # 1, the default: the newest code replaces the others
    assert check(client, second) == "PASS"
    third = send(client, ValidTime=300, Interval=0, DuplicatePolicy=2, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    fourth = send(client, ValidTime=300, Interval=0, DuplicatePolicy=2, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    assert check(client, third) == "PASS" and check(client, fourth) == "PASS"   # 2: every unexpired one
    late = send(client, ValidTime=60, Interval=0, ReturnVerifyCode="True")["Model"]["VerifyCode"]
    advance(client, 60)
    assert check(client, late) == "UNKNOWN"


def test_scheme_names_and_literal_codes(client):
    code = send(client, SchemeName="login", ReturnVerifyCode="True")["Model"]["VerifyCode"]
    assert check(client, code) == "UNKNOWN"                     # the check must name the send's scheme
    assert check(client, code, SchemeName="login") == "PASS"
    literal = send(client, "13800000012", template_param='{"code":"2468"}', ReturnVerifyCode="True")
    assert literal["Model"]["VerifyCode"] == "2468" and latest(client, "13800000012")["code"] == "2468"
    assert check(client, "2468", phone="13800000012") == "UNKNOWN"   # sent as is, the platform cannot check it
    set_settings(client, "dypns", {"schemes": ["login"]})
    missing = send(client, "13800000013", SchemeName="signup")
    assert (missing["Code"], missing["Message"], missing["Success"]) == ("isv.VERIFY_SCHEME_NOT_EXIST", "认证方案不存在", False)


def test_business_errors_are_http_200(client):
    illegal = send(client, "1380000abcd")
    assert illegal == {"RequestId": illegal["RequestId"], "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                       "Message": "号码格式非法", "Success": False}
    assert send(client, CountryCode="852")["Code"] == "isv.INVALID_PARAMETERS"
    assert send(client, template_param="[1]")["Code"] == "isv.INVALID_PARAMETERS"
    bad_length = call(client, "dypns", "SendSmsVerifyCode", {"PhoneNumber": PHONE, "SignName": SIGN,
                                                             "TemplateCode": "1", "TemplateParam": "{}", "CodeLength": "9"})
    assert bad_length.status_code == 400 and bad_length.json()["Message"] == 'The specified parameter "CodeLength" is not valid.'
    assert client.get("/__otpsim/outbox").json() == []


def test_receipt_and_query_agree(client):
    freeze(client)
    with receipt_receiver() as receiver:
        set_settings(client, "dypns", {"receipt_url": f"{receiver.url}/verify-report"})
        biz = send(client, OutId="o-1")["Model"]["BizId"]
        before = query(client, "dypns", PHONE, biz)
        assert (before["Success"], before["TotalCount"], before["Model"][0]["SendStatus"]) == (True, 1, 1)
        advance(client, 5)
        (detail,) = query(client, "dypns", PHONE, biz)["Model"]
        assert (detail["SendStatus"], detail["ErrCode"], detail["OutId"]) == (3, "DELIVERED", "o-1")
    ((report,),) = [push["body"] for push in receiver.pushes]
    assert (report["biz_id"], report["out_id"], report["success"], report["phone_number"]) == (biz, "o-1", True, PHONE)
    (delivery,) = client.get("/__otpsim/callbacks", params={"kind": "dypns.report"}).json()
    assert delivery["state"] == "delivered"


def test_magic_numbers(client):
    freeze(client)
    limited = send(client, "13500000002")
    assert (limited["Code"], limited["Success"]) == ("biz.FREQUENCY", False)
    assert send(client, "13500000007")["Code"] == send(client, "13500000008")["Code"] == "OK"
    advance(client, 600)
    assert query(client, "dypns", "13500000007")["Model"][0]["ErrCode"] == "UNDELIV"
    assert query(client, "dypns", "13500000008")["Model"][0]["SendStatus"] == 1
    assert client.get("/__otpsim/outbox").json() == []


# --- the official SDK, unchanged but for its HTTP proxy (otpsim)

@pytest.mark.parametrize("options", SIGNATURES, ids=SIGNATURE_IDS)
def test_sdk_send_check_and_the_traps(live, sdk_config, options):
    from alibabacloud_dypnsapi20170525 import models
    from alibabacloud_dypnsapi20170525.client import Client
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = Client(sdk_config("dypns", **options))
    sent = client.send_sms_verify_code(models.SendSmsVerifyCodeRequest(
        phone_number=PHONE, sign_name=SIGN, template_code="100001", template_param='{"code":"##code##","min":"5"}',
        scheme_name="sim-scheme", code_length=6, code_type=1, valid_time=300, interval=60, duplicate_policy=1,
        return_verify_code=True, out_id="out-acs3", country_code="86"))
    assert sent.body.code == "OK" and sent.body.success is True
    code = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]
    assert code == sent.body.model.verify_code and len(code) == 6

    def checked(verify_code):
        return client.check_sms_verify_code(models.CheckSmsVerifyCodeRequest(
            phone_number=PHONE, verify_code=verify_code, scheme_name="sim-scheme", case_auth_policy=1,
            country_code="86")).body

    wrong = checked("000000" if code != "000000" else "111111")
    assert (wrong.code, wrong.model.verify_result) == ("OK", "UNKNOWN")     # no exception, no error code
    right = checked(code)
    assert (right.code, right.success, right.model.verify_result) == ("OK", True, "PASS")

    again = client.send_sms_verify_code(models.SendSmsVerifyCodeRequest(
        phone_number=PHONE, sign_name=SIGN, template_code="100001", template_param='{"code":"##code##"}',
        scheme_name="sim-scheme"))
    assert (again.body.code, again.body.success) == ("biz.FREQUENCY", False)
    illegal = client.send_sms_verify_code(models.SendSmsVerifyCodeRequest(
        phone_number="1380000abcd", sign_name=SIGN, template_code="100001", template_param='{"code":"##code##"}'))
    assert (illegal.body.code, illegal.body.success) == ("isv.MOBILE_NUMBER_ILLEGAL", False)

    with pytest.raises(ClientException) as wrong_secret:
        Client(sdk_config("dypns", secret="nope", **options)).check_sms_verify_code(
            models.CheckSmsVerifyCodeRequest(phone_number=PHONE, verify_code="1"))
    assert (wrong_secret.value.status_code, wrong_secret.value.code) == (400, "SignatureDoesNotMatch")
