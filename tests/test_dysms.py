"""Alibaba Cloud SMS (dysms): sends, the business-error traps, the frequency ladder, receipts and the
query API on the virtual clock, and the official SDK unchanged but for its HTTP proxy."""

import json

import httpx
import pytest
from jsonschema import Draft202012Validator

from alibaba_signing import acs3, rpc
from alibaba_sms import (SIGNATURE_IDS, SIGNATURES, TAKEN, advance, call, freeze, query, receipt_receiver,
                         send_date, set_settings)
from simulator.core.spec import load_products
from voice_helpers import Receiver

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SIGN = "阿里云短信测试"
TEMPLATE = "SMS_154950909"
REPORT_SCHEMA = Draft202012Validator({"$ref": "#/components/schemas/SmsReport",
                                      "components": load_products()["dysms"].document["components"]})


def send(client, numbers="13800000001", code="1234", sign=acs3, **extra):
    params = {"PhoneNumbers": numbers, "SignName": SIGN, "TemplateCode": TEMPLATE,
              "TemplateParam": json.dumps({"code": code}), **extra}
    answer = call(client, "dysms", "SendSms", params, sign)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("sign", [acs3, rpc], ids=["acs3", "rpc"])
def test_send_lands_in_the_outbox_with_its_rendered_text(client, sign):
    answer = send(client, "13800000001,+8613800000002", sign=sign, OutId="order-7")
    assert answer["Code"] == "OK" and answer["Message"] == "OK" and answer["BizId"].endswith("^0")
    messages = client.get("/__otpsim/outbox", params={"product": "dysms"}).json()
    assert [(m["to"], m["code"]) for m in messages] == [("13800000001", "1234"), ("+8613800000002", "1234")]
    assert messages[0]["text"] == "【阿里云短信测试】您的验证码为1234，该验证码5分钟内有效，请勿泄漏于他人！"


def test_a_scenario_template_renders_the_text_and_requires_its_variables(client):
    set_settings(client, "dysms", {"templates": {TEMPLATE: "验证码${code}，${min}分钟内有效"}})
    assert send(client, TEMPLATE_PARAM := "13800000001")["Code"] == "isv.TEMPLATE_MISSING_PARAMETERS"
    params = {"PhoneNumbers": TEMPLATE_PARAM, "SignName": SIGN, "TemplateCode": TEMPLATE,
              "TemplateParam": json.dumps({"code": "9876", "min": "5"})}
    assert call(client, "dysms", "SendSms", params).json()["Code"] == "OK"
    assert client.get("/__otpsim/outbox/latest", params={"to": "13800000001"}).json()["text"] == \
        "【阿里云短信测试】验证码9876，5分钟内有效"


def test_business_errors_are_http_200_with_the_vendor_texts(client):
    bad = send(client, "1380000abcd")
    assert bad == {"RequestId": bad["RequestId"], "Code": "isv.MOBILE_NUMBER_ILLEGAL",
                   "Message": "1380000abcdinvalid mobile number"}
    assert send(client, "13800000001,1598072658")["Message"] == "1598072658invalid mobile number"
    assert send(client, code="12-34")["Message"] == "params must be [a-zA-Z0-9] for verification sms"
    params = {"PhoneNumbers": "13800000001", "SignName": SIGN, "TemplateCode": TEMPLATE, "TemplateParam": "{nope"}
    assert call(client, "dysms", "SendSms", params).json()["Code"] == "isv.INVALID_JSON_PARAM"
    assert send(client, ",".join(f"1380000{n:04d}" for n in range(1001)))["Code"] == "isv.MOBILE_COUNT_OVER_LIMIT"
    assert client.get("/__otpsim/outbox").json() == []


def test_missing_and_invalid_parameters_are_gateway_errors(client):
    missing = call(client, "dysms", "SendSms", {"SignName": SIGN, "TemplateCode": TEMPLATE})
    assert missing.status_code == 400 and missing.json()["Code"] == "MissingParameter"
    assert missing.json()["HostId"] == "dysmsapi.aliyuncs.com"
    assert "product=Dysmsapi" in missing.json()["Recommend"]
    big_page = call(client, "dysms", "QuerySendDetails",
                    {"PhoneNumber": "13800000001", "SendDate": "20260302", "PageSize": "51", "CurrentPage": "1"})
    assert big_page.status_code == 400 and big_page.json()["Message"] == 'The specified parameter "PageSize" is not valid.'


