"""Requests built from a scenario rule's match, and catalogue answers built straight from the spec."""

import re

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _nested(dotted: dict) -> dict:
    body: dict = {}
    for path, value in dotted.items():
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return body


def request_for(operation, match: dict) -> dict:
    """The request a rule's exact-value match describes, for httpx."""
    headers = {name: str(value) for name, value in (match.get("headers") or {}).items()}
    if operation.rpc_action:
        headers["x-acs-action"] = operation.rpc_action
    request = {"method": operation.method, "url": re.sub(r"\{[^}]+\}", "x", operation.path),
               "headers": headers, "params": match.get("query") or {}}
    if match.get("body"):
        request["json"] = _nested(match["body"])
    return request


def expected_body(product, entry, request_id: str, host: str):
    """The catalogue entry in its envelope, filled in straight from the spec."""
    values = {**entry.fields, "code": entry.code, "request_id": request_id, "host": host}
    values["message"] = PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), entry.message)

    def fill(template):
        if isinstance(template, str):
            return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)
        if isinstance(template, dict):
            return {k: fill(v) for k, v in template.items()}
        return [fill(v) for v in template] if isinstance(template, list) else template
    return fill(product.envelopes[entry.envelope]["body"])
