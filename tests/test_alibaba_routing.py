"""Three Alibaba RPC products on one POST /: told apart by Host (directly, or through an SDK's
http_proxy as an absolute-form target), by a listener per product, or by X-Otpsim-Product; an action
two of them serve (QuerySendDetails) is never answered in the wrong product's shape."""

import dataclasses
import socket

import httpx
import pytest

from alibaba_signing import acs3
from alibaba_sms import HOSTS, VERSION, call, query, send_date
from simulator.core.errors import SpecError
from simulator.core.spec import load_products
from simulator.core.wiring import check_routes

PHONE = "13800000020"


def send_both(client):
    sms = call(client, "dysms", "SendSms", {"PhoneNumbers": PHONE, "SignName": "s", "TemplateCode": "SMS_1",
                                            "TemplateParam": '{"code":"1111"}'}).json()
    verify = call(client, "dypns", "SendSmsVerifyCode", {"PhoneNumber": PHONE, "SignName": "s", "TemplateCode": "1",
                                                         "TemplateParam": '{"code":"##code##"}'}).json()
    assert sms["Code"] == verify["Code"] == "OK"
    return sms["BizId"], verify["Model"]["BizId"]


def test_query_send_details_is_answered_by_the_product_the_host_names(client):
    sms_biz, verify_biz = send_both(client)
    sms = query(client, "dysms", PHONE)
    assert [d["Content"] for d in sms["SmsSendDetailDTOs"]["SmsSendDetailDTO"]] == ["【s】您的验证码为1111，该验证码5分钟内有效，请勿泄漏于他人！"]
    assert "Model" not in sms and "Success" not in sms
    verify = query(client, "dypns", PHONE)
    assert verify["Success"] is True and "SmsSendDetailDTOs" not in verify
    assert [row["TemplateCode"] for row in verify["Model"]] == ["1"]
    assert query(client, "dysms", PHONE, biz_id=verify_biz)["TotalCount"] == 0
    regional = call(client, "dysms", "QuerySendDetails", {"PhoneNumber": PHONE, "SendDate": send_date(client),
                                                          "PageSize": "10", "CurrentPage": "1"},
                    host="dysmsapi.ap-southeast-1.aliyuncs.com:443")
    assert regional.json()["TotalCount"] == 1


def test_an_ambiguous_call_gets_a_clear_otpsim_answer_not_a_guess(client):
    params = {"PhoneNumber": PHONE, "SendDate": send_date(client), "PageSize": "10", "CurrentPage": "1"}
    ambiguous = call(client, "dysms", "QuerySendDetails", params, host="127.0.0.1:8080")
    assert ambiguous.status_code == 400
    assert ambiguous.json() == {"otpsim": (
        "QuerySendDetails is an action of dypns and dysms: name the product by Host (the vendor endpoint, "
        "directly or through http_proxy), a listener (otpsim serve --listen PRODUCT=PORT) or the X-Otpsim-Product header")}
    path, headers = acs3("QuerySendDetails", params, host="127.0.0.1:8080", version=VERSION)
    named = client.post(path, headers={**headers, "X-Otpsim-Product": "dypns"})
    assert named.status_code == 200 and named.json()["Success"] is True
    unknown = client.post(path, headers={**headers, "X-Otpsim-Product": "dysmsapi"})
    assert unknown.status_code == 400 and "no product 'dysmsapi'" in unknown.json()["otpsim"]


def test_actions_of_one_product_need_no_host_and_other_products_refuse_them(client):
    plain = call(client, "dysms", "SendSms", {"PhoneNumbers": PHONE, "SignName": "s", "TemplateCode": "SMS_1"},
                 host="127.0.0.1:8080")
    assert plain.json()["Code"] == "OK"
    elsewhere = call(client, "dypns", "SendSms", {"PhoneNumbers": PHONE, "SignName": "s", "TemplateCode": "SMS_1"})
    assert elsewhere.status_code == 404 and elsewhere.json()["Code"] == "InvalidAction.NotFound"
    assert elsewhere.json()["HostId"] == HOSTS["dypns"] and "product=Dypnsapi" in elsewhere.json()["Recommend"]


def test_an_absolute_form_target_is_routed_by_its_authority(live):
    """What an SDK sends through http_proxy, byte for byte on a socket (uvicorn's h11 keeps the
    absolute URL in the path; httptools keeps only its path, and Host still names the product)."""
    with httpx.Client(base_url=live.url) as admin:
        day = send_date(admin)
    params = {"PhoneNumber": PHONE, "SendDate": day, "PageSize": "10", "CurrentPage": "1"}
    path, headers = acs3("QuerySendDetails", params, host=HOSTS["dypns"], version=VERSION)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST http://{HOSTS['dypns']}{path} HTTP/1.1\r\n{head}content-length: 0\r\nconnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200") and b'"Success":true' in body and b'"TotalCount":0' in body


def test_dysms_and_dypns_may_share_query_send_details_only_because_their_hosts_differ():
    products = load_products()
    check_routes(products)
    with pytest.raises(SpecError, match="RPC action QuerySendDetails on / is claimed by dypns .* and by dysms"):
        check_routes({**products, "dypns": dataclasses.replace(products["dypns"], hosts=())})


def test_a_host_names_one_product():
    products = load_products()
    twin = dataclasses.replace(products["cams"], hosts=products["dysms"].hosts)   # cams shares no action with dysms
    with pytest.raises(SpecError, match="host dysmsapi.aliyuncs.com is declared by cams .* and by dysms"):
        check_routes({**products, "cams": twin})
