"""What Alibaba's two SMS APIs (dysms, dypns) share: numbers, templates and their text, BizIds, the
delivery receipts (SmsReport and DypnsSmsVerifyReport are one protocol) and the send-detail rows
both QuerySendDetails answer with."""

import math
import re
from datetime import datetime, timedelta, timezone

import orjson

from simulator.core.errors import SimError
from simulator.core.world.clock import format_second
from simulator.core.world.callbacks import RetryPolicy
from simulator.core.world.receipts import Fate, Receiver, Tracked

# Synthetic: the vendor writes receipt and query times without a zone; otpsim uses Beijing time.
BEIJING = timezone(timedelta(hours=8))
WIRE_TIME = "%Y-%m-%d %H:%M:%S"
MAINLAND = re.compile(r"(?:\+86|0086|86)?(1\d{10})")
# Synthetic: another country's number is its code and number, 8 to 15 digits, not starting with 1 or 86
INTERNATIONAL = re.compile(r"(?:\+|00)?((?!86)[2-9]\d{7,14})")
VARIABLE = re.compile(r"\$\{(\w+)\}")
# Synthetic: the text of a template the scenario does not list
DEFAULT_CODE_TEMPLATE = "您的验证码为${code}，该验证码5分钟内有效，请勿泄漏于他人！"
SUCCESS_MESSAGE = "用户接收成功"   # the receipt's err_msg on success (SmsReport page example)
SINGLE_SMS_CHARS, PART_CHARS = 70, 67
DELIVERED_CODE = "DELIVERED"      # err_code of a delivered message (SmsReport page)
RECEIPT_SETTINGS = ("templates", "receipt_url", "receipt_delay_s", "receipt_retry_s", "receipt_batch_max",
                    "failure_receipt_code", "query_days")


def mainland_number(text: str) -> str | None:
    """The 11 national digits of a mainland mobile number, else None."""
    match = MAINLAND.fullmatch(text.strip())
    return match.group(1) if match else None


def is_number(text: str) -> bool:
    return mainland_number(text) is not None or INTERNATIONAL.fullmatch(text.strip()) is not None


def same_number(a: str, b: str) -> bool:
    return (mainland_number(a) or a.strip().lstrip("+")) == (mainland_number(b) or b.strip().lstrip("+"))


def json_value(text: str | None, kind: type, default):
    """`text` parsed as JSON of type `kind`; None when it is not."""
    if text is None:
        return default
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, kind) else None


def variables(value, error: str) -> dict:
    """Template variables: a JSON object of strings (numbers pass as their text); else `error`."""
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise SimError(error)
    return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in value.items()}


def template_variables(text: str | None, error: str) -> dict:
    """TemplateParam, a JSON object in a string (absent: none)."""
    return variables(json_value(text, dict, {}), error)


def render(settings: dict, template_code: str, sign_name: str, params: dict, missing_error: str | None) -> str:
    """The text as the phone shows it: 【signature】 then the template with its variables filled in."""
    template = settings["templates"].get(template_code)
    if template is None:
        template = DEFAULT_CODE_TEMPLATE if "code" in params else "".join(f"${{{name}}}" for name in params)
    elif missing_error and any(name not in params for name in VARIABLE.findall(template)):
        raise SimError(missing_error)
    return f"【{sign_name}】" + VARIABLE.sub(lambda m: params.get(m.group(1), ""), template)


async def biz_id(world, caller: str) -> str:
    """Shaped like the vendor's, e.g. 118503281358247421^0 (the SDK capture); drawn per caller."""
    return f"{(await world.draw('alibaba.biz-id', caller)).randrange(10**17, 10**18)}^0"


def parameter_defaults(operation) -> dict:
    """The spec's `default` of each parameter: what the vendor assumes for one not sent."""
    return {p["name"]: p["schema"]["default"] for p in operation.raw.get("parameters", [])
            if "default" in p.get("schema", {})}


