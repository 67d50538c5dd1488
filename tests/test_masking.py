"""Issue 15 (and 12): a secret never shows in the journal or the callbacks, whatever carried it."""

import json

from alibaba_signing import rpc
from voice_helpers import Receiver, advance, b64, call_verify, freeze_clock, verify_body

SECRET = "hunter2-hunter2"
TOKENS = "/v3/auth/tokens"


def journal_text(client) -> str:
    return json.dumps(client.get("/__otpsim/journal").json())


def login(password: str) -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"domain": {"name": "sim-domain"}, "name": "sim-user", "password": password}}}}}


def test_a_password_in_a_form_body_is_masked(client):
    client.post(TOKENS, content=f"name=sim-user&password={SECRET}&x=1",
                headers={"content-type": "application/x-www-form-urlencoded"})
    shown = client.get("/__otpsim/journal").json()[-1]["request_body"]
    assert shown == "name=sim-user&password=***&x=1"


def test_a_password_in_malformed_json_is_masked(client):
    text = json.dumps(login(SECRET))[:-3] + ",,"
    client.post(TOKENS, content=text, headers={"content-type": "application/json"})
    assert SECRET not in journal_text(client)
    assert '"password": "***"' in client.get("/__otpsim/journal").json()[-1]["request_body"]


def test_a_password_cut_by_the_body_preview_is_masked(client):
    closing = len('"}}}}}')    # what follows the password in the document
    # the 4,096-byte preview ends 20 characters into the password
    padding = "x" * (4096 - 20 - (len(json.dumps({"padding": "", **login("")})) - closing))
    document = {"padding": padding, **login(SECRET * 10)}
    client.post(TOKENS, content=json.dumps(document), headers={"content-type": "application/json"})
    shown = client.get("/__otpsim/journal").json()[-1]["request_body"]
    assert isinstance(shown, str) and shown.endswith('"password": "***"')
    assert "hunter2" not in journal_text(client)


def test_the_rpc_signature_in_the_query_is_masked(client):
    path = rpc("GetMigrationVerifyCode", {"CustSpaceId": "29348393884001", "PhoneNumber": "8613800000000", "Locale": "zh_CN", "Method": "sms"})
    signature = next(part for part in path.split("&") if part.startswith("Signature=")).split("=", 1)[1]
    client.post(path)
    entry = client.get("/__otpsim/journal").json()[-1]
    assert "Signature=***" in entry["query"] and signature not in journal_text(client)


def test_push_headers_are_masked_in_the_callbacks(client):
    freeze_clock(client)
    with Receiver() as receiver:
        call_verify(client, verify_body(statusUrl=b64(f"{receiver.url}/status")))
        advance(client, 0)
        assert receiver.pushes and receiver.pushes[0]["headers"]["X-AKSK"].startswith("UsernameToken")
    [push] = [d for d in client.get("/__otpsim/callbacks").json() if d["kind"] == "voice.status"][:1]
    assert push["headers"]["X-AKSK"] == "***"
    assert "PasswordDigest" not in json.dumps(client.get("/__otpsim/callbacks").json())
