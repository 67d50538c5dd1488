"""schemathesis over every operation of every spec: each answer conforms to its documented status
and schema, and a 5xx is only ever a documented vendor answer, never a crash."""

import orjson
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from simulator.core.compose import create_simulator

APP = create_simulator()
EXAMPLES = 30


def _scalars(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    else:
        yield str(value)


def only_documented_server_errors(ctx, response, case):
    """A 5xx must carry a body that is one of the product's catalogue entries with that status."""
    if response.status_code < 500:
        return None
    product = APP.products[case.operation.schema.raw_schema["x-otpsim"]["product"]]
    body = orjson.loads(response.content)
    documented = {(e.status, e.code) for e in product.catalogue.values()}
    codes = set(_scalars(body))
    assert any((response.status_code, code) in documented for code in codes), \
        f"undocumented {response.status_code}: {response.content[:200]!r}"
    return None


def _conformance_test(name):
    schema = schemathesis.openapi.from_asgi(f"/__otpsim/openapi/{name}.json", APP)

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def test(case):
        # products sharing a path (dysms and dypns on POST /) are told apart as a client would name them
        response = case.call(headers={"X-Otpsim-Product": name})
        case.validate_response(response, checks=[
            status_code_conformance, content_type_conformance, response_schema_conformance,
            only_documented_server_errors,
        ])

    return test


for _name in sorted(APP.products):
    globals()[f"test_{_name}_answers_conform_to_its_spec"] = _conformance_test(_name)
