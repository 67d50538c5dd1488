"""Huawei Voice Call: the voice verification code (seed: 语音验证码场景API) and the call it plays out (the pages
named in openapi/voice.yaml).

CallVerify answers at once; the call then plays out on the virtual clock as call-status pushes to
the decoded statusUrl (callout → alerting → answer → disconnect, or a failure sequence) and ends
with a fee record pushed to the decoded feeUrl. The outcome comes from the scenario rule that
matched (`call: {outcome: busy}` or `call: {events: [...]}`), answered by default.
"""

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import timedelta, timezone

from simulator.auth.wsse import header_pair, password_digest
from simulator.core.errors import SimError
from simulator.core.product import CredentialKind, ProductModule, RuleKey
from simulator.core.wiring import Needs
from simulator.core.world.clock import format_second
from simulator.core.world.callbacks import CallbackFaults, RetryPolicy
from simulator.core.world.tasks import task

SUCCESS = {"resultcode": "0", "resultdesc": "Success"}          # seed: 语音验证码场景API, its response example
PUSH_TIME = "%Y-%m-%d %H:%M:%S"                                 # UTC (openapi/voice.yaml, PushTime)
PUSH_CONTENT_TYPE = "application/json;charset=UTF-8"
PUSH_CREATED_ZONE = timezone(timedelta(hours=8))                # UTC+8, suffixed Z (openapi/voice.yaml, PushXAksk)
PUSH_URL = re.compile(r"https?://[A-Za-z0-9\-:./]+")            # seed: 语音验证码场景API table 4: allowed characters
SERVICE_TYPE_VOICE_PLAYBACK = "001"                             # openapi/voice.yaml, FeeInfo serviceType
ACTIVE_CALLS = "voice-active-calls"
FEE_BATCHES = "voice-fee-batches"
FEE_RECORDS = "voice-fee-records"
FEE_BATCH_TTL_S = 86_400   # well past any call's end and fee delay: then only a lapsed batch number is forgotten

# stateDesc per stateCode (https://support.huaweicloud.com/api-VoiceCall/rtc_05_0022_1.html).
# Synthetic: the vendor documents no exact strings.
STATE_DESCRIPTIONS = {
    0: "The call was released normally.",
    7001: "Call frequency control of the developer.",
    7002: "Call frequency control of the app.",
    7003: "Call frequency control of the display number.",
    7004: "The callee is blacklisted.",
    7108: "The user is frozen.",
    7109: "Insufficient voice ports.",
    8000: "Internal error.",
    8001: "The user could not be connected.",
    8002: "The far end played a failure announcement.",
    8003: "Ring timeout.",
    8004: "The callee rejected the call.",
    8005: "Text-to-speech conversion failed.",
    8006: "The tone file does not exist.",
    8007: "Playing to the user failed.",
    8008: "Collecting digits failed.",
    8009: "The caller hung up before the call was connected.",
    8010: "The maximum call duration was exceeded.",
    8012: "Invalid app_key.",
    8015: "Recording failed.",
    8017: "Hung up as the user or SP asked.",
    8018: "No service permission.",
    8020: "Service exception.",
    8100: "The callee number does not exist.",
    8101: "The callee did not answer.",
    8102: "The callee is busy.",
    8103: "The callee is temporarily unreachable.",
    8104: "The callee is powered off.",
    8105: "The callee hung up or is out of service.",
}


@dataclass(frozen=True)
class Failure:
    """How a failed call shows in its fee record."""
    ul_fail_reason: int        # tear-down point, https://support.huaweicloud.com/api-VoiceCall/rtc_05_0019.html
    q850_cause: int            # callOutUnaswRsn, standard Q.850 (same page)
    sip_status: int            # Synthetic: the SIP answer such a failure carries


