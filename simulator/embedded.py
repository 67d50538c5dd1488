"""otpsim inside the test process: a real uvicorn server in a thread, on a free 127.0.0.1 port.

    from simulator.embedded import EmbeddedOtpsim

    with EmbeddedOtpsim(scenario="default", tls=True) as otpsim:
        app = MyApp(endpoint=otpsim.base_url, ca_file=otpsim.ca_path)
        ...
        otpsim.outbox.latest("13800000000").code

`ThreadServer` serves any ASGI app the same way, e.g. a test's receiver for voice call events.
"""

import asyncio
import socket
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from simulator.client import OtpsimClient
from simulator.core.compose import parts_with, read_scenario, simulator_from_texts
from simulator.core.serving.admin import AdminSettings
from simulator.core.serving.server import Server, ServerStack, server_config, server_stack

STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# At stop, requests still running are cut after this, and so are TLS connections whose client
# keeps them open without answering the close (an SDK's pooled session): the test is over.
GRACE_S = 0.25


class ThreadServer:
    """An ASGI app served by uvicorn from a daemon thread; stop() frees the thread and the port.

    The listening socket is bound here, before the thread starts, so the port cannot be taken
    by anyone else between choosing and serving it (parallel test workers). `stack` is the HTTP
    parser and event loop, as `otpsim serve` chooses them by default (`server_stack()`).
    """

    def __init__(self, app, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
                 stack: ServerStack | None = None):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        scheme = "https" if ssl_certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.stack = stack or server_stack()
        # the fault-capable server of `otpsim serve`, so scenario connection faults work here too
        config = server_config(app, "127.0.0.1", self.port, self.stack, log_config=None,
                               timeout_graceful_shutdown=GRACE_S, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
        self._server = Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"otpsim-server-{self.port}", daemon=True)

    def start(self) -> "ThreadServer":
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.002)
        return self

    def stop(self):
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():   # a request that would not finish: cut it
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> "ThreadServer":
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def as_list(scenario) -> list:
    if scenario is None:
        return []
    return list(scenario) if isinstance(scenario, (list, tuple)) else [scenario]


class EmbeddedOtpsim(OtpsimClient):
    """A simulator of its own, served from this process, and the admin client for it.

    `scenario`: None (the packaged default), or one source or a list merged in order over the
    default; a source is a dict, a path (relative to `base_dir`), a packaged scenario's name or YAML
    text. `seed` fixes codes, ids, fault decisions and delays (default: the scenario's, else 0).
    `tls` serves HTTPS; `ca_path` is then the CA file a client should trust. `products`: folders
    (relative to `base_dir`) of more products to serve beside the packaged ones, each a spec
    `NAME.yaml` and a module `NAME.py`; one that does not fit raises SpecError naming the file and
    the clash. `admin_token` locks the admin API as `otpsim serve --admin-token` does (this client
    sends it).
    """

    def __init__(self, scenario=None, seed: int | None = None, tls: bool = False, base_dir=None, products=(),
                 admin_token: str | None = None):
        sources = [read_scenario(source, base_dir) for source in as_list(scenario)]
        folders = tuple(Path(base_dir or ".", folder).resolve() for folder in as_list(products))
        self.simulator = simulator_from_texts(sources, seed, parts=parts_with(folders),
                                              admin=AdminSettings(token=admin_token))
        self._admin_token = admin_token
        self.ca_path: Path | None = None
        self._tls = tls
        self._cleanup = ExitStack()
        self._server: ThreadServer | None = None

    def start(self) -> "EmbeddedOtpsim":
        with ExitStack() as cleanup:
            ssl_files = {}
            if self._tls:
                from simulator.core.serving.tls import make_certificates

                directory = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="otpsim-tls-"))
                paths = make_certificates(Path(directory))
                ssl_files = {"ssl_certfile": str(paths["cert"]), "ssl_keyfile": str(paths["key"])}
                self.ca_path = paths["ca"]
            self._server = cleanup.enter_context(ThreadServer(self.simulator, **ssl_files))
            super().__init__(self._server.url, verify=self.ca_path or True, trust_env=False,
                             admin_token=self._admin_token or "")
            cleanup.callback(self.close)
            self._cleanup = cleanup.pop_all()
        return self

    def stop(self):
        """Stop serving; the thread, the port and the certificate files are gone when it returns."""
        self._cleanup.close()

    @property
    def port(self) -> int:
        return self._server.port

    def run(self, work, timeout: float = 30):
        """The result of coroutine `work`, run on the server's event loop (where the world lives)."""
        return asyncio.run_coroutine_threadsafe(work, self.simulator.loop).result(timeout)

    def __enter__(self) -> "EmbeddedOtpsim":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = self.base_url if self._server else "not started"
        return f"<EmbeddedOtpsim {state} scenario={self.simulator.world.scenario.name!r}>"
