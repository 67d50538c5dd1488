"""Huawei Message & SMS: the official SDK and a raw X-WSSE client, every auth code, the outbox, and
status reports reaching a real receiver on the virtual clock, their fates chosen by scenario rules."""

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import yaml
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdksmsapi.v1 import (
    BatchSendDiffSmsRequest, BatchSendDiffSmsRequestBody, BatchSendSmsRequest, BatchSendSmsRequestBody,
    SMSApiClient, SmsContent,
)
from huaweicloudsdksmsapi.v1.smsapi_credentials import SMSApiCredentials
from jsonschema import Draft202012Validator

from simulator.auth.huawei_aksk import sign, string_to_sign
from simulator.core.packaged import packaged

from voice_helpers import T0, Receiver, advance, deliveries, freeze_clock

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

APP_KEY = "simSmsAppKey00000000000000"
APP_SECRET = "simSmsAppSecret0000000000000"
SEND = "/sms/batchSendSms/v1"
SEND_DIFF = "/sms/batchSendDiffSms/v1"
AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
FORM = "application/x-www-form-urlencoded"
SPEC = yaml.safe_load((packaged("openapi") / "msgsms.yaml").read_text())
REPORT_SCHEMA = Draft202012Validator({"$ref": "#/components/schemas/StatusReport", "components": SPEC["components"]})
RESULT_SCHEMA = Draft202012Validator({"$ref": "#/components/schemas/SendResult", "components": SPEC["components"]})


def vendor_digest(nonce: str, created: str, secret: str) -> str:
    """PasswordDigest as the vendor's Python sample computes it: Base64 of the SHA-256 hex string."""
    return base64.b64encode(hashlib.sha256((nonce + created + secret).encode()).hexdigest().encode()).decode()


def wsse_headers(created: datetime = T0, nonce=None, app_key=APP_KEY, secret=APP_SECRET, created_text=None) -> dict:
    created_text = created_text or created.strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce or uuid.uuid4().hex
    return {"Authorization": AUTHORIZATION,
            "X-WSSE": f'UsernameToken Username="{app_key}",PasswordDigest="{vendor_digest(nonce, created_text, secret)}",'
                      f'Nonce="{nonce}",Created="{created_text}"'}


def send_form(client, headers=None, **fields):
    body = {"from": "csms12345678", "to": "+8613800000001", "templateId": "8ff55eac1d0b478ab3c06c3c6a492300",
            "templateParas": '["369751"]', **fields}
    return client.post(SEND, content=urlencode(body).encode(),
                       headers={"content-type": FORM, **(wsse_headers() if headers is None else headers)})


def send_diff(client, sms_content, headers=None, **fields):
    body = {"from": "csms12345678", "smsContent": sms_content, **fields}
    return client.post(SEND_DIFF, content=json.dumps(body).encode(),
                       headers={"content-type": "application/json", **(headers or wsse_headers())})


def sdk(url: str, key=APP_KEY, secret=APP_SECRET) -> SMSApiClient:
    return (SMSApiClient.new_builder().with_http_config(HttpConfig.get_default_config())
            .with_credentials(SMSApiCredentials(key, secret)).with_endpoint(url).build())


def use_scenario(client, settings=None, rules=None, apps=None):
    document = yaml.safe_load((packaged("scenarios") / "default.yaml").read_text())
    document["products"] = {"msgsms": settings or {}}
    document["rules"] = rules or []
    if apps is not None:
        document["credentials"]["msgsms_apps"] = apps
    response = client.put("/__otpsim/scenario", content=json.dumps(document))
    assert response.status_code == 200, response.text


@pytest.fixture
def frozen(client):
    freeze_clock(client)
    return client


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


# ---- the official SDK --------------------------------------------------------------------------

