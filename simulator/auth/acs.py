"""Alibaba Cloud request signatures, checked for real
(https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature,
https://help.aliyun.com/en/sdk/product-overview/rpc-mechanism).

Two styles, as the official SDK sends them:
- ACS3-HMAC-SHA256 when `Authorization` starts with `ACS3-` (the SDK default);
- the classic RPC HMAC-SHA1 when the query carries `Signature` or `AccessKeyId`
  (`signature_algorithm="v2"`).

Credentials: `alibaba` entries {access_key_id, access_key_secret}. Every failure is one of
Alibaba's own codes from the product catalogue, so this scheme also answers a request that carries
no credentials at all (`MissingParameter` AccessKeyId) instead of leaving it to `auth.failure`.
Product settings it reads: `signature_skew_s`, `nonce_window_s`.
"""

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, quote

from simulator.core.pipeline.auth import Principal, scheme
from simulator.core.product import CredentialKind
from simulator.core.world.clock import parse_utc
from simulator.core.errors import SimError
from simulator.core.report.signing import Credentials, signature_reader
from simulator.core.wiring import Needs

ACS3 = "ACS3-HMAC-SHA256"
ACS3_HEADERS = ("x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
ACS3_MUST_SIGN = ("host",) + ACS3_HEADERS
RPC_PARAMS = ("AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp",
              "Version")
RPC_METHOD, RPC_VERSION = "HMAC-SHA1", "1.0"
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
NONCES = "acs.nonces"


def percent_encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_query(pairs) -> str:
    """Sorted `k=v` pairs, both RFC 3986-encoded: the wire's `+` and `%2A` were decoded before."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(pairs))


def acs3_string_to_sign(method, path, query_pairs, headers, signed_headers, payload_hash) -> str:
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in headers.getlist(name)))}\n" for name in signed_headers
    )
    canonical_request = "\n".join([
        method, path, canonical_query(query_pairs), canonical_headers, ";".join(signed_headers), payload_hash,
    ])
    return f"{ACS3}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def acs3_sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def rpc_string_to_sign(method: str, pairs) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(pairs))}"


def rpc_sign(secret: str, text: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _same(expected: str, given: str) -> bool:
    # Bytes, because compare_digest refuses non-ASCII text and a client may send anything.
    return hmac.compare_digest(expected.encode(), given.encode())


def parse_acs3_authorization(value: str) -> dict | None:
    """{Credential, SignedHeaders, Signature} of a well-formed header, else None."""
    algorithm, _, rest = value.partition(" ")
    if algorithm != ACS3:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    if not all(fields.get(name) for name in ("Credential", "SignedHeaders", "Signature")):
        return None
    return fields


def _credential(call, access_key_id: str) -> dict:
    credential = call.world.credentials.find("alibaba", access_key_id=access_key_id)
    if credential is None:
        raise SimError("InvalidAccessKeyId.NotFound")
    return credential


def _check_time(call, stamp: str):
    for fmt in TIME_FORMATS:
        try:
            signed_at = parse_utc(stamp, fmt)
            break
        except ValueError:
            continue
    else:
        raise SimError("IllegalTimestamp")
    if not call.world.clock.accepts(signed_at, call.settings["signature_skew_s"]):
        raise SimError("IllegalTimestamp")


async def _use_nonce(call, access_key_id: str, nonce: str):
    # a namespace per key id: the nonce alone is the key, no tuple per remembered nonce
    if not await call.world.store.claim(f"{NONCES}:{access_key_id}", nonce, call.settings["nonce_window_s"]):
        raise SimError("SignatureNonceUsed")


async def _check_acs3(call) -> Principal:
    headers = call.headers
    fields = parse_acs3_authorization(headers["authorization"])
    if fields is None:
        raise SimError("IncompleteSignature")
    for name in ACS3_HEADERS:
        if name not in headers:
            raise SimError("MissingParameter", field=name)
    signed = [name.strip().lower() for name in fields["SignedHeaders"].split(";")]
    if not set(ACS3_MUST_SIGN) <= set(signed):
        raise SimError("IncompleteSignature")
    # the credential's own string from here on: remembered nonces share it, not a copy per request
    credential = _credential(call, fields["Credential"])
    access_key_id, secret = credential["access_key_id"], credential["access_key_secret"]
    _check_time(call, headers["x-acs-date"])
    payload_hash = headers["x-acs-content-sha256"]
    if not _same(hashlib.sha256(call.raw_body).hexdigest(), payload_hash):
        raise SimError("SignatureDoesNotMatch")
    text = acs3_string_to_sign(call.method, call.wire_path, parse_qsl(call.query_string, keep_blank_values=True),
                               headers, signed, payload_hash)
    if not _same(acs3_sign(secret, text), fields["Signature"]):
        raise SimError("SignatureDoesNotMatch")
    await _use_nonce(call, access_key_id, headers["x-acs-signature-nonce"])
    return Principal("acs3", credential)


async def _check_rpc(call) -> Principal:
    params = call.wire_params
    for name in RPC_PARAMS:
        if not params.get(name):
            raise SimError("MissingParameter", field=name)
    if params["SignatureMethod"] != RPC_METHOD:
        raise SimError("InvalidParameter", field="SignatureMethod")
    if params["SignatureVersion"] != RPC_VERSION:
        raise SimError("InvalidParameter", field="SignatureVersion")
    credential = _credential(call, params["AccessKeyId"])
    access_key_id, secret = credential["access_key_id"], credential["access_key_secret"]
    _check_time(call, params["Timestamp"])
    text = rpc_string_to_sign(call.method, [(k, v) for k, v in params.items() if k != "Signature"])
    if not _same(rpc_sign(secret, text), params["Signature"]):
        raise SimError("SignatureDoesNotMatch")
    await _use_nonce(call, access_key_id, params["SignatureNonce"])
    return Principal("rpc-hmac-sha1", credential)


def _signed_at(stamp: str | None) -> float | None:
    for fmt in TIME_FORMATS:
        try:
            return parse_utc(stamp or "", fmt)
        except ValueError:
            continue
    return None


@signature_reader("acs")
def read_credentials(headers: dict, params: dict, product) -> Credentials | None:
    if headers.get("authorization", "").startswith("ACS3-"):
        return Credentials(headers.get("x-acs-signature-nonce"), _signed_at(headers.get("x-acs-date")), "signature_skew_s")
    if "Signature" in params or "AccessKeyId" in params:
        return Credentials(params.get("SignatureNonce"), _signed_at(params.get("Timestamp")), "signature_skew_s")
    return None


@scheme("acs", credentials={"alibaba": CredentialKind(
    required=("access_key_id", "access_key_secret"), description="Alibaba Cloud AccessKey pairs (acs signatures)")},
        needs=Needs(errors=("MissingParameter", "InvalidParameter", "IncompleteSignature", "InvalidAccessKeyId.NotFound",
                            "IllegalTimestamp", "SignatureDoesNotMatch", "SignatureNonceUsed"),
                    settings=("signature_skew_s", "nonce_window_s")))
async def check(call):
    authorization = call.headers.get("authorization")
    if authorization is not None and authorization.startswith("ACS3-"):
        return await _check_acs3(call)
    if "Signature" in call.wire_params or "AccessKeyId" in call.wire_params:
        return await _check_rpc(call)
    if authorization is not None:
        raise SimError("IncompleteSignature")
    raise SimError("MissingParameter", field="AccessKeyId")
