"""OneAccess through HTTP: solve the slider captcha from its own images, validate it, send an SMS
code, read it from the outbox; the captcha rules (tolerance, one shot, expiry); every catalogue code."""

import json

import httpx
import pytest
from starlette.testclient import TestClient

from simulator.core.compose import create_simulator, standard_parts
from slider_helpers import image, solve

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

CAPTCHA = "/api/v2/sdk/captcha"
VERIFY = "/api/v2/sdk/captcha/verify"
SMS = "/api/v2/sdk/sms/send"
SMS_LOGIN = "/api/v2/sdk/login/mobile-verify-code"
REGISTER = "/api/v2/sdk/register/mobile-verify-code"
PASSWORD_LOGIN = "/api/v2/sdk/login"
MFA = "/api/v2/sdk/mfa/sms"
RESET = "/api/v2/sdk/pwd/update-by-mobile"
MFA_MOBILE = "12345678902"   # scenarios/default.yaml: sim-mfa-user, mfa: sms
HEADERS = {  # the vendor's example request (openapi/oneaccess.yaml)
    "X-operating-sys-version": "Android 10",
    "X-device-fingerprint": "156aysdna213sac",
    "X-device-ip": "10.10.10.1",
    "X-agent": "Mozilla/5.0 (Linux; Android 10; Redmi K30 Build/QKQ1.190825.002; wv)",
    "X-L": "zh",
    "X-client-id": "DRrYIqauawN0I8myTMoDTPys6ezGZxnm",
    "X-tenant-id": "08f770f51f80d2f40f38c00cb199fd21",
}
MOBILE = "12345678901"
CATALOGUE = standard_parts().products["oneaccess"].catalogue


def get_captcha(client) -> dict:
    response = client.get(CAPTCHA, headers=HEADERS)
    assert response.status_code == 200
    return response.json()


def validate(client, token, x, y=5.0, sender=MOBILE):
    point_json = json.dumps({"x": x, "y": y})
    return client.post(VERIFY, headers=HEADERS, json={"point_json": point_json, "token": token, "sender": sender})


def captcha_token_for(client, mobile=MOBILE) -> str:
    captcha = get_captcha(client)
    response = validate(client, captcha["token"], solve(captcha), sender=mobile)
    assert response.status_code == 200
    return response.json()["captcha_token"]


def send_sms(client, captcha_token, mobile=MOBILE, sms_type="BIND_MOBILE_SMS", headers=HEADERS):
    return client.post(SMS, headers=headers, json={"mobile": mobile, "type": sms_type, "captcha_token": captcha_token})


def assert_error(response, key):
    entry = CATALOGUE[key]
    assert response.status_code == entry.status
    assert response.json() == {"error_code": entry.code, "error_msg": entry.message}


def manual_clock(client):
    client.post("/__otpsim/clock", json={"mode": "manual"})


def advance(client, seconds):
    client.post("/__otpsim/clock", json={"advance": seconds})


def test_get_captcha_answers_the_captcha_vo_with_a_png_pair(client):
    captcha = get_captcha(client)
    assert list(captcha) == [
        "captchaId", "projectCode", "captchaOriginalPath", "captchaFontType", "captchaFontSize", "secretKey",
        "originalImageBase64", "point", "jigsawImageBase64", "wordList", "pointList", "pointJson", "token",
        "result", "captchaVerification",
    ]
    assert captcha["result"] is False
    assert len(captcha["token"]) == 32
    background, jigsaw = image(captcha["originalImageBase64"]), image(captcha["jigsawImageBase64"])
    assert (background.format, background.size) == ("PNG", (310, 155))
    assert (jigsaw.format, jigsaw.mode, jigsaw.size) == ("PNG", "RGBA", (47, 155))


def test_the_same_seed_draws_the_same_captcha():
    def first_captcha():
        with TestClient(create_simulator()) as client:
            return get_captcha(client)

    assert first_captcha() == first_captcha()


