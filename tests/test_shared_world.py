"""One world across processes: `otpsim serve --store redis://…` twice, and `--workers`, on a real
redis-server (tests/redis_server.py starts one on a free 127.0.0.1 port)."""

import asyncio
import signal
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from alibaba_signing import acs3
from alibaba_sms import call as alibaba_call
from cams_burst import burst
from served import Served, run, wait_ready
from voice_helpers import Receiver, b64, call_verify, verify_body

PHONE = "13800000010"
SIGN = "速通互联验证码"
ORDER = ["callout", "alerting", "answer", "disconnect"]


@pytest.fixture
def prefix(request):
    """A world of the test's own in the shared redis-server."""
    return "t-" + request.node.name.replace("[", "-").replace("]", "")


@pytest.fixture
def serve(redis_server, prefix):
    """serve(*args) -> the base URL of an `otpsim serve --store` on the test's world, stopped after the test."""
    started = []

    def start(*args):
        served = Served("--store", redis_server.url, "--store-prefix", prefix, "--quiet", *args)
        started.append(served)
        served.wait_for_line(r"serving http://127\.0\.0\.1")
        url = f"http://127.0.0.1:{served.port}"
        wait_ready(url)
        served.url = url
        return served
    yield start
    for served in started:
        served.stop()


def send_code(client) -> None:
    params = {"PhoneNumber": PHONE, "SignName": SIGN, "TemplateCode": "100001",
              "TemplateParam": '{"code":"##code##","min":"5"}'}
    answer = alibaba_call(client, "dypns", "SendSmsVerifyCode", params)
    assert answer.status_code == 200, answer.text


def check_code(client, code: str) -> str:
    answer = alibaba_call(client, "dypns", "CheckSmsVerifyCode", {"PhoneNumber": PHONE, "VerifyCode": code})
    assert answer.status_code == 200, answer.text
    return answer.json()["Model"]["VerifyResult"]


