"""SMS verification codes through Huawei Cloud Message & SMS, with the official SDK, and the app's
receiver for the status reports that say whether each SMS arrived."""

import json
import secrets
from urllib.parse import parse_qsl

from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdksmsapi.v1 import BatchSendSmsRequest, BatchSendSmsRequestBody, SMSApiClient
from huaweicloudsdksmsapi.v1.smsapi_credentials import SMSApiCredentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import OtpError

TAKEN = "000000"


class SmsCodes:
    def __init__(self, endpoint: str, app_key: str, app_secret: str, sender: str, template_id: str,
                 report_url: str | None = None):
        self._client = SMSApiClient.new_builder().with_http_config(HttpConfig.get_default_config()) \
            .with_credentials(SMSApiCredentials(app_key, app_secret)).with_endpoint(endpoint).build()
        self._sender, self._template_id, self._report_url = sender, template_id, report_url

    def send(self, phone: str) -> tuple[str, str]:
        """Send a fresh 6-digit code to `phone` (+86...); (the code, the message id its report names)."""
        code = f"{secrets.randbelow(10**6):06d}"
        body = BatchSendSmsRequestBody(_from=self._sender, to=phone, template_id=self._template_id,
                                       template_paras=json.dumps([code]), status_callback=self._report_url)
        try:
            answer = self._client.batch_send_sms(BatchSendSmsRequest(body=body))
        except ServiceResponseException as failure:
            # The platform answers {"code", "description"}, which the SDK cannot parse: its error_code is
            # the HTTP status and the platform's body is left in error_msg.
            raise OtpError(*_vendor_error(failure.error_msg)) from None
        (sent,) = answer.result
        if sent.status != TAKEN:   # a refused number is reported in the result, not as an error
            raise OtpError(sent.status)
        return code, sent.sms_msg_id

    def close(self):
        self._client.close()


def _vendor_error(error_msg: str) -> tuple[str, str]:
    try:
        body = json.loads(error_msg)
        return body["code"], body.get("description", "")
    except (ValueError, KeyError, TypeError):
        return "unknown", error_msg


class SmsReports:
    """The app's receiver for status reports (form-encoded, one per message part): an ASGI app that
    keeps the latest status of each message."""

    def __init__(self):
        self.status: dict[str, str] = {}
        self._app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def __call__(self, scope, receive, send):
        await self._app(scope, receive, send)

    async def _receive(self, request: Request) -> Response:
        report = dict(parse_qsl((await request.body()).decode()))
        self.status[report["smsMsgId"]] = report["status"]
        return Response(status_code=200)

    def delivered(self, message_id: str) -> bool | None:
        """None until the report came; then whether the SMS reached the phone (DELIVRD)."""
        status = self.status.get(message_id)
        return None if status is None else status == "DELIVRD"