FAILURES = {
    8003: Failure(514, 19, 487),   # ring timeout: the platform cancels after ringing
    8004: Failure(518, 21, 603),   # rejected: remote call failed, call rejected, Decline
    8100: Failure(518, 1, 404),    # unallocated number
    8101: Failure(518, 19, 480),   # no answer (the real unanswered CDR sample: 518 / 480)
    8102: Failure(518, 17, 486),   # user busy, Busy Here
    8104: Failure(518, 20, 480),   # subscriber absent
}


@dataclass(frozen=True)
class Step:
    event: str
    delay: str                 # the setting giving the seconds since the previous event, or PLAYBACK
    state_code: int | None = None


PLAYBACK = "playback"
RINGING = Step("alerting", "alerting_delay_s")

# Event sequences after callout (see https://github.com/insseek/ProjectFarm/blob/master/webphone/call_data.py):
# alerting is present for a rejection and an unanswered call, absent for busy, powered-off and
# non-existent callees.
OUTCOMES = {
    "answered": (RINGING, Step("answer", "answer_delay_s"), Step("disconnect", PLAYBACK, 0)),
    "no_answer": (RINGING, Step("disconnect", "ring_timeout_s", 8101)),
    "ring_timeout": (RINGING, Step("disconnect", "ring_timeout_s", 8003)),
    "rejected": (RINGING, Step("disconnect", "reject_delay_s", 8004)),
    "busy": (Step("disconnect", "unreachable_delay_s", 8102),),
    "powered_off": (Step("disconnect", "unreachable_delay_s", 8104),),
    "not_exist": (Step("disconnect", "unreachable_delay_s", 8100),),
}

@dataclass(frozen=True)
class ScriptedEvent:
    event: str
    after_s: float
    state_code: int | None = None
    state_desc: str | None = None


@dataclass(frozen=True)
class CallPlan:
    """A scenario rule's `call`: a named outcome, or the call's events in order."""
    outcome: str = "answered"
    events: tuple[ScriptedEvent, ...] = ()

    @classmethod
    def from_rule(cls, spec: dict) -> "CallPlan":
        events = tuple(ScriptedEvent(item["event"], float(item.get("after_s", 0)), item.get("stateCode"),
                                     item.get("stateDesc")) for item in spec.get("events") or ())
        return cls(spec.get("outcome", "answered"), events)


ANSWERED = CallPlan()
CALL_RULE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "voice: how the call plays out; answered by default",
    "not": {"required": ["outcome", "events"]},
    "x-otpsim-message": "give outcome or events, not both",
    "properties": {
        "outcome": {"enum": list(OUTCOMES), "x-otpsim-what": "call outcome"},
        "events": {
            "type": "array",
            "minItems": 1,
            "description": "the call's events in order, each `after_s` seconds after the one before",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["event"],
                "properties": {
                    "event": {"enum": ["callout", "alerting", "answer", "disconnect"], "x-otpsim-what": "call event"},
                    "after_s": {"type": "number", "minimum": 0},
                    "stateCode": {"type": "integer", "description": "disconnect: why the call ended"},
                    "stateDesc": {"type": "string", "description": "disconnect: the text of stateCode"},
                },
            },
        },
    },
}
STATUS_PUSH, FEE_PUSH = "voice.status", "voice.fee"

# call-frequency limits: setting prefix -> result code (seed: 语音验证码场景API table 6)
LIMITS = {
    "sp_calls": "1013001",
    "app_calls": "1013002",
    "display_calls": "1013003",
    "caller_calls": "1013116",
    "callee_calls": "1013117",
    "service_number_calls": "1013118",
}

