"""Huawei Cloud Meeting: member verification codes, the logins that issue X-Access-Token, the
token's life (refresh, check, log out) and the forgotten-password journey.

Sources: seed: Verificación de un código de verificación, the API pages and the huaweicloudsdkmeeting client, credentials and models named in
openapi/meeting.yaml. Error codes are otpsim's (synthetic, see the spec).

Journeys: change a mobile or e-mail = SendVeriCodeForUpdateUserInfo → CheckVeriCodeForUpdateUserInfo
→ UpdateContact with the same code (the verify call leaves it usable once more, for this step).
Forgotten password = SendSlideVerifyCode → CheckSlideVerifyCode (a token) → SendVeriCodeForChangePwd
(a code to the account's mobile or e-mail) → CheckVerifyCode (a token) → ResetPwd with that token as
X-Access-Token; the account then logs in with the new password only.
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
from simulator.core.world.store import KEPT_ON_RESET
from simulator.products._slider import Sliders

CODES = CodePolicy(wrong="USG.000000010", expired="USG.000000011", resend=None)
product = ProductModule("meeting", credentials={
    "meeting_accounts": CredentialKind(required=("account", "password"), optional=("user_id", "name", "phone", "email"),
                                       description="Huawei Cloud Meeting accounts (CreateAccountToken); phone and e-mail "
                                                   "receive the codes of a forgotten password"),
    "meeting_apps": CredentialKind(required=("app_id", "app_key"),
                                   description="Huawei Cloud Meeting apps (CreateAppIdToken)"),
}, needs=CODES.needs | Needs(
    errors=("USG.000000001", "USG.000000004", "USG.000000012", "USG.000000013", "USG.000000014", "USG.000000015",
            "USG.000000016", "USG.000000020", "USG.000000021", "USG.000000022"),
    settings=("token_ttl_s", "refresh_token_ttl_s", "tokens_per_user", "verify_attempts_per_window", "verify_window_s",
              "slider_ttl_s", "slider_tolerance_px", "slider_width", "slider_height", "slider_piece_width",
              "reset_token_ttl_s")))

USER_TOKENS = "meeting-user-tokens"
KEPT_ON_RESET.add(USER_TOKENS)   # the tokens each user holds, kept with the tokens themselves
VERIFY_ATTEMPTS = "meeting-verify-attempts"
PASSWORDS = "meeting-passwords"              # account -> password set by ResetPwd
CONTACTS = "meeting-contacts"                # user id -> {"phone"|"email": contact} set by UpdateContact
SLIDERS = Sliders("meeting-sliders")
SLIDE_PASSES = "meeting-slide-passes"        # token of CheckSlideVerifyCode -> user
RESET_PASSES = "meeting-reset-passes"        # token of CheckVerifyCode -> account
CHANGE_PWD_SCOPE = "change-pwd"
# The only client type allowed many live tokens (https://support.huaweicloud.com/api-meeting/meeting_21_0311.html)
API_CLIENT_TYPE = 72
TOKEN_ALPHABET = string.ascii_letters + string.digits
TEXTS = {
    "zh-CN": "【华为云会议】您的验证码是{code}，{seconds}秒内有效。",
    "en-US": "[Huawei Cloud Meeting] Your verification code is {code}. It is valid for {seconds} seconds.",
}


def app_signature(app_key: str, app_id: str, user_id: str, expire_time: int, nonce: str,
                  corp_id: str | None = None) -> str:
    """HEX_UPPER(HMAC-SHA256(appKey, appId:[corpId:]userId:expireTime:nonce)) (the SDK's
    huaweicloudsdkmeeting/v1/meeting_credentials.py in https://github.com/huaweicloud/huaweicloud-sdk-python-v3)."""
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


async def _issue_token(call, user: dict, client_type: int) -> dict:
    """Store a new token for `user`, evicting the user's oldest beyond the allowed count."""
    world, settings = call.world, call.settings
    now = world.clock.now()
    ttl = settings["token_ttl_s"]
    rng = await world.draw("meeting.token", user["userId"])
    token = _random_token(rng, "stb", 36)
    created_ms = int(now * 1000)
    principal = Principal("meeting-token", {"user_id": user["userId"], "account": user["ucloginAccount"],
                                            "user": user, "client_type": client_type, "created_ms": created_ms,
                                            "expires_at": now + ttl})
    await world.store.put(TOKENS, token, principal, ttl=ttl)

    allowed = settings["tokens_per_user"] if client_type == API_CLIENT_TYPE else 1

    def hold(values):   # the user's tokens, oldest first (lapsed ones are the oldest): the newest `allowed` stay
        held = (*(values[0] or ()), token)
        return [held[-allowed:]], held[:-allowed]

    for evicted in await world.store.update(USER_TOKENS, [user["userId"]], hold, ttl=ttl):
        await world.store.pop(TOKENS, evicted)
    return _token_info(call, token, principal, ttl, rng)


def _token_info(call, token: str, principal: Principal, valid_s: float, rng, with_user: bool = True) -> dict:
    """The TokenInfo answer of a live token: `valid_s` seconds left from now."""
    world, settings = call.world, call.settings
    now, refresh_ttl = world.clock.now(), settings["refresh_token_ttl_s"]
    created_ms = principal["created_ms"]
    info = {
        "accessToken": token, "tokenIp": None, "validPeriod": int(valid_s), "expireTime": int(now + valid_s),
        "createTime": created_ms, "user": principal["user"],
        "clientType": principal["client_type"], "forceLoginInd": None,
        "firstLogin": False, "pwdExpired": False, "daysPwdAvailable": None, "proxyToken": None,
        "delayDelete": False, "tokenType": 0,
        "refreshToken": _random_token(rng, "cnr", 40), "refreshValidPeriod": refresh_ttl,
        "refreshExpireTime": int(created_ms / 1000 + refresh_ttl), "refreshCreateTime": created_ms,
    }
    if not with_user:
        del info["user"]
    return info


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
            or not hmac.compare_digest((await _password(call, configured)).encode(), password.encode())):
        raise SimError("USG.000000020")
    user_id = configured.get("user_id") or _stable_id("account", account)
    name = configured.get("name") or call.world.profiles.person_name(f"meeting:{user_id}")
    user = _user_info(user_id, account, name, admin_type=2, app_id=None)
    return await _issue_token(call, user, call.body["clientType"])


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
    # terraform omits access= (config.go below); when present it must name the body's app.
    # https://github.com/huaweicloud/terraform-provider-huaweicloud/blob/master/huaweicloud/services/meeting/config.go
    if access is not None and access != base64.b64encode(app_id.encode()).decode():
        raise SimError("USG.000000021")
    app = world.credentials.find("meeting_apps", app_id=app_id)
    if app is None:
        raise SimError("USG.000000021")
    user_id = body.get("userId") or ""
    # The SDK's multi-tenant form signs corpId, and sends it even when empty
    # (huaweicloudsdkmeeting/v1/meeting_credentials.py in https://github.com/huaweicloud/huaweicloud-sdk-python-v3).
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
    return await _issue_token(call, user, body["clientType"])


