"""uvicorn set up so scenario faults can reach the connection.

ASGI gives an app no socket. uvicorn accepts its own HTTP protocol class in `Config(http=...)`,
so otpsim uses a subclass of the one uvicorn would pick (httptools when installed, else h11)
that hands each request its transport in `scope["extensions"]["otpsim.transport"]`.
"""

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .faults import TRANSPORT_EXTENSION


class TransportInScope(AutoHTTPProtocol):
    def connection_made(self, transport):
        super().connection_made(transport)
        app = self.app

        async def with_transport(scope, receive, send):
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = transport
            await app(scope, receive, send)

        self.app = with_transport


def server_config(app, host: str, port: int, **options) -> uvicorn.Config:
    """The uvicorn configuration `otpsim serve` and the tests' LiveServer run the simulator with."""
    settings = {"log_level": "warning", "access_log": False, "lifespan": "on", **options}
    return uvicorn.Config(app, host=host, port=port, http=TransportInScope, **settings)
