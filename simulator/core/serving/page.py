"""The page at /__otpsim/: plain HTML, CSS and JavaScript shipped in simulator/web, no build step."""

from functools import lru_cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


async def shell(request: Request):
    return _file("index.html")


async def asset(request: Request):
    name = request.path_params["name"]
    if name not in MEDIA_TYPES or name == "index.html":
        return Response(b'{"error": "no such page file"}', status_code=404, media_type="application/json")
    return _file(name)


def page_routes() -> list[Route]:
    return [
        Route("/__otpsim/", shell),
        Route("/__otpsim/page/{name}", asset),
    ]
