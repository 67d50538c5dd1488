"""Huawei `SDK-HMAC-SHA256` AK/SK request signing, checked for real (sdk-wire §5.1).

Applies when `Authorization` starts with `SDK-HMAC-SHA256`. Credentials: `huawei_aksk`
entries ({ak, sk, domain_id, domain?}; `domain` is the account name IAM's domain lookup reports).
The allowed `X-Sdk-Date` skew is the product setting `signature_skew_s`.
"""

import hashlib
import hmac
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote

from simulator.core.pipeline.auth import Principal, scheme
from simulator.core.product import CredentialKind
from simulator.core.world.clock import parse_utc
from simulator.core.errors import AuthFailed
from simulator.core.report.signing import Credentials, signature_reader
from simulator.core.wiring import Needs

ALGORITHM = "SDK-HMAC-SHA256"


def _encode(text: str) -> str:
    return quote(text, safe="~")


@lru_cache(maxsize=1024)  # a client calls a few paths over and over
def canonical_uri(path: str) -> str:
    encoded = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(query_string: str) -> str:
    if not query_string:
        return ""
    pairs = sorted(parse_qsl(query_string, keep_blank_values=True))
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)


def string_to_sign(method, path, query_string, headers, signed_headers, payload_hash, sdk_date) -> str:
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join([
        method, canonical_uri(path), canonical_query(query_string), canonical_headers,
        ";".join(signed_headers), payload_hash,
    ])
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> dict:
    fields = {}
    for part in value[len(ALGORITHM):].split(","):
        name, _, content = part.strip().partition("=")
        fields[name] = content
    return fields


@signature_reader("huawei-aksk")
def read_credentials(headers: dict, params: dict) -> Credentials | None:
    """The scheme has no nonce (sdk-wire §5.1)."""
    if not headers.get("authorization", "").startswith(ALGORITHM):
        return None
    try:
        signed_at = parse_utc(headers.get("x-sdk-date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        signed_at = None
    return Credentials(None, signed_at, "signature_skew_s")


@scheme("huawei-aksk", credentials={"huawei_aksk": CredentialKind(
    required=("ak", "sk"), optional=("domain_id", "domain"),
    description="Huawei Cloud AK/SK pairs (SDK-HMAC-SHA256); domain is the account name IAM reports")},
        needs=Needs(settings=("signature_skew_s",)))
async def check(call):
    authorization = call.headers.get("authorization", "")
    if not authorization.startswith(ALGORITHM):
        return None
    fields = parse_authorization(authorization)
    ak, signed, signature = fields.get("Access"), fields.get("SignedHeaders"), fields.get("Signature")
    if not (ak and signed and signature):
        raise AuthFailed("authorization header is incomplete")
    credential = call.world.credentials.find("huawei_aksk", ak=ak)
    if credential is None:
        raise AuthFailed(f"ak {ak} not exist")
    sdk_date = call.headers.get("x-sdk-date", "")
    try:
        signed_at = parse_utc(sdk_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise AuthFailed("X-Sdk-Date is missing or malformed") from None
    if not call.world.clock.accepts(signed_at, call.settings["signature_skew_s"]):
        raise AuthFailed("X-Sdk-Date is too far from the server time")
    payload_hash = call.headers.get("x-sdk-content-sha256") or hashlib.sha256(call.raw_body).hexdigest()
    text = string_to_sign(call.method, call.wire_path, call.query_string, call.headers,
                          signed.split(";"), payload_hash, sdk_date)
    if not hmac.compare_digest(sign(credential["sk"], text), signature):
        raise AuthFailed("verify aksk signature fail")
    return Principal("huawei-aksk", credential)
