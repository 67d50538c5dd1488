"""The client report (GET /__otpsim/report, `otpsim report`): a naive client and a well-behaved one, as
otpsim sees them through the journal and the deliveries."""

import json
import shutil
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from huawei_signing import signed_headers
from simulator.core.serving import cli
import alibaba_sms
from voice_helpers import Receiver
from simulator.core.compose import standard_parts
from simulator.core.pipeline.app import Simulator
from simulator.core.spec import load_product, spec_dir
from simulator.embedded import ThreadServer
from voice_helpers import T0, advance, aksk_headers, b64, call_verify, freeze_clock, use_scenario, verify_body

SEND = "/v2/servicerequest/verifycodes/send"
CONTACT_A, CONTACT_B = "13800000001", "13800000002"
FAILING_TWICE = {"name": "osm-down-twice", "match": {"operation": "osm.SendVerifyCodes", "body": {"contact_value": CONTACT_B}},
                 "times": 2, "error": "OSM.0004"}


def send_code(client, contact: str, at=T0):
    raw = json.dumps({"contact_value": contact, "contact_way": 0, "area_code": "86"}).encode()
    return client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw, when=at))


def report(client, **params) -> dict:
    response = client.get("/__otpsim/report", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def products(built: dict) -> dict:
    return {p["product"]: p for p in built["products"]}


def test_a_naive_client_gets_exactly_the_findings_and_coverage_it_earned(client, receiver):
    freeze_clock(client)
    use_scenario(client, rules=[FAILING_TWICE])
    receiver.status["/status"] = 500
    # a code, then the user taps "resend" twice; the client reads HTTP 200 as sent and ignores OSM.01010024
    assert send_code(client, CONTACT_A).content == b"{}"
    assert send_code(client, CONTACT_A).json()["error_code"] == "OSM.01010024"
    assert send_code(client, CONTACT_A).json()["error_code"] == "OSM.01010024"
    # a 500, retried at once until it goes through
    assert send_code(client, CONTACT_B).status_code == 500
    assert send_code(client, CONTACT_B).status_code == 500
    assert send_code(client, CONTACT_B).content == b"{}"
    # a voice code whose call events reach a receiver answering 500
    assert call_verify(client, verify_body(statusUrl=b64(f"{receiver.url}/status"))).status_code == 200
    advance(client, 120)

    built = report(client)
    by_kind = {f["kind"]: f for f in built["findings"]}
    assert sorted(by_kind) == ["receiver-refused", "resend-inside-interval", "retry-without-backoff",
                               "throttle-retry-too-soon"]
    assert by_kind["throttle-retry-too-soon"]["entries"] == [2, 3]
    assert by_kind["throttle-retry-too-soon"]["operation"] == "osm.SendVerifyCodes"
    assert "resend_interval_s" in by_kind["throttle-retry-too-soon"]["rule"]["source"]
    assert by_kind["resend-inside-interval"]["entries"] == [1, 2, 3]
    assert by_kind["retry-without-backoff"]["entries"] == [4, 5, 6]
    assert by_kind["retry-without-backoff"]["rule"]["source"].startswith("https://support.huaweicloud.com/")
    deliveries = client.get("/__otpsim/callbacks", params={"kind": "voice.status"}).json()
    assert by_kind["receiver-refused"]["deliveries"] == [d["id"] for d in deliveries]
    assert [d["attempts"][0]["status"] for d in deliveries] == [500] * 4
    assert by_kind["receiver-refused"]["product"] == "voice"

    osm, voice = products(built)["osm"], products(built)["voice"]
    assert {m["key"]: (m["times"], m["via"]) for m in osm["met"]} == {
        "OSM.01010024": (2, ["simulator"]), "OSM.0004": (2, ["rule osm-down-twice"])}
    assert osm["codes"]["met"] == 2 and osm["codes"]["documented"] == len(client.get("/__otpsim/catalogue/osm").json())
    assert {l["key"]: l["met"] for l in osm["limits"]} == {"OSM.01010024": True, "APIGW.0308": False}
    assert voice["met"] == [] and voice["requests"] == 1
    unmet = {u["key"]: u for u in voice["unmet"]}
    assert unmet["1013117"]["shortest"] == "magic-contact"
    assert unmet["1013117"]["ways"][0]["rule"] == "magic-throttled-phone-voice"
    assert unmet["1010001"]["shortest"] == "header"
    assert unmet["1010001"]["ways"][0] == {"way": "header", "header": "X-Otpsim-Error", "value": "1010001",
                                           "operation": "voice.CallVerify",
                                           "text": "header X-Otpsim-Error: 1010001 on voice.CallVerify"}
    [push] = built["pushes"]
    assert (push["kind"], push["operation"], push["deliveries"], push["answers"]) == (
        "voice.status", "voice.CallVerify", 4, {"500": 4})
    assert push["outcomes"] == {"0": 1}
    assert [u["fault"] for u in push["faults"]["unmet"]] == ["drop", "duplicate", "delay", "out_of_order"]
    assert built["summary"] == {"requests": 7, "deliveries": 4, "products": 2,
                                "codes_documented": osm["codes"]["documented"] + voice["codes"]["documented"],
                                "codes_met": 2, "findings": 4}


def test_a_well_behaved_client_has_no_findings(client, receiver):
    freeze_clock(client)
    use_scenario(client, rules=[{**FAILING_TWICE, "times": 1}])
    assert send_code(client, CONTACT_A).content == b"{}"
    assert send_code(client, CONTACT_A).json()["error_code"] == "OSM.01010024"   # the user tapped too soon
    advance(client, 60)                                                          # the app waits the interval out
    assert send_code(client, CONTACT_A, at=T0 + timedelta(seconds=60)).content == b"{}"
    assert send_code(client, CONTACT_B, at=T0 + timedelta(seconds=60)).status_code == 500
    advance(client, 1)                                                           # back-off, then retry
    assert send_code(client, CONTACT_B, at=T0 + timedelta(seconds=61)).content == b"{}"
    now = T0 + timedelta(seconds=61)
    body = verify_body(statusUrl=b64(f"{receiver.url}/status"))
    assert call_verify(client, body, aksk_headers(created=now)).status_code == 200
    advance(client, 120)

    built = report(client)
    assert built["findings"] == []
    assert products(built)["osm"]["codes"]["met"] == 2
    assert built["pushes"][0]["answers"] == {"200": 4}


def test_signing_findings_show_unsigned_calls_reused_nonces_and_drifting_clocks(client):
    freeze_clock(client)
    assert call_verify(client, verify_body(), headers={"accept": "*/*"}).json()["resultcode"] == "1023006"
    assert call_verify(client, verify_body(), aksk_headers(nonce="n1")).status_code == 200
    assert call_verify(client, verify_body(callee="+8613800000009"), aksk_headers(nonce="n1")).status_code == 401
    ahead = aksk_headers(created=T0 + timedelta(seconds=200))
    assert call_verify(client, verify_body(callee="+8613800000008"), ahead).status_code == 200

    by_kind = {f["kind"]: f for f in report(client)["findings"]}
    assert sorted(by_kind) == ["nonce-reused", "timestamp-drift", "unsigned-before-signed"]
    assert by_kind["unsigned-before-signed"]["entries"] == [1]
    assert by_kind["nonce-reused"]["entries"] == [2, 3]
    assert "1010010" in by_kind["nonce-reused"]["rule"]["source"]
    assert by_kind["timestamp-drift"]["entries"] == [4]
    assert "200s" in by_kind["timestamp-drift"]["title"] and "300s" in by_kind["timestamp-drift"]["title"]
    # a threshold is a setting: at 0.7 of the allowed skew, 200 s of 300 is not drifting yet
    assert "timestamp-drift" not in {f["kind"] for f in report(client, skew_warn_ratio=0.7)["findings"]}


def test_a_slow_receiver_and_an_undocumented_answer_are_findings(client, receiver):
    freeze_clock(client)
    receiver.status["/status"] = 200
    assert call_verify(client, verify_body(statusUrl=b64(f"{receiver.url}/status"))).status_code == 200
    advance(client, 120)
    assert report(client)["findings"] == []
    slow = report(client, slow_receiver_ms=0)["findings"]
    assert [f["kind"] for f in slow] == ["receiver-slow"] and len(slow[0]["deliveries"]) == 4


def test_a_finding_changes_no_answer(client):
    freeze_clock(client)
    first = [send_code(client, CONTACT_A) for _ in range(3)]
    report(client)
    client.post("/__otpsim/reset")
    freeze_clock(client)
    second = [send_code(client, CONTACT_A) for _ in range(3)]
    assert [(r.status_code, r.content) for r in first] == [(r.status_code, r.content) for r in second]


def test_bad_report_settings_get_a_clear_admin_error(client):
    unknown = client.get("/__otpsim/report", params={"slow": "1"})
    assert unknown.status_code == 400 and "slow_receiver_ms" in unknown.json()["settings"]
    negative = client.get("/__otpsim/report", params={"backoff_min_s": "-1"})
    assert negative.status_code == 400 and "backoff_min_s" in negative.json()["error"]
    assert client.get("/__otpsim/report", params={"early_retries": "x"}).status_code == 400


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "9" * 400])
def test_a_report_threshold_that_is_no_finite_number_is_a_400(client, value):
    refused = client.get("/__otpsim/report", params={"backoff_min_s": value})
    assert refused.status_code == 400
    assert refused.json() == {"error": "report setting backoff_min_s must be a finite number"}


