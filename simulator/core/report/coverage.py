"""Which documented failures the client met: codes, limits, push faults and outcomes, per product."""

from collections import Counter

from simulator.core.pipeline.scenario import _dig as dig
from simulator.core.report.observed import Observed
from simulator.core.report.text import way_text

PUSH_FAULTS = {   # a scenario rule's `callbacks` key that makes each push fault happen (docs/scenarios.md)
    "drop": {"drop": 1.0},
    "duplicate": {"duplicate": 1.0},
    "delay": {"delay_s": 30},
    "out_of_order": {"out_of_order_s": 30},
}
EVIDENCE_IDS = 20   # journal ids listed per met code


def product_coverage(observed: Observed) -> list[dict]:
    by_product: dict[str, list] = {}
    for request in observed.requests:
        if request.product is not None:
            by_product.setdefault(request.product.name, []).append(request)
    rules = _error_rules(observed)
    return [_product(observed, observed.products[name], requests, rules) for name, requests in by_product.items()]


def _product(observed: Observed, product, requests: list, rules: dict) -> dict:
    operations = Counter(r.operation for r in requests if r.operation)
    codes_by_operation: dict[str, Counter] = {}
    met: dict[str, dict] = {}
    for request in requests:
        key = request.key
        if key is None:
            continue
        codes_by_operation.setdefault(request.operation or "", Counter())[key] += 1
        seen = met.setdefault(key, {"key": key, "code": product.catalogue[key].code, "status": request.entry.status,
                                    "times": 0, "via": set(), "entries": []})
        seen["times"] += 1
        seen["via"].add(_via(request, observed))
        if len(seen["entries"]) < EVIDENCE_IDS:
            seen["entries"].append(request.id)
    # the operation a header or rule is suggested on: the most called one that needs credentials, as a login answers few codes
    guarded = [op for op, _ in operations.most_common() if op in observed.operations and not observed.operations[op].public]
    target = (guarded or [op for op, _ in operations.most_common()] or [None])[0]
    settings = observed.settings(product.name)
    unmet = [_unmet(entry, target, rules.get((product.name, key), [])) for key, entry in product.catalogue.items()
             if key not in met]
    unmet.sort(key=lambda item: item["shortest"] != "magic-contact")   # nothing to add first
    limits = [{"key": key, "kind": entry.throttle.kind, "window_s": entry.throttle.window_s(settings),
               "per": list(entry.throttle.per), "met": key in met}
              for key, entry in product.catalogue.items() if entry.throttle is not None]
    return {
        "product": product.name,
        "requests": len(requests),
        "operations": [{"operation": op, "requests": n, "codes": dict(codes_by_operation.get(op, {}))}
                       for op, n in operations.most_common()],
        "codes": {"documented": len(product.catalogue), "met": len(met),
                  "coverage": round(len(met) / len(product.catalogue), 3) if product.catalogue else 1.0},
        "met": [{**seen, "via": sorted(seen["via"])} for seen in met.values()],
        "limits": limits,
        "unmet": unmet,
    }


def _via(request, observed: Observed) -> str:
    if request.headers.get("x-otpsim-error"):
        return "header X-Otpsim-Error"
    rule = request.entry.rule
    if rule is not None and rule in observed.error_rule_names:
        return f"rule {rule}"
    return "simulator"


def _error_rules(observed: Observed) -> dict:
    """(product, catalogue key) -> the rules in force that answer with it: magic contacts (the packaged
    default scenario's rules) and the loaded scenario's own."""
    found: dict = {}
    for rule in observed.error_rules:
        match = rule.spec.get("match") or {}
        for product in _rule_products(observed, match):
            way = {"rule": rule.name, "match": match, "magic": rule.name in observed.base_rule_names}
            found.setdefault((product, rule.error), []).append(way)
    return found


def _rule_products(observed: Observed, match: dict) -> set:
    def listed(value):
        return [value] if isinstance(value, str) else list(value or [])
    products = set(listed(match.get("product")))
    products.update(op.partition(".")[0] for op in listed(match.get("operation")))
    return products or set(observed.products)


def _unmet(entry, operation: str | None, rules: list) -> dict:
    """A code not met yet and the ways to meet it, shortest first: a magic contact (nothing to add), a rule
    already loaded, the X-Otpsim-Error header on one request, a scenario rule to add."""
    ways = []
    for rule in rules:
        ways.append({"way": "magic-contact" if rule["magic"] else "scenario-rule-in-force",
                     "rule": rule["rule"], "match": rule["match"]})
    if operation is not None:
        ways.append({"way": "header", "header": "X-Otpsim-Error", "value": entry.key, "operation": operation})
        ways.append({"way": "scenario-rule", "rule": {"name": f"meet-{entry.key}", "match": {"operation": operation},
                                                      "times": 1, "error": entry.key}})
    return {"key": entry.key, "code": entry.code, "status": entry.status, "message": entry.message,
            "description": entry.description, "synthetic": entry.synthetic, "source": entry.source,
            "shortest": ways[0]["way"] if ways else None, "ways": [{**way, "text": way_text(way)} for way in ways]}


def push_coverage(observed: Observed) -> list[dict]:
    kinds: dict[str, list] = {}
    for delivery in observed.deliveries:
        kinds.setdefault(delivery["kind"], []).append(delivery)
    report = []
    for kind, deliveries in kinds.items():
        spec = observed.pushes.get(kind)
        answers = Counter()
        outcomes = Counter()
        faults = set()
        for delivery in deliveries:
            faults.update(delivery.get("faults") or ())
            for attempt in delivery["attempts"]:
                if "status" in attempt:
                    answers[str(attempt["status"])] += 1
                elif "error" in attempt:
                    answers[attempt["error"]] += 1
            if spec is not None and spec.outcome:
                value = _pointer(delivery["body"], spec.outcome)
                if value is not None:
                    outcomes[str(value)] += 1
        operation = spec.operation.qualified if spec else None
        report.append({
            "kind": kind,
            "operation": operation,
            "deliveries": len(deliveries),
            "states": dict(Counter(d["state"] for d in deliveries)),
            "retried": sum(1 for d in deliveries if len(d["attempts"]) > 1),
            "answers": dict(answers),
            "outcomes": dict(outcomes),
            "faults": {
                "met": sorted(faults),
                "unmet": [{"fault": fault, "rule": {"name": f"push-{fault}", "match": {"operation": operation}, "times": 1,
                                                    "callbacks": {"kinds": [kind], **rule}}}
                          for fault, rule in PUSH_FAULTS.items() if fault not in faults and operation],
            },
        })
    return report


def _pointer(document, pointer: str):
    """The value at a JSON pointer, or None."""
    return dig(document, tuple(pointer.lstrip("/").split("/")))
