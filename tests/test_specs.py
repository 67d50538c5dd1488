"""Every spec is a valid OpenAPI 3.1 document that follows the project's conventions, served as-is."""

import pytest
from openapi_spec_validator import validate

from simulator.core.spec import load_products

PRODUCTS = load_products()


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_spec_is_valid_openapi(name):
    validate(PRODUCTS[name].document)


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
