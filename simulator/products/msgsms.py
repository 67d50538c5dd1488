"""Huawei Cloud Message & SMS: the two send APIs and the status report of every message.

A send answers at once with one `result` entry per number (`status` 000000 when taken). The text
of a taken number is its template filled with templateParas; it lands in the outbox unless the
number's fate (the scenario rule's `receipts`) says it never arrives. When the request named a
`statusCallback`, each message part's status report is pushed there, form-encoded, after the
fate's delay on the virtual clock.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from simulator.auth.huawei_aksk import sign, string_to_sign
from simulator.core.errors import SimError
from simulator.core.pipeline.envelope import new_request_id
from simulator.core.product import CredentialKind, ProductModule
from simulator.core.wiring import Needs
from simulator.core.world.clock import format_second
from simulator.core.world.callbacks import RetryPolicy
from simulator.core.world.receipts import Fate, Receiver, Tracked
from simulator.core.world.tasks import task

REPORT_PUSH = "msgsms.report"
product = ProductModule(
    "msgsms",
    credentials={"msgsms_apps": CredentialKind(
        required=("app_key", "app_secret"), optional=("state",),
        description="Huawei Message & SMS apps: X-WSSE and the SDK's SDK-HMAC-SHA256 (app key as Access) both "
                    "sign with these; state: unavailable (E000103) or frozen (E000112)")},
    callback_kinds=(REPORT_PUSH,),
    needs=Needs(errors=("E000000", "E000503", "E000510"),
                settings=("max_numbers", "templates", "default_template", "default_signature", "code_param",
                          "report_delay_s", "report_retries", "report_retry_interval_s", "sign_reports")))

TAKEN = "000000"
DELIVERED, FAILED = "DELIVRD", "UNDELIV"   # report statuses (sms_05_0003); a failure says UNDELIV unless the rule names one
DUPLICATE_NUMBER = "E200041"          # sms_05_0051
TEMPLATE_MISMATCH = "E200028"         # sms_05_0051: template variables do not fit
NUMBER = re.compile(r"\+?[0-9]{1,20}")
VARIABLE = re.compile(r"\$\{[^}]*\}")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"    # createTime and updateTime, UTC
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
FORM_TYPE = "application/x-www-form-urlencoded"
REPORTED_BY_PLATFORM = ("1", "3")     # reports the platform made itself carry no updateTime (sms_05_0003)
SINGLE_PART, MULTI_PART = 70, 67      # characters per part: one SMS, or each part of a long one
# countryId of SmsID. Synthetic: the vendor documents the field, not its table; otpsim knows these.
COUNTRIES = {"86": "CN", "852": "HK", "853": "MO", "886": "TW", "65": "SG", "81": "JP", "82": "KR", "44": "GB"}


@dataclass(frozen=True)
class Batch:
    """One template text for some numbers: all of BatchSendSms, one smsContent entry of BatchSendDiffSms."""
    to: list
    template_id: str
    paras: list
    signature: str | None


@product.operation("BatchSendSms")
async def batch_send_sms(call):
    body = call.body
    numbers = body["to"].split(",")
    batch = Batch(numbers, body["templateId"], _paras(body.get("templateParas")), body.get("signature"))
    return await _send(call, body.get("statusCallback") or body.get("statusCallBack"), [batch])


@product.operation("BatchSendDiffSms")
async def batch_send_diff_sms(call):
    batches = [Batch(item["to"], item["templateId"], item.get("templateParas") or [], item.get("signature"))
               for item in call.body["smsContent"]]
    return await _send(call, call.body.get("statusCallback"), batches)


def _paras(text: str | None) -> list:
    """templateParas of the form: a JSON array of strings in a string; anything else is E000000 (sms_05_0050)."""
    if text is None:
        return []
    try:
        paras = json.loads(text)
    except ValueError:
        raise SimError("E000000") from None
    if not isinstance(paras, list) or not all(isinstance(p, str) for p in paras):
        raise SimError("E000000")
    return paras


def _check_numbers(batches: list, limit: int):
    count = 0
    for batch in batches:
        for number in batch.to:
            if not NUMBER.fullmatch(number):
                raise SimError("E000503", field="to")
            count += 1
    if count > limit:
        raise SimError("E000503", field="to")


def _content(settings: dict, batch: Batch) -> str | None:
    """The template filled with the parameters; None when a configured template's variables do not fit."""
    template = settings["templates"].get(batch.template_id)
    if template is not None:
        if len(VARIABLE.findall(template)) != len(batch.paras):
            return None
        values = iter(batch.paras)
        return VARIABLE.sub(lambda _: next(values), template)
    template = settings["default_template"]
    values = iter(batch.paras)
    content = VARIABLE.sub(lambda _: next(values, ""), template)
    return " ".join([content, *values])


def _code(paras: list, index: int) -> str:
    if index:
        return paras[index - 1] if index <= len(paras) else ""
    return next((p for p in paras if p.isdigit()), "")


def _parts(text: str) -> int:
    return 1 if len(text) <= SINGLE_PART else math.ceil(len(text) / MULTI_PART)


def _country(number: str) -> str | None:
    digits = number.lstrip("+")
    return next((COUNTRIES[digits[:n]] for n in (3, 2) if digits[:n] in COUNTRIES), None)


