"""Shared by the issue-15 regression tests: a code sent before an attack, and the check after it
that otpsim still answers a normal request and kept what it knew."""

import json

from huawei_signing import signed_headers

SEND = "/v2/servicerequest/verifycodes/send"
BEFORE = "13800000015"


def send_code(client, contact_value: str, host: str = "127.0.0.1:8080"):
    raw = json.dumps({"contact_value": contact_value, "contact_way": 0, "area_code": "86"}).encode()
    return client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw, host=host))


def state_before(client, host: str = "127.0.0.1:8080") -> str:
    """A code sent before the attack; `assert_still_serving` checks it is still there."""
    assert send_code(client, BEFORE, host).status_code == 200
    return client.get("/__otpsim/outbox/latest", params={"to": BEFORE}).json()["code"]


def assert_still_serving(client, code_before: str, host: str = "127.0.0.1:8080"):
    """A normal request is answered, the admin API answers, and the code sent before is still there."""
    assert client.get("/__otpsim/health").status_code == 200
    assert client.get("/__otpsim/clock").status_code == 200
    assert client.get("/__otpsim/outbox/latest", params={"to": BEFORE}).json()["code"] == code_before
    assert send_code(client, "13800000016", host).status_code == 200
    assert client.get("/__otpsim/journal").status_code == 200
