"""Huawei `SDK-HMAC-SHA256` AK/SK request signing, checked for real (the SDK's signer,
huaweicloudsdkcore/signer/signer.py in https://github.com/huaweicloud/huaweicloud-sdk-python-v3).

Applies when `Authorization` starts with `SDK-HMAC-SHA256`. By default the keys are the account's
`huawei_aksk` credentials ({ak, sk, domain_id, domain?}; `domain` is the account name IAM's domain
lookup reports) and every failure is the product's `auth.failure`. A spec may say otherwise under
`x-otpsim.auth.huawei-aksk` (Message & SMS signs with its application key and secret):

    credentials: msgsms_apps        # credential kind (declared by the product)
    key: app_key                    # the entry field matched against Access=
    secret: app_secret              # the entry field that signs
    codes: {reason: catalogue key}  # reasons: incomplete, unknown-key, app-unavailable, app-frozen, bad-date,
                                    # stale-date, bad-signature; a reason without a code falls to auth.failure

The allowed `X-Sdk-Date` skew is the product setting `signature_skew_s`.
"""

import hashlib
import hmac
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote

from simulator.core.pipeline.auth import Principal, refuse, scheme
from simulator.core.product import CredentialKind
from simulator.core.world.clock import parse_utc
from simulator.auth.wsse import check_app_state
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
def read_credentials(headers: dict, params: dict, product) -> Credentials | None:
    """The scheme has no nonce (huaweicloudsdkcore/signer/signer.py)."""
    if not headers.get("authorization", "").startswith(ALGORITHM):
        return None
    try:
        signed_at = parse_utc(headers.get("x-sdk-date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        signed_at = None
    return Credentials(None, signed_at, "signature_skew_s")


DEFAULT_OPTIONS = {"credentials": "huawei_aksk", "key": "ak", "secret": "sk"}
EMPTY_PAYLOAD = hashlib.sha256(b"").hexdigest()


def payload_hash(headers, body: bytes) -> str:
    """As the SDK's signer hashes the payload: an empty body always as itself; otherwise the
    X-Sdk-Content-Sha256 the client sent (the SDK sends UNSIGNED-PAYLOAD for form bodies, which
    then stay outside the signature), else SHA-256 of the body."""
    if not body:
        return EMPTY_PAYLOAD
    return headers.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()


@scheme("huawei-aksk", credentials={"huawei_aksk": CredentialKind(
    required=("ak", "sk"), optional=("domain_id", "domain"),
    description="Huawei Cloud AK/SK pairs (SDK-HMAC-SHA256); domain is the account name IAM reports")},
        needs=Needs(settings=("signature_skew_s",)))
async def check(call):
    authorization = call.headers.get("authorization", "")
    if not authorization.startswith(ALGORITHM):
        return None
    options = call.operation.product.auth_options.get("huawei-aksk") or DEFAULT_OPTIONS
    codes = options.get("codes") or {}
    fields = parse_authorization(authorization)
    ak, signed, signature = fields.get("Access"), fields.get("SignedHeaders"), fields.get("Signature")
    if not (ak and signed and signature):
        refuse(codes, "incomplete")
    credential = call.world.credentials.find(options["credentials"], **{options["key"]: ak})
    if credential is None:
        refuse(codes, "unknown-key", ak=ak)
    check_app_state(codes, credential)
    sdk_date = call.headers.get("x-sdk-date", "")
    try:
        signed_at = parse_utc(sdk_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        refuse(codes, "bad-date")
    if not call.world.clock.accepts(signed_at, call.settings["signature_skew_s"]):
        refuse(codes, "stale-date")
    text = string_to_sign(call.method, call.wire_path, call.query_string, call.headers,
                          signed.split(";"), payload_hash(call.headers, call.raw_body), sdk_date)
    if not hmac.compare_digest(sign(credential[options["secret"]], text).encode(), signature.encode()):
        refuse(codes, "bad-signature")
    return Principal("huawei-aksk", credential)
