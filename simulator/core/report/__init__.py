"""The client report: which documented failures the client under test met, and how it behaved.

Read from the journal and the kept deliveries when asked for (GET /__otpsim/report, `otpsim report`,
the pytest plugin's --otpsim-report); nothing is added to the request path, and no finding changes
an answer. The JSON shape is documented in docs/report.md (`version` changes when it does).
"""

from collections import Counter

from simulator.core.report.coverage import product_coverage, push_coverage
from simulator.core.report.findings import all_findings
from simulator.core.report.observed import Observed
from simulator.core.report.settings import ReportSettings
from simulator.core.world.clock import iso_utc

VERSION = 1


async def build_report(sim, settings: ReportSettings | None = None) -> dict:
    return report_from(await Observed.read(sim), settings)


def report_from(observed: Observed, settings: ReportSettings | None = None) -> dict:
    """The report of what `observed` took from a simulator; safe in another thread (it reads only the snapshot)."""
    settings = settings or ReportSettings()
    products = product_coverage(observed)
    pushes = push_coverage(observed)
    findings = all_findings(observed, settings)
    return {
        "version": VERSION,
        "generated_at": iso_utc(observed.now),
        "settings": settings.as_dict(),
        "summary": _summary(products, pushes, findings, len(observed.requests)),
        "products": products,
        "pushes": pushes,
        "findings": findings,
    }


def _summary(products: list, pushes: list, findings: list, requests: int) -> dict:
    return {
        "requests": requests,
        "deliveries": sum(p["deliveries"] for p in pushes),
        "products": len(products),
        "codes_documented": sum(p["codes"]["documented"] for p in products),
        "codes_met": sum(p["codes"]["met"] for p in products),
        "findings": len(findings),
    }


def merge_reports(labelled: list[tuple[str, dict]]) -> dict:
    """One report from several simulators' (e.g. one per test): coverage added up, findings listed with
    the label of the report they come from (their entry and delivery ids are that simulator's)."""
    products: dict[str, dict] = {}
    pushes: dict[str, dict] = {}
    findings = []
    requests = 0
    settings = {}
    generated_at = None
    for label, report in labelled:
        settings = report["settings"]
        generated_at = report["generated_at"]
        requests += report["summary"]["requests"]
        for product in report["products"]:
            _merge_product(products, product, label)
        for push in report["pushes"]:
            _merge_push(pushes, push)
        findings.extend({**item, "test": label} for item in report["findings"])
    merged_products = [_finish_product(p) for p in products.values()]
    merged_pushes = [_finish_push(p) for p in pushes.values()]
    return {
        "version": VERSION,
        "generated_at": generated_at,
        "settings": settings,
        "summary": _summary(merged_products, merged_pushes, findings, requests),
        "products": merged_products,
        "pushes": merged_pushes,
        "findings": findings,
    }


def _merge_product(products: dict, product: dict, label: str):
    merged = products.get(product["product"])
    if merged is None:
        merged = products[product["product"]] = {
            "product": product["product"], "requests": 0, "operations": {}, "documented": product["codes"]["documented"],
            "met": {}, "limits": {l["key"]: dict(l) for l in product["limits"]}, "unmet": {}}
    merged["requests"] += product["requests"]
    for op in product["operations"]:
        seen = merged["operations"].setdefault(op["operation"], {"requests": 0, "codes": Counter()})
        seen["requests"] += op["requests"]
        seen["codes"].update(op["codes"])
    for met in product["met"]:
        seen = merged["met"].setdefault(met["key"], {**met, "times": 0, "via": set(), "entries": [], "tests": []})
        seen["times"] += met["times"]
        seen["via"].update(met["via"])
        if label not in seen["tests"]:
            seen["tests"].append(label)
    for limit in product["limits"]:
        merged["limits"][limit["key"]]["met"] |= limit["met"]
    for unmet in product["unmet"]:
        merged["unmet"].setdefault(unmet["key"], unmet)


def _finish_product(merged: dict) -> dict:
    met = merged["met"]
    documented = merged["documented"]
    return {
        "product": merged["product"],
        "requests": merged["requests"],
        "operations": [{"operation": op, "requests": seen["requests"], "codes": dict(seen["codes"])}
                       for op, seen in sorted(merged["operations"].items(), key=lambda item: -item[1]["requests"])],
        "codes": {"documented": documented, "met": len(met),
                  "coverage": round(len(met) / documented, 3) if documented else 1.0},
        "met": [{**seen, "via": sorted(seen["via"])} for seen in met.values()],
        "limits": list(merged["limits"].values()),
        "unmet": [unmet for key, unmet in merged["unmet"].items() if key not in met],
    }


def _merge_push(pushes: dict, push: dict):
    merged = pushes.get(push["kind"])
    if merged is None:
        merged = pushes[push["kind"]] = {**push, "deliveries": 0, "retried": 0, "states": Counter(),
                                         "answers": Counter(), "outcomes": Counter(), "met": set(), "unmet": {}}
    merged["deliveries"] += push["deliveries"]
    merged["retried"] += push["retried"]
    for name in ("states", "answers", "outcomes"):
        merged[name].update(push[name])
    merged["met"].update(push["faults"]["met"])
    for unmet in push["faults"]["unmet"]:
        merged["unmet"].setdefault(unmet["fault"], unmet)


def _finish_push(merged: dict) -> dict:
    met = merged.pop("met")
    unmet = merged.pop("unmet")
    return {**merged, "states": dict(merged["states"]), "answers": dict(merged["answers"]),
            "outcomes": dict(merged["outcomes"]),
            "faults": {"met": sorted(met), "unmet": [u for fault, u in unmet.items() if fault not in met]}}