product = ProductModule("voice", rule_keys={"call": RuleKey(CALL_RULE_SCHEMA, CallPlan.from_rule)},
                        credentials={"voice_apps": CredentialKind(
                            required=("app_key", "app_secret"), optional=("status_url", "fee_url", "state"),
                            description="Huawei Voice Call apps (WSSE); status_url and fee_url: where pushes go "
                                        "when a call names none; state: unavailable (1010008)")},
                        callback_kinds=(STATUS_PUSH, FEE_PUSH), needs=Needs(
    errors=("1020001", "1020154", *LIMITS.values()),
    settings=(*(f"{name}_{part}" for name in LIMITS for part in ("max", "window_s")),
              *dict.fromkeys(step.delay for steps in OUTCOMES.values() for step in steps if step.delay != PLAYBACK),
              "voice_ports", "loop_listen_times", "tone_s", "readout_s", "session_host", "sign_pushes", "sp_id",
              "status_retries", "fee_merge_max", "fee_delay_s", "fee_retries", "fee_retry_interval_s",
              "push_timeout_s")))


@dataclass
class Event:
    name: str
    at: float
    state_code: int | None = None
    state_desc: str | None = None


@dataclass
class VoiceCall:
    session_id: str
    icid: str
    app: dict
    caller: str
    callee: str
    bind_num: str
    user_data: str | None
    status_url: str | None
    fee_url: str | None
    times_heard: int
    events: list
    push_faults: CallbackFaults | None = None
    answered: bool = field(init=False)

    def __post_init__(self):
        self.answered = "answer" in [event.name for event in self.events]


def _push_time(epoch: float) -> str:
    return format_second(epoch, PUSH_TIME)


def _push_url(body: dict, field: str, configured: str | None) -> str | None:
    """The decoded URL of a Base64 body field, else the app's configured one
    (https://support.huaweicloud.com/api-VoiceCall/rtc_05_0014.html)."""
    encoded = body.get(field)
    if encoded is None:
        return configured
    try:
        url = base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise SimError("1020001", field=field) from None
    if not PUSH_URL.fullmatch(url):
        raise SimError("1020001", field=field)
    return url


async def _check_limits(world, settings, body, app_key):
    subjects = {
        "sp_calls": "sp", "app_calls": app_key, "display_calls": body["displayNbr"],
        "caller_calls": body["displayNbr"], "callee_calls": body["calleeNbr"],
        "service_number_calls": body.get("bindNbr") or body["displayNbr"],
    }
    for name, code in LIMITS.items():
        limit = settings[f"{name}_max"]
        if limit and not await world.store.hit(f"voice-{name}", subjects[name], limit, settings[f"{name}_window_s"]):
            raise SimError(code)


def _disconnect(at: float, state_code, state_desc=None) -> Event:
    code = int(state_code or 0)
    return Event("disconnect", at, code, state_desc or STATE_DESCRIPTIONS.get(code, f"stateCode {code}"))


def _timeline(plan: CallPlan, settings: dict, playback_s: float, start: float) -> list:
    """The call's events with their times: an explicit list from the rule, else a named outcome."""
    if plan.events:
        events, at = [], start
        for item in plan.events:
            at += item.after_s
            if item.event == "disconnect":
                events.append(_disconnect(at, item.state_code, item.state_desc))
            else:
                events.append(Event(item.event, at))
        return events
    events, at = [Event("callout", start)], start
    for step in OUTCOMES[plan.outcome]:
        at += playback_s if step.delay == PLAYBACK else settings[step.delay]
        events.append(_disconnect(at, step.state_code) if step.event == "disconnect" else Event(step.event, at))
    return events


def _session_id(rng, host: str, started: str) -> str:
    """Shaped like the vendor's examples, e.g. 1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com."""
    return f"{rng.choice((1200, 1201))}_{rng.randrange(100, 1000)}_{rng.getrandbits(32)}_{started}@{host}"


def _transcript(body: dict, heard: int) -> str:
    """What the callee hears: the tone files around the code, read `heard` times."""
    parts = [f"[{body['preTone']}]", *[body["verifyCode"]] * heard]
    if body.get("posTone"):
        parts.append(f"[{body['posTone']}]")
    return " ".join(parts)


