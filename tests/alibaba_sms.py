"""What the dysms and dypns tests share: signed calls named by their vendor Host, the SDK clients
through otpsim as their HTTP proxy, the Beijing date QuerySendDetails asks for, the clock."""

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from alibaba_signing import AK, SECRET, acs3, rpc
from voice_helpers import Receiver

VERSION = "2017-05-25"
HOSTS = {"dysms": "dysmsapi.aliyuncs.com", "dypns": "dypnsapi.aliyuncs.com"}
BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 1, 0, 0, tzinfo=timezone.utc)       # 09:00 in Beijing
SIGNATURES = [{}, {"signature_algorithm": "v2"}]   # the SDK's ACS3 default, and the classic RPC signature
SIGNATURE_IDS = ["acs3-default", "rpc-v2"]


def call(client, product: str, action: str, params: dict, sign=acs3, form: dict | None = None, host=None):
    """A signed request as the SDK sends it: API parameters in the query, SendBatchSms's *Json in a form."""
    host = host or HOSTS[product]
    body = urlencode(sorted((form or {}).items())).encode()
    if sign is acs3:
        path, headers = acs3(action, params, host=host, version=VERSION, body=body)
    else:
        path = rpc(action, params, version=VERSION, form=form)
        headers = {"host": host}
        if body:
            headers["content-type"] = "application/x-www-form-urlencoded"
    return client.post(path, headers=headers, content=body)


TAKEN = '{"code": 0, "msg": "接收成功"}'.encode()   # what the receipt pages ask a receiver to answer


def receipt_receiver() -> Receiver:
    """A receiver that takes every push as the vendor requires (HTTP 200, a numeric code)."""
    return Receiver(body=TAKEN)


def freeze(client, at: datetime = T0):
    assert client.post("/__otpsim/clock", json={"mode": "manual", "set": at.isoformat()}).status_code == 200


def advance(client, seconds: float):
    """Move the virtual clock; the admin call returns once what fell due (receipt pushes) has run."""
    assert client.post("/__otpsim/clock", json={"advance": seconds}).status_code == 200


def send_date(client) -> str:
    epoch = client.get("/__otpsim/clock").json()["epoch"]
    return datetime.fromtimestamp(epoch, BEIJING).strftime("%Y%m%d")


def query(client, product: str, phone: str, biz_id: str | None = None, sign=acs3) -> dict:
    params = {"PhoneNumber": phone, "SendDate": send_date(client), "PageSize": "10", "CurrentPage": "1"}
    if biz_id:
        params["BizId"] = biz_id
    answer = call(client, product, "QuerySendDetails", params, sign)
    assert answer.status_code == 200, answer.text
    return answer.json()


def set_settings(client, product: str, settings: dict, rules: list | None = None):
    """The scenario in force with `settings` for `product` and `rules` of the test's own first."""
    document = client.get("/__otpsim/scenario").json()
    document.setdefault("products", {})[product] = settings
    document["rules"] = (rules or []) + document.get("rules", [])
    answer = client.put("/__otpsim/scenario", json=document)
    assert answer.status_code == 200, answer.text