def test_sdk_sends_one_template_to_several_numbers_and_the_codes_reach_the_outbox(live):
    answer = sdk(live.url).batch_send_sms(BatchSendSmsRequest(body=BatchSendSmsRequestBody(
        _from="csms12345678", to="+8613800000001,+8613800000002", template_id="8ff55eac1d0b478ab3c06c3c6a492300",
        template_paras='["369751"]', signature="华为云短信测试")))
    assert (answer.code, answer.description) == ("000000", "Success")
    assert [(r.origin_to, r.status, r.total, r.country_id) for r in answer.result] == [
        ("+8613800000001", "000000", 1, "CN"), ("+8613800000002", "000000", 1, "CN")]
    ids = [r.sms_msg_id for r in answer.result]
    assert len(set(ids)) == 2 and all(len(i) <= 50 and "_" in i for i in ids)
    outbox = live_json(live, "/__otpsim/outbox", product="msgsms")
    assert [(m["to"], m["channel"], m["code"], m["operation"]) for m in outbox] == [
        ("+8613800000001", "sms", "369751", "msgsms.BatchSendSms"), ("+8613800000002", "sms", "369751", "msgsms.BatchSendSms")]
    assert outbox[0]["text"] == "【华为云短信测试】您的验证码为369751，请勿泄露给他人。"


def test_sdk_sends_different_texts_in_one_request(live):
    answer = sdk(live.url).batch_send_diff_sms(BatchSendDiffSmsRequest(body=BatchSendDiffSmsRequestBody(
        _from="csms12345678", sms_content=[
            SmsContent(to=["+8613800000003"], template_id="t-code", template_paras=["112233"]),
            SmsContent(to=["+8613800000004", "+8613800000005"], template_id="t-code", template_paras=["445566"]),
        ])))
    assert answer.code == "000000" and [r.status for r in answer.result] == ["000000"] * 3
    codes = {m["to"]: m["code"] for m in live_json(live, "/__otpsim/outbox", product="msgsms")}
    assert codes == {"+8613800000003": "112233", "+8613800000004": "445566", "+8613800000005": "445566"}


def test_sdk_cannot_read_the_error_body_so_the_code_hides_in_error_msg(live):
    """The trap, kept on purpose: {"code","description"} is not a body huaweicloudsdkcore understands."""
    with pytest.raises(ClientRequestException) as raised:
        sdk(live.url).batch_send_sms(BatchSendSmsRequest(body=BatchSendSmsRequestBody(
            _from="csms12345678", to="+86138abc", template_id="t1", template_paras='["1"]')))
    error = raised.value
    assert (error.status_code, error.error_code) == (400, "400")
    assert json.loads(error.error_msg) == {"code": "E000503", "description": "Parameter format error."}


@pytest.mark.parametrize("key, secret, status, code", [
    (APP_KEY, "not-the-secret", 400, "E000045"),
    ("unknownAppKey", APP_SECRET, 401, "E000102"),
])
def test_sdk_signature_failures(live, key, secret, status, code):
    with pytest.raises(ClientRequestException) as raised:
        sdk(live.url, key, secret).batch_send_sms(BatchSendSmsRequest(body=BatchSendSmsRequestBody(
            _from="csms12345678", to="+8613800000001", template_id="t1", template_paras='["1"]')))
    assert raised.value.status_code == status and json.loads(raised.value.error_msg)["code"] == code


def live_json(live, path, **params):
    import httpx
    return httpx.get(live.url + path, params=params).json()


# ---- SDK-HMAC-SHA256 with the app key: the reference vectors and UNSIGNED-PAYLOAD ---------------

def test_the_form_call_is_signed_as_unsigned_payload_per_the_sdk_vector():
    headers = {"content-type": FORM, "host": "127.0.0.1:8080", "user-agent": "huaweicloud-usdk-python/3.0",
               "x-sdk-content-sha256": "UNSIGNED-PAYLOAD", "x-sdk-date": "20240101T000000Z"}
    text = string_to_sign("POST", SEND, "", headers, sorted(headers), "UNSIGNED-PAYLOAD", "20240101T000000Z")
    assert text.endswith("1f0f95810cfacf7f275d74066c33b204e7359dc2a7aa6e9df4c689fc1787121f")
    assert sign(APP_SECRET, text) == "c3409109d5b0c0d37b77372643fe07d382111b53e6e63f17284c2f6a22f7aaed"


