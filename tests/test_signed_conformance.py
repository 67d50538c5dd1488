"""schemathesis over every operation of every spec, each request signed or token-authenticated as the
product's clients do it, so that the fuzzer reaches the success paths and not only the 401s
(test_conformance.py sends the requests unauthenticated). Each answer conforms to its documented status,
media type and schema, and a 5xx is only ever a documented vendor answer. Where a spec declares links,
a stateful run follows them too, each step signed the same way."""

import json
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Response
from schemathesis.generation.stateful.state_machine import StepOutput
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from starlette.testclient import TestClient

from alibaba_signing import acs3
from huawei_signing import signed_headers
from meeting_helpers import basic, token
from simulator.core.compose import create_simulator, standard_parts
from test_conformance import only_documented_server_errors
from voice_helpers import aksk_headers

APP = create_simulator()
PARTS = standard_parts()
# Small and derandomized: the same requests each run, within the CI budget on 2 cores.
EXAMPLES = 8
CLIENT_ID = "DRrYIqauawN0I8myTMoDTPys6ezGZxnm"   # the default scenario's OneAccess application
# What a client sends to authenticate, and the fuzzer fills with noise: dropped, then made right.
AUTH_HEADERS = {"authorization", "x-auth-token", "x-sdk-date", "x-access-token", "x-aksk", "x-client-id"}
ACS_QUERY = {"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "Timestamp", "SignatureVersion",
             "SignatureNonce", "Signature"}


def _huawei(case, request, client):
    """SDK-HMAC-SHA256 over the request as sent (osm, iam)."""
    body = request["content"]
    query = urlencode(request["params"], doseq=True)
    _merge(request, signed_headers(request["method"], request["url"], body, query=query))


def _alibaba(case, request, client):
    """ACS3-HMAC-SHA256, the SDK default (cams, dysms, dypns): the action and version from the spec."""
    operation = case.operation.definition.raw
    version = next(p["schema"]["enum"][0] for p in _parameters(case) if p["name"] == "x-acs-version")
    params = {k: v for k, v in request["params"].items() if k not in ACS_QUERY}
    form = request.pop("form", None)
    body = urlencode(form).encode() if form else b""
    path, headers = acs3(operation["x-otpsim-rpc-action"], params, body=body, version=version)
    request.update(url=path, params={}, content=body)
    _merge(request, headers)


def _wsse(case, request, client):
    _merge(request, aksk_headers(created=datetime.now(timezone.utc)))


def _meeting(case, request, client):
    if case.operation.definition.raw["operationId"] == "CreateAccountToken":
        _merge(request, {"Authorization": basic()})
    else:
        _merge(request, token(client))


def _oneaccess(case, request, client):
    _merge(request, {"X-client-id": CLIENT_ID})


def _merge(request, headers: dict):
    """The signer's headers over the case's, whatever their case."""
    names = {name.lower() for name in headers}
    request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() not in names} | headers


# By auth scheme: a product is signed by the first of its schemes that has a signer here.
SIGNERS = {"huawei-aksk": _huawei, "acs": _alibaba, "wsse": _wsse, "meeting-token": _meeting,
           "oneaccess-client": _oneaccess}


def _signer(product: str):
    return next(SIGNERS[name] for name in APP.products[product].auth_schemes if name in SIGNERS)


