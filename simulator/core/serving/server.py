"""uvicorn set up so scenario faults can reach the connection, on the fast stack when installed.

ASGI gives an app no socket. uvicorn accepts its own HTTP protocol class in `Config(http=...)`,
so otpsim serves with a subclass of uvicorn's protocol for the chosen parser (httptools or h11)
that hands each request its transport in `scope["extensions"]["otpsim.transport"]`, and the
stack it runs on in `scope["extensions"]["otpsim.server"]` (shown by /__otpsim/health).
"""

import asyncio
import functools
import importlib.util
import socket
from typing import NamedTuple

import uvicorn

from simulator.core.pipeline.faults import TRANSPORT_EXTENSION

SERVER_EXTENSION = "otpsim.server"
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


class TransportInScope:
    """Mixed into uvicorn's protocol of either parser (`protocol_class`)."""

    stack: ServerStack

    def connection_made(self, transport):
        super().connection_made(CoalescedWrites(transport, asyncio.get_running_loop()))
        app = self.app
        stack = self.stack

        async def with_transport(scope, receive, send):
            extensions = scope.setdefault("extensions", {})
            extensions[TRANSPORT_EXTENSION] = transport
            extensions[SERVER_EXTENSION] = stack
            await app(scope, receive, send)

        self.app = with_transport


@functools.cache
def protocol_class(stack: ServerStack) -> type:
    """uvicorn's HTTP protocol for `stack.http`, with TransportInScope mixed in."""
    if stack.http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as parser_protocol
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as parser_protocol
    return type(f"FaultCapable{parser_protocol.__name__}", (TransportInScope, parser_protocol), {"stack": stack})


class Server(uvicorn.Server):
    """uvicorn's server, which ends the admin API's event streams as it stops: uvicorn waits for
    every open response before it shuts down, and an open page would hold it forever."""

    async def shutdown(self, sockets=None):
        world = getattr(self.config.app, "world", None)
        if world is not None:
            world.events.close()
        await super().shutdown(sockets)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for one more listener of the same server (`otpsim serve --listen`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def server_config(app, host: str, port: int, stack: ServerStack | None = None, **options) -> uvicorn.Config:
    """The uvicorn configuration `otpsim serve` and `simulator.embedded.ThreadServer` run the simulator
    with, on `stack` (default: `server_stack()`, the fastest installed)."""
    stack = stack or server_stack()
    # otpsim reads no client address: uvicorn's X-Forwarded-* middleware would be a layer per request;
    # the Server header is the product's (x-otpsim.response-headers), not uvicorn's
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", "proxy_headers": False,
                "server_header": False, **options}
    return uvicorn.Config(app, host=host, port=port, http=protocol_class(stack), loop=stack.loop, **settings)
