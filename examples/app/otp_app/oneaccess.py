"""Sign-in by SMS code through Huawei OneAccess: a slider captcha first, then the code.

There is no official SDK for these APIs; they take plain HTTP with a few device headers, as the
vendor's pages document.
"""

import base64
import json
from dataclasses import dataclass

import httpx

from .errors import refusal

SEND_TOO_SOON = "SMS.0001"


@dataclass(frozen=True)
class Captcha:
    token: str
    background_png: bytes    # with the hole the user slides the piece into
    piece_png: bytes         # as tall as the background; its left edge goes to the hole's x


class OneAccessSms:
    def __init__(self, base_url: str, client_id: str, device_fingerprint: str, *, verify=True):
        self._http = httpx.Client(base_url=base_url, verify=verify, timeout=10, headers={
            "X-client-id": client_id,
            "X-device-fingerprint": device_fingerprint,
            "X-operating-sys-version": "Linux",
            "X-agent": "otp-app/1.0",
        })

    def captcha(self) -> Captcha:
        answer = self._call("GET", "/api/v2/sdk/captcha")
        return Captcha(answer["token"], base64.b64decode(answer["originalImageBase64"]),
                       base64.b64decode(answer["jigsawImageBase64"]))

    def pass_captcha(self, token: str, x: float, mobile: str) -> str:
        """The captcha_token that lets `mobile` receive one code, if the piece was slid to `x`."""
        point = json.dumps({"x": float(x), "y": 5.0}, separators=(",", ":"))
        answer = self._call("POST", "/api/v2/sdk/captcha/verify",
                            json={"point_json": point, "token": token, "sender": mobile})
        return answer["captcha_token"]

    def send(self, mobile: str, captcha_token: str, purpose: str = "LOGIN_SMS") -> None:
        self._call("POST", "/api/v2/sdk/sms/send",
                   json={"mobile": mobile, "type": purpose, "captcha_token": captcha_token})

    def close(self):
        self._http.close()

    def _call(self, method: str, path: str, **options):
        response = self._http.request(method, path, **options)
        if response.status_code != 200:
            error = response.json()
            raise refusal(error["error_code"], error["error_msg"], (SEND_TOO_SOON,))
        return response.json() if response.content else None