def test_frequency_ladder_per_number_and_signature_on_the_virtual_clock(client):
    freeze(client)
    codes = []
    for _ in range(3):  # within one minute: one passes
        codes.append(send(client)["Message"])
    assert codes == ["OK", "触发分钟级流控Permits:1", "触发分钟级流控Permits:1"]
    assert send(client, SignName="另一个签名")["Code"] == "OK"       # another signature has its own ladder
    assert send(client, "13800000002")["Code"] == "OK"             # and another number
    for _ in range(4):
        advance(client, 61)
        assert send(client)["Code"] == "OK"
    advance(client, 61)
    limited = send(client)
    assert (limited["Code"], limited["Message"]) == ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
    for _ in range(5):
        advance(client, 3601)
        assert send(client)["Code"] == "OK"
    advance(client, 3601)
    assert send(client)["Message"] == "触发天级流控Permits:10"
    advance(client, 86400)
    assert send(client)["Code"] == "OK"
    assert len(client.get("/__otpsim/outbox", params={"to": "13800000001"}).json()) == 12  # 11 + the other signature's


def test_the_ladder_is_a_setting(client):
    freeze(client)
    set_settings(client, "dysms", {"limit_per_minute": 2})
    assert [send(client)["Message"] for _ in range(3)] == ["OK", "OK", "触发分钟级流控Permits:2"]


def batch_form(numbers, codes):
    return {"PhoneNumberJson": json.dumps(numbers), "SignNameJson": json.dumps([SIGN] * len(numbers)),
            "TemplateParamJson": json.dumps([{"code": c} for c in codes])}


@pytest.mark.parametrize("sign", [acs3, rpc], ids=["acs3", "rpc"])
def test_batch_sends_one_message_per_number_from_a_signed_form_body(client, sign):
    answer = call(client, "dysms", "SendBatchSms", {"TemplateCode": TEMPLATE}, sign,
                  form=batch_form(["13800000002", "13800000003"], ["1111", "2222"]))
    assert answer.status_code == 200 and answer.json()["Code"] == "OK", answer.text
    messages = client.get("/__otpsim/outbox").json()
    assert [(m["to"], m["code"], m["operation"]) for m in messages] == [
        ("13800000002", "1111", "dysms.SendBatchSms"), ("13800000003", "2222", "dysms.SendBatchSms")]
    misaligned = call(client, "dysms", "SendBatchSms", {"TemplateCode": TEMPLATE}, sign,
                      form={**batch_form(["13800000004"], ["1"]), "SignNameJson": json.dumps([SIGN, SIGN])})
    assert misaligned.json()["Code"] == "isv.INVALID_JSON_PARAM"


def test_query_moves_from_waiting_to_delivered_and_the_receipt_ladder_ends_at_a_numeric_code(client):
    freeze(client)
    with Receiver() as receiver:
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/sms-report", "receipt_delay_s": 30})
        receiver.replies = [(500, b""), (200, b'{"msg": "no code"}'), (200, TAKEN)]
        biz = send(client, OutId="order-9")["BizId"]
        before = query(client, "dysms", "13800000001", biz)["SmsSendDetailDTOs"]["SmsSendDetailDTO"]
        assert [(d["SendStatus"], d["ErrCode"], d["ReceiveDate"]) for d in before] == [(1, "", "")]

        advance(client, 30)
        after = query(client, "dysms", "13800000001", biz)
        (detail,) = after["SmsSendDetailDTOs"]["SmsSendDetailDTO"]
        assert (after["TotalCount"], detail["SendStatus"], detail["ErrCode"], detail["OutId"]) == (1, 3, "DELIVERED", "order-9")
        assert detail["SendDate"] == "2026-03-02 09:00:00" and detail["ReceiveDate"] == "2026-03-02 09:00:30"
        assert len(receiver.pushes) == 1   # refused with a 500: retried in a minute
        advance(client, 59)
        assert len(receiver.pushes) == 1
        advance(client, 1)
        assert len(receiver.pushes) == 2   # 200 without a numeric code is a failed push too: +5 minutes
        advance(client, 300)
        assert len(receiver.pushes) == 3
        advance(client, 3600)
        assert len(receiver.pushes) == 3   # taken: no more retries

    (delivery,) = client.get("/__otpsim/callbacks", params={"kind": "dysms.report"}).json()
    assert delivery["state"] == "delivered" and [a.get("status") for a in delivery["attempts"]] == [500, 200, 200]
    assert delivery["attempts"][1]["refused"] == '{"msg": "no code"}'
    report = receiver.pushes[0]["body"]
    REPORT_SCHEMA.validate(report)
    assert report == [{"phone_number": "13800000001", "send_time": "2026-03-02 09:00:00",
                       "report_time": "2026-03-02 09:00:30", "success": True, "err_code": "DELIVERED",
                       "err_msg": "用户接收成功", "sms_size": "1", "biz_id": biz, "out_id": "order-9"}]
    assert all(push["body"] == report for push in receiver.pushes)


