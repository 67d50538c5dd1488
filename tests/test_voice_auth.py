"""The Voice Call X-AKSK (WSSE) check: the digest recipe and every documented auth result code."""

import json
from datetime import timedelta

import pytest
import yaml

from simulator.auth.wsse import password_digest
from simulator.core.packaged import packaged
from voice_helpers import RESULT_SCHEMA, T0, aksk_headers, call_verify, freeze_clock, verify_body

AUTHORIZATION = 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"'
TOKEN = 'UsernameToken Username="sim-voice-app-key-0001",PasswordDigest="x",Nonce="abc",Created="2026-01-01T08:00:00Z"'


@pytest.fixture
def frozen(client):
    freeze_clock(client)
    return client


def test_password_digest_matches_the_sdk_wire_vector():
    digest = password_digest("sim-app-secret-0001", "66C92B11FF8A425FB8D4CCFE0ED9ED1F" + "2018-02-12T15:30:20Z")
    assert digest == "9PEf2EJd2RMHIuQlMOZMndvFPL2SuSYWxS13z9Rdaxc="


def test_a_correctly_signed_request_is_accepted(frozen):
    response = call_verify(frozen, verify_body())
    assert response.status_code == 200
    assert response.json()["resultcode"] == "0"


@pytest.mark.parametrize("authorization, x_aksk, code", [
    (None, TOKEN, "1023006"),
    ("Basic dXNlcjpwYXNz", TOKEN, "1023006"),
    ('AKSK profile="UsernameToken",type="Appkey"', TOKEN, "1023007"),
    ('AKSK realm="SDP",type="Appkey"', TOKEN, "1023008"),
    ('AKSK realm="HW",profile="UsernameToken",type="Appkey"', TOKEN, "1023009"),
    ('AKSK realm="SDP",profile="Token",type="Appkey"', TOKEN, "1023010"),
    ('AKSK realm="SDP",profile="UsernameToken",type="AppId"', TOKEN, "1023011"),
    ('AKSK realm="SDP",profile="UsernameToken"', TOKEN, "1023012"),
    (AUTHORIZATION, None, "1023033"),
    (AUTHORIZATION, TOKEN.replace('Username="sim-voice-app-key-0001",', ""), "1023034"),
    (AUTHORIZATION, TOKEN.replace('Nonce="abc",', ""), "1023035"),
    (AUTHORIZATION, TOKEN.replace('Nonce="abc"', 'Nonce="not-alphanumeric"'), "1023035"),
    (AUTHORIZATION, TOKEN.replace(',Created="2026-01-01T08:00:00Z"', ""), "1023036"),
    (AUTHORIZATION, TOKEN.replace("2026-01-01T08:00:00Z", "2026-01-01 08:00:00"), "1023036"),
    (AUTHORIZATION, TOKEN.replace('PasswordDigest="x",', ""), "1023037"),
    (AUTHORIZATION, TOKEN.replace("UsernameToken ", "Token "), "1023038"),
])
def test_each_missing_or_malformed_header_part_has_its_documented_code(frozen, authorization, x_aksk, code):
    headers = {name: value for name, value in (("Authorization", authorization), ("X-AKSK", x_aksk)) if value}
    response = call_verify(frozen, verify_body(), headers)
    assert response.status_code == 400
    body = response.json()
    assert body["resultcode"] == code and body["sessionId"] == ""
    RESULT_SCHEMA.validate(body)


def test_wrong_secret_is_invalid_digest(frozen):
    response = call_verify(frozen, verify_body(), aksk_headers(secret="not-the-secret"))
    assert response.status_code == 401
    assert response.json() == {"resultcode": "1010010", "resultdesc": "Invalid digest.", "sessionId": ""}


def test_unknown_app_key_is_invalid_app_key(frozen):
    response = call_verify(frozen, verify_body(), aksk_headers(app_key="nobody"))
    assert response.status_code == 403
    assert response.json()["resultcode"] == "1010003"


def test_created_outside_the_allowed_skew_is_time_out_limit(frozen):
    assert call_verify(frozen, verify_body(), aksk_headers(created=T0 - timedelta(seconds=300))).status_code == 200
    for created in (T0 - timedelta(seconds=301), T0 + timedelta(seconds=301)):
        response = call_verify(frozen, verify_body(), aksk_headers(created=created))
        assert response.status_code == 401
        assert response.json() == {"resultcode": "1010013", "resultdesc": "Time out limit.", "sessionId": ""}


def test_a_replayed_nonce_is_refused_as_invalid_digest(frozen):
    headers = aksk_headers(nonce="66C92B11FF8A425FB8D4CCFE0ED9ED1F")
    assert call_verify(frozen, verify_body(), headers).status_code == 200
    replay = call_verify(frozen, verify_body(), headers)
    assert replay.status_code == 401
    assert replay.json()["resultcode"] == "1010010"


def test_an_app_switched_off_is_1010008(frozen):
    document = yaml.safe_load((packaged("scenarios") / "default.yaml").read_text())
    document["credentials"]["voice_apps"] = [{"app_key": "off-app", "app_secret": "off-secret", "state": "unavailable"}]
    assert frozen.put("/__otpsim/scenario", content=json.dumps(document)).status_code == 200
    response = call_verify(frozen, verify_body(), aksk_headers(app_key="off-app", secret="off-secret"))
    assert (response.status_code, response.json()["resultcode"]) == (403, "1010008")
