"""The official Huawei SDKs against a real otpsim socket, changed in nothing but endpoint and TLS trust."""

import ssl
from pathlib import Path

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkiam.v3 import (IamClient, KeystoneCreateUserTokenByPasswordRequest,
                                  KeystoneCreateUserTokenByPasswordRequestBody, PwdAuth, PwdIdentity, PwdPassword,
                                  PwdPasswordUser, PwdPasswordUserDomain, AuthScope, AuthScopeDomain)
from huaweicloudsdkiam.v3.iam_credentials import IamCredentials
from huaweicloudsdkmeeting.v1 import (CheckSlideVerifyCodeRequest, CheckTokenRequest, CheckVeriCodeForUpdateUserInfoRequest,
                                      CheckVerifyCodeRequest, DeleteTokenRequest, MeetingClient, ResetPwdReqDTOV1,
                                      ResetPwdRequest, SendSlideVerifyCodeRequest, SendVeriCodeForChangePwdRequest,
                                      SendVeriCodeForUpdateUserInfoRequest, SlideVerifyCodeCheckDTO,
                                      SlideVerifyCodeSendDTO, UpdateContactRequest, UpdateTokenRequest,
                                      ValidateTokenReqDTO, VerificationCodeDTO, VerifyCodeCheckDTO, VerifyCodeSendDTOV1)
from huaweicloudsdkmeeting.v1.meeting_credentials import AuthTypeEnum, MeetingCredentials
from huaweicloudsdkosm.v2 import (CheckVerifyCodesRequest, OsmClient, SendVerifyCodeReq, SendVerifyCodesRequest,
                                  VerifyVerifyCodeV2Req)
from huaweicloudsdkosm.v2.region.osm_region import OsmRegion

from simulator.embedded import ThreadServer
from simulator.core.serving.tls import make_certificates
from meeting_helpers import other_than
from slider_helpers import solve

AK, SK = "SIMTESTAK0000000000", "simTestSecretKey0000000000000000000000000"
PHONE = "+8613800000000"


def latest(server, to) -> dict:
    return httpx.get(f"{server.url}/__otpsim/outbox/latest", params={"to": to},
                     verify=getattr(server, "trust", True)).json()


def sdk_error(call, request) -> tuple:
    """(status, error_code, request_id) of the ClientRequestException the SDK raises.

    Only these are kept: a live traceback would pin the SDK's response and its TLS socket.
    """
    try:
        call(request)
    except ClientRequestException as error:
        return error.status_code, error.error_code, error.request_id
    pytest.fail("the SDK raised no ClientRequestException")


@pytest.fixture
def closing():
    """SDK clients to close before the server stops, so a TLS server need not wait for their sockets."""
    clients = []
    yield clients.append
    for client in clients:
        client.close()


@pytest.fixture
def tls_live(sim, tmp_path):
    paths = make_certificates(tmp_path)
    with ThreadServer(sim, ssl_certfile=str(paths["cert"]), ssl_keyfile=str(paths["key"])) as server:
        server.ca = str(paths["ca"])
        server.trust = ssl.create_default_context(cafile=server.ca)
        yield server


# --- osm -------------------------------------------------------------------------------------

def osm_client(endpoint, sk=SK):
    return OsmClient.new_builder().with_http_config(HttpConfig.get_default_config()) \
        .with_credentials(GlobalCredentials(AK, sk)).with_endpoint(endpoint).build()


def test_osm_sdk_sends_reads_and_verifies(live):
    client = osm_client(live.url)
    contact = {"contact_value": "13800000000", "contact_way": 0, "area_code": "86"}
    sent = client.send_verify_codes(SendVerifyCodesRequest(x_language="en-us", body=SendVerifyCodeReq(**contact)))
    assert sent.status_code == 200
    code = latest(live, "13800000000")["code"]

    wrong = client.check_verify_codes(CheckVerifyCodesRequest(body=VerifyVerifyCodeV2Req(
        verify_code=other_than(code), **contact)))
    assert wrong.status_code == 200
    assert (wrong.error_code, wrong.error_msg) == ("OSM.01010010", "Verify not pass.")

    right = client.check_verify_codes(CheckVerifyCodesRequest(body=VerifyVerifyCodeV2Req(verify_code=code, **contact)))
    assert right.status_code == 200 and right.error_code is None


def test_osm_sdk_with_a_wrong_secret_gets_apigw_0301(live):
    status, code, request_id = sdk_error(osm_client(live.url, sk="not-the-secret").send_verify_codes,
                                         SendVerifyCodesRequest(body=SendVerifyCodeReq(
                                             contact_value="13800000000", contact_way=0, area_code="86")))
    assert (status, code) == (401, "APIGW.0301")
    assert len(request_id) == 32


