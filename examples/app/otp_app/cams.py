"""WhatsApp number migration: prove the number is yours with a code, through Alibaba Cloud CAMS
and its official SDK."""

from urllib.parse import urlsplit

from alibabacloud_cams20200606 import models
from alibabacloud_cams20200606.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config

from .errors import refusal

OK = "OK"
WRONG_OR_EXPIRED = ("VerifyCode.Invalid", "VerifyCode.Expired")
RATE_LIMITS = ("System.LimitControl", "VerifyCode.TooFrequent")


class CamsCodes:
    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str, cust_space_id: str):
        where = urlsplit(endpoint)   # the SDK wants host:port and the protocol apart
        self._client = Client(Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                     endpoint=where.netloc, protocol=where.scheme))
        self._space = cust_space_id

    def send(self, phone: str, method: str = "sms", locale: str = "en_US") -> None:
        """Send a code to `phone` (country code first, no +) by `sms` or `voice`."""
        request = models.GetMigrationVerifyCodeRequest(cust_space_id=self._space, phone_number=phone,
                                                       locale=locale, method=method)
        _raise_for(self._call(self._client.get_migration_verify_code, request))

    def check(self, phone: str, code: str) -> bool:
        """True if `code` is the one sent to `phone` and still valid; a code works once."""
        request = models.ChatappMigrationVerifiedRequest(cust_space_id=self._space, phone_number=phone,
                                                         verify_code=code)
        body = self._call(self._client.chatapp_migration_verified, request)
        if body.code in WRONG_OR_EXPIRED:
            return False
        _raise_for(body)
        return True

    @staticmethod
    def _call(operation, request):
        try:
            return operation(request).body
        except AlibabaCloudException as failure:
            raise refusal(failure.code, failure.message, RATE_LIMITS) from None


def _raise_for(body):
    """CAMS answers some refusals with HTTP 200 and a Code other than OK; the SDK does not raise for them."""
    if body.code != OK:
        raise refusal(body.code, body.message, RATE_LIMITS)
