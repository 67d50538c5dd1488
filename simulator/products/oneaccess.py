"""Huawei OneAccess SDK APIs: slider captcha, then an SMS code, then the APIs that take the code
(the OneAccess API pages named in openapi/oneaccess.yaml).

The flow is AJ-Captcha's (its sources are cited in openapi/oneaccess.yaml): GetCaptcha hides an x
offset behind a token;
ValidateCaptcha spends that token on its first check, pass or fail, and on a pass hands out
`token---{"x":..,"y":..}`; SendSmsVerifyCode spends that captcha_token on one send to the mobile
it was validated for. The code is for the scene its `type` names, and the API of that scene uses
it up: an SMS login, a registration, a second factor, a password reset. Users are the scenario's
`oneaccess_users` plus those registered here; a registration or a password reset is kept in the
world store, so the next login sees it.
"""

import base64
import hmac
import json
import math
import string

from simulator.core.errors import SimError
from simulator.core.product import CodePolicy, CredentialKind, ProductModule
from simulator.core.wiring import Needs
from simulator.core.world.store import KEEP
from simulator.products._slider import Sliders

SMS_CODES = CodePolicy(wrong="SMS.0002", expired="SMS.0003", throttled="SMS.0001", length="sms_code_length",
                       ttl="sms_code_ttl_s", resend="sms_resend_interval_s")
product = ProductModule("oneaccess", credentials={
    "oneaccess_users": CredentialKind(required=("mobile",), optional=("user_name", "password", "mfa"),
                                      description="OneAccess users: mfa 'sms' makes a password login ask for the SMS second factor"),
}, needs=SMS_CODES.needs | Needs(
    errors=("COMMON.0002", "CAPTCHA.0001", "CAPTCHA.0002", "CAPTCHA.0003", "CAPTCHA.0004",
            "ACCOUNT.0001", "ACCOUNT.0002", "ACCOUNT.0003", "STATE.0001"),
    settings=("captcha_width", "captcha_height", "jigsaw_width", "captcha_ttl_s", "captcha_tolerance_px", "captcha_y",
              "captcha_token_ttl_s", "session_token_ttl_s", "state_token_ttl_s")))

CAPTCHAS = Sliders("oneaccess-captchas")
CAPTCHA_TOKENS = "oneaccess-captcha-tokens"      # token -> {"captcha_token", "sender"}
SPENT_CAPTCHA_TOKENS = "oneaccess-captcha-tokens-spent"
USERS = "oneaccess-users"                        # mobile -> user, as registered or changed here
SESSIONS = "oneaccess-sessions"                  # session_token -> mobile
STATE_TOKENS = "oneaccess-state-tokens"          # state_token -> mobile, for the second factor
SEPARATOR = "---"
SECRET_KEY_LENGTH = 16
SMS_TEXTS = {
    "zh": "【OneAccess】您的验证码是{code}，{minutes}分钟内有效，请勿泄露。",
    "en": "[OneAccess] Your verification code is {code}. It is valid for {minutes} minutes. Do not share it.",
}


def _language(call) -> str:
    return "en" if call.headers.get("x-l", "zh").lower().startswith("en") else "zh"


def _base64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _reject_constant(name):
    raise ValueError(name)


def _point(point_json: str) -> tuple[float, float]:
    """x and y of `{"x":..,"y":..}`; anything else is a bad parameter."""
    try:
        point = json.loads(point_json, parse_constant=_reject_constant)  # no NaN: it would match any x
        x, y = point["x"], point["y"]
    except (ValueError, TypeError, KeyError):
        raise SimError("COMMON.0002", field="point_json") from None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)):
        raise SimError("COMMON.0002", field="point_json")
    return float(x), float(y)


@product.operation("GetCaptcha")
async def get_captcha(call):
    settings, world = call.settings, call.world
    token, captcha = await CAPTCHAS.issue(call, settings["captcha_width"], settings["captcha_height"],
                                    settings["jigsaw_width"], settings["captcha_ttl_s"])
    rng = await world.draw("oneaccess.secret-key", token)
    secret_key = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(SECRET_KEY_LENGTH))
    return {
        "captchaId": None,
        "projectCode": None,
        "captchaOriginalPath": None,
        "captchaFontType": None,
        "captchaFontSize": None,
        "secretKey": secret_key,
        "originalImageBase64": _base64(captcha.background_png),
        "point": None,
        "jigsawImageBase64": _base64(captcha.jigsaw_png),
        "wordList": None,
        "pointList": None,
        "pointJson": None,
        "token": token,
        "result": False,
        "captchaVerification": None,
    }


@product.operation("ValidateCaptcha")
async def validate_captcha(call):
    body, settings, store = call.body, call.settings, call.world.store
    token = body["token"]
    issued = await CAPTCHAS.take(call, token, settings["captcha_ttl_s"])
    if issued is None:
        raise SimError("CAPTCHA.0003" if await CAPTCHAS.used(call, token) else "CAPTCHA.0001")
    hidden_x = issued[0]
    x, y = _point(body["point_json"])
    if abs(x - hidden_x) > settings["captcha_tolerance_px"] or y != settings["captcha_y"]:
        raise SimError("CAPTCHA.0002")
    # Java doubles, as the vendor's example prints them: 237.0
    captcha_token = f'{token}{SEPARATOR}{{"x":{x!r},"y":{y!r}}}'
    await store.put(CAPTCHA_TOKENS, token, {"captcha_token": captcha_token, "sender": body["sender"]},
              ttl=settings["captcha_token_ttl_s"])
    return {"captcha_token": captcha_token}