def test_solve_validate_send_and_read_the_code(client):
    captcha = get_captcha(client)
    x = solve(captcha)
    validated = validate(client, captcha["token"], x)
    assert validated.status_code == 200
    assert validated.json() == {"captcha_token": f'{captcha["token"]}---{{"x":{x}.0,"y":5.0}}'}

    sent = send_sms(client, validated.json()["captcha_token"])
    assert sent.status_code == 200 and sent.content == b""
    message = client.get("/__otpsim/outbox/latest", params={"to": MOBILE}).json()
    assert (message["product"], message["operation"], message["channel"]) == ("oneaccess", "oneaccess.SendSmsVerifyCode", "sms")   # named as the journal and scenarios name it
    assert len(message["code"]) == 6 and message["code"].isdigit()
    assert message["code"] in message["text"] and "验证码" in message["text"]


def test_the_flow_over_a_real_socket(live):
    with httpx.Client(base_url=live.url) as client:
        assert send_sms(client, captcha_token_for(client)).status_code == 200
        assert client.get("/__otpsim/outbox/latest", params={"to": MOBILE}).json()["product"] == "oneaccess"


def test_sms_text_follows_x_l(client):
    send_sms(client, captcha_token_for(client), headers={**HEADERS, "X-L": "en"})
    text = client.get("/__otpsim/outbox/latest", params={"to": MOBILE}).json()["text"]
    assert text.startswith("[OneAccess] Your verification code is")


@pytest.mark.parametrize("offset, passes", [(5, True), (-5, True), (6, False), (-6, False)])
def test_x_tolerance_is_five_pixels(client, offset, passes):
    captcha = get_captcha(client)
    response = validate(client, captcha["token"], solve(captcha) + offset)
    if passes:
        assert response.status_code == 200
    else:
        assert_error(response, "CAPTCHA.0002")


def test_y_must_be_five(client):
    captcha = get_captcha(client)
    assert_error(validate(client, captcha["token"], solve(captcha), y=6.0), "CAPTCHA.0002")


@pytest.mark.parametrize("first_offset", [0, 20])
def test_a_captcha_is_checked_once_pass_or_fail(client, first_offset):
    captcha = get_captcha(client)
    x = solve(captcha)
    validate(client, captcha["token"], x + first_offset)
    assert_error(validate(client, captcha["token"], x), "CAPTCHA.0003")


def test_a_captcha_expires_after_two_minutes(client):
    manual_clock(client)
    captcha = get_captcha(client)
    advance(client, 120)
    assert_error(validate(client, captcha["token"], solve(captcha)), "CAPTCHA.0001")


def test_a_captcha_token_buys_one_send_to_its_own_mobile(client):
    captcha_token = captcha_token_for(client)
    assert_error(send_sms(client, captcha_token, mobile="10987654321"), "CAPTCHA.0004")
    tampered = captcha_token.replace('"y":5.0', '"y":6.0')
    assert_error(send_sms(client, tampered), "CAPTCHA.0004")
    assert send_sms(client, captcha_token).status_code == 200
    assert_error(send_sms(client, captcha_token), "CAPTCHA.0003")


def test_a_captcha_token_expires_after_three_minutes(client):
    manual_clock(client)
    captcha_token = captcha_token_for(client)
    advance(client, 180)
    assert_error(send_sms(client, captcha_token), "CAPTCHA.0004")


def test_resend_within_a_minute_is_refused_and_keeps_the_captcha_token(client):
    manual_clock(client)
    assert send_sms(client, captcha_token_for(client)).status_code == 200
    second = captcha_token_for(client)
    assert_error(send_sms(client, second), "SMS.0001")
    assert send_sms(client, second, sms_type="LOGIN_SMS").status_code == 200  # another scene, its own interval
    third = captcha_token_for(client)
    advance(client, 60)
    assert send_sms(client, third).status_code == 200


def test_the_seed_examples_spaced_type_is_refused(client):
    assert_error(send_sms(client, captcha_token_for(client), sms_type="BIND_MOBILE_ SMS "), "COMMON.0002")


def without(header):
    return {k: v for k, v in HEADERS.items() if k != header}


