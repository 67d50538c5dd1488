"""Every spec is a valid OpenAPI 3.1 document that follows the project's conventions, served as-is."""

import json
import re

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
