"""Huawei OneAccess SDK APIs: slider captcha, then an SMS code (seed 004, vendor-facts §4).

The flow is AJ-Captcha's (vendor-facts §4.2): GetCaptcha hides an x offset behind a token;
ValidateCaptcha spends that token on its first check, pass or fail, and on a pass hands out
`token---{"x":..,"y":..}`; SendSmsVerifyCode spends that captcha_token on one send to the mobile
it was validated for.
"""

import base64
import json
import math
import string

from simulator.core.errors import SimError
from simulator.core.product import CodePolicy, ProductModule
from simulator.core.wiring import Needs

SMS_CODES = CodePolicy(throttled="SMS.0001", length="sms_code_length", ttl="sms_code_ttl_s",
                       resend="sms_resend_interval_s")
product = ProductModule("oneaccess", needs=SMS_CODES.needs | Needs(
    errors=("COMMON.0002", "CAPTCHA.0001", "CAPTCHA.0002", "CAPTCHA.0003", "CAPTCHA.0004"),
    settings=("captcha_width", "captcha_height", "jigsaw_width", "captcha_ttl_s", "captcha_tolerance_px", "captcha_y",
              "captcha_token_ttl_s")))

CAPTCHAS = "oneaccess-captchas"                  # token -> hidden x
CHECKED_CAPTCHAS = "oneaccess-captchas-checked"  # token -> True: a second check is "already used"
CAPTCHA_TOKENS = "oneaccess-captcha-tokens"      # token -> {"captcha_token", "sender"}
SPENT_CAPTCHA_TOKENS = "oneaccess-captcha-tokens-spent"
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
    from simulator.products._captcha_images import draw_slider_captcha  # Pillow on first use: 3 MB most runs never need

    settings, world = call.settings, call.world
    captcha = draw_slider_captcha(world.rng, settings["captcha_width"], settings["captcha_height"],
                                  settings["jigsaw_width"])
    token = f"{world.rng.getrandbits(128):032x}"
    world.store.put(CAPTCHAS, token, captcha.x, ttl=settings["captcha_ttl_s"])
    secret_key = "".join(world.rng.choice(string.ascii_letters + string.digits) for _ in range(SECRET_KEY_LENGTH))
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
    hidden_x = store.pop(CAPTCHAS, token)
    if hidden_x is None:
        raise SimError("CAPTCHA.0003" if store.get(CHECKED_CAPTCHAS, token) else "CAPTCHA.0001")
    store.put(CHECKED_CAPTCHAS, token, True, ttl=settings["captcha_ttl_s"])
    x, y = _point(body["point_json"])
    if abs(x - hidden_x) > settings["captcha_tolerance_px"] or y != settings["captcha_y"]:
        raise SimError("CAPTCHA.0002")
    # Java doubles, as the vendor's example prints them: 237.0
    captcha_token = f'{token}{SEPARATOR}{{"x":{x!r},"y":{y!r}}}'
    store.put(CAPTCHA_TOKENS, token, {"captcha_token": captcha_token, "sender": body["sender"]},
              ttl=settings["captcha_token_ttl_s"])
    return {"captcha_token": captcha_token}


@product.operation("SendSmsVerifyCode")
async def send_sms_verify_code(call):
    body, settings, world = call.body, call.settings, call.world
    mobile, captcha_token = body["mobile"], body["captcha_token"]
    token = captcha_token.partition(SEPARATOR)[0]
    issued = world.store.get(CAPTCHA_TOKENS, token)
    if issued is None or issued["captcha_token"] != captcha_token or issued["sender"] != mobile:
        raise SimError("CAPTCHA.0003" if world.store.get(SPENT_CAPTCHA_TOKENS, token) else "CAPTCHA.0004")
    code = SMS_CODES.issue(call, body["type"], mobile)
    world.store.pop(CAPTCHA_TOKENS, token)
    world.store.put(SPENT_CAPTCHA_TOKENS, token, True, ttl=settings["captcha_token_ttl_s"])
    minutes = math.ceil(settings["sms_code_ttl_s"] / 60)
    text = SMS_TEXTS[_language(call)].format(code=code, minutes=minutes)
    call.send_code("sms", mobile, code, text)
    return None