def test_a_code_sent_through_one_otpsim_is_read_and_verified_through_another(serve):
    one, other = serve(), serve()
    with httpx.Client(base_url=one.url) as a, httpx.Client(base_url=other.url) as b:
        send_code(a)
        code = b.get("/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]
        assert check_code(b, code) == "PASS"
        assert check_code(a, code) == "UNKNOWN"     # used once, on any of them
        assert [e["operation"] for e in b.get("/__otpsim/journal").json()] == [
            "dypns.SendSmsVerifyCode", "dypns.CheckSmsVerifyCode", "dypns.CheckSmsVerifyCode"]


def test_a_wait_on_one_otpsim_sees_a_code_sent_through_another(serve):
    one, other = serve(), serve()

    async def wait_and_send():
        async with httpx.AsyncClient(base_url=one.url, timeout=15) as a, httpx.AsyncClient(base_url=other.url) as b:
            waiting = asyncio.ensure_future(a.get("/__otpsim/outbox/wait", params={"to": PHONE, "timeout": 10}))
            await asyncio.sleep(0.3)   # the wait is parked before the code exists
            params = {"PhoneNumber": PHONE, "SignName": SIGN, "TemplateCode": "100001",
                      "TemplateParam": '{"code":"##code##","min":"5"}'}
            path, headers = acs3("SendSmsVerifyCode", params, host="dypnsapi.aliyuncs.com", version="2017-05-25")
            sent = await b.post(path, headers=headers)
            assert sent.status_code == 200, sent.text
            return await waiting
    waited = asyncio.run(wait_and_send())
    assert waited.status_code == 200 and waited.json()["to"] == PHONE


def test_the_event_stream_of_one_shows_a_code_sent_through_another(serve):
    one, other = serve(), serve()
    with httpx.Client(base_url=one.url, timeout=10) as a, httpx.Client(base_url=other.url) as b:
        with a.stream("GET", "/__otpsim/events") as stream:
            lines = stream.iter_lines()
            next(line for line in lines if line == "event: hello")
            send_code(b)
            assert next(line for line in lines if line == "event: outbox")
            assert PHONE in next(line for line in lines if line.startswith("data:"))


def test_a_clock_moved_through_one_expires_a_code_on_the_other(serve):
    one, other = serve(), serve()
    with httpx.Client(base_url=one.url) as a, httpx.Client(base_url=other.url) as b:
        assert a.post("/__otpsim/clock", json={"mode": "manual", "set": "2026-03-02T01:00:00Z"}).status_code == 200
        assert b.get("/__otpsim/clock").json()["now"] == "2026-03-02T01:00:00Z"
        send_code(b)
        code = a.get("/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]
        moved = a.post("/__otpsim/clock", json={"advance": 301})   # past ValidTime's default 300 s
        assert moved.json()["now"] == "2026-03-02T01:05:01Z"
        assert b.get("/__otpsim/clock").json()["now"] == "2026-03-02T01:05:01Z"
        assert check_code(b, code) == "UNKNOWN"


def test_a_scenario_put_through_one_is_in_force_on_the_other(serve):
    one, other = serve(), serve()
    with httpx.Client(base_url=one.url) as a, httpx.Client(base_url=other.url) as b:
        rule = {"match": {"operation": "dypns.SendSmsVerifyCode"}, "times": 1, "error": "biz.FREQUENCY"}
        assert a.post("/__otpsim/scenario/rules", json=rule).status_code == 201
        answers = [alibaba_call(client, "dypns", "SendSmsVerifyCode", {
            "PhoneNumber": f"1380000002{n}", "SignName": SIGN, "TemplateCode": "100001",
            "TemplateParam": '{"code":"##code##","min":"5"}'}).json()["Code"] for n, client in enumerate((b, a, b))]
        assert answers == ["biz.FREQUENCY", "OK", "OK"]   # the rule's one time, counted across both


def test_workers_admit_exactly_the_documented_flow_control_limit(serve):
    served = serve("--workers", "2")
    with httpx.Client(base_url=served.url) as admin:
        admin.post("/__otpsim/clock", json={"mode": "manual"})   # the hundred fall in one second of the clock
    answers = burst(base_url=served.url, timeout=30)
    assert answers.count((200, "OK")) == 10, Counter(answers)          # openapi/cams.yaml qps: 10 a second per caller and action
    assert answers.count((400, "System.LimitControl")) == 90, Counter(answers)
    with httpx.Client(base_url=served.url) as admin:
        assert len(admin.get("/__otpsim/outbox", params={"product": "cams"}).json()) == 10


def test_workers_hold_the_voice_port_limit_exactly(serve):
    served = serve("--workers", "2")
    with httpx.Client(base_url=served.url, timeout=30) as admin:
        admin.post("/__otpsim/clock", json={"mode": "manual", "set": "2026-01-01T08:00:00Z"})
        document = admin.get("/__otpsim/scenario").json()
        document["products"] = {**document.get("products", {}), "voice": {"voice_ports": 7}}
        assert admin.put("/__otpsim/scenario", json=document).status_code == 200

    def place(n):
        with httpx.Client(base_url=served.url, timeout=30) as client:
            return call_verify(client, verify_body(callee=f"+86138000{n:05d}")).json()["resultcode"]
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(place, range(40)))
    assert answers.count("0") == 7 and answers.count("1020154") == 33


def test_a_calls_pushes_arrive_exactly_once_from_many_workers(serve):
    served = serve("--workers", "2")
    with Receiver() as receiver, httpx.Client(base_url=served.url, timeout=30) as client:
        client.post("/__otpsim/clock", json={"mode": "manual", "set": "2026-01-01T08:00:00Z"})
        answer = call_verify(client, verify_body(statusUrl=b64(f"{receiver.url}/status"), feeUrl=b64(f"{receiver.url}/fee")))
        assert answer.json()["resultcode"] == "0"
        for _ in range(40):
            assert client.post("/__otpsim/clock", json={"advance": 1}).status_code == 200
        assert receiver.events() == ORDER
        assert len(receiver.bodies("/fee")) == 1


def test_the_due_pushes_of_a_killed_otpsim_are_made_by_another(serve):
    doomed, survivor = serve(), serve()
    with Receiver() as receiver, httpx.Client(base_url=doomed.url, timeout=30) as a, \
            httpx.Client(base_url=survivor.url, timeout=30) as b:
        a.post("/__otpsim/clock", json={"mode": "manual", "set": "2026-01-01T08:00:00Z"})
        answer = call_verify(a, verify_body(statusUrl=b64(f"{receiver.url}/status")))
        assert answer.json()["resultcode"] == "0"
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(10)
        for _ in range(40):
            assert b.post("/__otpsim/clock", json={"advance": 1}).status_code == 200
        assert receiver.events() == ORDER


def test_redis_stopped_and_started_mid_run(serve, redis_server):
    served = serve()
    with httpx.Client(base_url=served.url, timeout=30) as client:
        send_code(client)
        redis_server.stop()
        try:
            params = {"PhoneNumber": PHONE, "VerifyCode": "000000"}
            refused = alibaba_call(client, "dypns", "CheckSmsVerifyCode", params)
            assert refused.status_code == 503 and refused.json()["Code"] == "ServiceUnavailable"
            admin = client.get("/__otpsim/outbox")
            assert admin.status_code == 503 and "shared store is unavailable" in admin.json()["error"]
        finally:
            redis_server.start()
        assert client.get("/__otpsim/outbox").status_code == 200   # reconnected by itself
        send_code(client)   # the restarted Redis kept nothing (no persistence): the world starts over
        code = client.get("/__otpsim/outbox/latest", params={"to": PHONE}).json()["code"]
        assert check_code(client, code) == "PASS"


def test_serve_refuses_to_start_without_its_store_and_workers_without_a_store(redis_server):
    unreachable = run("serve", "--store", "redis://127.0.0.1:1/0")
    assert unreachable.returncode == 2 and "redis://127.0.0.1:1/0" in unreachable.stderr
    alone = run("serve", "--workers", "2")
    assert alone.returncode == 2 and "needs --store" in alone.stderr
