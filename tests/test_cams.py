"""CAMS through HTTP: send a code, read it from the outbox, verify it; flow control; the official SDK."""

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import yaml

from alibaba_signing import AK, SECRET, acs3, rpc
from cams_burst import SPACE, burst

PHONE = "8613800000000"


def get_code(client, phone=PHONE, method="sms", locale="zh_CN", sign=acs3):
    return call(client, "GetMigrationVerifyCode",
                {"CustSpaceId": SPACE, "PhoneNumber": phone, "Locale": locale, "Method": method}, sign)


def verify(client, code, phone=PHONE, sign=acs3, when=None):
    return call(client, "ChatappMigrationVerified", {"CustSpaceId": SPACE, "PhoneNumber": phone, "VerifyCode": code},
                sign, when=when)


def call(client, action, params, sign, when=None):
    if sign is acs3:
        path, headers = acs3(action, params, when=when)
        return client.post(path, headers=headers)
    return client.post(rpc(action, params, when=when))


def latest(client, phone=PHONE) -> dict:
    response = client.get("/__otpsim/outbox/latest", params={"to": phone})
    assert response.status_code == 200
    return response.json()


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.mark.parametrize("sign", [acs3, rpc], ids=["acs3", "rpc"])
def test_send_read_verify(client, sign):
    sent = get_code(client, sign=sign)
    assert sent.status_code == 200
    body = sent.json()
    assert body["Code"] == "OK" and body["Message"] == "None" and body["AccessDeniedDetail"] == "None"
    assert body["Data"]["PhoneNumber"] == PHONE and len(body["Data"]["Id"]) == 11
    assert "x-acs-request-id" not in sent.headers and body["RequestId"].isupper()

    message = latest(client)
    assert (message["product"], message["channel"], len(message["code"])) == ("cams", "sms", 6)
    assert message["code"] in message["text"] and "验证码" in message["text"]

    verified = verify(client, message["code"], sign=sign)
    assert verified.status_code == 200
    assert verified.json()["Code"] == "OK" and verified.json()["Message"] == "SUCCESS"
    assert verified.json()["Data"] == body["Data"]


def test_a_numbers_id_is_stable_and_its_own(client):
    first = get_code(client).json()["Data"]["Id"]
    other = get_code(client, phone="8613800000099").json()["Data"]["Id"]
    client.post("/__otpsim/clock", json={"mode": "manual"})
    client.post("/__otpsim/clock", json={"advance": 2 * 86400})
    assert get_code(client).json()["Data"]["Id"] == first
    assert other != first and len(other) == 11


def test_wrong_reused_and_expired_codes_are_business_answers(client):
    get_code(client)
    code = latest(client)["code"]
    wrong = verify(client, other_than(code))
    assert wrong.status_code == 200
    assert wrong.json() == {"RequestId": wrong.json()["RequestId"], "Code": "VerifyCode.Invalid",
                            "Message": "The verification code is invalid.", "AccessDeniedDetail": "None"}
    assert verify(client, code).json()["Code"] == "OK"
    assert verify(client, code).json()["Code"] == "VerifyCode.Invalid"  # a code is good once

    other = "8613800000009"
    get_code(client, phone=other)
    client.post("/__otpsim/clock", json={"advance": 301})
    later = datetime.now(timezone.utc) + timedelta(seconds=301)  # sign on the simulator's clock
    expired = verify(client, latest(client, other)["code"], phone=other, when=later)
    assert expired.json()["Code"] == "VerifyCode.Expired"


def test_resend_within_a_minute_is_refused(client):
    assert get_code(client).json()["Code"] == "OK"
    again = get_code(client)
    assert again.status_code == 200 and again.json()["Code"] == "VerifyCode.TooFrequent"


def test_voice_call_reads_the_digits_in_the_locale_language(client):
    get_code(client, method="voice", locale="en_US")
    message = latest(client)
    assert message["channel"] == "voice"
    assert " ".join(message["code"]) in message["text"] and message["text"].startswith("Your WhatsApp")


