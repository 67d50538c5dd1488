"""Issue 15: with an admin token, every /__otpsim call needs it (header or cookie); vendor routes never do."""

import httpx
import pytest

from hardening import send_code
from simulator.client import AdminCallFailed, OtpsimClient
from simulator.core.compose import create_simulator
from simulator.core.serving.admin import AdminSettings
from simulator.embedded import EmbeddedOtpsim, ThreadServer

TOKEN = "s3cret-admin-token"


@pytest.fixture
def locked():
    sim = create_simulator(admin=AdminSettings(token=TOKEN))
    with ThreadServer(sim) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, client


@pytest.mark.parametrize("method, path", [
    ("GET", "/__otpsim/health"), ("GET", "/__otpsim/outbox"), ("POST", "/__otpsim/reset"),
    ("PUT", "/__otpsim/scenario"), ("POST", "/__otpsim/clock"), ("GET", "/__otpsim/nothing-here"),
])
def test_every_admin_call_without_the_token_is_a_401_saying_how_to_send_it(locked, method, path):
    server, client = locked
    host = f"127.0.0.1:{server.port}"
    assert send_code(client, "13800000020", host).status_code == 200      # vendor routes need no token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "otpsim_admin_token=wrong"}):
        refused = client.request(method, path, headers=headers)
        assert refused.status_code == 401
        assert "Authorization: Bearer <token>" in refused.json()["error"]
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/__otpsim/outbox", headers=good).json()[0]["to"] == "13800000020"   # nothing was reset


def test_the_token_is_accepted_as_a_header_or_a_cookie(locked):
    server, client = locked
    assert client.get("/__otpsim/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/__otpsim/health", headers={"Cookie": f"otpsim_admin_token={TOKEN}"}).status_code == 200


def test_otpsim_client_sends_the_token(locked, monkeypatch):
    server, _ = locked
    with OtpsimClient(server.url, admin_token=TOKEN) as admin:
        assert admin.health().status == "ok"
    monkeypatch.setenv("OTPSIM_ADMIN_TOKEN", TOKEN)
    with OtpsimClient(server.url) as admin:
        assert admin.clock.read().mode == "real"
    monkeypatch.delenv("OTPSIM_ADMIN_TOKEN")
    with OtpsimClient(server.url) as anonymous, pytest.raises(AdminCallFailed) as refused:
        anonymous.health()
    assert refused.value.status == 401


def test_an_embedded_otpsim_with_a_token_locks_its_admin_api():
    with EmbeddedOtpsim(admin_token=TOKEN) as otpsim:
        assert otpsim.health().status == "ok"
        assert httpx.get(f"{otpsim.base_url}/__otpsim/health").status_code == 401
