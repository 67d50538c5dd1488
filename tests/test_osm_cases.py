"""OSM's whole journey: send → verify → CreateCases with the verified_id, through HTTP and the official
SDK; ListHasVerifiedContacts with the SDK's nine query parameters; ListAreaCodes."""

import json

import httpx
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkosm.v2 import (CheckVerifyCodesRequest, CreateCasesRequest, CreateOrderIncidentV2Req,
                                  ListAreaCodesRequest, ListHasVerifiedContactsRequest, OsmClient,
                                  SendVerifyCodeReq, SendVerifyCodesRequest, VerifyVerifyCodeV2Req)

from huawei_signing import AK, SK, signed_headers
from meeting_helpers import other_than

SEND, CHECK = "/v2/servicerequest/verifycodes/send", "/v2/servicerequest/verifycodes"
CASES, HAS_VERIFIED = "/v2/servicerequest/cases", "/v2/servicerequest/verifycodes/has-verified"
PHONE = {"contact_value": "13800000000", "contact_way": 0, "area_code": "86"}
MAIL = {"contact_value": "a@example.com", "contact_way": 1, "area_code": "86"}
CASE = {"business_type_id": "1", "simple_description": "cannot log in", "source_id": "83aeb0f2834c4df49826c781d32a963e"}
NOT_VERIFIED = {"error_code": "OSM.01010010", "error_msg": "Verify not pass."}


def post(client, path, body, headers=None):
    raw = json.dumps(body).encode()
    return client.post(path, content=raw, headers=signed_headers("POST", path, raw, extra=headers))


def get(client, path, query=""):
    return client.get(f"{path}?{query}" if query else path, headers=signed_headers("GET", path, query=query))


def verify(client, contact) -> str:
    """Send a code to `contact`, read it from the outbox, verify it; the contact's verified_id."""
    assert post(client, SEND, contact).json() == {}
    code = client.get("/__otpsim/outbox/latest", params={"to": contact["contact_value"]}).json()["code"]
    assert post(client, CHECK, {"verify_code": code, **contact}).json() == {}
    listed = get(client, HAS_VERIFIED, f"contact_value={contact['contact_value']}").json()
    return listed["contact_list"][0]["verified_id"]


def test_a_case_with_the_verified_ids_of_both_contacts_is_created(client):
    phone_id, mail_id = verify(client, PHONE), verify(client, MAIL)
    created = post(client, CASES, {**CASE, "remind_mobile": "13800000000", "remind_mail": "a@example.com"},
                   {"x-phone-verifiedid": phone_id, "x-email-verifiedid": mail_id})
    assert created.status_code == 200
    assert created.json()["incident_id"].startswith("CS")
    again = post(client, CASES, CASE, {"x-phone-verifiedid": phone_id})    # live for verified_ttl_s, not single use
    assert again.json()["incident_id"] != created.json()["incident_id"]


def test_a_wrong_expired_or_other_channel_verified_id_is_verify_not_pass(client):
    phone_id = verify(client, PHONE)
    assert post(client, CASES, CASE, {"x-phone-verifiedid": "0" * 20}).json() == NOT_VERIFIED
    assert post(client, CASES, CASE, {"x-email-verifiedid": phone_id}).json() == NOT_VERIFIED
    # the id proves 13800000000, not another number
    assert post(client, CASES, {**CASE, "remind_mobile": "13900000000"}, {"x-phone-verifiedid": phone_id}).json() \
        == NOT_VERIFIED
    client.post("/__otpsim/clock", json={"advance": 86400})                # verified_ttl_s later
    assert post(client, CASES, CASE, {"x-phone-verifiedid": phone_id}).json() == NOT_VERIFIED
    assert get(client, HAS_VERIFIED).json() == {"count": 0, "contact_list": []}


def test_a_remind_contact_is_proved_by_a_code_sent_to_it_or_refused(client):
    assert post(client, CASES, {**CASE, "remind_mobile": "13800000000"}).json() == NOT_VERIFIED
    post(client, SEND, PHONE)
    code = client.get("/__otpsim/outbox/latest", params={"to": "13800000000"}).json()["code"]
    wrong = {**CASE, "remind_mobile": "13800000000", "area_code": "86", "verify_code": other_than(code)}
    assert post(client, CASES, wrong).json() == NOT_VERIFIED
    created = post(client, CASES, {**wrong, "verify_code": code})
    assert "incident_id" in created.json()
    assert post(client, CASES, {**wrong, "verify_code": code}).json() == NOT_VERIFIED   # the code is used up


def test_a_case_without_its_required_fields_is_param_validation_fail(client):
    answer = post(client, CASES, {"simple_description": "x"})
    assert answer.status_code == 200 and answer.json()["error_code"] == "OSM.01010001"


