"""How the client behaved: findings, each with the journal entries or deliveries that show it and the
vendor rule it breaks (docs/report.md lists them)."""

import json
from bisect import bisect_left, bisect_right
from datetime import datetime
from functools import cache
from importlib import resources

import fastjsonschema
import yaml

from simulator.core.report.observed import Observed, Request
from simulator.core.report.settings import ReportSettings
from simulator.core.report.signing import READERS


def all_findings(observed: Observed, settings: ReportSettings) -> list[dict]:
    return [
        *throttle_retries(observed, settings),
        *resends_inside_interval(observed, settings),
        *retries_without_backoff(observed, settings),
        *signing(observed, settings),
        *receivers(observed, settings),
        *duplicates_handled_twice(observed, settings),
    ]


def finding(kind: str, product: str | None, operation: str | None, title: str, detail: str, rule: dict,
            entries=(), deliveries=()) -> dict:
    return {"kind": kind, "product": product, "operation": operation, "title": title, "detail": detail,
            "rule": rule, "entries": sorted(set(entries)), "deliveries": sorted(set(deliveries))}


def _subject(request: Request, per: tuple) -> tuple:
    return tuple(str(request.field(path)) for path in per)


def _per_text(per: tuple) -> str:
    return f" (counted per {', '.join(per)})" if per else ""


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _span(waits: list) -> str:
    low, high = _seconds(round(waits[0], 3)), _seconds(round(waits[-1], 3))
    return low if low == high else f"{low}–{high}"


def throttle_retries(observed: Observed, settings: ReportSettings) -> list[dict]:
    """A request repeated after a throttling answer sooner than the catalogue's retry-after window."""
    # operation -> the `per` fields of its throttles -> subject -> (the latest throttled request, its entry, until)
    active: dict[str, dict[tuple, dict]] = {}
    found: dict = {}   # (product, operation, key) -> {"throttled": set, "early": {id: wait}, "entry", "window"}
    for request in observed.requests:
        for per, subjects in active.get(request.operation, {}).items():
            latest = subjects.get(_subject(request, per))
            if latest is None or request.at >= latest[2]:
                continue
            throttled, entry, until = latest
            record = found.setdefault((throttled.product.name, throttled.operation, entry.key),
                                      {"throttled": set(), "early": {}, "entry": entry, "window": until - throttled.at})
            record["throttled"].add(throttled.id)
            record["early"].setdefault(request.id, request.at - throttled.at)
        key = request.key
        if key is not None:
            entry = request.product.catalogue[key]
            if entry.throttle is not None:
                window = entry.throttle.window_s(observed.settings(request.product.name), request.field)
                if window > 0:
                    per = entry.throttle.per
                    active.setdefault(request.operation, {}).setdefault(per, {})[_subject(request, per)] = (
                        request, entry, request.at + window)
    results = []
    for (product, operation, key), record in found.items():
        early = record["early"]
        if len(early) < settings.early_retries:
            continue
        entry, window = record["entry"], record["window"]
        waits = sorted(early.values())
        results.append(finding(
            "throttle-retry-too-soon", product, operation,
            f"{operation} repeated sooner than {_seconds(window)} after {entry.code}",
            f"{len(early)} request(s) came {_span(waits)} after a "
            f"{entry.code} answer ({entry.message}); the documented window is {_seconds(window)}{_per_text(entry.throttle.per)}.",
            {"text": f"After {entry.code} wait {_seconds(window)} before the same request{_per_text(entry.throttle.per)}.",
             "source": entry.throttle.source},
            entries=[*record["throttled"], *early]))
    return results