def wire_time(epoch: float | None) -> str:
    return format_second(epoch, WIRE_TIME, BEIJING) if epoch is not None else ""


def sms_size(text: str) -> int:
    """Parts of a long message (Synthetic: 70 characters fit one, longer ones go in parts of 67)."""
    return 1 if len(text) <= SINGLE_SMS_CHARS else math.ceil(len(text) / PART_CHARS)


def takes_push(response) -> bool:
    """The vendor's rule for a push: HTTP 200 with a JSON body whose `code` is a number, whatever its value."""
    if response.status_code != 200:
        return False
    try:
        code = orjson.loads(response.content).get("code")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return isinstance(code, (int, float)) and not isinstance(code, bool)


def report(message: Tracked) -> dict:
    """One element of an SmsReport / DypnsSmsVerifyReport push."""
    fields = message.fields
    delivered = message.status == "delivered"
    body = {
        "phone_number": message.to, "send_time": wire_time(message.sent_at),
        "report_time": wire_time(message.reported_at), "success": delivered, "err_code": message.code,
        "err_msg": message.description or (SUCCESS_MESSAGE if delivered else message.code),
        "sms_size": str(sms_size(fields["content"])),
        "biz_id": fields["biz_id"],
    }
    if fields.get("out_id") is not None:
        body["out_id"] = fields["out_id"]
    body.update(message.extra)   # a rule's receipts `fields`, by their wire names
    return body


async def send(call, to: str, code: str, text: str, fields: dict):
    """One accepted message: it reaches the phone (the outbox) when its fate (the rule's `receipts`) is to
    be delivered, and is kept for QuerySendDetails with its receipt scheduled (pushed when receipt_url is set)."""
    fate = call.receipts.of(to)
    if fate.delivered:
        await call.send_code("sms", to, code, text)
    await _track(call, to, fields, fate)


async def _track(call, to: str, fields: dict, fate: Fate):
    settings, world = call.settings, call.world
    product = call.product.name
    receiver = None
    if settings["receipt_url"]:
        receiver = Receiver(
            kind=f"{product}.report", url=settings["receipt_url"], render=report,
            policy=RetryPolicy(ladder=tuple(settings["receipt_retry_s"])),
            headers={"Content-Type": "application/json;charset=UTF-8"}, accepts=takes_push,
            batch_max=settings["receipt_batch_max"], faults=call.callback_faults,
        )
    message = Tracked(f"{fields['biz_id']}/{to}", to, world.clock.now(), fields)
    await world.receipts.track(f"{product}.sent:{call.principal['access_key_id']}", message, fate,
                         settings["receipt_delay_s"], (DELIVERED_CODE, settings["failure_receipt_code"]),
                         settings["query_days"] * 86400, receiver)


SEND_STATUS = {"waiting": 1, "failed": 2, "delivered": 3}


async def send_details(call) -> tuple[int, list[dict]]:
    """(TotalCount, the page's rows) of QuerySendDetails: the number's messages of SendDate, newest first."""
    params = call.params
    product = call.product.name
    day, phone, biz = params["SendDate"], params["PhoneNumber"], params.get("BizId")
    found = [
        message for message in await call.world.receipts.messages(f"{product}.sent:{call.principal['access_key_id']}")
        if same_number(message.to, phone) and (biz is None or message.fields["biz_id"] == biz)
        and datetime.fromtimestamp(message.sent_at, BEIJING).strftime("%Y%m%d") == day
    ]
    found.reverse()
    size, page = params["PageSize"], params["CurrentPage"]
    rows = [{
        "PhoneNum": message.to, "SendStatus": SEND_STATUS[message.status], "ErrCode": message.code or "",
        "TemplateCode": message.fields["template_code"], "Content": message.fields["content"],
        "SendDate": wire_time(message.sent_at), "ReceiveDate": wire_time(message.reported_at),
        "OutId": message.fields.get("out_id") or "",
    } for message in found[(page - 1) * size:page * size]]
    return len(found), rows