def _language(call) -> str:
    """en-US for an Accept-Language whose first tag starts with en (any case), else zh-CN (the default of seed: Verificación de un código de verificación)."""
    first = call.headers.get("accept-language", "").split(",", 1)[0].strip().lower()
    return "en-US" if first.startswith("en") else "zh-CN"


def _code_scope(call) -> str:
    return call.principal["user_id"]


@product.operation("SendVeriCodeForUpdateUserInfo")
async def send_veri_code_for_update_user_info(call):
    contact, settings = call.body["contact"], call.settings
    channel = "email" if "@" in contact else "sms"      # the spec's pattern admits only these two
    code = await CODES.issue(call, _code_scope(call), contact)
    text = TEXTS[_language(call)].format(code=code, seconds=settings["code_ttl_s"])
    await call.send_code(channel, contact, code, text)
    return None


async def _check_contact_code(call, scope: str, then: str | None = None) -> str:
    """The body's contact once its verificationCode checks in `scope` (attempts limited per contact)."""
    body, settings, world = call.body, call.settings, call.world
    code = body.get("verificationCode")
    if not code:
        raise SimError("USG.000000001", field="verificationCode")
    contact = body["contact"]
    # Counted and checked without awaiting in between, so concurrent attempts cannot overshoot.
    if not await world.store.hit(VERIFY_ATTEMPTS, contact, settings["verify_attempts_per_window"], settings["verify_window_s"]):
        raise SimError("USG.000000012")
    await CODES.check(call, scope, contact, code, then=then)
    return contact


@product.operation("CheckVeriCodeForUpdateUserInfo")
async def check_veri_code_for_update_user_info(call):
    # the SDK's next step, UpdateContact, carries the same code again
    await _check_contact_code(call, _code_scope(call), then=f"{_code_scope(call)}:contact")
    return None


@product.operation("UpdateContact")
async def update_contact(call):
    contact = await _check_contact_code(call, f"{_code_scope(call)}:contact")
    kind = "email" if "@" in contact else "phone"
    await call.world.store.update(CONTACTS, [_code_scope(call)], lambda contacts: (
        [{**(contacts[0] or {}), kind: contact}], None))
    return None


# --- token life ------------------------------------------------------------------------------

@product.operation("UpdateToken")
async def update_token(call):
    token, ttl = call.headers["x-access-token"], call.settings["token_ttl_s"]
    principal = Principal("meeting-token", {**call.principal.credential, "expires_at": call.world.clock.now() + ttl})
    await call.world.store.put(TOKENS, token, principal, ttl=ttl)
    return _token_info(call, token, principal, ttl, await call.world.draw("meeting.token", principal["user_id"]))


