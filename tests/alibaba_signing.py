"""Sign raw CAMS test requests in both styles the official SDK uses (the recipes are checked against
the vectors alibabacloud_tea_openapi produced, in test_cams_auth.py)."""

import hashlib
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

from starlette.datastructures import Headers

from simulator.auth.acs import acs3_sign, acs3_string_to_sign, rpc_sign, rpc_string_to_sign

AK = "LTAIsimTestKeyId00"
SECRET = "simTestAccessKeySecret000000000"
VERSION = "2020-06-06"
HOST = "127.0.0.1:8080"


def _stamp(when: datetime | None) -> str:
    return (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def acs3(action: str, params: dict, ak=AK, secret=SECRET, when=None, nonce=None, body=b"", host=HOST,
         signed=None, version=VERSION) -> tuple[str, dict]:
    """(path with query, headers) of an ACS3-HMAC-SHA256 request, as the SDK's default sends it.

    `signed` narrows the signed header names (to build an incomplete signature); a `body` is a form."""
    headers = {
        "host": host, "x-acs-action": action, "x-acs-version": version, "x-acs-date": _stamp(when),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex, "accept": "application/json",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if body:
        headers["content-type"] = "application/x-www-form-urlencoded"
    names = sorted(signed or headers)
    text = acs3_string_to_sign("POST", "/", list(params.items()), Headers(headers), names,
                               headers["x-acs-content-sha256"])
    headers["authorization"] = f"ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={';'.join(names)},Signature={acs3_sign(secret, text)}"
    return "/?" + urlencode(params), headers


def rpc(action: str, params: dict, ak=AK, secret=SECRET, when=None, nonce=None, version=VERSION,
        form: dict | None = None) -> str:
    """Path with query of a classic RPC HMAC-SHA1 request (`signature_algorithm="v2"`); the `form`
    fields, sent as the body, are signed too."""
    signed = {
        "Action": action, "Format": "json", "Version": version, "Timestamp": _stamp(when),
        "SignatureNonce": nonce or uuid.uuid4().hex, **params, "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0", "AccessKeyId": ak,
    }
    signature = rpc_sign(secret, rpc_string_to_sign("POST", list({**signed, **(form or {})}.items())))
    return "/?" + urlencode({**signed, "Signature": signature})