@product.operation("CallVerify")
async def call_verify(call):
    body, settings, world = call.body, call.settings, call.world
    app = call.principal.credential
    status_url = _push_url(body, "statusUrl", app.get("status_url"))
    fee_url = _push_url(body, "feeUrl", app.get("fee_url"))
    await _check_limits(world, settings, body, app["app_key"])

    heard = body["times"] or settings["loop_listen_times"]   # times 0 loops until the callee hangs up
    playback_s = settings["tone_s"] * (2 if body.get("posTone") else 1) + settings["readout_s"] * heard
    start = world.clock.now()
    started = format_second(start, "%Y%m%d%H%M%S")
    rng = call.rng   # a session id is unique to its request
    voice_call = VoiceCall(
        session_id=_session_id(rng, settings["session_host"], started),
        icid=f"CAE-{started}-{rng.randrange(10**7, 10**8)}",
        app=app, caller=body["displayNbr"], callee=body["calleeNbr"],
        bind_num=body.get("bindNbr") or body["displayNbr"], user_data=body.get("userData"),
        status_url=status_url, fee_url=fee_url, times_heard=heard,
        events=_timeline(call.rule_data("call", ANSWERED), settings, playback_s, start),
        push_faults=call.callback_faults,
    )
    # The call's port, taken while one is free, until the call ends: the store lets it go then, as the
    # clock passes. Whole milliseconds, so calls of one plan share an expiry queue (core/world/store.py).
    # Given back if placing the call fails.
    duration_s = round(voice_call.events[-1].at - start, 3)
    if not await world.store.reserve(ACTIVE_CALLS, voice_call.session_id, settings["voice_ports"], ttl=duration_s):
        raise SimError("1020154")
    try:
        if voice_call.fee_url:
            await _queue_fee(world, settings, voice_call)
        if voice_call.answered:
            await call.send_code("voice", body["calleeNbr"], body["verifyCode"], _transcript(body, heard))
        if voice_call.status_url:
            await world.scheduler.at(voice_call.events[0].at, task(_play, settings, voice_call, 0))
    except BaseException:
        await world.store.pop(ACTIVE_CALLS, voice_call.session_id)
        raise

    answer = {**SUCCESS, "sessionId": voice_call.session_id}
    if body["returnIdlePort"] == "true":
        answer["idlePort"] = max(settings["voice_ports"] - await world.store.count(ACTIVE_CALLS), 0)
    return answer


async def _push(world, settings, kind: str, app: dict, url: str, body: dict, policy: RetryPolicy,
                faults: CallbackFaults | None, session_ids):
    sign = task(_push_signature, app, url) if settings["sign_pushes"] else None
    delivery = await world.callbacks.record(kind, url, body, {"Content-Type": PUSH_CONTENT_TYPE}, policy, sign=sign,
                                      subjects=session_ids)
    await world.callbacks.send(delivery, faults)


async def _push_signature(world, app: dict, url: str, payload: bytes) -> dict:
    """X-AKSK of a push, made afresh for each attempt (2026 docs,
    openapi/voice.yaml sign_pushes); it signs the URL, not the payload."""
    nonce = f"{(await world.draw('voice.push-nonce', app['app_key'])).getrandbits(128):032X}"
    created = world.clock.utcnow().astimezone(PUSH_CREATED_ZONE).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = password_digest(app["app_secret"], f"{url}\n{nonce}\n{created}")
    return header_pair(app["app_key"], digest, nonce, created)


def _status_body(voice_call: VoiceCall, event: Event) -> dict:
    info = {"sessionId": voice_call.session_id, "timestamp": _push_time(event.at),
            "caller": voice_call.caller, "called": voice_call.callee}
    if voice_call.user_data is not None:
        info["userData"] = voice_call.user_data
    if event.name == "disconnect":
        info.update(stateCode=event.state_code, stateDesc=event.state_desc)
    return {"eventType": event.name, "statusInfo": info}


