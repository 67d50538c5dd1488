"""The example app's tests against otpsim. Installing otpsim gives the `otpsim` fixture: a running
simulator per test; the fixtures below point the app's provider classes at it."""

import pytest

from otp_app.osm import OsmCodes

# Throwaway credentials that otpsim's default scenario (scenarios/default.yaml) accepts; in
# production the app reads its real ones from its configuration.
HUAWEI_AK, HUAWEI_SK = "SIMTESTAK0000000000", "simTestSecretKey0000000000000000000000000"


@pytest.fixture
def osm(otpsim):
    return OsmCodes(otpsim.base_url, HUAWEI_AK, HUAWEI_SK, ca_file=otpsim.ca_path)