@product.operation("SendSmsVerifyCode")
async def send_sms_verify_code(call):
    body, settings, world = call.body, call.settings, call.world
    mobile, captcha_token = body["mobile"], body["captcha_token"]
    token = captcha_token.partition(SEPARATOR)[0]
    ttl = settings["captcha_token_ttl_s"]

    def spend(values):   # the captcha token is good for one send: taken in the same step as it is checked
        issued = values[0]
        if issued is None or issued["captcha_token"] != captcha_token or issued["sender"] != mobile:
            return values, None
        return [None], issued

    issued = await world.store.update(CAPTCHA_TOKENS, [token], spend, ttl=KEEP)
    if issued is None:
        raise SimError("CAPTCHA.0003" if await world.store.get(SPENT_CAPTCHA_TOKENS, token) else "CAPTCHA.0004")
    try:
        code = await SMS_CODES.issue(call, body["type"], mobile)
    except SimError:   # a refused send leaves the captcha token usable, as the vendor's does
        await world.store.put(CAPTCHA_TOKENS, token, issued, ttl=ttl)
        raise
    await world.store.put(SPENT_CAPTCHA_TOKENS, token, True, ttl=ttl)
    minutes = math.ceil(settings["sms_code_ttl_s"] / 60)
    text = SMS_TEXTS[_language(call)].format(code=code, minutes=minutes)
    await call.send_code("sms", mobile, code, text)
    return None


async def _user(call, mobile: str) -> dict | None:
    """The user with this mobile: as registered or changed here, else as the scenario lists it."""
    return await call.world.store.get(USERS, mobile) or call.world.credentials.find("oneaccess_users", mobile=mobile)


async def _user_by_login(call, login: str) -> dict | None:
    """The user a password login names, by user name or mobile."""
    found = await _user(call, login)
    if found is not None:
        return found
    for _, user in await call.world.store.items(USERS):
        if user.get("user_name") == login:
            return user
    configured = call.world.credentials.find("oneaccess_users", user_name=login)
    return None if configured is None else await _user(call, configured["mobile"])


async def _token(call, mobile: str) -> str:
    return f"{(await call.world.draw('oneaccess.token', mobile)).getrandbits(256):064x}"


async def _session(call, user: dict) -> dict:
    ttl = call.settings["session_token_ttl_s"]
    token = await _token(call, user["mobile"])
    await call.world.store.put(SESSIONS, token, user["mobile"], ttl=ttl)
    return {"status": "SUCCESS", "session_token": token, "expire": ttl}


async def _known_user(call, mobile: str) -> dict:
    user = await _user(call, mobile)
    if user is None:
        raise SimError("ACCOUNT.0001")
    return user


@product.operation("LoginByMobileVerifyCode")
async def login_by_mobile_verify_code(call):
    mobile = call.body["mobile"]
    user = await _known_user(call, mobile)
    await SMS_CODES.check(call, "LOGIN_SMS", mobile, call.body["verify_code"])
    return await _session(call, user)


@product.operation("RegisterByMobile")
async def register_by_mobile(call):
    body = call.body
    mobile = body["mobile"]
    if await _user(call, mobile) is not None:
        raise SimError("ACCOUNT.0002")
    await SMS_CODES.check(call, "REGISTER_SMS", mobile, body["verify_code"])
    user = {"mobile": mobile, "user_name": body.get("user_name") or mobile}
    if body.get("pwd"):
        user["password"] = body["pwd"]
    await call.world.store.put(USERS, mobile, user)
    return await _session(call, user)


@product.operation("LoginByUserNamePwd")
async def login_by_user_name_pwd(call):
    body = call.body
    user = await _user_by_login(call, body["user_name"])
    if user is None or not user.get("password") or not hmac.compare_digest(
            str(user["password"]).encode(), body["password"].encode()):
        raise SimError("ACCOUNT.0003")
    if user.get("mfa") == "sms":
        token = await _token(call, user["mobile"])
        await call.world.store.put(STATE_TOKENS, token, user["mobile"], ttl=call.settings["state_token_ttl_s"])
        return {"status": "MFA_AUTH", "state_token": token}
    return await _session(call, user)


@product.operation("SecondaryAuthByMobileVerifyCode")
async def secondary_auth_by_mobile_verify_code(call):
    mobile, store = call.body["mobile"], call.world.store
    state_token = call.headers["x-state-token"]
    if await store.get(STATE_TOKENS, state_token) != mobile:
        raise SimError("STATE.0001")
    await SMS_CODES.check(call, "OTP_REST_SMS", mobile, call.body["verify_code"])
    await store.pop(STATE_TOKENS, state_token)
    return await _session(call, await _known_user(call, mobile))


@product.operation("GetBackPwdByMobile")
async def get_back_pwd_by_mobile(call):
    body = call.body
    mobile = body["mobile"]
    user = await _known_user(call, mobile)
    await SMS_CODES.check(call, "FORGET_PWD_SMS", mobile, body["verify_code"])
    await call.world.store.put(USERS, mobile, {**user, "password": body["password"]})
    return None
