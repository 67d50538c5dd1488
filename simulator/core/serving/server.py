"""uvicorn set up so scenario faults can reach the connection, on the fast stack when installed.

ASGI gives an app no socket. uvicorn accepts its own HTTP protocol class in `Config(http=...)`, so
otpsim serves with a protocol that hands each request its transport in
`scope["extensions"]["otpsim.transport"]`, and the stack it runs on in
`scope["extensions"]["otpsim.server"]` (shown by /__otpsim/health), and closes a connection whose
request head or body does not arrive within the read timeout: otpsim's own on httptools
(http1.py), uvicorn's with those additions mixed in on h11.
"""

import asyncio
import functools
import importlib.util
import socket
from typing import NamedTuple

import uvicorn

from simulator.core.pipeline.faults import TRANSPORT_EXTENSION
from simulator.core.serving.collector import YoungCollections
from simulator.core.serving.http1 import (DEFAULT_READ_TIMEOUT_S, READ_TIMEOUT_ATTRIBUTE, REQUEST_TIMEOUT,
                                          SERVER_EXTENSION, CoalescedWrites, HttpToolsConnection, ReadDeadline)

# each choice, fastest first, named as its module and package: "auto" is the first installed
PARSERS = ("httptools", "h11")
LOOPS = ("uvloop", "asyncio")


class ServerStack(NamedTuple):
    """The HTTP parser and event loop a server runs on."""
    http: str
    loop: str

    def __str__(self):
        return f"{self.http} + {self.loop}"

    def as_dict(self) -> dict:
        return self._asdict()


def _choose(kind: str, choices: tuple[str, ...], wanted: str) -> str:
    installed = [name for name in choices if importlib.util.find_spec(name) is not None]
    if wanted == "auto":
        return installed[0]
    if wanted not in choices:
        raise ValueError(f"{kind} {wanted!r} is not one of auto, {', '.join(choices)}")
    if wanted not in installed:
        raise ValueError(f"{kind} {wanted} needs the {wanted} package, which is not installed (pip install {wanted})")
    return wanted


def server_stack(http: str = "auto", loop: str = "auto") -> ServerStack:
    """The stack `http` and `loop` name ("auto": httptools and uvloop where installed, else h11 and
    asyncio); ValueError names a choice that is unknown or not installed."""
    return ServerStack(_choose("HTTP parser", PARSERS, http), _choose("event loop", LOOPS, loop))


class TransportInScope:
    """Mixed into uvicorn's h11 protocol (`protocol_class`), to give it what the httptools protocol
    (http1.py) has: the connection's transport and the server stack in each request's scope, and a
    read deadline: a request's head (from the connection's start, or the first byte of a later
    request) and its body once the head is in must each arrive within `read_timeout_s`, or the
    connection is closed (slowloris: a client trickling bytes would otherwise hold a connection, and
    a file descriptor, for ever; uvicorn's keep-alive timeout only covers a connection with no bytes)."""

    stack: ServerStack

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._read_timeout_s = getattr(config, READ_TIMEOUT_ATTRIBUTE, DEFAULT_READ_TIMEOUT_S)
        self._deadline: ReadDeadline | None = None
        self._next_head_awaited = False

    def connection_made(self, transport):
        loop = asyncio.get_running_loop()
        super().connection_made(CoalescedWrites(transport, loop))
        app = self.app
        stack = self.stack
        deadline = self._deadline = ReadDeadline(loop, transport)
        deadline.expect(self._read_timeout_s, REQUEST_TIMEOUT)

        async def with_transport(scope, receive, send):
            extensions = scope.setdefault("extensions", {})
            extensions[TRANSPORT_EXTENSION] = transport
            extensions[SERVER_EXTENSION] = stack
            deadline.stop()          # the head is in
            if _has_body(scope):
                deadline.expect(self._read_timeout_s)

            async def receive_in_time():
                message = await receive()
                if not message.get("more_body"):
                    deadline.stop()   # the body is in
                return message

            try:
                await app(scope, receive_in_time, send)
            finally:
                deadline.stop()
                # an idle keep-alive connection is uvicorn's to close (timeout_keep_alive); the next
                # request's head is timed from its first byte
                self._next_head_awaited = True

        self.app = with_transport

    def data_received(self, data: bytes):
        if self._next_head_awaited:
            self._next_head_awaited = False
            self._deadline.expect(self._read_timeout_s)
        super().data_received(data)

    def connection_lost(self, exc):
        self._deadline.cancel()
        super().connection_lost(exc)


def _has_body(scope) -> bool:
    for name, value in scope["headers"]:
        if (name == b"content-length" and value.strip() not in (b"", b"0")) or \
                (name == b"transfer-encoding" and b"chunked" in value.lower()):
            return True
    return False


@functools.cache
def protocol_class(stack: ServerStack) -> type:
    """The HTTP protocol uvicorn serves `stack` with: otpsim's own on httptools, uvicorn's h11 one
    with TransportInScope mixed in."""
    if stack.http == "httptools":
        return type("OtpsimHttpToolsConnection", (HttpToolsConnection,), {"stack": stack})
    from uvicorn.protocols.http.h11_impl import H11Protocol
    return type("FaultCapableH11Protocol", (TransportInScope, H11Protocol), {"stack": stack})


class Server(uvicorn.Server):
    """uvicorn's server, which ends the admin API's event streams as it stops: uvicorn waits for
    every open response before it shuts down, and an open page would hold it forever. With
    `young_collections` (`otpsim serve`, not a server embedded in someone's process) it runs them
    while it serves."""

    def __init__(self, config: uvicorn.Config, young_collections: YoungCollections | None = None):
        super().__init__(config)
        self.young_collections = young_collections

    async def startup(self, sockets=None):
        await super().startup(sockets)
        if self.young_collections is not None:
            self.young_collections.start()

    async def shutdown(self, sockets=None):
        if self.young_collections is not None:
            self.young_collections.stop()
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


def server_config(app, host: str, port: int, stack: ServerStack | None = None,
                  read_timeout_s: float = DEFAULT_READ_TIMEOUT_S, **options) -> uvicorn.Config:
    """The uvicorn configuration `otpsim serve` and `simulator.embedded.ThreadServer` run the simulator
    with, on `stack` (default: `server_stack()`, the fastest installed)."""
    stack = stack or server_stack()
    # otpsim reads no client address: uvicorn's X-Forwarded-* middleware would be a layer per request;
    # the Server header is the product's (x-otpsim.response-headers), not uvicorn's
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", "proxy_headers": False,
                "server_header": False, **options}
    config = uvicorn.Config(app, host=host, port=port, http=protocol_class(stack), loop=stack.loop, **settings)
    setattr(config, READ_TIMEOUT_ATTRIBUTE, read_timeout_s)
    return config
