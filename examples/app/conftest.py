"""The example app's tests against otpsim. Installing otpsim gives the `otpsim` fixture: a running
simulator per test; the fixtures below point the app's provider classes at it."""

import pytest

from otp_app.cams import CamsCodes
from otp_app.meeting import MeetingCodes
from otp_app.osm import OsmCodes

# Throwaway credentials that otpsim's default scenario (scenarios/default.yaml) accepts; in
# production the app reads its real ones from its configuration.
HUAWEI_AK, HUAWEI_SK = "SIMTESTAK0000000000", "simTestSecretKey0000000000000000000000000"
MEETING_ACCOUNT, MEETING_PASSWORD = "sim-user@example.com", "Sim-Passw0rd!"
ALIBABA_KEY_ID, ALIBABA_SECRET = "LTAIsimTestKeyId00", "simTestAccessKeySecret000000000"
CAMS_SPACE = "29348393884001"


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
