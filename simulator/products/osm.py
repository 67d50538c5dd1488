"""Huawei Cloud OSM: contact verification for service tickets (seeds 000/001, vendor-facts §1)."""

from simulator.core.product import CodePolicy, ProductModule
from simulator.core.wiring import Needs
from simulator.core.world.clock import iso_utc

CODES = CodePolicy(wrong="OSM.01010010", throttled="OSM.01010024")
product = ProductModule("osm", needs=CODES.needs | Needs(settings=("verified_ttl_s",)))

CHANNELS = {0: "sms", 1: "email"}
TEXTS = {
    "zh": "【华为云】您的验证码为{code}，{minutes}分钟内有效，请勿泄露。",
    "en": "[HUAWEI CLOUD] Your verification code is {code}. It is valid for {minutes} minutes. Do not share it.",
}
VERIFIED = "osm-verified"


def _account(call) -> str:
    principal = call.principal or {}
    return str(principal.get("domain_id") or principal.get("domain") or principal.get("ak") or "anonymous")


def _contact(fields: dict) -> tuple:
    return fields["contact_way"], fields.get("area_code") or "", fields["contact_value"]


def _language(call) -> str:
    return "en" if call.headers.get("x-language", "zh-cn").lower().startswith("en") else "zh"


@product.operation("SendVerifyCodes")
async def send_verify_codes(call):
    body = call.body
    code = CODES.issue(call, _account(call), repr(_contact(body)))
    text = TEXTS[_language(call)].format(code=code, minutes=call.settings["code_ttl_s"] // 60)
    call.send_code(CHANNELS[body["contact_way"]], body["contact_value"], code, text)
    return None


@product.operation("CheckVerifyCodes")
async def check_verify_codes(call):
    body, world = call.body, call.world
    contact = _contact(body)
    account = _account(call)
    CODES.check(call, account, repr(contact), body["verify_code"])
    verified_id = f"{world.rng.getrandbits(80):020x}"
    record = {
        "contact_way": contact[0], "contact_value": contact[2], "area_code": contact[1],
        "verified_id": verified_id, "expires_at": world.clock.now() + call.settings["verified_ttl_s"],
    }
    world.store.put(VERIFIED, (account, contact), record, ttl=call.settings["verified_ttl_s"])
    return None


@product.operation("CheckNeedVerify")
async def check_need_verify(call):
    query = call.params
    contact = (query["contact_way"], query.get("area_code") or "", query["contact_value"])
    record = call.world.store.get(VERIFIED, (_account(call), contact))
    if record is None:
        return {"need_verify_code": 1, "expire_time": None}
    return {"need_verify_code": 0, "expire_time": iso_utc(record["expires_at"])}


@product.operation("ListHasVerifiedContacts")
async def list_has_verified_contacts(call):
    query = call.params
    account = _account(call)
    wanted = {k: query[k] for k in ("contact_way", "contact_value", "area_code") if k in query}
    contacts = [
        {k: record[k] for k in ("contact_way", "contact_value", "area_code", "verified_id")}
        for (owner, _), record in call.world.store.items(VERIFIED)
        if owner == account and all(record[k] == v for k, v in wanted.items())
    ]
    return {"count": len(contacts), "contact_list": contacts}
