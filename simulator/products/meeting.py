"""Huawei Cloud Meeting: member verification codes and the logins that issue X-Access-Token.

Sources: seed 002, vendor-facts §2, sdk-wire §2 and §5.4. Error codes other than USG.000000004
are otpsim's (synthetic, see openapi/meeting.yaml).
"""

import base64
import binascii
import hashlib
import hmac
import string
import uuid

from simulator.auth.meeting_token import TOKENS
from simulator.core.errors import SimError
from simulator.core.pipeline.auth import Principal
from simulator.core.product import CodePolicy, CredentialKind, ProductModule
from simulator.core.wiring import Needs

CODES = CodePolicy(wrong="USG.000000010", expired="USG.000000011", resend=None)
product = ProductModule("meeting", credentials={
    "meeting_accounts": CredentialKind(required=("account", "password"), optional=("user_id", "name"),
                                       description="Huawei Cloud Meeting accounts (CreateAccountToken)"),
    "meeting_apps": CredentialKind(required=("app_id", "app_key"),
                                   description="Huawei Cloud Meeting apps (CreateAppIdToken)"),
}, needs=CODES.needs | Needs(
    errors=("USG.000000001", "USG.000000012", "USG.000000020", "USG.000000021", "USG.000000022"),
    settings=("token_ttl_s", "refresh_token_ttl_s", "tokens_per_user", "verify_attempts_per_window", "verify_window_s")))

USER_TOKENS = "meeting-user-tokens"
VERIFY_ATTEMPTS = "meeting-verify-attempts"
API_CLIENT_TYPE = 72          # the only client type allowed many live tokens (vendor-facts §2.4)
TOKEN_ALPHABET = string.ascii_letters + string.digits
TEXTS = {
    "zh-CN": "【华为云会议】您的验证码是{code}，{seconds}秒内有效。",
    "en-US": "[Huawei Cloud Meeting] Your verification code is {code}. It is valid for {seconds} seconds.",
}


