"""Scenario faults on a real 127.0.0.1 socket, as an HTTP client meets them."""

import json
import socket
import ssl
import time

import httpx
import pytest

from simulator.embedded import ThreadServer
from huawei_signing import signed_headers
from simulator.core.serving.tls import make_certificates
from simulator.embedded import EmbeddedOtpsim

SEND = "/v2/servicerequest/verifycodes/send"


def use(live, fault, **rule):
    document = {"name": "faults", "rules": [{"name": "fault", "match": {"operation": "osm.SendVerifyCodes"},
                                             "fault": fault, **rule}]}
    assert httpx.put(f"{live.url}/__otpsim/scenario", json=document).status_code == 200


def send(live, contact="13800000000", timeout=5.0, **client_options):
    raw = json.dumps({"contact_value": contact, "contact_way": 0, "area_code": "86"}).encode()
    headers = signed_headers("POST", SEND, raw, host=f"127.0.0.1:{live.port}")
    with httpx.Client(base_url=live.url, timeout=timeout, **client_options) as client:
        return client.post(SEND, content=raw, headers=headers)


def admin(live, what):
    return httpx.get(f"{live.url}/__otpsim/{what}").json()


def test_connection_reset_is_a_tcp_reset_and_nothing_is_sent(live):
    use(live, "connection_reset")
    with pytest.raises(httpx.ReadError, match="reset"):
        send(live)
    assert admin(live, "outbox") == []
    entry = admin(live, "journal")[0]
    assert (entry["rule"], entry["fault"], entry["status"]) == ("fault", "connection_reset", None)


def test_empty_response_closes_the_connection_without_a_byte(live):
    use(live, "empty_response")
    raw = json.dumps({"contact_value": "1", "contact_way": 0, "area_code": "86"}).encode()
    request = (f"POST {SEND} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(raw)}\r\n\r\n").encode() + raw
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(request)
        assert sock.recv(1024) == b""


def test_a_handled_fault_sends_the_code_and_loses_the_answer(live):
    use(live, {"kind": "empty_response", "handled": True})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        send(live, "13800000007")
    assert [m["to"] for m in admin(live, "outbox")] == ["13800000007"]


def test_malformed_body_keeps_status_and_headers_but_the_json_is_cut(live):
    use(live, "malformed_body", error="OSM.01010024")
    response = send(live)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]
    whole = b'{"error_code":"OSM.01010024","error_msg":"Verify code resend too frequently."}'
    assert response.content == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_timeout_holds_the_connection_then_closes_it(live):
    use(live, {"kind": "timeout", "timeout_s": 1.5})
    with pytest.raises(httpx.ReadTimeout):
        send(live, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        send(live, timeout=5)
    assert 1.3 < time.monotonic() - started < 3
    assert admin(live, "outbox") == []


def test_slow_body_dribbles_the_right_body_over_the_configured_time(live):
    use(live, {"kind": "slow_body", "duration_s": 1, "chunk_bytes": 10}, error="OSM.0004")
    raw = json.dumps({"contact_value": "1", "contact_way": 0, "area_code": "86"}).encode()
    started = time.monotonic()
    arrivals = []
    with httpx.Client(base_url=live.url, timeout=5) as client:
        with client.stream("POST", SEND, content=raw, headers={"content-type": "application/json"}) as response:
            assert response.status_code == 500
            headers_after = time.monotonic() - started
            body = b""
            for chunk in response.iter_raw():
                arrivals.append(time.monotonic() - started)
                body += chunk
    assert json.loads(body) == {"error_code": "OSM.0004", "error_msg": "Internal Server Error"}
    assert headers_after < 0.5
    assert len(arrivals) > 3 and 0.8 < arrivals[-1] < 2.5


def test_faults_work_over_tls_too(sim, tmp_path):
    paths = make_certificates(tmp_path)
    trust = ssl.create_default_context(cafile=str(paths["ca"]))
    with ThreadServer(sim, ssl_certfile=str(paths["cert"]), ssl_keyfile=str(paths["key"])) as live:
        httpx.put(f"{live.url}/__otpsim/scenario", verify=trust, json={"rules": [
            {"match": {"operation": "osm.SendVerifyCodes"}, "fault": "connection_reset"}]})
        # OpenSSL reports a reset under TLS as an unexpected EOF, which httpx calls a protocol error
        with pytest.raises(httpx.RemoteProtocolError):
            send(live, verify=trust)
        assert httpx.get(f"{live.url}/__otpsim/journal", verify=trust).json()[-1]["fault"] == "connection_reset"


def test_the_pytest_plugins_embedded_server_breaks_connections_too():
    scenario = {"name": "empty", "rules": [{"match": {"product": "osm"}, "fault": "empty_response"}]}
    with EmbeddedOtpsim(scenario=scenario) as otpsim:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            httpx.post(f"{otpsim.base_url}{SEND}", json={"contact_value": "1"})
