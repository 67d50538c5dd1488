"""Meeting through HTTP: logins, the send → read → verify flow, and every code the product answers."""

import asyncio
import json

import httpx
import pytest
from starlette.testclient import TestClient

from meeting_helpers import (
    ACCOUNT, APP_ID, APP_KEY, PHONE, SEND, VERIFY, account_login, app_login, basic, manual_clock, other_than,
    send_and_read, token, verify,
)
from simulator.core.compose import simulator_from_texts
from simulator.products.meeting import app_signature


def test_app_id_signature_vector():
    # sdk-wire §5.4
    assert app_signature(APP_KEY, APP_ID, "user-1", 1704067800, "n-0001") == \
        "EE0D7160AA77DC3787A2E0B27617AF86FD664260904EA017250CD8C10D001926"


def test_account_login_answers_the_documented_token_fields(client):
    now = manual_clock(client)
    response = account_login(client)
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32
    body = response.json()
    assert body["accessToken"].startswith("stb") and len(body["accessToken"]) == 36
    assert body["validPeriod"] == 12 * 3600
    assert body["expireTime"] == int(now) + 12 * 3600
    assert body["createTime"] == int(now * 1000)
    assert body["clientType"] == 72 and body["tokenType"] == 0
    assert body["refreshValidPeriod"] == 30 * 24 * 3600
    assert body["user"]["ucloginAccount"] == ACCOUNT


def test_a_user_without_a_configured_name_gets_a_generated_one_that_the_seed_fixes():
    account = "unnamed@example.com"

    def user_names(seed, **configured):
        scenario = {"credentials": {"meeting_accounts": [{"account": account, "password": "pw-0001", **configured}]}}
        client = TestClient(simulator_from_texts([("named", json.dumps(scenario))], seed=seed))
        return [client.post("/v1/usg/acs/auth/account", headers={"Authorization": basic(account, "pw-0001")},
                            json={"account": account, "clientType": 72}).json()["user"]["name"] for _ in range(2)]

    first, again = user_names(seed=1)
    assert first == again and first not in ("", account)
    assert user_names(seed=1) == [first, first] and user_names(seed=2)[0] != first
    assert user_names(seed=1, name="Li Lei") == ["Li Lei", "Li Lei"]


@pytest.mark.parametrize("authorization", [basic(password="wrong-password"), basic(account="nobody@example.com"),
                                           "Basic !!!", "Bearer x"])
def test_wrong_account_login_is_401(client, authorization):
    response = client.post("/v1/usg/acs/auth/account", headers={"Authorization": authorization},
                           json={"account": ACCOUNT, "clientType": 72})
    assert response.status_code == 401
    assert response.json() == {"error_code": "USG.000000020", "error_msg": "The account or password is incorrect."}


def test_send_read_verify_with_an_account_token(client):
    headers = token(client)
    message = send_and_read(client, headers)
    assert message["product"] == "meeting" and message["channel"] == "sms" and len(message["code"]) == 6
    assert message["text"] == f"【华为云会议】您的验证码是{message['code']}，60秒内有效。"
    verified = verify(client, headers, message["code"])
    assert verified.status_code == 200 and verified.content == b""
    used_again = verify(client, headers, message["code"])
    assert used_again.json()["error_code"] == "USG.000000010"


def test_email_contact_and_english_text(client):
    headers = token(client)
    message = send_and_read(client, headers, contact="member@example.com", **{"Accept-Language": "en-US"})
    assert message["channel"] == "email"
    assert message["text"] == (f"[Huawei Cloud Meeting] Your verification code is {message['code']}. "
                               "It is valid for 60 seconds.")


def test_wrong_and_expired_codes_have_their_own_codes(client):
    headers = token(client)
    manual_clock(client)
    code = send_and_read(client, headers)["code"]
    wrong = verify(client, headers, other_than(code))
    assert wrong.status_code == 400
    assert wrong.json() == {"error_code": "USG.000000010", "error_msg": "The verification code is incorrect."}
    client.post("/__otpsim/clock", json={"advance": 60})
    expired = verify(client, headers, code)
    assert expired.status_code == 400
    assert expired.json() == {"error_code": "USG.000000011", "error_msg": "The verification code has expired."}


def test_sixth_attempt_within_a_minute_is_refused_until_the_window_passes(client):
    headers = token(client)
    manual_clock(client)
    code = send_and_read(client, headers)["code"]
    for _ in range(5):
        assert verify(client, headers, other_than(code)).json()["error_code"] == "USG.000000010"
    refused = verify(client, headers, code)
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "USG.000000012"
    client.post("/__otpsim/clock", json={"advance": 59})
    code = send_and_read(client, headers)["code"]
    client.post("/__otpsim/clock", json={"advance": 1})
    assert verify(client, headers, code).status_code == 200


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "USG.000000004"),
    ({"X-Access-Token": "stb-not-issued"}, 401, "USG.000000004"),
])
def test_missing_or_unknown_token_is_usg_000000004(client, headers, status, code):
    response = client.post(SEND, headers=headers, json={"contact": PHONE})
    assert response.status_code == status
    assert response.json() == {"error_code": code, "error_msg": "The token is invalid or has expired."}
    assert len(response.headers["x-request-id"]) == 32