def test_has_verified_filters_and_pages_with_the_sdk_parameters(client):
    ids = [verify(client, {**PHONE, "contact_value": f"1380000000{n}"}) for n in range(3)]
    mail_id = verify(client, MAIL)
    everything = get(client, HAS_VERIFIED).json()
    assert everything["count"] == 4 and [c["verified_id"] for c in everything["contact_list"]] == [*ids, mail_id]
    page = get(client, HAS_VERIFIED, "contact_way=0&offset=1&limit=1").json()
    assert page == {"count": 3, "contact_list": [{**PHONE, "contact_value": "13800000001", "verified_id": ids[1]}]}
    assert get(client, HAS_VERIFIED, f"verified_id={mail_id}").json()["contact_list"][0]["contact_value"] == "a@example.com"
    assert get(client, HAS_VERIFIED, "customer_id=someone-else").json()["count"] == 0
    assert get(client, HAS_VERIFIED, "expired_time=2000-01-01T00:00:00Z").json()["count"] == 4
    assert get(client, HAS_VERIFIED, "expired_time=2999-01-01T00:00:00Z").json()["count"] == 0


def test_has_verified_keeps_customer_ids_from_the_verification(client):
    post(client, SEND, PHONE)
    code = client.get("/__otpsim/outbox/latest", params={"to": "13800000000"}).json()["code"]
    post(client, CHECK, {"verify_code": code, "customer_id": "c1", "x_customer_id": "s1", **PHONE})
    assert get(client, HAS_VERIFIED, "customer_id=c1&sub_customer_id=s1").json()["count"] == 1
    assert get(client, HAS_VERIFIED, "customer_id=c1&sub_customer_id=s2").json()["count"] == 0


def test_has_verified_refuses_bad_paging_and_times_with_param_validation_fail(client):
    for query in ("limit=abc", "offset=-1", "limit=0", "limit=101", "expired_time=yesterday"):
        answer = get(client, HAS_VERIFIED, query)
        assert answer.status_code == 200, query
        assert answer.json() == {"error_code": "OSM.01010001", "error_msg": "Param validation fail."}, query


def test_area_codes_are_named_in_the_request_language(client):
    chinese = get(client, "/v2/servicerequest/config/area-codes").json()["area_code_list"]
    assert chinese[0] == {"id": 1, "area_code": "86", "area_name": "中国大陆"}
    path = "/v2/servicerequest/config/area-codes"
    english = client.get(path, headers=signed_headers("GET", path, extra={"x-language": "en-us"})).json()
    assert english["area_code_list"][0]["area_name"] == "Chinese Mainland"
    assert [e["area_code"] for e in english["area_code_list"]] == [e["area_code"] for e in chinese]


# --- the official SDK --------------------------------------------------------------------------------

def osm_client(endpoint):
    return OsmClient.new_builder().with_http_config(HttpConfig.get_default_config()) \
        .with_credentials(GlobalCredentials(AK, SK)).with_endpoint(endpoint).build()


def test_sdk_journey_send_verify_list_and_create_the_case(live):
    client = osm_client(live.url)
    client.send_verify_codes(SendVerifyCodesRequest(body=SendVerifyCodeReq(**PHONE)))
    code = httpx.get(f"{live.url}/__otpsim/outbox/latest", params={"to": "13800000000"}).json()["code"]
    assert client.check_verify_codes(CheckVerifyCodesRequest(
        body=VerifyVerifyCodeV2Req(verify_code=code, **PHONE))).error_code is None
    listed = client.list_has_verified_contacts(ListHasVerifiedContactsRequest(
        contact_way=0, contact_value="13800000000", area_code="86", offset=0, limit=10,
        customer_id="", expired_time="2000-01-01T00:00:00Z"))
    assert listed.count == 1
    verified_id = listed.contact_list[0].verified_id

    created = client.create_cases(CreateCasesRequest(x_phone_verifiedid=verified_id, body=CreateOrderIncidentV2Req(
        remind_mobile="13800000000", area_code="86", **CASE)))
    assert created.status_code == 200 and created.incident_id.startswith("CS")

    refused = client.create_cases(CreateCasesRequest(x_phone_verifiedid="f" * 20, body=CreateOrderIncidentV2Req(**CASE)))
    assert refused.incident_id is None            # a business error: HTTP 200, the SDK does not raise
    assert json.loads(refused.raw_content) == NOT_VERIFIED

    codes = client.list_area_codes(ListAreaCodesRequest(x_language="en-us")).area_code_list
    assert codes[0].area_code == "86" and codes[0].area_name == "Chinese Mainland"
