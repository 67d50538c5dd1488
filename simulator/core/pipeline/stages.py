"""The stages a routed vendor request goes through, in order (STAGES), and the answers to errors (ERROR_ANSWERS).

A stage is a short function of the request context and the simulator, `stage(call, sim)`; one that
waits is a coroutine function. A stage that settles the answer calls `call.finish(answer)`, and the
stages after it are skipped; one that raises hands the error to ERROR_ANSWERS. docs/architecture.md
describes each.
"""

import asyncio
import logging
import math
from urllib.parse import parse_qsl

import orjson

from simulator.core.errors import AuthFailed, SimError
from simulator.core.pipeline import auth
from simulator.core.pipeline.envelope import JSON_TYPE, Answer, encode_json, render_error
from simulator.core.pipeline.scenario import MAX_DELAY_MS
from simulator.core.world.store import StoreUnavailable

log = logging.getLogger("otpsim")


async def read_body(call, sim):
    """The body's bytes; over the size limit, the product's body-too-large error."""
    chunks, size = [], 0
    while True:
        message = await call.receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > sim.max_body:
            raise SimError(call.product.protocol_errors["body-too-large"], limit=sim.max_body)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    call.raw_body = b"".join(chunks)


def require_operation(call, sim):
    """A request no operation serves gets its product's answer (unknown path, method or action)."""
    if call.operation is None:
        raise call.route_error


def parse_body(call, sim):
    """The body as JSON or form fields; an RPC form also joins the parameters. A body that cannot be
    read is answered after auth (body_problem), as the vendors do."""
    raw = call.raw_body
    if not raw:
        return
    operation = call.operation
    media = call.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media.endswith("json"):
        try:
            call.body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            call.body_problem = "malformed-body"
        return
    if media == "application/x-www-form-urlencoded" and (operation.rpc_action or media in operation.body_media_types):
        try:
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            call.body_problem = "malformed-body"
            return
        if media in operation.body_media_types:
            call.body = form
        if operation.rpc_action:
            call.wire_params = call.params = {**call.wire_params, **form}
        return
    call.body_problem = "unsupported-media-type"


async def select_rule(call, sim):
    """The first scenario rule that matches and admits the request."""
    call.rule = await call.scenario.select(call, sim.world)


async def delay(call, sim):
    """X-Otpsim-Delay-Ms, else the rule's delay drawn from the seeded generator."""
    delay_ms = _header_delay(call.headers.get("x-otpsim-delay-ms"))
    rule = call.rule
    if delay_ms is None and rule is not None and rule.delay is not None:
        delay_ms = rule.delay(await sim.world.draw("delay", (call.scenario.generation, rule.serial)))
    if delay_ms:
        call.delay_ms = round(delay_ms, 3)
        await asyncio.sleep(delay_ms / 1000)


def drop_request(call, sim):
    """A connection fault that loses the request: nothing is handled, nothing is answered."""
    rule = call.rule
    if rule is not None and rule.fault is not None and rule.fault.drops_request:
        call.finish(None)


def force_answer(call, sim):
    """X-Otpsim-Error or the rule's `error` (a catalogue code), or the rule's `respond` as given."""
    rule = call.rule
    forced = call.headers.get("x-otpsim-error") or (rule.error if rule is not None else None)
    if forced:
        raise SimError(forced)
    if rule is not None and rule.respond is not None:
        call.finish(rule.respond)


async def authenticate(call, sim):
    """The product's auth schemes in order; the first that applies establishes the principal."""
    call.principal = await auth.authenticate(call, sim.schemes)


def reject_unreadable_body(call, sim):
    if call.body_problem is not None:
        raise SimError(call.product.protocol_errors[call.body_problem])


def validate(call, sim):
    """Headers, parameters and body against the operation's compiled schema; parameters coerced."""
    validator = call.operation.validator
    instance = validator.instance(call.headers, call.wire_params, call.body, call.path_params)
    validator.validate(instance)
    call.params = instance["query"]
    if call.path_params:
        call.path_params = instance["path"]


async def handle(call, sim):
    """The product's handler: None (200, empty), a dict or list (200, JSON), or an Answer (call.respond)."""
    result = await sim.handlers[call.operation.qualified](call)
    call.finish(result if isinstance(result, Answer) else call.respond(result))


STAGES = (
    read_body,
    require_operation,
    parse_body,
    select_rule,
    delay,
    drop_request,
    force_answer,
    authenticate,
    reject_unreadable_body,
    validate,
    handle,
)


class TestHeaderRefused(Exception):
    """An X-Otpsim-* header otpsim cannot follow: a 400 of otpsim's own, not a vendor answer."""


def _header_delay(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        delay_ms = float(value)
    except ValueError:
        delay_ms = math.nan
    if not 0 <= delay_ms <= MAX_DELAY_MS:   # also false for NaN
        raise TestHeaderRefused(f"X-Otpsim-Delay-Ms must be a number of milliseconds from 0 to {MAX_DELAY_MS}, "
                                f"not {value!r}")
    return delay_ms


def answer_sim_error(call, sim, error: SimError) -> Answer:
    """The catalogue entry's answer; a key the catalogue lacks (a forced X-Otpsim-Error) is otpsim's 400."""
    product = call.product
    if error.key not in product.catalogue:
        return Answer(400, [(b"content-type", JSON_TYPE.encode())], encode_json(
            {"otpsim": f"{error.key} is not in the {product.name} catalogue"}), None)
    return render_error(product, error, call.request_id, call.host)


def answer_test_header_refused(call, sim, refusal: TestHeaderRefused) -> Answer:
    return Answer(400, [(b"content-type", JSON_TYPE.encode())], encode_json({"otpsim": str(refusal)}), None)


def answer_auth_failed(call, sim, failure: AuthFailed) -> Answer:
    product = call.product
    key = product.auth_failure or product.protocol_errors["internal-error"]
    return render_error(product, SimError(key, reason=failure.reason), call.request_id, call.host)


def answer_store_unavailable(call, sim, error: StoreUnavailable) -> Answer:
    """The shared store is out of reach: the product's service-unavailable error (internal error where it
    documents none), never a half-made answer."""
    log.warning("%s: %s", call.operation.qualified if call.operation else call.path, error)
    return render_error(call.product, SimError(unavailable_error(call.product)), call.request_id, call.host)


def unavailable_error(product) -> str:
    errors = product.protocol_errors
    return errors.get("service-unavailable") or errors["internal-error"]


def answer_unexpected(call, sim, error: Exception) -> Answer:
    log.exception("%s failed", call.operation.qualified if call.operation else call.path, exc_info=error)
    product = call.product
    return render_error(product, SimError(product.protocol_errors["internal-error"]), call.request_id, call.host)


# The most specific entry for the error's class answers it.
ERROR_ANSWERS = {
    SimError: answer_sim_error,
    AuthFailed: answer_auth_failed,
    TestHeaderRefused: answer_test_header_refused,
    StoreUnavailable: answer_store_unavailable,
    Exception: answer_unexpected,
}


def answer_error(call, sim, error: Exception) -> Answer:
    for kind in type(error).__mro__:
        answer = ERROR_ANSWERS.get(kind)
        if answer is not None:
            return answer(call, sim, error)
    raise error