def test_a_push_never_taken_is_tried_four_times_then_given_up(client):
    freeze(client)
    with Receiver() as receiver:
        receiver.status["/r"] = 503
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r", "receipt_delay_s": 0})
        send(client)
        for seconds in (0, 60, 300, 600, 3600):
            advance(client, seconds)
    (delivery,) = client.get("/__otpsim/callbacks", params={"kind": "dysms.report"}).json()
    assert delivery["state"] == "failed" and len(delivery["attempts"]) == 4 == delivery["max_attempts"]


def test_reports_falling_due_together_share_one_push(client):
    freeze(client)
    with receipt_receiver() as receiver:
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r"})
        call(client, "dysms", "SendBatchSms", {"TemplateCode": TEMPLATE},
             form=batch_form(["13800000002", "13800000003", "13800000004"], ["1", "2", "3"]))
        advance(client, 5)
    (push,) = receiver.pushes
    assert [r["phone_number"] for r in push["body"]] == ["13800000002", "13800000003", "13800000004"]
    assert len({r["biz_id"] for r in push["body"]}) == 1


def test_scenario_rules_choose_each_numbers_fate(client):
    freeze(client)
    rules = [{"match": {"product": "dysms"}, "receipts": [
        {"to": "13900000001", "outcome": "failed", "code": "IC:0001", "description": "空号", "fields": {"sms_size": 2}},
        {"to": {"regex": "^1390000000[2-3]$"}, "delay_s": 600},
        {"to": "13900000004", "outcome": "never"},
    ]}]
    numbers = ["13900000001", "13900000002", "13900000003", "13900000004", "13900000005"]
    with receipt_receiver() as receiver:
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r"}, rules)
        assert send(client, ",".join(numbers[:3]))["Code"] == "OK"        # one send, fates per number
        assert call(client, "dysms", "SendBatchSms", {"TemplateCode": TEMPLATE},
                    form=batch_form(numbers[3:], ["4", "5"])).json()["Code"] == "OK"

        def status(number):
            return query(client, "dysms", number)["SmsSendDetailDTOs"]["SmsSendDetailDTO"][0]["SendStatus"]

        advance(client, 5)
        assert [status(n) for n in numbers] == [2, 1, 1, 1, 3]
        advance(client, 595)
        assert [status(n) for n in numbers] == [2, 3, 3, 1, 3]
        advance(client, 3 * 3600)   # still the same day in Beijing
        assert status("13900000004") == 1
    # reports falling due together share a push, across sends
    assert [[r["phone_number"] for r in push["body"]] for push in receiver.pushes] == [
        ["13900000001", "13900000005"], ["13900000002", "13900000003"]]
    failed = receiver.pushes[0]["body"][0]
    assert (failed["success"], failed["err_code"], failed["err_msg"], failed["sms_size"]) == (False, "IC:0001", "空号", "2")
    # failed and never-reported messages never reached the phone
    assert {m["to"] for m in client.get("/__otpsim/outbox").json()} == {"13900000002", "13900000003", "13900000005"}


def test_callback_faults_apply_to_receipts(client):
    freeze(client)
    rules = [{"match": {"operation": "dysms.SendSms"}, "callbacks": {"duplicate": 1, "kinds": ["dysms.report"]}}]
    with receipt_receiver() as receiver:
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r"}, rules)
        send(client)
        advance(client, 5)
    assert len(receiver.pushes) == 2 and receiver.pushes[0]["body"] == receiver.pushes[1]["body"]


def test_magic_numbers(client):
    freeze(client)
    assert send(client, "13500000002")["Message"] == "触发分钟级流控Permits:1"
    assert send(client, "13500000007")["Code"] == send(client, "13500000008")["Code"] == "OK"
    advance(client, 3600)
    failed = query(client, "dysms", "13500000007")["SmsSendDetailDTOs"]["SmsSendDetailDTO"][0]
    never = query(client, "dysms", "13500000008")["SmsSendDetailDTOs"]["SmsSendDetailDTO"][0]
    assert (failed["SendStatus"], failed["ErrCode"], never["SendStatus"]) == (2, "UNDELIV", 1)
    assert client.get("/__otpsim/outbox").json() == []


