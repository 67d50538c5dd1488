"""Every spec is a valid OpenAPI 3.1 document that follows the project's conventions, served as-is."""

import json
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from simulator.core.compose import standard_parts
from simulator.core.spec import spec_dir

PRODUCTS = standard_parts().products
COMMONS = sorted((spec_dir() / "commons").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_spec_is_valid_openapi(name):
    validate(PRODUCTS[name].document)


@pytest.mark.parametrize("path", COMMONS, ids=lambda path: path.name)
def test_shared_vendor_documents_are_valid_openapi_and_name_no_product(path):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validate(document)
    assert "product" not in document["x-otpsim"]


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_served_spec_stands_alone(name):
    refs = []

    def collect(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(PRODUCTS[name].document)
    assert all(ref.startswith("#/") for ref in refs), [ref for ref in refs if not ref.startswith("#/")]
    assert "include" not in PRODUCTS[name].document["x-otpsim"]


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_spec_is_served_at_run_time(client, name):
    served = client.get(f"/__otpsim/openapi/{name}.json")
    assert served.status_code == 200
    assert served.json() == PRODUCTS[name].document


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_every_catalogue_entry_says_where_it_comes_from(name):
    for entry in PRODUCTS[name].catalogue.values():
        assert entry.source.strip(), entry.key
        assert 200 <= entry.status <= 599, entry.key
        if entry.synthetic:
            assert entry.source, entry.key


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_every_operation_is_named_by_the_vendor_and_documents_its_errors(name):
    for op in PRODUCTS[name].operations:
        responses = op.raw.get("responses", {})
        assert "200" in responses or "201" in responses, op.qualified
        assert any(code.startswith(("4", "5")) for code in responses), op.qualified


def test_catalogue_is_served(client):
    entries = client.get("/__otpsim/catalogue/osm").json()
    by_code = {e["code"]: e for e in entries}
    assert by_code["OSM.01010024"]["status"] == 200
    assert by_code["APIGW.0301"]["status"] == 401
    assert client.get("/__otpsim/catalogue/nope").status_code == 404


# What a reader cannot open: notes kept outside the repository, and seeds named by number, not title.
PRIVATE_CITATION = re.compile(r"vendor-facts|sdk-wire|sdk-captures|shared/reference|\bseeds? \d{3}")


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_every_source_of_a_served_spec_is_one_a_reader_can_open(name):
    text = json.dumps(PRODUCTS[name].document, ensure_ascii=False)
    assert not [m.group(0) for m in PRIVATE_CITATION.finditer(text)], \
        [text[max(0, m.start() - 80):m.end() + 20] for m in PRIVATE_CITATION.finditer(text)]


# The user's way in: the README, the docs and the spec conventions, beside every spec file.
DOCS = [spec_dir().parent / "README.md", spec_dir() / "CONVENTIONS.md", *sorted((spec_dir().parent / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", COMMONS + sorted(spec_dir().glob("*.yaml")) + [p for p in DOCS if p.exists()],
                         ids=lambda path: path.name)
def test_every_source_of_a_spec_file_is_one_a_reader_can_open(path):
    """Comments included: a reader of the file follows them too."""
    assert not PRIVATE_CITATION.search(path.read_text(encoding="utf-8"))


# The code's own comments, the bench's and the tests' (this file names the pattern, so it is left out)
CODE = [path for folder in ("simulator", "bench", "tests") for path in sorted((spec_dir().parent / folder).rglob("*"))
        if path.suffix in (".py", ".lua", ".yaml", ".js") and "node_modules" not in path.parts
        and path != Path(__file__).resolve()]


def test_every_comment_in_the_code_cites_what_a_reader_can_open():
    cited = {str(path.relative_to(spec_dir().parent)): match.group(0) for path in CODE
             for match in [PRIVATE_CITATION.search(path.read_text(encoding="utf-8"))] if match}
    assert CODE and not cited, cited


# A flow mapping cuts a plain scalar at its first comma: `{type: string, description: the id, UTC}` is a
# description "the id" and a stray key `UTC: null`. Each OpenAPI 3.1 object a spec may hold: its
# keywords (x-* aside) and the kind of object under each keyword ("{kind}" a map of them, "[kind]" a list).
SCHEMA_KEYWORDS = {
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$defs", "$comment", "$vocabulary",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems", "items",
    "contains", "properties", "patternProperties", "additionalProperties", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "type", "const", "enum", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
    "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
    "dependentRequired", "format", "contentEncoding", "contentMediaType", "contentSchema", "title",
    "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "discriminator", "xml", "externalDocs", "example",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER = {"name": None, "in": None, "description": None, "required": None, "deprecated": None,
             "allowEmptyValue": None, "style": None, "explode": None, "allowReserved": None,
             "schema": "schema", "example": None, "examples": "{example}", "content": "{media}"}
OPENAPI_OBJECTS = {
    "document": {"openapi": None, "info": "info", "jsonSchemaDialect": None, "servers": "[server]",
                 "paths": "{path}", "webhooks": "{path}", "components": "components", "security": None,
                 "tags": "[tag]", "externalDocs": "docs"},
    "info": dict.fromkeys(("title", "summary", "description", "termsOfService", "contact", "license", "version")),
    "server": {"url": None, "description": None, "variables": None},
    "tag": {"name": None, "description": None, "externalDocs": "docs"},
    "docs": {"description": None, "url": None},
    "components": {"schemas": "{schema}", "responses": "{response}", "parameters": "{parameter}",
                   "examples": "{example}", "requestBodies": "{body}", "headers": "{header}",
                   "securitySchemes": "{security}", "links": "{link}", "callbacks": "{{path}}",
                   "pathItems": "{path}"},
    "path": {"summary": None, "description": None, "servers": "[server]", "parameters": "[parameter]",
             **dict.fromkeys(METHODS, "operation")},
    "operation": {"tags": None, "summary": None, "description": None, "externalDocs": "docs",
                  "operationId": None, "parameters": "[parameter]", "requestBody": "body",
                  "responses": "{response}", "callbacks": "{{path}}", "deprecated": None, "security": None,
                  "servers": "[server]"},
    "parameter": PARAMETER,
    "header": {key: kind for key, kind in PARAMETER.items() if key not in ("name", "in")},
    "body": {"description": None, "content": "{media}", "required": None},
    "media": {"schema": "schema", "example": None, "examples": "{example}", "encoding": "{encoding}"},
    "encoding": {"contentType": None, "headers": "{header}", "style": None, "explode": None, "allowReserved": None},
    "response": {"description": None, "headers": "{header}", "content": "{media}", "links": "{link}"},
    "link": dict.fromkeys(("operationRef", "operationId", "parameters", "requestBody", "description", "server")),
    "example": dict.fromkeys(("summary", "description", "value", "externalValue")),
    "security": dict.fromkeys(("type", "description", "name", "in", "scheme", "bearerFormat", "flows",
                               "openIdConnectUrl")),
    "schema": {**dict.fromkeys(SCHEMA_KEYWORDS),
               **dict.fromkeys(("properties", "patternProperties", "$defs", "dependentSchemas"), "{schema}"),
               **dict.fromkeys(("allOf", "anyOf", "oneOf", "prefixItems"), "[schema]"),
               **dict.fromkeys(("not", "if", "then", "else", "items", "contains", "additionalProperties",
                                "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"),
                               "schema")},
}
REFERENCE = {"$ref", "summary", "description"}
NULL_IS_A_VALUE = {"default", "const", "example"}   # a schema may say null is the default, the one value, an example


def stray_keys(node, kind="document", where="#") -> list[str]:
    """Every key of an OpenAPI object that is no keyword of it, or a keyword left without a value."""
    if kind[0] in "{[":
        items = node.items() if kind[0] == "{" and isinstance(node, dict) else enumerate(node or [])
        if kind[0] == "{" and isinstance(node, dict) and "$ref" in node:   # a reference in place of the map
            return [f"{where}/{key}: not a reference keyword" for key in node if key not in REFERENCE]
        return [problem for key, value in items for problem in stray_keys(value, kind[1:-1], f"{where}/{key}")]
    if kind == "schema" and isinstance(node, bool):
        return []
    if not isinstance(node, dict):
        return [f"{where}: a {kind} object must be a mapping, not {node!r}"]
    keywords = OPENAPI_OBJECTS[kind] if kind == "schema" or "$ref" not in node else dict.fromkeys(REFERENCE)
    problems = []
    for key, value in node.items():
        if str(key).startswith("x-"):
            continue
        if key not in keywords:
            problems.append(f"{where}/{key}: no keyword of a {kind} object")
        elif value is None and key not in NULL_IS_A_VALUE:
            problems.append(f"{where}/{key}: null")
        elif keywords[key]:
            problems.extend(stray_keys(value, keywords[key], f"{where}/{key}"))
    return problems


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_served_spec_has_no_stray_keys(name):
    assert stray_keys(PRODUCTS[name].document) == []


@pytest.mark.parametrize("path", COMMONS, ids=lambda path: path.name)
def test_shared_vendor_document_has_no_stray_keys(path):
    assert stray_keys(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def _implicit_nulls_in_flow_mappings(node) -> list[str]:
    if isinstance(node, yaml.MappingNode):
        pairs = node.value
    elif isinstance(node, yaml.SequenceNode):
        pairs = [(None, value) for value in node.value]
    else:
        return []
    found = [f"line {key.start_mark.line + 1}: {key.value!r}" for key, value in pairs
             if node.flow_style and key is not None and isinstance(value, yaml.ScalarNode)
             and value.tag == "tag:yaml.org,2002:null" and value.value == ""]
    return found + [problem for _, value in pairs for problem in _implicit_nulls_in_flow_mappings(value)]


@pytest.mark.parametrize("path", COMMONS + sorted(spec_dir().glob("*.yaml")), ids=lambda path: path.name)
def test_no_flow_mapping_of_a_spec_file_cuts_a_text_at_a_comma(path):
    """x-otpsim and examples too, which the keyword walk leaves alone: `{a: x, y}` is never meant as `y: null`."""
    assert _implicit_nulls_in_flow_mappings(yaml.compose(path.read_text(encoding="utf-8"))) == []
