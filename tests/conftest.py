"""Shared fixtures: a fresh simulator per test, in-process or on a real 127.0.0.1 socket, and what the
voice tests share (a push receiver, a frozen clock)."""

import os
import tempfile
import uuid

import pytest
from starlette.testclient import TestClient

from simulator.core.compose import create_simulator
from simulator.core.serving.server import LOOPS, PARSERS, ServerStack, server_stack
from simulator.embedded import ThreadServer
from voice_helpers import Receiver, b64, freeze_clock, verify_body

pytest_plugins = ["redis_server"]   # the `redis_server` fixture: a real redis-server for the shared store


STORES = ("memory", "redis")

# start-up work kept between runs goes to a folder of the tests' own, not the user's ~/.cache
os.environ.setdefault("OTPSIM_CACHE_DIR", os.path.join(tempfile.gettempdir(), "otpsim-tests-cache"))


def pytest_configure(config):
    config.addinivalue_line("markers", "both_stores: the module's `sim` runs once in memory and once on Redis")


def pytest_generate_tests(metafunc):
    """In a module marked both_stores, every test of a simulator runs on each store, same assertions."""
    if "sim" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store", STORES)


@pytest.fixture
def store():
    return "memory"


@pytest.fixture
def sim(request, store):
    """A fresh simulator; on Redis, a world of the test's own in the session's redis-server."""
    if store == "memory":
        return create_simulator()
    from simulator.core.world.redis_backend import RedisBackend

    url = request.getfixturevalue("redis_server").url
    return create_simulator(backend=RedisBackend(url, f"t-{uuid.uuid4().hex}"))


@pytest.fixture
def client(sim):
    with TestClient(sim, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


@pytest.fixture
def live(sim):
    """The simulator on a real socket, as `otpsim serve` runs it (faults included); `live.url` is its base URL."""
    with ThreadServer(sim) as server:
        yield server


@pytest.fixture(params=[ServerStack(http, loop) for http in PARSERS for loop in LOOPS], ids=str)
def every_stack(request) -> ServerStack:
    """Each HTTP parser on each event loop `otpsim serve --http/--loop` can choose."""
    try:
        return server_stack(*request.param)
    except ValueError as missing:   # only where the fast stack does not install (not CPython, Windows)
        pytest.skip(str(missing))


@pytest.fixture
def live_on(sim, every_stack):
    """`live`, once on each server stack."""
    with ThreadServer(sim, stack=every_stack) as server:
        yield server


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that records the pushes it gets."""
    with Receiver() as server:
        yield server


@pytest.fixture
def world(client, receiver):
    """Voice: a frozen clock at T0 and a CallVerify body builder whose pushes go to the receiver."""
    freeze_clock(client)

    def body(callee="+8613800000001", **fields):
        urls = {"statusUrl": b64(f"{receiver.url}/status"), "feeUrl": b64(f"{receiver.url}/fee")}
        return verify_body(callee, **{**urls, **fields})
    return body


@pytest.fixture
def sdk_config(live):
    """Config of an official SDK client for `product`, through otpsim as its HTTP proxy: the request keeps
    the vendor Host (no DNS, no endpoint change), which tells dysms from dypns."""
    from alibabacloud_tea_openapi.models import Config

    from alibaba_signing import AK, SECRET
    from alibaba_sms import HOSTS

    def make(product: str, secret=SECRET, **options):
        return Config(access_key_id=AK, access_key_secret=secret, endpoint=HOSTS[product], protocol="http",
                      http_proxy=live.url, **options)
    return make