def test_bad_parameters_get_common_errors(client):
    bad = get_code(client, method="fax")
    assert bad.status_code == 400
    assert bad.json()["Code"] == "InvalidParameter"
    assert bad.json()["Message"] == 'The specified parameter "Method" is not valid.'
    path, headers = acs3("GetMigrationVerifyCode", {"CustSpaceId": SPACE, "Locale": "zh_CN", "Method": "sms"})
    missing = client.post(path, headers=headers)
    assert missing.status_code == 400 and missing.json()["Code"] == "MissingParameter"
    assert '"PhoneNumber"' in missing.json()["Message"]
    path, headers = acs3("SendChatappMessage", {})
    unknown = client.post(path, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["Code"] == "InvalidAction.NotFound"


def test_ten_of_a_hundred_concurrent_calls_pass_flow_control(sim):
    sim.world.clock.set_mode("manual")  # all hundred inside one second of the simulated clock
    answers = burst(transport=httpx.ASGITransport(app=sim), base_url="http://127.0.0.1:8080")
    assert answers.count((200, "OK")) == 10
    assert answers.count((400, "System.LimitControl")) == 90
    assert len(asyncio.run(sim.world.outbox.list(product="cams"))) == 10


# --- the official SDK, unchanged but for where it connects

@pytest.fixture
def sdk(live):
    from alibabacloud_cams20200606.client import Client
    from alibabacloud_tea_openapi.models import Config

    def make(secret=SECRET, **config):
        return Client(Config(access_key_id=AK, access_key_secret=secret, endpoint=f"127.0.0.1:{live.port}",
                             protocol="http", **config))
    return make


SIGNATURES = [{}, {"signature_algorithm": "v2"}]


@pytest.mark.parametrize("config", SIGNATURES, ids=["acs3-default", "rpc-v2"])
def test_sdk_migration_flow(live, sdk, config):
    from alibabacloud_cams20200606 import models

    client = sdk(**config)
    sent = client.get_migration_verify_code(models.GetMigrationVerifyCodeRequest(
        cust_space_id=SPACE, phone_number=PHONE, locale="en_US", method="sms"))
    assert sent.status_code == 200 and sent.body.code == "OK" and sent.body.data.phone_number == PHONE
    code = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]

    wrong = client.chatapp_migration_verified(models.ChatappMigrationVerifiedRequest(
        cust_space_id=SPACE, phone_number=PHONE, verify_code=other_than(code)))
    assert wrong.body.code == "VerifyCode.Invalid"  # a business answer, not an exception
    verified = client.chatapp_migration_verified(models.ChatappMigrationVerifiedRequest(
        cust_space_id=SPACE, phone_number=PHONE, verify_code=code))
    assert verified.body.code == "OK" and verified.body.data.id == sent.body.data.id


@pytest.mark.parametrize("config", SIGNATURES, ids=["acs3-default", "rpc-v2"])
def test_sdk_raises_documented_errors(live, sdk, config):
    from alibabacloud_cams20200606 import models
    from alibabacloud_tea_openapi.exceptions import ClientException

    scenario = httpx.get(f"{live.url}/__otpsim/scenario").json()
    scenario["rules"] = [{"name": "not-mine", "match": {"operation": "cams.GetMigrationVerifyCode",
                                                        "query": {"CustSpaceId": "not-mine-0001"}},
                          "error": "Unknown.ResourceOwnerId"}]
    assert httpx.put(f"{live.url}/__otpsim/scenario", content=yaml.safe_dump(scenario)).status_code == 200

    request = models.GetMigrationVerifyCodeRequest(cust_space_id="not-mine-0001", phone_number=PHONE,
                                                   locale="zh_CN", method="sms")
    with pytest.raises(ClientException) as refused:
        sdk(**config).get_migration_verify_code(request)
    assert (refused.value.status_code, refused.value.code) == (400, "Unknown.ResourceOwnerId")
    assert "The resource does not belong to the current user." in refused.value.message

    request.cust_space_id = SPACE
    with pytest.raises(ClientException) as wrong_secret:
        sdk(secret="not-the-secret", **config).get_migration_verify_code(request)
    assert (wrong_secret.value.status_code, wrong_secret.value.code) == (400, "SignatureDoesNotMatch")