def test_token_expires_after_twelve_hours(client):
    manual_clock(client)
    headers = token(client)
    client.post("/__otpsim/clock", json={"advance": 12 * 3600 - 1})
    assert client.post(SEND, headers=headers, json={"contact": PHONE}).status_code == 200
    client.post("/__otpsim/clock", json={"advance": 1})
    assert client.post(SEND, headers=headers, json={"contact": PHONE}).json()["error_code"] == "USG.000000004"


def test_the_65th_api_token_evicts_the_oldest_and_other_client_types_keep_one(client):
    tokens = [account_login(client).json()["accessToken"] for _ in range(65)]
    answers = [client.post(SEND, headers={"X-Access-Token": t}, json={"contact": PHONE}).status_code
               for t in (tokens[0], tokens[1], tokens[64])]
    assert answers == [401, 200, 200]
    pc_client = account_login(client, client_type=52).json()["accessToken"]
    assert client.post(SEND, headers={"X-Access-Token": tokens[64]}, json={"contact": PHONE}).status_code == 401
    assert client.post(SEND, headers={"X-Access-Token": pc_client}, json={"contact": PHONE}).status_code == 200


def test_app_id_login(client):
    now = manual_clock(client)
    response = app_login(client, int(now) + 600)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["appId"] == APP_ID
    message = send_and_read(client, {"X-Access-Token": body["accessToken"]})
    assert verify(client, {"X-Access-Token": body["accessToken"]}, message["code"]).status_code == 200
    assert app_login(client, 0).status_code == 200        # 0 never expires


def test_app_id_login_failures(client):
    now = manual_clock(client)
    bad_key = app_login(client, int(now) + 600, app_key="not-the-key")
    assert bad_key.status_code == 401
    assert bad_key.json() == {"error_code": "USG.000000021", "error_msg": "App ID authentication failed."}
    expired = app_login(client, int(now) - 1)
    assert expired.status_code == 401
    assert expired.json()["error_code"] == "USG.000000022"
    short_nonce = app_login(client, int(now) + 600, nonce="n-0001")
    assert short_nonce.status_code == 400
    assert short_nonce.json() == {"error_code": "USG.000000001", "error_msg": "Invalid parameter: nonce."}


def test_multi_tenant_signature_includes_corp_id(client):
    now = int(manual_clock(client)) + 600
    nonce = "c5649eb1-2ce7-478d-939c-9da9052ccfc8"
    body = {"appId": APP_ID, "userId": "", "corpId": "", "expireTime": now, "nonce": nonce, "clientType": 72}
    signature = app_signature(APP_KEY, APP_ID, "", now, nonce, corp_id="")
    response = client.post("/v2/usg/acs/auth/appauth", json=body,
                           headers={"Authorization": f"HMAC-SHA256 signature={signature}"})
    assert response.status_code == 200
    assert response.json()["user"]["adminType"] == 0


@pytest.mark.parametrize("body, field", [
    ({"contact": ""}, "contact"),
    ({"contact": "13800000000"}, "contact"),
    ({"contact": PHONE, "country": "x" * 256}, "country"),
    ({"country": "chinaPR"}, "contact"),
])
def test_bad_parameters_are_400(client, body, field):
    response = client.post(SEND, headers=token(client), json=body)
    assert response.status_code == 400
    assert response.json() == {"error_code": "USG.000000001", "error_msg": f"Invalid parameter: {field}."}


def test_verify_without_a_code_and_broken_json(client):
    headers = token(client)
    missing = client.post(VERIFY, headers=headers, json={"contact": PHONE})
    assert missing.json()["error_msg"] == "Invalid parameter: verificationCode."
    broken = client.post(VERIFY, headers={**headers, "Content-Type": "application/json"}, content=b'{"contact": ')
    assert broken.status_code == 400
    assert broken.json()["error_code"] == "USG.000000002"
    assert client.get("/v1/usg/nothing").json()["error_code"] == "USG.000000003"


def test_forced_documented_error(client):
    response = client.post(SEND, headers={**token(client), "X-Otpsim-Error": "USG.000000005"}, json={"contact": PHONE})
    assert response.status_code == 403
    assert response.json() == {"error_code": "USG.000000005", "error_msg": "Insufficient permissions."}


def test_only_five_of_fifty_concurrent_attempts_are_evaluated(live):
    async def attempt_all():
        async with httpx.AsyncClient(base_url=live.url) as http:
            login = await http.post("/v1/usg/acs/auth/account", headers={"Authorization": basic()},
                                    json={"account": ACCOUNT, "clientType": 72})
            headers = {"X-Access-Token": login.json()["accessToken"]}
            await http.post(SEND, headers=headers, json={"contact": PHONE})
            code = (await http.get("/__otpsim/outbox/latest", params={"to": PHONE})).json()["code"]
            answers = await asyncio.gather(*(
                http.post(VERIFY, headers=headers, json={"contact": PHONE, "verificationCode": other_than(code)})
                for _ in range(50)))
            return [a.json()["error_code"] for a in answers]

    codes = asyncio.run(attempt_all())
    assert codes.count("USG.000000010") == 5
    assert codes.count("USG.000000012") == 45