def test_query_reads_only_the_day_asked_and_pages(client):
    freeze(client)
    for _ in range(3):
        send(client)
        advance(client, 3601)
    params = {"PhoneNumber": "13800000001", "SendDate": send_date(client), "PageSize": "2", "CurrentPage": "2"}
    page = call(client, "dysms", "QuerySendDetails", params).json()
    assert page["TotalCount"] == 3 and len(page["SmsSendDetailDTOs"]["SmsSendDetailDTO"]) == 1
    assert page["SmsSendDetailDTOs"]["SmsSendDetailDTO"][0]["SendDate"] == "2026-03-02 09:00:00"  # newest first
    other_day = call(client, "dysms", "QuerySendDetails", {**params, "SendDate": "20260301"}).json()
    assert other_day["TotalCount"] == 0 and other_day["SmsSendDetailDTOs"] == {"SmsSendDetailDTO": []}


# --- the official SDK, unchanged but for its HTTP proxy (otpsim)

@pytest.mark.parametrize("options", SIGNATURES, ids=SIGNATURE_IDS)
def test_sdk_send_batch_query_and_the_traps(live, sdk_config, options):
    from alibabacloud_dysmsapi20170525 import models
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = Client(sdk_config("dysms", **options))
    sent = client.send_sms(models.SendSmsRequest(phone_numbers="13800000001", sign_name=SIGN, template_code=TEMPLATE,
                                                 template_param='{"code":"1234"}', out_id="out-1"))
    assert sent.status_code == 200 and sent.body.code == "OK" and sent.body.biz_id
    message = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": "13800000001"}).json()
    assert (message["product"], message["code"]) == ("dysms", "1234")

    batch = client.send_batch_sms(models.SendBatchSmsRequest(
        phone_number_json='["13800000002","13800000003"]', sign_name_json='["阿里云","阿里云"]',
        template_code=TEMPLATE, template_param_json='[{"code":"1111"},{"code":"2222"}]'))
    assert batch.body.code == "OK"
    assert httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": "13800000003"}).json()["code"] == "2222"

    with httpx.Client(base_url=live.url) as admin:
        day = send_date(admin)
    details = client.query_send_details(models.QuerySendDetailsRequest(
        phone_number="13800000001", send_date=day, page_size=10, current_page=1, biz_id=sent.body.biz_id))
    assert details.body.code == "OK" and details.body.total_count == 1
    (detail,) = details.body.sms_send_detail_dtos.sms_send_detail_dto
    assert (detail.send_status, detail.out_id, detail.template_code) == (1, "out-1", TEMPLATE)

    # the traps: a business error does not raise; the minute limit is a business error too
    illegal = client.send_sms(models.SendSmsRequest(phone_numbers="1380000abcd", sign_name=SIGN, template_code=TEMPLATE))
    assert (illegal.body.code, illegal.body.message) == ("isv.MOBILE_NUMBER_ILLEGAL", "1380000abcdinvalid mobile number")
    again = client.send_sms(models.SendSmsRequest(phone_numbers="13800000001", sign_name=SIGN, template_code=TEMPLATE,
                                                  template_param='{"code":"5678"}'))
    assert (again.body.code, again.body.message) == ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")

    with pytest.raises(ClientException) as wrong_secret:
        Client(sdk_config("dysms", secret="not-the-secret", **options)).send_sms(models.SendSmsRequest(
            phone_numbers="13800000009", sign_name=SIGN, template_code=TEMPLATE))
    assert (wrong_secret.value.status_code, wrong_secret.value.code) == (400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("page_size", ["1_0", " 10", "10 ", "١٠", "0x0A", "10.0"])
def test_a_number_is_its_ascii_digits_only(client, page_size):
    query = {"PhoneNumber": "13800000001", "SendDate": "20260302", "CurrentPage": "1"}
    refused = call(client, "dysms", "QuerySendDetails", {**query, "PageSize": page_size})
    assert refused.status_code == 400 and refused.json()["Message"] == 'The specified parameter "PageSize" is not valid.'
    assert call(client, "dysms", "QuerySendDetails", {**query, "PageSize": "10"}).json()["Code"] == "OK"
