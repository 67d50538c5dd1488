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
    def connection_made(self, transport):
        super().connection_made(CoalescedWrites(transport, asyncio.get_running_loop()))
        app = self.app

        async def with_transport(scope, receive, send):
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = transport
            await app(scope, receive, send)

        self.app = with_transport


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


def server_config(app, host: str, port: int, **options) -> uvicorn.Config:
    """The uvicorn configuration `otpsim serve` and `simulator.embedded.ThreadServer` run the simulator with."""
    # otpsim reads no client address: uvicorn's X-Forwarded-* middleware would be a layer per request;
    # the Server header is the product's (x-otpsim.response-headers), not uvicorn's
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", "proxy_headers": False,
                "server_header": False, **options}
    return uvicorn.Config(app, host=host, port=port, http=TransportInScope, **settings)