def resends_inside_interval(observed: Observed, settings: ReportSettings) -> list[dict]:
    """New codes asked for again and again inside the resend interval of an accepted one."""
    resend_codes = {}   # (product, operation) -> catalogue entries of kind resend that operation answered
    for request in observed.requests:
        key = request.key
        if key is not None:
            entry = request.product.catalogue[key]
            if entry.throttle is not None and entry.throttle.kind == "resend":
                resend_codes.setdefault((request.product.name, request.operation), {})[key] = entry
    results = []
    for (product, operation), entries in resend_codes.items():
        for entry in entries.values():
            per = entry.throttle.per
            limits = observed.settings(product)
            accepted_at: dict = {}   # subject -> (time, journal id, interval) of its last accepted request
            inside: dict = {}
            for request in observed.requests:
                if request.operation != operation:
                    continue
                subject = _subject(request, per)
                started = accepted_at.get(subject)
                if started is not None and request.at - started[0] < started[2]:
                    inside.setdefault(subject, [started[1]]).append(request.id)
                elif request.accepted:
                    accepted_at[subject] = (request.at, request.id, entry.throttle.window_s(limits, request.field))
            window = max((started[2] for started in accepted_at.values()), default=0)
            repeated = {subject: ids for subject, ids in inside.items() if len(ids) - 1 >= settings.resend_repeats}
            if not repeated:
                continue
            count = sum(len(ids) - 1 for ids in repeated.values())
            results.append(finding(
                "resend-inside-interval", product, operation,
                f"{operation}: new codes asked for inside the {_seconds(window)} resend interval",
                f"{count} request(s) for {len(repeated)} contact(s) came within {_seconds(window)} of an accepted one; "
                f"the vendor answers them {entry.code} ({entry.message}).",
                {"text": f"One code per {_seconds(window)}{_per_text(per)}; wait the interval out before offering a new code.",
                 "source": entry.throttle.source},
                entries=[i for ids in repeated.values() for i in ids]))
    return results