def test_osm_sdk_built_with_a_region_looks_its_account_up_in_iam(live, monkeypatch):
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION_OSM_CN_SOUTH_1", live.url)
    credentials = GlobalCredentials(AK, SK).with_iam_endpoint(live.url)
    client = OsmClient.new_builder().with_http_config(HttpConfig.get_default_config()) \
        .with_credentials(credentials).with_region(OsmRegion.value_of("cn-south-1")).build()
    client.send_verify_codes(SendVerifyCodesRequest(
        body=SendVerifyCodeReq(contact_value="13800000000", contact_way=0, area_code="86")))
    entries = httpx.get(f"{live.url}/__otpsim/journal").json()
    assert [(e["operation"], e["status"]) for e in entries] == [
        ("iam.KeystoneListAuthDomains", 200), ("osm.SendVerifyCodes", 200)]
    assert entries[1]["headers"]["x-domain-id"] == "sim0domain0id"


# --- iam -------------------------------------------------------------------------------------

def iam_token_request(password):
    user = PwdPasswordUser(domain=PwdPasswordUserDomain(name="sim-domain"), name="sim-user", password=password)
    auth = PwdAuth(identity=PwdIdentity(methods=["password"], password=PwdPassword(user=user)),
                   scope=AuthScope(domain=AuthScopeDomain(name="sim-domain")))
    return KeystoneCreateUserTokenByPasswordRequest(body=KeystoneCreateUserTokenByPasswordRequestBody(auth=auth))


def iam_client(endpoint):
    return IamClient.new_builder().with_http_config(HttpConfig.get_default_config()) \
        .with_credentials(IamCredentials()).with_endpoint(endpoint).build()


def test_iam_sdk_password_token_is_accepted_by_osm(live):
    response = iam_client(live.url).keystone_create_user_token_by_password(iam_token_request("Sim-Passw0rd!"))
    assert response.status_code == 201
    assert response.token.user.name == "sim-user"
    assert response.token.domain.id == "sim0domain0id"
    sent = httpx.post(f"{live.url}/v2/servicerequest/verifycodes/send", headers={"X-Auth-Token": response.x_subject_token},
                      json={"contact_value": "13800000000", "contact_way": 0, "area_code": "86"})
    assert sent.status_code == 200 and sent.json() == {}


def sdk_exception(call, request) -> ServiceResponseException:
    """What the SDK raises for an error answer (ClientRequestException for 4xx, ServerResponseException for 5xx)."""
    try:
        call(request)
    except ServiceResponseException as error:
        return error
    pytest.fail("the SDK raised no ClientRequestException")


def test_iam_sdk_wrong_password_raises_with_keystones_401(live):
    error = sdk_exception(iam_client(live.url).keystone_create_user_token_by_password, iam_token_request("wrong"))
    # the SDK reads Keystone's nested body: the numeric code and the message
    assert (error.status_code, error.error_code, error.error_msg) == (401, 401, "Unauthorized.")


def test_iam_sdk_internal_error_raises_with_the_flat_iam_code(live):
    library = (Path(__file__).parent.parent / "scenarios" / "errors" / "iam.yaml").read_text()
    assert httpx.put(f"{live.url}/__otpsim/scenario", content=library).status_code == 200
    request = iam_token_request("Sim-Passw0rd!")
    request.body.auth.identity.password.user.name = "IAM.0006"
    error = sdk_exception(iam_client(live.url).keystone_create_user_token_by_password, request)
    assert (error.status_code, error.error_code, error.error_msg) == (
        500, "IAM.0006", "An unexpected error prevented the server from fulfilling your request.")
    assert len(error.request_id) == 32



# --- meeting ---------------------------------------------------------------------------------

def meeting_client(server, closing, credentials, http_handler=None):
    config = HttpConfig.get_default_config()
    config.ssl_ca_cert = getattr(server, "ca", None)
    builder = MeetingClient.new_builder().with_http_config(config).with_credentials(credentials) \
        .with_endpoint(server.url)
    if http_handler is not None:
        builder = builder.with_http_handler(http_handler)
    client = builder.build()
    closing(client)
    return client


def send_and_verify(server, client):
    body = VerificationCodeDTO(contact=PHONE, country="chinaPR")
    client.send_veri_code_for_update_user_info(SendVeriCodeForUpdateUserInfoRequest(accept_language="en-US", body=body))
    code = latest(server, PHONE)["code"]
    status, error_code, request_id = sdk_error(client.check_veri_code_for_update_user_info,
                                               CheckVeriCodeForUpdateUserInfoRequest(body=VerificationCodeDTO(
                                                   contact=PHONE, country="chinaPR", verification_code=other_than(code))))
    assert (status, error_code) == (400, "USG.000000010")
    assert len(request_id) == 32
    right = client.check_veri_code_for_update_user_info(CheckVeriCodeForUpdateUserInfoRequest(
        body=VerificationCodeDTO(contact=PHONE, country="chinaPR", verification_code=code)))
    assert right.status_code == 200


