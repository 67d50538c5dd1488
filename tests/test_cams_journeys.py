"""CAMS journeys: a migration (initiate → code → verified → register) with the number's status readable
at each step, and a registration (GetChatappVerifyCode → ChatappVerifyAndRegister); through HTTP and the
official SDK (alibabacloud_cams20200606)."""

import httpx
import pytest

from alibaba_signing import AK, SECRET, acs3

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SPACE = "29348393884001"
PHONE = "8613800000000"


def act(client, action, **params):
    path, headers = acs3(action, {"CustSpaceId": SPACE, **params})
    answer = client.post(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def status(client, phone=PHONE) -> str:
    return act(client, "GetPhoneNumberVerificationStatus", PhoneNumber=phone)["Data"]["CodeVerificationStatus"]


def latest_code(client, phone=PHONE) -> str:
    return client.get("/__otpsim/outbox/latest", params={"to": phone}).json()["code"]


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_migration_moves_through_its_statuses(client):
    assert status(client) == "NOT_VERIFIED"
    started = act(client, "CreateChatappMigrationInitiate", CountryCode="86", MobileNumber="13800000000")
    assert (started["Code"], started["Message"]) == ("OK", "SUCCESS")
    assert started["Data"]["Status"] == "MIGRATING" and started["Data"]["PhoneNumber"] == PHONE
    assert status(client) == "NOT_VERIFIED"
    assert act(client, "ChatappMigrationRegister", PhoneNumber=PHONE)["Code"] == "PhoneNumber.NotVerified"

    sent = act(client, "GetMigrationVerifyCode", PhoneNumber=PHONE, Locale="en_US", Method="sms")
    assert sent["Data"]["Id"] == started["Data"]["Id"]
    assert status(client) == "NOT_VERIFIED"
    code = latest_code(client)
    assert act(client, "ChatappMigrationVerified", PhoneNumber=PHONE, VerifyCode=other_than(code))["Code"] \
        == "VerifyCode.Invalid"
    assert status(client) == "NOT_VERIFIED"
    assert act(client, "ChatappMigrationVerified", PhoneNumber=PHONE, VerifyCode=code)["Code"] == "OK"
    assert status(client) == "VERIFIED"

    registered = act(client, "ChatappMigrationRegister", PhoneNumber=PHONE)
    assert set(registered) == {"RequestId", "Code", "Message", "AccessDeniedDetail"} and registered["Code"] == "OK"
    assert status(client) == "VERIFIED"
    assert act(client, "ChatappMigrationRegister", PhoneNumber=PHONE)["Code"] == "OK"   # registered stays so


def test_a_restarted_migration_needs_a_new_verification(client):
    act(client, "CreateChatappMigrationInitiate", CountryCode="86", MobileNumber="13800000000")
    act(client, "GetMigrationVerifyCode", PhoneNumber=PHONE, Locale="en_US", Method="voice")
    act(client, "ChatappMigrationVerified", PhoneNumber=PHONE, VerifyCode=latest_code(client))
    act(client, "CreateChatappMigrationInitiate", CountryCode="86", MobileNumber="13800000000")
    assert status(client) == "NOT_VERIFIED"
    assert act(client, "ChatappMigrationRegister", PhoneNumber=PHONE)["Code"] == "PhoneNumber.NotVerified"


def test_an_unsubmitted_code_lapses_to_expired(client):
    act(client, "CreateChatappMigrationInitiate", CountryCode="86", MobileNumber="13800000000")
    act(client, "GetMigrationVerifyCode", PhoneNumber=PHONE, Locale="en_US", Method="sms")
    code = latest_code(client)
    client.post("/__otpsim/clock", json={"advance": 300})          # code_ttl_s
    assert status(client) == "EXPIRED"
    assert act(client, "ChatappMigrationVerified", PhoneNumber=PHONE, VerifyCode=code)["Code"] == "VerifyCode.Expired"
    act(client, "GetMigrationVerifyCode", PhoneNumber=PHONE, Locale="en_US", Method="sms")
    assert status(client) == "NOT_VERIFIED"


def test_register_without_a_migration_is_not_verified(client):
    assert act(client, "ChatappMigrationRegister", PhoneNumber=PHONE)["Code"] == "PhoneNumber.NotVerified"


def test_initiate_refuses_a_number_that_is_not_digits(client):
    path, headers = acs3("CreateChatappMigrationInitiate", {"CustSpaceId": SPACE, "CountryCode": "+86",
                                                            "MobileNumber": "13800000000"})
    refused = client.post(path, headers=headers)
    assert refused.status_code == 400 and refused.json()["Code"] == "InvalidParameter"


def test_verify_and_register_uses_its_own_code(client):
    sent = act(client, "GetChatappVerifyCode", PhoneNumber=PHONE, Locale="zh_CN", Method="sms")
    assert (sent["Code"], sent["Success"]) == ("OK", True)
    code = latest_code(client)
    # a registration code is not a migration code
    assert act(client, "ChatappMigrationVerified", PhoneNumber=PHONE, VerifyCode=code)["Code"] == "VerifyCode.Invalid"
    assert act(client, "ChatappVerifyAndRegister", PhoneNumber=PHONE, VerifyCode=other_than(code))["Code"] \
        == "VerifyCode.Invalid"
    registered = act(client, "ChatappVerifyAndRegister", PhoneNumber=PHONE, VerifyCode=code)
    assert (registered["Code"], registered["Success"]) == ("OK", True)
    assert status(client) == "VERIFIED"
    assert act(client, "ChatappVerifyAndRegister", PhoneNumber=PHONE, VerifyCode=code)["Code"] == "VerifyCode.Invalid"
    assert act(client, "GetChatappVerifyCode", PhoneNumber=PHONE, Locale="zh_CN", Method="sms")["Code"] \
        == "VerifyCode.TooFrequent"


@pytest.mark.parametrize("config", [{}, {"signature_algorithm": "v2"}], ids=["acs3-default", "rpc-v2"])
def test_sdk_migration_journey(live, config):
    from alibabacloud_cams20200606 import models
    from alibabacloud_cams20200606.client import Client
    from alibabacloud_tea_openapi.models import Config

    client = Client(Config(access_key_id=AK, access_key_secret=SECRET, endpoint=f"127.0.0.1:{live.port}",
                           protocol="http", **config))

    def read_status():
        return client.get_phone_number_verification_status(models.GetPhoneNumberVerificationStatusRequest(
            cust_space_id=SPACE, phone_number=PHONE)).body.data.code_verification_status

    started = client.create_chatapp_migration_initiate(models.CreateChatappMigrationInitiateRequest(
        cust_space_id=SPACE, country_code="86", mobile_number="13800000000")).body
    assert (started.code, started.data.status, started.data.phone_number) == ("OK", "MIGRATING", PHONE)
    assert read_status() == "NOT_VERIFIED"
    client.get_migration_verify_code(models.GetMigrationVerifyCodeRequest(
        cust_space_id=SPACE, phone_number=PHONE, locale="en_US", method="sms"))
    code = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]
    assert read_status() == "NOT_VERIFIED"
    verified = client.chatapp_migration_verified(models.ChatappMigrationVerifiedRequest(
        cust_space_id=SPACE, phone_number=PHONE, verify_code=code)).body
    assert verified.code == "OK" and verified.data.id == started.data.id
    assert read_status() == "VERIFIED"
    registered = client.chatapp_migration_register(models.ChatappMigrationRegisterRequest(
        cust_space_id=SPACE, phone_number=PHONE)).body
    assert registered.code == "OK" and registered.message == "SUCCESS"

    other = "8613900000000"
    client.get_chatapp_verify_code(models.GetChatappVerifyCodeRequest(
        cust_space_id=SPACE, phone_number=other, locale="en_US", method="voice"))
    spoken = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": other}).json()
    assert spoken["channel"] == "voice"
    done = client.chatapp_verify_and_register(models.ChatappVerifyAndRegisterRequest(
        cust_space_id=SPACE, phone_number=other, verify_code=spoken["code"])).body
    assert (done.code, done.success) == ("OK", True)