def _parameters(case) -> list:
    schema = case.operation.schema.raw_schema
    resolved = []
    for parameter in case.operation.definition.raw.get("parameters", []):
        if "$ref" in parameter:
            parameter = schema["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        resolved.append(parameter)
    return resolved


def _wire(value) -> str:
    """A query value as the SDKs write it."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _request(case, product: str, client, linked: frozenset = frozenset()) -> dict:
    """The case as bytes on the wire, its auth material replaced by the product's real signature, except
    the credentials a link carried over from an earlier answer (`linked` header names, lower case)."""
    kwargs = case.as_transport_kwargs()
    headers = {k: str(v) for k, v in kwargs["headers"].items() if k.lower() not in AUTH_HEADERS or k.lower() in linked}
    carried = {k: v for k, v in headers.items() if k.lower() in linked}
    params = {k: _wire(v) for k, v in (kwargs.get("params") or {}).items()}
    request = {"method": kwargs["method"], "url": kwargs["url"].split("#")[0] or "/", "headers": headers,
               "params": params, "content": b""}
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif isinstance(kwargs.get("data"), dict):
        request["form"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"] if isinstance(kwargs["data"], bytes) else str(kwargs["data"]).encode()
    _signer(product)(case, request, client)
    _merge(request, carried)
    if "form" in request:
        request["content"] = urlencode(request.pop("form")).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request["headers"]["X-Otpsim-Product"] = product
    if request["params"]:
        request["url"] += "?" + urlencode(request["params"])
    return request


def _auth_refusals(product: str) -> set:
    """The codes that say a request's credentials were refused: the product's auth failure and what its
    schemes raise, less the parameter errors they share with validation (MissingParameter, ...)."""
    spec = APP.products[product]
    schemes = PARTS.contributions.schemes
    keys = {spec.auth_failure} | {key for name in spec.auth_schemes for key in schemes[name].needs.errors}
    keys -= set(spec.protocol_errors.values())
    return {spec.catalogue[key].code for key in keys}


def signature_accepted(product: str):
    refused, public = _auth_refusals(product), set(APP.products[product].document["x-otpsim"]["auth"].get("public", []))

    def check(ctx, response, case):
        """A request signed as the product's clients sign it is never refused for its credentials."""
        if case.operation.definition.raw["operationId"] in public or not response.content:
            return None
        assert not _codes(json.loads(response.content)) & refused, \
            f"signed request refused: {response.status_code} {response.content[:120]!r} for {response.request.url}"
        return None
    return check


def no_crash(product: str):
    """The product's internal error is what a handler's exception becomes: never the answer to a valid
    request (unless the product documents the same code for bad input too, as voice's 1020001)."""
    errors = APP.products[product].protocol_errors
    internal = errors["internal-error"]
    crash = set() if internal in {key for kind, key in errors.items() if kind != "internal-error"} \
        else {APP.products[product].catalogue[internal].code}

    def check(ctx, response, case):
        if response.status_code >= 500 and crash:
            assert not crash & set(_codes(json.loads(response.content))), f"a crash: {response.content[:200]!r}"
        return None
    return check


def _codes(body) -> set:
    return {str(v) for v in (body.values() if isinstance(body, dict) else []) if isinstance(v, (str, int))}


def _checks(product: str, signed: bool = True) -> list:
    """signed=False: the request's credential is not the signer's (see _signed_journeys_test)."""
    return [status_code_conformance, content_type_conformance, response_schema_conformance,
            only_documented_server_errors, no_crash(product)] + ([signature_accepted(product)] if signed else [])


def _signed_conformance_test(product):
    schema = schemathesis.openapi.from_asgi(f"/__otpsim/openapi/{product}.json", APP)
    # Excluded: the coverage phase. Its cases break the request on purpose (a parameter sent twice, a
    # header of the wrong type) where no client's signature can follow them; test_conformance.py runs it
    # unsigned. The examples and fuzzing phases are valid requests, signed here.
    schema.config.phases.update(phases=["examples", "fuzzing"])
    checks = _checks(product)

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test(case, signed_client):
        request = _request(case, product, signed_client)
        response = signed_client.request(request["method"], request["url"], headers=request["headers"],
                                         content=request["content"])
        case.validate_response(response, checks=checks)

    return test


# Stateful: a few short scenarios per product whose spec has links (a token or a verified id, a number in
# migration, a returned code carried from one answer to the next request), each step signed as above.
STATEFUL_EXAMPLES, STATEFUL_STEPS = 4, 4


def _has_links(product: str) -> bool:
    return "links" in json.dumps(APP.products[product].document)


def _signed_journeys_test(product):
    schema = schemathesis.openapi.from_asgi(f"/__otpsim/openapi/{product}.json", APP)
    checks = _checks(product)
    # A credential carried by a link is the scenario's own, which an earlier step may have logged out
    # (DeleteToken): its refusal is right, so signature_accepted is left out for those requests only.
    carried_checks = _checks(product, signed=False)

    class SignedJourneys(schema.as_state_machine()):
        client = None

        def step(self, input):
            """One request of the scenario, signed, its linked credentials kept. The checks are the ones
            above; excluded are schemathesis's stateful defaults use_after_free and
            ensure_resource_availability: they read REST resources at path-parameter URLs, and these APIs
            keep no such resource (a code or a token is used up by design, not deleted)."""
            linked = frozenset(name.lower() for location, name in input.applied_parameters
                               if location == "header" and name)
            request = _request(input.case, product, self.client, linked)
            response = self.client.request(request["method"], request["url"], headers=request["headers"],
                                           content=request["content"])
            input.case.validate_response(response, checks=carried_checks if linked & AUTH_HEADERS else checks)
            return StepOutput(Response.from_any(response), input.case)

    def test(signed_client):
        SignedJourneys.client = signed_client
        SignedJourneys.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS,
                                             deadline=None, derandomize=True,
                                             suppress_health_check=list(HealthCheck)))

    return test


@pytest.fixture(scope="module")
def signed_client():
    with TestClient(APP, base_url="http://127.0.0.1:8080") as client:
        yield client


for _name in sorted(APP.products):
    globals()[f"test_{_name}_signed_answers_conform_to_its_spec"] = _signed_conformance_test(_name)
    if _has_links(_name):
        globals()[f"test_{_name}_signed_journeys_conform_to_its_spec"] = _signed_journeys_test(_name)
