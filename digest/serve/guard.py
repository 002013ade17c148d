"""The checks every request passes before it reaches a page.

- Host: bound to a loopback address, the app answers only to loopback host names, so that a web page whose
  domain is made to resolve to 127.0.0.1 (DNS rebinding) cannot read it.
- Token: when one is set (required off loopback) every request carries it, in the `X-Digest-Token` header or in
  the cookie that opening any page with `?token=…` once sets.
- Cross-site: a POST must come from the app's own pages (its Origin, or else its Referer, names this host).
Every answer also carries headers that keep pages from loading anything but the app's own files.
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import DigestError

TOKEN_COOKIE = "digest_token"
TOKEN_HEADER = "x-digest-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, token: str | None) -> str | None:
    """The warning to print when `host` is reachable from other machines; DigestError when it is and no token
    guards it."""
    if is_loopback(host):
        return None
    if not token:
        raise DigestError(f"--host {host} lets other machines reach the app: give --token SECRET "
                          "(or set DIGEST_SERVE_TOKEN), or keep the default --host 127.0.0.1")
    return (f"warning: serving on {host}: anyone who can reach this machine and knows the token can read the papers "
            "and add to the corpus")


class Guard:
    """ASGI middleware applying the checks above."""

    def __init__(self, app: ASGIApp, token: str | None, loopback_only: bool):
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        refusal = self.refusal(request) or self.login(request)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + HEADERS
            await send(message)

        await (refusal or self.app)(scope, receive, send_with_headers)

    def refusal(self, request: Request) -> Response | None:
        """The answer to a request that fails a check, or None."""
        host = request.headers.get("host", "")
        if self.loopback_only and not is_loopback(_hostname(host)):
            return PlainTextResponse(f"host {host!r} refused: open the app as http://127.0.0.1:<port>/", 400)
        if self.token and not self._token_ok(request):
            return PlainTextResponse("a token is required: open the link with ?token=<token> that `digest serve` "
                                     "printed, or send the X-Digest-Token header", 401)
        if request.method not in SAFE_METHODS and not _same_origin(request, host):
            return PlainTextResponse("cross-site request refused: send forms from the app's own pages "
                                     "(its Origin or Referer must be this host)", 403)
        return None

    def login(self, request: Request) -> Response | None:
        """After a valid `?token=…`, the same address without it, setting the cookie that stands for it."""
        if not self.token or "token" not in request.query_params:
            return None
        clean = URL(scope=request.scope).remove_query_params("token")
        response = RedirectResponse(str(clean), status_code=303)
        response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        return response

    def _token_ok(self, request: Request) -> bool:
        given = (request.headers.get(TOKEN_HEADER) or request.query_params.get("token")
                 or request.cookies.get(TOKEN_COOKIE) or "")
        return secrets.compare_digest(given.encode(), self.token.encode())


def _hostname(host: str) -> str:
    """The name in a Host header (`[::1]:8000` -> `::1`), or "" when it is malformed."""
    try:
        return urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""


def _same_origin(request: Request, host: str) -> bool:
    """Whether a state-changing request comes from a page of this app."""
    source = request.headers.get("origin") or request.headers.get("referer")
    return bool(source) and urlsplit(source).netloc.lower() == host.lower()
