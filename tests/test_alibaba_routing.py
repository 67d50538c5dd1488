"""Three Alibaba RPC products on one POST /: told apart by Host (directly, or through an SDK's
http_proxy as an absolute-form target), by a listener per product, or by X-Otpsim-Product; an action
two of them serve (QuerySendDetails) is never answered in the wrong product's shape."""

import dataclasses
import socket

import httpx
import pytest

from alibaba_signing import AK, SECRET, acs3
from alibaba_sms import HOSTS, VERSION, call, query, send_date
from simulator.core.errors import SpecError
from simulator.core.pipeline.router import Router
from simulator.core.spec import load_products
from test_cli import Served, free_port, wait_ready

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


def test_a_listener_per_product_needs_no_proxy_and_no_dns():
    from alibabacloud_dypnsapi20170525 import models as dypns_models
    from alibabacloud_dypnsapi20170525.client import Client as Dypns
    from alibabacloud_dysmsapi20170525 import models as dysms_models
    from alibabacloud_dysmsapi20170525.client import Client as Dysms
    from alibabacloud_tea_openapi.models import Config

    dypns_port, dysms_port = free_port(), free_port()
    served = Served("--listen", f"dypns={dypns_port}", "--listen", f"dysms={dysms_port}", "--quiet")
    try:
        served.wait_for_line(rf"127\.0\.0\.1:{dysms_port} serves dysms")
        wait_ready(f"http://127.0.0.1:{served.port}")
        config = dict(access_key_id=AK, access_key_secret=SECRET, protocol="http")
        sms = Dysms(Config(endpoint=f"127.0.0.1:{dysms_port}", **config))
        verify = Dypns(Config(endpoint=f"127.0.0.1:{dypns_port}", **config))
        assert sms.send_sms(dysms_models.SendSmsRequest(phone_numbers=PHONE, sign_name="s", template_code="SMS_1",
                                                        template_param='{"code":"2222"}')).body.code == "OK"
        with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as admin:
            day = send_date(admin)
        sms_rows = sms.query_send_details(dysms_models.QuerySendDetailsRequest(
            phone_number=PHONE, send_date=day, page_size=10, current_page=1)).body
        verify_rows = verify.query_send_details(dypns_models.QuerySendDetailsRequest(
            phone_number=PHONE, send_date=day, page_size=10, current_page=1)).body
        assert sms_rows.total_count == 1 and sms_rows.sms_send_detail_dtos.sms_send_detail_dto[0].content.endswith("！")
        assert (verify_rows.success, verify_rows.total_count, verify_rows.model) == (True, 0, [])
    finally:
        served.stop()


@pytest.mark.parametrize("bad", ["dypns", "nope=8081", "dypns=port", "dypns=70000"])
def test_bad_listeners_are_refused(bad):
    from test_cli import run
    result = run("serve", "--port", str(free_port()), "--listen", bad)
    assert result.returncode == 2 and "--listen" in result.stderr


def test_products_sharing_an_action_must_declare_their_hosts():
    products = load_products()
    Router(products)
    with pytest.raises(SpecError, match="QuerySendDetails on / is served by dypns, dysms; dypns declare"):
        Router({**products, "dypns": dataclasses.replace(products["dypns"], hosts=())})
