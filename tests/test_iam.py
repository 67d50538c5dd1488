"""IAM through HTTP: the password token, its use on osm, its expiry, and the domain lookup."""

import json

import pytest
from starlette.testclient import TestClient

from huawei_signing import signed_headers
from simulator.core.compose import simulator_from_texts

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

TOKENS = "/v3/auth/tokens"
DOMAINS = "/v3/auth/domains"
OSM_SEND = "/v2/servicerequest/verifycodes/send"


def password_body(password="Sim-Passw0rd!", domain="sim-domain", name="sim-user", scope=None):
    auth = {"identity": {"methods": ["password"], "password": {
        "user": {"domain": {"name": domain}, "name": name, "password": password}}},
        "scope": scope or {"domain": {"name": "sim-domain"}}}
    return {"auth": auth}


def login(client, **options):
    return client.post(TOKENS, json=password_body(**options))


def osm_send(client, token):
    return client.post(OSM_SEND, headers={"X-Auth-Token": token},
                       json={"contact_value": "13800000000", "contact_way": 0, "area_code": "86"})


def test_password_login_answers_201_with_the_token_in_x_subject_token(client):
    client.post("/__otpsim/clock", json={"mode": "manual"})
    client.post("/__otpsim/clock", json={"set": "2024-01-01T00:00:00Z"})
    response = login(client, scope={"domain": {"name": "sim-domain"}})
    assert response.status_code == 201
    assert 1 <= len(response.headers["x-subject-token"]) <= 5000
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["issued_at"] == "2024-01-01T00:00:00.000000Z"
    assert token["expires_at"] == "2024-01-02T00:00:00.000000Z"
    assert token["user"]["name"] == "sim-user"
    assert token["user"]["domain"] == {"id": "sim0domain0id", "name": "sim-domain"}
    assert token["domain"] == {"id": "sim0domain0id", "name": "sim-domain"}
    assert token["catalog"] == []


def test_project_scope_and_nocatalog(client):
    response = client.post(f"{TOKENS}?nocatalog=true",
                           json=password_body(scope={"project": {"name": "cn-south-1"}}))
    token = response.json()["token"]
    assert token["project"]["name"] == "cn-south-1" and token["project"]["domain"]["name"] == "sim-domain"
    assert "catalog" not in token and "domain" not in token


@pytest.mark.parametrize("options", [
    {"password": "wrong"}, {"name": "nobody"}, {"domain": "other-domain"},
    {"scope": {"domain": {"name": "other-domain"}}},
])
def test_wrong_credentials_are_keystones_401(client, options):
    response = login(client, **options)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": "Unauthorized.", "title": "Unauthorized"}}
    assert len(response.headers["x-request-id"]) == 32


def test_bad_bodies_are_documented_400s_in_the_flat_form(client):
    scope = {"domain": {"name": "sim-domain"}}
    missing = client.post(TOKENS, json={"auth": {"identity": {"methods": ["password"]}, "scope": scope}})
    assert missing.status_code == 400
    assert missing.json() == {"error_code": "IAM.0072", "error_msg": "'password' is a required property."}
    wrong_method = client.post(TOKENS, json={"auth": {"identity": {"methods": ["token"], "password": {}},
                                                      "scope": scope}})
    assert wrong_method.json()["error_code"] == "IAM.0007"
    broken = client.post(TOKENS, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.json() == {"error_code": "IAM.0011", "error_msg": "Request body is invalid."}


def test_scope_is_required(client):
    body = password_body()
    del body["auth"]["scope"]
    response = client.post(TOKENS, json=body)
    assert (response.status_code, response.json()) == (
        400, {"error_code": "IAM.0072", "error_msg": "'scope' is a required property."})


def test_internal_error_is_the_flat_iam_0006(client):
    response = client.post(TOKENS, json=password_body(), headers={"X-Otpsim-Error": "IAM.0006"})
    assert (response.status_code, response.json()) == (500, {
        "error_code": "IAM.0006", "error_msg": "An unexpected error prevented the server from fulfilling your request."})


def test_token_works_on_osm_until_it_expires_after_24_hours(client):
    client.post("/__otpsim/clock", json={"mode": "manual"})
    token = login(client).headers["x-subject-token"]
    assert osm_send(client, token).status_code == 200
    client.post("/__otpsim/clock", json={"advance": 24 * 3600})
    expired = osm_send(client, token)
    assert expired.status_code == 401
    assert expired.json()["error_code"] == "APIGW.0301"
    assert expired.json()["error_msg"] == "Incorrect IAM authentication information: decrypt token fail"


def test_domain_lookup_with_an_aksk_signature_or_a_token(client):
    signed = client.get(DOMAINS, headers=signed_headers("GET", DOMAINS))
    assert signed.status_code == 200
    assert signed.json() == {
        "domains": [{"id": "sim0domain0id", "name": "sim-domain", "enabled": True, "description": "",
                     "links": {"self": "https://127.0.0.1:8080/v3/domains/sim0domain0id"}}],
        "links": {"self": "https://127.0.0.1:8080/v3/auth/domains"}}
    token = login(client).headers["x-subject-token"]
    assert client.get(DOMAINS, headers={"X-Auth-Token": token}).json() == signed.json()


def test_domain_lookup_refuses_a_bad_signature_with_the_gateway_code(client):
    response = client.get(DOMAINS, headers=signed_headers("GET", DOMAINS, sk="wrong"))
    assert response.status_code == 401
    body = response.json()
    assert body["error_code"] == "APIGW.0301" and body["request_id"] == response.headers["x-request-id"]
    assert body["error_msg"] == "Incorrect IAM authentication information: verify aksk signature fail"
    unknown_ak = client.get(DOMAINS, headers=signed_headers("GET", DOMAINS, ak="NOSUCHAK"))
    assert unknown_ak.json()["error_msg"] == "Incorrect IAM authentication information: ak NOSUCHAK not exist"
    bad_token = client.get(DOMAINS, headers={"X-Auth-Token": "MIInot-issued"})
    assert bad_token.json()["error_msg"] == "Incorrect IAM authentication information: decrypt token fail"
    nothing = client.get(DOMAINS)
    assert (nothing.status_code, nothing.json()["error_code"]) == (401, "APIGW.0301")
    assert nothing.json()["error_msg"] == "Incorrect IAM authentication information: x-auth-token not found"
    assert client.get("/v3/auth/nothing").json()["error_code"] == "APIGW.0101"


def test_an_aksk_without_a_domain_name_gets_a_generated_one_that_the_seed_fixes():
    def domain_names(seed):
        scenario = {"credentials": {"huawei_aksk": [{"ak": "NONAMEAK00000000000", "sk": "noNameSecret",
                                                     "domain_id": "noname0domain"}]}}
        client = TestClient(simulator_from_texts([("no-name", json.dumps(scenario))], seed=seed))
        headers = signed_headers("GET", DOMAINS, ak="NONAMEAK00000000000", sk="noNameSecret")
        return [client.get(DOMAINS, headers=headers).json()["domains"][0]["name"] for _ in range(2)]

    first, again = domain_names(seed=1)
    assert first == again and first and first.isascii() and first != "noname0domain"
    assert domain_names(seed=1) == [first, first]
    assert domain_names(seed=2)[0] != first
