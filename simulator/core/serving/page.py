"""The page at /__otpsim/: plain HTML, CSS and JavaScript shipped in simulator/web, no build step."""

from functools import lru_cache
from importlib import resources

from starlette.responses import RedirectResponse, Response

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


def with_page(admin):
    """`admin` (an ASGI app) with the page in front: the page's files hold no data and answer
    without the admin token, so that the page can ask for it; every data call goes to `admin`."""

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path in (PAGE, PAGE[:-1]) or path.startswith(ASSETS)):
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
