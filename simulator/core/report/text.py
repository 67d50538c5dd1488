"""The report as a readable table, for `otpsim report` and the pytest plugin's section."""

UNMET_SHOWN = 12   # unmet codes listed per product; the JSON has them all


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _match_text(match: dict) -> str:
    parts = []
    if "operation" in match:
        parts.append(str(match["operation"]))
    for section in ("body", "query", "headers"):
        for name, value in (match.get(section) or {}).items():
            shown = value[0] if isinstance(value, list) and value else value
            parts.append(f"{section}.{name}={shown}")
    return " ".join(parts) or "any request"


def way_text(way: dict) -> str:
    if way["way"] in ("magic-contact", "scenario-rule-in-force"):
        label = "magic contact" if way["way"] == "magic-contact" else "rule in force"
        return f"{label}: {_match_text(way['match'])} (rule {way['rule']})"
    if way["way"] == "header":
        return f"header {way['header']}: {way['value']} on {way['operation']}"
    rule = way["rule"]
    return f"scenario rule: {{match: {{operation: {rule['match']['operation']}}}, times: 1, error: {rule['error']}}}"


def render(report: dict, unmet_shown: int = UNMET_SHOWN) -> str:
    summary = report["summary"]
    lines = [f"otpsim client report: {summary['requests']} requests, {summary['deliveries']} pushes, "
             f"{summary['codes_met']}/{summary['codes_documented']} documented codes met, {summary['findings']} finding(s)"]
    if report["products"]:
        lines += ["", "Coverage"]
        rows = [["product", "requests", "codes met", "limits hit"]]
        for product in report["products"]:
            codes = product["codes"]
            limits = product["limits"]
            rows.append([product["product"], str(product["requests"]),
                         f"{codes['met']}/{codes['documented']} ({codes['coverage']:.0%})",
                         f"{sum(l['met'] for l in limits)}/{len(limits)}"])
        lines += _table(rows)
    for product in report["products"]:
        if product["met"]:
            lines += ["", f"{product['product']}: met"]
            lines += _table([[m["key"], str(m["status"]), f"x{m['times']}", ", ".join(m["via"])] for m in product["met"]])
        if product["unmet"]:
            lines += ["", f"{product['product']}: not met yet, with the shortest way to meet each"]
            shown = product["unmet"][:unmet_shown]
            lines += _table([[u["key"], str(u["status"]), u["ways"][0]["text"] if u["ways"] else "-"] for u in shown])
            if len(product["unmet"]) > len(shown):
                lines.append(f"... and {len(product['unmet']) - len(shown)} more (GET /__otpsim/report lists all)")
    if report["pushes"]:
        lines += ["", "Pushes"]
        rows = [["kind", "pushes", "answers", "faults met", "faults not met"]]
        for push in report["pushes"]:
            answers = ", ".join(f"{k} x{v}" for k, v in push["answers"].items()) or "-"
            rows.append([push["kind"], str(push["deliveries"]), answers, ", ".join(push["faults"]["met"]) or "-",
                         ", ".join(u["fault"] for u in push["faults"]["unmet"]) or "-"])
        lines += _table(rows)
    lines += ["", "Findings" if report["findings"] else "Findings: none"]
    for number, item in enumerate(report["findings"], 1):
        where = f" [{item['test']}]" if item.get("test") else ""
        lines.append(f"{number}. {item['kind']}: {item['title']}{where}")
        lines.append(f"   {item['detail']}")
        lines.append(f"   rule: {item['rule']['text']} ({item['rule']['source']})")
        evidence = [f"journal {', '.join(f'#{i}' for i in item['entries'])}"] if item["entries"] else []
        if item["deliveries"]:
            evidence.append(f"deliveries {', '.join(f'#{i}' for i in item['deliveries'])}")
        lines.append(f"   shown by: {'; '.join(evidence)}")
    return "\n".join(lines) + "\n"
