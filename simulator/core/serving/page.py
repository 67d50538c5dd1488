"""The page at /__otpsim/: plain HTML, CSS and JavaScript shipped in simulator/web, no build step."""

import base64
import hashlib
import re
from functools import lru_cache
from importlib import resources

from starlette.responses import HTMLResponse, RedirectResponse, Response

MEDIA_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Everything the page loads comes from otpsim itself; nothing from the internet, no inline code.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=None)
def _read(name: str) -> bytes:
    return (resources.files("simulator.web") / name).read_bytes()


def _file(name: str) -> Response:
    return Response(_read(name), media_type=MEDIA_TYPES[name], headers=HEADERS)


PAGE = "/__otpsim/"
ASSETS = "/__otpsim/page/"


def _missing() -> Response:
    return Response(b'{"error": "no such page file"}', status_code=404, media_type="application/json")


LOGIN = "/__otpsim/login"


@lru_cache(maxsize=None)
def _login_policy() -> str:
    """The token form's policy: nothing but its own inline style, and posting to otpsim itself."""
    style = re.search(rb"<style>(.*?)</style>", _read("login.html"), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


def token_form(refused: bool) -> Response:
    """The page's stand-in while the admin token is missing (401): a plain form, no script, that
    posts the token to LOGIN; `refused` says the last one was wrong."""
    text = _read("login.html").decode("utf-8")
    if refused:
        text = text.replace("<!--error-->", '<p class="error" role="alert">That token was refused. Try again.</p>')
    return HTMLResponse(text, status_code=401, headers={
        **HEADERS, "Content-Security-Policy": _login_policy(), "Cache-Control": "no-store"})


def is_page(path: str) -> bool:
    return path in (PAGE, PAGE[:-1])


def with_page(admin):
    """`admin` (an ASGI app) with the page in front; every data call goes to `admin`. With an
    admin token, the page's files are behind it like every other call (admin_token.guarded)."""

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not (is_page(path) or path.startswith(ASSETS)):
            await admin(scope, receive, send)
            return
        if path == PAGE[:-1]:
            response = RedirectResponse(PAGE, status_code=308)
        elif path == PAGE:
            response = _file("index.html")
        else:
            name = path[len(ASSETS):]
            response = _file(name) if name in MEDIA_TYPES and name != "index.html" else _missing()
        await response(scope, receive, send)

    return app