async def _play(world, settings, voice_call: VoiceCall, index: int):
    """Push one event, then schedule the next: one call's events go out in order
    (https://support.huaweicloud.com/VoiceCall_faq/VoiceCall_faq_0000_11.html)."""
    event = voice_call.events[index]
    if voice_call.status_url:
        policy = RetryPolicy(attempts=1 + settings["status_retries"], timeout_s=settings["push_timeout_s"])
        await _push(world, settings, STATUS_PUSH, voice_call.app, voice_call.status_url,
                    _status_body(voice_call, event), policy, voice_call.push_faults, [voice_call.session_id])
    if index + 1 < len(voice_call.events):
        await world.scheduler.at(voice_call.events[index + 1].at, task(_play, settings, voice_call, index + 1))


def _fee_record(voice_call: VoiceCall, settings: dict) -> dict:
    times = {event.name: _push_time(event.at) for event in voice_call.events}
    end = voice_call.events[-1]
    state_code = end.state_code or 0
    record = {
        "direction": 0, "spId": settings["sp_id"], "appKey": voice_call.app["app_key"], "icid": voice_call.icid,
        "bindNum": voice_call.bind_num, "sessionId": voice_call.session_id,
        "callerNum": voice_call.caller, "calleeNum": voice_call.callee,
        "callEndTime": _push_time(end.at),
        "callOutStartTime": times.get("callout", _push_time(voice_call.events[0].at)),
    }
    if "alerting" in times:
        record["callOutAlertingTime"] = times["alerting"]
    if "answer" in times:
        record["callOutAnswerTime"] = times["answer"]
    # 7001 and up the tear-down point is the stateCode itself
    # (https://support.huaweicloud.com/api-VoiceCall/rtc_05_0019.html)
    failure = FAILURES.get(state_code)
    record["ulFailReason"] = failure.ul_fail_reason if failure else state_code
    if state_code:
        record["failTime"] = _push_time(end.at)
    if failure:
        record.update(callOutUnaswRsn=failure.q850_cause, sipStatusCode=failure.sip_status)
    record.update(
        recordFlag=0, ttsPlayTimes=voice_call.times_heard if voice_call.answered else 0,
        serviceType=SERVICE_TYPE_VOICE_PLAYBACK, hostName=settings["session_host"],
    )
    if voice_call.user_data is not None:
        record["userData"] = voice_call.user_data
    return record


async def _queue_fee(world, settings, voice_call: VoiceCall):
    """Records of one app ending in the same second share a push, up to fee_merge_max
    (openapi/voice.yaml, fee_merge_max).

    Queued when the call is placed (its timeline is known then), so the batches do not depend on
    how the status pushes of concurrent calls interleave. The batch open for a second is numbered
    in FEE_BATCHES; its records gather in FEE_RECORDS until its push takes them.
    """
    end = voice_call.events[-1].at
    second = (voice_call.app["app_key"], voice_call.fee_url, int(end))
    merge_max = settings["fee_merge_max"]

    def join(values):
        number, size = values[0] or (0, merge_max)
        opened = size >= merge_max
        return [(number + 1, 1) if opened else (number, size + 1)], (number + 1 if opened else number, opened)

    number, opened = await world.store.update(FEE_BATCHES, [second], join, ttl=FEE_BATCH_TTL_S)
    batch = (*second, number)
    record = _fee_record(voice_call, settings)
    await world.store.update(FEE_RECORDS, [batch], lambda records: ([(records[0] or ()) + (record,)], None),
                             ttl=FEE_BATCH_TTL_S)
    if opened:
        await world.scheduler.at(end + settings["fee_delay_s"],
                                 task(_push_fees, settings, voice_call.app, batch, voice_call.push_faults))


async def _push_fees(world, settings, app, batch: tuple, faults):
    records = list(await world.store.pop(FEE_RECORDS, batch, ()))
    policy = RetryPolicy(attempts=1 + settings["fee_retries"], interval_s=settings["fee_retry_interval_s"],
                         timeout_s=settings["push_timeout_s"])
    await _push(world, settings, FEE_PUSH, app, batch[1], {"eventType": "fee", "feeLst": records}, policy, faults,
                [record["sessionId"] for record in records])
