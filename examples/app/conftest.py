"""The example app's tests against otpsim. Installing otpsim gives the `otpsim` fixture: a running
simulator per test; the fixtures below point the app's provider classes at it."""

import pytest

from otp_app.aliyun_sms import AliyunSms, AliyunSmsAuth, SmsReceipts
from otp_app.cams import CamsCodes
from otp_app.huawei_sms import SmsCodes, SmsReports
from otp_app.meeting import MeetingCodes
from otp_app.oneaccess import OneAccessSms
from otp_app.osm import OsmCodes
from otp_app.voice import CallEvents, VoiceCodes
from simulator.embedded import ThreadServer

# Throwaway credentials that otpsim's default scenario (scenarios/default.yaml) accepts; in
# production the app reads its real ones from its configuration.
HUAWEI_AK, HUAWEI_SK = "SIMTESTAK0000000000", "simTestSecretKey0000000000000000000000000"
MEETING_ACCOUNT, MEETING_PASSWORD = "sim-user@example.com", "Sim-Passw0rd!"
ALIBABA_KEY_ID, ALIBABA_SECRET = "LTAIsimTestKeyId00", "simTestAccessKeySecret000000000"
CAMS_SPACE = "29348393884001"
ALIYUN_SIGN_NAME, ALIYUN_TEMPLATE = "阿里云短信测试", "SMS_154950909"
ONEACCESS_CLIENT_ID = "DRrYIqauawN0I8myTMoDTPys6ezGZxnm"
VOICE_APP_KEY, VOICE_APP_SECRET = "sim-voice-app-key-0001", "sim-app-secret-0001"
VOICE_DISPLAY_NUMBER = "+8653159511234"
SMS_APP_KEY, SMS_APP_SECRET = "simSmsAppKey00000000000000", "simSmsAppSecret0000000000000"
SMS_SENDER, SMS_TEMPLATE = "csms12345678", "t-otp"


@pytest.fixture
def osm(otpsim):
    codes = OsmCodes(otpsim.base_url, HUAWEI_AK, HUAWEI_SK, ca_file=otpsim.ca_path)
    yield codes
    codes.close()


@pytest.fixture
def meeting(otpsim):
    """Needs `@pytest.mark.otpsim(tls=True)`: the Meeting SDK logs in over HTTPS only."""
    codes = MeetingCodes(otpsim.base_url, MEETING_ACCOUNT, MEETING_PASSWORD, ca_file=otpsim.ca_path)
    yield codes
    codes.close()


@pytest.fixture
def cams(otpsim):
    return CamsCodes(otpsim.base_url, ALIBABA_KEY_ID, ALIBABA_SECRET, CAMS_SPACE)


@pytest.fixture
def oneaccess(otpsim):
    sms = OneAccessSms(otpsim.base_url, ONEACCESS_CLIENT_ID, device_fingerprint="156aysdna213sac")
    yield sms
    sms.close()


@pytest.fixture
def call_events():
    return CallEvents(VOICE_APP_SECRET)


@pytest.fixture
def status_url(call_events):
    """Where the app receives call events: its receiver, served on a free port for the test."""
    with ThreadServer(call_events) as server:
        yield f"{server.url}/voice-status"


@pytest.fixture
def voice(otpsim, status_url):
    codes = VoiceCodes(otpsim.base_url, VOICE_APP_KEY, VOICE_APP_SECRET, VOICE_DISPLAY_NUMBER, status_url)
    yield codes
    codes.close()


@pytest.fixture
def aliyun_sms(otpsim):
    """Alibaba Cloud SMS at its vendor endpoint, with otpsim as the HTTP proxy: the Host names the product."""
    return AliyunSms(ALIBABA_KEY_ID, ALIBABA_SECRET, ALIYUN_SIGN_NAME, ALIYUN_TEMPLATE, protocol="http",
                     http_proxy=otpsim.base_url)


@pytest.fixture
def aliyun_auth(otpsim):
    return AliyunSmsAuth(ALIBABA_KEY_ID, ALIBABA_SECRET, ALIYUN_SIGN_NAME, "100001", protocol="http",
                         http_proxy=otpsim.base_url)


@pytest.fixture
def sms_receipts():
    """The app's receipt receiver, served on a free port; `.url` is what the vendor console would hold."""
    receipts = SmsReceipts()
    with ThreadServer(receipts) as server:
        receipts.url = f"{server.url}/sms-report"
        yield receipts


@pytest.fixture
def sms_reports():
    return SmsReports()


@pytest.fixture
def sms(otpsim, sms_reports):
    """SMS codes whose status reports go to the app's receiver, served on a free port for the test."""
    with ThreadServer(sms_reports) as server:
        codes = SmsCodes(otpsim.base_url, SMS_APP_KEY, SMS_APP_SECRET, SMS_SENDER, SMS_TEMPLATE,
                         report_url=f"{server.url}/sms-reports")
        yield codes
        codes.close()
