"""Huawei WSSE UsernameToken auth: an `Authorization` line naming realm, profile and type, plus a
`UsernameToken Username=..., PasswordDigest=..., Nonce=..., Created=...` header.

Voice Call (`AKSK` + `X-AKSK`, digest Base64(HMAC-SHA256(app_secret, Nonce + Created)), seed: 语音验证码场景API)
and Message & SMS (`WSSE` + `X-WSSE`, digest Base64(hex(SHA-256(Nonce + Created + app_secret))),
https://support.huaweicloud.com/api-msgsms/sms_05_0046.html) differ only in data, which each spec
gives under `x-otpsim.auth.wsse`:

    authorization: AKSK          # first word of the Authorization header
    token-header: X-AKSK         # the header carrying the UsernameToken
    digest: hmac-sha256          # a name in DIGESTS
    credentials: voice_apps      # the credential kind (declared by the product): entries {app_key, app_secret, state?}
    codes: {reason: catalogue key}   # REASONS below; a reason without a code falls to auth.failure
    aliases: {UserName: Username}    # optional: another spelling the token's attributes are taken under

Settings: `created_skew_s`, `nonce_window_s`.
"""

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from simulator.core.pipeline.auth import Principal, refuse, scheme
from simulator.core.world.clock import parse_utc
from simulator.core.report.signing import Credentials, signature_reader
from simulator.core.wiring import Needs

TOKEN_PREFIX = "UsernameToken"
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NONCE = re.compile(r"[0-9A-Za-z]{1,128}")
ATTRIBUTE = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))')
# the token as the SDKs and the vendor's examples write it, read in one match; any other spelling
# (order, spacing, unquoted values, aliases) is read attribute by attribute
CANONICAL_TOKEN = re.compile(r'UsernameToken Username="([^"]*)",PasswordDigest="([^"]*)",Nonce="([^"]*)",Created="([^"]*)"')
CANONICAL_NAMES = ("Username", "PasswordDigest", "Nonce", "Created")
USED_NONCES = "wsse-nonces"

# Why a request is refused, in the order checked; each spec maps them to its codes.
# (attribute, reason when absent, required value, reason when different)
AUTHORIZATION_RULES = (
    ("realm", "realm-missing", "SDP", "realm-wrong"),
    ("profile", "profile-missing", "UsernameToken", "profile-wrong"),
    ("type", "type-missing", "Appkey", "type-wrong"),
)
TOKEN_ATTRIBUTES = (("Username", "username-missing"), ("Nonce", "nonce-missing"), ("Created", "created-missing"),
                    ("PasswordDigest", "digest-missing"))
REASONS = (
    "other-authorization",   # an Authorization header of another kind
    *(reason for rule in AUTHORIZATION_RULES for reason in (rule[1], rule[3])),
    "token-missing", "token-prefix", *(reason for _, reason in TOKEN_ATTRIBUTES),
    "unknown-app", "app-unavailable", "app-frozen", "created-skew", "digest-wrong", "nonce-reused",
)


def hmac_sha256(secret: str, nonce: str, created: str) -> str:
    """Voice Call: Base64 of the raw HMAC-SHA256 of Nonce + Created keyed by the secret
    (openapi/voice.yaml, auth.wsse)."""
    return base64.b64encode(hmac.new(secret.encode(), (nonce + created).encode(), hashlib.sha256).digest()).decode()


def sha256_hex(secret: str, nonce: str, created: str) -> str:
    """Message & SMS: Base64 of the lowercase hex string of SHA-256(Nonce + Created + secret) (sms_05_0046)."""
    return base64.b64encode(hashlib.sha256((nonce + created + secret).encode()).hexdigest().encode()).decode()


DIGESTS = {"hmac-sha256": hmac_sha256, "sha256-hex": sha256_hex}


