"""Issue 15: tokens issued by the simulated IAM and Meeting outlast a reset, as credentials do, and
an unknown token is answered as a token failure, not as a bad AK/SK signature."""

import json

import pytest

from hardening import assert_still_serving, state_before

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SEND = "/v2/servicerequest/verifycodes/send"
LOGIN = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "domain": {"name": "sim-domain"}, "name": "sim-user", "password": "Sim-Passw0rd!"}}},
    "scope": {"domain": {"name": "sim-domain"}}}}


def iam_token(client) -> str:
    issued = client.post("/v3/auth/tokens", json=LOGIN)
    assert issued.status_code == 201, issued.text
    return issued.headers["x-subject-token"]


def send_with_token(client, token: str):
    body = {"contact_value": "13800000019", "contact_way": 0, "area_code": "86"}
    return client.post(SEND, content=json.dumps(body), headers={"content-type": "application/json", "x-auth-token": token})


def test_an_iam_token_outlasts_a_reset(client):
    code = state_before(client)
    token = iam_token(client)
    assert send_with_token(client, token).status_code == 200
    assert client.post("/__otpsim/reset").status_code == 200
    assert send_with_token(client, token).status_code == 200
    assert client.get("/__otpsim/outbox").json()[0]["to"] == "13800000019"


def test_an_unknown_token_is_answered_as_a_token_failure(client):
    code = state_before(client)
    refused = send_with_token(client, "MII-not-a-token")
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "APIGW.0301"
    assert refused.json()["error_msg"] == "Incorrect IAM authentication information: decrypt token fail"
    assert_still_serving(client, code)


def test_a_token_still_expires_on_the_virtual_clock_after_a_reset(client):
    client.post("/__otpsim/clock", json={"mode": "manual"})
    token = iam_token(client)
    client.post("/__otpsim/reset")
    client.post("/__otpsim/clock", json={"advance": 25 * 3600})
    assert send_with_token(client, token).json()["error_msg"].endswith("decrypt token fail")
