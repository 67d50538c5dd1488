"""A Huawei Cloud Meeting member confirms a new phone number or e-mail address, with the official SDK.

The SDK logs in by itself (account and password) and always over HTTPS, so the endpoint is an
https:// one and `ca_file` is the CA to trust when it is not a public one.
"""

from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkmeeting.v1 import (CheckVeriCodeForUpdateUserInfoRequest, MeetingClient,
                                      SendVeriCodeForUpdateUserInfoRequest, VerificationCodeDTO)
from huaweicloudsdkmeeting.v1.meeting_credentials import MeetingCredentials

from . import huawei
from .errors import OtpError

WRONG_CODE, EXPIRED_CODE, TOO_MANY_ATTEMPTS = "USG.000000010", "USG.000000011", "USG.000000012"


class MeetingCodes:
    def __init__(self, endpoint: str, account: str, password: str, ca_file: str | None = None):
        config = HttpConfig.get_default_config()
        config.ssl_ca_cert = str(ca_file) if ca_file else None
        self._client = MeetingClient.new_builder().with_http_config(config) \
            .with_credentials(MeetingCredentials(account, password)).with_endpoint(endpoint).build()

    def send(self, contact: str) -> None:
        """Send a code to `contact`: a mobile number with its country prefix (+86...) or an e-mail address."""
        request = SendVeriCodeForUpdateUserInfoRequest(body=VerificationCodeDTO(contact=contact))
        huawei.call(self._client.send_veri_code_for_update_user_info, request, (TOO_MANY_ATTEMPTS,))

    def check(self, contact: str, code: str) -> bool:
        """True if `code` is the one sent to `contact` and still valid; RateLimited after too many tries."""
        request = CheckVeriCodeForUpdateUserInfoRequest(
            body=VerificationCodeDTO(contact=contact, verification_code=code))
        try:
            huawei.call(self._client.check_veri_code_for_update_user_info, request, (TOO_MANY_ATTEMPTS,))
        except OtpError as refused:
            if refused.code in (WRONG_CODE, EXPIRED_CODE):
                return False
            raise
        return True

    def close(self):
        self._client.close()
