"""The scenario JSON Schema, assembled for the loaded products.

The generic part ships as simulator/scenario.schema.json. What depends on the specs (settings and
their types, operation names, each catalogue's codes, each operation's request fields) is filled
in from them here, and what the code declares (credential kinds, product rule keys, push kinds)
from the Contributions. scenario_format.py validates scenario text against it.
"""

import json
import re
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "scenario.schema.json"
# keywords of a spec's x-otpsim.settings entry that are JSON Schema and carry over
SETTING_KEYWORDS = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                    "minLength", "maxLength", "pattern")


def _either_name(names) -> dict:
    """Schema: the match value (a name or a list of names) names one of `names`."""
    return {"anyOf": [{"enum": sorted(names)}, {"type": "array", "contains": {"enum": sorted(names)}}]}


def _codes(product) -> list:
    """Catalogue keys; all-digit ones also as YAML integers (`error: 1010010`)."""
    return sorted(product.catalogue) + sorted(int(key) for key in product.catalogue if key.isdigit())


def _field_paths(schema: dict | None, prefix: str = "") -> tuple[list[str], list[str]]:
    """Dotted paths of an object schema's fields, and the paths below which anything goes."""
    if not isinstance(schema, dict):
        return [], [prefix]
    properties = dict(schema.get("properties") or {})
    for branch in (*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        properties.update(branch.get("properties") or {})
    if not properties:
        return [], [prefix]
    exact, open_ = [], []
    for name, sub in properties.items():
        path = f"{prefix}{name}"
        exact.append(path)
        if isinstance(sub, dict) and (sub.get("type") == "object" or "properties" in sub):
            below, below_open = _field_paths(sub, f"{path}.")
            exact += below
            open_ += below_open
        elif isinstance(sub, dict) and sub.get("type") == "array":
            open_.append(f"{path}.")
    return exact, open_


def _field_names_schema(exact: list[str], open_: list[str], what: str) -> dict:
    alternatives = [re.escape(path) for path in exact] + [re.escape(path) + ".+" for path in open_]
    return {"pattern": f"^(?:{'|'.join(alternatives)})$" if alternatives else "(?!)",
            "x-otpsim-what": what, "x-otpsim-fields": exact}


def _operation_fields_rule(operation) -> dict | None:
    """Schema: a rule matching exactly this operation names only its documented fields."""
    raw = operation.raw
    query = [p["name"] for p in raw.get("parameters") or [] if p.get("in") == "query"]
    body_schema = next((c.get("schema") for c in ((raw.get("requestBody") or {}).get("content") or {}).values()
                        if c.get("schema")), None)
    body_exact, body_open = _field_paths(body_schema) if body_schema else ([], [])
    if operation.rpc_action:  # Alibaba RPC: form fields arrive as parameters too
        query += body_exact
    fields = {"query": _field_names_schema(query, [], f"query parameter of {operation.qualified}")}
    if body_open != [""]:
        fields["body"] = _field_names_schema(body_exact, body_open, f"body field of {operation.qualified}")
    return {
        "if": {"required": ["match"], "properties": {"match": {
            "required": ["operation"], "properties": {"operation": {"const": operation.qualified}}}}},
        "then": {"properties": {"match": {"properties": {
            section: {"propertyNames": names} for section, names in fields.items()}}}},
    }


def _catalogue_rule(product) -> dict:
    """Schema: a rule that can match this product answers only with codes of its catalogue."""
    operations = [op.qualified for op in product.operations]
    return {
        "if": {"required": ["match", "error"], "properties": {"match": {"anyOf": [
            {"required": ["product"], "properties": {"product": _either_name([product.name])}},
            {"required": ["operation"], "properties": {"operation": _either_name(operations)}},
        ]}}},
        "then": {"properties": {"error": {"enum": _codes(product),
                                          "x-otpsim-what": f"code of the {product.name} catalogue"}}},
    }


def _product_operations_rule(product, known: list[str]) -> dict:
    """Schema: with `product: P`, a known `operation` is one of P's (unknown ones are reported once)."""
    operation = {"if": {"enum": known}, "then": {"enum": sorted(op.qualified for op in product.operations),
                                                 "x-otpsim-what": f"operation of {product.name}"}}
    return {
        "if": {"properties": {"product": {"const": product.name}}, "required": ["product"]},
        "then": {"properties": {"operation": {
            "if": {"type": "array"}, "then": {"items": operation}, "else": operation}}},
    }


def build_schema(products: dict, contributions) -> dict:
    """The complete scenario schema for these products (specs) and what their code declares (Contributions)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    defs = schema["$defs"]
    defs["credentials"]["properties"] = {kind: declared.schema()
                                         for kind, declared in sorted(contributions.credential_kinds.items())}
    rule_properties = defs["rule"]["properties"]
    for key, declared in contributions.rule_keys.items():
        if key in rule_properties:
            raise RuntimeError(f"rule key {key} declared by a product is already a scenario rule key")
        rule_properties[key] = declared.schema
    defs["callback-kind"]["enum"] = sorted(contributions.callback_kinds)
    schema["properties"]["products"].update(additionalProperties=False, properties={
        name: {"type": "object", "additionalProperties": False, "properties": {
            key: {k: meta[k] for k in (*SETTING_KEYWORDS, "description") if k in meta}
            for key, meta in product.settings.items()}}
        for name, product in products.items()
    })
    defs["product-name"]["enum"] = sorted(products)
    known = defs["operation-name"]["enum"] = sorted(op.qualified for p in products.values() for op in p.operations)
    defs["match"]["allOf"] = [_product_operations_rule(p, known) for p in products.values()]
    defs["rule"]["allOf"] += [_catalogue_rule(p) for p in products.values()]
    defs["rule"]["allOf"] += [_operation_fields_rule(op) for p in products.values() for op in p.operations]
    return schema
