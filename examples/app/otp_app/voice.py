"""Codes read out in a phone call through Huawei Cloud Voice Call, and the call's progress.

There is no official SDK: the app builds the X-AKSK (WSSE) header as the vendor's samples do and
posts JSON. The platform then pushes the call's events to the app's `status_url`; `CallEvents`
is the app's receiver for them.
"""

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import refusal

CALL_VERIFY = "/rest/httpsessions/callVerify/v1.0"
FREQUENCY_LIMITS = ("1013001", "1013002", "1013003", "1013116", "1013117", "1013118", "1020154")
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def digest(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def wsse_headers(app_key: str, app_secret: str) -> dict:
    nonce = secrets.token_hex(16)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
        "X-AKSK": f'UsernameToken Username="{app_key}",PasswordDigest="{digest(app_secret, nonce + created)}",'
                  f'Nonce="{nonce}",Created="{created}"',
    }


class VoiceCodes:
    def __init__(self, base_url: str, app_key: str, app_secret: str, display_number: str, status_url: str,
                 *, verify=True):
        self._http = httpx.Client(base_url=base_url, verify=verify, timeout=10)
        self._app_key, self._app_secret = app_key, app_secret
        self._display_number = display_number
        self._status_url = base64.b64encode(status_url.encode()).decode()

    def call(self, callee: str, code: str) -> str:
        """Call `callee` and read `code` out; the session id names the call in its events."""
        body = {"displayNbr": self._display_number, "calleeNbr": callee, "languageType": 2,
                "preTone": "pretone.wav", "verifyCode": code, "statusUrl": self._status_url}
        response = self._http.post(CALL_VERIFY, json=body, headers=wsse_headers(self._app_key, self._app_secret))
        answer = response.json()
        if answer["resultcode"] != "0":
            raise refusal(answer["resultcode"], answer["resultdesc"], FREQUENCY_LIMITS)
        return answer["sessionId"]

    def close(self):
        self._http.close()


class CallEvents:
    """The app's receiver for call-status pushes: an ASGI app that keeps each call's events.

    A push is taken only if its X-AKSK digest, over the push's URL, nonce and time, is the app
    secret's."""

    def __init__(self, app_secret: str):
        self._app_secret = app_secret
        self.by_session: dict[str, list[dict]] = {}
        self._app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def __call__(self, scope, receive, send):
        await self._app(scope, receive, send)

    async def _receive(self, request: Request) -> Response:
        token = dict(ATTRIBUTE.findall(request.headers.get("x-aksk", "")))
        expected = digest(self._app_secret, f"{request.url}\n{token.get('Nonce')}\n{token.get('Created')}")
        if not hmac.compare_digest(expected, token.get("PasswordDigest", "")):
            return Response(status_code=401)
        push = await request.json()
        info = push["statusInfo"]
        self.by_session.setdefault(info["sessionId"], []).append({"event": push["eventType"], **info})
        return Response(status_code=200)

    def events(self, session_id: str) -> list[str]:
        return [event["event"] for event in self.by_session.get(session_id, [])]

    def outcome(self, session_id: str) -> str | None:
        """None while the call goes on; `answered`, or the disconnect's stateCode when nobody answered."""
        events = self.by_session.get(session_id, [])
        if not events or events[-1]["event"] != "disconnect":
            return None
        return "answered" if any(e["event"] == "answer" for e in events) else str(events[-1]["stateCode"])
