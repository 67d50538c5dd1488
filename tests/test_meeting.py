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
from slider_helpers import solve
from simulator.products.meeting import app_signature

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis


def test_app_id_signature_vector():
    # the App ID signature recipe of huaweicloudsdkmeeting's credentials
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
    unknown = client.get("/v1/usg/nothing")
    assert unknown.status_code == 404
    assert unknown.json() == {"error_code": "APIGW.0101", "request_id": unknown.headers["x-request-id"],
                              "error_msg": "The API does not exist or has not been published in the environment."}


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


# --- change a mobile or e-mail: send → verify → UpdateContact with the same code ---------------

CONTACT = "/v1/usg/dcs/member/contact"


def update_contact(client, headers, code, contact=PHONE):
    return client.put(CONTACT, headers=headers, json={"contact": contact, "verificationCode": code, "country": "chinaPR"})


def test_update_contact_takes_the_code_the_verify_call_accepted_once(client):
    headers = token(client)
    code = send_and_read(client, headers)["code"]
    assert update_contact(client, headers, code).json()["error_code"] == "USG.000000010"   # not verified yet
    code = send_and_read(client, headers)["code"]
    assert verify(client, headers, code).status_code == 200
    changed = update_contact(client, headers, code)
    assert (changed.status_code, changed.content) == (200, b"")
    assert update_contact(client, headers, code).json()["error_code"] == "USG.000000010"   # once only
    assert verify(client, headers, code).json()["error_code"] == "USG.000000010"


def test_update_contact_after_the_code_expired(client):
    manual_clock(client)
    headers = token(client)
    code = send_and_read(client, headers)["code"]
    verify(client, headers, code)
    client.post("/__otpsim/clock", json={"advance": 61})
    assert update_contact(client, headers, code).json()["error_code"] == "USG.000000011"


# --- forgotten password: slider → code → token → new password → login ------------------------

RESET_USER, RESET_PHONE = "+8613800000009", "+8613800000009"   # scenarios/default.yaml: sim-user's phone


def solve_slider(answer: dict) -> int:
    return solve({"originalImageBase64": answer["shadowImage"], "jigsawImageBase64": answer["cutImage"]})


def reset_token(client, user=RESET_USER, send_method=None) -> str:
    """The forgotten-password journey up to CheckVerifyCode's token."""
    slider = client.post("/v1/usg/acs/auth/slideverifycode/send", json={"user": user, "clientType": 0, "checkType": 1})
    assert slider.status_code == 200 and slider.json()["pointY"] == 0
    passed = client.put("/v1/usg/acs/auth/slideverifycode/check", json={
        "user": user, "clientType": 0, "checkType": 1, "token": slider.json()["token"],
        "pointX": solve_slider(slider.json()), "slideTime": 900})
    assert passed.status_code == 200 and passed.json()["expire"] == 180
    body = {"user": user, "token": passed.json()["token"], **({"sendMethod": send_method} if send_method else {})}
    sent = client.post("/v1/usg/acs/verifycode/send", json=body)
    assert sent.status_code == 200
    assert sent.json() == {"expire": 60, "bindPhone": "+86138****0009", "bindEmail": "si****@example.com"}
    to = RESET_PHONE if send_method != "email" else ACCOUNT
    code = client.get("/__otpsim/outbox/latest", params={"to": to}).json()["code"]
    checked = client.put("/v1/usg/acs/verifycode/check", json={"code": code, "user": user})
    assert checked.status_code == 200
    return checked.json()["token"]


def test_password_reset_from_slider_to_new_login(client):
    reset = reset_token(client)
    refused = client.put("/v1/usg/acs/password/reset", headers=token(client),
                         json={"user": RESET_USER, "newPwd": "N3w-Passw0rd"})
    assert refused.json()["error_code"] == "USG.000000016"       # a login token is not the reset token
    done = client.put("/v1/usg/acs/password/reset", headers={"X-Access-Token": reset},
                      json={"user": RESET_USER, "newPwd": "N3w-Passw0rd"})
    assert (done.status_code, done.content) == (200, b"")
    assert account_login(client).json()["error_code"] == "USG.000000020"
    assert account_login(client, password="N3w-Passw0rd").status_code == 200
    again = client.put("/v1/usg/acs/password/reset", headers={"X-Access-Token": reset},
                       json={"user": RESET_USER, "newPwd": "Th1rd-Passw0rd"})
    assert again.json()["error_code"] == "USG.000000016"


def test_reset_code_by_email_for_the_account_name(client):
    reset_token(client, user=ACCOUNT, send_method="email")


