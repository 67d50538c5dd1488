"""What the page's tests in each browser share: a code sent through a vendor API, and the code it carried."""

import json

import httpx

from huawei_signing import signed_headers

SEND = "/v2/servicerequest/verifycodes/send"


def send_code(live, contact: str) -> httpx.Response:
    """An OSM SendVerifyCodes signed with the default scenario's AK/SK, as the SDK sends it."""
    raw = json.dumps({"contact_value": contact, "contact_way": 0, "area_code": "86"}).encode()
    return httpx.post(live.url + SEND, content=raw, headers=signed_headers("POST", SEND, raw))


def latest_code(live, contact: str) -> str:
    return httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": contact}).json()["code"]
