"""Shared fixtures: a fresh simulator per test, in-process or on a real 127.0.0.1 socket, and what the
voice tests share (a push receiver, a frozen clock)."""

import pytest
from starlette.testclient import TestClient

from simulator.core.compose import create_simulator
from simulator.core.serving.server import LOOPS, PARSERS, ServerStack, server_stack
from simulator.embedded import ThreadServer
from voice_helpers import Receiver, b64, freeze_clock, verify_body

pytest_plugins = ["redis_server"]   # the `redis_server` fixture: a real redis-server for the shared store


@pytest.fixture
def sim():
    return create_simulator()


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
