"""otpsim's HTTP/1.1 server protocol on the httptools parser.

It does for an ASGI app what uvicorn's httptools protocol does (keep-alive, pipelining in order,
request bodies streamed with flow control, `Expect: 100-continue`, chunked answers, HTTP/1.0, a
400 for what does not parse, graceful shutdown), with less work per request: a read deadline that is
one timer per connection, moved by assignment; the answer written once, at the end of the loop step
that made it; and the header checks of one answer in one pass (why: docs/performance.md, The server
stack). uvicorn still runs the server around it: sockets, TLS, workers, lifespan, signals.

Each request's scope carries the connection's transport and the server stack
(`scope["extensions"]`), so connection faults can break the connection and /__otpsim/health can say
what serves. The h11 fallback is uvicorn's own protocol with the same additions (server.py).
"""

import asyncio
import http
import logging
import re
from collections import deque
from urllib.parse import unquote

import httptools

from simulator.core.pipeline.faults import TRANSPORT_EXTENSION

log = logging.getLogger("uvicorn.error")

SERVER_EXTENSION = "otpsim.server"
DEFAULT_READ_TIMEOUT_S = 15.0
READ_TIMEOUT_ATTRIBUTE = "otpsim_read_timeout_s"   # carried on uvicorn's Config to each connection's protocol

HIGH_WATER = 1 << 16   # request body bytes held before the connection stops reading
DISCONNECT = {"type": "http.disconnect"}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_INVALID = b"Invalid HTTP request received."
BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
               + str(len(_INVALID)).encode() + b"\r\nconnection: close\r\n\r\n" + _INVALID)
_SERVER_ERROR = b"Internal Server Error"
SERVER_ERROR = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
                + str(len(_SERVER_ERROR)).encode() + b"\r\nconnection: close\r\n\r\n" + _SERVER_ERROR)
# a name is a token; a value has no control character but tab (RFC 9110 §5.1, §5.5)
INVALID_NAME = re.compile(rb'[\x00-\x1f\x7f()<>@,;:\\"/\[\]?={} \t]')
INVALID_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
NO_BODY_STATUSES = frozenset({204, 304})


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


class CoalescedWrites:
    """A connection's transport whose writes of one loop step go out as one (why: docs/performance.md,
    Shaped for speed)."""

    def __init__(self, transport, loop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes):
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self):
        data, self._pending = b"".join(self._pending), []
        if data and not self._transport.is_closing():
            self._transport.write(data)

    def close(self):
        self._flush()
        self._transport.close()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class ReadDeadline:
    """When the client must have sent what the connection waits for, and what it is told if not.

    One timer per connection, re-armed only when it fires or when the deadline moves earlier, so
    moving the deadline on every request is an assignment, not a timer made and cancelled."""

    def __init__(self, loop, transport):
        self._loop = loop
        self._transport = transport
        self._at: float | None = None
        self._farewell = b""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def expect(self, seconds: float, farewell: bytes = b""):
        """Close the connection, after `farewell` if any, unless stopped within `seconds`."""
        self._at = at = self._loop.time() + seconds
        self._farewell = farewell
        if self._timer is None or at < self._timer_at:
            self._arm(at)

    def stop(self):
        self._at = None

    def cancel(self):
        self._at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, at: float):
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(at, self._check), at

    def _check(self):
        self._timer = None
        if self._at is None:
            return
        if self._loop.time() < self._at:
            self._arm(self._at)
            return
        self._at = None
        transport = self._transport
        if self._farewell and not transport.is_closing():
            transport.write(self._farewell)
        transport.close()