def app_signature(app_key: str, app_id: str, user_id: str, expire_time: int, nonce: str,
                  corp_id: str | None = None) -> str:
    """HEX_UPPER(HMAC-SHA256(appKey, appId:[corpId:]userId:expireTime:nonce)) (sdk-wire §5.4)."""
    parts = [app_id] + ([corp_id] if corp_id is not None else []) + [user_id, str(expire_time), nonce]
    return hmac.new(app_key.encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest().upper()


def _stable_id(kind: str, name: str) -> str:
    """A user id that stays the same across logins and restarts."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"otpsim:meeting:{kind}:{name}").hex


def _random_token(rng, prefix: str, length: int) -> str:
    return prefix + "".join(rng.choice(TOKEN_ALPHABET) for _ in range(length - len(prefix)))


def _user_info(user_id: str, account: str, name: str, admin_type: int, app_id: str | None) -> dict:
    return {
        "userId": user_id, "ucloginAccount": account, "serviceAccount": None, "numberHA1": None,
        "alias1": None, "companyId": None, "spId": None, "companyDomain": None, "realm": None,
        "userType": 2, "adminType": admin_type, "name": name, "nameEn": "", "isBindPhone": None,
        "freeUser": False, "thirdAccount": account, "visionAccount": None, "headPictureUrl": None,
        "password": None, "status": 0, "paidAccount": None, "paidPassword": None, "weLinkUser": False,
        "appId": app_id, "tr069Account": None, "corpType": None, "cloudUserId": "", "grayUser": False,
    }


def _issue_token(call, user: dict, client_type: int) -> dict:
    """Store a new token for `user`, evicting the user's oldest beyond the allowed count."""
    world, settings = call.world, call.settings
    now = world.clock.now()
    ttl, refresh_ttl = settings["token_ttl_s"], settings["refresh_token_ttl_s"]
    token = _random_token(world.rng, "stb", 36)
    principal = Principal("meeting-token", {"user_id": user["userId"], "account": user["ucloginAccount"]})
    world.store.put(TOKENS, token, principal, ttl=ttl)

    allowed = settings["tokens_per_user"] if client_type == API_CLIENT_TYPE else 1
    live = [t for t in world.store.get(USER_TOKENS, user["userId"], []) if world.store.get(TOKENS, t)]
    live.append(token)
    while len(live) > allowed:
        world.store.pop(TOKENS, live.pop(0))
    world.store.put(USER_TOKENS, user["userId"], live, ttl=ttl)

    created_ms = int(now * 1000)
    return {
        "accessToken": token, "tokenIp": None, "validPeriod": ttl, "expireTime": int(now + ttl),
        "createTime": created_ms, "user": user, "clientType": client_type, "forceLoginInd": None,
        "firstLogin": False, "pwdExpired": False, "daysPwdAvailable": None, "proxyToken": None,
        "delayDelete": False, "tokenType": 0,
        "refreshToken": _random_token(world.rng, "cnr", 40), "refreshValidPeriod": refresh_ttl,
        "refreshExpireTime": int(now + refresh_ttl), "refreshCreateTime": created_ms,
    }


def _basic_credentials(authorization: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(authorization[len("Basic "):].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SimError("USG.000000020") from None
    account, separator, password = decoded.partition(":")
    if not separator:
        raise SimError("USG.000000020")
    return account, password


@product.operation("CreateAccountToken")
async def create_account_token(call):
    account, password = _basic_credentials(call.headers["authorization"])
    configured = call.world.credentials.find("meeting_accounts", account=account)
    if (configured is None or account != call.body["account"]
            or not hmac.compare_digest(str(configured.get("password", "")).encode(), password.encode())):
        raise SimError("USG.000000020")
    user_id = configured.get("user_id") or _stable_id("account", account)
    name = configured.get("name") or call.world.profiles.person_name(f"meeting:{user_id}")
    user = _user_info(user_id, account, name, admin_type=2, app_id=None)
    return _issue_token(call, user, call.body["clientType"])


def _app_authorization(value: str) -> dict:
    fields = {}
    for part in value[len("HMAC-SHA256"):].split(","):
        name, _, content = part.strip().partition("=")
        fields[name] = content
    return fields


@product.operation("CreateAppIdToken")
async def create_app_id_token(call):
    body, world = call.body, call.world
    fields = _app_authorization(call.headers["authorization"])
    app_id = body["appId"]
    access = fields.get("access")
    # terraform omits access= (vendor-facts §2.4); when present it must name the body's app.
    if access is not None and access != base64.b64encode(app_id.encode()).decode():
        raise SimError("USG.000000021")
    app = world.credentials.find("meeting_apps", app_id=app_id)
    if app is None:
        raise SimError("USG.000000021")
    user_id = body.get("userId") or ""
    # The SDK's multi-tenant form signs corpId, and sends it even when empty (sdk-wire §5.4).
    expected = app_signature(str(app["app_key"]), app_id, user_id, body["expireTime"], body["nonce"],
                             body.get("corpId"))
    if not hmac.compare_digest(expected.encode(), fields.get("signature", "").upper().encode()):
        raise SimError("USG.000000021")
    if body["expireTime"] and world.clock.now() > body["expireTime"]:
        raise SimError("USG.000000022")
    account = user_id or f"admin@{app_id}"
    stable_id = _stable_id("app", f"{app_id}/{user_id}")
    name = body.get("userName") or world.profiles.person_name(f"meeting:{stable_id}")
    user = _user_info(stable_id, account, name, admin_type=2 if user_id else 0, app_id=app_id)
    return _issue_token(call, user, body["clientType"])


def _code_scope(call) -> str:
    return call.principal["user_id"]


@product.operation("SendVeriCodeForUpdateUserInfo")
async def send_veri_code_for_update_user_info(call):
    contact, settings = call.body["contact"], call.settings
    channel = "email" if "@" in contact else "sms"      # the spec's pattern admits only these two
    code = CODES.issue(call, _code_scope(call), contact)
    language = call.headers.get("accept-language", "zh-CN")
    text = TEXTS[language].format(code=code, seconds=settings["code_ttl_s"])
    call.send_code(channel, contact, code, text)
    return None


@product.operation("CheckVeriCodeForUpdateUserInfo")
async def check_veri_code_for_update_user_info(call):
    body, settings, world = call.body, call.settings, call.world
    code = body.get("verificationCode")
    if not code:
        raise SimError("USG.000000001", field="verificationCode")
    contact = body["contact"]
    # Counted and checked without awaiting in between, so concurrent attempts cannot overshoot.
    if not world.store.hit(VERIFY_ATTEMPTS, contact, settings["verify_attempts_per_window"], settings["verify_window_s"]):
        raise SimError("USG.000000012")
    CODES.check(call, _code_scope(call), contact, code)
    return None
