"""Phone and e-mail verification codes through Huawei Cloud OSM, with the official SDK."""

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkosm.v2 import (CheckVerifyCodesRequest, OsmClient, SendVerifyCodeReq, SendVerifyCodesRequest,
                                  VerifyVerifyCodeV2Req)

from . import huawei
from .errors import refusal

SMS, EMAIL = 0, 1
WRONG_OR_EXPIRED = "OSM.01010010"
RESEND_TOO_SOON = "OSM.01010024"
GATEWAY_THROTTLED = "APIGW.0308"
RATE_LIMITS = (RESEND_TOO_SOON, GATEWAY_THROTTLED)


class OsmCodes:
    def __init__(self, endpoint: str, ak: str, sk: str, ca_file: str | None = None):
        config = HttpConfig.get_default_config()
        config.ssl_ca_cert = str(ca_file) if ca_file else None
        self._client = OsmClient.new_builder().with_http_config(config) \
            .with_credentials(GlobalCredentials(ak, sk)).with_endpoint(endpoint).build()

    def send(self, contact: str, area_code: str = "86") -> None:
        """Send a code to a phone number or an e-mail address."""
        body = SendVerifyCodeReq(contact_value=contact, contact_way=_way(contact), area_code=area_code)
        _raise_for(huawei.call(self._client.send_verify_codes, SendVerifyCodesRequest(body=body), RATE_LIMITS))

    def check(self, contact: str, code: str, area_code: str = "86") -> bool:
        """True if `code` is the one sent to `contact` and still valid; a code works once."""
        body = VerifyVerifyCodeV2Req(verify_code=code, contact_value=contact, contact_way=_way(contact),
                                     area_code=area_code)
        response = huawei.call(self._client.check_verify_codes, CheckVerifyCodesRequest(body=body))
        if response.error_code == WRONG_OR_EXPIRED:
            return False
        _raise_for(response)
        return True

    def close(self):
        self._client.close()


def _way(contact: str) -> int:
    return EMAIL if "@" in contact else SMS


def _raise_for(response):
    """OSM answers its business errors with HTTP 200 and error_code in the body; the SDK does not raise."""
    if response.error_code:
        raise refusal(response.error_code, response.error_msg, RATE_LIMITS)
