"""The HTTP parser and event loop otpsim is served on: the fast stack by default everywhere (`otpsim
serve`, the embedded server, the pytest fixture), either parser on either loop on request, and what
runs is what health says."""

import asyncio
import gc

import httpx
import pytest

from simulator.core.pipeline.faults import TRANSPORT_EXTENSION
from simulator.core.serving.collector import YoungCollections
from simulator.core.serving.server import ServerStack, server_stack
from simulator.embedded import EmbeddedOtpsim, ThreadServer

FAST = {"http": "httptools", "loop": "uvloop"}


def test_the_fast_stack_is_the_default_where_it_is_installed():
    # uvloop and httptools are dependencies of otpsim where they install, as here
    assert server_stack().as_dict() == FAST


def test_the_embedded_server_and_the_pytest_fixture_run_on_the_default_stack(otpsim):
    assert otpsim.health().server == FAST
    with EmbeddedOtpsim() as embedded:
        assert embedded.health().server == FAST


async def report_what_serves(scope, receive, send):
    """An ASGI app that answers with the loop it runs on and the parser's protocol class."""
    if scope["type"] != "http":
        return
    protocol = scope["extensions"][TRANSPORT_EXTENSION].get_protocol()
    parser = "httptools" if "HttpTools" in type(protocol).__name__ else "h11" if "H11" in type(protocol).__name__ else "?"
    loop = "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{parser} {loop}".encode()})


def test_the_chosen_parser_and_loop_are_the_ones_that_serve(every_stack):
    with ThreadServer(report_what_serves, stack=every_stack) as server:
        assert httpx.get(server.url).text == f"{every_stack.http} {every_stack.loop}"


def test_health_says_which_stack_serves(live_on, every_stack):
    assert httpx.get(f"{live_on.url}/__otpsim/health").json()["server"] == every_stack.as_dict()


def test_health_in_process_has_no_server(client):
    assert client.get("/__otpsim/health").json()["server"] is None


@pytest.mark.parametrize("http, loop, problem", [
    ("zttp2", "auto", "HTTP parser 'zttp2' is not one of auto, httptools, h11"),
    ("auto", "trio", "event loop 'trio' is not one of auto, uvloop, asyncio"),
])
def test_an_unknown_choice_is_named(http, loop, problem):
    with pytest.raises(ValueError, match=problem):
        server_stack(http, loop)


def test_a_choice_whose_package_is_missing_says_what_to_install(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "httptools" else real(name, *a))
    with pytest.raises(ValueError, match=r"needs the httptools package, which is not installed \(pip install httptools\)"):
        server_stack("httptools")
    assert server_stack() == ServerStack("h11", "uvloop")   # auto falls back to the pure-Python parser


def collections_while(serving, every_s=0.01) -> tuple[list[int], int]:
    """The generations collected while `serving(collections)` runs beside the timer, with the
    collector's own trigger off (only explicit collections), and how many there were when the timer
    stopped."""
    collections = []

    def seen(phase, info):
        if phase == "stop":
            collections.append(info["generation"])

    async def serve():
        young = YoungCollections(every_s=every_s)
        young.start()
        await serving(collections)
        young.stop()
        when_stopped = len(collections)
        await asyncio.sleep(5 * every_s)
        return when_stopped

    gc.disable()
    gc.callbacks.append(seen)
    try:
        when_stopped = asyncio.run(serve())
    finally:
        gc.callbacks.remove(seen)
        gc.enable()
    return collections, when_stopped


def test_while_serving_the_young_generation_is_collected_on_a_timer_not_only_when_allocations_tip_it():
    # a busy server frees old entries as fast as it keeps new ones, so the collector's own trigger
    # (containers made minus freed) could wait for tens of thousands of them and pause every request
    async def idle(collections):
        deadline = asyncio.get_running_loop().time() + 10
        while (collections.count(0) < 12 or 1 not in collections) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    collections, when_stopped = collections_while(idle)
    assert collections.count(0) >= 12
    assert 1 in collections   # the middle generation as often as its threshold asks
    assert 2 not in collections   # full collections stay the collector's own
    assert len(collections) == when_stopped


def test_the_timer_adds_no_collection_where_the_collector_runs_its_own():
    # each young collection brings the middle and full ones nearer: where the collector's trigger
    # works (a record kept per request), the timer leaves it alone
    own = 0

    async def collecting_all_the_time(collections):
        nonlocal own
        deadline = asyncio.get_running_loop().time() + 0.2   # twenty of the timer's ticks
        while asyncio.get_running_loop().time() < deadline:
            gc.collect(0)
            own += 1
            await asyncio.sleep(0)

    collections, _ = collections_while(collecting_all_the_time)
    assert own > 20 and len(collections) == own
