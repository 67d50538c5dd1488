"""Alibaba Cloud CAMS: the verification codes of a WhatsApp number (the API pages named in
openapi/cams.yaml, the alibabacloud_cams20200606 models): a migration (CreateChatappMigrationInitiate →
GetMigrationVerifyCode → ChatappMigrationVerified → ChatappMigrationRegister) and a registration
(GetChatappVerifyCode → ChatappVerifyAndRegister), each number's verification readable by
GetPhoneNumberVerificationStatus.

Everything is scoped to the caller's AccessKeyId, the CustSpaceId and the PhoneNumber.
"""

import hashlib
from typing import NamedTuple

from simulator.core.errors import SimError
from simulator.core.product import CodePolicy, ProductModule
from simulator.core.wiring import Needs

CODES = CodePolicy(wrong="VerifyCode.Invalid", expired="VerifyCode.Expired", throttled="VerifyCode.TooFrequent")
NOT_VERIFIED = "PhoneNumber.NotVerified"
product = ProductModule("cams", needs=CODES.needs | Needs(
    errors=("System.LimitControl", NOT_VERIFIED), settings=("qps", "number_record_ttl_s")))

QPS_WINDOWS = "cams.qps"
NUMBERS = "cams.numbers"   # (caller, CustSpaceId, PhoneNumber) -> the number's record, below
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


async def _within_flow_control(call):
    """Seed 003: 10 requests a second per user and action; one more is System.LimitControl."""
    key = (_caller(call), call.operation.id)
    if not await call.world.store.hit(QPS_WINDOWS, key, call.settings["qps"], 1.0):
        raise SimError("System.LimitControl")


def _phone(call) -> str:
    params = call.params
    return params["PhoneNumber"] if "PhoneNumber" in params else params["CountryCode"] + params["MobileNumber"]


def _scope(call, purpose: str) -> str:
    """Codes of a migration and of a registration are apart: each verify call takes its own kind."""
    return f"{purpose}:{_caller(call)}:{call.params['CustSpaceId']}"


def _phone_data(call) -> dict:
    """The number's Data.Id: an 11-digit id (as the seed's "8282889****") drawn from the world's seed
    and the (caller, CustSpaceId, PhoneNumber) it belongs to, so it is the same on every answer
    without being stored."""
    phone = _phone(call)
    identity = f"{call.world.seed}/{_caller(call)}/{call.params['CustSpaceId']}/{phone}".encode()
    digest = int.from_bytes(hashlib.blake2b(identity, digest_size=8).digest(), "big")
    return {"PhoneNumber": phone, "Id": str(10**10 + digest % (9 * 10**10))}


def _ok(call, message: str, **fields) -> dict:
    return {"RequestId": call.request_id, "Code": "OK", "Message": message, **fields, "AccessDeniedDetail": "None"}


# --- the number's record: what each step leaves for the next ------------------------------------

class Number(NamedTuple):
    """A number's record. Stored as a plain tuple of its fields, which the garbage collector stops
    tracking: a dict kept every record's store entry tracked, and each full collection walked them
    all, pausing requests for 136 ms at 131,000 numbers (docs/performance.md, Shaped for speed)."""
    migration: str | None = None
    verified: bool = False
    code_lapses_at: float | None = None


def _key(call) -> tuple:
    return _caller(call), call.params["CustSpaceId"], _phone(call)


async def _record(call) -> Number:
    return Number(*await call.world.store.get(NUMBERS, _key(call), ()))


async def _update(call, **changes) -> None:
    await call.world.store.update(NUMBERS, [_key(call)], lambda records: (
        [tuple(Number(*records[0] or ())._replace(**changes))], None), ttl=call.settings["number_record_ttl_s"])


def _verification_status(call, record: Number) -> str:
    if record.verified:
        return "VERIFIED"
    lapses = record.code_lapses_at
    return "EXPIRED" if lapses is not None and call.world.clock.now() >= lapses else "NOT_VERIFIED"


async def _send(call, purpose: str) -> None:
    params = call.params
    code = await CODES.issue(call, _scope(call, purpose), params["PhoneNumber"])
    channel = params["Method"]
    text = _text(params["Locale"], code, channel, call.settings["code_ttl_s"] // 60)
    await call.send_code(channel, params["PhoneNumber"], code, text)
    await _update(call, code_lapses_at=call.world.clock.now() + call.settings["code_ttl_s"])


async def _verify(call, purpose: str) -> None:
    await CODES.check(call, _scope(call, purpose), call.params["PhoneNumber"], call.params["VerifyCode"])
    await _update(call, verified=True, code_lapses_at=None)


# --- the migration ------------------------------------------------------------------------------

@product.operation("CreateChatappMigrationInitiate")
async def create_chatapp_migration_initiate(call):
    await _within_flow_control(call)
    await _update(call, migration="MIGRATING", verified=False, code_lapses_at=None)   # a restart drops a verification
    return _ok(call, "SUCCESS", Data={**_phone_data(call), "Status": "MIGRATING"})


@product.operation("GetMigrationVerifyCode")
async def get_migration_verify_code(call):
    await _within_flow_control(call)
    await _send(call, "migration")
    return _ok(call, "None", Data=_phone_data(call))  # the seed's example answers Message "None"


@product.operation("ChatappMigrationVerified")
async def chatapp_migration_verified(call):
    await _within_flow_control(call)
    await _verify(call, "migration")
    # Message example SUCCESS (openapi/cams.yaml, ChatappMigrationVerified)
    return _ok(call, "SUCCESS", Data=_phone_data(call))


@product.operation("ChatappMigrationRegister")
async def chatapp_migration_register(call):
    await _within_flow_control(call)
    record = await _record(call)
    if record.migration is None or not record.verified:
        raise SimError(NOT_VERIFIED)
    await _update(call, migration="REGISTERED")
    return _ok(call, "SUCCESS")


@product.operation("GetPhoneNumberVerificationStatus")
async def get_phone_number_verification_status(call):
    await _within_flow_control(call)
    status = _verification_status(call, await _record(call))
    return _ok(call, "SUCCESS", Data={**_phone_data(call), "CodeVerificationStatus": status})


# --- a registration outside a migration -----------------------------------------------------------

@product.operation("GetChatappVerifyCode")
async def get_chatapp_verify_code(call):
    await _within_flow_control(call)
    await _send(call, "registration")
    return _ok(call, "SUCCESS", Success=True)


@product.operation("ChatappVerifyAndRegister")
async def chatapp_verify_and_register(call):
    await _within_flow_control(call)
    await _verify(call, "registration")
    return _ok(call, "SUCCESS", Success=True)