def _point_json_nan(client):
    token = get_captcha(client)["token"]
    return client.post(VERIFY, headers=HEADERS, json={"point_json": '{"x":NaN,"y":5.0}', "token": token, "sender": MOBILE})


def _checked_twice(client):
    token = get_captcha(client)["token"]
    validate(client, token, 0)
    return validate(client, token, 0)


def _sent_twice(client):
    send_sms(client, captcha_token_for(client))
    return send_sms(client, captcha_token_for(client))


def sent_code(client, mobile, sms_type) -> str:
    """captcha -> solved from its images -> SMS of `sms_type` -> the code, read from the outbox."""
    assert send_sms(client, captcha_token_for(client, mobile), mobile=mobile, sms_type=sms_type).status_code == 200
    return client.get("/__otpsim/outbox/latest", params={"to": mobile}).json()["code"]


def _state_token(client, mobile=MFA_MOBILE, user_name="sim-mfa-user"):
    answer = client.post(PASSWORD_LOGIN, headers=HEADERS, json={"user_name": user_name, "password": "Sim-Passw0rd!"})
    assert answer.json()["status"] == "MFA_AUTH"
    return answer.json()["state_token"]


def _login_code_twice(client):
    code = sent_code(client, MOBILE, "LOGIN_SMS")
    client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code})
    return client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code})


def _login_code_expired(client):
    manual_clock(client)
    code = sent_code(client, MOBILE, "LOGIN_SMS")
    advance(client, 301)
    return client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code})


# One request per catalogue entry that draws exactly that answer.
REACHES = {
    "SMS.0002": _login_code_twice,
    "SMS.0003": _login_code_expired,
    "ACCOUNT.0001": lambda c: c.post(SMS_LOGIN, headers=HEADERS, json={"mobile": "19999999999", "verify_code": "1"}),
    "ACCOUNT.0002": lambda c: c.post(REGISTER, headers=HEADERS, json={"mobile": MOBILE, "verify_code": "1"}),
    "ACCOUNT.0003": lambda c: c.post(PASSWORD_LOGIN, headers=HEADERS, json={"user_name": "sim-user", "password": "x"}),
    "STATE.0001": lambda c: c.post(MFA, headers={**HEADERS, "X-state-token": "f" * 64},
                                   json={"mobile": MFA_MOBILE, "verify_code": "1"}),
    "APP.0001": lambda c: c.get(CAPTCHA, headers={**HEADERS, "X-client-id": "not-registered"}),
    "APP.0002": lambda c: c.get(CAPTCHA, headers=without("X-client-id")),
    "USER.0038": lambda c: send_sms(c, "any", mobile="1234567890a"),
    "CAPTCHA.0001": lambda c: validate(c, "f" * 32, 100),
    "CAPTCHA.0002": lambda c: validate(c, get_captcha(c)["token"], -100),
    "CAPTCHA.0003": _checked_twice,
    "CAPTCHA.0004": lambda c: send_sms(c, "f" * 32 + '---{"x":100.0,"y":5.0}'),
    "SMS.0001": _sent_twice,
    "COMMON.0001": lambda c: c.get(CAPTCHA, headers=without("X-agent")),
    "COMMON.0002": _point_json_nan,
    "COMMON.0003": lambda c: c.get(CAPTCHA, headers={**HEADERS, "X-Otpsim-Error": "COMMON.0003"}),
    "COMMON.0004": lambda c: c.get("/api/v2/sdk/captchas", headers=HEADERS),
}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_catalogue_code_is_reachable(client, key):
    assert key in REACHES, f"no request reaches {key}"
    assert_error(REACHES[key](client), key)


@pytest.mark.parametrize("header", ["X-operating-sys-version", "X-device-fingerprint", "X-agent"])
def test_each_required_header_is_enforced(client, header):
    assert_error(client.get(CAPTCHA, headers=without(header)), "COMMON.0001")


def test_optional_headers_may_be_left_out(client):
    headers = {k: v for k, v in HEADERS.items() if k not in ("X-device-ip", "X-L", "X-tenant-id")}
    assert client.get(CAPTCHA, headers=headers).status_code == 200