def password_digest(secret: str, text: str) -> str:
    """Voice's HMAC digest of any text (its pushes sign url + Nonce + Created with it)."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def attributes(value: str) -> dict:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in ATTRIBUTE.finditer(value)}


def header_pair(app_key: str, digest: str, nonce: str, created: str, authorization: str = "AKSK",
                token_header: str = "X-AKSK") -> dict:
    return {
        "Authorization": f'{authorization} realm="SDP",profile="UsernameToken",type="Appkey"',
        token_header: f'{TOKEN_PREFIX} Username="{app_key}",PasswordDigest="{digest}",Nonce="{nonce}",Created="{created}"',
    }


def check_app_state(codes: dict, app: dict):
    """A configured app may be marked `state: unavailable` or `state: frozen` (a console switch)."""
    state = app.get("state")
    if state:
        refuse(codes, f"app-{state}")


@lru_cache(maxsize=256)   # clients send the same fixed Authorization line every time
def _authorization_problem(value: str, prefix: str) -> str | None:
    fields = attributes(value[len(prefix):])
    for name, absent, expected, different in AUTHORIZATION_RULES:
        if name not in fields:
            return absent
        if fields[name] != expected:
            return different
    return None


def _token(value: str, codes: dict, aliases: dict) -> dict:
    canonical = CANONICAL_TOKEN.fullmatch(value)
    if canonical is not None:
        fields = dict(zip(CANONICAL_NAMES, canonical.groups()))
    else:
        if value.split(" ", 1)[0] != TOKEN_PREFIX:
            refuse(codes, "token-prefix")
        fields = attributes(value[len(TOKEN_PREFIX):])
        for alias, name in aliases.items():
            if alias in fields:
                fields.setdefault(name, fields[alias])
    for name, absent in TOKEN_ATTRIBUTES:
        if not fields.get(name):
            refuse(codes, absent)
    if not NONCE.fullmatch(fields["Nonce"]):
        refuse(codes, "nonce-missing")
    return fields


@signature_reader("wsse")
def read_credentials(headers: dict, params: dict, product) -> Credentials | None:
    options = product.auth_options["wsse"]
    if headers.get("authorization", "").split(" ", 1)[0] != options["authorization"]:
        return None
    token = attributes(headers.get(options["token-header"].lower(), "").removeprefix(TOKEN_PREFIX))
    for alias, name in (options.get("aliases") or {}).items():
        if alias in token:
            token.setdefault(name, token[alias])
    try:
        signed_at = parse_utc(token.get("Created", ""), CREATED_FORMAT)
    except ValueError:
        signed_at = None
    return Credentials(token.get("Nonce"), signed_at, "created_skew_s")


@scheme("wsse", needs=Needs(settings=("created_skew_s", "nonce_window_s")))  # codes: the spec's, checked at load
async def check(call):
    options = call.operation.product.auth_options["wsse"]
    codes = options.get("codes") or {}
    prefix = options["authorization"]
    authorization = call.headers.get("authorization")
    if authorization is None:
        return None  # the product's auth.failure
    if authorization.split(" ", 1)[0] != prefix:
        if "other-authorization" in codes:
            refuse(codes, "other-authorization")
        return None
    problem = _authorization_problem(authorization, prefix)
    if problem:
        refuse(codes, problem)
    token_header = options["token-header"].lower()
    if token_header not in call.headers:
        refuse(codes, "token-missing")
    token = _token(call.headers[token_header], codes, options.get("aliases") or {})
    try:
        created_at = parse_utc(token["Created"], CREATED_FORMAT)
    except ValueError:
        refuse(codes, "created-missing")
    app = call.world.credentials.find(options["credentials"], app_key=token["Username"])
    if app is None:
        refuse(codes, "unknown-app")
    check_app_state(codes, app)
    if not call.world.clock.accepts(created_at, call.settings["created_skew_s"]):
        refuse(codes, "created-skew")
    expected = DIGESTS[options["digest"]](app["app_secret"], token["Nonce"], token["Created"])
    if not hmac.compare_digest(expected.encode(), token["PasswordDigest"].encode()):
        refuse(codes, "digest-wrong")
    # A nonce is spent only by a genuine request; a replay gets the product's nonce-reused code.
    # A namespace per product and app: the nonce alone is the key.
    namespace = f"{USED_NONCES}:{call.operation.product.name}:{app['app_key']}"
    if not await call.world.store.claim(namespace, token["Nonce"], call.settings["nonce_window_s"]):
        refuse(codes, "nonce-reused")
    return Principal("wsse", app)
