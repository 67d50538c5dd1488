"""OSM through HTTP: the documented success path, business errors with HTTP 200, gateway errors."""

import json

import pytest

from huawei_signing import signed_headers

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SEND = "/v2/servicerequest/verifycodes/send"
CHECK = "/v2/servicerequest/verifycodes"


def post(client, path, body, **sign_options):
    raw = json.dumps(body).encode()
    return client.post(path, content=raw, headers=signed_headers("POST", path, raw, **sign_options))


def get(client, path, query):
    return client.get(f"{path}?{query}", headers=signed_headers("GET", path, query=query))


def latest_code(client, to):
    response = client.get("/__otpsim/outbox/latest", params={"to": to})
    assert response.status_code == 200
    return response.json()


def test_send_read_verify_and_has_verified(client):
    contact = {"contact_value": "13800000000", "contact_way": 0, "area_code": "86"}
    sent = post(client, SEND, contact)
    assert sent.status_code == 200
    assert sent.content == b"{}"
    assert len(sent.headers["x-request-id"]) == 32
    message = latest_code(client, "13800000000")
    assert message["channel"] == "sms" and message["product"] == "osm" and len(message["code"]) == 6
    assert message["code"] in message["text"]

    need = get(client, "/v2/servicerequest/verifycodes/need-verify", "contact_value=13800000000&contact_way=0&area_code=86")
    assert need.json() == {"need_verify_code": 1, "expire_time": None}

    verified = post(client, CHECK, {"verify_code": message["code"], **contact})
    assert verified.status_code == 200 and verified.content == b"{}"

    need = get(client, "/v2/servicerequest/verifycodes/need-verify", "contact_value=13800000000&contact_way=0&area_code=86")
    assert need.json()["need_verify_code"] == 0
    listed = get(client, "/v2/servicerequest/verifycodes/has-verified", "contact_way=0").json()
    assert listed["count"] == 1
    assert listed["contact_list"][0]["contact_value"] == "13800000000"
    assert 1 <= len(listed["contact_list"][0]["verified_id"]) <= 32


def test_code_is_single_use_and_wrong_code_is_documented_business_error(client):
    contact = {"contact_value": "a@example.com", "contact_way": 1, "area_code": "86"}
    post(client, SEND, contact)
    code = latest_code(client, "a@example.com")["code"]
    wrong = post(client, CHECK, {"verify_code": "000000" if code != "000000" else "111111", **contact})
    assert wrong.status_code == 200
    assert wrong.json() == {"error_code": "OSM.01010010", "error_msg": "Verify not pass."}
    assert post(client, CHECK, {"verify_code": code, **contact}).content == b"{}"
    again = post(client, CHECK, {"verify_code": code, **contact})
    assert again.json()["error_code"] == "OSM.01010010"


def test_resend_within_a_minute_is_throttled_until_the_clock_moves(client):
    contact = {"contact_value": "13900000000", "contact_way": 0, "area_code": "86"}
    client.post("/__otpsim/clock", json={"mode": "manual"})
    assert post(client, SEND, contact).content == b"{}"
    throttled = post(client, SEND, contact)
    assert throttled.json() == {"error_code": "OSM.01010024", "error_msg": "Verify code resend too frequently."}
    client.post("/__otpsim/clock", json={"advance": 60})
    assert post(client, SEND, contact).content == b"{}"


def test_a_used_code_still_counts_for_the_resend_limit(client):
    contact = {"contact_value": "13900000001", "contact_way": 0, "area_code": "86"}
    client.post("/__otpsim/clock", json={"mode": "manual"})
    post(client, SEND, contact)
    code = latest_code(client, "13900000001")["code"]
    assert post(client, CHECK, {"verify_code": code, **contact}).content == b"{}"
    assert post(client, SEND, contact).json()["error_code"] == "OSM.01010024"
    client.post("/__otpsim/clock", json={"advance": 60})
    assert post(client, SEND, contact).content == b"{}"
    fresh = latest_code(client, "13900000001")["code"]
    assert post(client, CHECK, {"verify_code": fresh, **contact}).content == b"{}"


