"""Huawei Voice Call WSSE auth: `Authorization: AKSK ...` plus `X-AKSK: UsernameToken ...`.

PasswordDigest = Base64(HMAC-SHA256(app_secret, Nonce + Created)) (seed 004 table 2, sdk-wire §5.5).
Every missing or malformed part has its own result code (seed 004 table 6). Credentials:
`voice_apps` entries ({app_key, app_secret}). Settings: `created_skew_s`, `nonce_window_s`.
"""

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from simulator.core.pipeline.auth import Principal, scheme
from simulator.core.product import CredentialKind
from simulator.core.world.clock import parse_utc
from simulator.core.errors import SimError
from simulator.core.report.signing import Credentials, signature_reader
from simulator.core.wiring import Needs

AUTHORIZATION_PREFIX = "AKSK"
TOKEN_PREFIX = "UsernameToken"
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NONCE = re.compile(r"[0-9A-Za-z]{1,128}")
ATTRIBUTE = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))')
USED_NONCES = "voice-nonces"

# (attribute, code when absent, required value, code when different), checked in this order
AUTHORIZATION_RULES = (
    ("realm", "1023007", "SDP", "1023009"),
    ("profile", "1023008", "UsernameToken", "1023010"),
    ("type", "1023012", "Appkey", "1023011"),
)
TOKEN_ATTRIBUTES = (("Username", "1023034"), ("Nonce", "1023035"), ("Created", "1023036"),
                    ("PasswordDigest", "1023037"))


def password_digest(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def attributes(value: str) -> dict:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in ATTRIBUTE.finditer(value)}


def header_pair(app_key: str, digest: str, nonce: str, created: str) -> dict:
    return {
        "Authorization": f'{AUTHORIZATION_PREFIX} realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-AKSK": f'{TOKEN_PREFIX} Username="{app_key}",PasswordDigest="{digest}",Nonce="{nonce}",Created="{created}"',
    }


@lru_cache(maxsize=256)   # clients send the same fixed Authorization line every time
def _check_authorization(value: str):
    fields = attributes(value[len(AUTHORIZATION_PREFIX):])
    for name, absent, expected, different in AUTHORIZATION_RULES:
        if name not in fields:
            raise SimError(absent)
        if fields[name] != expected:
            raise SimError(different)


def _token(value: str) -> dict:
    if value.split(" ", 1)[0] != TOKEN_PREFIX:
        raise SimError("1023038")
    fields = attributes(value[len(TOKEN_PREFIX):])
    for name, absent in TOKEN_ATTRIBUTES:
        if not fields.get(name):
            raise SimError(absent)
    if not NONCE.fullmatch(fields["Nonce"]):
        raise SimError("1023035")
    return fields


def _created_at(created: str) -> float:
    try:
        return parse_utc(created, CREATED_FORMAT)
    except ValueError:
        raise SimError("1023036") from None


@signature_reader("wsse")
def read_credentials(headers: dict, params: dict) -> Credentials | None:
    if headers.get("authorization", "").split(" ", 1)[0] != AUTHORIZATION_PREFIX:
        return None
    token = attributes(headers.get("x-aksk", "").removeprefix(TOKEN_PREFIX))
    try:
        signed_at = parse_utc(token.get("Created", ""), CREATED_FORMAT)
    except ValueError:
        signed_at = None
    return Credentials(token.get("Nonce"), signed_at, "created_skew_s")


@scheme("wsse", credentials={"voice_apps": CredentialKind(
    required=("app_key", "app_secret"), optional=("status_url", "fee_url"),
    description="Huawei Voice Call apps (WSSE); status_url and fee_url: where pushes go when a call names none")},
        needs=Needs(errors=(*(code for rule in AUTHORIZATION_RULES for code in (rule[1], rule[3])),
                            *(code for _, code in TOKEN_ATTRIBUTES),
                            "1023033", "1023038", "1010003", "1010010", "1010013"),
                    settings=("created_skew_s", "nonce_window_s")))
async def check(call):
    authorization = call.headers.get("authorization", "")
    if authorization.split(" ", 1)[0] != AUTHORIZATION_PREFIX:
        return None  # the product's auth.failure: 1023006
    _check_authorization(authorization)
    if "x-aksk" not in call.headers:
        raise SimError("1023033")
    token = _token(call.headers["x-aksk"])
    created_at = _created_at(token["Created"])
    app = call.world.credentials.find("voice_apps", app_key=token["Username"])
    if app is None:
        raise SimError("1010003")
    if not call.world.clock.accepts(created_at, call.settings["created_skew_s"]):
        raise SimError("1010013")
    expected = password_digest(app["app_secret"], token["Nonce"] + token["Created"])
    if not hmac.compare_digest(expected, token["PasswordDigest"]):
        raise SimError("1010010")
    # A nonce is spent only by a genuine request; a replay is answered like a wrong digest.
    # a namespace per app: the nonce alone is the key, no tuple per remembered nonce
    if not call.world.store.claim(f"{USED_NONCES}:{app['app_key']}", token["Nonce"], call.settings["nonce_window_s"]):
        raise SimError("1010010")
    return Principal("wsse", app)
