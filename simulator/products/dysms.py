"""Alibaba Cloud SMS (Dysmsapi 2017-05-25): SendSms, SendBatchSms, QuerySendDetails and SmsReport receipts.

Business errors are HTTP 200 answers (the catalogue's `business` envelope). Each accepted message
is tracked for QuerySendDetails and reported on the virtual clock as the matched rule's `receipt`
says (delivered by default). Its `code` variable lands in the outbox with the rendered text, unless
the rule fails it (the phone never shows it) or says `deliver: false`.
"""

import re

from simulator.core.errors import SimError
from simulator.core.product import ProductModule
from simulator.core.wiring import Needs
from simulator.products._alibaba_sms import (RECEIPT_SETTINGS, biz_id, is_number, json_value, mainland_number, render,
                                             send, send_details, template_variables, variables)

SENDS = "dysms.sends"
DAY_S = 86400
# most specific first: the minute limit answers before the hour and the day
LIMITS = (("minute", 60, "limit_per_minute"), ("hour", 3600, "limit_per_hour"), ("day", DAY_S, "limit_per_day"))
VERIFICATION_CODE = re.compile(r"[a-zA-Z0-9]+")

product = ProductModule("dysms", callback_kinds=("dysms.report",), needs=Needs(
    errors=("isv.MOBILE_COUNT_OVER_LIMIT", "isv.MOBILE_NUMBER_ILLEGAL", "isv.INVALID_PARAMETERS",
            "isv.INVALID_JSON_PARAM", "isv.TEMPLATE_MISSING_PARAMETERS",
            *(f"isv.BUSINESS_LIMIT_CONTROL@{name}" for name, _, _ in LIMITS)),
    settings=(*RECEIPT_SETTINGS, "max_numbers", "max_batch_numbers", *(setting for _, _, setting in LIMITS))))


def _ok(call, biz: str) -> dict:
    return {"RequestId": call.request_id, "BizId": biz, "Code": "OK", "Message": "OK"}


def _check_numbers(numbers: list[str], limit: int):
    if len(numbers) > limit:
        raise SimError("isv.MOBILE_COUNT_OVER_LIMIT")
    for number in numbers:
        if not is_number(number):
            raise SimError("isv.MOBILE_NUMBER_ILLEGAL", number=number)


def _check_code_variable(params: dict):
    code = params.get("code")
    if code is not None and not VERIFICATION_CODE.fullmatch(code):
        raise SimError("isv.INVALID_PARAMETERS")


async def _within_limits(call, messages: list[tuple[str, str]]):
    """The per number and signature limits (1 a minute, 5 an hour, 10 a day by default) over a sliding
    window; a refused send does not count. All messages of one request pass, or none is sent."""
    now, settings = call.world.clock.now(), call.settings
    caller = call.principal["access_key_id"]
    numbers = [(caller, sign, mainland_number(number) or number) for number, sign in messages]
    keys = list(dict.fromkeys(numbers))

    def count(values):   # one atomic step over every number of the request
        pending = {key: [t for t in value or () if now - t < DAY_S] for key, value in zip(keys, values)}
        for key in numbers:
            times = pending[key]
            for name, window_s, setting in LIMITS:
                permits = settings[setting]
                if permits and sum(1 for t in times if now - t < window_s) >= permits:
                    return values, SimError(f"isv.BUSINESS_LIMIT_CONTROL@{name}", permits=permits)
            times.append(now)
        return [tuple(pending[key]) for key in keys], None

    refused = await call.world.store.update(SENDS, keys, count, ttl=DAY_S)
    if refused is not None:
        raise refused


async def _send(call, messages: list[tuple[str, str, dict, str | None]]) -> dict:
    """messages: (number, signature, variables, up-extend code). Renders all, checks limits, sends."""
    params, settings, world = call.params, call.settings, call.world
    template_code = params["TemplateCode"]
    texts = [render(settings, template_code, sign, variables, "isv.TEMPLATE_MISSING_PARAMETERS")
             for _, sign, variables, _ in messages]
    await _within_limits(call, [(number, sign) for number, sign, _, _ in messages])
    biz = await biz_id(world, call.principal["access_key_id"])
    for (number, _, values, _), text in zip(messages, texts):
        await send(call, number, values.get("code", ""), text,
             {"biz_id": biz, "out_id": params.get("OutId"), "template_code": template_code, "content": text})
    return _ok(call, biz)


@product.operation("SendSms")
async def send_sms(call):
    params = call.params
    numbers = [n.strip() for n in params["PhoneNumbers"].split(",")]
    _check_numbers(numbers, call.settings["max_numbers"])
    values = template_variables(params.get("TemplateParam"), "isv.INVALID_JSON_PARAM")
    _check_code_variable(values)
    return await _send(call, [(number, params["SignName"], values, params.get("SmsUpExtendCode")) for number in numbers])


@product.operation("SendBatchSms")
async def send_batch_sms(call):
    params = call.params
    numbers = _json_array(params["PhoneNumberJson"], None)
    count = len(numbers)
    signs = _json_array(params["SignNameJson"], count)
    values = _json_array(params.get("TemplateParamJson"), count) or [{}] * count
    extends = _json_array(params.get("SmsUpExtendCodeJson"), count) or [None] * count
    if not all(isinstance(text, str) for text in numbers + signs):
        raise SimError("isv.INVALID_JSON_PARAM")
    _check_numbers(numbers, call.settings["max_batch_numbers"])
    parsed = [variables(item, "isv.INVALID_JSON_PARAM") for item in values]
    for one in parsed:
        _check_code_variable(one)
    return await _send(call, list(zip(numbers, signs, parsed, extends)))


def _json_array(text: str | None, length: int | None) -> list | None:
    """A *Json field: a JSON array (of `length` items, lined up with PhoneNumberJson); None when absent."""
    if text is None and length is not None:
        return None
    items = json_value(text, list, None)
    if items is None or (length is not None and len(items) != length):
        raise SimError("isv.INVALID_JSON_PARAM")
    return items


@product.operation("QuerySendDetails")
async def query_send_details(call):
    total, rows = await send_details(call)
    return {"RequestId": call.request_id, "Code": "OK", "Message": "OK", "TotalCount": total,
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows}}