class Exchange:
    """One request and its answer: the request's ASGI `receive` and `send`."""

    __slots__ = ("connection", "scope", "keep_alive", "awaiting_continue", "body", "body_size", "complete",
                 "delivered", "waiter", "disconnected", "started", "finished", "chunked", "remaining",
                 "bodiless")

    def __init__(self, connection: "HttpToolsConnection", scope: dict, keep_alive: bool, expect_continue: bool):
        self.connection = connection
        self.scope = scope
        self.keep_alive = keep_alive
        self.awaiting_continue = expect_continue
        self.body: list[bytes] = []
        self.body_size = 0
        self.complete = False      # the whole request body is in
        self.delivered = False     # ... and handed to the app
        self.waiter: asyncio.Future | None = None
        self.disconnected = False
        self.started = False
        self.finished = False
        self.chunked = False
        self.remaining: int | None = None   # Content-Length not yet sent
        self.bodiless = scope["method"] == "HEAD"

    def wake(self):
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def receive(self) -> dict:
        connection = self.connection
        if self.awaiting_continue:
            self.awaiting_continue = False
            if not self.complete and not connection.transport.is_closing():
                connection.transport.write(CONTINUE)
        while True:
            if self.disconnected or self.finished:
                return DISCONNECT
            if self.body or (self.complete and not self.delivered):
                body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
                self.body, self.body_size = [], 0
                self.delivered = self.complete
                connection.resume_reading()
                return {"type": "http.request", "body": body, "more_body": not self.complete}
            connection.resume_reading()
            waiter = self.waiter
            if waiter is None:   # one future however many wait (an event stream also listens for the disconnect)
                waiter = self.waiter = connection.loop.create_future()
            await waiter

    async def send(self, message: dict):
        connection = self.connection
        if connection.write_paused is not None and not self.disconnected:
            await connection.write_paused
        if self.disconnected:
            return
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got {kind!r}")
            self._start(message["status"], message.get("headers", ()))
            return
        if kind != "http.response.body":
            raise RuntimeError(f"Expected ASGI message 'http.response.body', but got {kind!r}")
        if self.finished:
            raise RuntimeError("Unexpected ASGI message sent after the response completed")
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if self.bodiless:
            data = b""
        elif self.chunked:
            data = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more:
                data += b"0\r\n\r\n"
        else:
            data = body
            if self.remaining is not None:
                self.remaining -= len(body)
                if self.remaining < 0:
                    raise RuntimeError("Response content longer than Content-Length")
        if data:
            connection.transport.write(data)
        if not more:
            if self.remaining and not self.bodiless:
                raise RuntimeError("Response content shorter than Content-Length")
            self.finished = True
            self.wake()
            connection.answered(self)

    def _start(self, status: int, headers):
        lines = [STATUS_LINES[status]]
        length = None
        close_said = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
            elif name == b"connection" and b"close" in value.lower():
                self.keep_alive = False
                close_said = True
            lines += (name, b": ", value, b"\r\n")
        # every name and value checked in one pass each: a scenario's `respond` headers are the client's to give
        if INVALID_NAME.search(b"".join(lines[1::4])) or INVALID_VALUE.search(b"\t".join(lines[3::4])):
            raise RuntimeError("Invalid HTTP header name or value")   # nothing sent: the client gets a 500
        self.started = True
        self.awaiting_continue = False
        if not self.keep_alive and not close_said:
            lines.append(b"connection: close\r\n")
        if status in NO_BODY_STATUSES:
            self.bodiless = True
        elif length is None and not self.chunked and not self.bodiless:
            self.chunked = True
            lines.append(b"transfer-encoding: chunked\r\n")
        self.remaining = None if self.chunked else length
        lines.append(b"\r\n")
        self.connection.transport.write(b"".join(lines))