@cache
def client_rules() -> dict:
    text = (resources.files("simulator.core.report") / "client_rules.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def retries_without_backoff(observed: Observed, settings: ReportSettings) -> list[dict]:
    """Requests repeated after a 5xx or a broken answer without a growing wait."""
    last: dict = {}    # operation -> (request, wait before it when it was a retry)
    found: dict = {}   # operation -> {"failed": set, "retries": set, "product": ProductSpec}
    for request in observed.requests:
        if request.operation is None:
            continue
        previous = last.get(request.operation)
        wait = None
        if previous is not None and previous[0].failed:
            wait = request.at - previous[0].at
            if wait < settings.backoff_min_s or (previous[1] is not None and wait <= previous[1]):
                record = found.setdefault(request.operation, {"failed": set(), "retries": set(),
                                                              "product": request.product})
                record["failed"].add(previous[0].id)
                record["retries"].add(request.id)
        last[request.operation] = (request, wait)
    rules = client_rules()["retry-backoff"]
    results = []
    for operation, record in found.items():
        if len(record["retries"]) < settings.no_backoff_retries:
            continue
        product = record["product"]
        rule = rules.get(product.document.get("x-otpsim", {}).get("vendor")) or rules["default"]
        results.append(finding(
            "retry-without-backoff", product.name, operation,
            f"{operation} retried after a failure without back-off",
            f"{len(record['retries'])} retry(ies) followed a 5xx or broken answer sooner than "
            f"{_seconds(settings.backoff_min_s)} or no later than the retry before.",
            {"text": rule["text"], "source": rule["source"]},
            entries=[*record["failed"], *record["retries"]]))
    return results


def _credentials(request: Request):
    """(scheme, Credentials) of the first of the product's schemes the request carries; None when unsigned."""
    for name in request.product.auth_schemes:
        reader = READERS.get(name)
        read = reader(request.headers, request.params, request.product) if reader else None
        if read is not None:
            return name, read
    return None


def signing(observed: Observed, settings: ReportSettings) -> list[dict]:
    """Reused nonces, signed times drifting toward the allowed skew, unsigned requests before signed ones."""
    per_product: dict = {}
    for request in observed.requests:
        product = request.product
        operation = observed.operations.get(request.operation)
        if product is None or operation is None or operation.public or not product.auth_schemes:
            continue
        per_product.setdefault(product.name, []).append((request, _credentials(request)))
    results = []
    for name, signed in per_product.items():
        product = observed.products[name]
        results.extend(_unsigned_first(product, signed))
        results.extend(_nonce_reuse(product, signed, observed))
        results.extend(_drift(product, signed, observed, settings))
    return results


def _unsigned_first(product, signed: list) -> list[dict]:
    unsigned = []
    for request, credentials in signed:
        if credentials is not None:
            break
        unsigned.append(request)
    else:
        return []   # nothing signed at all: a client that never signs meets the auth errors in coverage
    if not unsigned:
        return []
    failure = product.catalogue.get(product.auth_failure) if product.auth_failure else None
    return [finding(
        "unsigned-before-signed", product.name, unsigned[0].operation,
        f"{product.name}: {len(unsigned)} unsigned request(s) before the first signed one",
        "The client called without credentials first and signed only afterwards; each unsigned call was refused.",
        {"text": f"Every {product.name} call carries credentials ({', '.join(product.auth_schemes)}).",
         "source": failure.source if failure else f"x-otpsim.auth of openapi/{product.name}.yaml"},
        entries=[r.id for r in unsigned])]


def _nonce_reuse(product, signed: list, observed: Observed) -> list[dict]:
    seen: dict = {}
    for request, credentials in signed:
        if credentials is not None and credentials[1].nonce:
            seen.setdefault((credentials[0], credentials[1].nonce), []).append(request)
    reused = [requests for requests in seen.values() if len(requests) > 1]
    if not reused:
        return []
    replay = next((r for requests in reused for r in requests[1:] if r.key), None)
    if replay is not None:
        entry = product.catalogue[replay.key]
        source = f"{entry.code} {entry.message} ({entry.source})"
    else:
        meta = product.settings.get("nonce_window_s", {})
        source = meta.get("source", f"x-otpsim.auth of openapi/{product.name}.yaml")
    return [finding(
        "nonce-reused", product.name, reused[0][0].operation,
        f"{product.name}: {len(reused)} signature nonce(s) used more than once",
        f"{sum(len(r) - 1 for r in reused)} request(s) repeated a nonce already sent; the vendor refuses a replayed nonce.",
        {"text": "A signature nonce is used once: make a new one for every request, retries included.", "source": source},
        entries=[r.id for requests in reused for r in requests])]


def _drift(product, signed: list, observed: Observed, settings: ReportSettings) -> list[dict]:
    drifting = []   # (request, seconds ahead of the clock, allowed skew, its setting)
    limits = observed.settings(product.name)
    for request, credentials in signed:
        if credentials is None or credentials[1].signed_at is None:
            continue
        setting = credentials[1].skew_setting
        limit = limits.get(setting)
        if not limit:
            continue
        # as the simulator does, a signed time may follow the virtual clock or the wall clock: the nearer counts
        drift = min((credentials[1].signed_at - now for now in (request.at, request.entry.wall) if now is not None), key=abs)
        if abs(drift) >= settings.skew_warn_ratio * limit:
            drifting.append((request, drift, limit, setting))
    if not drifting:
        return []
    request, drift, limit, setting = max(drifting, key=lambda item: abs(item[1]))
    return [finding(
        "timestamp-drift", product.name, request.operation,
        f"{product.name}: signed times up to {_seconds(round(drift))} from the clock (limit {_seconds(limit)})",
        f"{len(drifting)} signed request(s) carried a time {'ahead of' if drift > 0 else 'behind'} the server clock by "
        f"{_seconds(settings.skew_warn_ratio * limit)} or more; past {_seconds(limit)} the vendor refuses them.",
        {"text": f"A signed time must be within {_seconds(limit)} of the server clock; keep the client's clock in sync.",
         "source": product.settings.get(setting, {}).get("source", setting)},
        entries=[item[0].id for item in drifting])]


@cache
def _validator(schema_json: str):
    return fastjsonschema.compile(json.loads(schema_json))


def _answer_fits(schema, answer: str | None) -> bool:
    try:
        _validator(json.dumps(schema, sort_keys=True))(json.loads(answer or ""))
    except (ValueError, fastjsonschema.JsonSchemaException):
        return False
    return True


def receivers(observed: Observed, settings: ReportSettings) -> list[dict]:
    """The client's receivers: pushes refused or not answered, slow answers, answers not as documented."""
    problems: dict = {}   # (kind, problem) -> delivery ids
    for delivery in observed.deliveries:
        spec = observed.pushes.get(delivery["kind"])
        for attempt in delivery["attempts"]:
            if "dropped" in attempt:
                continue
            status = attempt.get("status")
            refused = "error" in attempt or not (spec.accepts(status) if spec else 200 <= (status or 0) < 300)
            if refused:
                problems.setdefault((delivery["kind"], "receiver-refused"), set()).add(delivery["id"])
            elif spec is not None:
                schema = spec.responses.get(str(status), {}).get("schema")
                if schema is not None and not _answer_fits(schema, attempt.get("answer")):
                    problems.setdefault((delivery["kind"], "receiver-answer"), set()).add(delivery["id"])
            if attempt.get("latency_ms", 0) > settings.slow_receiver_ms:
                problems.setdefault((delivery["kind"], "receiver-slow"), set()).add(delivery["id"])
    results = []
    for (kind, problem), ids in problems.items():
        spec = observed.pushes.get(kind)
        product = spec.operation.product.name if spec else None
        operation = spec.operation.qualified if spec else None
        documented = {"text": spec.rule(), "source": spec.where} if spec else {
            "text": "answer 2xx", "source": "otpsim choice: no spec documents this delivery kind"}
        if problem == "receiver-refused":
            title, detail, rule = (f"{kind}: the receiver refused or did not answer pushes",
                                   f"{len(ids)} push(es) got a non-2xx answer or none.", documented)
        elif problem == "receiver-answer":
            schema = spec.responses
            title, detail, rule = (f"{kind}: the receiver's answer is not the documented one",
                                   f"{len(ids)} push(es) got an answer body that does not fit the documented schema "
                                   f"{json.dumps({s: r['schema'] for s, r in schema.items() if r['schema']}, ensure_ascii=False)}.",
                                   documented)
        else:
            title, detail, rule = (f"{kind}: the receiver answered slowly",
                                   f"{len(ids)} push(es) took longer than {settings.slow_receiver_ms:g} ms to answer.",
                                   {"text": f"Answer a push at once (within {settings.slow_receiver_ms:g} ms) and do the "
                                            "work afterwards; a slow answer counts as a failed push.",
                                    "source": "otpsim choice (report setting slow_receiver_ms); " + documented["source"]})
        results.append(finding(problem, product, operation, title, detail, rule, deliveries=ids))
    return results


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def duplicates_handled_twice(observed: Observed, settings: ReportSettings) -> list[dict]:
    """A push the scenario sent twice, both copies taken, followed by the same call twice: handled twice."""
    by_id = {d["id"]: d for d in observed.deliveries}
    timeline = sorted((request.at, index) for index, request in enumerate(observed.requests) if request.operation)
    starts = [at for at, _ in timeline]
    results = []
    for duplicate in observed.deliveries:
        original = by_id.get(duplicate["duplicate_of"])
        if original is None or not original["attempts"] or not duplicate["attempts"]:
            continue
        if original["state"] != "delivered" or duplicate["state"] != "delivered":
            continue
        start = min(_epoch(original["attempts"][0]["at"]), _epoch(duplicate["attempts"][0]["at"]))
        follow = {}
        for _, index in timeline[bisect_left(starts, start):bisect_right(starts, start + settings.duplicate_follow_s)]:
            request = observed.requests[index]
            follow.setdefault(request.operation, []).append(request.id)
        twice = {op: ids for op, ids in follow.items() if len(ids) >= 2}
        if not twice:
            continue
        spec = observed.pushes.get(duplicate["kind"])
        results.append(finding(
            "duplicate-handled-twice", spec.operation.product.name if spec else None, next(iter(twice)),
            f"{duplicate['kind']}: a duplicated push was acted on twice",
            f"Push {original['id']} arrived twice (copy {duplicate['id']}); within "
            f"{_seconds(settings.duplicate_follow_s)} the client called {', '.join(twice)} twice.",
            {"text": "A push can arrive more than once: handle each event once (keep the ids you processed).",
             "source": "otpsim choice: the vendors re-push what was not acknowledged; duplicates are a scenario's "
                       "callbacks.duplicate (docs/scenarios.md)"},
            entries=[i for ids in twice.values() for i in ids], deliveries=[original["id"], duplicate["id"]]))
    return results
