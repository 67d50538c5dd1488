"""Huawei Cloud IAM: the password token osm accepts in X-Auth-Token, and the domain lookup.

Sources: the SDK's IAM client and core (https://github.com/huaweicloud/huaweicloud-sdk-python-v3, named in
openapi/iam.yaml). Credentials: `iam_users` entries ({domain, name, password, domain_id?, user_id?});
AK/SK callers come from `huawei_aksk` ({ak, sk, domain_id, domain?}).
"""

import base64
import hmac
import uuid

from simulator.auth.iam_token import TOKENS
from simulator.core.world.clock import iso_utc
from simulator.core.errors import SimError
from simulator.core.pipeline.auth import Principal
from simulator.core.product import CredentialKind, ProductModule
from simulator.core.wiring import Needs

product = ProductModule("iam", credentials={
    "iam_users": CredentialKind(required=("domain", "name", "password"), optional=("domain_id", "user_id"),
                                description="Huawei Cloud IAM users (password tokens)"),
}, needs=Needs(errors=("Unauthorized",), settings=("token_ttl_s",)))

TOKEN_BYTES = 189             # a 256-character token; real ones are longer, seeds: Verifying Contact Methods, Obtaining Verification Code allow up to 5000


def _derived_id(kind: str, name: str) -> str:
    """An id that stays the same across runs for a name the scenario gave no id for."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"otpsim:iam:{kind}:{name}").hex


def _timestamp(epoch: float) -> str:
    return iso_utc(epoch, timespec="microseconds")


def _find_user(credentials, domain: str, name: str, password: str) -> dict | None:
    user = credentials.find("iam_users", domain=domain, name=name)
    if user is not None and hmac.compare_digest(str(user.get("password", "")).encode(), password.encode()):
        return user
    return None


def _scope(scope: dict, domain: dict) -> dict:
    """The token body's domain or project part; a domain scope must name the user's own domain."""
    if "project" in scope:
        project = scope["project"]
        name = project.get("name") or project.get("id") or ""
        return {"project": {"id": project.get("id") or _derived_id("project", name), "name": name, "domain": domain}}
    wanted = scope.get("domain") or {}
    if wanted.get("id", domain["id"]) != domain["id"] or wanted.get("name", domain["name"]) != domain["name"]:
        raise SimError("Unauthorized")
    return {"domain": domain}


@product.operation("KeystoneCreateUserTokenByPassword")
async def keystone_create_user_token_by_password(call):
    world = call.world
    auth = call.body["auth"]
    login = auth["identity"]["password"]["user"]
    user = _find_user(world.credentials, login["domain"]["name"], login["name"], login["password"])
    if user is None:
        raise SimError("Unauthorized")
    domain = {"id": user.get("domain_id") or _derived_id("domain", user["domain"]), "name": user["domain"]}
    user_id = user.get("user_id") or _derived_id("user", f"{user['domain']}/{user['name']}")
    scoped = _scope(auth["scope"], domain)

    now, ttl = world.clock.now(), call.settings["token_ttl_s"]
    token = "MII" + base64.b64encode((await world.draw("iam.token", user_id)).randbytes(TOKEN_BYTES)).decode()
    await world.store.put(TOKENS, token, Principal("iam-token", {
        "domain_id": domain["id"], "domain": domain["name"], "user_id": user_id, "user": user["name"],
    }), ttl=ttl)
    body = {
        "expires_at": _timestamp(now + ttl), "issued_at": _timestamp(now), "methods": ["password"],
        "user": {"name": user["name"], "id": user_id, "password_expires_at": "", "domain": domain},
        **scoped, "roles": [],
    }
    if not call.params.get("nocatalog"):
        body["catalog"] = []
    return call.respond({"token": body}, status=201, headers={"X-Subject-Token": token})


@product.operation("KeystoneListAuthDomains")
async def keystone_list_auth_domains(call):
    principal = call.principal
    base = f"https://{call.host}/v3"
    links = {"self": f"{base}/auth/domains"}
    domain_id = principal.get("domain_id")
    if not domain_id:
        return {"domains": [], "links": links}
    name = principal.get("domain") or call.world.profiles.account_name(f"iam:domain:{domain_id}")
    return {"domains": [{"id": domain_id, "name": name, "enabled": True, "description": "",
                         "links": {"self": f"{base}/domains/{domain_id}"}}], "links": links}