def test_slider_is_one_shot_and_for_its_user(client):
    slider = client.post("/v1/usg/acs/auth/slideverifycode/send", json={"user": RESET_USER}).json()
    check = {"user": ACCOUNT, "token": slider["token"], "pointX": solve_slider(slider)}
    assert client.put("/v1/usg/acs/auth/slideverifycode/check", json=check).json()["error_code"] == "USG.000000014"
    check["user"] = RESET_USER
    assert client.put("/v1/usg/acs/auth/slideverifycode/check", json=check).json()["error_code"] == "USG.000000014"
    check["token"] = "f" * 32
    assert client.put("/v1/usg/acs/auth/slideverifycode/check", json=check).json()["error_code"] == "USG.000000015"
    unknown = client.post("/v1/usg/acs/auth/slideverifycode/send", json={"user": "+8619900000000"})
    assert unknown.json()["error_code"] == "USG.000000013"
    no_pass = client.post("/v1/usg/acs/verifycode/send", json={"user": RESET_USER, "token": "f" * 32})
    assert (no_pass.status_code, no_pass.json()["error_code"]) == (401, "USG.000000016")


# --- token life ------------------------------------------------------------------------------

def test_refresh_check_and_delete_a_token(client):
    manual_clock(client)
    login = account_login(client).json()
    headers = {"X-Access-Token": login["accessToken"]}
    client.post("/__otpsim/clock", json={"advance": 3600})
    checked = client.post("/v1/usg/acs/token/validate", json={"token": login["accessToken"]}).json()
    assert checked["accessToken"] == login["accessToken"] and checked["validPeriod"] == 43200 - 3600
    assert checked["user"]["userId"] == login["user"]["userId"]
    refreshed = client.put("/v1/usg/acs/token", headers=headers).json()
    assert refreshed["accessToken"] == login["accessToken"] and refreshed["validPeriod"] == 43200
    assert refreshed["expireTime"] == login["expireTime"] + 3600
    client.post("/__otpsim/clock", json={"advance": 43200 - 1800})
    assert client.post(SEND, headers=headers, json={"contact": PHONE}).status_code == 200   # still valid
    fresh = client.post("/v1/usg/acs/token/validate", json={
        "token": login["accessToken"], "needGenNewToken": True, "needAccountInfo": False}).json()
    assert fresh["accessToken"] != login["accessToken"] and fresh["validPeriod"] == 43200
    assert (client.delete("/v1/usg/acs/token", headers=headers).status_code) == 200
    assert client.post(SEND, headers=headers, json={"contact": PHONE}).json()["error_code"] == "USG.000000004"
    gone = client.post("/v1/usg/acs/token/validate", json={"token": login["accessToken"]})
    assert (gone.status_code, gone.json()["error_code"]) == (401, "USG.000000004")
    without_user = client.post("/v1/usg/acs/token/validate", json={"token": fresh["accessToken"], "needAccountInfo": False})
    assert "user" not in without_user.json()


# --- the gateway's side of the contract ------------------------------------------------------

def test_answers_carry_the_documented_gateway_headers(client):
    answer = client.post(SEND, headers=token(client), json={"contact": PHONE})
    assert answer.status_code == 200
    assert answer.headers["server"] == "api-gateway"           # seed: Verificación de un código de verificación, its example
    assert answer.headers["pragma"] == "No-cache" and answer.headers["cache-control"] == "no-cache"
    login = account_login(client)
    assert login.headers["content-type"] == "application/json;charset=UTF-8"
    assert login.headers["server"] == "api-gateway"
    refused = client.post(SEND, json={"contact": PHONE})
    assert (refused.status_code, refused.headers["server"]) == (401, "api-gateway")


def test_server_header_over_a_real_socket_is_the_products(live):
    meeting = httpx.get(f"{live.url}/v1/usg/nothing")
    assert meeting.headers.get_list("server") == ["api-gateway"]
    oneaccess = httpx.get(f"{live.url}/api/v2/sdk/nothing")
    assert oneaccess.headers.get_list("server") == ["otpsim"]    # a spec that names none: the neutral default


@pytest.mark.parametrize("language, english", [
    ("en-us", True), ("en-US", True), ("en", True), ("en-GB,en;q=0.8", True),
    ("zh-CN", False), ("fr-FR", False), ("*", False), ("", False)])
def test_any_accept_language_is_accepted_and_falls_back_to_chinese(client, language, english):
    message = send_and_read(client, token(client), **{"Accept-Language": language})
    assert message["text"].startswith("[Huawei Cloud Meeting]") is english


@pytest.mark.parametrize("given, echoed", [
    ("0123456789abcdef0123456789abcdef", True),
    ("57f3d111-e02a-4fb9-9878-554627feaf9d", False),
    ("<script>", False)])
def test_a_request_id_is_echoed_only_in_the_documented_shape(client, given, echoed):
    answer = client.post(SEND, headers={**token(client), "X-Request-Id": given}, json={"contact": PHONE})
    returned = answer.headers["x-request-id"]
    assert (returned == given) is echoed
    assert len(returned) == 32 and all(c in "0123456789abcdef" for c in returned)
