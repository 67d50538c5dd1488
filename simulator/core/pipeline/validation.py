"""Request validation compiled once per operation from its OpenAPI parameters and body schema.

Headers and query strings arrive as text; they are coerced to their declared types first, then
one compiled validator checks `{header, query, body}` together. A failure is mapped to the most
specific catalogue entry: the operation's `x-otpsim-invalid` override for that field, else the
product's `missing-parameter` / `invalid-parameter` entry.
"""

import math
import re

import fastjsonschema
import orjson
from fastjsonschema.draft04 import CodeGeneratorDraft04
from fastjsonschema.draft07 import CodeGeneratorDraft07
from fastjsonschema.ref_resolver import RefResolver

from simulator.core.errors import SimError
from simulator.core.startup_cache import cached

DRAFT = "http://json-schema.org/draft-07/schema#"


class _StrictIntegers(CodeGeneratorDraft07):
    """Draft 7, except that an integer is an integer: since draft 6 JSON Schema also counts 2.0,
    which the vendors' typed APIs refuse (and which broke a voice call's `times`)."""
    generate_type = CodeGeneratorDraft04.generate_type


# what the generated code depends on besides the schema: a cached validator is one of this generator
GENERATOR = f"fastjsonschema {fastjsonschema.VERSION}, draft 7 with draft 4's integers\n".encode()


def _validator_code(schema: dict):
    """fastjsonschema.compile_to_code's module with _StrictIntegers, compiled; it names its function
    `validate_request`."""
    resolver = RefResolver.from_schema(schema, store={})
    generator = _StrictIntegers(schema, resolver=resolver)
    source = f"{generator.global_state_code}\n{generator.func_code}\nvalidate_request = {resolver.get_scope_name()}\n"
    return compile(source, "<request validator>", "exec")


def _compile(schema: dict):
    """The schema's validator; its code generated once and kept between runs (core/startup_cache.py)."""
    code = cached("validators", GENERATOR + orjson.dumps(schema, option=orjson.OPT_SORT_KEYS),
                  lambda: _validator_code(schema))
    namespace = {}
    exec(code, namespace)
    return namespace["validate_request"]


def _types(schema: dict) -> set:
    declared = schema.get("type")
    if isinstance(declared, list):
        return set(declared)
    return {declared} if declared else set()


# A number in a query or form is its digits as the vendors' own examples write them. Python's int() and
# float() also take spaces around, "1_000", other scripts' digits, "nan" and "inf": those stay text, so
# they get the invalid-parameter error (synthetic: the vendors document no looser reading).
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _coercer(schema: dict):
    types = _types(schema)
    if "integer" in types:
        return lambda text: int(text) if INTEGER_TEXT.fullmatch(text) else text
    if "number" in types:
        def coerce(text):
            if not NUMBER_TEXT.fullmatch(text):
                return text
            number = float(text)
            return number if math.isfinite(number) else text   # past a float's range: a string, so refused
        return coerce
    if "boolean" in types:
        # case-insensitive: Alibaba SDKs send Python str(True), "True"
        return lambda text: {"true": True, "false": False}.get(text.lower(), text)
    return None


class RequestValidator:
    def __init__(self, parameters, body_schema, body_required, invalid_overrides, protocol_errors):
        self._overrides = invalid_overrides
        self._missing = protocol_errors["missing-parameter"]
        self._invalid = protocol_errors["invalid-parameter"]
        sections = {"header": ({}, []), "query": ({}, []), "path": ({}, [])}
        self.headers: list[tuple[str, str, object]] = []   # (wire name lower, spec name, coercer)
        self.query: list[tuple[str, object]] = []
        self.path: list[tuple[str, object]] = []           # the path template's parameters
        self._header_names = {}
        for param in parameters:
            location = param.get("in")
            if location not in sections:
                continue
            schema = param.get("schema") or {}
            spec_name = param["name"]
            key = spec_name.lower() if location == "header" else spec_name
            properties, required = sections[location]
            properties[key] = schema
            if param.get("required"):
                required.append(key)
            if location == "header":
                self.headers.append((key, spec_name, _coercer(schema)))
                self._header_names[key] = spec_name
            else:
                getattr(self, location).append((spec_name, _coercer(schema)))
        request_schema = {"$schema": DRAFT, "type": "object", "properties": {}, "required": []}
        for location, (properties, required) in sections.items():
            request_schema["properties"][location] = {"type": "object", "properties": properties, "required": required}
        if body_schema is not None:
            request_schema["properties"]["body"] = body_schema
            if body_required:
                request_schema["required"].append("body")
        self._validate = _compile(request_schema)

    def instance(self, headers, query_params: dict, body, path_params: dict | None = None) -> dict:
        header_values = {}
        for key, _, coerce in self.headers:
            value = headers.get(key)
            if value is not None:
                header_values[key] = coerce(value) if coerce else value
        query_values = dict(query_params)
        for name, coerce in self.query:
            value = query_values.get(name)
            if coerce is not None and isinstance(value, str):
                query_values[name] = coerce(value)
        instance = {"header": header_values, "query": query_values}
        if path_params:
            instance["path"] = {name: coerce(path_params[name]) if coerce else path_params[name]
                                for name, coerce in self.path}
        if body is not None:
            instance["body"] = body
        return instance

    def validate(self, instance: dict) -> None:
        try:
            self._validate(instance)
        except fastjsonschema.JsonSchemaValueException as failure:
            raise self._to_error(failure, instance) from None

    def _to_error(self, failure, instance) -> SimError:
        path = [p for p in failure.path[1:]]  # drop "data"
        location = path[0] if path else None
        if failure.rule == "required":
            present = failure.value if isinstance(failure.value, dict) else {}
            missing = [k for k in failure.definition.get("required", []) if k not in present]
            field = missing[0] if missing else None
            if location is None:  # the whole body is missing
                return SimError(self._missing, field=field or "body", location="body")
            dotted = ".".join(str(p) for p in path[1:] + ([field] if field else []))
            return self._error(self._missing, location, dotted, field)
        dotted = ".".join(str(p) for p in path[1:])
        return self._error(self._invalid, location, dotted, path[1] if len(path) > 1 else location)

    def _error(self, default_key, location, dotted, field):
        if location == "header":
            field = self._header_names.get(field, field)
        key = self._overrides.get(dotted) or self._overrides.get(field) or default_key
        return SimError(key, field=field or dotted, location=location)
