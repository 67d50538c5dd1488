"""The admin token (`--admin-token`): every /__otpsim call, the page and its files included, needs it.

A program sends `Authorization: Bearer <token>`; a browser logs in once through the token form the
page answers with (POST /__otpsim/login), which sets the cookie `otpsim_admin_token` for the
browser session. The cookie is HttpOnly: the page's script never handles the token, the browser
sends it with every call and with the event stream (an EventSource cannot set headers).
"""

import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, quote, unquote

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from simulator.core.serving.admin_input import AdminError, body, error_response
from simulator.core.serving.page import LOGIN, PAGE, is_page, token_form

TOKEN_COOKIE = "otpsim_admin_token"
LOGIN_MAX_BODY = 4096   # a form with one field


def presented_token(scope) -> str | None:
    """The admin token of a request: `Authorization: Bearer <token>`, else the cookie (its value
    percent-decoded, as the login sets it)."""
    cookie_header = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer":
                return token.strip()
        elif name == b"cookie":
            cookie_header = value.decode("latin-1")
    if cookie_header:
        try:
            morsel = SimpleCookie(cookie_header).get(TOKEN_COOKIE)
        except CookieError:
            return None
        return unquote(morsel.value) if morsel else None
    return None


def guarded(app, token: str):
    """`app` answering only requests that carry `token` (compared in constant time); the page
    answers without it with the token form, and LOGIN turns the right token into the cookie."""
    expected = token.encode()
    refusal = orjson.dumps({"error": (
        "this otpsim needs its admin token: send `Authorization: Bearer <token>` or the cookie "
        f"{TOKEN_COOKIE}=<token> (the token otpsim was started with, --admin-token or OTPSIM_ADMIN_TOKEN)")})

    def right(presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), expected)

    async def login(request: Request):
        try:
            form = parse_qs((await body(request, LOGIN_MAX_BODY)).decode("utf-8", "replace"))
        except AdminError as problem:
            return error_response(problem.status, problem.message)
        if not right((form.get("token") or [None])[0]):
            return token_form(refused=True)
        cookie = (f"{TOKEN_COOKIE}={quote(token, safe='')}; Path=/__otpsim; HttpOnly; SameSite=Strict"
                  + ("; Secure" if request.url.scheme == "https" else ""))
        return RedirectResponse(PAGE, status_code=303, headers={"Set-Cookie": cookie, "Cache-Control": "no-store"})

    async def check(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope["path"] == LOGIN and scope["method"] == "POST":
            response = await login(Request(scope, receive))
        elif right(presented_token(scope)):
            await app(scope, receive, send)
            return
        elif is_page(scope["path"]) and scope["method"] in ("GET", "HEAD"):
            response = token_form(refused=False)
        else:
            response = Response(refusal, status_code=401, media_type="application/json",
                                headers={"WWW-Authenticate": 'Bearer realm="otpsim admin"'})
        await response(scope, receive, send)

    return check
