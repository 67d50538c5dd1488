"""Sign-up codes by SMS through Alibaba Cloud, with the official SDKs: `AliyunSms` (Dysmsapi: the app
makes the code and sends it in a template) and `AliyunSmsAuth` (Dypnsapi: the platform makes, sends
and checks the code), and `SmsReceipts`, the app's receiver for their delivery receipts."""

import hmac
import json
import secrets

from alibabacloud_dypnsapi20170525 import models as auth_models
from alibabacloud_dypnsapi20170525.client import Client as AuthClient
from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .errors import refusal

OK = "OK"
# Business refusals come back as HTTP 200 with another Code: the SDKs do not raise for them.
RATE_LIMITS = ("isv.BUSINESS_LIMIT_CONTROL", "biz.FREQUENCY", "Throttling.User")
CODE_DIGITS = 6


def _config(access_key_id, access_key_secret, endpoint, protocol, http_proxy) -> Config:
    """The vendor endpoint (the Host tells Dysmsapi from Dypnsapi) and, where the app runs behind one,
    its HTTP proxy."""
    return Config(access_key_id=access_key_id, access_key_secret=access_key_secret, endpoint=endpoint,
                  protocol=protocol, http_proxy=http_proxy)


def _body(operation, request):
    try:
        body = operation(request).body
    except AlibabaCloudException as failure:
        raise refusal(failure.code, failure.message, RATE_LIMITS) from None
    if body.code != OK:
        raise refusal(body.code, body.message, RATE_LIMITS)
    return body


class AliyunSms:
    """The app makes a code, sends it with an approved template, and remembers it for the check."""

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, template_code: str, *,
                 endpoint: str = "dysmsapi.aliyuncs.com", protocol: str = "https", http_proxy: str | None = None):
        self._client = SmsClient(_config(access_key_id, access_key_secret, endpoint, protocol, http_proxy))
        self._sign_name, self._template_code = sign_name, template_code
        self._pending: dict[str, str] = {}
        self.sent: dict[str, str] = {}   # phone -> BizId of its last message, for the delivery state

    def send(self, phone: str) -> None:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        request = sms_models.SendSmsRequest(phone_numbers=phone, sign_name=self._sign_name,
                                            template_code=self._template_code,
                                            template_param=json.dumps({"code": code}))
        self.sent[phone] = _body(self._client.send_sms, request).biz_id
        self._pending[phone] = code

    def check(self, phone: str, code: str) -> bool:
        sent = self._pending.get(phone)
        if sent is None or not hmac.compare_digest(sent, code):
            return False
        del self._pending[phone]
        return True

    def delivery(self, phone: str, send_date: str) -> str:
        """'waiting', 'delivered' or 'failed' for the last message to `phone`, sent on `send_date` (yyyyMMdd)."""
        request = sms_models.QuerySendDetailsRequest(phone_number=phone, send_date=send_date, page_size=1,
                                                     current_page=1, biz_id=self.sent[phone])
        (detail,) = _body(self._client.query_send_details, request).sms_send_detail_dtos.sms_send_detail_dto
        return {1: "waiting", 2: "failed", 3: "delivered"}[detail.send_status]


class AliyunSmsAuth:
    """The platform makes, sends and checks the code (SMS authentication)."""

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, template_code: str, *,
                 scheme_name: str | None = None, endpoint: str = "dypnsapi.aliyuncs.com", protocol: str = "https",
                 http_proxy: str | None = None):
        self._client = AuthClient(_config(access_key_id, access_key_secret, endpoint, protocol, http_proxy))
        self._sign_name, self._template_code, self._scheme = sign_name, template_code, scheme_name

    def send(self, phone: str) -> None:
        request = auth_models.SendSmsVerifyCodeRequest(
            phone_number=phone, sign_name=self._sign_name, template_code=self._template_code,
            template_param=json.dumps({"code": "##code##", "min": "5"}), code_length=CODE_DIGITS,
            scheme_name=self._scheme)
        _body(self._client.send_sms_verify_code, request)

    def check(self, phone: str, code: str) -> bool:
        """A wrong code is not an error: Code OK with VerifyResult UNKNOWN."""
        request = auth_models.CheckSmsVerifyCodeRequest(phone_number=phone, verify_code=code,
                                                        scheme_name=self._scheme)
        return _body(self._client.check_sms_verify_code, request).model.verify_result == "PASS"


class SmsReceipts:
    """The app's receiver for SmsReport / DypnsSmsVerifyReport pushes: a JSON array of reports. It must
    answer HTTP 200 with a numeric `code`, or the platform pushes again later."""

    def __init__(self):
        self.reports: list[dict] = []
        self._app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def __call__(self, scope, receive, send):
        await self._app(scope, receive, send)

    async def _receive(self, request: Request) -> JSONResponse:
        self.reports.extend(await request.json())
        return JSONResponse({"code": 0, "msg": "接收成功"})
