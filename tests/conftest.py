"""Shared fixtures: a fresh simulator per test, in-process or on a real 127.0.0.1 socket."""

import socket
import threading
import time

import pytest
import uvicorn
from starlette.testclient import TestClient

from simulator.core.compose import create_simulator
from simulator.core.serving.server import server_config


@pytest.fixture
def sim():
    return create_simulator()


@pytest.fixture
def client(sim):
    with TestClient(sim, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """uvicorn in a thread on a free port, as `otpsim serve` runs it (faults included); `url` is its base URL."""

    def __init__(self, app, **options):
        self.port = free_port()
        self.config = server_config(app, "127.0.0.1", self.port, **options)
        self.server = uvicorn.Server(self.config)
        scheme = "https" if options.get("ssl_certfile") else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(sim):
    with LiveServer(sim) as server:
        yield server