def test_code_expires_after_five_minutes(client):
    contact = {"contact_value": "13700000000", "contact_way": 0, "area_code": "86"}
    client.post("/__otpsim/clock", json={"mode": "manual"})
    post(client, SEND, contact)
    code = latest_code(client, "13700000000")["code"]
    client.post("/__otpsim/clock", json={"advance": 300})
    expired = post(client, CHECK, {"verify_code": code, **contact}, when=None)
    assert expired.json()["error_code"] == "OSM.01010010"


@pytest.mark.parametrize("body, code, status", [
    ({"contact_value": "1", "contact_way": 2, "area_code": "86"}, "OSM.01010012", 200),
    ({"contact_value": "1", "contact_way": "0", "area_code": "86"}, "OSM.01010012", 200),
    ({"contact_value": "1", "contact_way": 0}, "OSM.01010001", 200),
    ({"contact_value": "x" * 65, "contact_way": 0, "area_code": "86"}, "OSM.01010001", 200),
])
def test_most_specific_documented_validation_code_wins(client, body, code, status):
    response = post(client, SEND, body)
    assert response.status_code == status
    assert response.json()["error_code"] == code


def test_broken_json_and_wrong_content_type_are_osm_0001(client):
    raw = b'{"contact_value": '
    headers = signed_headers("POST", SEND, raw)
    response = client.post(SEND, content=raw, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error_code": "OSM.0001", "error_msg": "Failed"}
    raw = b"contact_value=1"
    headers = signed_headers("POST", SEND, raw, extra={"content-type": "text/plain"})
    assert client.post(SEND, content=raw, headers=headers).json()["error_code"] == "OSM.0001"


def test_oversize_body_is_refused_without_a_crash(client):
    raw = json.dumps({"contact_value": "x" * (2 << 20), "contact_way": 0, "area_code": "86"}).encode()
    response = client.post(SEND, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "OSM.0001"


def test_missing_or_bad_credentials_are_the_gateways_apigw_0301(client):
    raw = json.dumps({"contact_value": "1", "contact_way": 0, "area_code": "86"}).encode()
    unsigned = client.post(SEND, content=raw, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    body = unsigned.json()
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"].startswith("Incorrect IAM authentication information")
    assert body["request_id"] == unsigned.headers["x-request-id"]
    wrong_secret = post(client, SEND, {"contact_value": "1", "contact_way": 0, "area_code": "86"}, sk="wrong")
    assert wrong_secret.status_code == 401
    bad_token = client.post(SEND, content=raw, headers={"content-type": "application/json", "x-auth-token": "nope"})
    assert bad_token.json()["error_code"] == "APIGW.0301"


def test_unknown_path_and_wrong_method_are_apigw_0101(client):
    unknown = client.get("/v2/servicerequest/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "APIGW.0101"
    assert client.get("/totally/unknown").json()["error_code"] == "APIGW.0101"
    wrong_method = client.delete(SEND)
    assert wrong_method.status_code == 404
    assert wrong_method.json()["error_code"] == "APIGW.0101"


def test_forced_error_header_answers_the_documented_body(client):
    raw = json.dumps({"contact_value": "1", "contact_way": 0, "area_code": "86"}).encode()
    headers = signed_headers("POST", SEND, raw, extra={"x-otpsim-error": "OSM.0004"})
    response = client.post(SEND, content=raw, headers=headers)
    assert response.status_code == 500
    assert response.json() == {"error_code": "OSM.0004", "error_msg": "Internal Server Error"}


def test_sdk_signatures_made_with_the_wall_clock_stay_valid_after_the_clock_moves(client):
    contact = {"contact_value": "13600000000", "contact_way": 0, "area_code": "86"}
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2031-01-01T00:00:00Z"})
    assert post(client, SEND, contact).content == b"{}"           # signed now, by the wall clock
    client.post("/__otpsim/clock", json={"advance": 3600})
    assert post(client, SEND, contact).content == b"{}"           # an hour later on the virtual clock
    from datetime import datetime, timezone
    stale = post(client, SEND, contact, when=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert stale.json()["error_code"] == "APIGW.0301"