async def _message_id(world, number: str) -> str:
    """Shaped like the vendor's smsMsgId (a UUID, an underscore, a number), drawn per number."""
    rng = await world.draw("msgsms.message-id", number)
    return f"{new_request_id(rng, 'uuid')}_{rng.randrange(1, 10**8)}"


async def _send(call, callback_url: str | None, batches: list):
    world, settings = call.world, call.settings
    sender = call.body["from"]
    _check_numbers(batches, settings["max_numbers"])
    fates = call.receipts
    receiver = _receiver(call, callback_url) if callback_url else None
    now = world.clock.now()
    created = _utc(now)
    seen, result = set(), []
    for batch in batches:
        content = _content(settings, batch)
        for number in batch.to:
            entry = {"originTo": number, "createTime": created, "from": sender,
                     "smsMsgId": await _message_id(world, number)}
            if number in seen:
                entry["status"] = DUPLICATE_NUMBER
            elif content is None:
                entry["status"] = TEMPLATE_MISMATCH
            else:
                entry["status"] = TAKEN
            seen.add(number)
            country = _country(number)
            if country:
                entry["countryId"] = country
            if entry["status"] == TAKEN:
                text = f"【{batch.signature or settings['default_signature']}】{content}"
                entry["total"] = _parts(text)
                await _take(call, entry, text, _code(batch.paras, settings["code_param"]), fates.of(number), receiver, now)
            result.append(entry)
    if all(entry["status"] != TAKEN for entry in result):
        refusal = call.product.entry("E000510")
        return call.respond({"code": refusal.code, "description": refusal.message, "result": result}, refusal.status)
    return {"code": TAKEN, "description": "Success", "result": result}


async def _take(call, entry: dict, text: str, code: str, fate: Fate, receiver: Receiver | None, now: float):
    """The message reaches the phone unless its fate says otherwise; each of its parts is reported."""
    if fate.delivered:
        await call.send_code("sms", entry["originTo"], code, text)
    delay = call.settings["report_delay_s"] if fate.delay_s is None else fate.delay_s
    fields = {"smsMsgId": entry["smsMsgId"], "total": entry["total"], "extend": call.body.get("extend")}
    for sequence in range(1, entry["total"] + 1):
        part = Tracked(f"{entry['smsMsgId']}/{sequence}", entry["originTo"], now, {**fields, "sequence": sequence})
        # kept until its report is due: Huawei has no query API to read it later
        await call.world.receipts.track(f"{product.name}.sent:{call.principal['app_key']}", part, fate, delay,
                                  (DELIVERED, FAILED), delay, receiver)


def _receiver(call, url: str) -> Receiver:
    """Status reports go to the request's statusCallback one by one, form-encoded (sms_05_0003)."""
    settings = call.settings
    policy = RetryPolicy(attempts=1 + settings["report_retries"], interval_s=settings["report_retry_interval_s"])
    signer = task(_report_signature, call.principal.credential, url) if settings["sign_reports"] else None
    return Receiver(kind=REPORT_PUSH, url=url, render=_report, policy=policy, headers={"Content-Type": FORM_TYPE},
                    faults=call.callback_faults, single=True, encoding="form", sign=signer)


def _utc(epoch: float) -> str:
    return format_second(epoch, TIME_FORMAT)


def _report(part: Tracked) -> dict:
    """One part's status report, fields in the order of the vendor's example (sms_05_0051)."""
    fields = part.fields
    delivered = part.status == "delivered"
    status = part.code
    extra = {"source": "3" if status.startswith("E2") else "2"}   # E2000xx: made by the Huawei platform
    if delivered:
        extra["orgCode"] = "000"
    extra.update(part.extra)
    source, org_code = extra.pop("source"), extra.pop("orgCode", None)
    report = {"sequence": str(fields["sequence"]), "total": str(fields["total"])}
    if org_code is not None:
        report["orgCode"] = org_code
    if source not in REPORTED_BY_PLATFORM:
        report["updateTime"] = _utc(part.reported_at)
    report.update(source=source, smsMsgId=fields["smsMsgId"], status=status)
    if part.description:
        report["statusDesc"] = part.description
    report.update(extra)
    if fields["extend"] is not None:
        report.update(extend=fields["extend"], to=part.to)
    return report


def _report_signature(world, app: dict, url: str, payload: bytes) -> dict:
    """Push AK/SK authentication (sms_05_0003): SDK-HMAC-SHA256 with the app key, made afresh per attempt."""
    target = urlsplit(url)
    headers = {"content-type": FORM_TYPE, "host": target.netloc,
               "x-sdk-date": world.clock.utcnow().strftime(SDK_DATE_FORMAT)}
    names = sorted(headers)
    text = string_to_sign("POST", target.path or "/", target.query, headers, names,
                          hashlib.sha256(payload).hexdigest(), headers["x-sdk-date"])
    return {"X-Sdk-Date": headers["x-sdk-date"],
            "Authorization": f"SDK-HMAC-SHA256 Access={app['app_key']}, SignedHeaders={';'.join(names)}, "
                             f"Signature={sign(app['app_secret'], text)}"}