def test_broken_json_is_a_bad_parameter(client):
    response = client.post(SMS, headers={**HEADERS, "Content-Type": "application/json;charset=utf8"}, content=b"{")
    assert_error(response, "COMMON.0002")


# --- the APIs that take the SMS code ----------------------------------------------------------

def test_captcha_sms_login_token_and_the_same_code_refused_a_second_time(client):
    code = sent_code(client, MOBILE, "LOGIN_SMS")
    login = client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code})
    assert login.status_code == 200
    answer = login.json()
    assert answer["status"] == "SUCCESS" and answer["expire"] == 604800 and len(answer["session_token"]) == 64
    again = client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code})
    assert_error(again, "SMS.0002")


def test_a_code_is_for_the_scene_it_was_sent_for(client):
    code = sent_code(client, MOBILE, "BIND_MOBILE_SMS")
    assert_error(client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code}), "SMS.0002")


def test_a_registered_user_can_log_in_by_sms_and_by_password(client):
    mobile = "13912345678"
    assert_error(client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": mobile, "verify_code": "1"}), "ACCOUNT.0001")
    code = sent_code(client, mobile, "REGISTER_SMS")
    registered = client.post(REGISTER, headers=HEADERS, json={
        "mobile": mobile, "verify_code": code, "user_name": "zhangsan", "pwd": "Zh4ngsan-Pwd"})
    assert registered.status_code == 200 and registered.json()["status"] == "SUCCESS"
    assert_error(client.post(REGISTER, headers=HEADERS, json={"mobile": mobile, "verify_code": code}), "ACCOUNT.0002")
    by_password = client.post(PASSWORD_LOGIN, headers=HEADERS, json={"user_name": "zhangsan", "password": "Zh4ngsan-Pwd"})
    assert by_password.json()["status"] == "SUCCESS"
    client.post("/__otpsim/clock", json={"mode": "manual"})
    client.post("/__otpsim/clock", json={"advance": 61})
    code = sent_code(client, mobile, "LOGIN_SMS")
    assert client.post(SMS_LOGIN, headers=HEADERS, json={"mobile": mobile, "verify_code": code}).status_code == 200


def test_a_password_reset_by_mobile_changes_the_login(client):
    old = {"user_name": "sim-user", "password": "Sim-Passw0rd!"}
    assert client.post(PASSWORD_LOGIN, headers=HEADERS, json=old).json()["status"] == "SUCCESS"
    code = sent_code(client, MOBILE, "FORGET_PWD_SMS")
    reset = client.post(RESET, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code, "password": "N3w-Passw0rd"})
    assert (reset.status_code, reset.content) == (200, b"")
    assert_error(client.post(PASSWORD_LOGIN, headers=HEADERS, json=old), "ACCOUNT.0003")
    new = client.post(PASSWORD_LOGIN, headers=HEADERS, json={"user_name": MOBILE, "password": "N3w-Passw0rd"})
    assert new.json()["status"] == "SUCCESS"
    again = client.post(RESET, headers=HEADERS, json={"mobile": MOBILE, "verify_code": code, "password": "x"})
    assert_error(again, "SMS.0002")


def test_password_login_with_a_second_factor_by_sms(client):
    state_token = _state_token(client)
    code = sent_code(client, MFA_MOBILE, "OTP_REST_SMS")
    headers = {**HEADERS, "X-state-token": state_token}
    assert_error(client.post(MFA, headers=headers, json={"mobile": MOBILE, "verify_code": code}), "STATE.0001")
    passed = client.post(MFA, headers=headers, json={"mobile": MFA_MOBILE, "verify_code": code})
    assert passed.status_code == 200 and passed.json()["status"] == "SUCCESS"
    assert_error(client.post(MFA, headers=headers, json={"mobile": MFA_MOBILE, "verify_code": code}), "STATE.0001")
    assert_error(client.post(MFA, headers=HEADERS, json={"mobile": MFA_MOBILE, "verify_code": code}), "COMMON.0001")