@product.operation("DeleteToken")
async def delete_token(call):
    await call.world.store.pop(TOKENS, call.headers["x-access-token"])
    return None


@product.operation("CheckToken")
async def check_token(call):
    body, store = call.body, call.world.store
    principal = await store.get(TOKENS, body["token"])
    if principal is None:
        raise SimError("USG.000000004")
    if body.get("needGenNewToken"):
        return await _issue_token(call, principal["user"], principal["client_type"])
    left = principal["expires_at"] - call.world.clock.now()
    return _token_info(call, body["token"], principal, left, await call.world.draw("meeting.token", principal["user_id"]),
                       with_user=body.get("needAccountInfo", True))


# --- forgotten password ----------------------------------------------------------------------

async def _password(call, account: dict) -> str:
    return (await call.world.store.get(PASSWORDS, account["account"])) or str(account.get("password", ""))


def _account(call, user: str) -> dict:
    """The configured account a `user` names: its account, mobile or e-mail."""
    credentials = call.world.credentials
    for field in ("account", "phone", "email"):
        found = credentials.find("meeting_accounts", **{field: user})
        if found is not None:
            return found
    raise SimError("USG.000000013")


async def _pass_token(call, namespace: str, holder: str) -> dict:
    token = f"{(await call.world.draw(namespace, holder)).getrandbits(128):032x}"
    ttl = call.settings["reset_token_ttl_s"]
    await call.world.store.put(namespace, token, holder, ttl=ttl)
    return {"token": token, "expire": ttl}


async def _spend_pass(call, namespace: str, token: str, holder: str) -> None:
    if await call.world.store.get(namespace, token) != holder:
        raise SimError("USG.000000016")
    await call.world.store.pop(namespace, token)


def _masked(contact: str | None) -> str | None:
    if not contact:
        return None
    if "@" in contact:
        name, _, domain = contact.partition("@")
        return f"{name[:2]}****@{domain}"
    return f"{contact[:-8]}****{contact[-4:]}"


@product.operation("SendSlideVerifyCode")
async def send_slide_verify_code(call):
    settings, user = call.settings, call.body["user"]
    _account(call, user)
    token, captcha = await SLIDERS.issue(call, settings["slider_width"], settings["slider_height"],
                                   settings["slider_piece_width"], settings["slider_ttl_s"], holder=user)
    return {"shadowImage": base64.b64encode(captcha.background_png).decode("ascii"),
            "cutImage": base64.b64encode(captcha.jigsaw_png).decode("ascii"),
            "pointY": 0, "token": token, "expire": settings["slider_ttl_s"]}


@product.operation("CheckSlideVerifyCode")
async def check_slide_verify_code(call):
    body, settings = call.body, call.settings
    issued = await SLIDERS.take(call, body["token"], settings["slider_ttl_s"])
    if issued is None:
        raise SimError("USG.000000014" if await SLIDERS.used(call, body["token"]) else "USG.000000015")
    hidden_x, user = issued
    if user != body["user"] or abs(body["pointX"] - hidden_x) > settings["slider_tolerance_px"]:
        raise SimError("USG.000000014")
    return await _pass_token(call, SLIDE_PASSES, user)


@product.operation("SendVeriCodeForChangePwd")
async def send_veri_code_for_change_pwd(call):
    body, settings = call.body, call.settings
    user = body["user"]
    await _spend_pass(call, SLIDE_PASSES, body["token"], user)
    account = _account(call, user)
    phone, email = account.get("phone"), account.get("email")
    method = body.get("sendMethod") or ("sms" if phone else "email")
    to = phone if method == "sms" else email
    if not to:
        raise SimError("USG.000000013")
    code = await CODES.issue(call, CHANGE_PWD_SCOPE, user)
    text = TEXTS[_language(call)].format(code=code, seconds=settings["code_ttl_s"])
    await call.send_code("sms" if method == "sms" else "email", to, code, text)
    return {"expire": settings["code_ttl_s"], "bindPhone": _masked(phone), "bindEmail": _masked(email)}


@product.operation("CheckVerifyCode")
async def check_verify_code(call):
    body = call.body
    await CODES.check(call, CHANGE_PWD_SCOPE, body["user"], body["code"])
    return await _pass_token(call, RESET_PASSES, _account(call, body["user"])["account"])


@product.operation("ResetPwd")
async def reset_pwd(call):
    body = call.body
    account = _account(call, body["user"])["account"]
    await _spend_pass(call, RESET_PASSES, call.headers["x-access-token"], account)
    await call.world.store.put(PASSWORDS, account, body["newPwd"])
    return None