def test_meeting_sdk_account_login_over_tls(tls_live, closing):
    send_and_verify(tls_live, meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!")))


def test_meeting_sdk_app_id_login_over_tls(tls_live, closing):
    credentials = MeetingCredentials().with_auth_type_enum(AuthTypeEnum.APP_ID) \
        .with_app_id("sim-app-id-0001").with_app_key("sim-app-key-0001").with_user_id("user-1")
    send_and_verify(tls_live, meeting_client(tls_live, closing, credentials))


def test_meeting_sdk_wrong_password_fails_the_first_call(tls_live, closing):
    client = meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "wrong-password"))
    status, code, _ = sdk_error(client.send_veri_code_for_update_user_info,
                                SendVeriCodeForUpdateUserInfoRequest(body=VerificationCodeDTO(contact=PHONE)))
    assert (status, code) == (401, "USG.000000020")


def test_meeting_sdk_over_plain_http_with_the_scheme_hook(live, closing):
    def force_http(**kwargs):
        if kwargs["request"].schema == "https":
            kwargs["request"].schema = "http"

    client = meeting_client(live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!"),
                            http_handler=HttpHandler().add_request_handler(force_http))
    send_and_verify(live, client)


def test_meeting_sdk_change_contact_send_verify_then_update_with_the_same_code(tls_live, closing):
    client = meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!"))
    send_and_verify(tls_live, client)
    code = latest(tls_live, PHONE)["code"]
    changed = client.update_contact(UpdateContactRequest(
        body=VerificationCodeDTO(contact=PHONE, country="chinaPR", verification_code=code)))
    assert changed.status_code == 200
    status, error_code, _ = sdk_error(client.update_contact, UpdateContactRequest(
        body=VerificationCodeDTO(contact=PHONE, country="chinaPR", verification_code=code)))
    assert (status, error_code) == (400, "USG.000000010")


def test_meeting_sdk_password_reset_from_code_to_new_password_to_login(tls_live, closing):
    user = "+8613800000009"
    reset_token = {}

    def carry_reset_token(**kwargs):
        """ResetPwd takes CheckVerifyCode's token as X-Access-Token (meeting_21_0104); the SDK's
        MeetingCredentials would send its login token, so the client swaps it in."""
        request = kwargs["request"]
        if request.resource_path == "/v1/usg/acs/password/reset":
            request.header_params["X-Access-Token"] = reset_token["value"]

    client = meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!"),
                            http_handler=HttpHandler().add_request_handler(carry_reset_token))
    slider = client.send_slide_verify_code(SendSlideVerifyCodeRequest(
        body=SlideVerifyCodeSendDTO(user=user, client_type=0, check_type=1)))
    x = solve({"originalImageBase64": slider.shadow_image, "jigsawImageBase64": slider.cut_image})
    passed = client.check_slide_verify_code(CheckSlideVerifyCodeRequest(body=SlideVerifyCodeCheckDTO(
        user=user, client_type=0, check_type=1, token=slider.token, point_x=x, slide_time=900)))
    sent = client.send_veri_code_for_change_pwd(SendVeriCodeForChangePwdRequest(
        body=VerifyCodeSendDTOV1(user=user, send_method="sms", token=passed.token)))
    assert (sent.expire, sent.bind_phone) == (60, "+86138****0009")
    checked = client.check_verify_code(CheckVerifyCodeRequest(
        body=VerifyCodeCheckDTO(user=user, code=latest(tls_live, user)["code"])))
    reset_token["value"] = checked.token
    assert client.reset_pwd(ResetPwdRequest(body=ResetPwdReqDTOV1(user=user, new_pwd="N3w-Passw0rd"))).status_code == 200

    status, error_code, _ = sdk_error(
        meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!")).delete_token,
        DeleteTokenRequest())
    assert (status, error_code) == (401, "USG.000000020")      # the old password no longer logs in
    fresh = meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "N3w-Passw0rd"))
    assert fresh.update_token(UpdateTokenRequest()).user.uclogin_account == "sim-user@example.com"


def test_meeting_sdk_token_life(tls_live, closing):
    client = meeting_client(tls_live, closing, MeetingCredentials("sim-user@example.com", "Sim-Passw0rd!"))
    refreshed = client.update_token(UpdateTokenRequest())
    assert refreshed.valid_period == 43200 and refreshed.user.uclogin_account == "sim-user@example.com"
    checked = client.check_token(CheckTokenRequest(body=ValidateTokenReqDTO(
        token=refreshed.access_token, need_gen_new_token=False, need_account_info=True)))
    assert checked.access_token == refreshed.access_token and checked.user.user_id == refreshed.user.user_id
    assert client.delete_token(DeleteTokenRequest()).status_code == 200
    status, error_code, _ = sdk_error(client.check_token, CheckTokenRequest(body=ValidateTokenReqDTO(
        token=refreshed.access_token)))
    assert (status, error_code) == (401, "USG.000000004")
