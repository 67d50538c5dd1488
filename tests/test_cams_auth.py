"""CAMS signatures: the ACS3 and RPC vectors alibabacloud_tea_openapi produced,
and every refusal as Alibaba's documented answer."""

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from starlette.datastructures import Headers

from alibaba_signing import AK, SECRET, acs3, rpc
from simulator.auth.acs import acs3_sign, acs3_string_to_sign, rpc_sign, rpc_string_to_sign

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
VECTOR_QUERY = [("CustSpaceId", "29348393884001"), ("Locale", "zh_CN"), ("Method", "sms"),
                ("PhoneNumber", "861380000****")]
PARAMS = {"CustSpaceId": "29348393884001", "PhoneNumber": "8613800000000", "Locale": "zh_CN", "Method": "sms"}


def test_acs3_vector():
    headers = Headers({
        "accept": "application/json", "host": "127.0.0.1:8080",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-action": "GetMigrationVerifyCode", "x-acs-content-sha256": EMPTY_SHA256,
        "x-acs-credentials-provider": "static_ak", "x-acs-date": "2024-01-01T00:00:00Z",
        "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef", "x-acs-version": "2020-06-06",
    })
    text = acs3_string_to_sign("POST", "/", VECTOR_QUERY, headers, sorted(headers.keys()), EMPTY_SHA256)
    assert text == "ACS3-HMAC-SHA256\n9f4fc3166646bc6c43afa39590085e0ee57eb49bbf528618d4373e41dec2ea46"
    assert acs3_sign(SECRET, text) == "787ac3cca9ff2d1cd1999439a1bb90f73ca9a381a7c2d1ce8598e2c30ddcffa9"


def test_rpc_hmac_sha1_vector():
    params = [
        ("Action", "GetMigrationVerifyCode"), ("Format", "json"), ("Version", "2020-06-06"),
        ("Timestamp", "2024-01-01T00:00:00Z"), ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
        *VECTOR_QUERY, ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"), ("AccessKeyId", AK),
    ]
    assert rpc_sign(SECRET, rpc_string_to_sign("POST", params)) == "KtrwdJWr2q8rQZ6aMfoCOmm3xf4="


def send_acs3(client, params=PARAMS, **options):
    path, headers = acs3("GetMigrationVerifyCode", params, **options)
    return client.post(path, headers=headers)


def send_rpc(client, params=PARAMS, **options):
    return client.post(rpc("GetMigrationVerifyCode", params, **options))


def assert_error(response, status, code, message=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == code
    assert body["HostId"] == "127.0.0.1:8080"
    assert body["Recommend"].endswith(f"q={code}&product=cams&requestId={body['RequestId']}")
    if message is not None:
        assert body["Message"] == message


@pytest.mark.parametrize("send", [send_acs3, send_rpc], ids=["acs3", "rpc"])
def test_both_styles_accepted_with_awkward_characters(client, send):
    # The wire encodes a space as "+" and "*" as "%2A"; the signature is over %20 / %2A.
    response = send(client, {**PARAMS, "CustSpaceId": "a b+c/d~e*f", "PhoneNumber": "861380000****"})
    assert response.status_code == 200, response.text
    assert response.json()["Code"] == "OK"


@pytest.mark.parametrize("send", [send_acs3, send_rpc], ids=["acs3", "rpc"])
def test_unknown_access_key(client, send):
    assert_error(send(client, ak="LTAInobody"), 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


@pytest.mark.parametrize("send", [send_acs3, send_rpc], ids=["acs3", "rpc"])
def test_wrong_secret(client, send):
    assert_error(send(client, secret="not-the-secret"), 400, "SignatureDoesNotMatch",
                 "Specified signature is not matched with our calculation.")


@pytest.mark.parametrize("send", [send_acs3, send_rpc], ids=["acs3", "rpc"])
def test_stale_timestamp(client, send):
    stale = datetime.now(timezone.utc) - timedelta(minutes=16)
    assert_error(send(client, when=stale), 400, "IllegalTimestamp")


@pytest.mark.parametrize("send", [send_acs3, send_rpc], ids=["acs3", "rpc"])
def test_replayed_nonce(client, send):
    assert send(client, nonce="same-nonce-0001").status_code == 200
    assert_error(send(client, nonce="same-nonce-0001", params={**PARAMS, "PhoneNumber": "8613800000001"}),
                 400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def test_nonce_is_forgotten_after_its_window(client):
    assert send_acs3(client, nonce="n-window").status_code == 200
    client.post("/__otpsim/clock", json={"advance": 901})
    later = datetime.now(timezone.utc) + timedelta(seconds=901)
    again = send_acs3(client, nonce="n-window", when=later, params={**PARAMS, "PhoneNumber": "8613800000002"})
    assert again.status_code == 200, again.text


def test_no_credentials_at_all(client):
    response = client.post("/?" + "&".join(f"{k}={v}" for k, v in PARAMS.items()),
                           headers={"x-acs-action": "GetMigrationVerifyCode"})
    assert_error(response, 400, "MissingParameter",
                 'The input parameter "AccessKeyId" that is mandatory for processing this request is not supplied.')


def test_malformed_authorization(client):
    path, headers = acs3("GetMigrationVerifyCode", PARAMS)
    headers["authorization"] = "ACS3-HMAC-SHA256 Credential=LTAIsimTestKeyId00"
    assert_error(client.post(path, headers=headers), 400, "IncompleteSignature",
                 "The request signature does not conform to Aliyun standards.")


def test_foreign_authorization_scheme(client):
    path, headers = acs3("GetMigrationVerifyCode", PARAMS)
    headers["authorization"] = "Bearer abc"
    assert_error(client.post(path, headers=headers), 400, "IncompleteSignature")


def test_required_header_left_unsigned(client):
    signed = ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-version"]
    assert_error(send_acs3(client, signed=signed), 400, "IncompleteSignature")


def test_missing_acs3_header(client):
    path, headers = acs3("GetMigrationVerifyCode", PARAMS)
    del headers["x-acs-date"]
    assert_error(client.post(path, headers=headers), 400, "MissingParameter",
                 'The input parameter "x-acs-date" that is mandatory for processing this request is not supplied.')


def test_missing_rpc_signature(client):
    path = rpc("GetMigrationVerifyCode", PARAMS)
    unsigned = "&".join(part for part in path.split("&") if not part.startswith("Signature="))
    assert_error(client.post(unsigned), 400, "MissingParameter",
                 'The input parameter "Signature" that is mandatory for processing this request is not supplied.')


def test_tampered_query_and_body(client):
    path, headers = acs3("GetMigrationVerifyCode", PARAMS)
    assert_error(client.post(path.replace("sms", "voice"), headers=headers), 400, "SignatureDoesNotMatch")
    path, headers = acs3("GetMigrationVerifyCode", PARAMS, nonce="n-body")
    response = client.post(path, headers={**headers, "content-type": "application/x-www-form-urlencoded"},
                           content=b"Locale=en")
    assert_error(response, 400, "SignatureDoesNotMatch")


def test_non_ascii_signature_is_a_mismatch_not_a_crash(client):
    path = rpc("GetMigrationVerifyCode", PARAMS)
    garbled = "&".join(part if not part.startswith("Signature=") else "Signature=%C3%A9" for part in path.split("&"))
    assert_error(client.post(garbled), 400, "SignatureDoesNotMatch")