def test_environment_sets_threshold_defaults(client, monkeypatch):
    monkeypatch.setenv("OTPSIM_REPORT_SLOW_RECEIVER_MS", "123")
    assert report(client)["settings"]["slow_receiver_ms"] == 123
    assert report(client, slow_receiver_ms=7)["settings"]["slow_receiver_ms"] == 7


def test_otpsim_report_prints_a_table(live, capsys):
    httpx.post(f"{live.url}/__otpsim/clock", json={"mode": "manual", "set": T0.isoformat()})
    for _ in range(2):
        raw = json.dumps({"contact_value": CONTACT_A, "contact_way": 0, "area_code": "86"}).encode()
        httpx.post(f"{live.url}{SEND}", content=raw,
                   headers=signed_headers("POST", SEND, raw, when=T0, host=f"127.0.0.1:{live.port}"))
    assert cli.main(["report", "--url", live.url]) == 0
    table = capsys.readouterr().out
    assert "osm  " in table and "OSM.01010024" in table and "Findings: none" in table
    assert "magic contact: osm.SendVerifyCodes body.contact_value=+8613500000002" not in table   # met codes are not suggested
    assert cli.main(["report", "--url", live.url, "--json", "--set", "resend_repeats=1"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["settings"]["resend_repeats"] == 1   # one early resend is enough now
    assert [f["kind"] for f in built["findings"]] == ["resend-inside-interval"]
    assert cli.main(["report", "--url", live.url, "--set", "nothing"]) == 2


def answering(body: bytes, on_push=None):
    """An ASGI receiver that answers every push 200 with `body`, after `await on_push(push)` if given."""
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if on_push is not None:
            await on_push(json.loads(raw))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return app


@pytest.fixture
def numeric_code_voice(tmp_path):
    """The packaged products, but voice's call-status receivers must answer {"code": <number>}, as an
    Alibaba receipt receiver must: the rule is the callback's documented 200 answer, nothing else."""
    folder = tmp_path / "openapi"
    shutil.copytree(spec_dir(), folder)
    spec = folder / "voice.yaml"
    text = spec.read_text(encoding="utf-8")
    documented = '"200": {$ref: "#/components/responses/PushAccepted"}'
    assert text.count(documented) == 2
    text = text.replace(documented, '"200": {description: "taken; the body\'s code must be a number", content: '
                                    '{application/json: {schema: {type: object, required: [code], '
                                    'properties: {code: {type: number}}}}}}', 1)
    spec.write_text(text, encoding="utf-8")
    parts = standard_parts()
    return Simulator(replace(parts, products={**parts.products, "voice": load_product(spec)}),
                     parts.default_scenario)


@pytest.mark.parametrize("answer, findings", [(b'{"code": 0, "msg": "ok"}', []),
                                              (b"success", ["receiver-answer"]),
                                              (b'{"code": "0"}', ["receiver-answer"])])
def test_a_receiver_must_answer_what_the_callback_documents(numeric_code_voice, answer, findings):
    with TestClient(numeric_code_voice, base_url="http://127.0.0.1:8080") as client, \
            ThreadServer(answering(answer)) as server:
        freeze_clock(client)
        assert call_verify(client, verify_body(statusUrl=b64(f"{server.url}/status"))).status_code == 200
        advance(client, 120)
        found = report(client)["findings"]
    assert [f["kind"] for f in found] == findings
    if findings:
        assert len(found[0]["deliveries"]) == 4 and "code" in found[0]["detail"]
        assert found[0]["rule"]["text"].startswith("answer 200. taken; the body's code must be a number")


BUSY = "+8613500000001"   # a magic contact: every call to it is busy


@pytest.mark.parametrize("deduplicates, findings", [(False, ["duplicate-handled-twice"]), (True, [])])
def test_a_duplicated_push_acted_on_twice_is_a_finding(live, deduplicates, findings):
    seen = set()

    async def fall_back_to_sms(push):
        """On a failed call, the app sends the code by SMS instead; a careful one only once per event."""
        info = push["statusInfo"]
        if push["eventType"] != "disconnect" or not info.get("stateCode"):
            return
        if deduplicates and info["sessionId"] in seen:
            return
        seen.add(info["sessionId"])
        raw = json.dumps({"contact_value": "13800000005", "contact_way": 0, "area_code": "86"}).encode()
        async with httpx.AsyncClient(base_url=live.url) as app_client:
            await app_client.post(SEND, content=raw,
                                  headers=signed_headers("POST", SEND, raw, when=T0, host=f"127.0.0.1:{live.port}"))

    with httpx.Client(base_url=live.url) as client, ThreadServer(answering(b"", fall_back_to_sms)) as server:
        freeze_clock(client)
        use_scenario(client, rules=[{"name": "twice", "match": {"operation": "voice.CallVerify"},
                                     "callbacks": {"duplicate": 1.0}, "call": {"outcome": "busy"}}])
        assert call_verify(client, verify_body(callee=BUSY, statusUrl=b64(f"{server.url}/status"))).status_code == 200
        advance(client, 120)
        found = report(client)["findings"]
        sends = [e["id"] for e in client.get("/__otpsim/journal", params={"operation": "osm.SendVerifyCodes"}).json()]
    assert [f["kind"] for f in found] == findings
    if findings:
        assert found[0]["entries"] == sends and len(sends) == 2
        assert found[0]["operation"] == "osm.SendVerifyCodes" and len(found[0]["deliveries"]) == 2


@pytest.mark.parametrize("answer, findings", [(alibaba_sms.TAKEN, []), (b"success", ["receiver-answer"])])
def test_an_alibaba_receipt_receiver_must_answer_a_numeric_code(client, answer, findings):
    alibaba_sms.freeze(client)   # months from the real time the helper signs with: no drift, as the simulator accepts it
    with Receiver(body=answer) as receiver:
        alibaba_sms.set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/sms-report", "receipt_delay_s": 0})
        sent = alibaba_sms.call(client, "dysms", "SendSms", {"PhoneNumbers": "13800000001", "SignName": "阿里云短信测试",
                                                             "TemplateCode": "SMS_154950909", "TemplateParam": '{"code": "1234"}'})
        assert sent.json()["Code"] == "OK"
        alibaba_sms.advance(client, 0)
        built = report(client)
    assert [(f["kind"], f["product"], f["operation"]) for f in built["findings"]] == [
        (kind, "dysms", "dysms.SendSms") for kind in findings]
    if findings:
        assert "numeric" in built["findings"][0]["rule"]["text"] or "number" in built["findings"][0]["rule"]["text"]
    [push] = built["pushes"]
    assert (push["kind"], push["operation"], push["answers"]) == ("dysms.report", "dysms.SendSms", {"200": 1})


def sms(client, product: str, action: str, **params):
    answer = alibaba_sms.call(client, product, action, {"SignName": "阿里云短信测试", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["Code"]


def test_alibaba_frequency_answers_tell_their_window_from_their_message_or_the_request(client):
    alibaba_sms.freeze(client)
    send = {"PhoneNumbers": "13800000001", "TemplateCode": "SMS_154950909", "TemplateParam": '{"code": "1234"}'}
    assert [sms(client, "dysms", "SendSms", **send) for _ in range(2)] == ["OK", "isv.BUSINESS_LIMIT_CONTROL"]
    alibaba_sms.advance(client, 59)
    assert sms(client, "dysms", "SendSms", **send) == "isv.BUSINESS_LIMIT_CONTROL"   # a second early
    code = {"TemplateCode": "100001", "TemplateParam": '{"code":"##code##","min":"5"}'}
    assert sms(client, "dypns", "SendSmsVerifyCode", PhoneNumber="13800000002", Interval="30", **code) == "OK"
    alibaba_sms.advance(client, 10)
    assert sms(client, "dypns", "SendSmsVerifyCode", PhoneNumber="13800000002", Interval="30", **code) == "biz.FREQUENCY"
    alibaba_sms.advance(client, 30)   # the request's own Interval, not the 60 s default
    assert sms(client, "dypns", "SendSmsVerifyCode", PhoneNumber="13800000002", Interval="30", **code) == "OK"

    built = report(client)
    met = {m["key"] for p in built["products"] for m in p["met"]}
    assert {"isv.BUSINESS_LIMIT_CONTROL@minute", "biz.FREQUENCY"} <= met
    [early] = built["findings"]
    assert (early["kind"], early["operation"], early["entries"]) == ("throttle-retry-too-soon", "dysms.SendSms", [2, 3])
    assert "60s" in early["title"] and "help.aliyun.com/zh/sms/user-guide/set-throttling" in early["rule"]["source"]
