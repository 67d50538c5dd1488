"""Alibaba Cloud CAMS: the verification code of a WhatsApp number migration (seed 003, vendor-facts §3).

A code is scoped to the caller's AccessKeyId, the CustSpaceId and the PhoneNumber. The number's
`Data.Id` is the same on every answer for that scope: otpsim does not simulate the earlier
CreateChatappMigrationInitiate step that would have created it.
"""

import hashlib

from simulator.core.errors import SimError
from simulator.core.product import CodePolicy, ProductModule
from simulator.core.wiring import Needs

CODES = CodePolicy(wrong="VerifyCode.Invalid", expired="VerifyCode.Expired", throttled="VerifyCode.TooFrequent")
product = ProductModule("cams", needs=CODES.needs | Needs(errors=("System.LimitControl",), settings=("qps",)))

QPS_WINDOWS = "cams.qps"
# Synthetic wording: the vendor's messages are not documented. Keyed by Locale, then by its language.
TRADITIONAL_CHINESE = "您的 WhatsApp Business 驗證碼為 {code}，{minutes} 分鐘內有效，請勿洩露。"
TEXTS = {
    "zh_TW": TRADITIONAL_CHINESE,
    "zh_HK": TRADITIONAL_CHINESE,
    "zh": "您的 WhatsApp Business 验证码为 {code}，{minutes} 分钟内有效，请勿泄露。",
    "id": "Kode verifikasi WhatsApp Business Anda adalah {code}. Berlaku selama {minutes} menit. Jangan bagikan kode ini.",
    "en": "Your WhatsApp Business verification code is {code}. It is valid for {minutes} minutes. Do not share it.",
}


def _text(locale: str, code: str, channel: str, minutes: int) -> str:
    template = TEXTS.get(locale) or TEXTS.get(locale.split("_")[0].lower()) or TEXTS["en"]
    # A voice call reads the digits out one by one.
    shown = " ".join(code) if channel == "voice" else code
    return template.format(code=shown, minutes=minutes)


def _caller(call) -> str:
    return call.principal["access_key_id"]


def _within_flow_control(call):
    """Seed 003: 10 requests a second per user and action; one more is System.LimitControl."""
    key = (_caller(call), call.operation.id)
    if not call.world.store.hit(QPS_WINDOWS, key, call.settings["qps"], 1.0):
        raise SimError("System.LimitControl")


def _scope(call) -> str:
    return f"{_caller(call)}:{call.params['CustSpaceId']}"


def _phone_data(call) -> dict:
    """The number's Data.Id: an 11-digit id (as the seed's "8282889****") drawn from the world's seed
    and the (caller, CustSpaceId, PhoneNumber) it belongs to, so it is the same on every answer
    without being stored (a run that sees a million numbers remembers none of them)."""
    phone = call.params["PhoneNumber"]
    identity = f"{call.world.seed}/{_caller(call)}/{call.params['CustSpaceId']}/{phone}".encode()
    digest = int.from_bytes(hashlib.blake2b(identity, digest_size=8).digest(), "big")
    return {"PhoneNumber": phone, "Id": str(10**10 + digest % (9 * 10**10))}


def _ok(call, message: str) -> dict:
    return {
        "RequestId": call.request_id, "Code": "OK", "Message": message,
        "Data": _phone_data(call), "AccessDeniedDetail": "None",
    }


@product.operation("GetMigrationVerifyCode")
async def get_migration_verify_code(call):
    _within_flow_control(call)
    params = call.params
    code = CODES.issue(call, _scope(call), params["PhoneNumber"])
    channel = params["Method"]
    text = _text(params["Locale"], code, channel, call.settings["code_ttl_s"] // 60)
    call.send_code(channel, params["PhoneNumber"], code, text)
    return _ok(call, "None")  # the seed's example answers Message "None"


@product.operation("ChatappMigrationVerified")
async def chatapp_migration_verified(call):
    _within_flow_control(call)
    CODES.check(call, _scope(call), call.params["PhoneNumber"], call.params["VerifyCode"])
    return _ok(call, "SUCCESS")  # vendor-facts §3.4: Message example SUCCESS