class HttpToolsConnection(asyncio.Protocol):
    """One client connection: parsed with httptools, each request answered by the ASGI app in turn.
    uvicorn makes one per connection (`Config(http=...)`); `protocol_class` in server.py names the
    stack it serves on."""

    stack = None   # the ServerStack, set by server.protocol_class

    def __init__(self, config, server_state, app_state, _loop=None):
        if not config.loaded:
            config.load()
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.app_state = app_state
        self.root_path = config.root_path
        self.asgi = {"version": config.asgi_version, "spec_version": "2.3"}
        self.keep_alive_s = config.timeout_keep_alive
        self.read_timeout_s = getattr(config, READ_TIMEOUT_ATTRIBUTE, DEFAULT_READ_TIMEOUT_S)
        self.parser = httptools.HttpRequestParser(self)
        # answer the first of pipelined requests even when it asks to close the connection
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport = self.raw_transport = None
        self.deadline: ReadDeadline | None = None
        self.answering: Exchange | None = None    # the request whose answer is being made
        self.receiving: Exchange | None = None    # the request whose body is arriving
        self.waiting: deque[Exchange] = deque()   # pipelined requests, in order
        self.write_paused: asyncio.Future | None = None
        self.reading = True
        self.server = self.client = None
        self.scheme = "http"
        # the request being parsed
        self.parsing = False
        self.url = b""
        self.headers: list = []
        self.expect_continue = False

    # asyncio.Protocol

    def connection_made(self, transport):
        self.server_state.connections.add(self)
        self.raw_transport = transport   # for connection faults, which reset or abort it
        # what one step of the loop writes (an answer's head and body) goes out in one write at its end
        self.transport = transport = CoalescedWrites(transport, self.loop)
        self.deadline = ReadDeadline(self.loop, transport)
        self.deadline.expect(self.read_timeout_s, REQUEST_TIMEOUT)   # the first head, from the connection's start
        self.server = _address(transport.get_extra_info("sockname"))
        self.client = _address(transport.get_extra_info("peername"))
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"

    def connection_lost(self, exc):
        self.server_state.connections.discard(self)
        self.deadline.cancel()
        for exchange in (self.answering, self.receiving, *self.waiting):
            if exchange is not None:
                exchange.disconnected = True
                exchange.wake()
        self.waiting.clear()
        self.resume_writing()

    def eof_received(self):
        return None   # the transport closes

    def data_received(self, data: bytes):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # otpsim speaks no upgraded protocol: the request is answered as plain HTTP, then the connection closes
            if self.receiving is not None:
                self.receiving.keep_alive = False
        except httptools.HttpParserError:
            log.warning("Invalid HTTP request received.")
            if not self.transport.is_closing():
                self.transport.write(BAD_REQUEST)
                self.transport.close()

    def pause_writing(self):
        if self.write_paused is None:
            self.write_paused = self.loop.create_future()

    def resume_writing(self):
        paused, self.write_paused = self.write_paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    # httptools' callbacks

    def on_message_begin(self):
        self.parsing = True
        self.url = b""
        self.headers = []
        self.expect_continue = False
        self.deadline.expect(self.read_timeout_s, REQUEST_TIMEOUT)   # the head, from its first byte

    def on_url(self, url: bytes):
        self.url += url

    def on_header(self, name: bytes, value: bytes):
        name = name.lower()
        value = value.rstrip(b" \t")   # llhttp keeps trailing whitespace, which is not part of the value
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self):
        parser = self.parser
        version = parser.get_http_version()
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        scope = {
            "type": "http", "asgi": self.asgi, "http_version": version, "server": self.server,
            "client": self.client, "scheme": self.scheme, "method": parser.get_method().decode("ascii"),
            "root_path": self.root_path, "path": self.root_path + path,
            "raw_path": self.root_path.encode("ascii") + raw_path, "query_string": parsed.query or b"",
            "headers": self.headers,
            "extensions": {TRANSPORT_EXTENSION: self.raw_transport, SERVER_EXTENSION: self.stack},
        }
        if self.app_state:
            scope["state"] = self.app_state.copy()
        exchange = Exchange(self, scope, version != "1.0" and parser.should_keep_alive(), self.expect_continue)
        self.receiving = exchange
        self.deadline.expect(self.read_timeout_s)   # the body, if any
        if self.answering is None:
            self._answer(exchange)
        else:
            self.waiting.append(exchange)
            self.pause_reading()

    def on_body(self, body: bytes):
        exchange = self.receiving
        if exchange.finished:
            return   # answered before its body was read (too large, say): the rest is dropped
        exchange.body.append(body)
        exchange.body_size += len(body)
        if exchange.body_size > HIGH_WATER:
            self.pause_reading()
        exchange.wake()

    def on_message_complete(self):
        self.parsing = False
        self.deadline.stop()
        exchange = self.receiving
        exchange.complete = True
        exchange.wake()

    # requests and answers

    def _answer(self, exchange: Exchange):
        self.answering = exchange
        task = self.loop.create_task(self._run(exchange))
        tasks = self.server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _run(self, exchange: Exchange):
        try:
            await self.app(exchange.scope, exchange.receive, exchange.send)
        except BaseException as error:
            log.error("Exception in ASGI application\n", exc_info=error)
            self._failed(exchange)
        else:
            if not exchange.finished and not exchange.disconnected:
                log.error("ASGI callable returned without %s response.",
                          "completing" if exchange.started else "starting")
                self._failed(exchange)

    def _failed(self, exchange: Exchange):
        """A 500 when nothing was sent yet, else the connection closed: the client must not wait."""
        if not exchange.started and not exchange.disconnected and not self.transport.is_closing():
            self.transport.write(SERVER_ERROR)
        exchange.finished = exchange.disconnected = True
        self.transport.close()

    def answered(self, exchange: Exchange):
        """`exchange`'s answer is sent: close, or go on with the next request."""
        self.server_state.total_requests += 1
        if not exchange.keep_alive:
            self.transport.close()   # after what is still to be written
            return
        self.answering = None
        # reading again: a body the answer did not wait for (one past the limit) is read and dropped
        self.resume_reading()
        if self.waiting:
            self._answer(self.waiting.popleft())
        elif not self.parsing:
            self.deadline.expect(self.keep_alive_s)   # idle until the next request's first byte

    def pause_reading(self):
        if self.reading:
            self.reading = False
            self.transport.pause_reading()

    def resume_reading(self):
        if not self.reading:
            self.reading = True
            self.transport.resume_reading()

    def shutdown(self):
        """The server is stopping: close now when idle, else after the answer being made."""
        if self.answering is None:
            self.transport.close()
        else:
            self.answering.keep_alive = False


def _address(address):
    return tuple(address[:2]) if isinstance(address, (tuple, list)) else None
