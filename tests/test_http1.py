"""HTTP/1.1 as a client meets it on the wire, the same on every parser and loop: otpsim's own protocol on
httptools (simulator/core/serving/http1.py) and uvicorn's on h11."""

import asyncio
import json
import socket
import time

import httpx
import pytest

from simulator.embedded import ThreadServer

HEALTH = b"GET /__otpsim/health HTTP/1.1\r\nHost: x\r\n\r\n"


class Wire:
    """A raw client connection that reads answers one by one."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _more(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self, head_only: bool = False) -> tuple[int, dict, bytes]:
        """The next answer: status, headers (lower-case names), body."""
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), f"closed before an answer: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
        status = int(status_line.split()[1])
        if head_only or status in (100, 204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buffer:
                    assert self._more()
                size_line, self.buffer = self.buffer.split(b"\r\n", 1)
                size = int(size_line, 16)
                while len(self.buffer) < size + 2:
                    assert self._more()
                body, self.buffer = body + self.buffer[:size], self.buffer[size + 2:]
                if size == 0:
                    return status, headers, body
        if "content-length" not in headers:   # the body runs to the connection's end
            while self._more():
                pass
            body, self.buffer = self.buffer, b""
            return status, headers, body
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        """Whether the server closes the connection (nothing more comes)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


@pytest.fixture
def wire(live_on):
    connections = []

    def connect() -> Wire:
        connections.append(Wire(live_on.port))
        return connections[-1]

    yield connect
    for connection in connections:
        connection.close()


def test_pipelined_requests_are_answered_in_order(wire):
    connection = wire()
    connection.send(HEALTH + b"GET /__otpsim/clock HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTH)
    first, clock, last = (json.loads(connection.answer()[2]) for _ in range(3))
    assert "server" in first and "server" in last and "mode" in clock


def test_expect_100_continue_gets_continue_before_the_body_is_sent(wire):
    connection = wire()
    body = b'{"mode": "manual"}'
    connection.send(b"POST /__otpsim/clock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    assert connection.answer()[0] == 100
    connection.send(body)
    status, _, answer = connection.answer()
    assert status == 200 and json.loads(answer)["mode"] == "manual"


def test_a_chunked_request_body_is_read_whole(wire):
    connection = wire()
    connection.send(b"POST /__otpsim/clock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n6\r\n{\"mode\r\nc\r\n\": \"manual\"}\r\n0\r\n\r\n")
    status, _, answer = connection.answer()
    assert status == 200 and json.loads(answer)["mode"] == "manual"


def test_http_1_0_is_answered_then_closed(wire):
    connection = wire()
    connection.send(b"GET /__otpsim/health HTTP/1.0\r\n\r\n")
    assert connection.answer()[0] == 200
    assert connection.closed()


def test_connection_close_is_honoured(wire):
    connection = wire()
    connection.send(b"GET /__otpsim/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, _ = connection.answer()
    assert status == 200 and headers["connection"] == "close"
    assert connection.closed()


def test_head_has_the_length_but_no_body(wire):
    connection = wire()
    connection.send(b"HEAD /__otpsim/ HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTH)
    status, headers, _ = connection.answer(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0
    assert connection.answer()[0] == 200     # the next answer starts right after the head


def test_what_does_not_parse_is_a_400_and_the_connection_closes(wire, live_on):
    connection = wire()
    connection.send(b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    assert connection.answer()[0] == 400
    assert connection.closed()
    assert httpx.get(f"{live_on.url}/__otpsim/health").status_code == 200


def test_an_upgrade_is_answered_as_plain_http(wire):
    connection = wire()
    connection.send(b"GET /__otpsim/health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    status, _, body = connection.answer()
    assert status == 200 and "server" in json.loads(body)


def test_a_body_past_the_limit_gets_the_documented_error_and_the_connection_goes_on(wire):
    connection = wire()
    body = b"{" + b" " * (2 << 20) + b"}"     # 2 MiB, twice --max-body
    connection.send(b"POST /v2/servicerequest/verifycodes/send HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    connection.send(body)
    status, _, answer = connection.answer()
    assert json.loads(answer)["error_code"] == "OSM.0001"
    connection.send(HEALTH)
    assert connection.answer()[0] == 200


async def raising_app(scope, receive, send):
    if scope["type"] == "http":
        raise ValueError("broken on purpose")


async def silent_app(scope, receive, send):
    """Returns without answering."""


async def streaming_app(scope, receive, send):
    """An answer without Content-Length, in three parts."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": part != b"three"})


async def injecting_app(scope, receive, send):
    """A header value with a line break in it: a response-splitting attempt."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-note", b"a\r\nx-injected: 1")]})
    await send({"type": "http.response.body", "body": b"never"})


@pytest.mark.parametrize("app", [raising_app, silent_app])
def test_an_app_that_fails_or_answers_nothing_gets_a_500(every_stack, app):
    with ThreadServer(app, stack=every_stack) as server:
        assert httpx.get(server.url).status_code == 500


def test_an_answer_without_a_length_is_sent_chunked(every_stack):
    with ThreadServer(streaming_app, stack=every_stack) as server:
        connection = Wire(server.port)
        try:
            connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = connection.answer()
        finally:
            connection.close()
    assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"one two three")


def test_a_header_with_a_line_break_never_reaches_the_client(every_stack):
    with ThreadServer(injecting_app, stack=every_stack) as server:
        connection = Wire(server.port)
        try:
            connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and connection._more():
                pass
        finally:
            connection.close()
    assert b"x-injected" not in connection.buffer and b"never" not in connection.buffer


async def answers_without_reading(scope, receive, send):
    """Answers a moment after the request starts, never reading its body (as a body past a limit is answered)."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(0.05)   # the body piles up meanwhile, past what the server holds before it stops reading
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def test_a_body_the_answer_did_not_wait_for_is_read_and_dropped(every_stack):
    body = b"x" * (8 << 20)
    with ThreadServer(answers_without_reading, stack=every_stack) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.post("/", content=body).status_code == 413     # the client sends it all, then reads
            assert client.post("/", content=b"small").status_code == 413