def sdk_signed(path, body: bytes, content_type, when=None, unsigned=False, key=APP_KEY, secret=APP_SECRET,
               host="127.0.0.1:8080"):
    date = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": content_type, "host": host, "x-sdk-date": date}
    if unsigned:
        headers["x-sdk-content-sha256"] = "UNSIGNED-PAYLOAD"
    payload = "UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body).hexdigest()
    names = sorted(headers)
    signature = sign(secret, string_to_sign("POST", path, "", headers, names, payload, date))
    headers["authorization"] = f"SDK-HMAC-SHA256 Access={key}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return headers


def test_an_unsigned_payload_signature_holds_for_any_form_body_but_a_json_body_is_hashed(client):
    """What the real platform allows (SDK traffic: four bodies, one signature): the form body is outside it."""
    headers = sdk_signed(SEND, b"", FORM, unsigned=True)
    for number in ("+8613800000011", "+8613800000012"):
        body = urlencode({"from": "csms12345678", "to": number, "templateId": "t1", "templateParas": '["1"]'})
        assert client.post(SEND, content=body.encode(), headers=headers).json()["code"] == "000000"
    signed_for = json.dumps({"from": "csms12345678", "smsContent": [{"to": ["+8613800000013"], "templateId": "t1"}]})
    headers = sdk_signed(SEND_DIFF, signed_for.encode(), "application/json")
    assert client.post(SEND_DIFF, content=signed_for.encode(), headers=headers).json()["code"] == "000000"
    other = signed_for.replace("13800000013", "13800000014")
    response = client.post(SEND_DIFF, content=other.encode(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "E000045")


@pytest.mark.parametrize("change, status, code", [
    ({"authorization": "SDK-HMAC-SHA256 Access=x"}, 400, "E000045"),
    ({"x-sdk-date": "yesterday"}, 401, "E000110"),
])
def test_sdk_hmac_header_problems(client, change, status, code):
    body = urlencode({"from": "csms12345678", "to": "+8613800000001", "templateId": "t1"}).encode()
    headers = {**sdk_signed(SEND, body, FORM, unsigned=True), **change}
    response = client.post(SEND, content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_stale_sdk_date_is_e000110(frozen):
    body = urlencode({"from": "csms12345678", "to": "+8613800000001", "templateId": "t1"}).encode()
    stale = datetime.now(timezone.utc) - timedelta(minutes=16)
    response = frozen.post(SEND, content=body, headers=sdk_signed(SEND, body, FORM, when=stale, unsigned=True))
    assert response.json() == {"code": "E000110", "description": "Time out limit."}


# ---- X-WSSE --------------------------------------------------------------------------------------

def test_password_digest_is_base64_of_the_hex_string_per_the_vector():
    digest = vendor_digest("66C92B11FF8A425FB8D4CCFE0ED9ED1F", "2018-02-12T15:30:20Z", APP_SECRET)
    assert digest == "OTYxYmIxNDk5NTkyNmIzZTc3ODdhYWQzYjNmYTRkNzllMGZiM2JkMmFmNjViZDYyNWE1NGEzOTRiM2M4MTRlMg=="
    captured = vendor_digest("a4d34eaee89b4b82be99327aea4fe45b", "2026-12-02T02:57:43Z", APP_SECRET)
    assert captured == "MDdjZGQwYzM0YmY5MmVhMzljZjNjNDkyNzZhNDkxZjYwZDBmZGU0OGEzYWM0NDYwMGFmZjk5NTBjYTAyZTllYw=="


def test_a_raw_wsse_client_sends_and_the_answer_has_the_documented_shape(frozen):
    response = send_form(frozen)
    assert response.status_code == 200
    RESULT_SCHEMA.validate(response.json())
    assert response.json()["result"][0]["createTime"] == "2026-01-01T08:00:00Z"


def test_raw_digest_reading_and_a_reused_nonce_are_refused(frozen):
    created = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = base64.b64encode(hashlib.sha256(("n1" + created + APP_SECRET).encode()).digest()).decode()
    headers = {"Authorization": AUTHORIZATION,
               "X-WSSE": f'UsernameToken Username="{APP_KEY}",PasswordDigest="{raw}",Nonce="n1",Created="{created}"'}
    assert send_form(frozen, headers).json()["code"] == "E000101"
    headers = wsse_headers(nonce="n2")
    assert send_form(frozen, headers).json()["code"] == "000000"
    replay = send_form(frozen, headers)
    assert (replay.status_code, replay.json()) == (401, {"code": "E000101", "description": "Authentication failed."})


def test_username_is_also_taken_spelled_as_the_error_texts_spell_it(frozen):
    headers = wsse_headers()
    headers["X-WSSE"] = headers["X-WSSE"].replace("Username=", "UserName=")
    assert send_form(frozen, headers).json()["code"] == "000000"


def test_created_in_local_time_with_a_z_is_accepted_as_the_vendor_sample_writes_it(frozen):
    """The vendor's Python sample writes time.strftime('%Y-%m-%dT%H:%M:%SZ'): Beijing time, 8 h ahead."""
    assert send_form(frozen, wsse_headers(T0 + timedelta(hours=8))).json()["code"] == "000000"
    stale = send_form(frozen, wsse_headers(T0 - timedelta(hours=25)))
    assert (stale.status_code, stale.json()["code"]) == (401, "E000110")


TOKEN = 'UsernameToken Username="simSmsAppKey00000000000000",PasswordDigest="x",Nonce="abc",Created="2026-01-01T08:00:00Z"'


@pytest.mark.parametrize("authorization, token, status, code", [
    (None, TOKEN, 400, "E000001"),
    ('Basic dXNlcjpwYXNz', TOKEN, 400, "E000008"),
    ('WSSE profile="UsernameToken",type="Appkey"', TOKEN, 400, "E000002"),
    ('WSSE realm="SDP",type="Appkey"', TOKEN, 400, "E000003"),
    ('WSSE realm="HW",profile="UsernameToken",type="Appkey"', TOKEN, 400, "E000004"),
    ('WSSE realm="SDP",profile="Token",type="Appkey"', TOKEN, 400, "E000005"),
    ('WSSE realm="SDP",profile="UsernameToken",type="AppId"', TOKEN, 400, "E000006"),
    ('WSSE realm="SDP",profile="UsernameToken"', TOKEN, 400, "E000007"),
    (AUTHORIZATION, None, 400, "E000020"),
    (AUTHORIZATION, TOKEN.replace("UsernameToken ", "Token "), 400, "E000020"),
    (AUTHORIZATION, TOKEN.replace('Username="simSmsAppKey00000000000000",', ""), 400, "E000021"),
    (AUTHORIZATION, TOKEN.replace('Nonce="abc",', ""), 400, "E000022"),
    (AUTHORIZATION, TOKEN.replace('Nonce="abc"', 'Nonce="not-alnum"'), 400, "E000022"),
    (AUTHORIZATION, TOKEN.replace(',Created="2026-01-01T08:00:00Z"', ""), 400, "E000023"),
    (AUTHORIZATION, TOKEN.replace("2026-01-01T08:00:00Z", "2026-01-01 08:00:00"), 400, "E000023"),
    (AUTHORIZATION, TOKEN.replace('PasswordDigest="x",', ""), 401, "E000101"),
    (AUTHORIZATION, TOKEN, 401, "E000101"),
    (AUTHORIZATION, TOKEN.replace("simSmsAppKey00000000000000", "nobody"), 401, "E000102"),
])
def test_each_wsse_problem_has_its_documented_code(frozen, authorization, token, status, code):
    headers = {name: value for name, value in (("Authorization", authorization), ("X-WSSE", token)) if value}
    response = send_form(frozen, headers)
    assert response.status_code == status
    assert response.json()["code"] == code and set(response.json()) == {"code", "description"}


@pytest.mark.parametrize("state, code", [("unavailable", "E000103"), ("frozen", "E000112")])
def test_an_app_switched_off_in_the_console(frozen, state, code):
    use_scenario(frozen, apps=[{"app_key": "switchedOffApp", "app_secret": "its-secret", "state": state}])
    response = send_form(frozen, wsse_headers(app_key="switchedOffApp", secret="its-secret"))
    assert (response.status_code, response.json()["code"]) == (401, code)
    headers = sdk_signed(SEND_DIFF, b"{}", "application/json", key="switchedOffApp", secret="its-secret")
    assert frozen.post(SEND_DIFF, content=b"{}", headers=headers).json()["code"] == code


# ---- requests the platform refuses -----------------------------------------------------------

def test_bad_requests(frozen):
    assert send_form(frozen, templateParas="[369751]").json() == {"code": "E000000", "description": "System error."}
    assert send_form(frozen, to="+86138 0000").json()["code"] == "E000503"
    assert send_form(frozen, to="+8613800000001,,+8613800000002").json()["code"] == "E000503"
    assert send_form(frozen, extend="{x}").json()["code"] == "E000503"
    missing = frozen.post(SEND, content=b"from=csms12345678", headers={"content-type": FORM, **wsse_headers()})
    assert (missing.status_code, missing.json()["code"]) == (400, "E000503")
    unknown = frozen.post("/sms/batchSend/v1", content=b"", headers=wsse_headers())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "404")


def test_too_many_numbers(frozen):
    use_scenario(frozen, settings={"max_numbers": 2})
    assert send_form(frozen, to="+8613800000001,+8613800000002").json()["code"] == "000000"
    assert send_form(frozen, to="+8613800000001,+8613800000002,+8613800000003").json()["code"] == "E000503"


def test_per_number_statuses_and_e000510_when_no_number_is_taken(frozen):
    use_scenario(frozen, settings={"templates": {"t-two": "验证码${NUM_6}，${NUM_2}分钟内有效。"}})
    answer = send_form(frozen, to="+8613800000001,+8613800000001", templateId="t-two",
                       templateParas='["123456", "5"]').json()
    assert [r["status"] for r in answer["result"]] == ["000000", "E200041"]
    message = frozen.get("/__otpsim/outbox/latest", params={"to": "+8613800000001"}).json()
    assert message["text"] == "【华为云短信测试】验证码123456，5分钟内有效。" and message["code"] == "123456"
    refused = send_form(frozen, templateId="t-two", templateParas='["123456"]')
    assert refused.status_code == 400
    assert refused.json()["code"] == "E000510"
    assert refused.json()["description"] == "The SMS fails to be sent. For details, see status."
    assert [r["status"] for r in refused.json()["result"]] == ["E200028"]


def test_code_param_picks_the_code(frozen):
    use_scenario(frozen, settings={"code_param": 2, "templates": {"t": "${TXT_10}: ${NUM_6}"}})
    send_form(frozen, templateId="t", templateParas='["Login", "654321"]')
    assert frozen.get("/__otpsim/outbox/latest", params={"to": "+8613800000001"}).json()["code"] == "654321"


# ---- status reports ----------------------------------------------------------------------------

def test_a_status_report_reaches_the_receiver_after_a_clock_advance(frozen, receiver):
    answer = send_form(frozen, statusCallback=f"{receiver.url}/report", extend="order-42").json()
    sms_id = answer["result"][0]["smsMsgId"]
    advance(frozen, 4)
    assert receiver.pushes == []
    advance(frozen, 1)
    (push,) = receiver.pushes
    assert push["headers"]["Content-Type"] == FORM and "Authorization" not in push["headers"]
    assert push["raw"].decode() == urlencode({
        "sequence": "1", "total": "1", "orgCode": "000", "updateTime": "2026-01-01T08:00:05Z", "source": "2",
        "smsMsgId": sms_id, "status": "DELIVRD", "extend": "order-42", "to": "+8613800000001"})
    REPORT_SCHEMA.validate(push["body"])
    (delivery,) = deliveries(frozen, "msgsms.report")
    assert delivery["state"] == "delivered" and delivery["body"]["smsMsgId"] == sms_id


def test_a_long_message_is_reported_part_by_part(frozen, receiver):
    use_scenario(frozen, settings={"templates": {"long": "${TXT_100}"}})
    answer = send_form(frozen, templateId="long", templateParas=json.dumps(["码" * 100]),
                       statusCallback=f"{receiver.url}/report").json()
    assert answer["result"][0]["total"] == 2
    advance(frozen, 5)
    assert [(b["sequence"], b["total"]) for b in receiver.bodies("/report")] == [("1", "2"), ("2", "2")]


def test_statuscallback_spelled_as_the_vendor_samples_spell_it(frozen, receiver):
    send_form(frozen, statusCallBack=f"{receiver.url}/report")
    advance(frozen, 5)
    assert [b["status"] for b in receiver.bodies("/report")] == ["DELIVRD"]


def test_rules_choose_each_numbers_fate(frozen, receiver):
    use_scenario(frozen, settings={"report_delay_s": 2}, rules=[{
        "name": "fates", "match": {"operation": "msgsms.BatchSendDiffSms"},
        "receipts": [
            {"to": "+8613900000001", "outcome": "failed", "code": "REJECTD", "fields": {"orgCode": "MK:0001"}},
            {"to": {"regex": "02$"}, "outcome": "failed", "code": "E200027", "description": "matching the gateway failed"},
            {"to": "+8613900000003", "outcome": "never"},
            {"to": "+8613900000004", "delay_s": 60},
        ]}])
    numbers = [f"+861390000000{n}" for n in range(1, 6)]
    answer = send_diff(frozen, [{"to": numbers, "templateId": "t", "templateParas": ["778899"]}],
                       statusCallback=f"{receiver.url}/report").json()
    ids = {r["originTo"]: r["smsMsgId"] for r in answer["result"]}
    assert [r["status"] for r in answer["result"]] == ["000000"] * 5   # every send is taken; fates come later
    advance(frozen, 2)
    reports = {b["smsMsgId"]: b for b in receiver.bodies("/report")}
    assert reports[ids["+8613900000001"]]["status"] == "REJECTD" and reports[ids["+8613900000001"]]["orgCode"] == "MK:0001"
    platform_made = reports[ids["+8613900000002"]]
    assert (platform_made["status"], platform_made["source"], platform_made["statusDesc"]) == (
        "E200027", "3", "matching the gateway failed")
    assert "updateTime" not in platform_made            # the platform made it itself
    assert reports[ids["+8613900000005"]]["status"] == "DELIVRD"
    assert ids["+8613900000003"] not in reports and ids["+8613900000004"] not in reports
    advance(frozen, 58)
    assert receiver.bodies("/report")[-1]["smsMsgId"] == ids["+8613900000004"]
    advance(frozen, 3600)
    assert ids["+8613900000003"] not in {b["smsMsgId"] for b in receiver.bodies("/report")}
    for body in receiver.bodies("/report"):
        REPORT_SCHEMA.validate(body)
    delivered = {m["to"] for m in frozen.get("/__otpsim/outbox", params={"product": "msgsms"}).json()}
    assert delivered == {"+8613900000004", "+8613900000005"}   # failed and never-reported texts never arrived


def test_magic_numbers_of_the_default_scenario(frozen, receiver):
    numbers = "+8613500000002,+8613500000007,+8613500000008,+8613800000009"
    answer = send_form(frozen, to=numbers, statusCallback=f"{receiver.url}/report").json()
    ids = [r["smsMsgId"] for r in answer["result"]]
    advance(frozen, 600)
    statuses = {b["smsMsgId"]: b["status"] for b in receiver.bodies("/report")}
    assert statuses == {ids[0]: "MILIMIT", ids[1]: "REJECTD", ids[3]: "DELIVRD"}
    delivered = {m["to"] for m in frozen.get("/__otpsim/outbox", params={"product": "msgsms"}).json()}
    assert delivered == {"+8613800000009"}


def test_callback_faults_apply_to_status_reports(frozen, receiver):
    use_scenario(frozen, rules=[{"match": {"product": "msgsms"}, "callbacks": {"duplicate": 1, "delay_s": 30}}])
    send_form(frozen, statusCallback=f"{receiver.url}/report")
    advance(frozen, 5)
    assert receiver.pushes == []
    advance(frozen, 30)
    first, second = receiver.bodies("/report")
    assert first == second
    use_scenario(frozen, rules=[{"match": {"product": "msgsms"}, "callbacks": {"drop": 1, "kinds": ["msgsms.report"]}}])
    send_form(frozen, to="+8613800000002", statusCallback=f"{receiver.url}/report")
    advance(frozen, 5)
    assert len(receiver.pushes) == 2
    assert deliveries(frozen, "msgsms.report")[-1]["state"] == "dropped"


def test_a_failed_push_is_retried_only_when_configured(frozen, receiver):
    receiver.status["/report"] = 503
    send_form(frozen, statusCallback=f"{receiver.url}/report")
    advance(frozen, 3600)
    assert len(receiver.pushes) == 1 and deliveries(frozen, "msgsms.report")[0]["state"] == "failed"
    use_scenario(frozen, settings={"report_retries": 2, "report_retry_interval_s": 60})
    send_form(frozen, statusCallback=f"{receiver.url}/report")
    advance(frozen, 5)
    advance(frozen, 60)
    advance(frozen, 60)
    assert len(receiver.pushes) == 4
    assert [a["status"] for a in deliveries(frozen, "msgsms.report")[-1]["attempts"]] == [503, 503, 503]


def test_signed_reports_verify_with_the_app_secret(frozen, receiver):
    use_scenario(frozen, settings={"sign_reports": True})
    send_form(frozen, statusCallback=f"{receiver.url}/report")
    advance(frozen, 5)
    (push,) = receiver.pushes
    headers = {"content-type": push["headers"]["Content-Type"], "host": push["headers"]["Host"],
               "x-sdk-date": push["headers"]["X-Sdk-Date"]}
    authorization = push["headers"]["Authorization"]
    assert authorization.startswith(f"SDK-HMAC-SHA256 Access={APP_KEY}, SignedHeaders=content-type;host;x-sdk-date, ")
    text = string_to_sign("POST", "/report", "", headers, sorted(headers), hashlib.sha256(push["raw"]).hexdigest(),
                          headers["x-sdk-date"])
    assert authorization.endswith(f"Signature={sign(APP_SECRET, text)}")


def test_a_bad_receipts_entry_is_refused_with_its_line(client):
    refused = client.put("/__otpsim/scenario", content=b"rules:\n  - match: {product: msgsms}\n"
                                                       b"    receipts:\n      - {to: '+8613900000001', outcome: lost}\n")
    assert refused.status_code == 400
    (problem,) = refused.json()["problems"]
    assert problem == "request body:4:41: rules[0].receipts[0].outcome: 'lost' is not one of ['delivered', 'failed', 'never']"
