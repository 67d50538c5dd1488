"""uvicorn set up so scenario faults can reach the connection.

ASGI gives an app no socket. uvicorn accepts its own HTTP protocol class in `Config(http=...)`,
so otpsim uses a subclass of the one uvicorn would pick (httptools when installed, else h11)
that hands each request its transport in `scope["extensions"]["otpsim.transport"]`.
"""

import asyncio
import socket

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from simulator.core.pipeline.faults import TRANSPORT_EXTENSION

DEFAULT_READ_TIMEOUT_S = 15.0
READ_TIMEOUT_ATTRIBUTE = "otpsim_read_timeout_s"   # carried on uvicorn's Config to each connection's protocol


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


class TransportInScope(AutoHTTPProtocol):
    """uvicorn's protocol, with the connection's transport in each request's scope and a read
    deadline: a request's head (from the connection's start, or the first byte of a later request)
    and its body once the head is in must each arrive within `read_timeout_s`, or the connection is closed
    (slowloris: a client trickling bytes would otherwise hold a connection, and a file
    descriptor, for ever; uvicorn's keep-alive timeout only covers a connection with no bytes)."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._read_timeout_s = getattr(config, READ_TIMEOUT_ATTRIBUTE, DEFAULT_READ_TIMEOUT_S)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._next_head_awaited = False
        self._raw_transport = None

    def connection_made(self, transport):
        loop = asyncio.get_running_loop()
        super().connection_made(CoalescedWrites(transport, loop))
        app = self.app
        self._raw_transport = transport
        self._await_read(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

        async def with_transport(scope, receive, send):
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = transport
            self._stop_read_deadline()          # the head is in
            if _has_body(scope):
                self._await_read(b"")

            async def receive_in_time():
                message = await receive()
                if not message.get("more_body"):
                    self._stop_read_deadline()   # the body is in
                return message

            try:
                await app(scope, receive_in_time, send)
            finally:
                self._stop_read_deadline()
                # an idle keep-alive connection is uvicorn's to close (timeout_keep_alive); the next
                # request's head is timed from its first byte
                self._next_head_awaited = True

        self.app = with_transport

    def data_received(self, data: bytes):
        if self._next_head_awaited:
            self._next_head_awaited = False
            self._await_read(b"")
        super().data_received(data)

    def _await_read(self, farewell: bytes):
        """Close the connection (after `farewell`, if any) unless the awaited part arrives in time."""
        self._stop_read_deadline()
        transport = self._raw_transport

        def too_slow():
            if farewell and not transport.is_closing():
                transport.write(farewell)
            transport.close()

        self._read_deadline = asyncio.get_running_loop().call_later(self._read_timeout_s, too_slow)

    def _stop_read_deadline(self):
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def connection_lost(self, exc):
        self._stop_read_deadline()
        super().connection_lost(exc)


def _has_body(scope) -> bool:
    for name, value in scope["headers"]:
        if (name == b"content-length" and value.strip() not in (b"", b"0")) or \
                (name == b"transfer-encoding" and b"chunked" in value.lower()):
            return True
    return False


class Server(uvicorn.Server):
    """uvicorn's server, which ends the admin API's event streams as it stops: uvicorn waits for
    every open response before it shuts down, and an open page would hold it forever."""

    async def shutdown(self, sockets=None):
        world = getattr(self.config.app, "world", None)
        if world is not None:
            world.events.close()
        await super().shutdown(sockets)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for `host:port` (port 0: any free one), bound before the server starts so
    a busy port is reported first; also each extra listener of `otpsim serve --listen`."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)   # connections queue from the banner on, before uvicorn has started
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def server_config(app, host: str, port: int, read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
                  **options) -> uvicorn.Config:
    """The uvicorn configuration `otpsim serve` and `simulator.embedded.ThreadServer` run the simulator with."""
    # otpsim reads no client address: uvicorn's X-Forwarded-* middleware would be a layer per request;
    # the Server header is the product's (x-otpsim.response-headers), not uvicorn's
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", "proxy_headers": False,
                "server_header": False, **options}
    config = uvicorn.Config(app, host=host, port=port, http=TransportInScope, **settings)
    setattr(config, READ_TIMEOUT_ATTRIBUTE, read_timeout_s)
    return config
