"""Huawei Cloud OSM: contact verification for service tickets and the case that consumes it
(seeds: Verifying Contact Methods, Obtaining Verification Code; the API pages named in openapi/osm.yaml, the huaweicloudsdkosm models)."""

from datetime import datetime, timezone

from simulator.core.errors import SimError
from simulator.core.product import CodePolicy, ProductModule
from simulator.core.wiring import Needs
from simulator.core.world.clock import iso_utc

NOT_VERIFIED = "OSM.01010010"
CODES = CodePolicy(wrong=NOT_VERIFIED, throttled="OSM.01010024")
product = ProductModule("osm", needs=CODES.needs | Needs(
    errors=("OSM.01010001",), settings=("verified_ttl_s", "area_codes")))

CHANNELS = {0: "sms", 1: "email"}
TEXTS = {
    "zh": "【华为云】您的验证码为{code}，{minutes}分钟内有效，请勿泄露。",
    "en": "[HUAWEI CLOUD] Your verification code is {code}. It is valid for {minutes} minutes. Do not share it.",
}
VERIFIED = "osm-verified"
CASES = "osm-cases"
# The verified_id header of each channel (contact_way) and the body field naming the contact it proves.
PROOFS = {0: ("x-phone-verifiedid", "remind_mobile"), 1: ("x-email-verifiedid", "remind_mail")}
SUCCESS = {}  # the documented 200 body carrying no error (openapi/osm.yaml, BusinessResult)


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
    code = await CODES.issue(call, _account(call), repr(_contact(body)))
    text = TEXTS[_language(call)].format(code=code, minutes=call.settings["code_ttl_s"] // 60)
    await call.send_code(CHANNELS[body["contact_way"]], body["contact_value"], code, text)
    return SUCCESS


@product.operation("CheckVerifyCodes")
async def check_verify_codes(call):
    body, world = call.body, call.world
    contact = _contact(body)
    account = _account(call)
    await CODES.check(call, account, repr(contact), body["verify_code"])
    ttl = call.settings["verified_ttl_s"]
    record = {
        "contact_way": contact[0], "contact_value": contact[2], "area_code": contact[1],
        "verified_id": f"{(await world.draw('osm.verified-id', account)).getrandbits(80):020x}", "expires_at": world.clock.now() + ttl,
        "customer_id": body.get("customer_id") or "", "sub_customer_id": body.get("x_customer_id") or "",
    }
    await world.store.put(VERIFIED, (account, contact), record, ttl=ttl)
    return SUCCESS


@product.operation("CheckNeedVerify")
async def check_need_verify(call):
    query = call.params
    contact = (query["contact_way"], query.get("area_code") or "", query["contact_value"])
    record = await call.world.store.get(VERIFIED, (_account(call), contact))
    if record is None:
        return {"need_verify_code": 1, "expire_time": None}
    return {"need_verify_code": 0, "expire_time": iso_utc(record["expires_at"])}


async def _verified_by(call, account: str) -> list[dict]:
    """The caller's live verified contacts, oldest first."""
    return [record for (owner, _), record in await call.world.store.items(VERIFIED) if owner == account]


def _moment(text: str) -> float:
    """Epoch seconds of an ISO 8601 time (a bare one is UTC); OSM.01010001 when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SimError("OSM.01010001") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@product.operation("ListHasVerifiedContacts")
async def list_has_verified_contacts(call):
    query = call.params
    filters = {k: query[k] for k in ("contact_way", "contact_value", "area_code", "verified_id",
                                     "customer_id", "sub_customer_id") if k in query}
    still_verified_at = _moment(query["expired_time"]) if "expired_time" in query else None
    matching = [
        {k: record[k] for k in ("contact_way", "contact_value", "area_code", "verified_id")}
        for record in await _verified_by(call, _account(call))
        if all(record[k] == v for k, v in filters.items())
        and (still_verified_at is None or record["expires_at"] > still_verified_at)
    ]
    offset, limit = query.get("offset", 0), query.get("limit", 10)
    return {"count": len(matching), "contact_list": matching[offset:offset + limit]}


async def _prove_contacts(call, account: str) -> None:
    """Each remind contact is proved by a live verified_id of the caller on its channel, or by a code
    sent to it; a verified_id sent at all must be live and, with a remind contact, be that contact's."""
    body = call.body
    verified = await _verified_by(call, account)
    for way, (header, field) in PROOFS.items():
        verified_id, contact_value = call.headers.get(header), body.get(field)
        if verified_id is not None:
            record = next((r for r in verified if r["verified_id"] == verified_id and r["contact_way"] == way), None)
            if record is None or (contact_value and contact_value != record["contact_value"]):
                raise SimError(NOT_VERIFIED)
        elif contact_value:
            if "verify_code" not in body:
                raise SimError(NOT_VERIFIED)
            contact = (way, body.get("area_code") or "", contact_value)   # as SendVerifyCodes keyed it
            await CODES.check(call, account, repr(contact), body["verify_code"])


@product.operation("CreateCases")
async def create_cases(call):
    account = _account(call)
    await _prove_contacts(call, account)
    world = call.world
    day = world.clock.utcnow().strftime("%Y%m%d")
    number = await world.store.incr(CASES, day)
    return {"incident_id": f"CS{day}{number:06d}"}


@product.operation("ListAreaCodes")
async def list_area_codes(call):
    language = call.headers.get("x-language", "zh-cn").lower()
    return {"area_code_list": [
        {"id": entry["id"], "area_code": entry["area_code"],
         "area_name": entry["area_name"].get(language) or entry["area_name"].get("zh-cn", "")}
        for entry in call.settings["area_codes"]
    ]}
