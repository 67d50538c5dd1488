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
    ("GET", "/__otpsim/report"),
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


def test_the_page_without_the_token_is_a_token_form_and_its_files_stay_locked(locked):
    server, client = locked
    for path in ("/__otpsim/", "/__otpsim"):
        form = client.get(path)
        assert form.status_code == 401 and form.headers["content-type"].startswith("text/html")
        assert '<form method="post" action="/__otpsim/login">' in form.text
        assert '<label for="token">Admin token</label>' in form.text and 'type="password"' in form.text
        assert "<script" not in form.text and "script-src" not in form.headers["content-security-policy"]
    for path in ("/__otpsim/page/app.js", "/__otpsim/page/app.css", "/__otpsim/events"):
        assert client.get(path).status_code == 401
    assert client.post("/__otpsim/", data={"token": TOKEN}).status_code == 401   # only a GET shows the form


def test_logging_in_sets_the_session_cookie_and_a_wrong_token_shows_the_form_again(locked):
    server, client = locked
    wrong = client.post("/__otpsim/login", data={"token": "wrong"})
    assert wrong.status_code == 401 and "That token was refused" in wrong.text and "set-cookie" not in wrong.headers
    assert client.post("/__otpsim/login", content=b"x" * 5000).status_code == 413
    assert client.get("/__otpsim/health").status_code == 401
    right = client.post("/__otpsim/login", data={"token": TOKEN})
    assert right.status_code == 303 and right.headers["location"] == "/__otpsim/"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"otpsim_admin_token={TOKEN};")
    assert {"Path=/__otpsim", "HttpOnly", "SameSite=Strict"} <= set(cookie.split("; ")) and "Max-Age" not in cookie
    assert client.get("/__otpsim/").text.startswith("<!doctype html>")       # the client keeps the cookie
    assert client.get("/__otpsim/page/app.js").status_code == 200
    assert client.get("/__otpsim/health").json()["status"] == "ok"


def test_a_token_with_any_characters_works_through_the_form():
    odd = "päss; word=%20&x"
    with ThreadServer(create_simulator(admin=AdminSettings(token=odd))) as server, \
            httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/__otpsim/login", data={"token": odd}).status_code == 303
        assert client.get("/__otpsim/health").status_code == 200
