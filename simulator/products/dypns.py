"""Alibaba Cloud SMS authentication (Dypnsapi 2017-05-25): the platform makes, sends and checks the code.

SendSmsVerifyCode puts a code where TemplateParam says `##code##` (CodeLength, CodeType) and keeps it
per caller, SchemeName and number for ValidTime seconds; DuplicatePolicy 1 lets only the newest one
pass, 2 every unexpired one. A second send within Interval seconds is biz.FREQUENCY.
CheckSmsVerifyCode answers `Code OK` in every case it can check: VerifyResult PASS for a good code
(used up by the check), UNKNOWN otherwise. Messages are tracked and reported as dysms's are.
"""

import hmac
import string

from simulator.core.errors import SimError
from simulator.core.product import ProductModule
from simulator.core.wiring import Needs
from simulator.core.world.store import KEEP
from simulator.products._alibaba_sms import (RECEIPT_SETTINGS, biz_id, mainland_number, parameter_defaults, render,
                                             send, send_details, template_variables)

product = ProductModule("dypns", callback_kinds=("dypns.report",), needs=Needs(
    errors=("isv.INVALID_PARAMETERS", "isv.MOBILE_NUMBER_ILLEGAL", "isv.VERIFY_SCHEME_NOT_EXIST", "biz.FREQUENCY"),
    settings=(*RECEIPT_SETTINGS, "schemes")))

CODES = "dypns.codes"
LAST_SENT = "dypns.last-sent"
PLACEHOLDER = "##code##"
MAINLAND_COUNTRY = "86"
ALPHABETS = {  # CodeType (SendSmsVerifyCodeRequest, the SDK's model)
    1: string.digits,
    2: string.ascii_uppercase,
    3: string.ascii_lowercase,
    4: string.ascii_letters,
    5: string.digits + string.ascii_uppercase,
    6: string.digits + string.ascii_lowercase,
    7: string.digits + string.ascii_letters,
}
CASE_INSENSITIVE = 1
KEEP_ALL = 2
SUCCESS_MESSAGE = "成功"   # Message of a live answer (the SDK capture); the return-code table says 请求成功


def _params(call) -> dict:
    return {**parameter_defaults(call.operation), **call.params}


def _ok(call, model: dict) -> dict:
    return {"Code": "OK", "Message": SUCCESS_MESSAGE, "Success": True, "Model": model, "RequestId": call.request_id}


def _number(call, params) -> str:
    """The national number; a non-mainland country is not served (mainland only, SendSmsVerifyCode page)."""
    if params["CountryCode"].lstrip("+") != MAINLAND_COUNTRY:
        raise SimError("isv.INVALID_PARAMETERS")
    number = mainland_number(params["PhoneNumber"])
    if number is None:
        raise SimError("isv.MOBILE_NUMBER_ILLEGAL")
    return number


def _key(call, params, number) -> tuple:
    scheme = params.get("SchemeName") or ""
    schemes = call.settings["schemes"]
    if scheme and schemes and scheme not in schemes:
        raise SimError("isv.VERIFY_SCHEME_NOT_EXIST")
    return call.principal["access_key_id"], scheme, number


async def _new_code(world, number: str, length: int, code_type: int) -> str:
    """Drawn for the number: its n-th code is fixed by the seed, whatever else is sent meanwhile."""
    rng, alphabet = await world.draw("dypns.code", number), ALPHABETS[code_type]
    return "".join(rng.choice(alphabet) for _ in range(length))


@product.operation("SendSmsVerifyCode")
async def send_sms_verify_code(call):
    params, settings, world = _params(call), call.settings, call.world
    number = _number(call, params)
    key = _key(call, params, number)
    values = template_variables(params["TemplateParam"], "isv.INVALID_PARAMETERS")
    now = world.clock.now()
    interval = params["Interval"]
    if not await world.store.update(LAST_SENT, [key], lambda last: (
            ([now], True) if last[0] is None or now - last[0] >= interval else (last, False)), ttl=interval):
        raise SimError("biz.FREQUENCY")
    generated = any(PLACEHOLDER in value for value in values.values())
    code = await _new_code(world, number, params["CodeLength"], params["CodeType"]) if generated else values.get("code", "")
    values = {name: value.replace(PLACEHOLDER, code) for name, value in values.items()}
    text = render(settings, params["TemplateCode"], params["SignName"], values, None)
    if generated:  # a literal code is sent as is: the platform cannot check it (SendSmsVerifyCode page)
        valid_s, keep_all = params["ValidTime"], params["DuplicatePolicy"] == KEEP_ALL
        await world.store.update(CODES, [key], lambda codes: ([(
            tuple(entry for entry in codes[0] or () if entry[1] > now) if keep_all else ()) + ((code, now + valid_s),)],
            None), ttl=valid_s)
    biz = await biz_id(world, call.principal["access_key_id"])
    await send(call, params["PhoneNumber"], code, text,
         {"biz_id": biz, "out_id": params.get("OutId"), "template_code": params["TemplateCode"], "content": text})
    model = {"BizId": biz, "RequestId": call.request_id}
    if params.get("OutId") is not None:
        model["OutId"] = params["OutId"]
    if params["ReturnVerifyCode"]:
        model["VerifyCode"] = code
    return _ok(call, model)


def _matches(given: str, sent: str, policy: int) -> bool:
    if policy == CASE_INSENSITIVE:
        given, sent = given.lower(), sent.lower()
    return hmac.compare_digest(given.encode(), sent.encode())


@product.operation("CheckSmsVerifyCode")
async def check_sms_verify_code(call):
    params, world = _params(call), call.world
    key = _key(call, params, _number(call, params))
    now, given, policy = world.clock.now(), params["VerifyCode"], params["CaseAuthPolicy"]

    def spend(values):   # a code is good once
        codes = [entry for entry in values[0] or () if entry[1] > now]
        passed = next((entry for entry in codes if _matches(given, entry[0], policy)), None)
        if passed is None:
            return values, None
        return [tuple(entry for entry in codes if entry is not passed) or None], passed

    passed = await world.store.update(CODES, [key], spend, ttl=KEEP)
    model = {"VerifyResult": "PASS" if passed is not None else "UNKNOWN"}
    if params.get("OutId") is not None:
        model["OutId"] = params["OutId"]
    return _ok(call, model)


@product.operation("QuerySendDetails")
async def query_send_details(call):
    total, rows = await send_details(call)
    return {"Code": "OK", "Message": SUCCESS_MESSAGE, "Success": True, "TotalCount": total, "Model": rows,
            "RequestId": call.request_id}
