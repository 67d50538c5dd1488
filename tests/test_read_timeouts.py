"""Issue 15: a client that trickles its request (slowloris) is cut off after the read timeout, and the
server keeps answering everyone else meanwhile."""

import socket
import time

import httpx
import pytest
import uvicorn

from hardening import assert_still_serving, state_before
from simulator.core.serving.server import server_config
from simulator.embedded import ThreadServer

READ_TIMEOUT_S = 1.0


@pytest.fixture
def served(sim, monkeypatch, every_stack):
    # ThreadServer on each parser and loop, the read timeout shortened so the test waits one second, not fifteen
    monkeypatch.setattr("simulator.embedded.server_config",
                        lambda *args, **options: server_config(*args, read_timeout_s=READ_TIMEOUT_S, **options))
    with ThreadServer(sim, stack=every_stack) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        host = f"127.0.0.1:{server.port}"
        yield server, client, state_before(client, host), host


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within `seconds`."""
    connection.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if connection.recv(4096) == b"":
                return True
        except socket.timeout:
            pass
        except ConnectionResetError:
            return True
        try:
            connection.sendall(b"X")   # one more byte, as slowloris sends
        except OSError:
            return True
    return False


@pytest.mark.parametrize("trickle", [
    b"POST /v2/servicerequest/verifycodes/send HTTP/1.1\r\nHost: x\r\n",                     # a head never finished
    b"POST /v2/servicerequest/verifycodes/send HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n{",   # a body never finished
    b"GET /__otpsim/health HTTP/1.1\r\nHost: x\r\n\r\nGET /__otpsim/health HTTP/1.1\r\n",       # a second head, after a first request
])
def test_a_trickled_request_is_cut_off_and_others_are_served(served, trickle):
    server, client, code, host = served
    connections = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(10)]
    try:
        for connection in connections:
            connection.sendall(trickle)
        assert_still_serving(client, code, host)            # served while the trickles hang on
        assert all(closed_within(connection, READ_TIMEOUT_S + 20) for connection in connections)   # a bound, not a speed test
    finally:
        for connection in connections:
            connection.close()
    assert_still_serving(client, code, host)


def test_a_long_poll_without_a_body_is_not_cut_off(served):
    server, client, code, host = served
    waited = client.get("/__otpsim/outbox/wait", params={"to": "nobody", "timeout": READ_TIMEOUT_S * 2})
    assert waited.status_code == 408      # otpsim's own answer after the poll, not a closed connection


def test_an_idle_keep_alive_connection_is_kept_past_the_read_timeout(served):
    server, client, code, host = served
    health = b"GET /__otpsim/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(health)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(READ_TIMEOUT_S * 2)      # idle, within the keep-alive timeout (5 s): no read deadline runs
        connection.sendall(health)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    assert_still_serving(client, code, host)
