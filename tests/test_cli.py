"""The CLI as a user meets it: help texts, a real `otpsim serve` (HTTP and --tls), `otpsim check`."""

import os
import re
import signal
import ssl
import subprocess

import httpx
import pytest

from alibaba_signing import AK as ALIBABA_AK, SECRET as ALIBABA_SECRET
from alibaba_sms import send_date as beijing_date
from served import OTPSIM, Served, free_port, run, wait_ready

def test_serve_answers_and_logs_one_line_per_request():
    served = Served()
    try:
        served.wait_for_line(r"serving http://127\.0\.0\.1")
        url = f"http://127.0.0.1:{served.port}"
        assert wait_ready(url).json()["status"] == "ok"
        response = httpx.post(f"{url}/v2/servicerequest/verifycodes/send", json={"contact_value": "1"})
        assert response.json()["error_code"] == "APIGW.0301"
        line = served.wait_for_line(r"osm\.SendVerifyCodes")
        assert "401 APIGW.0301" in line.string
    finally:
        served.stop()


def test_help_explains_every_serve_option():
    assert "serve" in run("--help").stdout
    text = run("serve", "--help").stdout
    for option in ("--host", "--port", "--scenario", "--seed", "--tls"):
        assert option in text


def test_serve_prints_the_page_and_stops_at_once_while_a_page_listens():
    served = Served()
    try:
        page = served.wait_for_line(r"the page .*: (http://\S+)").group(1)
        assert page == f"http://127.0.0.1:{served.port}/__otpsim/"
        wait_ready(f"http://127.0.0.1:{served.port}")
        assert "<title>otpsim</title>" in httpx.get(page).text
        with httpx.stream("GET", f"{page}events", timeout=10) as stream:
            lines = stream.iter_lines()   # kept: a dropped line iterator would close the stream from this side
            assert next(lines).startswith("retry:")
            served.process.send_signal(signal.SIGINT)
            served.process.wait(5)        # TimeoutExpired if the open event stream held the server
    finally:
        served.stop()


def test_serve_tls_prints_a_ca_that_verifies_the_certificate():
    served = Served("--tls")
    try:
        ca = served.wait_for_line(r"CA certificate for clients to trust: (\S+)").group(1)
        assert os.path.exists(ca)
        served.wait_for_line(r"serving https://")
        trust = ssl.create_default_context(cafile=ca)
        health = wait_ready(f"https://127.0.0.1:{served.port}", verify=trust)
        assert health.status_code == 200
        assert httpx.get(f"https://localhost:{served.port}/__otpsim/health", verify=trust).status_code == 200
    finally:
        served.stop()


def test_check_accepts_the_default_scenario_and_refuses_a_typo(tmp_path):
    default = os.path.join(os.path.dirname(__file__), "..", "scenarios", "default.yaml")
    assert run("check", default).returncode == 0
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: t\nrules:\n  - match: {operation: osm.SendVerifyCode}\n    error: OSM.01010024\n")
    result = run("check", str(typo))
    assert result.returncode != 0
    assert "osm.SendVerifyCode" in result.stderr


@pytest.mark.parametrize("bad", ["--port=notanumber", "--nope"])
def test_bad_options_are_refused_with_usage(bad):
    result = run("serve", bad)
    assert result.returncode == 2
    assert "usage" in result.stderr


# --- --listen: a port per product, for the Alibaba products sharing POST / (no proxy, no DNS)

LISTEN_PHONE = "13800000020"


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
        config = dict(access_key_id=ALIBABA_AK, access_key_secret=ALIBABA_SECRET, protocol="http")
        sms = Dysms(Config(endpoint=f"127.0.0.1:{dysms_port}", **config))
        verify = Dypns(Config(endpoint=f"127.0.0.1:{dypns_port}", **config))
        assert sms.send_sms(dysms_models.SendSmsRequest(phone_numbers=LISTEN_PHONE, sign_name="s", template_code="SMS_1",
                                                        template_param='{"code":"2222"}')).body.code == "OK"
        with httpx.Client(base_url=f"http://127.0.0.1:{served.port}") as admin:
            day = beijing_date(admin)
        sms_rows = sms.query_send_details(dysms_models.QuerySendDetailsRequest(
            phone_number=LISTEN_PHONE, send_date=day, page_size=10, current_page=1)).body
        verify_rows = verify.query_send_details(dypns_models.QuerySendDetailsRequest(
            phone_number=LISTEN_PHONE, send_date=day, page_size=10, current_page=1)).body
        assert sms_rows.total_count == 1 and sms_rows.sms_send_detail_dtos.sms_send_detail_dto[0].content.endswith("！")
        assert (verify_rows.success, verify_rows.total_count, verify_rows.model) == (True, 0, [])
    finally:
        served.stop()


@pytest.mark.parametrize("bad", ["dypns", "nope=8081", "dypns=port", "dypns=70000"])
def test_bad_listeners_are_refused(bad):
    result = run("serve", "--port", str(free_port()), "--listen", bad)
    assert result.returncode == 2 and "--listen" in result.stderr


@pytest.mark.parametrize("options, environment, stack", [
    ((), {}, "httptools + uvloop"),                                   # the fast stack by default
    (("--http", "h11", "--loop", "asyncio"), {}, "h11 + asyncio"),
    ((), {"OTPSIM_HTTP": "h11"}, "h11 + uvloop"),
    (("--http", "httptools"), {"OTPSIM_HTTP": "h11"}, "httptools + uvloop"),   # the command line wins
])
def test_serve_runs_on_the_chosen_parser_and_loop_and_says_so(options, environment, stack):
    served = Served(*options, env={**os.environ, **environment})
    try:
        served.wait_for_line(rf"serving http://.*; server: {re.escape(stack)}\)")
        http, loop = stack.split(" + ")
        assert wait_ready(f"http://127.0.0.1:{served.port}").json()["server"] == {"http": http, "loop": loop}
    finally:
        served.stop()


def test_serve_refuses_an_unknown_parser_from_the_environment():
    result = subprocess.run(OTPSIM + ["serve", "--port", str(free_port())], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "OTPSIM_HTTP": "fast"})
    assert result.returncode == 2
    assert "HTTP parser 'fast' is not one of auto, httptools, h11" in result.stderr
